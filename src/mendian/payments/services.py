"""Payment writes. Each service is one transaction; where money moves, rows are locked in one
order everywhere — the order, then its payment, then a refund — the order the orders app uses
when it calls `refund_start` inside its own transaction.

Callers:
- the consumer API: `payment_create`, `notification_receive` (the notify endpoint);
- the sandbox pay page: `sandbox_confirm`;
- orders (inside its transaction): `refund_start`;
- tasks: `refund_send`, `payments_reconcile_pending` (→ `payment_reconcile`, `refund_reconcile`);
- HQ: `refund_abnormal_resolve`.
"""

import datetime as dt
import logging
import re
from functools import cache

from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from mendian.accounts.models import Customer
from mendian.checkout.selectors import parse_pk
from mendian.core import rows
from mendian.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from mendian.core.scope import Actor
from mendian.orders import services as order_services
from mendian.orders.models import Order, OrderStatus
from mendian.payments.models import (
    OPEN_STATUSES,
    RESOLUTION_NOTE_MAX_LENGTH,
    NotificationOutcome,
    Payment,
    PaymentNotification,
    PaymentStatus,
    Refund,
    RefundResolution,
    RefundStatus,
)
from mendian.payments.providers import provider_for_payment, provider_get
from mendian.payments.providers import sandbox as sandbox_gateway
from mendian.payments.providers.base import (
    AbnormalRefundRefused,
    AbnormalRefundUnsupported,
    BankCard,
    NotificationRejected,
    PaymentEvent,
    ProviderError,
)
from mendian.payments.selectors import refunds_for_hq
from mendian.stores.models import Store

logger = logging.getLogger("mendian.payments")

# Payment states from which a verified "paid" moves the payment to paid. A closed or failed
# payment can still be paid (the customer paid between our query and our close): the money is
# then recorded and, the order being cancelled by then, refunded.
_PAYABLE = (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.CLOSED, PaymentStatus.FAILED)


def _now() -> dt.datetime:
    return timezone.now()


# The row locks every payment write starts with are hand-written (`core.rows`): composing them
# with the ORM cost more Python than the database spends on them, on every payment's path.


@cache
def _lock_order_sql(where: str, lock: bool) -> str:
    """The order row (`WHERE {where}` over `o`) locked, with its store's code and name (the events
    and the pay page show them; the store row is not locked)."""
    return (
        f"SELECT {rows.columns(Order, 'o')}, s.code, s.name FROM {rows.table(Order)} o "  # noqa: S608
        f"JOIN {rows.table(Store)} s ON s.id = o.store_id WHERE {where}"
        + (" FOR UPDATE OF o" if lock else "")
    )


def _locked_order(where: str, params: list) -> Order | None:
    found = rows.fetch(_lock_order_sql(where, connection.features.has_select_for_update_of), params)
    if not found:
        return None
    order = rows.instance(Order, found[0])
    width = rows.width(Order)
    order.store = Store.from_db(connection.alias, ["id", "code", "name"], (order.store_id, *found[0][width:]))
    return order


def _lock_order(order_id) -> Order:
    """The order row, locked, with its store (not locked; its code and name loaded)."""
    order = _locked_order("o.id = %s", [order_id])
    if order is None:
        raise Order.DoesNotExist("Order matching query does not exist.")
    return order


@cache
def _lock_payment_sql(where: str, lock: bool) -> str:
    return f"SELECT {rows.columns(Payment, 'p')} FROM {rows.table(Payment)} p WHERE {where}" + (  # noqa: S608
        " FOR UPDATE" if lock else ""
    )


def _locked_payment(where: str, params: list, order: Order) -> Payment | None:
    """The payment row (`WHERE {where}` over `p`), locked, with `order` (its order, locked just
    before) as its `.order`."""
    found = rows.fetch(_lock_payment_sql(where, connection.features.has_select_for_update), params)
    if not found:
        return None
    payment = rows.instance(Payment, found[0])
    payment.order = order
    return payment


def _lock_payment(pk, order: Order) -> Payment:
    """The payment row, locked, with `order` (its order, locked just before) as its `.order`."""
    payment = _locked_payment("p.id = %s", [pk], order)
    if payment is None:
        raise Payment.DoesNotExist("Payment matching query does not exist.")
    return payment


# --- creating ------------------------------------------------------------------------------------


