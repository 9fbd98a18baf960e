"""Checkout reads: what a store sells a customer and at what price, carts, saved addresses, and the
quote (the pricing pipeline over validated lines, with every check an order must pass).

The quote is a read: `orders.services.order_create` runs it again inside its transaction and
writes what it says. Consumer reads are scoped by the customer and by the merchant context.
"""

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo

from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from mendian.accounts.models import Customer
from mendian.catalog.models import Product, ProductImage, Sku, StoreListing, StorePrice
from mendian.checkout.models import MAX_LINE_QUANTITY, Address, Cart, CartLine
from mendian.checkout.pricing import DeliveryTerms, PricedLine, PricingContext, price
from mendian.core import rows
from mendian.core.errors import Conflict, NotFound, ValidationFailed
from mendian.core.geo import haversine_m
from mendian.core.money import money
from mendian.core.pii import mask_name, mask_phone, normalize_phone
from mendian.inventory.selectors import stock_available_for, stores_with_all_stock
from mendian.merchants.models import Merchant
from mendian.stores.hours import (
    PREFETCHED_HOURS,
    PREFETCHED_SPECIAL_DAYS,
    schedule_is_open,
    store_schedule,
)
from mendian.stores.models import OpeningHours, SpecialDay, Store, StoreStatus
from mendian.stores.selectors import (
    SCHEDULE_VALUE_FIELDS,
    HoursRow,
    SpecialDayRow,
    check_coordinates,
    special_days_window,
    stores_nearest,
)

# Distinct SKUs per cart and per order.
MAX_LINES = 50
MAX_ADDRESSES = 20
# Pickup times may be chosen up to the end of tomorrow (store-local).
PICKUP_DAYS_AHEAD = 1
# Routing looks at the nearest stores within this radius.
ROUTING_RADIUS_KM = 50.0
_MAX_PK = 2**63 - 1


def parse_pk(value, *, what: str = "object", code: str = "not_found") -> int:
    """Ids are opaque strings to clients: anything that is not one of ours is simply not found."""
    if isinstance(value, int) and not isinstance(value, bool):
        pk = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        pk = int(value)
    else:
        raise NotFound(f"No such {what}.", code=code)
    if not 0 < pk <= _MAX_PK:
        raise NotFound(f"No such {what}.", code=code)
    return pk


def media_url(name: str | None) -> str | None:
    return default_storage.url(name) if name else None


# --- stores --------------------------------------------------------------------------------------


@cache
def _store_sql(for_merchant: bool) -> str:
    """The store with its merchant (kind 0, when visible), its weekly hours (kind 1) and its special
    days in `special_days_window` (kind 2): one statement, in the orders of `stores_with_schedule`."""
    width = rows.width(Store) + rows.width(Merchant)
    padding = ", ".join(["NULL"] * width)
    merchant_filter = " AND s.merchant_id = %s" if for_merchant else ""
    return (
        f"SELECT 0, {rows.columns(Store, 's')}, {rows.columns(Merchant, 'm')}, "  # noqa: S608 - no values
        # Typed NULLs: PostgreSQL types a UNION's columns pair by pair, from the left.
        "NULL, CAST(NULL AS date), FALSE, NULL, NULL, '' "
        f"FROM {rows.table(Store)} s JOIN {rows.table(Merchant)} m ON m.id = s.merchant_id "
        f"WHERE s.id = %s AND s.status <> %s AND m.is_active = %s{merchant_filter} "
        f"UNION ALL SELECT 1, {padding}, h.weekday, NULL, FALSE, h.opens, h.closes, '' "
        f"FROM {rows.table(OpeningHours)} h WHERE h.store_id = %s "
        f"UNION ALL SELECT 2, {padding}, NULL, d.date, d.closed, d.opens, d.closes, d.note "
        f"FROM {rows.table(SpecialDay)} d WHERE d.store_id = %s AND d.date >= %s AND d.date <= %s "
        f"ORDER BY 1, {width + 2}, {width + 3}, {width + 5}"
    )


