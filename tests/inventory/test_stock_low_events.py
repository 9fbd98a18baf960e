"""`stock.low` webhook events: the inventory records one in the outbox, in the transaction of the
change, each time a level crosses below its low-stock threshold (once per crossing)."""

import pytest
from django.db import transaction

from mendian.core.scope import Actor
from mendian.integrations.events import STOCK_LOW
from mendian.integrations.models import OutboxEvent
from mendian.inventory import services
from mendian.inventory.models import StockAlert


def low_events() -> list[dict]:
    return list(
        OutboxEvent.objects.filter(event_type=STOCK_LOW)
        .order_by("pk")
        .values_list("merchant_id", "payload", "aggregate_type", "aggregate_id")
    )


def adjust(store, sku, delta):
    return services.stock_adjust(
        actor=Actor.system(store.merchant_id), store=store, sku=sku, delta=delta, reason="correction"
    )


@pytest.fixture
def stocked(store, sku, give):
    give(store, sku, 10)
    services.stock_thresholds_set(
        actor=Actor.system(store.merchant_id),
        items=[{"store_id": store.pk, "sku_id": sku.pk, "threshold": 5}],
    )
    return sku


def test_crossing_below_the_threshold_emits_one_event_with_the_documented_payload(store, merchant, stocked):
    adjust(store, stocked, -4)  # 6: not low yet
    assert low_events() == []

    adjust(store, stocked, -2)  # 4 < 5

    assert low_events() == [
        (
            merchant.pk,
            {
                "store_id": str(store.pk),
                "store_code": store.code,
                "sku_id": str(stocked.pk),
                "sku_code": stocked.sku_code,
                "available": 4,
                "threshold": 5,
            },
            "stock_level",
            f"{store.pk}:{stocked.pk}",
        )
    ]


def test_falling_further_while_low_emits_nothing_more(store, stocked):
    adjust(store, stocked, -6)
    adjust(store, stocked, -1)
    services.stock_reserve(store=store, lines=[(stocked.pk, 2)], reference="26120200000011")

    assert len(low_events()) == 1


def test_recovering_and_falling_again_is_a_new_crossing(store, stocked):
    adjust(store, stocked, -6)  # low
    adjust(store, stocked, 10)  # recovered: the alert resolves
    adjust(store, stocked, -12)  # low again

    assert [payload["available"] for _, payload, _, _ in low_events()] == [4, 2]
    assert StockAlert.objects.filter(store=store, sku=stocked, resolved_at__isnull=True).count() == 1


def test_a_checkout_reservation_that_crosses_emits_it(store, stocked):
    services.stock_reserve(store=store, lines=[(stocked.pk, 7)], reference="26120200000012")

    ((_, payload, _, _),) = low_events()
    assert payload["available"] == 3


def test_pos_sales_crossing_in_a_batch_emit_once_per_level(store, merchant, stocked, sku2, give):
    give(store, sku2, 3)  # below the built-in default threshold already: its alert is open
    events_before = len(low_events())
    sale = {
        "store_code": store.code,
        "type": "sale",
        "quantity": 3,
        "occurred_at": "2026-12-01T09:00:00+08:00",
    }
    results = services.stock_apply_pos_events(
        merchant=merchant,
        events=[
            {**sale, "event_id": "s1", "sku_code": stocked.sku_code},
            {**sale, "event_id": "s2", "sku_code": stocked.sku_code},
            {**sale, "event_id": "s3", "sku_code": sku2.sku_code},
        ],
    )

    assert [r["status"] for r in results] == ["accepted"] * 3
    new = low_events()[events_before:]
    assert [payload["sku_code"] for _, payload, _, _ in new] == [stocked.sku_code]


def test_the_event_rolls_back_with_a_refused_change(store, stocked):
    with pytest.raises(RuntimeError), transaction.atomic():
        adjust(store, stocked, -8)
        assert len(low_events()) == 1
        raise RuntimeError("the caller's transaction fails after the change")

    assert low_events() == []
    assert not StockAlert.objects.exists()


def test_a_raised_threshold_that_makes_a_level_low_emits_it(store, merchant, sku, give):
    give(store, sku, 20)
    assert low_events() == []

    services.stock_thresholds_set(
        actor=Actor.system(merchant.pk), items=[{"store_id": store.pk, "sku_id": sku.pk, "threshold": 25}]
    )

    ((_, payload, _, _),) = low_events()
    assert (payload["available"], payload["threshold"]) == (20, 25)


def test_subscribed_webhooks_get_a_delivery_of_it(store, merchant, stocked):
    from mendian.integrations import services as integrations
    from mendian.integrations.models import WebhookDelivery

    endpoint, _ = integrations.webhook_endpoint_create(
        actor=Actor.system(merchant.pk), url="http://127.0.0.1:9/hook", event_types=[STOCK_LOW]
    )

    adjust(store, stocked, -9)
    assert integrations.outbox_dispatch() == 1

    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint_id, delivery.event.event_type) == (endpoint.pk, STOCK_LOW)