def payment_create(*, customer: Customer, order_id, provider: str, base_url: str) -> tuple[Payment, dict]:
    """Starts (or resumes) paying the customer's own pending order with `provider`. The same order
    and provider reuse one payment and its `out_trade_no`. `422 provider_unavailable`, `404
    not_found` (another's order), `409 invalid_state_transition` (the order is not pending)."""
    pk = parse_pk(order_id, what="order")
    now = _now()
    try:
        with transaction.atomic():
            order = _locked_order("o.id = %s AND o.customer_id = %s", [pk, customer.pk])
            if order is None:
                raise NotFound("No such order.")
            if not (order.status == OrderStatus.PENDING_PAYMENT and order.pay_deadline <= now):
                return _payment_open(order, _adapter(provider, order, base_url), base_url=base_url)
            # Overdue: expired first, as every read of an order does, and kept whatever follows.
            order_services.order_expire(order_id=order.pk, now=now)
    except ProviderError as exc:
        logger.warning("%s could not open a payment for order %s: %s", provider, pk, exc)
        raise DomainError(
            "The payment provider cannot be reached; try again.", code="payment_provider_error", status=502
        ) from None
    _adapter(provider, order, base_url)
    order.refresh_from_db(fields=["status"])
    raise Conflict(f"Order {order.number} is {order.status}.", code="invalid_state_transition")


def _adapter(provider: str, order: Order, base_url: str):
    adapter = provider_get(provider, merchant_id=order.merchant_id)
    if hasattr(adapter, "site_url"):
        adapter.site_url = base_url  # the default notify URL of adapters that send one
    return adapter


