"""POST /api/v1/orders: what an order holds, its stock reservation, the idempotency key, refusals
that leave nothing behind, and the query budget."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from mendian.checkout.models import CartLine
from mendian.core.models import IdempotencyRecord
from mendian.inventory.models import Reservation, StockMovement
from mendian.orders.models import Order, OrderEvent, OrderLine
from tests.checkout.conftest import level, pickup_body
from tests.factories import ProductFactory, SkuFactory
from tests.orders.conftest import place

ORDERS = "/api/v1/orders"


def nothing_written():
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        OrderEvent.objects.count(),
        Reservation.objects.count(),
    )


def test_placing_an_order_reserves_its_stock_until_the_payment_deadline(member, stocked, water, cola):
    before = timezone.now()

    order = place(member, pickup_body(stocked, (water, 2), (cola, 1)))

    assert order["status"] == "pending_payment"
    assert order["total"] == {"amount": 1150, "currency": "CNY"}
    assert re.fullmatch(r"\d{14}", order["number"])
    deadline = dt.datetime.fromisoformat(order["pay_deadline"])
    assert before + dt.timedelta(minutes=15) <= deadline <= timezone.now() + dt.timedelta(minutes=15)
    assert order["fulfilment"]["type"] == "pickup"
    assert order["pickup_code"] is None
    assert order["events"] == [{"status": "pending_payment", "at": order["events"][0]["at"]}]
    assert level(stocked, water) == (20, 2) and level(stocked, cola) == (20, 1)
    deadline = Order.objects.get(pk=order["id"]).pay_deadline
    reservations = Reservation.objects.filter(reference=order["number"]).order_by("sku_id")
    assert [(r.sku_id, r.quantity, r.status, r.expires_at) for r in reservations] == [
        (water.pk, 2, "active", deadline),
        (cola.pk, 1, "active", deadline),
    ]


def test_lines_are_a_snapshot(member, stocked, water):
    order = place(member, pickup_body(stocked, (water, 3)))
    water.price = 999
    water.specs = {"规格": "1L"}
    water.save()
    water.product.name = "新名字"
    water.product.save()

    (line,) = member.get(f"{ORDERS}/{order['id']}").json()["lines"]

    assert (
        line["name"],
        line["specs"],
        line["unit_price"]["amount"],
        line["quantity"],
        line["line_total"]["amount"],
    ) == (
        "矿泉水",
        {"规格": "550ml"},
        300,
        3,
        900,
    )
    stored = OrderLine.objects.get()
    assert (stored.sku_code, stored.discount_allocated, stored.allocations) == ("WATER", 0, [])


def test_the_pay_deadline_follows_the_merchant_setting(member, stocked, water, merchant):
    merchant.settings = {"order_pay_timeout_minutes": 5}
    merchant.save()
    order = Order.objects.get(pk=place(member, pickup_body(stocked, (water, 1)))["id"])
    assert order.pay_deadline - order.created_at < dt.timedelta(minutes=5, seconds=1)
    assert order.pay_deadline - order.created_at > dt.timedelta(minutes=4, seconds=58)


def test_ordered_skus_leave_the_cart(member, stocked, water, cola):
    member.put("/api/v1/cart", {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 2})
    member.put("/api/v1/cart", {"store_id": str(stocked.pk), "sku_id": str(cola.pk), "quantity": 1})

    place(member, pickup_body(stocked, (water, 2)))

    assert list(CartLine.objects.values_list("sku_id", flat=True)) == [cola.pk]


def test_order_numbers_are_unique_and_differ(member, stocked, water):
    numbers = {place(member, pickup_body(stocked, (water, 1)))["number"] for _ in range(5)}
    assert len(numbers) == 5


def test_out_of_stock_names_the_sku_and_leaves_nothing(member, stocked, water, cola):
    response = member.post(ORDERS, pickup_body(stocked, (water, 2), (cola, 21)))

    assert response.status_code == 409
    assert response.json()["code"] == "out_of_stock"
    assert "COLA" in response.json()["detail"]
    assert nothing_written() == (0, 0, 0, 0)
    assert level(stocked, water) == (20, 0)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"status": "paused"}, 409, "store_closed"),
        ({"pickup_enabled": False}, 422, "pickup_unavailable"),
        ({"status": "closed"}, 404, "not_found"),
    ],
)
def test_refused_orders_leave_nothing(member, stocked, water, change, status, code):
    for key, value in change.items():
        setattr(stocked, key, value)
    stocked.save()

    response = member.post(ORDERS, pickup_body(stocked, (water, 1)))

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert nothing_written() == (0, 0, 0, 0)
    assert StockMovement.objects.filter(type="reserve").count() == 0


@pytest.mark.parametrize("quantity", [0, -3, 100, 10**12, 1.5, "one"])
def test_bad_quantities_are_422(member, stocked, water, quantity):
    response = member.post(ORDERS, pickup_body(stocked, (water, quantity)))
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert nothing_written() == (0, 0, 0, 0)


def test_unknown_sku_is_404(member, stocked, rival_sku):
    response = member.post(ORDERS, pickup_body(stocked, (rival_sku, 1)))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert nothing_written() == (0, 0, 0, 0)


def test_mass_assignment_is_refused(member, stocked, water):
    for extra in ({"status": "paid"}, {"total": {"amount": 1, "currency": "CNY"}}, {"merchant_id": 1}):
        response = member.post(ORDERS, {**pickup_body(stocked, (water, 1)), **extra})
        assert response.status_code == 422
    assert nothing_written() == (0, 0, 0, 0)


def test_orders_need_a_member(api, stocked, water):
    response = api.post(ORDERS, pickup_body(stocked, (water, 1)), headers={"Idempotency-Key": "k"})
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert IdempotencyRecord.objects.count() == 0
    assert nothing_written() == (0, 0, 0, 0)


# --- Idempotency-Key -----------------------------------------------------------------------------


def test_a_repeat_with_the_same_key_and_body_replays_the_first_reply(member, stocked, water):
    body = pickup_body(stocked, (water, 2))

    first = member.post(ORDERS, body, headers={"Idempotency-Key": "order-1"})
    again = member.post(ORDERS, body, headers={"Idempotency-Key": "order-1"})

    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert level(stocked, water) == (20, 2)


def test_the_same_key_with_another_body_is_409_and_runs_nothing(member, stocked, water):
    member.post(ORDERS, pickup_body(stocked, (water, 2)), headers={"Idempotency-Key": "order-1"})

    reused = member.post(ORDERS, pickup_body(stocked, (water, 3)), headers={"Idempotency-Key": "order-1"})

    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    assert Order.objects.count() == 1
    assert level(stocked, water) == (20, 2)


def test_keys_of_different_members_never_collide(member, other_member, stocked, water):
    body = pickup_body(stocked, (water, 1))
    mine = member.post(ORDERS, body, headers={"Idempotency-Key": "same"})
    theirs = other_member.post(ORDERS, body, headers={"Idempotency-Key": "same"})

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert Order.objects.count() == 2


def test_a_refusal_is_replayed_too(member, stocked, water):
    body = pickup_body(stocked, (water, 50))
    first = member.post(ORDERS, body, headers={"Idempotency-Key": "big"})
    second = member.post(ORDERS, body, headers={"Idempotency-Key": "big"})
    assert first.status_code == second.status_code == 409
    assert first.content == second.content


# --- queries -------------------------------------------------------------------------------------


def test_a_five_line_order_takes_at_most_16_queries(
    member, store, merchant, give, django_assert_max_num_queries
):
    """Within the issue's budget of 25 (test_query_count.py): token, store with its hours, SKUs,
    then order, lines, event, reservation (its savepoint, lock, update, ledger, alerts) and cart."""
    skus = [SkuFactory(product=ProductFactory(merchant=merchant)) for _ in range(5)]
    for sku in skus:
        give(store, sku, 10)
    body = pickup_body(store, *[(sku, 2) for sku in skus])

    with django_assert_max_num_queries(16):
        response = member.post(ORDERS, body)

    assert response.status_code == 201
    assert len(response.json()["lines"]) == 5


def test_with_an_idempotency_key_the_claim_adds_four(
    member, store, merchant, give, django_assert_max_num_queries
):
    skus = [SkuFactory(product=ProductFactory(merchant=merchant)) for _ in range(5)]
    for sku in skus:
        give(store, sku, 10)

    with django_assert_max_num_queries(20):
        response = member.post(
            ORDERS, pickup_body(store, *[(sku, 2) for sku in skus]), headers={"Idempotency-Key": "q"}
        )

    assert response.status_code == 201
