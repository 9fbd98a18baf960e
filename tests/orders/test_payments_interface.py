"""What payments calls: `order_mark_paid`, `order_refund_recorded`."""

import datetime as dt

import pytest
from django.utils import timezone

from mendian.core.errors import Conflict, NotFound, ValidationFailed
from mendian.integrations.models import OutboxEvent
from mendian.orders import services
from mendian.orders.models import Order, OrderEvent
from mendian.orders.services import AlreadyPaid, Paid, PaidAfterCancel
from tests.checkout.conftest import pickup_body
from tests.orders.conftest import pay, place


def mark(order, **overrides):
    args = {
        "order_id": order.pk,
        "payment_id": "pay-1",
        "amount": order.total,
        "provider": "wechatpay",
        "paid_at": timezone.now(),
        **overrides,
    }
    return services.order_mark_paid(**args)


def test_paying_issues_a_pickup_code_and_emits_order_paid(placed):
    order = Order.objects.get(pk=placed["id"])
    paid_at = timezone.now()

    result = mark(order, paid_at=paid_at)

    assert isinstance(result, Paid)
    order.refresh_from_db()
    assert (order.status, order.paid_amount, order.payment_id, order.payment_provider, order.paid_at) == (
        "paid",
        1150,
        "pay-1",
        "wechatpay",
        paid_at,
    )
    assert len(order.pickup_code) == 8 and order.pickup_code.isdigit()
    event = OutboxEvent.objects.get(event_type="order.paid")
    assert event.payload["number"] == order.number and event.payload["total"] == {
        "amount": 1150,
        "currency": "CNY",
    }


def test_the_same_payment_again_changes_nothing(placed):
    order = Order.objects.get(pk=placed["id"])
    mark(order)
    code = Order.objects.get(pk=order.pk).pickup_code

    again = mark(order)

    assert isinstance(again, AlreadyPaid)
    assert Order.objects.get(pk=order.pk).pickup_code == code
    assert OrderEvent.objects.filter(order=order, status="paid").count() == 1
    assert OutboxEvent.objects.filter(event_type="order.paid").count() == 1


def test_a_second_payment_by_another_id_must_be_refunded(placed):
    order = Order.objects.get(pk=placed["id"])
    mark(order)

    other = mark(order, payment_id="pay-2")

    assert isinstance(other, PaidAfterCancel) and other.reason == "already_paid"
    assert Order.objects.get(pk=order.pk).payment_id == "pay-1"


def test_a_cancelled_order_is_never_resurrected(member, placed):
    member.post(f"/api/v1/orders/{placed['id']}/cancel")
    order = Order.objects.get(pk=placed["id"])

    result = mark(order)

    assert isinstance(result, PaidAfterCancel) and result.reason == "cancelled"
    order.refresh_from_db()
    assert (order.status, order.paid_amount, order.payment_id) == ("cancelled", 0, "")


def test_an_amount_mismatch_is_409_and_changes_nothing(placed):
    order = Order.objects.get(pk=placed["id"])

    with pytest.raises(Conflict) as exc:
        mark(order, amount=1149)

    assert exc.value.code == "amount_mismatch"
    assert Order.objects.get(pk=order.pk).status == "pending_payment"
    assert OutboxEvent.objects.count() == 0


@pytest.mark.parametrize(
    "overrides",
    [{"amount": "1150"}, {"payment_id": ""}, {"paid_at": dt.datetime(2026, 1, 1)}],  # noqa: DTZ001
)
def test_malformed_notifications_are_refused(placed, overrides):
    with pytest.raises(ValidationFailed):
        mark(Order.objects.get(pk=placed["id"]), **overrides)


def test_a_payment_after_the_stock_was_released_cancels_and_asks_for_a_refund(placed, stocked):
    from mendian.inventory.services import stock_release

    stock_release(reference=placed["number"])  # inventory's safety net got there first

    result = mark(Order.objects.get(pk=placed["id"]))

    assert isinstance(result, PaidAfterCancel) and result.reason == "stock_released"
    assert Order.objects.get(pk=placed["id"]).status == "cancelled"


def test_pickup_codes_are_unique_among_a_stores_live_orders(member, stocked, water, monkeypatch):
    first = place(member, pickup_body(stocked, (water, 1)))
    second = place(member, pickup_body(stocked, (water, 1)))
    codes = iter(["11112222", "11112222", "33334444"])
    monkeypatch.setattr(services, "_pickup_code", lambda: next(codes))

    pay(first["id"])
    pay(second["id"])

    assert Order.objects.get(pk=first["id"]).pickup_code == "11112222"
    assert Order.objects.get(pk=second["id"]).pickup_code == "33334444"


def test_refund_recorded_is_idempotent_and_checked(member, paid, refunds):
    member.post(f"/api/v1/orders/{paid.pk}/cancel")
    request_id = refunds[0]["refund_request_id"]

    with pytest.raises(Conflict) as exc:
        services.order_refund_recorded(order_id=paid.pk, refund_request_id=request_id, amount=1)
    assert exc.value.code == "amount_mismatch"
    services.order_refund_recorded(order_id=paid.pk, refund_request_id=request_id, amount=1150)
    services.order_refund_recorded(order_id=paid.pk, refund_request_id=request_id, amount=1150)

    assert OutboxEvent.objects.filter(event_type="order.refunded").count() == 1
    with pytest.raises(NotFound):
        services.order_refund_recorded(order_id=paid.pk, refund_request_id=999999, amount=1150)


def test_a_locked_order_that_is_not_the_named_one_is_refused(placed, member, stocked, water):
    order = Order.objects.get(pk=placed["id"])
    other = Order.objects.get(pk=place(member, pickup_body(stocked, (water, 1)))["id"])
    with pytest.raises(RuntimeError):
        mark(order, locked_order=other)
    assert Order.objects.get(pk=other.pk).status == "pending_payment"
    assert Order.objects.get(pk=order.pk).status == "pending_payment"