def _payment_open(order: Order, adapter, *, base_url: str) -> tuple[Payment, dict]:
    """Opens or resumes the payment of `order` (locked by the caller) with `adapter`."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise Conflict(f"Order {order.number} is {order.status}.", code="invalid_state_transition")
    # Payments of an order are only created here, under the order's lock: a payment not found
    # now cannot appear before this transaction ends, so it is inserted once, complete.
    payment = _locked_payment("p.order_id = %s AND p.provider = %s", [order.pk, adapter.name], order)
    if payment is None:
        payment = Payment(order=order, provider=adapter.name, amount=order.total, currency=order.currency)
        payment.provider_data = adapter.create(payment)
        payment.status = PaymentStatus.PENDING
        rows.insert([payment])
        return payment, adapter.client_params(payment, base_url=base_url)
    if payment.status not in OPEN_STATUSES:
        raise Conflict(f"This payment is {payment.status}.", code="invalid_state_transition")
    if payment.amount != order.total:
        raise Conflict("The order total changed; the payment cannot be resumed.", code="amount_mismatch")
    payment.provider_data = {**(payment.provider_data or {}), **adapter.create(payment)}
    payment.status = PaymentStatus.PENDING
    payment.save(update_fields=["provider_data", "status", "updated_at"])
    return payment, adapter.client_params(payment, base_url=base_url)


# --- notifications -------------------------------------------------------------------------------


def _refund_create(payment: Payment, *, amount: int, refund_request_id, reason: str) -> Refund:
    """Records a pending refund (the payment row is locked by the caller) and sends it once the
    transaction commits. Never more than was paid: a conditional UPDATE, a CHECK as the last guard."""
    raised = Payment.objects.filter(pk=payment.pk, refunded_amount__lte=F("amount") - amount).update(
        refunded_amount=F("refunded_amount") + amount, updated_at=_now()
    )
    if raised != 1:
        raise Conflict(f"A refund of {amount} would exceed what was paid.", code="refund_exceeds_paid")
    payment.refunded_amount += amount
    refund = Refund.objects.create(
        payment=payment, amount=amount, refund_request_id=refund_request_id, reason=(reason or "")[:200]
    )
    transaction.on_commit(lambda: _refund_send_later(refund.pk))
    return refund


def _refund_send_later(refund_id: int) -> None:
    """After the commit: the refund is recorded whatever happens here; one left pending is sent
    again by the reconciliation job."""
    from mendian.payments.tasks import refund_send as refund_send_task

    try:
        refund_send_task.delay(refund_id)
    except Exception:
        logger.exception("refund %s could not be queued; reconciliation will send it", refund_id)


# Outcomes for which `_settle_paid` wrote the payment row (and with it `provider_data`).
_SETTLED = (NotificationOutcome.PAID, NotificationOutcome.PAID_AFTER_CANCEL)


def _settle_paid(payment: Payment, *, amount: int, transaction_id: str, paid_at: dt.datetime) -> str:
    """The provider says `payment` was paid (the order and the payment rows are locked, the order
    as `payment.order` with its store). Returns the outcome; money that cannot be kept (order
    cancelled, or paid by another payment) is refunded. A settled outcome (`_SETTLED`) also wrote
    `payment.provider_data` as it is in memory."""
    if amount != payment.amount:
        raise Conflict(
            f"The payment is {payment.amount}; the provider reports {amount}.", code="amount_mismatch"
        )
    if payment.status not in _PAYABLE:
        return NotificationOutcome.ALREADY_PAID
    rows.update(
        Payment,
        payment.pk,
        status=PaymentStatus.PAID.value,
        provider_transaction_id=transaction_id[:64],
        provider_data=payment.provider_data,
        paid_at=paid_at,
        updated_at=_now(),
    )
    payment.status, payment.provider_transaction_id, payment.paid_at = (
        PaymentStatus.PAID,
        transaction_id[:64],
        paid_at,
    )
    result = order_services.order_mark_paid(
        order_id=payment.order_id,
        payment_id=payment.public_id,
        amount=amount,
        provider=payment.provider,
        paid_at=paid_at,
        locked_order=payment.order,
    )
    if isinstance(result, order_services.PaidAfterCancel):
        logger.warning(
            "payment %s arrived for order %s that cannot take it (%s): refunding",
            payment.public_id,
            payment.order_id,
            result.reason,
        )
        _refund_create(payment, amount=amount, refund_request_id=None, reason=f"paid after {result.reason}")
        return NotificationOutcome.PAID_AFTER_CANCEL
    return NotificationOutcome.PAID


def _verified_event(adapter, provider: str, *, headers, body: bytes) -> PaymentEvent:
    try:
        return adapter.parse_notification(headers=headers, body=body)
    except NotificationRejected as exc:
        logger.warning("rejected %s notification: %s", provider, exc.reason)
        raise DomainError(
            "The notification failed verification.", code="invalid_notification", status=400
        ) from None


def notification_receive(*, provider: str, headers, body: bytes) -> str:
    """Handles a provider callback: verify (`400 invalid_notification`, nothing changes), find the
    payment (`404 not_found`), lock the order and the payment, dedupe by notification id, check the
    amount (`409 amount_mismatch`, nothing changes), settle. A refund event settles its pending
    refund the same way (`refund_settle`). Returns the outcome; repeats answer `duplicate` and
    change nothing."""
    adapter = provider_get(provider)
    event = _verified_event(adapter, provider, headers=headers, body=body)
    if event.kind == "ignored":
        # Verified, but settles nothing (e.g. Alipay's WAIT_BUYER_PAY): acknowledge it so the
        # provider stops retrying.
        return "ignored"
    if event.kind not in ("payment", "refund"):
        raise DomainError("Unsupported notification.", code="invalid_notification", status=400)
    found = (
        Payment.objects.select_related("order")
        .filter(provider=adapter.name, out_trade_no=event.out_trade_no)
        .first()
    )
    # An adapter that knows whose account verified the callback names the merchant: a payment of
    # another merchant is not this callback's to settle.
    merchant_id = event.extra.get("merchant_id")
    if found is not None and merchant_id is not None and found.order.merchant_id != merchant_id:
        found = None
    if found is None:
        logger.warning("%s notification %s for an unknown payment", provider, event.notification_id)
        raise NotFound("No such payment.")
    if event.kind == "refund":
        return _refund_notification(adapter.name, found, event)
    with transaction.atomic():
        order = _lock_order(found.order_id)
        payment = _lock_payment(found.pk, order)
        return _payment_event_apply(adapter.name, payment, event)


def _payment_event_apply(provider: str, payment: Payment, event: PaymentEvent) -> str:
    """A verified payment event for `payment` (the order and the payment rows are locked): dedupe
    by notification id, settle, record the outcome."""
    # Claimed as `paid`, what nearly every payment event comes to; anything else is written over
    # below, in the same transaction, which a refusal rolls back whole.
    notification_id = _notification_claim(provider, payment, event, outcome=NotificationOutcome.PAID)
    if notification_id is None:
        return "duplicate"
    outcome = _settle_paid(
        payment, amount=event.amount, transaction_id=event.transaction_id, paid_at=event.paid_at or _now()
    )
    if outcome != NotificationOutcome.PAID:
        rows.update(PaymentNotification, notification_id, outcome=outcome)
    return outcome


_CLAIM_SQL = (
    f"INSERT INTO {PaymentNotification._meta.db_table} "  # noqa: S608 - constant names
    "(provider, notification_id, payment_id, event_type, outcome, received_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (provider, notification_id) DO NOTHING RETURNING id"
)


def _notification_claim(
    provider: str, payment: Payment, event: PaymentEvent, *, outcome: str = NotificationOutcome.IGNORED
) -> int | None:
    """Records the notification id once (the payment row is locked): its row id, None when it was
    seen. The unique (provider, notification_id) decides, without a savepoint to recover from."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            [
                provider,
                event.notification_id[:128],
                payment.pk,
                event.event_type[:64],
                str(outcome),
                connection.ops.adapt_datetimefield_value(_now()),
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _refund_notification(provider: str, found: Payment, event: PaymentEvent) -> str:
    """A verified refund result: settles the pending refund like `refund_send` does with a reply
    (`refund_settle`), once per notification id. `404 not_found` for a refund not of this payment,
    `409 amount_mismatch` when the amount differs (nothing changes)."""
    refund = Refund.objects.filter(payment=found, out_refund_no=event.out_refund_no).first()
    if refund is None:
        logger.warning("%s refund notification %s for an unknown refund", provider, event.notification_id)
        raise NotFound("No such refund.")
    with transaction.atomic():
        order = _lock_order(found.order_id)
        payment = _lock_payment(found.pk, order)
        notification_id = _notification_claim(provider, payment, event)
        if notification_id is None:
            return "duplicate"
        if event.amount != refund.amount:
            raise Conflict(
                f"The refund is {refund.amount}; the provider reports {event.amount}.", code="amount_mismatch"
            )
        state = event.refund_state or ("succeeded" if event.refund_succeeded else "failed")
        status = refund_settle(
            refund_id=refund.pk,
            state=state,
            provider_refund_id=str(event.extra.get("refund_id") or refund.provider_refund_id),
            failure=""
            if state == "succeeded"
            else event.extra.get("refund_failure") or f"{provider}: {event.event_type}",
        )
        PaymentNotification.objects.filter(pk=notification_id).update(outcome=NotificationOutcome.REFUND)
        return f"refund_{status}"


