"""Order writes. Each service is one transaction that locks the order row first; `order_transition`
is the only writer of `Order.status` and records an `OrderEvent` (and the outbox event) with it.

Callers:
- the consumer API: `order_create`, `order_cancel_by_customer`, `order_confirm_received`,
  `refund_request_create`;
- the staff API: `order_accept`, `order_ready`, `order_dispatch`, `order_deliver`,
  `order_cancel_by_staff`, `pickup_verify`, `refund_request_approve`, `refund_request_reject`;
- payments: `order_mark_paid` and `order_refund_recorded` (and payments provides `refund_start`,
  reached through `payments_refund_start`);
- periodic tasks: `orders_expire_due`, `orders_autocomplete_delivered`, `orders_flag_no_shows`.
"""

import datetime as dt
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from mendian.accounts.models import Customer
from mendian.accounts.ratelimit import Limit, limits_take
from mendian.checkout.allocation import prorate
from mendian.checkout.selectors import CheckoutInput, Quote, checkout_quote, parse_pk
from mendian.checkout.services import cart_remove_skus
from mendian.core import rows
from mendian.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from mendian.core.money import money
from mendian.core.scope import Actor
from mendian.integrations import events as outbox_events
from mendian.integrations.outbox import outbox_emit
from mendian.inventory.services import (
    stock_consume,
    stock_release,
    stock_reservation_hold,
    stock_reserve,
    stock_return,
)
from mendian.merchants.models import Merchant
from mendian.orders import policy
from mendian.orders.couriers import courier_get
from mendian.orders.models import (
    ALLOWED_TRANSITIONS,
    PICKUP_ACTIVE_STATUSES,
    REFUND_NOTE_MAX_LENGTH,
    EventActor,
    FulfilmentType,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    RefundKind,
    RefundRequest,
    RefundRequestLine,
    RefundStatus,
)
from mendian.stores.models import Store

S = OrderStatus
PICKUP_CODE_DIGITS = 8
NUMBER_RANDOM_DIGITS = 8
_NUMBER_ATTEMPTS = 5
_PICKUP_CODE_ATTEMPTS = 5
# Wrong pickup codes per staff member: 20 a minute, then 429 for the rest of the minute.
PICKUP_VERIFY_LIMIT = Limit(
    name="pickup-verify", limit=20, period=60, message="Too many wrong pickup codes; wait a minute."
)
# Statuses from which a customer may ask for a refund (the goods were handed over).
REFUNDABLE_STATUSES = (S.DELIVERED, S.COMPLETED, S.REFUNDED, S.REFUND_REJECTED)
_CLAIMING_REFUND_STATUSES = (RefundStatus.PENDING, RefundStatus.APPROVED, RefundStatus.REFUNDED)
_EVENT_FOR_STATUS = {
    S.PAID: outbox_events.ORDER_PAID,
    S.READY_FOR_PICKUP: outbox_events.ORDER_READY,
    S.COMPLETED: outbox_events.ORDER_COMPLETED,
    S.CANCELLED: outbox_events.ORDER_CANCELLED,
}

# Who acts: staff (an Actor), the customer, or one of these.
SYSTEM = "system"
PAYMENT = "payment"


def _now() -> dt.datetime:
    return timezone.now()


# --- the state machine ---------------------------------------------------------------------------


def _actor_columns(actor) -> tuple[str, int | None]:
    if isinstance(actor, Actor):
        return (EventActor.STAFF if actor.staff_id else EventActor.SYSTEM), actor.staff_id
    if isinstance(actor, Customer):
        return EventActor.CUSTOMER, None
    if actor in (SYSTEM, PAYMENT):
        return actor, None
    raise TypeError(f"unknown order actor {actor!r}")


def order_payload(order: Order, **extra) -> dict:
    """The `data` of an order webhook (outbox events)."""
    return {
        "order_id": str(order.pk),
        "number": order.number,
        "status": order.status,
        "store_id": str(order.store_id),
        "store_code": order.store.code,
        "fulfilment_type": order.fulfilment_type,
        "total": money(order.total, order.currency),
        "paid_amount": money(order.paid_amount, order.currency),
        "refunded_amount": money(order.refunded_amount, order.currency),
        **extra,
    }


