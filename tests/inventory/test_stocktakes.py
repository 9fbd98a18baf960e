"""Stocktakes: counts are as of the sheet's `counted_at`; later movements apply on top."""

import datetime as dt

import pytest
from django.utils import timezone

from mendian.core.errors import Conflict, Forbidden, NotFound
from mendian.core.scope import Actor, Role
from mendian.inventory import services
from mendian.inventory.models import StockMovement, Stocktake, StocktakeLine
from tests.inventory.conftest import level, movements

pytestmark = pytest.mark.django_db
URL = "/api/staff/v1/stocktakes"


def _manager(store):
    return Actor(role=Role.STORE_MANAGER, merchant_id=store.merchant_id, store_id=store.pk)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def test_commit_sets_on_hand_as_of_counted_at_with_later_movements_on_top(store, sku, sku2, give):
    give(store, sku, 20)
    give(store, sku2, 5)
    actor = _manager(store)
    stocktake = services.stocktake_start(actor=actor, store=store)
    assert list(stocktake.lines.values_list("sku_id", "expected")) == [(sku.pk, 20), (sku2.pk, 5)]

    # After T: 3 sold by the POS and 4 received; both happened after the shelf was counted.
    services.stock_apply_pos_event(
        merchant=store.merchant,
        event={
            "event_id": "e1",
            "store_code": "jh001",
            "sku_code": "WATER-500",
            "type": "sale",
            "quantity": 3,
            "occurred_at": _iso(timezone.now()),
        },
    )
    services.stock_adjust(actor=actor, store=store, sku=sku, delta=4, reason="found")
    services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O1")
    assert level(store, sku) == (21, 2)

    services.stocktake_record_counts(actor=actor, stocktake=stocktake, counts=[(sku.pk, 17), (sku2.pk, 5)])
    services.stocktake_commit(actor=actor, stocktake=stocktake)

    # counted 17 at T, then -3 +4 after T: 18 on hand now (not 17, and not 21).
    assert level(store, sku) == (18, 2)
    assert level(store, sku2) == (5, 0)
    lines = {line.sku_id: line for line in StocktakeLine.objects.filter(stocktake=stocktake)}
    assert (lines[sku.pk].delta, lines[sku.pk].outcome) == (-3, "applied")
    assert (lines[sku2.pk].delta, lines[sku2.pk].outcome) == (0, "unchanged")
    counts = StockMovement.objects.filter(type="count").order_by("sku_id")
    assert [(m.sku_id, m.delta_on_hand, m.occurred_at, m.reference) for m in counts] == [
        (sku.pk, -3, stocktake.counted_at, f"ST{stocktake.pk}"),
        (sku2.pk, 0, stocktake.counted_at, f"ST{stocktake.pk}"),
    ]
    stocktake.refresh_from_db()
    assert stocktake.status == "committed"


def test_a_sale_reported_late_but_made_before_counted_at_is_not_applied_twice(store, sku, give):
    give(store, sku, 10)
    actor = _manager(store)
    stocktake = services.stocktake_start(actor=actor, store=store, sku_ids=[sku.pk])
    before_count = stocktake.counted_at - dt.timedelta(minutes=5)
    services.stock_apply_pos_event(
        merchant=store.merchant,
        event={
            "event_id": "late",
            "store_code": "jh001",
            "sku_code": "WATER-500",
            "type": "sale",
            "quantity": 2,
            "occurred_at": _iso(before_count),
        },
    )
    services.stocktake_record_counts(actor=actor, stocktake=stocktake, counts=[(sku.pk, 8)])
    services.stocktake_commit(actor=actor, stocktake=stocktake)
    # The shelf already lacked those 2 when counted: 8, not 6.
    assert level(store, sku) == (8, 0)


def test_uncounted_lines_are_left_alone_and_a_newer_count_supersedes(store, sku, sku2, give):
    give(store, sku, 10)
    give(store, sku2, 10)
    actor = _manager(store)
    older = services.stocktake_start(actor=actor, store=store)
    newer = services.stocktake_start(actor=actor, store=store, sku_ids=[sku.pk])
    services.stocktake_record_counts(actor=actor, stocktake=newer, counts=[(sku.pk, 7)])
    services.stocktake_commit(actor=actor, stocktake=newer)
    assert level(store, sku) == (7, 0)

    services.stocktake_record_counts(actor=actor, stocktake=older, counts=[(sku.pk, 9)])
    services.stocktake_commit(actor=actor, stocktake=older)
    assert level(store, sku) == (7, 0)
    assert level(store, sku2) == (10, 0)
    outcomes = dict(StocktakeLine.objects.filter(stocktake=older).values_list("sku_id", "outcome"))
    assert outcomes == {sku.pk: "superseded", sku2.pk: "not_counted"}