# --- sandbox -------------------------------------------------------------------------------------


def sandbox_payment_get(*, payment_id: str) -> Payment:
    """A sandbox payment by its public id (the capability), for the hosted pay page."""
    provider_get("sandbox")
    payment = (
        Payment.objects.select_related("order", "order__store")
        .filter(public_id=payment_id, provider="sandbox")
        .first()
    )
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def sandbox_confirm(*, payment_id: str) -> str:
    """The customer pays on the sandbox page; the gateway then sends its signed notification, which
    goes through `notification_receive` like any provider's. `409 payment_closed` when closed."""
    outcome, _ = sandbox_pay(payment_id=payment_id)
    return outcome


_BY_SANDBOX_PAYMENT = (
    f"o.id = (SELECT order_id FROM {Payment._meta.db_table} WHERE public_id = %s AND provider = %s)"  # noqa: S608
)


def sandbox_pay(*, payment_id: str) -> tuple[str, Payment]:
    """`sandbox_confirm` for the pay page: (outcome, the payment as settled, its order and store
    joined). `404 not_found` for no such sandbox payment. The gateway's signed notification is
    verified and applied as `notification_receive` does, but under the row locks already held: the
    gateway's "paid" is committed even when applying the notification fails, as it is when the
    gateway and the shop are two systems."""
    adapter = provider_get("sandbox")
    paid_at_gateway = None
    try:
        with transaction.atomic():
            # The order first, found through its payment, then the payment: the usual lock order.
            order = _locked_order(_BY_SANDBOX_PAYMENT, [payment_id, "sandbox"])
            if order is None:
                raise NotFound("No such payment.")
            payment = _locked_payment("p.public_id = %s", [payment_id], order)
            if not sandbox_gateway.customer_pays(payment, now=_now()):
                raise Conflict("This payment was closed.", code="payment_closed")
            paid_at_gateway = payment
            headers, body = sandbox_gateway.signed_notification(payment)
            event = _verified_event(adapter, adapter.name, headers=headers, body=body)
            outcome = _payment_event_apply(adapter.name, payment, event)
            if outcome not in _SETTLED:
                # Settling did not write the gateway's state with the payment's: written here.
                Payment.objects.filter(pk=payment.pk).update(
                    provider_data=payment.provider_data, updated_at=_now()
                )
            return outcome, payment
    except Exception:
        # Applying the notification failed and took the gateway's state down with it (no savepoint
        # on the way every payment takes): the gateway keeps it, in a transaction of its own.
        if paid_at_gateway is not None:
            _sandbox_gateway_keeps(paid_at_gateway)
        raise


def _sandbox_gateway_keeps(payment: Payment) -> None:
    """Writes the sandbox gateway's "paid" of `payment` (in memory) unless the payment row already
    holds a paid gateway state (a concurrent pay page got there first)."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().filter(pk=payment.pk).first()
        if locked is not None and not sandbox_gateway.gateway_paid(locked):
            Payment.objects.filter(pk=payment.pk).update(
                provider_data=payment.provider_data, updated_at=_now()
            )


# --- refunds -------------------------------------------------------------------------------------


def refund_start(*, order: Order, amount: int, refund_request_id, reason: str) -> Refund:
    """Orders calls it inside its transaction (the order row locked) when a refund is approved:
    records the refund of `amount` on the payment that paid `order` and sends it after the commit.
    Idempotent by `refund_request_id`. `409 refund_exceeds_paid`, `409 payment_not_found`."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Conflict(
            "A refund must be a positive whole number of minor units.", code="invalid_refund_amount"
        )
    with transaction.atomic():
        found = Payment.objects.filter(order_id=order.pk, public_id=order.payment_id).first()
        if not order.payment_id or found is None:
            raise Conflict(f"Order {order.number} has no payment to refund.", code="payment_not_found")
        locked_order = _lock_order(order.pk)
        payment = _lock_payment(found.pk, locked_order)
        existing = None
        if refund_request_id is not None:
            existing = Refund.objects.filter(refund_request_id=refund_request_id).first()
        if existing is not None:
            if existing.payment_id != payment.pk or existing.amount != amount:
                raise Conflict("This refund request was refunded differently.", code="refund_mismatch")
            return existing
        return _refund_create(payment, amount=amount, refund_request_id=refund_request_id, reason=reason)


