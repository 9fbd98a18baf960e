"""Real concurrency on PostgreSQL: threads, each with its own database connection, racing for the
same rows (reliability.md scenarios 1, 2, 8 and 12). Skipped on SQLite, which serialises writers."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.utils import timezone

from mendian.accounts.tokens import customer_tokens_issue
from mendian.checkout.selectors import CheckoutInput
from mendian.core.errors import DomainError
from mendian.core.scope import Actor
from mendian.inventory.models import Reservation, StockMovement
from mendian.inventory.selectors import stock_check
from mendian.orders import services
from mendian.orders.models import Order, OrderEvent, RefundRequest
from mendian.orders.services import Paid, PaidAfterCancel
from tests.checkout.conftest import level, pickup_body
from tests.conftest import ApiClient
from tests.factories import CustomerFactory, ProductFactory, SkuFactory
from tests.orders.conftest import pay, place

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def patient_pool():
    """200 threads share the process's connection pool (16 connections): waiting for one may take
    longer than the pool's 10 s on a slow machine, which would turn into 500s that measure the test
    machine, not the code. The pool is recreated with a longer wait for the test."""
    conn = connections["default"]
    options = conn.settings_dict.get("OPTIONS", {}).get("pool")
    if not isinstance(options, dict):
        yield
        return
    saved = dict(options)
    connections.close_all()
    conn.close_pool()
    options["timeout"] = 120
    yield
    connections.close_all()
    conn.close_pool()
    options.clear()
    options.update(saved)


def race(count: int, work) -> list:
    """Runs `work(i)` in `count` threads released together; returns what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait(timeout=60)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    return results


def outcome(result) -> str:
    if isinstance(result, DomainError):
        return result.code
    if isinstance(result, Exception):
        return f"{type(result).__name__}: {result}"
    return type(result).__name__


def test_200_members_racing_for_50_units_get_exactly_50_orders(stocked, merchant, give, patient_pool):
    scarce = SkuFactory(
        product=ProductFactory(merchant=merchant, name="限量款"), sku_code="LIMITED", price=100
    )
    give(stocked, scarce, 50)
    clients = [
        ApiClient(customer_tokens_issue(customer=CustomerFactory())["access_token"]) for _ in range(200)
    ]
    body = pickup_body(stocked, (scarce, 1))

    def buy(i):
        response = clients[i].post("/api/v1/orders", body, headers={"Idempotency-Key": f"buy-{i}"})
        return response.status_code, response.json().get("code")

    results = race(200, buy)

    assert Counter(results) == {(201, None): 50, (409, "out_of_stock"): 150}, Counter(map(str, results))
    assert level(stocked, scarce) == (50, 50)
    assert Order.objects.count() == 50
    assert Reservation.objects.filter(sku=scarce, status="active").count() == 50
    assert stock_check() == []


def test_multi_sku_orders_locking_in_opposite_orders_never_deadlock(stocked, water, cola):
    customers = [CustomerFactory() for _ in range(60)]

    def buy(i):
        lines = [(water.pk, 1), (cola.pk, 1)] if i % 2 else [(cola.pk, 1), (water.pk, 1)]
        return services.order_create(
            customer=customers[i],
            merchant=None,
            data=CheckoutInput(store_id=stocked.pk, lines=lines, fulfilment_type="pickup"),
        )

    results = race(60, buy)

    assert Counter(map(outcome, results)) == {"Order": 20, "out_of_stock": 40}
    assert level(stocked, water) == (20, 20) and level(stocked, cola) == (20, 20)
    per_order = Counter(Reservation.objects.values_list("reference", flat=True))
    assert set(per_order.values()) == {2} and len(per_order) == 20
    assert stock_check() == []


@pytest.fixture
def ready_order(member, stocked, water, merchant):
    order = place(member, pickup_body(stocked, (water, 2)))
    pay(order["id"])
    actor = Actor.system(merchant.pk)
    services.order_accept(actor=actor, order_id=order["id"])
    services.order_ready(actor=actor, order_id=order["id"])
    return Order.objects.get(pk=order["id"])