def order_transition(
    *,
    order: Order,
    to: str,
    actor,
    reason: str = "",
    fields: dict | None = None,
    now: dt.datetime | None = None,
) -> Order:
    """Moves `order` to `to` if the state machine allows it from its current status, else `409
    invalid_state_transition`. Call it inside the caller's transaction with the order row locked
    (`_lock`). Writes `fields` in the same UPDATE, an `OrderEvent`, and for paid / ready /
    completed / cancelled an outbox event."""
    if not connection.in_atomic_block:
        raise RuntimeError("order_transition must run inside the transaction that locked the order")
    current = order.status
    if to not in ALLOWED_TRANSITIONS.get(current, frozenset()):
        raise Conflict(
            f"Order {order.number} is {current}; it cannot become {to}.", code="invalid_state_transition"
        )
    now = now or _now()
    values = {"status": to, "updated_at": now, **(fields or {})}
    # Hand-written SQL (`core.rows`): every paid order passes here, and the ORM's compiler would
    # cost more Python than the statements cost the database.
    # Conditional on the status read under the lock: a writer that skipped the lock cannot slip by.
    if rows.update_where(Order, {"pk": order.pk, "status": current}, values) != 1:
        raise Conflict(f"Order {order.number} changed meanwhile.", code="invalid_state_transition")
    for key, value in values.items():
        setattr(order, key, value)
    actor_type, staff_id = _actor_columns(actor)
    event = OrderEvent(
        order=order,
        status=to,
        from_status=current,
        at=now,
        actor_type=actor_type,
        staff_id=staff_id,
        note=reason[:200],
    )
    rows.insert([event])
    event_type = _EVENT_FOR_STATUS.get(to)
    if event_type is not None:
        outbox_emit(
            merchant_id=order.merchant_id,
            event_type=event_type,
            payload=order_payload(order, at=now.isoformat()),
            aggregate=order,
        )
    return order


def _lock(order_id, **filters) -> Order:
    """The order row, locked (store and merchant joined, not locked). Not found outside `filters`."""
    pk = parse_pk(order_id, what="order")
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("store", "merchant")
        .filter(pk=pk, **filters)
        .first()
    )
    if order is None:
        raise NotFound("No such order.")
    return order


def _lock_for_actor(actor: Actor, order_id, capability: str) -> Order:
    actor.require(capability)
    order = _lock(order_id)
    try:
        actor.check_store(order.store)
    except NotFound:
        raise NotFound("No such order.") from None
    return order


# --- creating orders -----------------------------------------------------------------------------


def _new_number(merchant: Merchant, now: dt.datetime) -> str:
    """260315 + 8 random digits: the merchant-local date, then enough randomness that numbers say
    nothing about sales volumes. UNIQUE in the database; a collision retries with another."""
    day = now.astimezone(ZoneInfo(merchant.timezone)).strftime("%y%m%d")
    return f"{day}{secrets.randbelow(10**NUMBER_RANDOM_DIGITS):0{NUMBER_RANDOM_DIGITS}d}"


def _order_row(customer: Customer, quote: Quote, number: str, now: dt.datetime) -> Order:
    store = quote.store
    ctx = quote.ctx
    timeout = policy.policy_value(store.merchant, policy.PAY_TIMEOUT_MINUTES)
    address = quote.address
    return Order(
        merchant_id=store.merchant_id,
        store=store,
        customer=customer,
        number=number,
        status=S.PENDING_PAYMENT,
        fulfilment_type=quote.fulfilment_type,
        currency=ctx.currency,
        subtotal=ctx.subtotal,
        discount_total=ctx.discount_total,
        delivery_fee=ctx.delivery_fee,
        points_used=ctx.points_used,
        total=ctx.total,
        discounts=[{"source": d.source, "label": d.label, "amount": d.amount} for d in ctx.discounts],
        pay_deadline=now + dt.timedelta(minutes=timeout),
        pickup_at=quote.pickup_at,
        contact_name=quote.contact_name,
        contact_phone=quote.contact_phone,
        delivery_address=address.address if address else "",
        delivery_district=address.district if address else "",
        delivery_lat=address.lat if address else None,
        delivery_lng=address.lng if address else None,
        delivery_distance_m=round(quote.distance_m) if quote.distance_m is not None else None,
        note=quote.note[:200],
    )


def order_prefetch_fill(order: Order, **relations) -> None:
    """Fills the prefetch cache of `order`'s reverse relations with rows already in memory (the
    order just written, or read by hand in `selectors.order_for_customer`)."""
    cache = getattr(order, "_prefetched_objects_cache", {})
    for name, found in relations.items():
        qs = getattr(order, name).all()
        qs._result_cache = list(found)
        qs._prefetch_done = True
        cache[name] = qs
    order._prefetched_objects_cache = cache


