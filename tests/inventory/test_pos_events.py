"""POS events (open-API shape): idempotent by event_id, counts as of occurred_at, no clamping."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from mendian.core.errors import Conflict, ValidationFailed
from mendian.inventory import services
from mendian.inventory.models import StockMovement
from tests.inventory.conftest import level, movements

pytestmark = pytest.mark.django_db


def _event(event_id, type_, quantity, *, at=None, **extra):
    body = {
        "event_id": event_id,
        "store_code": "jh001",
        "sku_code": "WATER-500",
        "type": type_,
        "quantity": quantity,
        "occurred_at": (at or timezone.now()).isoformat(),
    }
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def test_each_type_moves_on_hand_the_right_way(store, sku, merchant):
    for event_id, type_, quantity, expected in [
        ("r1", "receive", 10, 10),
        ("s1", "sale", 3, 7),
        ("t1", "return", 1, 8),
        ("o1", "transfer_out", 2, 6),
        ("i1", "transfer_in", 5, 11),
    ]:
        assert (
            services.stock_apply_pos_event(merchant=merchant, event=_event(event_id, type_, quantity))
            == "accepted"
        )
        assert level(store, sku) == (expected, 0)
    assert movements(source="pos") == [
        ("receive", 10, 0),
        ("sale", -3, 0),
        ("return", 1, 0),
        ("transfer_out", -2, 0),
        ("transfer_in", 5, 0),
    ]


def test_a_repeated_event_id_is_a_duplicate_and_changes_nothing(store, sku, merchant):
    event = _event("evt-1", "receive", 4)
    assert services.stock_apply_pos_event(merchant=merchant, event=event) == "accepted"
    assert services.stock_apply_pos_event(merchant=merchant, event=event) == "duplicate"
    # Same id, other content: still the same event, still nothing.
    assert services.stock_apply_pos_event(merchant=merchant, event=_event("evt-1", "sale", 1)) == "duplicate"
    assert level(store, sku) == (4, 0)
    assert StockMovement.objects.filter(source_id="evt-1").count() == 1


def test_barcode_names_the_sku(store, sku2, merchant):
    event = _event("b1", "receive", 2, sku_code=None, barcode="6901234567892")
    assert "sku_code" not in event
    assert services.stock_apply_pos_event(merchant=merchant, event=event) == "accepted"
    assert level(store, sku2) == (2, 0)


def test_a_sale_below_zero_is_rejected_not_clamped(store, sku, merchant, give):
    give(store, sku, 2)
    with pytest.raises(Conflict) as exc:
        services.stock_apply_pos_event(merchant=merchant, event=_event("s9", "sale", 3))
    assert exc.value.code == "insufficient_stock"
    assert "WATER-500" in exc.value.detail
    assert level(store, sku) == (2, 0)
    assert not StockMovement.objects.filter(source="pos").exists()
    # Not recorded, so the POS may send it again once stock is there.
    give(store, sku, 5)
    assert services.stock_apply_pos_event(merchant=merchant, event=_event("s9", "sale", 3)) == "accepted"
    assert level(store, sku) == (4, 0)


def test_a_sale_may_not_eat_reserved_units(store, sku, merchant, give):
    give(store, sku, 3)
    services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O1")
    with pytest.raises(Conflict):
        services.stock_apply_pos_event(merchant=merchant, event=_event("s1", "sale", 2))
    assert level(store, sku) == (3, 2)


def test_count_sets_on_hand_as_of_occurred_at(store, sku, merchant, give):
    give(store, sku, 10)
    counted_at = timezone.now()
    # Recorded after the count but happened later: applies on top.
    services.stock_apply_pos_event(
        merchant=merchant, event=_event("s1", "sale", 2, at=counted_at + dt.timedelta(seconds=1))
    )
    assert (
        services.stock_apply_pos_event(merchant=merchant, event=_event("c1", "count", 6, at=counted_at))
        == "accepted"
    )
    assert level(store, sku) == (4, 0)
    count = StockMovement.objects.get(source_id="c1")
    assert (count.type, count.delta_on_hand, count.occurred_at) == ("count", -4, counted_at)

    # An older count arriving after a newer one changes nothing (recorded, zero delta).
    stale = _event("c0", "count", 50, at=counted_at - dt.timedelta(hours=1))
    assert services.stock_apply_pos_event(merchant=merchant, event=stale) == "accepted"
    assert level(store, sku) == (4, 0)
    assert StockMovement.objects.get(source_id="c0").delta_on_hand == 0


def test_count_of_zero_and_of_a_new_level(store, sku, sku2, merchant, give):
    give(store, sku, 3)
    services.stock_apply_pos_event(merchant=merchant, event=_event("c1", "count", 0))
    services.stock_apply_pos_event(merchant=merchant, event=_event("c2", "count", 7, sku_code="COLA-330"))
    assert level(store, sku) == (0, 0)
    assert level(store, sku2) == (7, 0)


def test_count_below_reserved_is_rejected(store, sku, merchant, give):
    give(store, sku, 5)
    services.stock_reserve(store=store, lines=[(sku.pk, 3)], reference="O2")
    with pytest.raises(Conflict) as exc:
        services.stock_apply_pos_event(merchant=merchant, event=_event("c1", "count", 2))
    assert exc.value.code == "insufficient_stock"
    assert level(store, sku) == (5, 3)


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"store_code": "nope"}, "unknown_store"),
        ({"store_code": "rv001"}, "unknown_store"),
        ({"sku_code": "NOPE"}, "unknown_sku"),
        ({"sku_code": "RIVAL-1"}, "unknown_sku"),
        ({"sku_code": None, "barcode": "0000000000000"}, "unknown_sku"),
        ({"quantity": 0}, "invalid_quantity"),
        ({"quantity": -3}, "invalid_quantity"),
        ({"quantity": 1.5}, "invalid_quantity"),
        ({"quantity": "2"}, "invalid_quantity"),
        ({"quantity": True}, "invalid_quantity"),
        ({"quantity": 1_000_001}, "invalid_quantity"),
        ({"type": "theft"}, "invalid_event"),
        ({"type": "reserve"}, "invalid_event"),
        ({"event_id": ""}, "invalid_event"),
        ({"event_id": 12}, "invalid_event"),
        ({"event_id": "x" * 129}, "invalid_event"),
        ({"occurred_at": "yesterday"}, "invalid_event"),
        ({"occurred_at": "2026-01-01T10:00:00"}, "invalid_event"),
        ({"occurred_at": "2999-01-01T10:00:00+08:00"}, "invalid_event"),
        ({"sku_code": None}, "invalid_event"),
        ({"sku_code": "WATER-500", "barcode": "6901234567892"}, "invalid_event"),
    ],
)
def test_invalid_events_are_refused_with_their_code(
    store, sku, sku2, rival_store, rival_sku, merchant, event, code
):
    raw = _event("bad", "receive", 1)
    raw.update(event)
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(ValidationFailed) as exc:
        services.stock_apply_pos_event(merchant=merchant, event=raw)
    assert exc.value.code == code
    assert not StockMovement.objects.exists()


def test_a_non_object_event_is_invalid(merchant):
    with pytest.raises(ValidationFailed) as exc:
        services.stock_apply_pos_event(merchant=merchant, event=["not", "an", "object"])
    assert exc.value.code == "invalid_event"


def test_a_batch_reports_each_event_in_order(store, sku, merchant, give):
    give(store, sku, 1)
    events = [
        _event("a", "receive", 5),
        _event("b", "sale", 100),
        _event("a", "receive", 5),
        _event("c", "sale", 2, store_code="nope"),
        "garbage",
        _event("d", "sale", 6),
        _event("d", "sale", 6),
    ]
    results = services.stock_apply_pos_events(merchant=merchant, events=events)
    assert [(r["event_id"], r["status"], r.get("code")) for r in results] == [
        ("a", "accepted", None),
        ("b", "rejected", "insufficient_stock"),
        ("a", "duplicate", None),
        ("c", "rejected", "unknown_store"),
        (None, "rejected", "invalid_event"),
        ("d", "accepted", None),
        ("d", "duplicate", None),
    ]
    assert all(isinstance(r["detail"], str) and r["detail"] for r in results if r["status"] == "rejected")
    assert level(store, sku) == (0, 0)


def _mixed_batch(size):
    stores, codes = ("jh001", "wc002"), ("WATER-500", "COLA-330")
    events, expected = [], {}
    for i in range(size):
        where = (stores[i % 2], codes[i // 2 % 2])
        kind, quantity = ("sale", 1) if i % 8 == 0 and i else ("receive", 5)
        events.append(_event(f"e{i}", kind, quantity, store_code=where[0], sku_code=where[1]))
        expected[where] = expected.get(where, 0) + (-quantity if kind == "sale" else quantity)
    return events, expected


def test_a_batch_costs_a_fixed_number_of_queries(
    store, other_store, sku, sku2, merchant, django_assert_num_queries
):
    events, expected = _mixed_batch(40)
    # stores, SKUs, savepoint, missing levels, lock the levels, ids already recorded, one update of
    # all levels, one insert of all movements, fresh levels and open alerts for alerting, the sold
    # out or restocked variants' products, their shelf rows (lock, update), release.
    with django_assert_num_queries(14 if connection.features.has_select_for_update else 13):
        results = services.stock_apply_pos_events(merchant=merchant, events=events)
    assert {r["status"] for r in results} == {"accepted"}
    assert level(store, sku) == (expected[("jh001", "WATER-500")], 0)
    assert level(other_store, sku2) == (expected[("wc002", "COLA-330")], 0)
    assert StockMovement.objects.count() == 40


def test_a_large_batch_does_not_query_per_event(
    store, other_store, sku, sku2, merchant, django_assert_max_num_queries
):
    events, expected = _mixed_batch(1000)
    # Only SQLite's bind-parameter limit splits the two bulk statements (into chunks of ~70 rows).
    with django_assert_max_num_queries(14 + 2 * 1000 // 60):
        results = services.stock_apply_pos_events(merchant=merchant, events=events)
    assert {r["status"] for r in results} == {"accepted"}
    assert level(store, sku) == (expected[("jh001", "WATER-500")], 0)
    assert StockMovement.objects.count() == 1000


def test_too_large_a_batch_is_refused(merchant):
    with pytest.raises(ValidationFailed) as exc:
        services.stock_apply_pos_events(merchant=merchant, events=[{}] * 1001)
    assert exc.value.code == "too_many_events"
