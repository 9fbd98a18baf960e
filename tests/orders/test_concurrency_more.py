"""More real concurrency on PostgreSQL (reliability.md): payments racing the reservation sweep,
one refund restocked twice at once, a store's stock.low crossing raced by many checkouts, and a
dispatcher process killed with SIGKILL in the middle of its transaction. Skipped on SQLite."""

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from mendian.checkout.selectors import CheckoutInput
from mendian.core.scope import Actor
from mendian.integrations.events import STOCK_LOW
from mendian.integrations.models import OutboxEvent, WebhookDelivery
from mendian.inventory import services as stock
from mendian.inventory.models import Reservation, StockMovement
from mendian.inventory.selectors import stock_check
from mendian.orders import services
from mendian.orders.models import Order
from mendian.orders.services import Paid, PaidAfterCancel
from tests.checkout.conftest import level
from tests.factories import CustomerFactory, ProductFactory, SkuFactory
from tests.orders.test_concurrency import outcome, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (set DATABASE_URL)")


def test_payments_racing_the_expiry_sweep_never_keep_money_without_goods(stocked, water, merchant):
    customers = [CustomerFactory() for _ in range(10)]
    orders = [
        services.order_create(
            customer=customers[i],
            merchant=None,
            data=CheckoutInput(store_id=stocked.pk, lines=[(water.pk, 1)], fulfilment_type="pickup"),
        )
        for i in range(10)
    ]
    past_deadline = max(order.pay_deadline for order in orders) + timezone.timedelta(seconds=1)

    def work(i):
        if i >= 10:
            return stock.stock_release_expired(now=past_deadline)
        order = orders[i]
        return services.order_mark_paid(
            order_id=order.pk,
            payment_id=f"p{order.pk}",
            amount=order.total,
            provider="sandbox",
            paid_at=timezone.now(),
        )

    results = race(14, work)

    for order, result in zip(orders, results[:10], strict=True):
        states = set(Reservation.objects.filter(reference=order.number).values_list("status", flat=True))
        if isinstance(result, Paid):
            assert states == {"active"}, (order.number, states)  # the goods stay held for the customer
        else:
            assert isinstance(result, PaidAfterCancel) and result.reason == "stock_released", outcome(result)
            assert states == {"released"}
            assert Order.objects.get(pk=order.pk).status == "cancelled"
    held = sum(isinstance(result, Paid) for result in results[:10])
    assert level(stocked, water) == (20, held)
    assert stock_check() == []


def test_one_refund_restocked_by_many_workers_at_once_comes_back_once(stocked, water):
    results = race(
        12,
        lambda i: stock.stock_return(
            store=stocked, lines=[(water.pk, 3)], refund_request_id=77, reference="26120299999999"
        ),
    )

    assert Counter(results) == {1: 1, 0: 11}, Counter(map(str, results))
    assert level(stocked, water) == (23, 0)
    assert StockMovement.objects.filter(type="return", source="refund").count() == 1
    assert stock_check() == []


def test_checkouts_racing_across_the_low_stock_line_emit_one_stock_low(stocked, merchant, give):
    scarce = SkuFactory(product=ProductFactory(merchant=merchant, name="限量款"), sku_code="LOW-1", price=100)
    give(stocked, scarce, 30)
    stock.stock_thresholds_set(
        actor=Actor.system(merchant.pk),
        items=[{"store_id": stocked.pk, "sku_id": scarce.pk, "threshold": 10}],
    )

    results = race(
        25, lambda i: stock.stock_reserve(store=stocked, lines=[(scarce.pk, 1)], reference=f"LOW{i:04d}")
    )

    assert all(isinstance(result, list) for result in results), Counter(map(outcome, results))
    assert level(stocked, scarce) == (30, 25)
    events = OutboxEvent.objects.filter(event_type=STOCK_LOW, aggregate_id=f"{stocked.pk}:{scarce.pk}")
    assert events.count() == 1
    assert events.get().payload["available"] == 9
    assert stock_check() == []


DISPATCHER = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from mendian.integrations import services
    from mendian.integrations.models import WebhookDelivery

    real = WebhookDelivery.objects.bulk_create

    def write_then_hang(*args, **kwargs):
        created = real(*args, **kwargs)
        print("written", flush=True)
        time.sleep(600)  # killed here, inside the dispatch transaction
        return created

    WebhookDelivery.objects.bulk_create = write_then_hang
    services.outbox_dispatch()
    """
)


def test_a_dispatcher_process_killed_mid_transaction_loses_no_event(stocked, merchant, give):
    """A real worker process, SIGKILLed after writing the deliveries and before committing: the
    database rolls its transaction back, the events stay unpublished and the next run delivers
    each exactly once."""
    from mendian.integrations import services as integrations

    integrations.webhook_endpoint_create(
        actor=Actor.system(merchant.pk), url="http://127.0.0.1:9/hook", event_types=["*"]
    )
    sku = SkuFactory(product=ProductFactory(merchant=merchant, name="告急"), sku_code="KILL-1", price=100)
    give(stocked, sku, 1)  # below the default threshold: one stock.low event in the outbox
    OutboxEvent.objects.update(published_at=None)
    WebhookDelivery.objects.all().delete()
    pending = OutboxEvent.objects.filter(published_at__isnull=True).count()
    assert pending >= 1

    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", DISPATCHER],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=settings.REPO_DIR,
    )
    try:
        line = worker.stdout.readline()
        assert line.strip() == "written", worker.stderr.read()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()

    assert WebhookDelivery.objects.count() == 0
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == pending
    assert integrations.outbox_dispatch() == pending
    assert integrations.outbox_dispatch() == 0
    assert WebhookDelivery.objects.count() == pending
