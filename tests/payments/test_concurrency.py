"""Real concurrency on PostgreSQL (reliability.md 3 and 12): threads, each with its own connection.
Skipped on SQLite, which serialises writers."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from mendian.core.errors import DomainError
from mendian.integrations.models import OutboxEvent
from mendian.orders.models import Order, OrderEvent
from mendian.payments import services
from mendian.payments.models import Payment, PaymentNotification, Refund
from tests.payments.conftest import gateway_pays, notify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (set DATABASE_URL)")


def race(count: int, work) -> list:
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


def test_a_notification_storm_changes_things_once(placed, payment):
    headers, body = gateway_pays(payment)
    replies = race(20, lambda i: notify(headers, body).status_code)
    assert replies == [204] * 20
    assert notify(headers, body).status_code == 204  # and a late replay
    order = Order.objects.get(pk=placed["id"])
    assert (order.status, order.paid_amount) == ("paid", 1150)
    assert PaymentNotification.objects.count() == 1
    assert OrderEvent.objects.filter(order=order, status="paid").count() == 1
    assert OutboxEvent.objects.filter(event_type="order.paid").count() == 1
    assert Payment.objects.get(pk=payment.pk).status == "paid"


def test_concurrent_refunds_never_exceed_the_payment(placed, payment):
    assert Client().post(f"/sandbox-pay/{payment.public_id}/confirm").status_code == 200
    order = Order.objects.get(pk=placed["id"])
    assert order.payment_id == payment.public_id

    def refund(i):
        try:
            services.refund_start(order=order, amount=300, refund_request_id=None, reason="race")
            return "ok"
        except DomainError as exc:
            return exc.code

    results = race(10, refund)
    assert results.count("ok") == 3  # 3 × 300 ≤ 1150 < 4 × 300
    assert results.count("refund_exceeds_paid") == 7
    assert Payment.objects.get(pk=payment.pk).refunded_amount == 900
    assert sum(Refund.objects.values_list("amount", flat=True)) == 900
    assert Refund.objects.filter(status="succeeded").count() == 3  # sent after each commit (eager)


def test_paying_on_the_sandbox_page_many_times_at_once_settles_once(placed, payment):
    replies = race(10, lambda i: Client().post(f"/sandbox-pay/{payment.public_id}/confirm").status_code)
    assert replies == [200] * 10
    order = Order.objects.get(pk=placed["id"])
    assert (order.status, order.paid_amount, order.payment_id) == ("paid", 1150, payment.public_id)
    payment.refresh_from_db()
    assert payment.status == "paid"
    # One gateway trade, one notification recorded, one transition and one event.
    notification = PaymentNotification.objects.get()
    assert notification.notification_id == "evt_" + payment.provider_data["gateway"]["transaction_id"]
    assert notification.outcome == "paid"
    assert payment.provider_transaction_id == payment.provider_data["gateway"]["transaction_id"]
    assert OrderEvent.objects.filter(order=order, status="paid").count() == 1
    assert OutboxEvent.objects.filter(event_type="order.paid").count() == 1
