import threading
from unittest import mock

import pytest
from django.db import connection, connections, transaction

from mendian.core.scope import Actor
from mendian.integrations import services
from mendian.integrations.events import ORDER_PAID, STOCK_LOW
from mendian.integrations.models import OutboxEvent, WebhookDelivery
from mendian.integrations.outbox import outbox_emit
from tests.factories import MerchantFactory


def _endpoint(merchant, url="http://127.0.0.1:9/hook", event_types=("*",), is_active=True):
    endpoint, _ = services.webhook_endpoint_create(
        actor=Actor.system(merchant.pk), url=url, event_types=list(event_types), is_active=is_active
    )
    return endpoint


@pytest.mark.django_db
def test_emit_inside_a_rolled_back_transaction_leaves_nothing(merchant):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        outbox_emit(merchant_id=merchant.pk, event_type=STOCK_LOW, payload={"sku_code": "A1"})
        raise Boom

    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused(merchant):
    with pytest.raises(RuntimeError, match="inside the business transaction"):
        outbox_emit(merchant_id=merchant.pk, event_type=STOCK_LOW, payload={})
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db
def test_unknown_event_types_are_a_programming_error(merchant):
    with pytest.raises(ValueError, match="unknown event type"):
        outbox_emit(merchant_id=merchant.pk, event_type="order.exploded", payload={})


@pytest.mark.django_db
def test_emit_records_the_event_and_its_aggregate(merchant, store):
    event = outbox_emit(
        merchant_id=merchant.pk,
        event_type=ORDER_PAID,
        payload={"number": "A001", "total": 1290},
        aggregate=store,
    )
    pair = outbox_emit(merchant_id=merchant.pk, event_type=ORDER_PAID, payload={}, aggregate=("order", 42))

    event.refresh_from_db()
    assert (event.aggregate_type, event.aggregate_id) == ("stores.store", str(store.pk))
    assert (pair.aggregate_type, pair.aggregate_id) == ("order", "42")
    assert event.payload == {"number": "A001", "total": 1290} and event.published_at is None


@pytest.mark.django_db
def test_dispatch_creates_one_delivery_per_subscribed_active_endpoint(merchant, other_merchant):
    everything = _endpoint(merchant)
    orders_only = _endpoint(merchant, event_types=[ORDER_PAID])
    _endpoint(merchant, is_active=False)
    rivals = _endpoint(other_merchant)
    paid = outbox_emit(merchant_id=merchant.pk, event_type=ORDER_PAID, payload={})
    low = outbox_emit(merchant_id=merchant.pk, event_type=STOCK_LOW, payload={})

    assert services.outbox_dispatch() == 2

    pairs = set(WebhookDelivery.objects.values_list("event_id", "endpoint_id"))
    assert pairs == {(paid.pk, everything.pk), (paid.pk, orders_only.pk), (low.pk, everything.pk)}
    assert not WebhookDelivery.objects.filter(endpoint=rivals).exists()
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}


@pytest.mark.django_db
def test_dispatch_twice_creates_deliveries_once(merchant):
    _endpoint(merchant)
    outbox_emit(merchant_id=merchant.pk, event_type=STOCK_LOW, payload={})

    assert services.outbox_dispatch() == 1
    assert services.outbox_dispatch() == 0
    # Even a re-run over the same event (as after a crash between insert and commit of the
    # marker elsewhere) cannot duplicate: deliveries are unique per (event, endpoint).
    OutboxEvent.objects.update(published_at=None)
    assert services.outbox_dispatch() == 1

    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
