from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "mendian.payments"
    label = "payments"
    verbose_name = "Payments"