def test_counts_may_add_skus_not_on_the_sheet(store, sku, sku2, give):
    give(store, sku, 3)
    actor = _manager(store)
    stocktake = services.stocktake_start(actor=actor, store=store)
    assert stocktake.lines.count() == 1
    services.stocktake_record_counts(actor=actor, stocktake=stocktake, counts=[(sku2.pk, 4)])
    services.stocktake_commit(actor=actor, stocktake=stocktake)
    assert level(store, sku2) == (4, 0)
    assert level(store, sku) == (3, 0)


def test_a_count_below_the_reserved_units_is_refused_whole(store, sku, sku2, give):
    give(store, sku, 5)
    give(store, sku2, 5)
    services.stock_reserve(store=store, lines=[(sku.pk, 4)], reference="O2")
    actor = _manager(store)
    stocktake = services.stocktake_start(actor=actor, store=store)
    services.stocktake_record_counts(actor=actor, stocktake=stocktake, counts=[(sku.pk, 3), (sku2.pk, 1)])
    before = movements()
    with pytest.raises(Conflict) as exc:
        services.stocktake_commit(actor=actor, stocktake=stocktake)
    assert exc.value.code == "insufficient_stock"
    assert "WATER-500" in exc.value.detail
    assert movements() == before
    assert level(store, sku2) == (5, 0)
    assert Stocktake.objects.get(pk=stocktake.pk).status == "open"


def test_committed_or_cancelled_sheets_take_no_more_changes(store, sku, give):
    give(store, sku, 5)
    actor = _manager(store)
    stocktake = services.stocktake_start(actor=actor, store=store)
    services.stocktake_cancel(actor=actor, stocktake=stocktake)
    for call in (
        lambda: services.stocktake_commit(actor=actor, stocktake=stocktake),
        lambda: services.stocktake_record_counts(actor=actor, stocktake=stocktake, counts=[(sku.pk, 1)]),
        lambda: services.stocktake_cancel(actor=actor, stocktake=stocktake),
    ):
        with pytest.raises(Conflict) as exc:
            call()
        assert exc.value.code == "invalid_state_transition"
    assert level(store, sku) == (5, 0)


def test_clerks_cannot_stocktake_and_other_stores_are_not_found(store, other_store, sku, give):
    give(store, sku, 5)
    clerk = Actor(role=Role.STORE_CLERK, merchant_id=store.merchant_id, store_id=store.pk)
    with pytest.raises(Forbidden):
        services.stocktake_start(actor=clerk, store=store)
    with pytest.raises(NotFound):
        services.stocktake_start(actor=_manager(other_store), store=store)
    assert not Stocktake.objects.exists()


# --- API -------------------------------------------------------------------------------------


def test_the_stocktake_flow_over_the_api(manager_api, store, sku, give):
    give(store, sku, 6)
    response = manager_api.post(URL, {"note": "月末盘点"})
    assert response.status_code == 201, response.content
    body = response.json()
    stocktake_id = body["id"]
    assert body["status"] == "open"
    assert body["store_id"] == str(store.pk)
    assert body["reference"] == f"ST{stocktake_id}"
    assert body["lines"] == [
        {
            "sku_id": str(sku.pk),
            "sku_code": "WATER-500",
            "product_name": "矿泉水",
            "expected": 6,
            "counted": None,
            "delta": None,
            "outcome": "",
        }
    ]

    response = manager_api.put(
        f"{URL}/{stocktake_id}/counts", {"counts": [{"sku_id": str(sku.pk), "counted": 4}]}
    )
    assert response.status_code == 200, response.content
    assert response.json()["lines"][0]["counted"] == 4

    response = manager_api.post(f"{URL}/{stocktake_id}/commit")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "committed"
    assert body["lines"][0]["delta"] == -2
    assert body["lines"][0]["outcome"] == "applied"
    assert level(store, sku) == (4, 0)

    response = manager_api.post(f"{URL}/{stocktake_id}/commit")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state_transition"

    listing = manager_api.get(URL).json()
    assert [item["id"] for item in listing["items"]] == [stocktake_id]
    assert manager_api.get(f"{URL}/{stocktake_id}").json()["status"] == "committed"


