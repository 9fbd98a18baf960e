"""The state machine end to end: payment, fulfilment (pickup and delivery), cancellation, expiry,
auto-completion, no-shows, and that refused transitions change nothing."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from mendian.integrations.models import OutboxEvent
from mendian.inventory.models import Reservation
from mendian.orders import services, tasks
from mendian.orders.models import ALLOWED_TRANSITIONS, Order, OrderEvent, OrderStatus
from mendian.orders.services import Paid, PaidAfterCancel
from tests.checkout.conftest import level, pickup_body
from tests.orders.conftest import pay, place

STAFF = "/api/staff/v1/orders"


def statuses(order_id) -> list[str]:
    return list(
        OrderEvent.objects.filter(order_id=order_id).order_by("at", "pk").values_list("status", flat=True)
    )


def outbox(order_id) -> list[str]:
    return list(
        OutboxEvent.objects.filter(aggregate_id=str(order_id), aggregate_type="orders.order")
        .order_by("pk")
        .values_list("event_type", flat=True)
    )


def expire(order_id, minutes=1):
    Order.objects.filter(pk=order_id).update(pay_deadline=timezone.now() - dt.timedelta(minutes=minutes))


def test_the_transition_map_is_exactly_the_contracts():
    s = OrderStatus
    assert {k: set(v) for k, v in ALLOWED_TRANSITIONS.items()} == {
        s.PENDING_PAYMENT: {s.PAID, s.CANCELLED},
        s.PAID: {s.PREPARING, s.CANCELLED},
        s.PREPARING: {s.READY_FOR_PICKUP, s.OUT_FOR_DELIVERY},
        s.READY_FOR_PICKUP: {s.COMPLETED, s.CANCELLED},
        s.OUT_FOR_DELIVERY: {s.DELIVERED},
        s.DELIVERED: {s.COMPLETED, s.REFUND_REQUESTED},
        s.COMPLETED: {s.REFUND_REQUESTED},
        s.REFUND_REQUESTED: {s.REFUNDED, s.REFUND_REJECTED},
        s.REFUNDED: {s.REFUND_REQUESTED},
        s.REFUND_REJECTED: {s.REFUND_REQUESTED},
        s.CANCELLED: set(),
    }


def test_a_pickup_order_from_payment_to_collection(member, clerk_api, placed, stocked, water):
    order_id = placed["id"]

    assert isinstance(pay(order_id), Paid)
    paid = member.get(f"/api/v1/orders/{order_id}").json()
    assert paid["status"] == "paid" and paid["paid_amount"]["amount"] == 1150
    code = paid["pickup_code"]
    assert code.isdigit() and len(code) == 8
    assert Reservation.objects.filter(reference=placed["number"], expires_at__isnull=True).count() == 2

    assert clerk_api.post(f"{STAFF}/{order_id}/accept").json()["status"] == "preparing"
    ready = clerk_api.post(f"{STAFF}/{order_id}/ready")
    assert ready.json()["status"] == "ready_for_pickup"
    assert "pickup_code" not in ready.json()  # staff never see the customer's code
    done = clerk_api.post("/api/staff/v1/pickups/verify", {"code": code})

    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert statuses(order_id) == ["pending_payment", "paid", "preparing", "ready_for_pickup", "completed"]
    assert outbox(order_id) == ["order.paid", "order.ready", "order.completed"]
    assert level(stocked, water) == (18, 0)
    reply = member.get(f"/api/v1/orders/{order_id}").json()
    assert reply["pickup_code"] is None  # spent
    assert [e["status"] for e in reply["events"]] == statuses(order_id)


def test_a_delivery_order_from_payment_to_completion(
    member, delivery_staff, delivered_order_placed, delivery_store, water
):
    order = delivered_order_placed
    pay(order["id"])
    assert member.get(f"/api/v1/orders/{order['id']}").json()["pickup_code"] is None

    delivery_staff.post(f"{STAFF}/{order['id']}/accept")
    dispatched = delivery_staff.post(
        f"{STAFF}/{order['id']}/dispatch", {"courier": "store", "eta_minutes": 20}
    ).json()
    assert dispatched["status"] == "out_for_delivery"
    assert dispatched["fulfilment"]["courier"] == "store"
    eta = dt.datetime.fromisoformat(dispatched["fulfilment"]["delivery_eta"])
    assert dt.timedelta(minutes=19) < eta - timezone.now() <= dt.timedelta(minutes=20)
    assert level(delivery_store, water) == (20, 0)  # the goods left the store
    assert delivery_staff.post(f"{STAFF}/{order['id']}/deliver").json()["status"] == "delivered"
    completed = member.post(f"/api/v1/orders/{order['id']}/confirm-received").json()

    assert completed["status"] == "completed"
    assert statuses(order["id"]) == [
        "pending_payment",
        "paid",
        "preparing",
        "out_for_delivery",
        "delivered",
        "completed",
    ]
    # The full address is for the store; the phone stays masked everywhere.
    staff_view = delivery_staff.get(f"{STAFF}/{order['id']}").json()
    assert staff_view["fulfilment"]["address"]["address"] == "江汉路1号3栋"
    assert staff_view["fulfilment"]["contact"]["phone_masked"] == "137****1234"
    assert "13700001234" not in str(staff_view)


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ([], "accept"),  # paid → preparing is fine, but twice is not
        (["accept"], "accept"),
        (["accept"], "dispatch"),  # a pickup order
        ([], "ready"),
        (["accept"], "deliver"),
        (["accept", "ready"], "cancel"),  # ready but not a no-show
        (["accept"], "cancel"),
    ],
)
def test_invalid_transitions_are_409_and_change_nothing(clerk_api, paid, setup, action):
    if action == "accept" and not setup:
        setup = ["accept"]
    for step in setup:
        assert clerk_api.post(f"{STAFF}/{paid.pk}/{step}").status_code == 200
    before = (Order.objects.get(pk=paid.pk).status, OrderEvent.objects.count(), OutboxEvent.objects.count())

    response = clerk_api.post(f"{STAFF}/{paid.pk}/{action}")

    assert (response.status_code, response.json()["code"]) == (409, "invalid_state_transition")
    assert (
        Order.objects.get(pk=paid.pk).status,
        OrderEvent.objects.count(),
        OutboxEvent.objects.count(),
    ) == before


def test_accepting_an_unpaid_order_is_409(clerk_api, placed):
    response = clerk_api.post(f"{STAFF}/{placed['id']}/accept")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state_transition")
    assert Order.objects.get(pk=placed["id"]).status == "pending_payment"


def test_ready_is_for_pickup_orders_and_an_unknown_courier_is_422(delivery_staff, delivered_order_placed):
    order_id = delivered_order_placed["id"]
    pay(order_id)
    delivery_staff.post(f"{STAFF}/{order_id}/accept")

    ready = delivery_staff.post(f"{STAFF}/{order_id}/ready")
    courier = delivery_staff.post(f"{STAFF}/{order_id}/dispatch", {"courier": "dada"})
    eta = delivery_staff.post(f"{STAFF}/{order_id}/dispatch", {"eta_minutes": 0})

    assert (ready.status_code, ready.json()["code"]) == (409, "invalid_state_transition")
    assert (courier.status_code, courier.json()["code"]) == (422, "unknown_courier")
    assert eta.status_code == 422
    assert Order.objects.get(pk=order_id).status == "preparing"


# --- cancelling ----------------------------------------------------------------------------------


def test_the_customer_cancels_an_unpaid_order_and_the_stock_returns(member, placed, stocked, water):
    response = member.post(f"/api/v1/orders/{placed['id']}/cancel", {"reason": "买错了"})

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "买错了"
    assert level(stocked, water) == (20, 0)
    assert outbox(placed["id"]) == ["order.cancelled"]


def test_cancelling_twice_is_409(member, placed):
    member.post(f"/api/v1/orders/{placed['id']}/cancel")
    again = member.post(f"/api/v1/orders/{placed['id']}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state_transition")
    assert statuses(placed["id"]) == ["pending_payment", "cancelled"]


def test_cancelling_a_paid_order_refunds_it_in_full(member, paid, refunds, stocked, water):
    response = member.post(f"/api/v1/orders/{paid.pk}/cancel")

    body = response.json()
    assert body["status"] == "cancelled"
    assert body["refunded_amount"]["amount"] == 1150
    assert [(r["kind"], r["status"], r["amount"]["amount"]) for r in body["refund_requests"]] == [
        ("cancellation", "approved", 1150)
    ]
    assert refunds == [
        {
            "order_id": paid.pk,
            "amount": 1150,
            "refund_request_id": int(body["refund_requests"][0]["id"]),
            "reason": "cancelled by the customer",
        }
    ]
    assert level(stocked, water) == (20, 0)
    services.order_refund_recorded(
        order_id=paid.pk, refund_request_id=refunds[0]["refund_request_id"], amount=1150
    )
    assert Order.objects.get(pk=paid.pk).status == "cancelled"
    assert outbox(paid.pk) == ["order.paid", "order.cancelled", "order.refunded"]


def test_a_preparing_order_can_no_longer_be_cancelled_by_the_customer(member, clerk_api, paid, refunds):
    clerk_api.post(f"{STAFF}/{paid.pk}/accept")
    response = member.post(f"/api/v1/orders/{paid.pk}/cancel")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state_transition")
    assert Order.objects.get(pk=paid.pk).status == "preparing"
    assert refunds == []


def test_staff_cancel_before_preparing_with_a_refund(clerk_api, paid, refunds):
    response = clerk_api.post(f"{STAFF}/{paid.pk}/cancel", {"reason": "缺货"})
    assert response.json()["status"] == "cancelled"
    assert [(r["order_id"], r["amount"]) for r in refunds] == [(paid.pk, 1150)]


def test_no_shows_are_flagged_and_may_then_be_cancelled_with_a_refund(
    clerk_api, paid, refunds, stocked, water
):
    clerk_api.post(f"{STAFF}/{paid.pk}/accept")
    clerk_api.post(f"{STAFF}/{paid.pk}/ready")
    assert services.orders_flag_no_shows() == 0
    Order.objects.filter(pk=paid.pk).update(ready_at=timezone.now() - dt.timedelta(hours=25))

    assert tasks.flag_no_shows() == 1
    listed = clerk_api.get(STAFF, {"no_show": "true"}).json()["items"]
    assert [(o["id"], o["no_show"]) for o in listed] == [(str(paid.pk), True)]
    cancelled = clerk_api.post(f"{STAFF}/{paid.pk}/cancel", {"reason": "未到店自提"})

    assert cancelled.json()["status"] == "cancelled"
    assert refunds[0]["amount"] == 1150
    assert level(stocked, water) == (20, 0)


# --- expiry --------------------------------------------------------------------------------------


def test_an_expired_order_is_cancelled_when_read(member, placed, stocked, water):
    expire(placed["id"])

    reply = member.get(f"/api/v1/orders/{placed['id']}").json()

    assert reply["status"] == "cancelled"
    assert reply["cancel_reason"] == "payment deadline passed"
    assert level(stocked, water) == (20, 0)
    assert Reservation.objects.filter(reference=placed["number"], status="released").count() == 2


def test_listing_orders_expires_overdue_ones_too(member, placed, stocked, water):
    expire(placed["id"])
    items = member.get("/api/v1/orders").json()["items"]
    assert [o["status"] for o in items] == ["cancelled"]
    assert level(stocked, water) == (20, 0)


def test_the_periodic_job_expires_orders_and_releases_stock(member, placed, stocked, water, cola):
    other = place(member, pickup_body(stocked, (water, 1)))
    expire(placed["id"])

    assert tasks.expire_unpaid() == 1

    assert Order.objects.get(pk=placed["id"]).status == "cancelled"
    assert Order.objects.get(pk=other["id"]).status == "pending_payment"
    assert level(stocked, water) == (20, 1) and level(stocked, cola) == (20, 0)
    assert tasks.expire_unpaid() == 0
    call_command("check_stock")


def test_a_payment_after_expiry_is_refused_and_refunded_by_payments(placed):
    expire(placed["id"])
    tasks.expire_unpaid()

    result = pay(placed["id"])

    assert isinstance(result, PaidAfterCancel) and result.reason == "cancelled"
    assert Order.objects.get(pk=placed["id"]).status == "cancelled"


def test_a_payment_just_after_the_deadline_but_before_the_sweep_is_kept(placed, stocked, water):
    expire(placed["id"])
    assert isinstance(pay(placed["id"]), Paid)
    assert tasks.expire_unpaid() == 0
    assert Order.objects.get(pk=placed["id"]).status == "paid"
    assert level(stocked, water) == (20, 2)


# --- delivered orders complete on their own ------------------------------------------------------


def test_delivered_orders_complete_after_24_hours(delivered_order_placed, merchant):
    from mendian.core.scope import Actor

    order = delivered_order_placed
    pay(order["id"])
    actor = Actor.system(merchant.pk)
    services.order_accept(actor=actor, order_id=order["id"])
    services.order_dispatch(actor=actor, order_id=order["id"])
    services.order_deliver(actor=actor, order_id=order["id"])
    assert tasks.autocomplete_delivered() == 0

    Order.objects.filter(pk=order["id"]).update(
        delivered_at=timezone.now() - dt.timedelta(hours=24, minutes=1)
    )
    assert tasks.autocomplete_delivered() == 1

    assert Order.objects.get(pk=order["id"]).status == "completed"
    assert outbox(order["id"])[-1] == "order.completed"


# --- privacy -------------------------------------------------------------------------------------


def test_another_members_order_is_not_found(other_member, placed):
    for response in (
        other_member.get(f"/api/v1/orders/{placed['id']}"),
        other_member.post(f"/api/v1/orders/{placed['id']}/cancel"),
        other_member.get(f"/api/v1/orders/{placed['id']}/pickup-qr.svg"),
        other_member.post(f"/api/v1/orders/{placed['id']}/refund-requests", {"reason": "x"}),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert other_member.get("/api/v1/orders").json()["items"] == []
    assert Order.objects.get(pk=placed["id"]).status == "pending_payment"


def test_the_pickup_code_as_a_qr_code(member, paid):
    response = member.get(f"/api/v1/orders/{paid.pk}/pickup-qr.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def test_no_qr_code_before_payment(member, placed):
    response = member.get(f"/api/v1/orders/{placed['id']}/pickup-qr.svg")
    assert (response.status_code, response.json()["code"]) == (404, "pickup_code_unavailable")


def test_listing_own_orders_costs_the_same_for_1_or_10(
    member, stocked, water, cola, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    place(member, pickup_body(stocked, (water, 1)))
    with CaptureQueriesContext(connection) as one:
        member.get("/api/v1/orders")
    first = len(one)  # read now: every request resets the connection's query log
    for _ in range(9):
        pay(place(member, pickup_body(stocked, (water, 1), (cola, 1)))["id"])
    with django_assert_max_num_queries(first):
        items = member.get("/api/v1/orders").json()["items"]
    assert len(items) == 10
    assert first <= 7