def order_create(
    *, customer: Customer, merchant: Merchant | None, data: CheckoutInput, now: dt.datetime | None = None
) -> Order:
    """Places an order exactly as `checkout_quote` prices it: the order, its lines (name, specs,
    price and discount shares as they are now), its first event and the stock reservation (until
    the payment deadline) in one transaction; the ordered SKUs leave the cart. Any refusal of the
    quote or of the reservation (`409 out_of_stock` naming the SKU) leaves nothing behind."""
    now = now or _now()
    # Stock is checked by the reservation itself (one query fewer than checking twice).
    quote = checkout_quote(customer=customer, merchant=merchant, data=data, now=now, check_available=False)
    store = quote.store
    for attempt in range(_NUMBER_ATTEMPTS):
        number = _new_number(store.merchant, now)
        try:
            with transaction.atomic():
                # Hand-written INSERTs (`core.rows`): the ORM's would cost more Python than the
                # database spends on them, on the path every order takes.
                order = _order_row(customer, quote, number, now)
                rows.insert([order])
                lines = [
                    OrderLine(
                        order=order,
                        sku_id=line.sku_id,
                        product_id=line.product_id,
                        sku_code=line.sku_code,
                        name=line.name,
                        specs=line.specs,
                        image=line.image or "",
                        unit_price=line.unit_price,
                        quantity=line.quantity,
                        line_total=line.line_total,
                        discount_allocated=line.discount_allocated,
                        allocations=[{"source": s, "amount": a} for s, a in line.allocations.items()],
                    )
                    for line in quote.ctx.lines
                ]
                rows.insert(lines)
                event = OrderEvent(order=order, status=order.status, at=now, actor_type=EventActor.CUSTOMER)
                rows.insert([event])
                stock_reserve(
                    store=store,
                    lines=[(line.sku_id, line.quantity) for line in quote.ctx.lines],
                    reference=order.number,
                    expires_at=order.pay_deadline,
                    new_reference=True,
                )
                cart_remove_skus(
                    customer=customer, store=store, sku_ids=[line.sku_id for line in quote.ctx.lines]
                )
                # The reply is rendered from what was just written, without reading it back.
                order_prefetch_fill(order, lines=lines, events=[event], refund_requests=[])
                return order
        except IntegrityError:
            if attempt + 1 < _NUMBER_ATTEMPTS and Order.objects.filter(number=number).exists():
                continue
            raise
    raise AssertionError("unreachable")


# --- payment -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Paid:
    """The order is now paid (its pickup code issued)."""

    order: Order


@dataclass(frozen=True, slots=True)
class AlreadyPaid:
    """A repeat of the payment that paid it: nothing changed."""

    order: Order


@dataclass(frozen=True, slots=True)
class PaidAfterCancel:
    """The money cannot be kept: payments must refund it in full. `reason` is `cancelled` (the
    order was cancelled before the payment arrived), `stock_released` (the payment came so late
    that the reserved goods were released: the order is cancelled now) or `already_paid` (another
    payment paid the order first)."""

    order: Order
    reason: str


def _reservation_hold(order: Order) -> bool:
    """Once paid, the goods stay reserved until fulfilment: the reservation's expiry (the payment
    deadline, which inventory's safety-net sweep acts on) is cleared. False when the reservation no
    longer holds the goods (released by that sweep)."""
    return stock_reservation_hold(reference=order.number)


def _pickup_code() -> str:
    return f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}"


