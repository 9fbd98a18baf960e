"""After-sales (售后): refund requests, the policy around them, approval (payments starts the refund,
goods restocked), rejection, and the database guard that refunds never exceed what was paid."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from mendian.checkout import pricing
from mendian.core.errors import Conflict
from mendian.integrations.models import OutboxEvent
from mendian.inventory.models import StockMovement
from mendian.orders import services
from mendian.orders.models import Order, OrderLine, RefundRequest
from tests.checkout.conftest import level, pickup_body
from tests.factories import StoreFactory
from tests.orders.conftest import pay, place

STAFF = "/api/staff/v1"


def complete(clerk_api, order_id):
    pay(order_id)
    clerk_api.post(f"{STAFF}/orders/{order_id}/accept")
    clerk_api.post(f"{STAFF}/orders/{order_id}/ready")
    code = Order.objects.get(pk=order_id).pickup_code
    assert clerk_api.post(f"{STAFF}/pickups/verify", {"code": code}).status_code == 200


@pytest.fixture
def completed(clerk_api, placed):
    complete(clerk_api, placed["id"])
    return Order.objects.get(pk=placed["id"])


def ask(member, order, body, status=201):
    response = member.post(f"/api/v1/orders/{order.pk}/refund-requests", body)
    assert response.status_code == status, response.content
    return response.json()


def line_of(order, sku) -> str:
    return str(OrderLine.objects.get(order=order, sku=sku).pk)


def test_a_whole_order_refund_from_request_to_money_back(
    member, manager_api, completed, refunds, stocked, water, cola
):
    reply = ask(member, completed, {"reason": "不新鲜"})

    assert reply["status"] == "refund_requested"
    (request,) = reply["refund_requests"]
    assert (request["status"], request["amount"]["amount"], request["whole_order"]) == ("pending", 1150, True)
    assert sorted((ln["quantity"], ln["amount"]["amount"]) for ln in request["lines"]) == [(1, 550), (2, 600)]

    approved = manager_api.post(f"{STAFF}/refund-requests/{request['id']}/approve", {"restock": True})

    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["restock"]) == ("approved", True)
    assert refunds == [
        {
            "order_id": completed.pk,
            "amount": 1150,
            "refund_request_id": int(request["id"]),
            "reason": "不新鲜",
        }
    ]
    assert Order.objects.get(pk=completed.pk).refunded_amount == 1150
    assert (level(stocked, water), level(stocked, cola)) == ((20, 0), (20, 0))  # back on the shelf
    assert StockMovement.objects.filter(type="return").count() == 2

    services.order_refund_recorded(order_id=completed.pk, refund_request_id=int(request["id"]), amount=1150)

    final = member.get(f"/api/v1/orders/{completed.pk}").json()
    assert final["status"] == "refunded"
    assert final["refund_requests"][0]["status"] == "refunded"
    assert [e["status"] for e in final["events"]][-2:] == ["refund_requested", "refunded"]
    assert OutboxEvent.objects.filter(event_type="order.refunded").count() == 1


def test_some_units_then_the_rest_including_the_last_fen(
    member, manager_api, completed, refunds, water, cola
):
    first = ask(
        member,
        completed,
        {"reason": "漏了一瓶", "lines": [{"order_line_id": line_of(completed, water), "quantity": 1}]},
    )
    assert first["refund_requests"][0]["amount"]["amount"] == 300
    rid = first["refund_requests"][0]["id"]
    manager_api.post(f"{STAFF}/refund-requests/{rid}/approve")
    services.order_refund_recorded(order_id=completed.pk, refund_request_id=int(rid), amount=300)

    rest = ask(
        member,
        completed,
        {
            "reason": "都不要了",
            "lines": [
                {"order_line_id": line_of(completed, water), "quantity": 1},
                {"order_line_id": line_of(completed, cola), "quantity": 1},
            ],
        },
    )

    assert rest["refund_requests"][0]["amount"]["amount"] == 850
    assert rest["status"] == "refund_requested"


def test_the_same_units_are_never_refunded_twice(member, manager_api, completed, water):
    body = {"reason": "x", "lines": [{"order_line_id": line_of(completed, water), "quantity": 2}]}
    rid = ask(member, completed, body)["refund_requests"][0]["id"]
    manager_api.post(f"{STAFF}/refund-requests/{rid}/approve")
    services.order_refund_recorded(order_id=completed.pk, refund_request_id=int(rid), amount=600)

    again = member.post(f"/api/v1/orders/{completed.pk}/refund-requests", body)

    assert (again.status_code, again.json()["code"]) == (409, "already_refunded")
    assert RefundRequest.objects.count() == 1


def test_a_rejection_frees_the_units_and_counts_towards_the_limit(member, manager_api, completed):
    for attempt in range(3):
        rid = ask(member, completed, {"reason": f"第{attempt}次"})["refund_requests"][0]["id"]
        rejected = manager_api.post(f"{STAFF}/refund-requests/{rid}/reject", {"reason": "无质量问题"})
        assert (rejected.json()["status"], rejected.json()["reject_reason"]) == ("rejected", "无质量问题")
        assert Order.objects.get(pk=completed.pk).status == "refund_rejected"

    fourth = member.post(f"/api/v1/orders/{completed.pk}/refund-requests", {"reason": "再试"})

    assert (fourth.status_code, fourth.json()["code"]) == (409, "refund_limit_reached")
    assert Order.objects.get(pk=completed.pk).refunded_amount == 0


def test_one_open_request_at_a_time(member, completed):
    ask(member, completed, {"reason": "a"})
    second = member.post(f"/api/v1/orders/{completed.pk}/refund-requests", {"reason": "b"})
    assert (second.status_code, second.json()["code"]) == (409, "refund_in_progress")
    assert RefundRequest.objects.count() == 1


def test_requests_only_after_handover_and_within_the_window(member, placed, paid_later, completed_old):
    unpaid = member.post(f"/api/v1/orders/{placed['id']}/refund-requests", {"reason": "x"})
    paid = member.post(f"/api/v1/orders/{paid_later}/refund-requests", {"reason": "x"})
    late = member.post(f"/api/v1/orders/{completed_old}/refund-requests", {"reason": "x"})

    assert (unpaid.status_code, unpaid.json()["code"]) == (409, "refund_not_allowed")
    assert (paid.status_code, paid.json()["code"]) == (409, "refund_not_allowed")
    assert (late.status_code, late.json()["code"]) == (409, "refund_window_closed")
    assert RefundRequest.objects.count() == 0


@pytest.fixture
def paid_later(member, stocked, water):
    order = place(member, pickup_body(stocked, (water, 1)))
    pay(order["id"])
    return order["id"]


@pytest.fixture
def completed_old(member, clerk_api, stocked, water):
    order = place(member, pickup_body(stocked, (water, 1)))
    complete(clerk_api, order["id"])
    Order.objects.filter(pk=order["id"]).update(completed_at=timezone.now() - dt.timedelta(days=7, minutes=1))
    return order["id"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"reason": ""}, 422, "validation_error"),
        ({"reason": "x", "photos": ["img1"]}, 422, "validation_error"),
        ({"reason": "x", "lines": [{"order_line_id": "999999", "quantity": 1}]}, 422, "unknown_order_line"),
        ({"reason": "x", "lines": [{"order_line_id": "LINE", "quantity": 3}]}, 409, "already_refunded"),
        ({"reason": "x", "lines": [{"order_line_id": "LINE", "quantity": 0}]}, 422, "validation_error"),
        ({"reason": "x", "amount": 1}, 422, "validation_error"),
    ],
)
def test_bad_requests_change_nothing(member, completed, water, body, status, code):
    for line in body.get("lines", []):
        if line["order_line_id"] == "LINE":
            line["order_line_id"] = line_of(completed, water)
    response = member.post(f"/api/v1/orders/{completed.pk}/refund-requests", body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert RefundRequest.objects.count() == 0
    assert Order.objects.get(pk=completed.pk).status == "completed"


def test_who_may_decide(
    member, clerk_api, hq_api, make_staff_api, merchant, other_merchant, completed, refunds
):
    rid = ask(member, completed, {"reason": "x"})["refund_requests"][0]["id"]
    elsewhere = StoreFactory(merchant=merchant, code="wc009")
    foreign_manager = make_staff_api(role="store_manager", store=elsewhere, username="m2")
    rival_hq = make_staff_api(role="merchant_admin", merchant=other_merchant, store=None, username="r2")

    clerk = clerk_api.post(f"{STAFF}/refund-requests/{rid}/approve")
    foreign = foreign_manager.post(f"{STAFF}/refund-requests/{rid}/approve")
    rival = rival_hq.post(f"{STAFF}/refund-requests/{rid}/reject", {"reason": "no"})

    assert (clerk.status_code, clerk.json()["code"]) == (403, "forbidden")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    assert (rival.status_code, rival.json()["code"]) == (404, "not_found")
    assert RefundRequest.objects.get().status == "pending" and refunds == []
    assert foreign_manager.get(f"{STAFF}/refund-requests/{rid}").status_code == 404
    assert foreign_manager.get(f"{STAFF}/refund-requests").json()["items"] == []

    approved = hq_api.post(f"{STAFF}/refund-requests/{rid}/approve")
    twice = hq_api.post(f"{STAFF}/refund-requests/{rid}/approve")

    assert approved.status_code == 200
    assert (twice.status_code, twice.json()["code"]) == (409, "refund_request_not_pending")
    assert len(refunds) == 1
    assert [
        r["id"] for r in hq_api.get(f"{STAFF}/refund-requests", {"status": "approved"}).json()["items"]
    ] == [rid]


def test_without_restock_the_goods_stay_out(member, manager_api, completed, stocked, water):
    rid = ask(member, completed, {"reason": "x"})["refund_requests"][0]["id"]
    manager_api.post(f"{STAFF}/refund-requests/{rid}/approve", {"restock": False})
    assert level(stocked, water) == (18, 0)
    assert StockMovement.objects.filter(type="return").count() == 0


def test_a_refund_request_replays_with_its_idempotency_key(member, completed):
    url = f"/api/v1/orders/{completed.pk}/refund-requests"
    first = member.post(url, {"reason": "x"}, headers={"Idempotency-Key": "rr-1"})
    again = member.post(url, {"reason": "x"}, headers={"Idempotency-Key": "rr-1"})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert RefundRequest.objects.count() == 1


# --- the guard -----------------------------------------------------------------------------------


def test_the_database_refuses_refunds_beyond_what_was_paid(completed):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=completed.pk).update(refunded_amount=1151)
    assert Order.objects.get(pk=completed.pk).refunded_amount == 0


def test_the_conditional_update_never_exceeds_the_paid_amount(completed):
    with transaction.atomic():
        services._refund_commit(completed, 1000)
    with pytest.raises(Conflict) as exc, transaction.atomic():
        services._refund_commit(Order.objects.get(pk=completed.pk), 151)
    assert exc.value.code == "refund_exceeds_paid"
    assert Order.objects.get(pk=completed.pk).refunded_amount == 1000


# --- discounts follow the units ------------------------------------------------------------------


def test_a_refund_gives_back_what_the_units_cost_after_discounts(
    member, manager_api, clerk_api, stocked, water, cola, monkeypatch
):
    monkeypatch.setattr(pricing, "PRICING_STEPS", list(pricing.PRICING_STEPS))
    pricing.pricing_step_register(
        "test_promotion", lambda ctx: ctx.add_discount(source="promo:test", label="立减1元", amount=100)
    )
    order = place(member, pickup_body(stocked, (water, 2), (cola, 1)))
    assert (order["total"]["amount"], order["discounts"][0]["amount"]["amount"]) == (1050, 100)
    assert [ln["discounts_allocated"]["amount"] for ln in order["lines"]] == [52, 48]
    complete(clerk_api, order["id"])
    completed = Order.objects.get(pk=order["id"])

    one_water = ask(
        member,
        completed,
        {"reason": "x", "lines": [{"order_line_id": line_of(completed, water), "quantity": 1}]},
    )

    assert one_water["refund_requests"][0]["amount"]["amount"] == 274  # (600 - 52) / 2
