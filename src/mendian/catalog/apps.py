from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "mendian.catalog"
    label = "catalog"