def order_mark_paid(
    *,
    order_id,
    payment_id: str,
    amount: int,
    provider: str,
    paid_at: dt.datetime,
    locked_order: Order | None = None,
):
    """Records the payment of an order (payments calls it with a verified notification).

    Locks the order, unless the caller passes it as `locked_order`: the row of `order_id` (store
    joined) it locked in the transaction it is calling from. Returns `Paid`, `AlreadyPaid` (same
    payment again: no change) or `PaidAfterCancel` (payments must refund: the order stays
    cancelled, never resurrected). `409 amount_mismatch` when `amount` is not the order total;
    `404 not_found` for no such order. Emits `order.paid`."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed("amount must be a whole number of minor units.")
    if not payment_id or len(str(payment_id)) > 64:
        raise ValidationFailed("payment_id must be 1 to 64 characters.")
    if timezone.is_naive(paid_at):
        raise ValidationFailed("paid_at must carry a time zone.")
    payment_id = str(payment_id)
    if locked_order is not None and str(locked_order.pk) != str(order_id):
        raise RuntimeError(f"locked_order is order {locked_order.pk}, not {order_id}")
    # A caller holding the lock is in its own transaction and lets a refusal roll it back whole.
    with transaction.atomic(savepoint=locked_order is None):
        order = _lock(order_id) if locked_order is None else locked_order
        if order.payment_id:
            if order.payment_id == payment_id:
                return AlreadyPaid(order)
            return PaidAfterCancel(order, reason="already_paid")
        if order.status == S.CANCELLED:
            return PaidAfterCancel(order, reason="cancelled")
        if order.status != S.PENDING_PAYMENT:
            raise Conflict(f"Order {order.number} is {order.status}.", code="invalid_state_transition")
        if amount != order.total:
            raise Conflict(
                f"Order {order.number} costs {order.total}; the payment is {amount}.", code="amount_mismatch"
            )
        if not _reservation_hold(order):
            order_transition(
                order=order,
                to=S.CANCELLED,
                actor=PAYMENT,
                reason="paid after its goods were released",
                fields={"cancelled_at": _now(), "cancel_reason": "paid after the payment deadline"},
            )
            return PaidAfterCancel(order, reason="stock_released")
        fields = {
            "paid_amount": amount,
            "paid_at": paid_at,
            "payment_id": payment_id,
            "payment_provider": str(provider)[:20],
        }
        if order.fulfilment_type != FulfilmentType.PICKUP:
            order_transition(order=order, to=S.PAID, actor=PAYMENT, fields=fields)
            return Paid(order)
        for attempt in range(_PICKUP_CODE_ATTEMPTS):
            try:
                # A savepoint: the code is unique per store among live pickup codes.
                with transaction.atomic():
                    order_transition(
                        order=order,
                        to=S.PAID,
                        actor=PAYMENT,
                        fields={**fields, "pickup_code": _pickup_code()},
                    )
                return Paid(order)
            except IntegrityError:
                order.status = S.PENDING_PAYMENT
                if attempt + 1 == _PICKUP_CODE_ATTEMPTS:
                    raise
    raise AssertionError("unreachable")


# --- cancelling and expiry -----------------------------------------------------------------------


def payments_refund_start(*, order: Order, amount: int, refund_request_id: int, reason: str):
    """The seam to the payments app: `payments.services.refund_start`, imported when needed (tests
    replace this function while payments is absent). Called inside the approving transaction, so
    the refund is started if and only if the approval commits; it must not block on the network."""
    try:
        from mendian.payments.services import refund_start
    except ImportError as exc:
        raise DomainError(
            "Refunds are not available right now.", code="refunds_unavailable", status=503
        ) from exc
    return refund_start(order=order, amount=amount, refund_request_id=refund_request_id, reason=reason)


def _refund_commit(order: Order, amount: int) -> None:
    """Raises `refunded_amount` by `amount` only if it stays within `paid_amount` (a conditional
    UPDATE; the CHECK constraint is the last guard): refunds can never exceed what was paid."""
    updated = Order.objects.filter(pk=order.pk, refunded_amount__lte=F("paid_amount") - amount).update(
        refunded_amount=F("refunded_amount") + amount, updated_at=_now()
    )
    if updated != 1:
        raise Conflict(
            f"A refund of {amount} would exceed what was paid for {order.number}.", code="refund_exceeds_paid"
        )
    order.refunded_amount += amount


def _refund_cancelled(order: Order, *, reason: str, staff_id: int | None) -> RefundRequest | None:
    """A paid order was cancelled: everything paid and not yet refunded goes back."""
    amount = order.paid_amount - order.refunded_amount
    if amount <= 0:
        return None
    now = _now()
    request = RefundRequest.objects.create(
        order=order,
        kind=RefundKind.CANCELLATION,
        status=RefundStatus.APPROVED,
        amount=amount,
        reason=(reason or "order cancelled")[:200],
        whole_order=True,
        restock=None,  # nothing left the store: the reservation is simply released
        decided_by_id=staff_id,
        decided_at=now,
    )
    _refund_commit(order, amount)
    payments_refund_start(order=order, amount=amount, refund_request_id=request.pk, reason=request.reason)
    return request


def _cancel(order: Order, *, actor, reason: str, staff_id: int | None = None) -> Order:
    """Cancels (the caller checked who may), returns the goods to stock, refunds what was paid."""
    now = _now()
    was_paid = order.status != S.PENDING_PAYMENT
    order_transition(
        order=order,
        to=S.CANCELLED,
        actor=actor,
        reason=reason,
        fields={"cancelled_at": now, "cancel_reason": (reason or "")[:200]},
        now=now,
    )
    stock_release(reference=order.number)
    if was_paid:
        _refund_cancelled(order, reason=reason, staff_id=staff_id)
    return order


def order_cancel_by_customer(*, customer: Customer, order_id, reason: str = "") -> Order:
    """The customer cancels an unpaid order, or a paid one the store has not started preparing
    (refunded in full). Later: `409 invalid_state_transition`. Another customer's order: 404."""
    with transaction.atomic():
        order = _lock(order_id, customer=customer)
        if order.status not in (S.PENDING_PAYMENT, S.PAID):
            raise Conflict(
                f"Order {order.number} is {order.status}; it can no longer be cancelled.",
                code="invalid_state_transition",
            )
        return _cancel(order, actor=customer, reason=reason or "cancelled by the customer")


