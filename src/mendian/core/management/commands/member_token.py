from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from mendian.accounts.services import customer_get_or_create
from mendian.accounts.tokens import customer_tokens_issue
from mendian.core.pii import normalize_phone


class Command(BaseCommand):
    help = (
        "Create each member if needed and print `PHONE TOKEN` per phone (a fresh consumer access token): "
        "mendian member-token --phone P [--phone P2 ...]"
    )

    def add_arguments(self, parser):
        parser.add_argument("--phone", action="append", required=True, help="repeatable")

    def handle(self, *args, **opts):
        phones = []
        for raw in opts["phone"]:
            try:
                phones.append(normalize_phone(raw))
            except ValueError as exc:
                raise CommandError(f"{raw!r} is not a mainland China mobile number.") from exc
        lines = []
        with transaction.atomic():
            for phone in phones:
                customer, _ = customer_get_or_create(phone=phone)
                if not customer.is_active:
                    raise CommandError(f"The member with phone {phone} is disabled.")
                lines.append(f"{phone} {customer_tokens_issue(customer=customer)['access_token']}")
        self.stdout.write("\n".join(lines))