def store_for_checkout(*, store_id, merchant: Merchant | None, at: dt.datetime | None = None) -> Store:
    """The store an order is placed at, with what opening-hours checks need, as
    `stores_with_schedule` loads it (merchant, hours, special days), in one hand-written statement:
    this runs in every quote, cart and order. The visibility rules of
    `stores.selectors.store_public_get`: 404 for closed-for-good stores and for inactive or other
    merchants' stores."""
    pk = parse_pk(store_id, what="store")
    first, last = special_days_window(at)
    params = [pk, StoreStatus.CLOSED, True]
    if merchant is not None:
        params.append(merchant.pk)
    params += [
        pk,
        pk,
        connection.ops.adapt_datefield_value(first),
        connection.ops.adapt_datefield_value(last),
    ]
    store = None
    hours, special_days = [], []
    schedule_at = 1 + rows.width(Store) + rows.width(Merchant)
    for row in rows.fetch(_store_sql(merchant is not None), params):
        kind = row[0]
        if kind == 0:
            store = rows.instance(Store, row, 1)
            store.merchant = rows.instance(Merchant, row, 1 + rows.width(Store))
            continue
        if store is None:
            break  # not visible: its hours do not matter
        weekday, date, closed, opens, closes, note = (
            rows.value(field, raw)
            for field, raw in zip(SCHEDULE_VALUE_FIELDS, row[schedule_at:], strict=True)
        )
        # The light rows a nearest-store search prefetches: what `stores.hours` and the schemas read.
        if kind == 1:
            hours.append(HoursRow(weekday, opens, closes))
        else:
            special_days.append(SpecialDayRow(date, closed, opens, closes, note))
    if store is None:
        raise NotFound("No such store.")
    setattr(store, PREFETCHED_HOURS, hours)
    setattr(store, PREFETCHED_SPECIAL_DAYS, special_days)
    return store


# --- SKUs as sold at a store ---------------------------------------------------------------------


def _skus_at(store: Store) -> QuerySet:
    """The merchant's SKUs with the store's price, whether the product is delisted there, and the
    first photo's thumbnail: one query whatever the number of SKUs."""
    delisted = StoreListing.objects.filter(
        store_id=store.pk, product_id=OuterRef("product_id"), is_listed=False
    )
    first_image = ProductImage.objects.filter(product_id=OuterRef("product_id")).order_by("position", "pk")
    return (
        Sku.objects.filter(merchant_id=store.merchant_id)
        .select_related("product")
        .annotate(
            price_row=FilteredRelation("store_prices", condition=Q(store_prices__store_id=store.pk)),
            store_price=F("price_row__price"),
            delisted=Exists(delisted),
            thumbnail_name=Subquery(first_image.values("thumbnail")[:1]),
        )
    )


def is_sellable(sku: Sku) -> bool:
    return sku.is_active and sku.product.is_active and not sku.delisted


@cache
def _skus_sql(count: int) -> str:
    """`_skus_at(store).filter(pk__in=…)` by hand (it runs in every quote and order)."""
    return (
        f"SELECT {rows.columns(Sku, 'k')}, {rows.columns(Product, 'p')}, sp.price, "  # noqa: S608 - no values
        f"EXISTS (SELECT 1 FROM {rows.table(StoreListing)} l "
        "WHERE l.store_id = %s AND l.product_id = k.product_id AND l.is_listed = %s), "
        f"(SELECT i.thumbnail FROM {rows.table(ProductImage)} i WHERE i.product_id = k.product_id "
        "ORDER BY i.position, i.id LIMIT 1) "
        f"FROM {rows.table(Sku)} k JOIN {rows.table(Product)} p ON p.id = k.product_id "
        f"LEFT JOIN {rows.table(StorePrice)} sp ON sp.sku_id = k.id AND sp.store_id = %s "
        f"WHERE k.merchant_id = %s AND k.id IN ({', '.join(['%s'] * count)})"
    )


