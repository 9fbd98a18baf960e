from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mendian.core"
    label = "core"

    def ready(self):
        from mendian.core import checks  # noqa: F401 - registers the system checks
