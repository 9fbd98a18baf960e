from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "mendian.orders"
    label = "orders"
    verbose_name = "Orders"