def skus_at_store(*, store: Store, sku_ids, require_sellable: bool = True) -> dict[int, Sku]:
    """{sku_id: Sku} annotated as sold at `store` (as `_skus_at` annotates them). `404 not_found`
    for an unknown SKU or another merchant's; `409 not_sold_here` for one that is inactive or not
    listed at this store."""
    wanted = list(dict.fromkeys(sku_ids))
    found = {}
    if wanted:
        extra = rows.width(Sku) + rows.width(Product)
        params = [store.pk, False, store.pk, store.merchant_id, *wanted]
        for row in rows.fetch(_skus_sql(len(wanted)), params):
            sku = rows.instance(Sku, row)
            sku.product = rows.instance(Product, row, rows.width(Sku))
            sku.store_price, delisted, sku.thumbnail_name = row[extra : extra + 3]
            sku.delisted = bool(delisted)
            found[sku.pk] = sku
    for pk in wanted:
        sku = found.get(pk)
        if sku is None:
            raise NotFound(f"No such SKU: {pk}.")
        if require_sellable and not is_sellable(sku):
            raise Conflict(
                f"{sku.product.name} ({sku.sku_code}) is not sold at this store.", code="not_sold_here"
            )
    return found


def priced_line(sku: Sku, quantity: int) -> PricedLine:
    return PricedLine(
        sku_id=sku.pk,
        quantity=quantity,
        base_price=sku.price,
        store_price=sku.store_price,
        product_id=sku.product_id,
        name=sku.product.name,
        sku_code=sku.sku_code,
        specs=dict(sku.specs or {}),
        image=sku.thumbnail_name or None,
    )


# --- carts ---------------------------------------------------------------------------------------


def cart_latest(*, customer: Customer, merchant: Merchant | None) -> Cart | None:
    """The cart the customer touched last (within the merchant context), for `GET /cart` without a store."""
    qs = Cart.objects.filter(customer=customer, lines__isnull=False)
    if merchant is not None:
        qs = qs.filter(store__merchant_id=merchant.pk)
    return qs.order_by("-updated_at", "-id").first()


def cart_read(*, customer: Customer, store: Store | None) -> dict:
    """`{store_id, lines: [...], subtotal}`; each line with its current price at the store, whether
    it can be bought now (`available`: sold here and in stock for the quantity), the stock and what
    the UI shows. Four queries whatever the number of lines."""
    if store is None:
        return {"store_id": None, "lines": [], "subtotal": money(0), "item_count": 0}
    currency = store.merchant.currency
    rows = list(
        CartLine.objects.filter(cart__customer=customer, cart__store_id=store.pk)
        .order_by("added_at", "pk")
        .values_list("sku_id", "quantity")
    )
    skus = (
        {sku.pk: sku for sku in _skus_at(store).filter(pk__in=[sku_id for sku_id, _ in rows])} if rows else {}
    )
    stock = stock_available_for(store_id=store.pk, sku_ids=[sku_id for sku_id, _ in rows]) if rows else {}
    lines = []
    subtotal = 0
    for sku_id, quantity in rows:
        sku = skus.get(sku_id)
        if sku is None:
            continue
        sellable = is_sellable(sku)
        unit_price = sku.store_price if sku.store_price is not None else sku.price
        in_stock = stock.get(sku_id, 0)
        if sellable:
            subtotal += unit_price * quantity
        lines.append(
            {
                "sku_id": str(sku_id),
                "quantity": quantity,
                "unit_price": money(unit_price, currency),
                "line_total": money(unit_price * quantity, currency),
                "available": sellable and in_stock >= quantity,
                "sold_here": sellable,
                "stock_available": max(in_stock, 0),
                "product_id": str(sku.product_id),
                "name": sku.product.name,
                "sku_code": sku.sku_code,
                "specs": sku.specs or {},
                "image": media_url(sku.thumbnail_name),
            }
        )
    return {
        "store_id": str(store.pk),
        "lines": lines,
        "subtotal": money(subtotal, currency),
        "item_count": sum(line["quantity"] for line in lines),
    }


# --- addresses -----------------------------------------------------------------------------------


def addresses_for_customer(*, customer: Customer) -> list[Address]:
    return list(Address.objects.filter(customer=customer).order_by("-is_default", "-updated_at", "-id"))


def address_get(*, customer: Customer, address_id, code: str = "not_found") -> Address:
    """One of the customer's own addresses; anyone else's is not found."""
    pk = parse_pk(address_id, what="address", code=code)
    address = Address.objects.filter(customer=customer, pk=pk).first()
    if address is None:
        raise NotFound("No such address.", code=code)
    return address