def refund_send(*, refund_id: int) -> str:
    """Sends a pending refund to its provider (outside any lock), then records the result
    (`refund_settle`). Safe to repeat: a refund no longer pending is left alone."""
    refund = Refund.objects.select_related("payment__order").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund.status
    adapter = provider_for_payment(refund.payment)
    try:
        result = adapter.refund(refund)
    except ProviderError:
        logger.warning("refund %s could not be sent; it will be retried", refund.out_refund_no)
        raise
    if result.state == "pending":
        Refund.objects.filter(pk=refund.pk).update(provider_refund_id=result.provider_refund_id[:64])
        return RefundStatus.PENDING
    return refund_settle(
        refund_id=refund.pk,
        state=result.state,
        provider_refund_id=result.provider_refund_id,
        failure=result.failure,
    )


# What a provider's word may change: from each status, the results it takes. A refund HQ had
# WeChat Pay return to the merchant's account (`merchant_bank_card`) is settled only by HQ
# (`offline`): the provider's "success" then means the merchant got the money back, not the buyer.
_PROVIDER_MAY_MOVE = {
    RefundStatus.PENDING: ("succeeded", "failed", "abnormal", "returned"),
    RefundStatus.ABNORMAL: ("succeeded", "failed", "pending", "returned"),
}


def _returned_to_merchant(refund: Refund) -> bool:
    return refund.resolution == RefundResolution.MERCHANT_BANK_CARD


def refund_settle(*, refund_id: int, state: str, provider_refund_id: str = "", failure: str = "") -> str:
    """Records what the provider says of a refund (its reply, notification or query):
    - `succeeded`: the payment becomes (partially) refunded and orders hears `order_refund_recorded`;
    - `failed`: nothing was paid back; the amount is released (it may be refunded anew);
    - `abnormal`: accepted but not paid out; the money is still owed, so the amount stays held, the
      order's refund is not recorded, and HQ lists it to act (`refund_abnormal_resolve`);
    - `pending` (of an abnormal refund): the provider is paying it out again (the merchant acted
      in the provider's own console);
    - `returned`: the provider paid it back to the merchant's account (asked here or in its own
      console): abnormal, marked `merchant_bank_card`, for HQ to settle `offline`.
    A result the refund's status does not take changes nothing. Returns the refund's status."""
    refund = Refund.objects.select_related("payment__order").get(pk=refund_id)
    with transaction.atomic():
        order = _lock_order(refund.payment.order_id)
        payment = _lock_payment(refund.payment_id, order)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if state not in _PROVIDER_MAY_MOVE.get(refund.status, ()) or _returned_to_merchant(refund):
            return refund.status
        return _refund_apply(
            refund, payment, state=state, provider_refund_id=provider_refund_id, failure=failure
        )


def _refund_apply(
    refund: Refund,
    payment: Payment,
    *,
    state: str,
    provider_refund_id: str = "",
    failure: str = "",
    **resolved,
) -> str:
    """Moves `refund` to `state` (the order, payment and refund rows are locked by the caller);
    `resolved` adds HQ's resolution fields."""
    now = _now()
    provider_refund_id = (provider_refund_id or refund.provider_refund_id)[:64]
    if state == "pending":
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.PENDING, provider_refund_id=provider_refund_id, failure="", checked_at=now
        )
        logger.info("abnormal refund %s is being paid out again", refund.out_refund_no)
        return RefundStatus.PENDING
    if state == "returned":
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.ABNORMAL,
            provider_refund_id=provider_refund_id,
            failure="",
            resolution=RefundResolution.MERCHANT_BANK_CARD,
            abnormal_at=refund.abnormal_at or now,
        )
        logger.error(
            "refund %s of payment %s went back to the merchant's account at %s: HQ must pay the customer",
            refund.out_refund_no,
            payment.public_id,
            payment.provider,
        )
        return RefundStatus.ABNORMAL
    if state == "abnormal":
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.ABNORMAL,
            provider_refund_id=provider_refund_id,
            failure=failure[:200],
            abnormal_at=now,
        )
        logger.error(
            "refund %s of payment %s is abnormal at %s: the money is still owed and HQ must resolve it",
            refund.out_refund_no,
            payment.public_id,
            payment.provider,
        )
        return RefundStatus.ABNORMAL
    if state != "succeeded":
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.FAILED, failure=failure[:200])
        Payment.objects.filter(pk=payment.pk).update(
            refunded_amount=F("refunded_amount") - refund.amount, updated_at=now
        )
        logger.error("refund %s failed: %s", refund.out_refund_no, failure)
        return RefundStatus.FAILED
    Refund.objects.filter(pk=refund.pk).update(
        status=RefundStatus.SUCCEEDED,
        provider_refund_id=provider_refund_id,
        failure="",
        succeeded_at=now,
        **resolved,
    )
    refunded = (
        Refund.objects.filter(payment=payment, status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))[
            "total"
        ]
        or 0
    )
    status = PaymentStatus.REFUNDED if refunded >= payment.amount else PaymentStatus.PARTIALLY_REFUNDED
    Payment.objects.filter(pk=payment.pk).update(status=status, updated_at=now)
    if refund.refund_request_id is not None:
        order_services.order_refund_recorded(
            order_id=payment.order_id, refund_request_id=refund.refund_request_id, amount=refund.amount
        )
    return RefundStatus.SUCCEEDED


