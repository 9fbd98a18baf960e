"""Every road an order takes through the stock, each ending with `mendian check-stock` clean:
reserved until the payment deadline, held once paid, released on cancellation or expiry, consumed
when the goods leave (pickup: at verification; delivery: at dispatch), returned with a refund."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from mendian.core.scope import Actor
from mendian.inventory.models import MovementSource, Reservation, StockMovement
from mendian.inventory.services import stock_release_expired
from mendian.orders import services
from mendian.orders.models import Order
from tests.checkout.conftest import level
from tests.orders.conftest import pay

STAFF = "/api/staff/v1"


def check_stock_clean():
    out = io.StringIO()
    call_command("check_stock", stdout=out)
    assert "consistent" in out.getvalue()


def reservation_states(order) -> set[tuple[str, bool]]:
    """{(status, has an expiry)} of the order's reservation lines."""
    return {
        (status, expires_at is not None)
        for status, expires_at in Reservation.objects.filter(reference=order.number).values_list(
            "status", "expires_at"
        )
    }


def test_an_order_reserves_until_its_payment_deadline(placed, stocked, water):
    order = Order.objects.get(pk=placed["id"])

    assert set(Reservation.objects.filter(reference=order.number).values_list("expires_at", flat=True)) == {
        order.pay_deadline
    }
    assert level(stocked, water) == (20, 2)
    check_stock_clean()


def test_paying_holds_the_goods_past_the_deadline(paid, stocked, water):
    assert reservation_states(paid) == {("active", False)}

    assert stock_release_expired(now=timezone.now() + dt.timedelta(days=2)) == 0
    assert level(stocked, water) == (20, 2)
    check_stock_clean()


def test_a_payment_after_the_sweep_released_the_goods_is_refused(placed, stocked, water):
    order = Order.objects.get(pk=placed["id"])
    stock_release_expired(now=order.pay_deadline + dt.timedelta(seconds=1))

    result = pay(order.pk)

    assert type(result) is services.PaidAfterCancel and result.reason == "stock_released"
    assert level(stocked, water) == (20, 0)
    check_stock_clean()


def test_cancelling_an_unpaid_order_releases_its_goods(member, placed, stocked, water, cola):
    assert member.post(f"/api/v1/orders/{placed['id']}/cancel", {"reason": "不要了"}).status_code == 200

    assert reservation_states(Order.objects.get(pk=placed["id"])) == {("released", True)}
    assert level(stocked, water) == (20, 0) and level(stocked, cola) == (20, 0)
    check_stock_clean()


def test_cancelling_a_paid_order_releases_its_goods(member, paid, stocked, water):
    assert member.post(f"/api/v1/orders/{paid.pk}/cancel", {"reason": "不要了"}).status_code == 200

    assert reservation_states(paid) == {("released", False)}
    assert level(stocked, water) == (20, 0)
    check_stock_clean()


def test_an_expired_order_releases_its_goods(placed, stocked, water):
    order = Order.objects.get(pk=placed["id"])

    assert services.orders_expire_due(now=order.pay_deadline + dt.timedelta(minutes=1)) == 1

    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert reservation_states(order) == {("released", True)}
    assert level(stocked, water) == (20, 0)
    check_stock_clean()


def test_a_pickup_order_consumes_its_goods_when_the_code_is_verified(clerk_api, paid, stocked, water):
    clerk_api.post(f"{STAFF}/orders/{paid.pk}/accept")
    clerk_api.post(f"{STAFF}/orders/{paid.pk}/ready")
    assert level(stocked, water) == (20, 2)  # ready, not yet collected: still on the shelf

    code = Order.objects.get(pk=paid.pk).pickup_code
    assert clerk_api.post(f"{STAFF}/pickups/verify", {"code": code}).status_code == 200

    assert reservation_states(paid) == {("consumed", False)}
    assert level(stocked, water) == (18, 0)
    check_stock_clean()


def test_a_delivery_order_consumes_its_goods_at_dispatch(delivered_order_placed, delivery_store, water):
    order_id = delivered_order_placed["id"]
    pay(order_id)
    actor = Actor.system(delivery_store.merchant_id)
    services.order_accept(actor=actor, order_id=order_id)
    assert level(delivery_store, water) == (30, 10)

    services.order_dispatch(actor=actor, order_id=order_id, courier="store")

    assert level(delivery_store, water) == (20, 0)
    services.order_deliver(actor=actor, order_id=order_id)
    assert level(delivery_store, water) == (20, 0)
    assert reservation_states(Order.objects.get(pk=order_id)) == {("consumed", False)}
    check_stock_clean()


@pytest.fixture
def collected(clerk_api, paid):
    clerk_api.post(f"{STAFF}/orders/{paid.pk}/accept")
    clerk_api.post(f"{STAFF}/orders/{paid.pk}/ready")
    code = Order.objects.get(pk=paid.pk).pickup_code
    assert clerk_api.post(f"{STAFF}/pickups/verify", {"code": code}).status_code == 200
    return paid


def test_a_refund_with_restock_returns_the_goods_from_the_refund_source(
    member, manager_api, collected, stocked, water, cola
):
    request = member.post(f"/api/v1/orders/{collected.pk}/refund-requests", {"reason": "不新鲜"}).json()
    rid = request["refund_requests"][0]["id"]

    approved = manager_api.post(f"{STAFF}/refund-requests/{rid}/approve", {"restock": True})

    assert approved.status_code == 200
    assert level(stocked, water) == (20, 0) and level(stocked, cola) == (20, 0)
    returns = StockMovement.objects.filter(type="return")
    assert set(returns.values_list("source", "reference")) == {(MovementSource.REFUND, collected.number)}
    assert sorted(returns.values_list("source_id", flat=True)) == sorted(
        [f"refund:{rid}:{water.pk}", f"refund:{rid}:{cola.pk}"]
    )
    assert not StockMovement.objects.filter(source=MovementSource.POS).exists()
    check_stock_clean()


def test_restocking_a_refund_twice_returns_the_goods_once(member, manager_api, collected, stocked, water):
    from mendian.orders.models import RefundRequest

    request = member.post(f"/api/v1/orders/{collected.pk}/refund-requests", {"reason": "坏了"}).json()
    rid = request["refund_requests"][0]["id"]
    manager_api.post(f"{STAFF}/refund-requests/{rid}/approve", {"restock": True})

    services._restock(collected, RefundRequest.objects.get(pk=rid))  # a retried task, say

    assert level(stocked, water) == (20, 0)
    assert StockMovement.objects.filter(type="return", sku=water).count() == 1
    check_stock_clean()
