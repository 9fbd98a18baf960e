from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "mendian.web"
    label = "web"