def address_out(address: Address) -> dict:
    return {
        "id": str(address.pk),
        "contact_name": address.contact_name,
        "phone_masked": address.phone_masked,
        "address": address.address,
        "district": address.district,
        "lat": address.lat,
        "lng": address.lng,
        "is_default": address.is_default,
        "created_at": address.created_at,
        "updated_at": address.updated_at,
    }


# --- the quote -----------------------------------------------------------------------------------


@dataclass(slots=True)
class CheckoutInput:
    """What a quote or an order asks for, as parsed from the body."""

    lines: list[tuple[object, int]]
    fulfilment_type: str
    store_id: object = None
    address_id: object = None
    pickup_at: dt.datetime | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    coupon_ids: list[str] = field(default_factory=list)
    points: int = 0
    lat: float | None = None
    lng: float | None = None
    coord_type: str = "gcj02"
    note: str = ""


@dataclass(slots=True)
class Quote:
    store: Store
    ctx: PricingContext
    fulfilment_type: str
    skus: dict[int, Sku]
    pickup_at: dt.datetime | None
    contact_name: str
    contact_phone: str
    address: Address | None
    distance_m: float | None
    note: str

    def as_dict(self) -> dict:
        reply = self.ctx.explain()
        for line in reply["lines"]:
            line["image"] = media_url(line["image"])
        return {"store_id": str(self.store.pk), **reply, "fulfilment": self.fulfilment_out()}

    def fulfilment_out(self) -> dict:
        out = {
            "type": self.fulfilment_type,
            "pickup_at": self.pickup_at,
            "contact": {"name": mask_name(self.contact_name), "phone_masked": mask_phone(self.contact_phone)},
            "address": None,
            "distance_m": None if self.distance_m is None else round(self.distance_m),
        }
        if self.address is not None:
            out["address"] = {
                "id": str(self.address.pk),
                "address": self.address.address,
                "district": self.address.district,
                "lat": self.address.lat,
                "lng": self.address.lng,
            }
        return out


def _merge_lines(lines) -> dict[int, int]:
    """[(sku_id, quantity)] → {sku_pk: quantity}; repeated SKUs are added up (at most 99 a line)."""
    if not lines:
        raise ValidationFailed(
            "lines must list at least one SKU.", errors=[{"loc": ["lines"], "msg": "empty"}]
        )
    merged: dict[int, int] = {}
    for index, (sku_id, quantity) in enumerate(lines):
        pk = parse_pk(sku_id, what="SKU")
        merged[pk] = merged.get(pk, 0) + quantity
        if merged[pk] > MAX_LINE_QUANTITY:
            raise ValidationFailed(
                f"At most {MAX_LINE_QUANTITY} of one SKU per order.",
                errors=[{"loc": ["lines", index, "quantity"], "msg": f"at most {MAX_LINE_QUANTITY}"}],
            )
    if len(merged) > MAX_LINES:
        raise ValidationFailed(
            f"At most {MAX_LINES} different SKUs per order.", errors=[{"loc": ["lines"], "msg": "too many"}]
        )
    return merged


