from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "mendian.stores"
    label = "stores"
