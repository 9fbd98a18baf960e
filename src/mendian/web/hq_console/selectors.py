"""Small reads the console pages need that the domain selectors do not offer (yet): counts for the
dashboard, store and merchant names for select boxes, a store's future special days. Every one is
scoped by the Actor exactly as the domain selectors are; none writes."""

import datetime as dt

from django.db.models import Count, Q
from django_otp import devices_for_user

from mendian.accounts.models import Staff
from mendian.catalog.models import Product, Sku
from mendian.core.scope import Actor
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
