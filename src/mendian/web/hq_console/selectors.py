"""Small reads the console pages need that the domain selectors do not offer (yet): counts for the
dashboard, store and merchant names for select boxes, a store's future special days. Every one is
scoped by the Actor exactly as the domain selectors are; none writes."""

import datetime as dt

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django_otp import devices_for_user

from mendian.accounts.models import Customer, Staff
from mendian.catalog.models import Category, Product, Sku
from mendian.core.pii import blind_index
from mendian.core.scope import Actor
from mendian.inventory.models import StockLevel
from mendian.inventory.rules import is_low, merchant_default_threshold
from mendian.stores.hours import store_local_today
from mendian.stores.models import SpecialDay, Store


def _merchant_filter(qs, merchant_id: int | None, field: str = "merchant_id"):
    return qs if merchant_id is None else qs.filter(**{field: merchant_id})


def catalog_counts(*, actor: Actor, merchant_id: int | None = None) -> dict:
    """Active products and SKUs in scope (two queries)."""
    actor.require("catalog.read")
    products = _merchant_filter(actor.scope_merchants(Product.objects.filter(is_active=True)), merchant_id)
    skus = _merchant_filter(
        actor.scope_merchants(Sku.objects.filter(is_active=True, product__is_active=True)), merchant_id
    )
    return {"products": products.count(), "skus": skus.count()}


def staff_counts(*, actor: Actor, merchant_id: int | None = None) -> dict:
    """Active staff in scope by HQ / store roles (one query)."""
    actor.require("staff.manage")
    qs = Staff.objects.filter(is_active=True)
    if not actor.is_platform:
        qs = qs.filter(merchant_id=actor.merchant_id)
    qs = _merchant_filter(qs, merchant_id)
    return qs.aggregate(
        total=Count("pk"),
        store=Count("pk", filter=Q(store__isnull=False)),
    )


def store_options(*, actor: Actor, merchant_id: int | None = None) -> list[Store]:
    """Stores in scope for a select box: id, code, name and merchant only (one query)."""
    actor.require("store.read")
    qs = actor.scope_stores(Store.objects.all(), store_field="pk", merchant_field="merchant_id")
    qs = _merchant_filter(qs, merchant_id)
    return list(qs.only("pk", "code", "name", "merchant_id", "status").order_by("merchant_id", "code"))


def store_names(*, actor: Actor, store_ids) -> dict[int, Store]:
    """{id: store} (code and name) for the given ids within scope (one query)."""
    ids = {pk for pk in store_ids if pk}
    if not ids:
        return {}
    qs = actor.scope_stores(Store.objects.filter(pk__in=ids), store_field="pk", merchant_field="merchant_id")
    return {store.pk: store for store in qs.only("pk", "code", "name", "merchant_id")}


def store_future_special_days(*, store: Store, at: dt.datetime | None = None) -> list[SpecialDay]:
    """Every special day of an already scope-checked store from its local today on (one query)."""
    return list(
        SpecialDay.objects.filter(store=store, date__gte=store_local_today(store, at)).order_by("date")
    )


def verified_totp_device(staff):
    """The confirmed TOTP device that just accepted a code (the most recent `last_t`), for `otp_login`."""
    devices = list(devices_for_user(staff, confirmed=True))
    if not devices:
        return None
    return max(devices, key=lambda device: getattr(device, "last_t", -1))


# --- orders, stock and restock pages (HQ operations) -------------------------------------------------


def order_totals(qs) -> dict:
    """Count and sums (fen) of an already scoped and filtered order queryset (one query)."""

    totals = qs.order_by().aggregate(
        count=Count("pk"), total=Sum("total"), paid=Sum("paid_amount"), refunded=Sum("refunded_amount")
    )
    return {key: value or 0 for key, value in totals.items()}


def customer_ids_for_phone(phone: str) -> list[int]:
    """The customer whose (encrypted) phone is `phone`, found by its blind index (one query)."""

    return list(Customer.objects.filter(phone_hash=blind_index(phone)).values_list("pk", flat=True))


def category_with_descendants(*, merchant_id: int, category_id: int) -> list[int]:
    """A category of the merchant and every category below it (one query); [] when it is not its."""

    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.filter(merchant_id=merchant_id).values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    known = {pk for group in children.values() for pk in group}
    if category_id not in known:
        return []
    found, todo = [], [category_id]
    while todo:
        pk = todo.pop()
        found.append(pk)
        todo.extend(children.get(pk, []))
    return found


def stock_matrix_skus(
    *,
    actor: Actor,
    merchant,
    store_ids: list[int],
    category_ids: list[int] | None = None,
    q: str = "",
    low_only: bool = False,
):
    """The active SKUs of one merchant for the store × SKU matrix, product joined, in shelf order.

    `low_only`: SKUs with fewer units available than the threshold at one of `store_ids` at least
    (a store that never held the SKU has no level and is not counted as low)."""

    actor.require("stock.read")
    actor.check_merchant(merchant.pk)
    qs = Sku.objects.filter(merchant_id=merchant.pk, is_active=True, product__is_active=True)
    if category_ids is not None:
        qs = qs.filter(product__category_id__in=category_ids)
    if q:
        qs = qs.filter(Q(sku_code__icontains=q) | Q(barcode=q) | Q(product__name__icontains=q))
    if low_only:
        default = merchant_default_threshold(merchant)
        low = (
            StockLevel.objects.filter(sku_id=OuterRef("pk"), store_id__in=store_ids)
            .annotate(
                limit=Coalesce("low_stock_threshold", Value(default), output_field=IntegerField()),
            )
            .filter(on_hand__lt=F("reserved") + F("limit"))
        )
        qs = qs.filter(Exists(low))
    return qs.select_related("product").order_by("product__name", "product_id", "sku_code")


def stock_matrix_cells(*, merchant, sku_ids: list[int], store_ids: list[int]) -> dict:
    """{(sku_id, store_id): {"available", "on_hand", "reserved", "threshold", "low"}} for one page of
    the matrix (one query, whatever the number of cells)."""

    if not sku_ids or not store_ids:
        return {}
    default = merchant_default_threshold(merchant)
    cells = {}
    rows = StockLevel.objects.filter(sku_id__in=sku_ids, store_id__in=store_ids).values_list(
        "sku_id", "store_id", "on_hand", "reserved", "low_stock_threshold"
    )
    for sku_id, store_id, on_hand, reserved, threshold in rows:
        threshold = default if threshold is None else threshold
        available = on_hand - reserved
        cells[(sku_id, store_id)] = {
            "available": available,
            "on_hand": on_hand,
            "reserved": reserved,
            "threshold": threshold,
            "low": is_low(available, threshold),
        }
    return cells
