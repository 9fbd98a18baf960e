from django.core.management.base import BaseCommand

from mendian.core.scope import Role
from mendian.demo import data
from mendian.demo.seed import SeedReport, seed_demo

ROLE_LABELS = dict(Role.CHOICES)


def _scope_label(seed: data.StaffSeed, report: SeedReport) -> str:
    if seed.merchant_code is None:
        return "所有商户 (platform)"
    merchant = report.merchants[seed.merchant_code]
    if seed.store_code is None:
        return merchant.name
    store_names = {store.code: store.name for store in merchant.stores.all()}
    return store_names[seed.store_code]


IRREGULAR_PLURALS = {
    "category": "categories",
    "day of extended hours": "days of extended hours",
    "staff login restored": "staff logins restored",
}


def _counted(count: int, kind: str) -> str:
    return f"{count} {kind if count == 1 else IRREGULAR_PLURALS.get(kind, kind + 's')}"


def _created_summary(report: SeedReport) -> str:
    if not report.created and not report.updated:
        return "nothing to create: the demo was already in place"
    parts = [_counted(count, kind) for kind, count in report.created.items()]
    summary = "created " + ", ".join(parts) if parts else "nothing to create"
    if report.updated:
        summary += "; " + ", ".join(_counted(count, kind) for kind, count in report.updated.items())
    return summary


class Command(BaseCommand):
    help = (
        "Seed the demo: 鲜邻便利, a convenience-store chain across Wuhan, and 楚麓烘焙, a bakery "
        "brand beside it, with catalog, drawn product images, staff and demo customers. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server will answer, for the printed links (default %(default)s).",
        )
        parser.add_argument(
            "--no-images", action="store_true", help="Skip drawing product images (faster; for tests)."
        )

    def handle(self, *args, **opts):
        self.stdout.write("Seeding the demo (a first run draws ~180 product pictures and stocks 38 stores)…")
        report = seed_demo(draw_images=not opts["no_images"])
        base = opts["base_url"].rstrip("/")
        out = self.stdout.write
        counts = {
            code: (
                merchant.stores.count(),
                merchant.categories.count(),
                merchant.products.count(),
                merchant.skus.count(),
            )
            for code, merchant in report.merchants.items()
        }
        out(self.style.SUCCESS(f"Demo ready in {report.elapsed_seconds:.1f} s ({_created_summary(report)})."))
        for code, merchant in report.merchants.items():
            stores, categories, products, skus = counts[code]
            out(
                f"  {merchant.name} ({code}): {stores} stores, {categories} categories, "
                f"{products} products, {skus} SKUs"
            )
        for store in report.closed_today:
            out(f"  Closed today ({report.today:%Y-%m-%d}, Asia/Shanghai): {store.name}")
        for store in report.paused:
            out(f"  Paused: {store.name}")

        out("")
        out(f"Staff logins (password for every account: {data.DEMO_PASSWORD})")
        width = max(len(seed.username) for seed in data.STAFF)
        for seed in data.STAFF:
            role = f"{seed.role} ({ROLE_LABELS[seed.role]})"
            out(f"  {seed.username:<{width}}  {role:<26}  {_scope_label(seed, report)}")

        out("")
        out("URLs")
        out(f"  storefront     {base}/")
        out(f"  store console  {base}/store/   (manager-jh, clerk-jh, clerk-wc)")
        out(f"  HQ console     {base}/hq/      (platform, hq, bakery-hq)")

        out("")
        out("Demo customers (phone login: ask for a code, then read it from the sandbox SMS outbox)")
        for phone in data.DEMO_CUSTOMER_PHONES:
            out(
                f"  {phone}  {data.DEMO_CUSTOMER_NICKNAMES[phone]}   {base}/api/v1/dev/sms-outbox?phone={phone}"
            )
        out("  The outbox answers only with MENDIAN_SANDBOX=1 (on in `mendian demo`).")
