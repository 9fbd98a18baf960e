from django.core.management.base import BaseCommand, CommandError

from mendian.catalog import shelf
from mendian.merchants.models import Merchant


class Command(BaseCommand):
    help = (
        "Recompute the storefront's per-store product lists (shelves) from the catalog, store "
        "prices, listings and stock, for data written around the services (a restored backup, "
        "hand-written SQL): mendian rebuild_shelves [--merchant CODE]. Rewrites only rows that differ."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", help="only this merchant's stores (its code)")

    def handle(self, *args, **opts):
        merchant_id = None
        if opts["merchant"]:
            merchant_id = Merchant.objects.filter(code=opts["merchant"]).values_list("pk", flat=True).first()
            if merchant_id is None:
                raise CommandError(f"No merchant with code {opts['merchant']!r}.")
        for code, written in shelf.rebuild(merchant_id=merchant_id):
            self.stdout.write(f"{code}: {written} shelf rows written or removed")
