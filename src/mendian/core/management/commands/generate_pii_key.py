from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new key for MENDIAN_PII_KEYS (put it first; keep the old ones after it until rotated)."
    requires_system_checks = []

    def handle(self, *args, **opts):
        self.stdout.write(Fernet.generate_key().decode())
