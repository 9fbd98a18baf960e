from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "mendian.checkout"
    label = "checkout"
    verbose_name = "Checkout"
