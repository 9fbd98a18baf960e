"""Order reads. Consumers read their own orders (within the merchant context); staff read the orders
of the stores in their scope (`Actor.scope_stores`); HQ reads and exports its merchant's. Lists
run a fixed number of queries whatever the page size (lines, events and refund requests are
prefetched).

Payment deadlines are enforced lazily on read too: an unpaid order past its deadline is cancelled
(and its stock returned) by the read that finds it, so nobody sees it payable.
"""

import csv
import datetime as dt
import io
from collections.abc import Iterator
from functools import cache
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from mendian.accounts.models import Customer
from mendian.checkout.selectors import parse_pk
from mendian.core import rows
from mendian.core.errors import NotFound, ValidationFailed
from mendian.core.money import money
from mendian.core.pagination import newest_first_page
from mendian.core.scope import Actor
from mendian.merchants.models import Merchant
from mendian.orders import services
from mendian.orders.models import (
    PICKUP_ACTIVE_STATUSES,
    FulfilmentType,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    RefundRequest,
    RefundStatus,
)
from mendian.stores.models import Store
from mendian.stores.selectors import store_get_for_actor

S = OrderStatus
MAX_REPORT_DAYS = 366


# --- helpers -------------------------------------------------------------------------------------


def parse_statuses(value: str | None, choices=OrderStatus) -> list[str] | None:
    """`status=paid` or `status=paid,preparing`; unknown values are a 422."""
    if value in (None, ""):
        return None
    statuses = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [part for part in statuses if part not in choices.values]
    if unknown:
        raise ValidationFailed(
            f"Unknown status {unknown[0]!r}; one of: {', '.join(choices.values)}.",
            errors=[{"loc": ["query", "status"], "msg": "unknown status"}],
        )
    return statuses


def _with_details(qs: QuerySet) -> QuerySet:
    return qs.select_related("store", "merchant", "customer").prefetch_related(
        "lines",
        Prefetch("events", queryset=OrderEvent.objects.order_by("at", "pk")),
        Prefetch("refund_requests", queryset=RefundRequest.objects.prefetch_related("lines").order_by("-pk")),
    )


def _expire_due(qs: QuerySet, now: dt.datetime) -> int:
    """Lazily cancels the unpaid orders of `qs` whose deadline passed (one query when none)."""
    due = list(qs.filter(status=S.PENDING_PAYMENT, pay_deadline__lte=now).values_list("pk", flat=True)[:100])
    return sum(1 for pk in due if services.order_expire(order_id=pk, now=now))


# --- consumers -----------------------------------------------------------------------------------


def _customer_orders(customer: Customer, merchant: Merchant | None) -> QuerySet:
    qs = Order.objects.filter(customer=customer)
    if merchant is not None:
        qs = qs.filter(merchant_id=merchant.pk)
    return qs