def order_cancel_by_staff(*, actor: Actor, order_id, reason: str = "") -> Order:
    """Staff cancel an order before preparing it (refunded in full if paid), or a ready pickup order
    flagged no-show (the no-show policy). Otherwise `409 invalid_state_transition`."""
    with transaction.atomic():
        order = _lock_for_actor(actor, order_id, "orders.fulfil")
        allowed = order.status in (S.PENDING_PAYMENT, S.PAID) or (
            order.status == S.READY_FOR_PICKUP and order.no_show_at is not None
        )
        if not allowed:
            raise Conflict(
                f"Order {order.number} is {order.status}; staff cancel only before preparing, or a "
                "ready order that was not collected in time.",
                code="invalid_state_transition",
            )
        return _cancel(order, actor=actor, reason=reason or "cancelled by the store", staff_id=actor.staff_id)


def order_expire(*, order_id, now: dt.datetime | None = None) -> bool:
    """Cancels an unpaid order whose payment deadline passed and returns its stock. True when it
    did; False (nothing changed) when the order was paid, cancelled or is not due."""
    now = now or _now()
    with transaction.atomic():
        order = _lock(order_id)
        if order.status != S.PENDING_PAYMENT or order.pay_deadline > now:
            return False
        _cancel(order, actor=SYSTEM, reason="payment deadline passed")
        return True


def orders_expire_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """The periodic sweep: expires unpaid orders past their deadline. Returns how many."""
    now = now or _now()
    due = list(
        Order.objects.filter(status=S.PENDING_PAYMENT, pay_deadline__lte=now)
        .order_by("pay_deadline")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in due if order_expire(order_id=pk, now=now))


# --- fulfilment (staff) --------------------------------------------------------------------------


def order_accept(*, actor: Actor, order_id) -> Order:
    """paid → preparing."""
    with transaction.atomic():
        order = _lock_for_actor(actor, order_id, "orders.fulfil")
        return order_transition(order=order, to=S.PREPARING, actor=actor, fields={"accepted_at": _now()})


def _require_type(order: Order, fulfilment_type: str, action: str) -> None:
    if order.fulfilment_type != fulfilment_type:
        raise Conflict(
            f"Order {order.number} is a {order.fulfilment_type} order; {action} is for {fulfilment_type} orders.",
            code="invalid_state_transition",
        )


def order_ready(*, actor: Actor, order_id) -> Order:
    """preparing → ready_for_pickup (pickup orders): the customer is told to come (`order.ready`)."""
    with transaction.atomic():
        order = _lock_for_actor(actor, order_id, "orders.fulfil")
        _require_type(order, FulfilmentType.PICKUP, "ready")
        return order_transition(order=order, to=S.READY_FOR_PICKUP, actor=actor, fields={"ready_at": _now()})


def order_dispatch(
    *, actor: Actor, order_id, courier: str | None = None, eta_minutes: int | None = None
) -> Order:
    """preparing → out_for_delivery (delivery orders) with a courier (`store`: the store's own
    staff). The goods leave the store now, so their reservation is consumed here."""
    if eta_minutes is not None and (
        isinstance(eta_minutes, bool) or not isinstance(eta_minutes, int) or not 1 <= eta_minutes <= 24 * 60
    ):
        raise ValidationFailed(
            "eta_minutes must be 1 to 1440.", errors=[{"loc": ["eta_minutes"], "msg": "1 to 1440"}]
        )
    adapter = courier_get(courier)
    with transaction.atomic():
        order = _lock_for_actor(actor, order_id, "orders.fulfil")
        _require_type(order, FulfilmentType.DELIVERY, "dispatch")
        if order.status != S.PREPARING:
            raise Conflict(
                f"Order {order.number} is {order.status}; only preparing orders are dispatched.",
                code="invalid_state_transition",
            )
        now = _now()
        dispatch = adapter.dispatch(order=order, eta_minutes=eta_minutes, now=now)
        order_transition(
            order=order,
            to=S.OUT_FOR_DELIVERY,
            actor=actor,
            now=now,
            fields={
                "dispatched_at": now,
                "courier": dispatch.courier,
                "courier_tracking": dispatch.tracking_id[:64],
                "delivery_eta": dispatch.eta,
            },
        )
        stock_consume(reference=order.number)
        return order


def order_deliver(*, actor: Actor, order_id) -> Order:
    """out_for_delivery → delivered."""
    with transaction.atomic():
        order = _lock_for_actor(actor, order_id, "orders.fulfil")
        return order_transition(order=order, to=S.DELIVERED, actor=actor, fields={"delivered_at": _now()})


def _complete(order: Order, *, actor, now: dt.datetime) -> Order:
    return order_transition(order=order, to=S.COMPLETED, actor=actor, now=now, fields={"completed_at": now})


