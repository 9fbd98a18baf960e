"""The storefront's orders: paying in the sandbox, the list and its tabs, the order page (timeline,
countdown, pickup code and QR, delivery ETA), cancelling, confirming receipt, after-sales refund
requests, other customers' orders (404) and bounded queries."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mendian.core.scope import Actor
from mendian.orders import services as order_services
from mendian.orders.models import Order, RefundRequest
from mendian.payments.models import Payment
from tests.web.storefront import test_buying
from tests.web.storefront.conftest import text_of
from tests.web.storefront.test_buying import NEAR, add, checkout_form, save_address, signed_in

# The buying tests' fixtures: a chain with stock, a signed-in member at 江汉路店.
shop = test_buying.shop
member = test_buying.member

pytestmark = pytest.mark.django_db

PICKUP = {"type": "pickup", "pickup_at": "asap", "contact_name": "小明", "contact_phone": "13800001234"}


def place_pickup(client, store, *lines) -> Order:
    for sku, quantity in lines:
        add(client, store, sku, quantity)
    form = checkout_form(text_of(client.get("/checkout/")))
    response = client.post("/checkout/", {**form, **PICKUP})
    assert response.status_code == 302, text_of(response)
    return Order.objects.get(pk=re.search(r"/orders/(\d+)/pay/", response["Location"]).group(1))


def pay_in_sandbox(client, order) -> str:
    """Chooses the sandbox on the pay page, confirms on the hosted page; returns its return link."""
    response = client.post(f"/orders/{order.pk}/pay/", {"provider": "sandbox"})
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert re.fullmatch(r"/sandbox-pay/[^/]+/confirm", target.path)
    back = parse_qs(target.query)["return"][0]
    assert back == f"http://testserver/orders/{order.pk}/"
    confirm = f"{target.path}?{target.query}"
    page = text_of(client.post(confirm))
    assert "支付成功" in page and f'href="{back}"' in page and "返回商户查看订单" in page
    return back


def staff(shop) -> Actor:
    return Actor(role="store_manager", merchant_id=shop.merchant.pk, store_id=shop.store.pk, label="counter")


@pytest.fixture
def placed(member, shop):
    return place_pickup(member, shop.store, (shop.milk, 2))


# --- paying ------------------------------------------------------------------------------------------
def test_pay_page_lists_the_enabled_providers_with_the_deadline(member, placed):
    response = member.get(f"/orders/{placed.pk}/pay/")

    html = text_of(response)
    assert response.status_code == 200
    assert re.findall(r'name="provider" value="(\w+)"', html) == ["sandbox"]
    assert "确认支付 ¥99.80" in html
    assert f'data-countdown-to="{placed.pay_deadline.isoformat()}"' in html


def test_paying_in_the_sandbox_brings_the_customer_back_to_a_paid_order_with_its_pickup_code(member, placed):
    back = pay_in_sandbox(member, placed)

    placed.refresh_from_db()
    assert placed.status == "paid" and placed.pickup_code
    html = text_of(member.get(urlsplit(back).path))
    assert 'data-order-status="paid"' in html and "已支付" in html
    code = placed.pickup_code
    assert f'<div class="code" data-code>{code[:4]} {code[4:]}</div>' in html
    assert "<svg" in html and "取货二维码" in html
    assert "data-countdown-to" not in html
    # The timeline: placed, then paid (newest first), and the steps still to come.
    assert re.findall(
        r"<li[^>]*><span class=\"dot\" aria-hidden=\"true\"></span><div class=\"grow\"><div>([^<]+)</div>",
        html,
    ) == [
        "已支付",
        "待支付",
    ]
    assert (
        'class="current" aria-current="step"><span class="dot" aria-hidden="true"></span><span>已支付</span>'
        in html
    )


def test_a_paid_order_is_not_paid_twice(member, placed):
    pay_in_sandbox(member, placed)

    response = member.get(f"/orders/{placed.pk}/pay/")
    assert response.status_code == 302 and response["Location"] == f"/orders/{placed.pk}/"
    response = member.post(f"/orders/{placed.pk}/pay/", {"provider": "sandbox"})
    assert response.status_code == 302 and response["Location"] == f"/orders/{placed.pk}/"
    assert Payment.objects.count() == 1


def test_an_unknown_provider_is_a_clear_message(member, placed):
    response = member.post(f"/orders/{placed.pk}/pay/", {"provider": "paypal"})
    assert response.status_code == 422
    assert "这种支付方式暂不可用" in text_of(response)
    assert not Payment.objects.exists()


# --- the order page ----------------------------------------------------------------------------------
def test_pending_order_shows_the_countdown_pay_and_cancel(member, placed):
    html = text_of(member.get(f"/orders/{placed.pk}/"))

    assert 'data-order-status="pending_payment"' in html
    assert f'data-countdown-to="{placed.pay_deadline.isoformat()}"' in html
    assert f'href="/orders/{placed.pk}/pay/">去支付 ¥99.80</a>' in html
    assert f'action="/orders/{placed.pk}/cancel/"' in html
    assert "data-pickup-code" not in html


def test_cancelling_an_unpaid_order_returns_its_stock(member, placed, shop):
    response = member.post(f"/orders/{placed.pk}/cancel/", follow=True)

    placed.refresh_from_db()
    assert placed.status == "cancelled"
    html = text_of(response)
    assert "订单已取消" in html and 'data-order-status="cancelled"' in html
    assert "取消订单</button>" not in html
    from mendian.inventory.selectors import stock_available_for

    assert stock_available_for(store_id=shop.store.pk, sku_ids=[shop.milk.pk])[shop.milk.pk] == 10


def test_cancelling_a_paid_order_refunds_it(member, placed):
    pay_in_sandbox(member, placed)

    response = member.post(f"/orders/{placed.pk}/cancel/", follow=True)

    placed.refresh_from_db()
    assert placed.status == "cancelled"
    assert "订单已取消，款项将原路退回" in text_of(response)
    assert RefundRequest.objects.get(order=placed).kind == "cancellation"


def test_an_order_being_prepared_can_no_longer_be_cancelled(member, placed, shop):
    pay_in_sandbox(member, placed)
    order_services.order_accept(actor=staff(shop), order_id=placed.pk)

    html = text_of(member.get(f"/orders/{placed.pk}/"))
    assert "取消订单</button>" not in html and "备货中" in html
    response = member.post(f"/orders/{placed.pk}/cancel/", follow=True)
    assert "不能取消了" in text_of(response)
    placed.refresh_from_db()
    assert placed.status == "preparing"


def test_delivery_order_shows_the_courier_eta(member, shop):
    add(member, shop.store, shop.milk, 1)
    address = save_address(member, NEAR)
    html = text_of(member.get(f"/checkout/?type=delivery&address={address.pk}"))
    member.post("/checkout/", {**checkout_form(html), "type": "delivery", "address": str(address.pk)})
    order = Order.objects.get()
    pay_in_sandbox(member, order)
    order_services.order_accept(actor=staff(shop), order_id=order.pk)
    order_services.order_dispatch(actor=staff(shop), order_id=order.pk, courier="store", eta_minutes=30)

    html = text_of(member.get(f"/orders/{order.pk}/"))
    assert 'data-order-status="out_for_delivery"' in html and "配送中" in html
    assert "预计送达" in html and "data-eta" in html
    assert "江汉路1号3栋" in html and "137****1234" in html
    assert "data-pickup-code" not in html


# --- after-sales -------------------------------------------------------------------------------------------
@pytest.fixture
def collected(member, shop):
    """A pickup order of 2 milk + 1 chips, paid and collected (completed)."""
    order = place_pickup(member, shop.store, (shop.milk, 2), (shop.chips, 1))
    pay_in_sandbox(member, order)
    actor = staff(shop)
    order_services.order_accept(actor=actor, order_id=order.pk)
    order_services.order_ready(actor=actor, order_id=order.pk)
    order.refresh_from_db()
    order_services.pickup_verify(actor=actor, store=shop.store, code=order.pickup_code)
    order.refresh_from_db()
    assert order.status == "completed"
    return order


def test_completed_order_offers_after_sales_and_no_code(member, collected):
    html = text_of(member.get(f"/orders/{collected.pk}/"))
    assert f'href="/orders/{collected.pk}/refund/">申请售后</a>' in html
    assert "data-pickup-code" not in html

    html = text_of(member.get(f"/orders/{collected.pk}/refund/"))
    assert "整单退款（最多 ¥107.30）" in html
    assert html.count("可退 ") == 2


def test_refund_request_for_some_units_with_a_reason(member, collected):
    milk_line = collected.lines.get(sku_code=collected.lines.order_by("id").first().sku_code)
    response = member.post(
        f"/orders/{collected.pk}/refund/",
        {"scope": "lines", f"qty_{milk_line.pk}": "1", "reason": "商品有质量问题", "detail": "盒子破了"},
        follow=True,
    )

    request = RefundRequest.objects.get(order=collected)
    assert request.status == "pending" and not request.whole_order and request.amount == 4990
    assert request.reason == "商品有质量问题；盒子破了"
    html = text_of(response)
    assert "售后申请已提交" in html and 'data-refund-status="pending"' in html and "待商家审核" in html
    assert "售后中" in html


def test_refund_request_needs_a_reason_and_units(member, collected):
    response = member.post(f"/orders/{collected.pk}/refund/", {"scope": "whole", "reason": ""})
    assert response.status_code == 400 and "请选择退款原因" in text_of(response)
    response = member.post(f"/orders/{collected.pk}/refund/", {"scope": "lines", "reason": "其他"})
    assert response.status_code == 400 and "请选择要退的商品和数量" in text_of(response)
    assert not RefundRequest.objects.filter(order=collected).exists()


def test_a_second_refund_request_while_one_is_open_is_refused(member, collected):
    member.post(f"/orders/{collected.pk}/refund/", {"scope": "whole", "reason": "不想要了"})
    response = member.post(f"/orders/{collected.pk}/refund/", {"scope": "whole", "reason": "不想要了"})

    assert response.status_code == 409
    assert "已有一个售后申请在处理中" in text_of(response)
    assert RefundRequest.objects.filter(order=collected).count() == 1


def test_an_unpaid_order_has_no_after_sales(member, placed):
    response = member.get(f"/orders/{placed.pk}/refund/")
    assert response.status_code == 302 and response["Location"] == f"/orders/{placed.pk}/"


# --- the list -------------------------------------------------------------------------------------------
def test_order_list_tabs(member, shop):
    unpaid = place_pickup(member, shop.store, (shop.milk, 1))
    paid = place_pickup(member, shop.store, (shop.chips, 1))
    pay_in_sandbox(member, paid)

    def numbers(tab):
        html = text_of(member.get("/orders/", {"tab": tab}))
        return [int(n) for n in re.findall(r'data-order="(\d+)"', html)]

    assert numbers("all") == [paid.pk, unpaid.pk]
    assert numbers("pending") == [unpaid.pk]
    assert numbers("active") == [paid.pk]
    assert numbers("done") == []
    assert numbers("aftersale") == []
    html = text_of(member.get("/orders/"))
    assert f'href="/orders/{unpaid.pk}/pay/">去支付</a>' in html
    assert 'class="active" aria-current="true">全部</a>' in html
    assert "还没有相关订单" in text_of(member.get("/orders/", {"tab": "done"}))


def test_order_list_pages_with_load_more(member, shop, monkeypatch):
    monkeypatch.setattr("mendian.web.storefront.orders.PAGE_SIZE", 2)
    orders = [place_pickup(member, shop.store, (shop.milk, 1)) for _ in range(3)]

    html = text_of(member.get("/orders/"))
    assert re.findall(r'data-order="(\d+)"', html) == [str(orders[2].pk), str(orders[1].pk)]
    more = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    page = text_of(member.get(more, headers={"HX-Request": "true"}))
    assert re.findall(r'data-order="(\d+)"', page) == [str(orders[0].pk)]
    assert 'id="order-more" hx-swap-oob="true"></div>' in page


def test_me_page_and_tab_bar_link_to_orders(member):
    html = text_of(member.get("/me/"))
    assert 'href="/orders/?tab=pending"' in html and "我的订单" in html
    assert re.search(r'<a href="/orders/" class="">.*订单</a>', html)


def test_orders_need_sign_in(shop):
    response = Client().get("/orders/")
    assert response.status_code == 302 and response["Location"] == "/me/?next=%2Forders%2F"


# --- other customers' orders -----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/orders/{id}/", "/orders/{id}/pay/", "/orders/{id}/refund/"])
def test_another_customers_order_is_not_found(placed, shop, path):
    stranger = signed_in(shop.store)

    response = stranger.get(path.format(id=placed.pk))

    assert response.status_code == 404
    assert "没有找到" in text_of(response)
    assert str(placed.number) not in text_of(response)


@pytest.mark.parametrize("action", ["cancel", "pay", "refund", "confirm"])
def test_another_customer_cannot_act_on_an_order(placed, shop, action):
    stranger = signed_in(shop.store)

    response = stranger.post(f"/orders/{placed.pk}/{action}/", {"provider": "sandbox", "reason": "其他"})

    assert response.status_code == 404
    placed.refresh_from_db()
    assert placed.status == "pending_payment"
    assert not Payment.objects.exists() and not RefundRequest.objects.exists()


def test_not_an_order_id_is_not_found(member):
    assert member.get("/orders/abc/").status_code == 404


# --- queries ------------------------------------------------------------------------------------------
def test_order_list_queries_do_not_grow_with_orders(member, shop):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert member.get("/orders/").status_code == 200
        return len(captured.captured_queries)

    for _ in range(2):
        place_pickup(member, shop.store, (shop.milk, 1), (shop.chips, 1))
    few = queries()
    for _ in range(4):
        place_pickup(member, shop.store, (shop.milk, 1), (shop.chips, 1))
    assert queries() == few
    assert few <= 9


def test_cart_and_order_pages_have_bounded_queries(member, placed, shop, django_assert_max_num_queries):
    for sku in (shop.milk, shop.chips, shop.tee_m):
        add(member, shop.store, sku, 1)
    with django_assert_max_num_queries(12):
        assert member.get("/cart/").status_code == 200
    with django_assert_max_num_queries(12):
        assert member.get(f"/orders/{placed.pk}/").status_code == 200
    with django_assert_max_num_queries(14):  # the store page's own reads, then the cart bar's four
        assert member.get(f"/stores/{shop.store.pk}/").status_code == 200