def refund_reconcile(*, refund_id: int, now: dt.datetime | None = None) -> str:
    """Asks the provider about a refund left pending or abnormal and records its answer
    (`refund_settle`). A pending refund the provider never received is sent again, with the same
    `out_refund_no` (the provider refunds one number once). Returns the refund's status."""
    refund = Refund.objects.select_related("payment__order").get(pk=refund_id)
    if refund.status not in (RefundStatus.PENDING, RefundStatus.ABNORMAL) or _returned_to_merchant(refund):
        return refund.status
    adapter = provider_for_payment(refund.payment)
    # Stamped before asking: a provider that cannot answer is asked again after the interval.
    Refund.objects.filter(pk=refund.pk).update(checked_at=now or _now())
    result = adapter.refund_query(refund)
    if result.state == "not_found":
        if refund.status == RefundStatus.PENDING:
            logger.warning("refund %s is unknown to %s: sending it again", refund.out_refund_no, adapter.name)
            return refund_send(refund_id=refund.pk)
        logger.warning("abnormal refund %s is unknown to %s", refund.out_refund_no, adapter.name)
        return refund.status
    if result.state == "abnormal" and refund.status == RefundStatus.ABNORMAL:
        return RefundStatus.ABNORMAL  # still waiting for HQ: nothing to lock or write
    if result.state == "pending" and refund.status == RefundStatus.PENDING:
        if result.provider_refund_id and not refund.provider_refund_id:
            Refund.objects.filter(pk=refund.pk).update(provider_refund_id=result.provider_refund_id[:64])
        return RefundStatus.PENDING
    return refund_settle(
        refund_id=refund.pk,
        state=result.state,
        provider_refund_id=result.provider_refund_id,
        failure=result.failure,
    )


# --- HQ: abnormal refunds ------------------------------------------------------------------------

RESOLVE_METHODS = tuple(RefundResolution.values)
_BANK_TYPE = re.compile(r"[A-Z][A-Z0-9_]{1,15}")
_BANK_ACCOUNT = re.compile(r"\d{10,32}")