def orders_for_customer(
    *,
    customer: Customer,
    merchant: Merchant | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> tuple[list[Order], str | None]:
    """The customer's own orders, newest first, with lines, events and refund requests."""
    statuses = parse_statuses(status)
    base = _customer_orders(customer, merchant)
    _expire_due(base, timezone.now())
    qs = _with_details(base)
    if statuses:
        qs = qs.filter(status__in=statuses)
    return newest_first_page(qs, limit=limit, cursor=cursor)


_LINE_ORDER = OrderLine._meta.get_field("order")
_EVENT_ORDER = OrderEvent._meta.get_field("order")


@cache
def _own_order_sql(for_merchant: bool) -> str:
    """One order of a customer with its store and merchant, and whether it has refund requests:
    the joins of `_with_details`, by hand (the detail runs in every order's flow)."""
    merchant_filter = " AND o.merchant_id = %s" if for_merchant else ""
    return (
        f"SELECT {rows.columns(Order, 'o')}, {rows.columns(Store, 's')}, {rows.columns(Merchant, 'm')}, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {rows.table(RefundRequest)} r WHERE r.order_id = o.id) "
        f"FROM {rows.table(Order)} o JOIN {rows.table(Store)} s ON s.id = o.store_id "
        f"JOIN {rows.table(Merchant)} m ON m.id = o.merchant_id "
        f"WHERE o.id = %s AND o.customer_id = %s{merchant_filter}"
    )


@cache
def _lines_and_events_sql() -> str:
    """An order's lines (kind 1, by id) and events (kind 2, by time): two prefetches of
    `_with_details` in one statement (kept apart from the order's: PostgreSQL plans the two
    simple statements in less than half the time of their UNION)."""
    lines_at = 2
    events_at = lines_at + rows.width(OrderLine)
    event_fields = [field.attname for field in OrderEvent._meta.concrete_fields]
    return (
        f"SELECT 1, {rows.columns(OrderLine, 'l')}, {rows.nulls(OrderEvent)} "  # noqa: S608
        f"FROM {rows.table(OrderLine)} l WHERE l.order_id = %s "
        f"UNION ALL SELECT 2, {rows.nulls(OrderLine)}, {rows.columns(OrderEvent, 'e')} "
        f"FROM {rows.table(OrderEvent)} e WHERE e.order_id = %s "
        f"ORDER BY 1, {lines_at}, {events_at + event_fields.index('at')}, {events_at + event_fields.index('id')}"
    )


def _own_order(customer: Customer, pk: int, merchant: Merchant | None) -> Order | None:
    """`_with_details(_customer_orders(customer, merchant).filter(pk=pk)).first()` in two queries
    (four when the order has refund requests: theirs and their lines)."""
    params = [pk, customer.pk]
    if merchant is not None:
        params.append(merchant.pk)
    found = rows.fetch(_own_order_sql(merchant is not None), params)
    if not found:
        return None
    (row,) = found
    order_width, store_width = rows.width(Order), rows.width(Store)
    order = rows.instance(Order, row)
    store = rows.instance(Store, row, order_width)
    order.merchant = store.merchant = rows.instance(Merchant, row, order_width + store_width)
    order.store = store
    order.customer = customer
    lines, events = [], []
    events_at = 1 + rows.width(OrderLine)
    for row in rows.fetch(_lines_and_events_sql(), [pk, pk]):
        if row[0] == 1:
            line = rows.instance(OrderLine, row, 1)
            _LINE_ORDER.set_cached_value(line, order)
            lines.append(line)
        else:
            event = rows.instance(OrderEvent, row, events_at)
            _EVENT_ORDER.set_cached_value(event, order)
            events.append(event)
    refunds = []
    if found[0][-1]:
        refunds = list(RefundRequest.objects.filter(order=order).prefetch_related("lines").order_by("-pk"))
    services.order_prefetch_fill(order, lines=lines, events=events, refund_requests=refunds)
    return order


def order_for_customer(*, customer: Customer, order_id, merchant: Merchant | None = None) -> Order:
    """One of the customer's own orders (anyone else's: 404) with its store, merchant, lines,
    events and refund requests, expired lazily if it is overdue."""
    pk = parse_pk(order_id, what="order")
    now = timezone.now()
    order = _own_order(customer, pk, merchant)
    # The lazy expiry of `_expire_due`, without its query in the usual case: only an unpaid order
    # past its deadline is expired, then read again.
    if (
        order is not None
        and order.status == S.PENDING_PAYMENT
        and order.pay_deadline is not None
        and order.pay_deadline <= now
    ):
        services.order_expire(order_id=pk, now=now)
        order = _own_order(customer, pk, merchant)
    if order is None:
        raise NotFound("No such order.")
    return order


def pickup_qr_svg(order: Order) -> str:
    """The pickup code as a QR code (SVG), for the customer to show at the counter."""
    if not order.pickup_code or order.status not in PICKUP_ACTIVE_STATUSES:
        raise NotFound("This order has no pickup code to show.", code="pickup_code_unavailable")
    buffer = io.BytesIO()
    segno.make(order.pickup_code, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
    return buffer.getvalue().decode()


# --- staff ---------------------------------------------------------------------------------------


def _staff_orders(actor: Actor, capability: str = "orders.fulfil") -> QuerySet:
    actor.require(capability)
    return actor.scope_stores(Order.objects.all(), store_field="store_id", merchant_field="merchant_id")


def orders_for_actor(
    *,
    actor: Actor,
    status: str | None = None,
    store_id=None,
    since: dt.datetime | None = None,
    fulfilment_type: str | None = None,
    no_show: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> tuple[list[Order], str | None]:
    """Orders of the stores in the actor's scope, newest first. `since`: only orders changed after
    it (the live queue polls with the time of its last poll)."""
    statuses = parse_statuses(status)
    qs = _staff_orders(actor)
    if store_id not in (None, ""):
        qs = qs.filter(store_id=store_get_for_actor(actor=actor, store_id=store_id).pk)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if since is not None:
        if timezone.is_naive(since):
            raise ValidationFailed(
                "since must carry a time zone.", errors=[{"loc": ["query", "since"], "msg": "naive"}]
            )
        _check_day(since.date(), "since")
        qs = qs.filter(updated_at__gt=since)
    if fulfilment_type is not None:
        if fulfilment_type not in FulfilmentType.values:
            raise ValidationFailed(
                "fulfilment_type must be pickup or delivery.",
                errors=[{"loc": ["query", "fulfilment_type"], "msg": "invalid"}],
            )
        qs = qs.filter(fulfilment_type=fulfilment_type)
    if no_show is not None:
        qs = qs.filter(no_show_at__isnull=not no_show)
    return newest_first_page(_with_details(qs), limit=limit, cursor=cursor)


def order_get_for_actor(*, actor: Actor, order_id, capability: str = "orders.fulfil") -> Order:
    """One order in the actor's scope; outside it, 404."""
    pk = parse_pk(order_id, what="order")
    base = _staff_orders(actor, capability).filter(pk=pk)
    _expire_due(base, timezone.now())
    order = _with_details(base).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def refund_requests_for_actor(
    *,
    actor: Actor,
    status: str | None = None,
    store_id=None,
    limit: int | None = None,
    cursor: str | None = None,
) -> tuple[list[RefundRequest], str | None]:
    actor.require("refunds.approve")
    statuses = parse_statuses(status, RefundStatus)
    qs = actor.scope_stores(
        RefundRequest.objects.all(), store_field="order__store_id", merchant_field="order__merchant_id"
    )
    if store_id not in (None, ""):
        qs = qs.filter(order__store_id=store_get_for_actor(actor=actor, store_id=store_id).pk)
    if statuses:
        qs = qs.filter(status__in=statuses)
    qs = qs.select_related("order", "order__store").prefetch_related("lines__order_line")
    return newest_first_page(qs, limit=limit, cursor=cursor)


def refund_request_get_for_actor(*, actor: Actor, request_id) -> RefundRequest:
    actor.require("refunds.approve")
    pk = parse_pk(request_id, what="refund request")
    qs = actor.scope_stores(
        RefundRequest.objects.filter(pk=pk),
        store_field="order__store_id",
        merchant_field="order__merchant_id",
    )
    request = qs.select_related("order", "order__store").prefetch_related("lines__order_line").first()
    if request is None:
        raise NotFound("No such refund request.")
    return request


# --- HQ ------------------------------------------------------------------------------------------


def _zone_for(actor: Actor, merchant_id: int | None = None) -> ZoneInfo:
    wanted = merchant_id or actor.merchant_id
    if wanted:
        name = Merchant.objects.filter(pk=wanted).values_list("timezone", flat=True).first()
        if name:
            return ZoneInfo(name)
    return ZoneInfo(settings.TIME_ZONE)


EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)


def _check_day(value: dt.date | None, name: str) -> None:
    if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValidationFailed(
            f"{name} must be between {EARLIEST_DAY} and {LATEST_DAY}.",
            errors=[{"loc": ["query", name], "msg": "out of range"}],
        )


def _day_bounds(date_from: dt.date | None, date_to: dt.date | None, tz: ZoneInfo):
    _check_day(date_from, "from")
    _check_day(date_to, "to")
    start = dt.datetime.combine(date_from, dt.time(0), tz) if date_from else None
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tz) if date_to else None
    if start and end and end <= start:
        raise ValidationFailed(
            "from must not be after to.", errors=[{"loc": ["query", "from"], "msg": "after to"}]
        )
    return start, end


def orders_for_hq(
    *,
    actor: Actor,
    store_id=None,
    status: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    number: str | None = None,
    merchant_id=None,
) -> QuerySet:
    """HQ's order search (created between `date_from` and `date_to`, merchant-local days, inclusive),
    newest first, details prefetched; the caller pages it (`hq_orders_page`) or exports it."""
    statuses = parse_statuses(status)
    qs = _staff_orders(actor, "hq.access")
    merchant_pk = None
    if merchant_id not in (None, ""):
        merchant_pk = parse_pk(merchant_id, what="merchant")
        actor.check_merchant(merchant_pk)
        qs = qs.filter(merchant_id=merchant_pk)
    if store_id not in (None, ""):
        qs = qs.filter(store_id=store_get_for_actor(actor=actor, store_id=store_id).pk)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if number:
        qs = qs.filter(number__startswith=number.strip())
    start, end = _day_bounds(date_from, date_to, _zone_for(actor, merchant_pk))
    if start:
        qs = qs.filter(created_at__gte=start)
    if end:
        qs = qs.filter(created_at__lt=end)
    return qs


def hq_orders_page(qs: QuerySet, *, limit: int | None, cursor: str | None) -> tuple[list[Order], str | None]:
    return newest_first_page(_with_details(qs), limit=limit, cursor=cursor)


EXPORT_COLUMNS = [
    "number",
    "created_at",
    "store_code",
    "store_name",
    "status",
    "fulfilment_type",
    "items",
    "subtotal_fen",
    "discount_fen",
    "delivery_fee_fen",
    "total_fen",
    "paid_fen",
    "refunded_fen",
    "currency",
    "paid_at",
    "completed_at",
    "cancelled_at",
    "customer_id",
]


# The columns both order exports read, in this order (the API adds `customer_id`, the HQ console
# the contact phone to mask).
EXPORT_FIELDS = (
    "number",
    "created_at",
    "store__code",
    "store__name",
    "status",
    "fulfilment_type",
    "items",
    "subtotal",
    "discount_total",
    "delivery_fee",
    "total",
    "paid_amount",
    "refunded_amount",
    "currency",
    "paid_at",
    "completed_at",
    "cancelled_at",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """A CSV cell a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def orders_export_chunks(
    qs: QuerySet, *, extra: tuple[str, ...] = (), chunk_size: int = 500
) -> Iterator[list]:
    """The `EXPORT_FIELDS + extra` values of the orders of `qs`, newest first, in keyset chunks of
    `chunk_size`: constant memory however many orders."""
    rows = qs.annotate(items=Sum("lines__quantity")).values_list("pk", *EXPORT_FIELDS, *extra).order_by("-pk")
    last = None
    while True:
        chunk = list((rows if last is None else rows.filter(pk__lt=last))[:chunk_size])
        if not chunk:
            return
        yield [row[1:] for row in chunk]
        last = chunk[-1][0]


def _cell(value) -> str:
    if value is None:
        return ""
    return formula_safe(value.isoformat() if isinstance(value, dt.datetime) else str(value))


def orders_export_csv(qs: QuerySet, *, chunk_size: int = 500) -> Iterator[str]:
    """The orders of `qs` as CSV text chunks (header first); amounts in fen. No personal data
    beyond the customer's id."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    for chunk in orders_export_chunks(qs, extra=("customer_id",), chunk_size=chunk_size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_cell(value) for value in row] for row in chunk)
        yield buffer.getvalue()


def sales_report(
    *, actor: Actor, date_from: dt.date, date_to: dt.date, store_id=None, merchant_id=None
) -> dict:
    """Paid orders per merchant-local day and per store between two dates (inclusive): counts, paid,
    refunded and net amounts (fen, as Money). Every day of the range is listed, sales or not."""
    actor.require("reports.read")
    _check_day(date_from, "from")
    _check_day(date_to, "to")
    if date_to < date_from:
        raise ValidationFailed(
            "from must not be after to.", errors=[{"loc": ["query", "from"], "msg": "after to"}]
        )
    if (date_to - date_from).days + 1 > MAX_REPORT_DAYS:
        raise ValidationFailed(
            f"A report covers at most {MAX_REPORT_DAYS} days.",
            errors=[{"loc": ["query", "to"], "msg": "range too long"}],
        )
    qs = actor.scope_stores(Order.objects.all(), store_field="store_id", merchant_field="merchant_id")
    merchant_pk = None
    if merchant_id not in (None, ""):
        merchant_pk = parse_pk(merchant_id, what="merchant")
        actor.check_merchant(merchant_pk)
        qs = qs.filter(merchant_id=merchant_pk)
    store = None
    if store_id not in (None, ""):
        store = store_get_for_actor(actor=actor, store_id=store_id)
        qs = qs.filter(store_id=store.pk)
    tz = _zone_for(actor, merchant_pk or (store.merchant_id if store else None))
    start, end = _day_bounds(date_from, date_to, tz)
    rows = list(
        qs.filter(paid_at__gte=start, paid_at__lt=end, paid_amount__gt=0)
        .annotate(day=TruncDate("paid_at", tzinfo=tz))
        .values("day", "store_id", "store__code", "store__name", "currency")
        .annotate(orders=Count("pk"), paid=Sum("paid_amount"), refunded=Sum("refunded_amount"))
        .order_by("day", "store_id")
    )
    currency = rows[0]["currency"] if rows else "CNY"

    def amounts(orders: int, paid: int, refunded: int) -> dict:
        return {
            "orders": orders,
            "paid": money(paid, currency),
            "refunded": money(refunded, currency),
            "net": money(paid - refunded, currency),
        }

    per_day: dict[dt.date, list[int]] = {}
    day = date_from
    while day <= date_to:
        per_day[day] = [0, 0, 0]
        day += dt.timedelta(days=1)
    per_store: dict[int, dict] = {}
    totals = [0, 0, 0]
    out_rows = []
    for row in rows:
        numbers = (row["orders"], row["paid"] or 0, row["refunded"] or 0)
        bucket = per_day.setdefault(row["day"], [0, 0, 0])
        entry = per_store.setdefault(
            row["store_id"],
            {
                "store_id": str(row["store_id"]),
                "store_code": row["store__code"],
                "store_name": row["store__name"],
                "n": [0, 0, 0],
            },
        )
        for index, value in enumerate(numbers):
            bucket[index] += value
            entry["n"][index] += value
            totals[index] += value
        out_rows.append(
            {
                "date": row["day"],
                "store_id": str(row["store_id"]),
                "store_code": row["store__code"],
                **amounts(*numbers),
            }
        )
    return {
        "from": date_from,
        "to": date_to,
        "timezone": tz.key,
        "currency": currency,
        "totals": amounts(*totals),
        "days": [{"date": day, **amounts(*numbers)} for day, numbers in sorted(per_day.items())],
        "stores": [
            {key: value for key, value in entry.items() if key != "n"} | amounts(*entry["n"])
            for _, entry in sorted(per_store.items())
        ],
        "rows": out_rows,
    }


# --- the store console's live queue --------------------------------------------------------------

QUEUE_STATUSES = (S.PAID, S.PREPARING, S.READY_FOR_PICKUP, S.OUT_FOR_DELIVERY)


def store_queue_state(*, actor: Actor, store) -> dict:
    """What the live queue polls: `version` changes whenever any order of the store changes (the
    newest `updated_at`), with the number of each queue status and of no-show flags. Two queries on
    the (store, updated_at) and (store, status) indexes, however many orders the store has."""
    actor.require("orders.fulfil")
    actor.check_store(store)
    base = Order.objects.filter(store_id=store.pk)
    latest = base.aggregate(latest=Max("updated_at"))["latest"]
    counts = base.filter(status__in=QUEUE_STATUSES).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in QUEUE_STATUSES},
        no_show=Count("pk", filter=Q(status=S.READY_FOR_PICKUP, no_show_at__isnull=False)),
    )
    return {"version": latest.isoformat() if latest else "0", "counts": counts}


def pickup_code_lookup(*, actor: Actor, store, code: str) -> dict:
    """Why a pickup code failed at `store` (called after `pickup_verify` refused it, so the attempt
    already counted against the rate limit): `{"used": Order}` when an order of this store was
    collected with it, `{"other_store": True}` when a live order of another store of the merchant
    carries it (the customer came to the wrong shop; which one is not said), else `{}`."""
    actor.require("pickups.verify")
    actor.check_store(store)
    cleaned = services._clean_code(code)
    if cleaned is None:
        return {}
    used = (
        Order.objects.filter(
            store_id=store.pk,
            pickup_code=cleaned,
            fulfilment_type=FulfilmentType.PICKUP,
            completed_at__isnull=False,
        )
        .order_by("-completed_at")
        .first()
    )
    if used is not None:
        return {"used": used}
    elsewhere = (
        Order.objects.filter(
            merchant_id=store.merchant_id, pickup_code=cleaned, status__in=PICKUP_ACTIVE_STATUSES
        )
        .exclude(store_id=store.pk)
        .exists()
    )
    return {"other_store": True} if elsewhere else {}
