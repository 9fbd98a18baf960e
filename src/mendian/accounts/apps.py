from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mendian.accounts"
    label = "accounts"