def refund_abnormal_resolve(
    *, actor: Actor, refund_id, method: str, note: str = "", bank_card: BankCard | None = None
) -> Refund:
    """HQ settles an abnormal refund (`payments.manage`, the refund's merchant):
    - `user_bank_card` (WeChat Pay): WeChat pays the money to a debit card the customer named
      (`bank_card`, sent encrypted, never kept); the refund is pending again and settles as any
      refund does (or turns abnormal again);
    - `merchant_bank_card` (WeChat Pay): WeChat returns the money to the merchant's settlement
      bank account. The customer is still owed it, so the refund stays abnormal, marked returned,
      until HQ pays the customer and records it `offline`;
    - `offline`: HQ paid the customer another way (`note` says how): the refund succeeds, the
      amount stays refunded and the order's refund request is recorded.
    `404 not_found` (no such refund in scope), `409 refund_not_abnormal`, `409
    refund_returned_to_merchant` (only `offline` is left), `409 refund_paid_out_by_provider` (asked
    before `offline`: the provider paid the customer after all), `422 validation_error` (method, note,
    card), `409 refund_resolve_unsupported` (the provider has no such way), `409
    refund_resolve_refused` (the provider said no), `502 payment_provider_error`."""
    actor.require("payments.manage")
    refund = _refund_for_actor(actor, refund_id)
    note = _resolve_input(method, (note or "").strip(), bank_card)
    if refund.status != RefundStatus.ABNORMAL:
        raise Conflict(f"This refund is {refund.status}, not abnormal.", code="refund_not_abnormal")
    if refund.resolution == RefundResolution.MERCHANT_BANK_CARD and method != RefundResolution.OFFLINE:
        if method == RefundResolution.MERCHANT_BANK_CARD:
            return refund  # asked already: WeChat has returned (or is returning) the money
        raise Conflict(
            "The money went back to the merchant's account; pay the customer and record it offline.",
            code="refund_returned_to_merchant",
        )
    result = None
    if method == RefundResolution.OFFLINE:
        _check_not_paid_out(refund)
    else:
        result = _abnormal_apply(refund, method, bank_card)
    with transaction.atomic():
        order = _lock_order(refund.payment.order_id)
        payment = _lock_payment(refund.payment_id, order)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        resolved = {
            "resolution": method,
            "resolution_note": note,
            "resolved_by_id": actor.staff_id,
            "resolved_at": _now(),
        }
        if locked.status != RefundStatus.ABNORMAL:
            if method == RefundResolution.OFFLINE:
                raise Conflict(f"This refund is {locked.status}, not abnormal.", code="refund_not_abnormal")
            # The provider took HQ's request while its own word moved the refund on: what HQ asked
            # for is still recorded.
            Refund.objects.filter(pk=locked.pk).update(**resolved)
        elif method == RefundResolution.OFFLINE:
            _refund_apply(locked, payment, state="succeeded", **resolved)
        else:
            Refund.objects.filter(pk=locked.pk).update(**resolved)
            locked.resolution = method
            if method == RefundResolution.USER_BANK_CARD and result.state != "abnormal":
                _refund_apply(
                    locked,
                    payment,
                    state=result.state,
                    provider_refund_id=result.provider_refund_id,
                    failure=result.failure,
                )
    logger.info("abnormal refund %s resolved by HQ: %s", refund.out_refund_no, method)
    return Refund.objects.select_related("payment__order__store").get(pk=refund.pk)


def _check_not_paid_out(refund: Refund) -> None:
    """Before HQ records paying the customer another way: the provider is asked whether it paid the
    refund out meanwhile (the merchant may have acted in the provider's own console), so the
    customer is not paid twice. Its answer is recorded; `409 refund_paid_out_by_provider` when it
    paid or is paying the customer."""
    try:
        result = provider_for_payment(refund.payment).refund_query(refund)
    except ProviderError as exc:
        logger.warning("abnormal refund %s could not be checked: %s", refund.out_refund_no, exc)
        raise DomainError(
            "The payment provider cannot be reached; try again.", code="payment_provider_error", status=502
        ) from None
    if result.state in ("succeeded", "pending", "returned"):
        refund_settle(
            refund_id=refund.pk,
            state=result.state,
            provider_refund_id=result.provider_refund_id,
            failure=result.failure,
        )
    if result.state in ("succeeded", "pending"):
        raise Conflict(
            "The payment provider has paid this refund to the customer (or is paying it): "
            "there is nothing to pay offline.",
            code="refund_paid_out_by_provider",
        )


def _resolve_input(method: str, note: str, bank_card: BankCard | None) -> str:
    """Checks what HQ sent to resolve a refund; the note, stripped. Never echoes the card."""
    errors = []
    if method not in RESOLVE_METHODS:
        errors.append({"loc": ["body", "method"], "msg": "not a supported method"})
    if len(note) > RESOLUTION_NOTE_MAX_LENGTH:
        errors.append({"loc": ["body", "note"], "msg": f"at most {RESOLUTION_NOTE_MAX_LENGTH} characters"})
    if method == RefundResolution.OFFLINE and not note:
        errors.append({"loc": ["body", "note"], "msg": "say how the customer was paid"})
    if method == RefundResolution.USER_BANK_CARD:
        card = bank_card or BankCard("", "", "")
        if not _BANK_TYPE.fullmatch(card.bank_type):
            errors.append({"loc": ["body", "bank_type"], "msg": "a WeChat Pay bank code, e.g. ICBC_DEBIT"})
        if not _BANK_ACCOUNT.fullmatch(card.bank_account):
            errors.append({"loc": ["body", "bank_account"], "msg": "10 to 32 digits"})
        if not 1 <= len(card.real_name.strip()) <= 50:
            errors.append({"loc": ["body", "real_name"], "msg": "the card holder's name"})
    if errors:
        raise ValidationFailed("The resolution is not valid.", errors=errors)
    return note


def _refund_for_actor(actor: Actor, refund_id) -> Refund:
    refund = refunds_for_hq(actor=actor).filter(pk=parse_pk(refund_id, what="refund")).first()
    if refund is None:
        raise NotFound("No such refund.")
    return refund


