from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from mendian.core import pii


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field with the newest key of MENDIAN_PII_KEYS, in batches. Safe while "
        "the app runs: the older keys stay readable until you remove them after this has finished."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **opts):
        batch_size = opts["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        newest = Fernet(settings.PII_KEYS[0].encode())
        totals = {"rotated": 0, "current": 0, "unreadable": 0}
        for model, field in pii.encrypted_fields():
            counts = self._rotate_field(model, field, newest, batch_size)
            for key, value in counts.items():
                totals[key] += value
            self.stdout.write(
                f"{model._meta.label}.{field.name}: {counts['rotated']} rotated, "
                f"{counts['current']} already current, {counts['unreadable']} unreadable"
            )
        self.stdout.write(
            f"total: {totals['rotated']} rotated, {totals['current']} already current, "
            f"{totals['unreadable']} unreadable"
        )
        if totals["unreadable"]:
            raise CommandError(
                "Some values could not be decrypted with any configured key; they were left as they were."
            )

    @staticmethod
    def _rotate_field(model, field, newest: Fernet, batch_size: int) -> dict:
        counts = {"rotated": 0, "current": 0, "unreadable": 0}
        manager = model._base_manager
        # Cast to plain text: the field's own converter would hand us plaintext, we need the ciphertext.
        ciphertext = Cast(field.name, output_field=TextField())
        last_pk = None
        while True:
            with transaction.atomic():
                rows = manager.exclude(**{field.name: ""}).exclude(**{f"{field.name}__isnull": True})
                if last_pk is not None:
                    rows = rows.filter(pk__gt=last_pk)
                batch = list(
                    rows.select_for_update()
                    .order_by("pk")
                    .annotate(raw=ciphertext)
                    .values_list("pk", "raw")[:batch_size]
                )
                if not batch:
                    return counts
                for pk, raw in batch:
                    try:
                        newest.decrypt(raw.encode())
                        counts["current"] += 1
                        continue
                    except InvalidToken:
                        pass
                    try:
                        plaintext = pii.decrypt(raw)
                    except ValueError:
                        counts["unreadable"] += 1
                        continue
                    # Saving plaintext through the field encrypts it with the newest key.
                    manager.filter(pk=pk).update(**{field.name: plaintext})
                    counts["rotated"] += 1
                last_pk = batch[-1][0]