def check_store_takes_order(
    store: Store, *, fulfilment_type: str, pickup_at: dt.datetime | None, now: dt.datetime
) -> None:
    """Whether `store` takes this order now (decisions recorded in orders/README.md):
    - a paused store takes none: `409 store_closed`;
    - the service must be on: `422 pickup_unavailable` / `422 delivery_unavailable`;
    - a pickup time must be at least the store's preparation time away, no later than the end of
      tomorrow (store-local) and inside opening hours: else `422 invalid_pickup_time`. Such an
      order may be placed while the store is closed (tonight for tomorrow morning);
    - otherwise the store must be open now: `409 store_closed`.
    """
    if store.status != StoreStatus.OPEN:
        raise Conflict(f"{store.name} is not taking orders right now.", code="store_closed")
    if fulfilment_type == "pickup" and not store.pickup_enabled:
        raise ValidationFailed(f"{store.name} does not offer pickup.", code="pickup_unavailable")
    if fulfilment_type == "delivery" and not store.delivery_enabled:
        raise ValidationFailed(f"{store.name} does not deliver.", code="delivery_unavailable")
    schedule = store_schedule(store)
    if pickup_at is not None:
        if fulfilment_type != "pickup":
            raise ValidationFailed(
                "pickup_at is for pickup orders only.",
                code="invalid_pickup_time",
                errors=[{"loc": ["fulfilment", "pickup_at"], "msg": "pickup orders only"}],
            )
        tz = ZoneInfo(store.tz_name)
        local_today = now.astimezone(tz).date()
        latest = dt.datetime.combine(
            local_today + dt.timedelta(days=PICKUP_DAYS_AHEAD + 1), dt.time(0, 0), tz
        )
        earliest = now + dt.timedelta(minutes=store.pickup_prep_minutes)
        if pickup_at < earliest:
            raise ValidationFailed(
                f"The earliest pickup time is {earliest.astimezone(tz):%H:%M} "
                f"({store.pickup_prep_minutes} minutes to prepare).",
                code="invalid_pickup_time",
                errors=[{"loc": ["fulfilment", "pickup_at"], "msg": "too early"}],
            )
        if pickup_at >= latest:
            raise ValidationFailed(
                "Pickup times can be chosen up to the end of tomorrow.",
                code="invalid_pickup_time",
                errors=[{"loc": ["fulfilment", "pickup_at"], "msg": "too late"}],
            )
        if not schedule_is_open(schedule, pickup_at):
            raise ValidationFailed(
                f"{store.name} is closed at {pickup_at.astimezone(tz):%m-%d %H:%M}.",
                code="invalid_pickup_time",
                errors=[{"loc": ["fulfilment", "pickup_at"], "msg": "outside opening hours"}],
            )
        return
    if not schedule_is_open(schedule, now):
        raise Conflict(f"{store.name} is closed now.", code="store_closed")


def check_stock(store: Store, skus: dict[int, Sku], wanted: dict[int, int]) -> None:
    """`409 out_of_stock` naming the first SKU whose quantity exceeds the store's available stock."""
    available = stock_available_for(store_id=store.pk, sku_ids=list(wanted))
    for sku_id, quantity in wanted.items():
        if available.get(sku_id, 0) < quantity:
            sku = skus[sku_id]
            raise Conflict(
                f"{sku.product.name} ({sku.sku_code}) is out of stock at this store: "
                f"{max(available.get(sku_id, 0), 0)} available, {quantity} wanted.",
                code="out_of_stock",
            )


def _contact(data: CheckoutInput, customer: Customer, address: Address | None) -> tuple[str, str]:
    if data.contact_phone is not None:
        try:
            phone = normalize_phone(data.contact_phone)
        except ValueError:
            raise ValidationFailed(
                "contact.phone is not a mainland China mobile number.",
                code="invalid_phone",
                errors=[{"loc": ["fulfilment", "contact", "phone"], "msg": "invalid"}],
            ) from None
        return (data.contact_name or "").strip(), phone
    if address is not None:
        return (data.contact_name or address.contact_name).strip(), address.phone
    return (data.contact_name or customer.nickname or "").strip(), customer.phone


def _route(*, customer: Customer, merchant: Merchant | None, data: CheckoutInput, wanted: dict[int, int]):
    """The nearest open store (of the lines' merchant) that holds every line and serves the point:
    the saved address for deliveries, else `lat`/`lng` from the body."""
    if data.fulfilment_type == "delivery" and data.address_id is not None:
        address = address_get(customer=customer, address_id=data.address_id, code="address_not_found")
        lat, lng = address.lat, address.lng
    elif data.lat is not None and data.lng is not None:
        lat, lng = check_coordinates(data.lat, data.lng, coord_type=data.coord_type)
    else:
        raise ValidationFailed(
            "Name a store_id, or a location (lat, lng or a delivery address) to route the order.",
            errors=[{"loc": ["store_id"], "msg": "required without a location"}],
        )
    merchant_ids = set(Sku.objects.filter(pk__in=list(wanted)).values_list("merchant_id", flat=True))
    if len(merchant_ids) != 1 or (merchant is not None and merchant_ids != {merchant.pk}):
        raise NotFound("No such SKU.")
    (merchant_id,) = merchant_ids
    candidates = stores_with_all_stock(merchant_id=merchant_id, wanted=wanted)
    if candidates:
        hits = stores_nearest(
            lat=lat,
            lng=lng,
            radius_km=ROUTING_RADIUS_KM,
            open_now=True,
            service=data.fulfilment_type,
            merchant=Merchant.objects.get(pk=merchant_id) if merchant is None else merchant,
            limit=100,
        )
        for hit in hits:
            if hit.store.pk in candidates:
                return hit.store.pk
    raise Conflict("No open store nearby can fulfil every line of this order.", code="no_store_available")