def test_clerk_stocktake_is_403_and_changes_nothing(clerk_api, store, sku, give):
    give(store, sku, 6)
    response = clerk_api.post(URL, {})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Stocktake.objects.exists()


def test_clerk_cannot_count_or_commit_a_managers_sheet(clerk_api, store, sku, give):
    give(store, sku, 6)
    stocktake = services.stocktake_start(actor=_manager(store), store=store)
    response = clerk_api.put(
        f"{URL}/{stocktake.pk}/counts", {"counts": [{"sku_id": str(sku.pk), "counted": 0}]}
    )
    assert response.status_code == 403
    response = clerk_api.post(f"{URL}/{stocktake.pk}/commit")
    assert response.status_code == 403
    assert StocktakeLine.objects.get().counted is None
    assert level(store, sku) == (6, 0)


def test_another_stores_sheet_is_404(make_staff_api, store, other_store, sku, give):
    give(store, sku, 6)
    stocktake = services.stocktake_start(actor=_manager(store), store=store)
    services.stocktake_record_counts(actor=_manager(store), stocktake=stocktake, counts=[(sku.pk, 1)])
    other_manager = make_staff_api(role=Role.STORE_MANAGER, store=other_store, username="wc_manager")
    for method, path, body in (
        ("get", f"{URL}/{stocktake.pk}", None),
        ("put", f"{URL}/{stocktake.pk}/counts", {"counts": [{"sku_id": str(sku.pk), "counted": 0}]}),
        ("post", f"{URL}/{stocktake.pk}/commit", None),
        ("post", f"{URL}/{stocktake.pk}/cancel", None),
        ("get", f"{URL}/abc", None),
    ):
        response = getattr(other_manager, method)(path, body)
        assert response.status_code == 404, (method, path)
    assert level(store, sku) == (6, 0)
    assert Stocktake.objects.get().status == "open"


@pytest.mark.parametrize(
    "body",
    [
        {"counts": []},
        {"counts": [{"sku_id": "1", "counted": -1}]},
        {"counts": [{"sku_id": "1", "counted": 1.5}]},
        {"counts": [{"sku_id": "1", "counted": 1, "expected": 3}]},
        {"counts": [{"sku_id": "1", "counted": 1}, {"sku_id": "1", "counted": 2}]},
    ],
)
def test_bad_counts_are_422(manager_api, store, sku, give, body):
    give(store, sku, 6)
    stocktake = services.stocktake_start(actor=_manager(store), store=store)
    for count in body["counts"]:
        count["sku_id"] = str(sku.pk)
    response = manager_api.put(f"{URL}/{stocktake.pk}/counts", body)
    assert response.status_code == 422, response.content
    assert StocktakeLine.objects.get().counted is None


def test_start_with_another_merchants_sku_is_404(manager_api, store, rival_sku):
    response = manager_api.post(URL, {"sku_ids": [str(rival_sku.pk)]})
    assert response.status_code == 404
    assert not Stocktake.objects.exists()


def test_cancel_over_the_api(manager_api, store, sku, give):
    give(store, sku, 6)
    stocktake = services.stocktake_start(actor=_manager(store), store=store)
    response = manager_api.post(f"{URL}/{stocktake.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert manager_api.post(f"{URL}/{stocktake.pk}/cancel").json()["code"] == "invalid_state_transition"
    assert manager_api.get(URL, {"status": "open"}).json()["items"] == []
    assert manager_api.get(URL, {"status": "nope"}).status_code == 422
    assert level(store, sku) == (6, 0)


def test_hq_names_the_store_of_a_stocktake(hq_api, store, rival_store, sku, give):
    give(store, sku, 6)
    assert hq_api.post(URL, {}).status_code == 422
    assert hq_api.post(URL, {"store_id": str(rival_store.pk)}).status_code == 404
    response = hq_api.post(URL, {"store_id": str(store.pk), "sku_ids": [str(sku.pk)]})
    assert response.status_code == 201
    assert [line["sku_code"] for line in response.json()["lines"]] == ["WATER-500"]