def test_a_pickup_code_verified_20_times_at_once_completes_once(ready_order, stocked, water, merchant):
    actor = Actor(role="store_clerk", merchant_id=merchant.pk, store_id=stocked.pk, label="counter")

    results = race(
        20, lambda i: services.pickup_verify(actor=actor, store=stocked, code=ready_order.pickup_code)
    )

    assert Counter(map(outcome, results)) == {"Order": 1, "pickup_code_invalid": 19}
    assert Order.objects.get(pk=ready_order.pk).status == "completed"
    assert OrderEvent.objects.filter(order=ready_order, status="completed").count() == 1
    assert level(stocked, water) == (18, 0)
    assert StockMovement.objects.filter(type="consume").count() == 1
    assert stock_check() == []


@pytest.fixture
def completed_order(ready_order, stocked, merchant):
    actor = Actor(role="store_clerk", merchant_id=merchant.pk, store_id=stocked.pk, label="counter")
    services.pickup_verify(actor=actor, store=stocked, code=ready_order.pickup_code)
    return Order.objects.get(pk=ready_order.pk)


def test_racing_approvals_of_one_refund_request_refund_once(
    completed_order, customer, merchant, stocked, refunds
):
    request = services.refund_request_create(
        customer=customer, order_id=completed_order.pk, lines=None, reason="坏了"
    )
    actors = [
        Actor.system(merchant.pk),
        Actor(role="store_manager", merchant_id=merchant.pk, store_id=stocked.pk),
    ]

    results = race(
        20,
        lambda i: services.refund_request_approve(actor=actors[i % 2], request_id=request.pk, restock=True),
    )

    assert Counter(map(outcome, results)) == {"RefundRequest": 1, "refund_request_not_pending": 19}
    assert Order.objects.get(pk=completed_order.pk).refunded_amount == completed_order.paid_amount
    assert len(refunds) == 1
    assert StockMovement.objects.filter(type="return").count() == 1
    assert stock_check() == []


def test_racing_refunds_never_exceed_what_was_paid(completed_order):
    from django.db import transaction

    def refund_100(i):
        with transaction.atomic():
            order = services._lock(completed_order.pk)
            services._refund_commit(order, 100)
        return "ok"

    results = race(20, refund_100)

    assert completed_order.paid_amount == 600
    assert Counter(map(outcome, results)) == {"str": 6, "refund_exceeds_paid": 14}
    assert Order.objects.get(pk=completed_order.pk).refunded_amount == 600


def test_paying_while_the_customer_cancels_never_keeps_money_without_an_order(
    member, stocked, water, customer, refunds
):
    orders = [place(member, pickup_body(stocked, (water, 1))) for _ in range(10)]

    def work(i):
        order = Order.objects.get(pk=orders[i // 2]["id"])
        if i % 2:
            return services.order_cancel_by_customer(customer=customer, order_id=order.pk)
        return services.order_mark_paid(
            order_id=order.pk,
            payment_id=f"p{order.pk}",
            amount=order.total,
            provider="sandbox",
            paid_at=timezone.now(),
        )

    results = race(20, work)

    for i in range(0, 20, 2):
        order = Order.objects.get(pk=orders[i // 2]["id"])
        paid_result = results[i]
        assert order.status == "cancelled"
        if isinstance(paid_result, Paid):
            # Paid first, cancelled after: refunded in full through payments.
            assert order.refunded_amount == order.paid_amount == order.total
            assert (
                RefundRequest.objects.filter(order=order, kind="cancellation", amount=order.total).count()
                == 1
            )
        else:
            assert isinstance(paid_result, PaidAfterCancel), paid_result
            assert order.paid_amount == 0
    assert len(refunds) == sum(isinstance(results[i], Paid) for i in range(0, 20, 2))
    assert level(stocked, water) == (20, 0)
    assert stock_check() == []
