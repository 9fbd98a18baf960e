"""The store's order queue: scoped to the caller's stores (no IDOR), filters, the live `since`
parameter, cursors, and a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mendian.orders.models import Order, OrderEvent
from tests.checkout.conftest import pickup_body
from tests.factories import StoreFactory
from tests.orders.conftest import pay, place

STAFF = "/api/staff/v1/orders"


@pytest.fixture
def elsewhere(merchant, water, give):
    store = StoreFactory(merchant=merchant, code="wc002", name="武昌店")
    give(store, water, 10)
    return store


@pytest.fixture
def two_stores(member, stocked, elsewhere, water):
    here = place(member, pickup_body(stocked, (water, 1)))
    there = place(member, pickup_body(elsewhere, (water, 1)))
    pay(here["id"])
    pay(there["id"])
    return here, there


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_a_clerk_sees_only_their_store(clerk_api, two_stores):
    here, there = two_stores
    assert ids(clerk_api.get(STAFF)) == [here["id"]]


def test_a_clerk_of_another_store_gets_404_for_everything(make_staff_api, two_stores, elsewhere):
    here, _ = two_stores
    stranger = make_staff_api(role="store_manager", store=elsewhere, username="wc_manager")
    before = OrderEvent.objects.count()

    for action in ("accept", "ready", "dispatch", "deliver", "cancel"):
        response = stranger.post(f"{STAFF}/{here['id']}/{action}")
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), action
    assert stranger.get(f"{STAFF}/{here['id']}").status_code == 404
    assert Order.objects.get(pk=here["id"]).status == "paid"
    assert OrderEvent.objects.count() == before


def test_another_merchants_hq_sees_nothing(make_staff_api, other_merchant, two_stores):
    rival = make_staff_api(role="merchant_admin", merchant=other_merchant, store=None, username="rival")
    here, _ = two_stores
    assert ids(rival.get(STAFF)) == []
    assert rival.get(f"{STAFF}/{here['id']}").status_code == 404
    assert rival.post(f"{STAFF}/{here['id']}/accept").status_code == 404
    assert Order.objects.get(pk=here["id"]).status == "paid"


def test_hq_sees_every_store_and_filters_by_store_and_status(
    hq_api, two_stores, elsewhere, member, stocked, water
):
    here, there = two_stores
    unpaid = place(member, pickup_body(stocked, (water, 1)))

    assert ids(hq_api.get(STAFF)) == [unpaid["id"], there["id"], here["id"]]
    assert ids(hq_api.get(STAFF, {"store_id": str(elsewhere.pk)})) == [there["id"]]
    assert ids(hq_api.get(STAFF, {"status": "pending_payment"})) == [unpaid["id"]]
    assert ids(hq_api.get(STAFF, {"status": "paid,pending_payment", "store_id": str(stocked.pk)})) == [
        unpaid["id"],
        here["id"],
    ]
    bad = hq_api.get(STAFF, {"status": "shipped"})
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")


def test_a_clerk_naming_another_store_is_404(clerk_api, two_stores, elsewhere):
    response = clerk_api.get(STAFF, {"store_id": str(elsewhere.pk)})
    assert response.status_code == 404


def test_since_returns_only_what_changed(clerk_api, two_stores):
    here, _ = two_stores
    mark = timezone.now()
    assert ids(clerk_api.get(STAFF, {"since": mark.isoformat()})) == []

    clerk_api.post(f"{STAFF}/{here['id']}/accept")

    changed = clerk_api.get(STAFF, {"since": mark.isoformat()}).json()["items"]
    assert [(o["id"], o["status"]) for o in changed] == [(here["id"], "preparing")]
    assert ids(clerk_api.get(STAFF, {"since": (mark - dt.timedelta(days=1)).isoformat()})) == [here["id"]]


def test_cursor_pages_newest_first(clerk_api, member, stocked, water):
    placed = [place(member, pickup_body(stocked, (water, 1)))["id"] for _ in range(5)]

    first = clerk_api.get(STAFF, {"limit": 2}).json()
    second = clerk_api.get(STAFF, {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = clerk_api.get(STAFF, {"limit": 2, "cursor": second["next_cursor"]}).json()

    assert [o["id"] for o in first["items"] + second["items"] + third["items"]] == placed[::-1]
    assert third["next_cursor"] is None
    assert clerk_api.get(STAFF, {"cursor": "forged"}).status_code == 422


def test_the_queue_costs_the_same_for_1_or_20_orders(
    clerk_api, member, stocked, water, cola, django_assert_max_num_queries
):
    pay(place(member, pickup_body(stocked, (water, 1)))["id"])
    with CaptureQueriesContext(connection) as one:
        assert clerk_api.get(STAFF).status_code == 200
    first = len(one)
    for _ in range(19):
        pay(place(member, pickup_body(stocked, (water, 1), (cola, 1)))["id"])

    with django_assert_max_num_queries(first):
        assert len(clerk_api.get(STAFF).json()["items"]) == 20
    assert first <= 8


def test_staff_replies_carry_no_pickup_code_and_no_full_phone(clerk_api, two_stores):
    here, _ = two_stores
    order = Order.objects.get(pk=here["id"])
    body = clerk_api.get(f"{STAFF}/{here['id']}").text
    assert order.pickup_code not in body
    assert "13812345678" not in body
    assert "138****5678" in body


def test_staff_endpoints_need_staff(member, api, two_stores):
    here, _ = two_stores
    assert member.get(STAFF).status_code == 401
    assert api.post(f"{STAFF}/{here['id']}/accept").status_code == 401
    assert Order.objects.get(pk=here["id"]).status == "paid"
