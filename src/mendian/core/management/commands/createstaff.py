from django.core.management.base import BaseCommand, CommandError

from mendian.accounts.services import staff_create
from mendian.core.errors import DomainError
from mendian.core.scope import Actor, Role
from mendian.merchants.models import Merchant
from mendian.stores.models import Store


def domain_error_message(exc: DomainError) -> str:
    details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors or [])
    return f"{exc.code}: {exc.detail}{' (' + details + ')' if details else ''}"


class Command(BaseCommand):
    help = (
        "Create a staff account: mendian createstaff --username U --password P --role ROLE "
        "[--merchant CODE] [--store CODE]"
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=Role.ALL)
        parser.add_argument("--merchant", help="merchant code (merchant_admin; or to pick the store)")
        parser.add_argument("--store", help="store code (store_manager, store_clerk)")
        parser.add_argument("--display-name", default="")

    def handle(self, *args, **opts):
        merchant = self._merchant(opts["merchant"])
        store = self._store(opts["store"], merchant)
        try:
            staff = staff_create(
                actor=Actor.system(),
                username=opts["username"],
                password=opts["password"],
                role=opts["role"],
                store=store,
                merchant=merchant,
                display_name=opts["display_name"],
            )
        except DomainError as exc:
            raise CommandError(domain_error_message(exc)) from exc
        scope = f" at {store.code}" if store else (f" of {merchant.code}" if merchant else "")
        self.stdout.write(
            self.style.SUCCESS(f"Staff {staff.username} ({staff.role}{scope}) created (id {staff.pk}).")
        )

    @staticmethod
    def _merchant(code: str | None) -> Merchant | None:
        if not code:
            return None
        merchant = Merchant.objects.filter(code=code.strip().lower()).first()
        if merchant is None:
            raise CommandError(f"No merchant with code {code!r} (create it with `mendian createmerchant`).")
        return merchant

    @staticmethod
    def _store(code: str | None, merchant: Merchant | None) -> Store | None:
        if not code:
            return None
        stores = Store.objects.select_related("merchant").filter(code=code.strip().lower())
        if merchant is not None:
            stores = stores.filter(merchant=merchant)
        found = list(stores[:2])
        if not found:
            where = f" in merchant {merchant.code!r}" if merchant else ""
            raise CommandError(f"No store with code {code!r}{where}.")
        if len(found) > 1:
            raise CommandError(f"Several merchants have a store {code!r}; name one with --merchant.")
        return found[0]