def test_a_dispatcher_killed_midway_loses_nothing(merchant):
    _endpoint(merchant)
    outbox_emit(merchant_id=merchant.pk, event_type=STOCK_LOW, payload={})

    # The worker dies after writing the deliveries, before marking the event and committing.
    real_bulk_create = WebhookDelivery.objects.bulk_create

    def write_then_die(*args, **kwargs):
        real_bulk_create(*args, **kwargs)
        raise SystemExit("worker killed")

    with (
        mock.patch.object(WebhookDelivery.objects, "bulk_create", side_effect=write_then_die),
        pytest.raises(SystemExit),
    ):
        services.outbox_dispatch()

    assert WebhookDelivery.objects.count() == 0
    assert OutboxEvent.objects.get().published_at is None
    assert services.outbox_dispatch() == 1
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_commit_kicks_the_dispatcher(merchant, receiver):
    _endpoint(merchant, url=receiver.url())

    with transaction.atomic():
        outbox_emit(merchant_id=merchant.pk, event_type=STOCK_LOW, payload={"sku_code": "A1"})

    # Eager Celery in tests: the on_commit kick dispatched, and the dispatcher's kick sent.
    delivery = WebhookDelivery.objects.get()
    assert OutboxEvent.objects.get().published_at is not None
    assert delivery.status == "delivered" and len(receiver.requests) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_create_each_delivery_exactly_once():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    merchants = [MerchantFactory(code=f"m{n}") for n in range(3)]
    for merchant in merchants:
        _endpoint(merchant)
        _endpoint(merchant, event_types=[STOCK_LOW])
    with mock.patch("mendian.integrations.outbox.kick_dispatcher"):
        for n in range(600):
            with transaction.atomic():
                outbox_emit(merchant_id=merchants[n % 3].pk, event_type=STOCK_LOW, payload={"n": n})
    published, errors = [], []
    barrier = threading.Barrier(6)

    def worker():
        try:
            barrier.wait()
            with mock.patch("mendian.integrations.services._kick_sender"):
                for _ in range(10):
                    published.append(services.outbox_dispatch(batch_size=50))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(published) == 600  # every event claimed by exactly one dispatcher
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0
    assert WebhookDelivery.objects.count() == 1200
    assert WebhookDelivery.objects.values("event_id", "endpoint_id").distinct().count() == 1200


@pytest.mark.django_db
def test_stock_low_has_one_documented_shape(merchant, store):
    from mendian.integrations.outbox import stock_low_emit

    event = stock_low_emit(
        merchant_id=merchant.pk,
        store_id=store.pk,
        store_code=store.code,
        sku_id=9,
        sku_code="COLA-330",
        available=2,
        threshold=5,
    )

    event.refresh_from_db()
    assert event.event_type == "stock.low"
    assert event.payload == {
        "store_id": str(store.pk),
        "store_code": "jh001",
        "sku_id": "9",
        "sku_code": "COLA-330",
        "available": 2,
        "threshold": 5,
    }
    assert (event.aggregate_type, event.aggregate_id) == ("stock_level", f"{store.pk}:9")


def test_kicks_are_debounced_across_processes_and_within_one(settings, monkeypatch):
    from django.core.cache import cache

    from mendian.integrations import outbox

    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete("mendian:outbox:kick")
    monkeypatch.setattr(outbox, "_kicked_at", -float("inf"))
    clock = iter([100.0, 100.4, 101.5])
    monkeypatch.setattr(outbox, "monotonic", lambda: next(clock))
    adds = []
    real_add = cache.add
    monkeypatch.setattr(cache, "add", lambda *a, **k: adds.append(a[0]) or real_add(*a, **k))
    with mock.patch("mendian.integrations.tasks.dispatch_outbox.delay") as delay:
        outbox.kick_dispatcher()  # kicks, and the shared key is set for a second
        outbox.kick_dispatcher()  # 0.4 s later: this process knows the key is still set
        assert (delay.call_count, len(adds)) == (1, 1)

        cache.delete("mendian:outbox:kick")  # the second has passed
        outbox.kick_dispatcher()
        assert (delay.call_count, len(adds)) == (2, 2)

        # Another process's kick holds the key: asked, refused, no dispatch.
        monkeypatch.setattr(outbox, "_kicked_at", -float("inf"))
        monkeypatch.setattr(outbox, "monotonic", lambda: 200.0)
        outbox.kick_dispatcher()
        assert (delay.call_count, len(adds)) == (2, 3)