def order_confirm_received(*, customer: Customer, order_id) -> Order:
    """The customer confirms a delivery arrived: delivered → completed."""
    with transaction.atomic():
        order = _lock(order_id, customer=customer)
        return _complete(order, actor=customer, now=_now())


def orders_autocomplete_delivered(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Completes delivered orders older than their merchant's `delivery_autocomplete_hours`."""
    now = now or _now()
    earliest = now - dt.timedelta(hours=policy.DELIVERY_AUTOCOMPLETE_HOURS.minimum)
    candidates = (
        Order.objects.filter(status=S.DELIVERED, delivered_at__lte=earliest)
        .select_related("merchant")
        .order_by("delivered_at")[:limit]
    )
    done = 0
    for candidate in candidates:
        hours = policy.policy_value(candidate.merchant, policy.DELIVERY_AUTOCOMPLETE_HOURS)
        if candidate.delivered_at > now - dt.timedelta(hours=hours):
            continue
        with transaction.atomic():
            order = _lock(candidate.pk)
            if order.status == S.DELIVERED:
                _complete(order, actor=SYSTEM, now=now)
                done += 1
    return done


def orders_flag_no_shows(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Flags ready pickup orders not collected within their merchant's `pickup_no_show_hours`
    (`no_show_at`): the store sees them and may cancel them with a refund. Returns how many."""
    now = now or _now()
    earliest = now - dt.timedelta(hours=policy.PICKUP_NO_SHOW_HOURS.minimum)
    candidates = (
        Order.objects.filter(status=S.READY_FOR_PICKUP, no_show_at__isnull=True, ready_at__lte=earliest)
        .select_related("merchant")
        .order_by("ready_at")[:limit]
    )
    due = [
        order.pk
        for order in candidates
        if order.ready_at
        <= now - dt.timedelta(hours=policy.policy_value(order.merchant, policy.PICKUP_NO_SHOW_HOURS))
    ]
    if not due:
        return 0
    return Order.objects.filter(pk__in=due, status=S.READY_FOR_PICKUP, no_show_at__isnull=True).update(
        no_show_at=now, updated_at=now
    )


# --- pickup codes --------------------------------------------------------------------------------


def _clean_code(code) -> str | None:
    if not isinstance(code, str):
        return None
    code = code.replace(" ", "").replace("-", "")
    if not code.isascii() or not code.isdigit() or not PICKUP_CODE_DIGITS <= len(code) <= 12:
        return None
    return code


def pickup_verify(*, actor: Actor, store: Store, code: str) -> Order:
    """Staff of `store` verify a pickup code (核销): the ready order is handed over and completed,
    its reserved stock consumed. `404 pickup_code_invalid` for a code no live order of this store
    carries (another store's too); `409 order_not_ready` when the order is not ready yet. The row
    lock makes concurrent verifications complete it once (the others: 404). Wrong codes are rate
    limited per staff member (`429 rate_limited`)."""
    actor.require("pickups.verify")
    actor.check_store(store)
    taken = limits_take((PICKUP_VERIFY_LIMIT, f"{actor.staff_id or actor.label}"))
    cleaned = _clean_code(code)
    with transaction.atomic():
        order = None
        if cleaned is not None:
            order = (
                Order.objects.select_for_update(of=("self",))
                .select_related("store", "merchant")
                .filter(store_id=store.pk, pickup_code=cleaned, status__in=PICKUP_ACTIVE_STATUSES)
                .first()
            )
        if order is None:
            raise NotFound("No order of this store has this pickup code.", code="pickup_code_invalid")
        taken.release()
        if order.status != S.READY_FOR_PICKUP:
            raise Conflict(
                f"Order {order.number} is {order.status}, not ready for pickup.", code="order_not_ready"
            )
        now = _now()
        _complete(order, actor=actor, now=now)
        stock_consume(reference=order.number)
        return order


# --- after-sales ---------------------------------------------------------------------------------


def _claimed(order: Order) -> tuple[dict[int, int], int, int]:
    """Units of each line already claimed by live refund requests, their amount, and how many
    after-sales requests the order had."""
    rows = RefundRequestLine.objects.filter(
        request__order=order, request__status__in=_CLAIMING_REFUND_STATUSES
    ).values_list("order_line_id", "quantity")
    units: dict[int, int] = {}
    for line_id, quantity in rows:
        units[line_id] = units.get(line_id, 0) + quantity
    amount = (
        RefundRequest.objects.filter(order=order, status__in=_CLAIMING_REFUND_STATUSES).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    requests = RefundRequest.objects.filter(order=order, kind=RefundKind.AFTER_SALE).count()
    return units, amount, requests


def refund_request_create(
    *,
    customer: Customer,
    order_id,
    lines: list[tuple[object, int]] | None,
    reason: str,
    now: dt.datetime | None = None,
) -> RefundRequest:
    """The customer asks for money back (售后): some units (`lines`) or the whole order (None).

    Policy: the goods were handed over (delivered or completed), within the merchant's
    `refund_window_days` of that, at most `refund_max_requests` requests, one open at a time, and
    never twice for the same units. Amounts follow what the units really cost (their share of
    discounts included); the request that claims the last units also returns the delivery fee.
    The order becomes `refund_requested`."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ValidationFailed(
            "reason is required (at most 200 characters).", errors=[{"loc": ["reason"], "msg": "required"}]
        )
    now = now or _now()
    with transaction.atomic():
        order = _lock(order_id, customer=customer)
        if order.status == S.REFUND_REQUESTED:
            raise Conflict(f"A refund of order {order.number} is in progress.", code="refund_in_progress")
        if order.status not in REFUNDABLE_STATUSES:
            hint = " Cancel it instead." if order.status in (S.PENDING_PAYMENT, S.PAID) else ""
            raise Conflict(
                f"Order {order.number} is {order.status}; no refund request now.{hint}",
                code="refund_not_allowed",
            )
        handed_over = order.completed_at or order.delivered_at
        window = policy.policy_value(order.merchant, policy.REFUND_WINDOW_DAYS)
        if handed_over is None or now - handed_over > dt.timedelta(days=window):
            raise Conflict(
                f"Refunds are accepted within {window} days of receipt.", code="refund_window_closed"
            )
        claimed_units, claimed_amount, requests = _claimed(order)
        limit = policy.policy_value(order.merchant, policy.REFUND_MAX_REQUESTS)
        if requests >= limit:
            raise Conflict(f"At most {limit} refund requests per order.", code="refund_limit_reached")
        order_lines = {line.pk: line for line in OrderLine.objects.filter(order=order)}
        remaining = {pk: line.quantity - claimed_units.get(pk, 0) for pk, line in order_lines.items()}
        if lines is None:
            wanted = {pk: left for pk, left in remaining.items() if left > 0}
        else:
            wanted = {}
            for index, (line_id, quantity) in enumerate(lines):
                try:
                    pk = parse_pk(line_id, what="order line")
                except NotFound:
                    pk = None
                if pk not in order_lines:
                    raise ValidationFailed(
                        f"Order {order.number} has no line {line_id!r}.",
                        code="unknown_order_line",
                        errors=[
                            {"loc": ["lines", index, "order_line_id"], "msg": "not a line of this order"}
                        ],
                    )
                wanted[pk] = wanted.get(pk, 0) + quantity
            for pk, quantity in wanted.items():
                if quantity > remaining[pk]:
                    raise Conflict(
                        f"{order_lines[pk].name}: {remaining[pk]} of {order_lines[pk].quantity} units can "
                        f"still be refunded, {quantity} asked.",
                        code="already_refunded",
                    )
        if not wanted:
            raise Conflict(
                f"Every unit of order {order.number} was already refunded.", code="already_refunded"
            )
        line_amounts = {}
        for pk, quantity in wanted.items():
            line = order_lines[pk]
            before = claimed_units.get(pk, 0)
            line_amounts[pk] = prorate(line.net_total, before + quantity, line.quantity) - prorate(
                line.net_total, before, line.quantity
            )
        everything = all(remaining[pk] - wanted.get(pk, 0) == 0 for pk in order_lines)
        # Money not yet claimed by other requests; the last units take all of it (delivery fee too).
        unclaimed = order.paid_amount - claimed_amount
        amount = unclaimed if everything else min(sum(line_amounts.values()), unclaimed)
        if amount <= 0:
            raise Conflict("Nothing of these units is left to refund.", code="already_refunded")
        request = RefundRequest.objects.create(
            order=order,
            kind=RefundKind.AFTER_SALE,
            status=RefundStatus.PENDING,
            amount=amount,
            reason=reason,
            whole_order=lines is None,
        )
        RefundRequestLine.objects.bulk_create(
            RefundRequestLine(request=request, order_line_id=pk, quantity=quantity, amount=line_amounts[pk])
            for pk, quantity in wanted.items()
        )
        order_transition(order=order, to=S.REFUND_REQUESTED, actor=customer, reason=reason, now=now)
        return request


def _lock_refund_request(actor: Actor, request_id) -> tuple[RefundRequest, Order]:
    actor.require("refunds.approve")
    pk = parse_pk(request_id, what="refund request")
    order_id = RefundRequest.objects.filter(pk=pk).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound("No such refund request.")
    try:
        order = _lock_for_actor(actor, order_id, "refunds.approve")
    except NotFound:
        raise NotFound("No such refund request.") from None
    request = RefundRequest.objects.select_for_update().get(pk=pk)
    return request, order


def _restock(order: Order, request: RefundRequest) -> None:
    """The returned units go back on the store's shelves: a `return` movement per SKU (source
    `refund`), idempotent by the refund request."""
    lines = [(rl.order_line.sku_id, rl.quantity) for rl in request.lines.select_related("order_line")]
    if lines:
        stock_return(store=order.store, lines=lines, refund_request_id=request.pk, reference=order.number)


def refund_request_approve(
    *, actor: Actor, request_id, restock: bool = False, note: str = ""
) -> RefundRequest:
    """A store manager (or HQ) approves: the refund is committed on the order (never beyond what
    was paid), the goods are restocked when they came back (`restock`), and payments starts the
    refund (idempotent by the request id). `note` (stripped) is shown to the customer.
    `409 refund_request_not_pending` when decided already."""
    if not isinstance(note, str) or len(note.strip()) > REFUND_NOTE_MAX_LENGTH:
        raise ValidationFailed(
            f"note is text of at most {REFUND_NOTE_MAX_LENGTH} characters.",
            errors=[{"loc": ["note"], "msg": f"at most {REFUND_NOTE_MAX_LENGTH} characters"}],
        )
    note = note.strip()
    with transaction.atomic():
        request, order = _lock_refund_request(actor, request_id)
        if request.status != RefundStatus.PENDING:
            raise Conflict(f"This refund request is {request.status}.", code="refund_request_not_pending")
        now = _now()
        _refund_commit(order, request.amount)
        RefundRequest.objects.filter(pk=request.pk).update(
            status=RefundStatus.APPROVED,
            restock=bool(restock),
            decided_by_id=actor.staff_id,
            decided_at=now,
            decision_note=note,
        )
        request.status, request.restock, request.decided_by_id, request.decided_at = (
            RefundStatus.APPROVED,
            bool(restock),
            actor.staff_id,
            now,
        )
        if restock:
            _restock(order, request)
        payments_refund_start(
            order=order, amount=request.amount, refund_request_id=request.pk, reason=request.reason
        )
        request.refresh_from_db()
        return request


def refund_request_reject(*, actor: Actor, request_id, reason: str) -> RefundRequest:
    """Rejects a pending request with a reason: the order becomes `refund_rejected`."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ValidationFailed(
            "reason is required (at most 200 characters).", errors=[{"loc": ["reason"], "msg": "required"}]
        )
    with transaction.atomic():
        request, order = _lock_refund_request(actor, request_id)
        if request.status != RefundStatus.PENDING:
            raise Conflict(f"This refund request is {request.status}.", code="refund_request_not_pending")
        now = _now()
        request.status = RefundStatus.REJECTED
        request.reject_reason = reason
        request.decided_by_id = actor.staff_id
        request.decided_at = now
        request.save(update_fields=["status", "reject_reason", "decided_by", "decided_at"])
        order_transition(order=order, to=S.REFUND_REJECTED, actor=actor, reason=reason, now=now)
        return request


def order_refund_recorded(*, order_id, refund_request_id, amount: int) -> Order:
    """Payments reports that the refund of `refund_request_id` went through. Idempotent (a repeat
    changes nothing). An after-sales refund makes the order `refunded`; a cancellation refund leaves
    it `cancelled`. Emits `order.refunded`. `409 amount_mismatch` / `409 refund_request_not_approved`."""
    with transaction.atomic():
        order = _lock(order_id)
        request_pk = parse_pk(refund_request_id, what="refund request")
        request = RefundRequest.objects.select_for_update().filter(pk=request_pk, order=order).first()
        if request is None:
            raise NotFound("No such refund request.")
        if request.status == RefundStatus.REFUNDED:
            return order
        if request.status != RefundStatus.APPROVED:
            raise Conflict(f"This refund request is {request.status}.", code="refund_request_not_approved")
        if amount != request.amount:
            raise Conflict(f"The refund was for {request.amount}, not {amount}.", code="amount_mismatch")
        now = _now()
        RefundRequest.objects.filter(pk=request.pk).update(status=RefundStatus.REFUNDED, refunded_at=now)
        if request.kind == RefundKind.AFTER_SALE and order.status == S.REFUND_REQUESTED:
            order_transition(order=order, to=S.REFUNDED, actor=PAYMENT, reason=f"refunded {amount}", now=now)
        outbox_emit(
            merchant_id=order.merchant_id,
            event_type=outbox_events.ORDER_REFUNDED,
            payload=order_payload(
                order,
                refund_request_id=str(request.pk),
                refund_amount=money(amount, order.currency),
                at=now.isoformat(),
            ),
            aggregate=order,
        )
        return order