def _abnormal_apply(refund: Refund, method: str, bank_card: BankCard | None):
    """Asks the provider to pay out `refund` by `method` (outside any lock); its RefundResult."""
    adapter = provider_for_payment(refund.payment)
    try:
        return adapter.refund_abnormal_apply(refund, method=method, bank_card=bank_card)
    except AbnormalRefundUnsupported:
        raise Conflict(
            f"{refund.payment.provider} cannot settle an abnormal refund by {method}.",
            code="refund_resolve_unsupported",
        ) from None
    except AbnormalRefundRefused as exc:
        logger.warning(
            "%s refused to settle abnormal refund %s: %s", adapter.name, refund.out_refund_no, exc.code
        )
        raise Conflict(f"The payment provider refused: {exc.code}.", code="refund_resolve_refused") from None
    except ProviderError as exc:
        logger.warning("abnormal refund %s could not be sent: %s", refund.out_refund_no, exc)
        raise DomainError(
            "The payment provider cannot be reached; try again.", code="payment_provider_error", status=502
        ) from None


# --- reconciliation ------------------------------------------------------------------------------


def payment_reconcile(*, payment_id: int) -> str:
    """Asks the provider about one open payment and settles it: paid → recorded like a notification
    (refunded when the order is cancelled); not paid → closed at the provider and here. Returns
    `paid`, `paid_after_cancel`, `already_paid`, `closed`, `failed`, `pending` (the customer is still
    paying) or `skipped`."""
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    if payment.status not in OPEN_STATUSES:
        return "skipped"
    adapter = provider_for_payment(payment)
    result = adapter.query(payment)
    if result.state == "paying":
        return "pending"
    if result.state == "pending":
        try:
            with transaction.atomic():
                order = _lock_order(payment.order_id)
                locked = _lock_payment(payment.pk, order)
                if locked.status not in OPEN_STATUSES:
                    return "skipped"
                adapter.close(locked)
                Payment.objects.filter(pk=locked.pk).update(
                    status=PaymentStatus.CLOSED,
                    provider_data=locked.provider_data,
                    closed_at=_now(),
                    updated_at=_now(),
                )
                return "closed"
        except ProviderError:
            result = adapter.query(payment)  # paid between the query and the close
            if result.state != "paid":
                return "pending"
    if result.state in ("closed", "failed"):
        status = PaymentStatus.CLOSED if result.state == "closed" else PaymentStatus.FAILED
        Payment.objects.filter(pk=payment.pk, status__in=OPEN_STATUSES).update(
            status=status, closed_at=_now(), updated_at=_now()
        )
        return result.state
    with transaction.atomic():
        order = _lock_order(payment.order_id)
        locked = _lock_payment(payment.pk, order)
        return _settle_paid(
            locked,
            amount=result.amount,
            transaction_id=result.transaction_id,
            paid_at=result.paid_at or _now(),
        )


# A pending refund is asked about once it is this old, and again at this interval; an abnormal one
# (waiting for the merchant, who may settle it in the provider's own console) less often.
REFUND_CHECK_AFTER = dt.timedelta(minutes=10)
ABNORMAL_CHECK_AFTER = dt.timedelta(minutes=30)


def _refunds_due(now: dt.datetime, limit: int) -> list[int]:
    pending = Refund.objects.filter(
        Q(checked_at__isnull=True) | Q(checked_at__lt=now - REFUND_CHECK_AFTER),
        status=RefundStatus.PENDING,
        created_at__lt=now - REFUND_CHECK_AFTER,
    )
    abnormal = Refund.objects.filter(
        Q(checked_at__isnull=True) | Q(checked_at__lt=now - ABNORMAL_CHECK_AFTER),
        status=RefundStatus.ABNORMAL,
    ).exclude(resolution=RefundResolution.MERCHANT_BANK_CARD)
    ids = list(pending.order_by("id").values_list("pk", flat=True)[:limit])
    ids += abnormal.order_by("id").values_list("pk", flat=True)[: max(0, limit - len(ids))]
    return ids


def payments_reconcile_pending(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Settles open payments whose order's payment deadline has passed (lost callbacks, abandoned
    payments), and asks the provider about refunds left pending for 10 minutes and abnormal ones
    (`refund_reconcile`: settled from the answer; sent again only when the provider never got
    them). Returns how many payments were looked at; one failure does not stop the rest."""
    now = now or _now()
    for pk in _refunds_due(now, limit):
        try:
            refund_reconcile(refund_id=pk, now=now)
        except Exception:
            logger.exception("reconciling refund %s failed; the next run retries", pk)
    ids = list(
        Payment.objects.filter(status__in=OPEN_STATUSES, order__pay_deadline__lt=now)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        try:
            payment_reconcile(payment_id=pk)
        except (DomainError, ProviderError):
            logger.exception("reconciling payment %s failed; the next run retries", pk)
    return len(ids)
