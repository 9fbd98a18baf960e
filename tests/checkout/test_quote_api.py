"""POST /api/v1/checkout/quote: prices, every check an order must pass, and that a quote changes
nothing."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from mendian.catalog.models import StoreListing, StorePrice
from mendian.inventory.models import Reservation
from mendian.stores.models import SpecialDay
from tests.checkout.conftest import in_minutes, level, pickup_body
from tests.factories import StoreFactory

QUOTE = "/api/v1/checkout/quote"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def m(amount):
    return {"amount": amount, "currency": "CNY"}


def closed_now_hours(opens_in_minutes: int = 120, length_minutes: int = 120):
    """Weekly hours that open `opens_in_minutes` from now (store-local) for `length_minutes`."""
    start = (timezone.now().astimezone(SHANGHAI) + dt.timedelta(minutes=opens_in_minutes)).replace(
        second=0, microsecond=0
    )
    end = start + dt.timedelta(minutes=length_minutes)
    return [(day, start.time(), end.time()) for day in range(7)], start


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()
    return response.json()


def test_a_pickup_quote(member, stocked, water, cola):
    StorePrice.objects.create(store=stocked, sku=cola, price=500)

    response = member.post(QUOTE, pickup_body(stocked, (water, 2), (cola, 1)))

    assert response.status_code == 200
    body = response.json()
    assert body["store_id"] == str(stocked.pk)
    assert [
        (ln["sku_id"], ln["quantity"], ln["unit_price"], ln["line_total"], ln["discounts_allocated"])
        for ln in body["lines"]
    ] == [(str(water.pk), 2, m(300), m(600), m(0)), (str(cola.pk), 1, m(500), m(500), m(0))]
    assert body["lines"][0]["name"] == "矿泉水" and body["lines"][0]["specs"] == {"规格": "550ml"}
    assert body["subtotal"] == m(1100)
    assert body["discounts"] == []
    assert body["delivery_fee"] == m(0)
    assert body["points_used"] == 0
    assert body["total"] == m(1100)
    assert body["fulfilment"] == {
        "type": "pickup",
        "pickup_at": None,
        "contact": {"name": "", "phone_masked": "138****5678"},
        "address": None,
        "distance_m": None,
    }


def test_a_quote_reserves_nothing(member, stocked, water):
    member.post(QUOTE, pickup_body(stocked, (water, 5)))

    assert level(stocked, water) == (20, 0)
    assert Reservation.objects.count() == 0


def test_repeated_lines_are_added_up(member, stocked, water):
    body = pickup_body(stocked, (water, 2), (water, 3))
    reply = member.post(QUOTE, body).json()
    assert [(ln["sku_id"], ln["quantity"]) for ln in reply["lines"]] == [(str(water.pk), 5)]


@pytest.mark.parametrize("quantity", [0, -1, 100, 2.5, "1"])
def test_bad_quantities_are_422(member, stocked, water, quantity):
    response = member.post(QUOTE, pickup_body(stocked, (water, quantity)))
    problem(response, 422, "validation_error")


def test_more_than_99_of_a_sku_in_repeated_lines_is_422(member, stocked, water):
    problem(member.post(QUOTE, pickup_body(stocked, (water, 60), (water, 40))), 422, "validation_error")


def test_no_lines_or_unknown_fields_are_422(member, stocked, water):
    problem(member.post(QUOTE, {**pickup_body(stocked), "lines": []}), 422, "validation_error")
    problem(member.post(QUOTE, {**pickup_body(stocked, (water, 1)), "total": 1}), 422, "validation_error")
    problem(
        member.post(QUOTE, {**pickup_body(stocked, (water, 1)), "fulfilment": {"type": "drone"}}),
        422,
        "validation_error",
    )


def test_unknown_and_other_merchants_skus_are_404(member, stocked, water, rival_sku):
    problem(member.post(QUOTE, pickup_body(stocked, (water, 1), (rival_sku, 1))), 404, "not_found")
    body = pickup_body(stocked, (water, 1))
    body["lines"][0]["sku_id"] = "987654"
    problem(member.post(QUOTE, body), 404, "not_found")


def test_a_sku_delisted_at_the_store_is_409_not_sold_here(member, stocked, water):
    StoreListing.objects.create(store=stocked, product=water.product, is_listed=False)
    detail = problem(member.post(QUOTE, pickup_body(stocked, (water, 1))), 409, "not_sold_here")
    assert "WATER" in detail["detail"]


def test_out_of_stock_names_the_sku(member, stocked, water, cola):
    detail = problem(member.post(QUOTE, pickup_body(stocked, (water, 1), (cola, 21))), 409, "out_of_stock")
    assert "COLA" in detail["detail"] and "20 available" in detail["detail"]


def test_a_sku_the_store_never_stocked_is_out_of_stock(member, store, water):
    problem(member.post(QUOTE, pickup_body(store, (water, 1))), 409, "out_of_stock")


def test_coupons_do_not_exist_yet_and_there_are_no_points(member, stocked, water):
    coupons = member.post(QUOTE, {**pickup_body(stocked, (water, 1)), "coupon_ids": ["7"]})
    points = member.post(QUOTE, {**pickup_body(stocked, (water, 1)), "points": 100})
    zero = member.post(QUOTE, {**pickup_body(stocked, (water, 1)), "points": 0, "coupon_ids": []})

    problem(coupons, 404, "coupon_not_found")
    problem(points, 409, "insufficient_points")
    assert zero.status_code == 200
    problem(member.post(QUOTE, {**pickup_body(stocked, (water, 1)), "points": -1}), 422, "validation_error")


# --- the store: open, paused, pickup times -------------------------------------------------------


def test_a_paused_store_takes_no_order(member, stocked, water):
    stocked.status = "paused"
    stocked.save()
    problem(member.post(QUOTE, pickup_body(stocked, (water, 1))), 409, "store_closed")
    problem(
        member.post(QUOTE, pickup_body(stocked, (water, 1), pickup_at=in_minutes(60))), 409, "store_closed"
    )


def test_a_store_closed_for_good_is_not_found(member, stocked, water):
    stocked.status = "closed"
    stocked.save()
    problem(member.post(QUOTE, pickup_body(stocked, (water, 1))), 404, "not_found")


def test_a_store_outside_its_hours_is_closed(member, merchant, water, give):
    hours, _ = closed_now_hours()
    shut = StoreFactory(merchant=merchant, code="late01", hours=hours)
    give(shut, water, 5)
    problem(member.post(QUOTE, pickup_body(shut, (water, 1))), 409, "store_closed")


def test_a_holiday_closes_the_store(member, stocked, water):
    today = timezone.now().astimezone(SHANGHAI).date()
    SpecialDay.objects.create(store=stocked, date=today, closed=True)
    SpecialDay.objects.create(store=stocked, date=today - dt.timedelta(days=1), closed=True)
    problem(member.post(QUOTE, pickup_body(stocked, (water, 1))), 409, "store_closed")


def test_a_pickup_time_in_a_later_open_span_may_be_ordered_while_closed(member, merchant, water, give):
    hours, opens_at = closed_now_hours()
    shut = StoreFactory(merchant=merchant, code="late01", hours=hours)
    give(shut, water, 5)
    pickup_at = (opens_at + dt.timedelta(minutes=30)).isoformat()

    response = member.post(QUOTE, pickup_body(shut, (water, 1), pickup_at=pickup_at))

    assert response.status_code == 200, response.content
    assert response.json()["fulfilment"]["pickup_at"] is not None


def test_pickup_times_outside_hours_too_soon_or_too_far_are_422(member, merchant, water, give):
    hours, opens_at = closed_now_hours()
    shut = StoreFactory(merchant=merchant, code="late01", hours=hours, pickup_prep_minutes=15)
    give(shut, water, 5)
    before_opening = (opens_at - dt.timedelta(minutes=30)).isoformat()
    after_closing = (opens_at + dt.timedelta(minutes=150)).isoformat()
    in_three_days = (opens_at + dt.timedelta(days=3, minutes=10)).isoformat()

    for pickup_at in (before_opening, after_closing, in_three_days):
        response = member.post(QUOTE, pickup_body(shut, (water, 1), pickup_at=pickup_at))
        problem(response, 422, "invalid_pickup_time")


def test_a_pickup_time_sooner_than_the_preparation_time_is_422(member, stocked, water):
    stocked.pickup_prep_minutes = 30
    stocked.save()
    problem(
        member.post(QUOTE, pickup_body(stocked, (water, 1), pickup_at=in_minutes(10))),
        422,
        "invalid_pickup_time",
    )
    assert member.post(QUOTE, pickup_body(stocked, (water, 1), pickup_at=in_minutes(40))).status_code == 200


def test_a_pickup_time_without_a_zone_is_422(member, stocked, water):
    naive = (dt.datetime.now() + dt.timedelta(hours=1)).replace(microsecond=0).isoformat()  # noqa: DTZ005
    problem(member.post(QUOTE, pickup_body(stocked, (water, 1), pickup_at=naive)), 422, "validation_error")


def test_pickup_must_be_offered(member, stocked, water):
    stocked.pickup_enabled = False
    stocked.save()
    problem(member.post(QUOTE, pickup_body(stocked, (water, 1))), 422, "pickup_unavailable")


# --- contact -------------------------------------------------------------------------------------


def test_a_contact_is_masked_in_the_reply_and_checked(member, stocked, water):
    ok = member.post(
        QUOTE, pickup_body(stocked, (water, 1), contact={"name": "王小明", "phone": "13900001234"})
    )
    bad = member.post(QUOTE, pickup_body(stocked, (water, 1), contact={"name": "王", "phone": "12345"}))

    assert ok.json()["fulfilment"]["contact"] == {"name": "王**", "phone_masked": "139****1234"}
    problem(bad, 422, "invalid_phone")


# --- merchant context ----------------------------------------------------------------------------


def test_another_brands_store_is_not_found_in_a_brand_app(member, stocked, water, other_merchant):
    response = member.post(QUOTE, pickup_body(stocked, (water, 1)), headers={"X-Mendian-Merchant": "rival"})
    problem(response, 404, "not_found")


def test_the_quote_needs_a_member(api, stocked, water):
    problem(api.post(QUOTE, pickup_body(stocked, (water, 1))), 401, "unauthorized")
