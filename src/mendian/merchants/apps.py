from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "mendian.merchants"
    label = "merchants"
