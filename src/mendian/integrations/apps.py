from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "mendian.integrations"
    label = "integrations"
    verbose_name = "Integrations (open API, webhooks, outbox)"
