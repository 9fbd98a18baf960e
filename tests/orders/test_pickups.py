"""POST /api/staff/v1/pickups/verify (核销): only the store's staff, only ready orders, once; wrong
codes are rate limited."""

import pytest
from django.test import override_settings

from mendian.inventory.models import Reservation
from mendian.orders.models import Order
from tests.checkout.conftest import level, pickup_body
from tests.factories import StoreFactory
from tests.orders.conftest import pay, place

VERIFY = "/api/staff/v1/pickups/verify"


@pytest.fixture
def ready(clerk_api, paid):
    clerk_api.post(f"/api/staff/v1/orders/{paid.pk}/accept")
    clerk_api.post(f"/api/staff/v1/orders/{paid.pk}/ready")
    return Order.objects.get(pk=paid.pk)


def test_verifying_completes_the_order_once(clerk_api, ready, stocked, water):
    first = clerk_api.post(VERIFY, {"code": ready.pickup_code})
    second = clerk_api.post(VERIFY, {"code": ready.pickup_code})

    assert first.status_code == 200
    assert (first.json()["id"], first.json()["status"]) == (str(ready.pk), "completed")
    assert (second.status_code, second.json()["code"]) == (404, "pickup_code_invalid")
    assert level(stocked, water) == (18, 0)
    assert set(Reservation.objects.filter(reference=ready.number).values_list("status", flat=True)) == {
        "consumed"
    }


def test_spaces_in_a_typed_code_are_ignored(clerk_api, ready):
    code = ready.pickup_code
    assert clerk_api.post(VERIFY, {"code": f"{code[:4]} {code[4:]}"}).status_code == 200


def test_a_wrong_code_is_404(clerk_api, ready):
    wrong = "0" * 8 if ready.pickup_code != "0" * 8 else "1" * 8
    for code in (wrong, "abc", "1234"):
        response = clerk_api.post(VERIFY, {"code": code})
        assert (response.status_code, response.json()["code"]) == (404, "pickup_code_invalid")
    assert Order.objects.get(pk=ready.pk).status == "ready_for_pickup"


def test_another_stores_code_is_invalid_here(make_staff_api, ready, merchant):
    elsewhere = StoreFactory(merchant=merchant, code="far01")
    stranger = make_staff_api(role="store_clerk", store=elsewhere, username="stranger")

    response = stranger.post(VERIFY, {"code": ready.pickup_code})

    assert (response.status_code, response.json()["code"]) == (404, "pickup_code_invalid")
    assert Order.objects.get(pk=ready.pk).status == "ready_for_pickup"


def test_an_order_not_yet_ready_is_409(clerk_api, paid):
    response = clerk_api.post(VERIFY, {"code": paid.pickup_code})
    assert (response.status_code, response.json()["code"]) == (409, "order_not_ready")
    assert Order.objects.get(pk=paid.pk).status == "paid"


def test_hq_names_the_store(hq_api, ready, stocked):
    without = hq_api.post(VERIFY, {"code": ready.pickup_code})
    with_store = hq_api.post(VERIFY, {"code": ready.pickup_code, "store_id": str(stocked.pk)})

    assert without.status_code == 422
    assert with_store.json()["status"] == "completed"


def test_another_merchants_hq_cannot_verify(make_staff_api, other_merchant, ready, stocked):
    rival = make_staff_api(role="merchant_admin", merchant=other_merchant, store=None, username="rival_hq")
    response = rival.post(VERIFY, {"code": ready.pickup_code, "store_id": str(stocked.pk)})
    assert response.status_code == 404
    assert Order.objects.get(pk=ready.pk).status == "ready_for_pickup"


@override_settings(RATELIMIT_ENABLE=True)
def test_20_wrong_codes_a_minute_then_429_even_for_the_right_one(clerk_api, ready):
    wrong = "9" * 8 if ready.pickup_code != "9" * 8 else "8" * 8
    for _ in range(20):
        assert clerk_api.post(VERIFY, {"code": wrong}).status_code == 404

    blocked = clerk_api.post(VERIFY, {"code": ready.pickup_code})

    assert (blocked.status_code, blocked.json()["code"]) == (429, "rate_limited")
    assert "Retry-After" in blocked
    assert Order.objects.get(pk=ready.pk).status == "ready_for_pickup"


@override_settings(RATELIMIT_ENABLE=True)
def test_right_codes_do_not_count_against_the_limit(clerk_api, member, stocked, water, give):
    give(stocked, water, 5)
    orders = []
    for _ in range(21):
        order = place(member, pickup_body(stocked, (water, 1)))
        pay(order["id"])
        clerk_api.post(f"/api/staff/v1/orders/{order['id']}/accept")
        clerk_api.post(f"/api/staff/v1/orders/{order['id']}/ready")
        orders.append(Order.objects.get(pk=order["id"]))

    results = [clerk_api.post(VERIFY, {"code": order.pickup_code}).status_code for order in orders]

    assert results == [200] * 21


def test_verifying_needs_staff(member, api, ready):
    assert member.post(VERIFY, {"code": ready.pickup_code}).status_code == 401
    assert api.post(VERIFY, {"code": ready.pickup_code}).status_code == 401
    assert Order.objects.get(pk=ready.pk).status == "ready_for_pickup"