def checkout_quote(
    *,
    customer: Customer,
    merchant: Merchant | None,
    data: CheckoutInput,
    now: dt.datetime | None = None,
    check_available: bool = True,
) -> Quote:
    """Prices `data` and checks everything an order must pass, in this order: the lines (404 / 409
    not_sold_here), the store (409 store_closed, 422 pickup/delivery_unavailable, 422
    invalid_pickup_time), the delivery address (404 address_not_found, 422 outside_delivery_area),
    coupons and points, the minimum order (422 below_minimum_order), and last stock (409
    out_of_stock naming the SKU; `check_available=False` leaves that to the reservation, which
    order creation makes anyway and which answers the same). Two to four queries whatever the
    number of lines (the store with its hours, the SKUs, the stock, a delivery address), more to
    route an order without a store."""
    now = now or timezone.now()
    wanted = _merge_lines(data.lines)
    store_id = data.store_id
    if store_id is None:
        store_id = _route(customer=customer, merchant=merchant, data=data, wanted=wanted)
    store = store_for_checkout(store_id=store_id, merchant=merchant, at=now)
    skus = skus_at_store(store=store, sku_ids=list(wanted))
    check_store_takes_order(store, fulfilment_type=data.fulfilment_type, pickup_at=data.pickup_at, now=now)

    address = None
    distance = None
    delivery = None
    if data.fulfilment_type == "delivery":
        if data.address_id is None:
            raise ValidationFailed(
                "A delivery needs address_id (one of your saved addresses).",
                errors=[{"loc": ["fulfilment", "address_id"], "msg": "required for delivery"}],
            )
        address = address_get(customer=customer, address_id=data.address_id, code="address_not_found")
        distance = haversine_m(store.lat, store.lng, address.lat, address.lng)
        if distance > store.delivery_radius_m:
            raise ValidationFailed(
                f"{store.name} delivers within {store.delivery_radius_m} m; this address is "
                f"{round(distance)} m away.",
                code="outside_delivery_area",
            )
        delivery = DeliveryTerms(
            fee=store.delivery_fee, free_over=store.delivery_free_over, min_order=store.delivery_min_order
        )
    elif data.address_id is not None:
        raise ValidationFailed(
            "address_id is for deliveries only.",
            errors=[{"loc": ["fulfilment", "address_id"], "msg": "delivery only"}],
        )

    ctx = price(
        PricingContext(
            currency=store.merchant.currency,
            lines=[priced_line(skus[sku_id], quantity) for sku_id, quantity in wanted.items()],
            fulfilment_type=data.fulfilment_type,
            delivery=delivery,
            customer_id=customer.pk,
            merchant_id=store.merchant_id,
            store_id=store.pk,
            coupon_ids=list(dict.fromkeys(data.coupon_ids or [])),
            points_requested=data.points or 0,
        )
    )
    if delivery is not None and ctx.goods_payable < delivery.min_order:
        raise ValidationFailed(
            f"{store.name} delivers orders from {delivery.min_order / 100:.2f} yuan; "
            f"this one is {ctx.goods_payable / 100:.2f}.",
            code="below_minimum_order",
        )
    if check_available:
        check_stock(store, skus, wanted)
    contact_name, contact_phone = _contact(data, customer, address)
    return Quote(
        store=store,
        ctx=ctx,
        fulfilment_type=data.fulfilment_type,
        skus=skus,
        pickup_at=data.pickup_at,
        contact_name=contact_name,
        contact_phone=contact_phone,
        address=address,
        distance_m=distance,
        note=(data.note or "").strip(),
    )
