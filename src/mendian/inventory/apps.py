from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "mendian.inventory"
    label = "inventory"
    verbose_name = "Inventory"
