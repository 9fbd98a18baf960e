from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "mendian.members"
    label = "members"
