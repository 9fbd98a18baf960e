"""Real concurrency on PostgreSQL (reliability.md scenarios 1 and 2): threads, each with its own
database connection, racing for the same rows. Skipped on SQLite, which serialises writers."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from mendian.core.errors import Conflict
from mendian.core.scope import Actor
from mendian.inventory import services
from mendian.inventory.models import Reservation, StockMovement
from mendian.inventory.selectors import stock_check
from tests.inventory.conftest import level

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (set DATABASE_URL)")


def _race(count: int, work) -> list:
    """Runs `work(i)` in `count` threads released together; returns what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    return results


def _outcomes(results) -> Counter:
    def name(result):
        if isinstance(result, Conflict):
            return result.code
        if isinstance(result, Exception):
            return f"{type(result).__name__}: {result}"
        return "ok"

    return Counter(name(result) for result in results)


def test_200_buyers_for_50_units_exactly_50_succeed(store, sku, give):
    give(store, sku, 50)

    results = _race(
        200, lambda i: services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference=f"O{i:03d}")
    )

    assert _outcomes(results) == {"ok": 50, "out_of_stock": 150}
    assert level(store, sku) == (50, 50)
    assert Reservation.objects.filter(status="active").count() == 50
    assert StockMovement.objects.filter(type="reserve").count() == 50
    assert stock_check() == []


def test_multi_sku_carts_in_opposite_orders_never_deadlock(store, sku, sku2, give):
    give(store, sku, 30)
    give(store, sku2, 30)

    def cart(i):
        lines = [(sku.pk, 1), (sku2.pk, 1)] if i % 2 else [(sku2.pk, 1), (sku.pk, 1)]
        return services.stock_reserve(store=store, lines=lines, reference=f"C{i:03d}")

    results = _race(60, cart)

    assert _outcomes(results) == {"ok": 30, "out_of_stock": 30}
    assert level(store, sku) == (30, 30)
    assert level(store, sku2) == (30, 30)
    # Every reference holds both lines or none: all accounted for.
    per_reference = Counter(Reservation.objects.values_list("reference", flat=True))
    assert set(per_reference.values()) == {2}
    assert len(per_reference) == 30
    assert stock_check() == []


def test_releasing_and_consuming_racing_orders_settle_each_exactly_once(store, sku, give):
    give(store, sku, 40)
    for i in range(20):
        services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference=f"R{i:02d}")

    def settle(i):
        reference = f"R{i // 2:02d}"
        if i % 2:
            return services.stock_release(reference=reference)
        return services.stock_consume(reference=reference)

    results = _race(40, settle)

    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    statuses = Counter(Reservation.objects.values_list("status", flat=True))
    assert sum(statuses.values()) == 20 and statuses["active"] == 0
    on_hand, reserved = level(store, sku)
    assert reserved == 0
    assert on_hand == 40 - 2 * statuses["consumed"]
    assert StockMovement.objects.filter(type__in=["release", "consume"]).count() == 20
    assert stock_check() == []


def test_a_pos_event_sent_20_times_at_once_counts_once(store, sku, merchant, give):
    give(store, sku, 5)
    event = {
        "event_id": "storm-1",
        "store_code": store.code,
        "sku_code": sku.sku_code,
        "type": "receive",
        "quantity": 7,
        "occurred_at": "2026-01-01T10:00:00+08:00",
    }

    results = _race(20, lambda i: services.stock_apply_pos_event(merchant=merchant, event=event))

    assert Counter(results) == {"accepted": 1, "duplicate": 19}
    assert level(store, sku) == (12, 0)
    assert StockMovement.objects.filter(source_id="storm-1").count() == 1
    assert stock_check() == []


def test_sales_and_adjustments_racing_never_go_negative(store, sku, merchant, give):
    give(store, sku, 25)

    def work(i):
        if i % 3 == 0:
            return services.stock_adjust(
                actor=Actor.system(merchant.pk),
                store=store,
                sku=sku,
                delta=-2,
                reason="damaged",
            )
        return services.stock_apply_pos_event(
            merchant=merchant,
            event={
                "event_id": f"s{i}",
                "store_code": store.code,
                "sku_code": sku.sku_code,
                "type": "sale",
                "quantity": 1,
                "occurred_at": "2026-01-01T10:00:00+08:00",
            },
        )

    results = _race(60, work)

    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    on_hand, _ = level(store, sku)
    assert on_hand >= 0
    sold = sum(1 for r in results if r == "accepted")
    adjusted = sum(1 for r in results if not isinstance(r, Exception) and r != "accepted")
    assert on_hand == 25 - sold - 2 * adjusted
    assert stock_check() == []


def test_overlapping_pos_batches_and_checkouts_neither_deadlock_nor_double_count(merchant, store, give):
    from tests.factories import ProductFactory, SkuFactory

    skus = [SkuFactory(product=ProductFactory(merchant=merchant), sku_code=f"P{i:02d}") for i in range(8)]
    for item in skus:
        give(store, item, 10)

    def batch(i):
        if i % 3 == 2:  # a checkout holding two SKUs, in descending order
            lines = [(skus[7 - i % 8].pk, 1), (skus[i % 8].pk, 1)]
            return services.stock_reserve(store=store, lines=lines, reference=f"CK{i}")
        # Batches touch the SKUs in opposite orders and share half their event ids with a neighbour.
        order = skus if i % 2 else list(reversed(skus))
        events = [
            {
                "event_id": f"ev-{(i // 2) * 8 + n}" if n % 2 else f"own-{i}-{n}",
                "store_code": store.code,
                "sku_code": item.sku_code,
                "type": "receive",
                "quantity": 1,
                "occurred_at": "2026-01-01T10:00:00+08:00",
            }
            for n, item in enumerate(order)
        ]
        return services.stock_apply_pos_events(merchant=merchant, events=events)

    results = _race(24, batch)

    failures = [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    assert failures == []
    pos_results = [
        r for outcome in results if isinstance(outcome, list) for r in outcome if isinstance(r, dict)
    ]
    accepted_ids = [r["event_id"] for r in pos_results if r["status"] == "accepted"]
    assert {r["status"] for r in pos_results} <= {"accepted", "duplicate"}
    assert len(accepted_ids) == len(set(accepted_ids))
    assert StockMovement.objects.filter(source="pos").count() == len(accepted_ids)
    assert stock_check() == []
