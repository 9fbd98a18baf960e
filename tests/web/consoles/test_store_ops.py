"""The store console's daily operations: the live order queue and its actions, the order page, pickup
verification, refund approvals. Orders are placed and paid through the real services."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mendian.checkout.selectors import CheckoutInput
from mendian.core.scope import Actor, Role
from mendian.inventory.services import stock_adjust
from mendian.orders.models import Order, OrderStatus, RefundRequest, RefundStatus
from mendian.orders.services import (
    order_accept,
    order_create,
    order_mark_paid,
    order_ready,
    refund_request_create,
)
from mendian.stores.models import Store
from tests.factories import CustomerFactory, ProductFactory, SkuFactory, StaffFactory, StoreFactory
from tests.web.consoles.conftest import signed_in

S = OrderStatus


@pytest.fixture(autouse=True)
def refunds(monkeypatch):
    """The payments seam: records the refunds orders starts (the sandbox payment row is not made here)."""
    calls = []
    monkeypatch.setattr(
        "mendian.orders.services.payments_refund_start", lambda **kwargs: calls.append(kwargs)
    )
    return calls


@pytest.fixture
def water(merchant):
    return SkuFactory(
        product=ProductFactory(merchant=merchant, name="矿泉水"),
        sku_code="WATER",
        price=300,
        specs={"规格": "550ml"},
    )


@pytest.fixture
def cola(merchant):
    return SkuFactory(product=ProductFactory(merchant=merchant, name="可乐"), sku_code="COLA", price=550)


def give(store, sku, qty):
    stock_adjust(actor=Actor.system(store.merchant_id), store=store, sku=sku, delta=qty, reason="found")


@pytest.fixture
def stocked(store, water, cola):
    give(store, water, 20)
    give(store, cola, 20)
    return store


def place(store, *lines, fulfilment="pickup", paid=True, customer=None, **extra) -> Order:
    customer = customer or CustomerFactory()
    order = order_create(
        customer=customer,
        merchant=None,
        data=CheckoutInput(
            lines=[(sku.pk, qty) for sku, qty in lines],
            fulfilment_type=fulfilment,
            store_id=store.pk,
            contact_name="李雷",
            contact_phone="13812345678",
            **extra,
        ),
    )
    if paid:
        order_mark_paid(
            order_id=order.pk,
            payment_id=f"pay-{order.pk}",
            amount=order.total,
            provider="sandbox",
            paid_at=timezone.now(),
        )
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def order(stocked, water, cola):
    """A paid pickup order: 2 water + 1 cola."""
    return place(stocked, (water, 2), (cola, 1))


def _body(response) -> str:
    return response.content.decode()


def _ready(order, store) -> Order:
    actor = Actor(role=Role.STORE_MANAGER, merchant_id=store.merchant_id, store_id=store.pk)
    order_accept(actor=actor, order_id=order.pk)
    order_ready(actor=actor, order_id=order.pk)
    return Order.objects.get(pk=order.pk)


# --- the queue --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["clerk_client", "manager_client"])
def test_queue_shows_the_new_order_for_clerk_and_manager(request, who, order):
    client = request.getfixturevalue(who)

    body = _body(client.get("/store/orders/"))

    assert order.number in body
    assert "新订单" in body and "接单" in body
    assert "138****5678" in body and "13812345678" not in body  # the phone is masked
    assert 'id="nav-new-badge"' in body and 'data-new-orders="1"' in body
    assert 'hx-trigger="every 5s"' in body


def test_unpaid_orders_stay_off_the_queue(clerk_client, stocked, water):
    unpaid = place(stocked, (water, 1), paid=False)

    assert unpaid.number not in _body(clerk_client.get("/store/orders/"))


def test_poll_answers_204_until_something_changes(clerk_client, order, stocked, water):
    first = clerk_client.get("/store/orders/poll/")
    assert first.status_code == 200
    version = first.context["version"]

    assert clerk_client.get("/store/orders/poll/", {"v": version}).status_code == 204

    second = place(stocked, (water, 1))
    response = clerk_client.get("/store/orders/poll/", {"v": version}, headers={"HX-Request": "true"})

    body = _body(response)
    assert response.status_code == 200
    assert second.number in body and order.number in body
    assert 'data-new-orders="2"' in body
    assert 'hx-swap-oob="true"' in body  # the nav badge follows out of band


def test_badge_counts_new_orders(clerk_client, order):
    body = _body(clerk_client.get("/store/orders/badge/"))

    assert 'data-new-orders="1"' in body and "</span>1</span>" in body


def test_clerk_accepts_marks_ready_and_the_card_moves(clerk_client, order):
    response = clerk_client.post(f"/store/orders/{order.pk}/accept/", {"next": "/store/orders/"}, follow=True)
    assert "已接单" in _body(response)
    order.refresh_from_db()
    assert order.status == S.PREPARING

    response = clerk_client.post(f"/store/orders/{order.pk}/ready/", follow=True)
    order.refresh_from_db()
    assert order.status == S.READY_FOR_PICKUP
    assert "备货完成" in _body(response)
    column = response.context["columns"][2]
    assert column["status"] == S.READY_FOR_PICKUP and [c["order"].pk for c in column["cards"]] == [order.pk]


def test_accepting_a_card_the_live_queue_added_returns_to_the_queue_page(clerk_client, order):
    # The poll renders the cards; their actions must lead back to the queue page, not the fragment.
    fragment = _body(clerk_client.get("/store/orders/poll/?tab=&v=stale"))
    assert 'name="next" value="/store/orders/?tab="' in fragment
    assert "/store/orders/poll/" not in re.findall(r'name="next" value="([^"]*)"', fragment)[0]

    response = clerk_client.post(f"/store/orders/{order.pk}/accept/", {"next": "/store/orders/?tab="})

    assert response.status_code == 302 and response["Location"] == "/store/orders/?tab="
    order.refresh_from_db()
    assert order.status == S.PREPARING


def test_accepting_twice_says_the_state_changed(clerk_client, order):
    clerk_client.post(f"/store/orders/{order.pk}/accept/")

    response = clerk_client.post(f"/store/orders/{order.pk}/accept/", follow=True)

    assert "订单状态已变化" in _body(response)
    order.refresh_from_db()
    assert order.status == S.PREPARING


def test_ready_is_not_offered_for_delivery_orders_and_dispatch_is(clerk_client, delivery_order):
    order_accept(actor=Actor.system(delivery_order.merchant_id), order_id=delivery_order.pk)

    body = _body(clerk_client.get("/store/orders/"))

    assert f"/store/orders/{delivery_order.pk}/dispatch/" in body
    assert f"/store/orders/{delivery_order.pk}/ready/" not in body


@pytest.fixture
def delivery_order(store, water):
    Store.objects.filter(pk=store.pk).update(
        delivery_enabled=True, delivery_radius_m=3000, delivery_fee=500, delivery_min_order=0
    )
    store.refresh_from_db()
    give(store, water, 10)
    from mendian.checkout.models import Address

    customer = CustomerFactory(phone="13700001234")
    address = Address.objects.create(
        customer=customer,
        contact_name="韩梅梅",
        phone="13700001234",
        address="江汉路1号3栋",
        district="江汉区",
        lat=30.5850,
        lng=114.2900,
    )
    return place(store, (water, 3), fulfilment="delivery", customer=customer, address_id=address.pk)


def test_dispatch_with_eta_then_delivered(clerk_client, delivery_order):
    order_accept(actor=Actor.system(delivery_order.merchant_id), order_id=delivery_order.pk)

    clerk_client.post(
        f"/store/orders/{delivery_order.pk}/dispatch/", {"courier": "store", "eta_minutes": "45"}
    )
    delivery_order.refresh_from_db()
    assert delivery_order.status == S.OUT_FOR_DELIVERY and delivery_order.courier == "store"
    assert 44 <= (delivery_order.delivery_eta - delivery_order.dispatched_at).total_seconds() / 60 <= 45

    body = _body(clerk_client.get("/store/orders/"))
    assert "配送中" in body and "已送达" in body and "江汉路1号3栋" in body

    clerk_client.post(f"/store/orders/{delivery_order.pk}/deliver/")
    delivery_order.refresh_from_db()
    assert delivery_order.status == S.DELIVERED


def test_dispatch_rejects_a_silly_eta(clerk_client, delivery_order):
    order_accept(actor=Actor.system(delivery_order.merchant_id), order_id=delivery_order.pk)

    response = clerk_client.post(
        f"/store/orders/{delivery_order.pk}/dispatch/", {"eta_minutes": "0"}, follow=True
    )

    assert "1–1440" in _body(response)
    delivery_order.refresh_from_db()
    assert delivery_order.status == S.PREPARING


def test_cancel_needs_a_reason_and_refunds(clerk_client, order, refunds):
    response = clerk_client.post(f"/store/orders/{order.pk}/cancel/", {"reason": ""}, follow=True)
    assert "请填写取消原因" in _body(response)
    order.refresh_from_db()
    assert order.status == S.PAID

    clerk_client.post(f"/store/orders/{order.pk}/cancel/", {"reason": "商品缺货"})

    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.cancel_reason == "商品缺货"
    assert [call["amount"] for call in refunds] == [order.total]
    assert order.number in _body(clerk_client.get("/store/orders/?tab=cancelled"))


def test_cancel_is_refused_once_preparing(clerk_client, order):
    clerk_client.post(f"/store/orders/{order.pk}/accept/")

    response = clerk_client.post(f"/store/orders/{order.pk}/cancel/", {"reason": "商品缺货"}, follow=True)

    assert "订单状态已变化" in _body(response)
    order.refresh_from_db()
    assert order.status == S.PREPARING


def test_no_show_tab_lists_flagged_orders_with_cancel(clerk_client, order, stocked):
    _ready(order, stocked)
    Order.objects.filter(pk=order.pk).update(no_show_at=timezone.now())

    body = _body(clerk_client.get("/store/orders/?tab=noshow"))

    assert order.number in body and "超时未取" in body and "取消订单" in body


def test_order_page_shows_lines_contact_and_timeline(clerk_client, order):
    clerk_client.post(f"/store/orders/{order.pk}/accept/")

    response = clerk_client.get(f"/store/orders/{order.pk}/")

    body = _body(response)
    assert response.status_code == 200
    assert "矿泉水" in body and "可乐" in body and "11.50" in body
    assert "138****5678" in body
    assert "订单进度" in body and "已支付" in body and "备货中" in body
    assert order.pickup_code not in body  # staff never see the code


def test_another_stores_order_is_404_and_untouched(merchant, order):
    other = StoreFactory(merchant=merchant, code="far")
    stranger = signed_in(StaffFactory(username="far_clerk", role=Role.STORE_CLERK, store=other))

    assert stranger.get(f"/store/orders/{order.pk}/").status_code == 404
    assert stranger.post(f"/store/orders/{order.pk}/accept/").status_code == 404
    assert order.number not in _body(stranger.get("/store/orders/"))
    order.refresh_from_db()
    assert order.status == S.PAID


def test_hq_opens_the_queue_of_a_store_it_picks(hq, order, stocked):
    assert hq.get("/store/orders/").status_code == 302  # to the store picker

    body = _body(hq.get(f"/store/orders/?store={stocked.pk}"))

    assert order.number in body and f"?store={stocked.pk}" in body


def test_queue_queries_do_not_grow_with_orders(clerk_client, stocked, water, cola):
    place(stocked, (water, 1))
    with CaptureQueriesContext(connection) as few:
        assert clerk_client.get("/store/orders/").status_code == 200
    for _ in range(6):
        place(stocked, (water, 1), (cola, 1))
    with CaptureQueriesContext(connection) as many:
        assert clerk_client.get("/store/orders/").status_code == 200

    assert len(many) == len(few)
    assert len(many) <= 20


# --- pickup verification ----------------------------------------------------------------------------


def test_right_code_completes_and_shows_what_to_hand_over(clerk_client, order, stocked):
    order = _ready(order, stocked)

    response = clerk_client.post("/store/pickup/", {"code": order.pickup_code}, follow=True)

    body = _body(response)
    assert "核销成功" in body and "矿泉水" in body and "×2" in body
    order.refresh_from_db()
    assert order.status == S.COMPLETED


def test_code_typed_with_spaces_works(clerk_client, order, stocked):
    order = _ready(order, stocked)
    code = order.pickup_code

    clerk_client.post("/store/pickup/", {"code": f"{code[:4]} {code[4:]}"})

    order.refresh_from_db()
    assert order.status == S.COMPLETED


def test_wrong_code_says_so_and_changes_nothing(clerk_client, order, stocked):
    order = _ready(order, stocked)
    wrong = "00000000" if order.pickup_code != "00000000" else "11111111"

    response = clerk_client.post("/store/pickup/", {"code": wrong})

    assert response.status_code == 422
    assert "取货码无效" in _body(response)
    order.refresh_from_db()
    assert order.status == S.READY_FOR_PICKUP


def test_empty_code_asks_for_one(clerk_client):
    response = clerk_client.post("/store/pickup/", {"code": ""})

    assert response.status_code == 422 and "请输入取货码" in _body(response)


def test_second_verification_says_already_collected(clerk_client, order, stocked):
    order = _ready(order, stocked)
    clerk_client.post("/store/pickup/", {"code": order.pickup_code})

    response = clerk_client.post("/store/pickup/", {"code": order.pickup_code})

    assert response.status_code == 422
    assert "已核销过" in _body(response) and order.number in _body(response)
    assert Order.objects.get(pk=order.pk).status == S.COMPLETED


def test_not_ready_order_is_not_handed_over(clerk_client, order):
    response = clerk_client.post("/store/pickup/", {"code": order.pickup_code})

    assert "尚未备货完成" in _body(response)
    order.refresh_from_db()
    assert order.status == S.PAID


def test_another_stores_code_is_refused_with_a_hint(merchant, order, stocked):
    order = _ready(order, stocked)
    other = StoreFactory(merchant=merchant, code="far")
    stranger = signed_in(StaffFactory(username="far_clerk", role=Role.STORE_CLERK, store=other))

    response = stranger.post("/store/pickup/", {"code": order.pickup_code})

    assert "其他门店的取货码" in _body(response)
    order.refresh_from_db()
    assert order.status == S.READY_FOR_PICKUP


def test_pickup_page_offers_the_camera_scanner_without_a_cdn(clerk_client):
    body = _body(clerk_client.get("/store/pickup/"))

    assert "data-scan" in body and "/static/mendian/vendor/jsQR-1.4.0.js" in body
    assert 'inputmode="numeric"' in body and "http" not in body.split("data-jsqr=")[1][:12]


# --- refunds ----------------------------------------------------------------------------------------


@pytest.fixture
def refund_request(order, stocked):
    order = _ready(order, stocked)
    from mendian.orders.services import pickup_verify

    pickup_verify(
        actor=Actor(
            role=Role.STORE_CLERK,
            staff_id=None,
            merchant_id=stocked.merchant_id,
            store_id=stocked.pk,
            label="t",
        ),
        store=stocked,
        code=order.pickup_code,
    )
    return refund_request_create(customer=order.customer, order_id=order.pk, lines=None, reason="破损了")


def test_manager_sees_and_approves_a_refund(manager_client, refund_request, refunds):
    body = _body(manager_client.get("/store/refunds/"))
    assert "破损了" in body and "同意退款" in body

    manager_client.post(f"/store/refunds/{refund_request.pk}/approve/", {"restock": "1"})

    refund_request.refresh_from_db()
    assert refund_request.status == RefundStatus.APPROVED and refund_request.restock is True
    assert [call["refund_request_id"] for call in refunds] == [refund_request.pk]
    assert "没有待审核的售后申请" in _body(manager_client.get("/store/refunds/"))


def test_manager_approves_with_a_note_the_customer_will_read(manager_client, refund_request, refunds):
    form = _body(manager_client.get("/store/refunds/"))
    assert re.search(r'<textarea class="input" id="note-\d+" name="note" maxlength="200"', form)

    manager_client.post(f"/store/refunds/{refund_request.pk}/approve/", {"note": "  已联系顾客，原路退回  "})

    refund_request.refresh_from_db()
    assert (refund_request.status, refund_request.decision_note) == (
        RefundStatus.APPROVED,
        "已联系顾客，原路退回",
    )
    decided = _body(manager_client.get("/store/refunds/", {"show": "decided"}))
    assert "商家备注：已联系顾客，原路退回" in decided
    order_page = _body(manager_client.get(f"/store/orders/{refund_request.order_id}/"))
    assert "商家备注：已联系顾客，原路退回" in order_page


def test_a_too_long_note_leaves_the_request_pending(manager_client, refund_request, refunds):
    response = manager_client.post(
        f"/store/refunds/{refund_request.pk}/approve/", {"note": "好" * 201}, follow=True
    )

    assert "备注最多 200 个字" in _body(response)
    refund_request.refresh_from_db()
    assert (refund_request.status, refund_request.decision_note) == (RefundStatus.PENDING, "")
    assert refunds == []


def test_reject_needs_a_reason(manager_client, refund_request):
    response = manager_client.post(f"/store/refunds/{refund_request.pk}/reject/", {"reason": ""}, follow=True)
    assert "驳回时请填写原因" in _body(response)
    assert RefundRequest.objects.get(pk=refund_request.pk).status == RefundStatus.PENDING

    manager_client.post(f"/store/refunds/{refund_request.pk}/reject/", {"reason": "商品已拆封"})

    refund_request.refresh_from_db()
    assert refund_request.status == RefundStatus.REJECTED and refund_request.reject_reason == "商品已拆封"


def test_clerk_may_not_approve_refunds(clerk_client, refund_request, refunds):
    assert clerk_client.get("/store/refunds/").status_code == 403
    assert "售后审核" not in _body(clerk_client.get("/store/orders/"))

    response = clerk_client.post(f"/store/refunds/{refund_request.pk}/approve/")

    assert response.status_code == 403
    assert RefundRequest.objects.get(pk=refund_request.pk).status == RefundStatus.PENDING
    assert refunds == []


def test_another_stores_manager_cannot_decide(merchant, refund_request):
    other = StoreFactory(merchant=merchant, code="far")
    stranger = signed_in(StaffFactory(username="far_boss", role=Role.STORE_MANAGER, store=other))

    assert stranger.post(f"/store/refunds/{refund_request.pk}/approve/").status_code == 404
    assert "破损了" not in _body(stranger.get("/store/refunds/"))
    assert RefundRequest.objects.get(pk=refund_request.pk).status == RefundStatus.PENDING


def test_dashboard_counts_the_queue(clerk_client, order, stocked):
    body = _body(clerk_client.get("/store/"))

    assert "queue-stats" in body and 'class="value hot">1<' in body
