"""Django's `flush`, able to wipe the append-only stock ledger on SQLite too (see ledger_guard)."""

from django.core.management.commands.flush import Command as DjangoFlushCommand

from mendian.inventory.ledger_guard import flush_with_ledger_guard_lifted


class Command(DjangoFlushCommand):
    def handle(self, **options):
        with flush_with_ledger_guard_lifted(options["database"]):
            return super().handle(**options)
