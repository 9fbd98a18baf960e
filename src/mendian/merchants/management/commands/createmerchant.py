from django.core.management.base import BaseCommand, CommandError

from mendian.core.errors import DomainError
from mendian.core.scope import Actor
from mendian.merchants.services import merchant_create


class Command(BaseCommand):
    help = "Create a merchant (brand): mendian createmerchant --code CODE --name NAME"

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--brand-name", default="")
        parser.add_argument("--timezone", default="Asia/Shanghai")
        parser.add_argument("--currency", default="CNY")

    def handle(self, *args, **opts):
        try:
            merchant = merchant_create(
                actor=Actor.system(),
                code=opts["code"],
                name=opts["name"],
                brand_name=opts["brand_name"],
                timezone=opts["timezone"],
                currency=opts["currency"],
            )
        except DomainError as exc:
            details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors or [])
            raise CommandError(f"{exc.code}: {exc.detail}{' (' + details + ')' if details else ''}") from exc
        self.stdout.write(self.style.SUCCESS(f"Merchant {merchant.code} created (id {merchant.pk})."))
