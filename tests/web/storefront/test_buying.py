"""The storefront's buying loop with Django's test client: the cart (bar, page, steppers, nearby
stores with everything), checkout (pickup and delivery, every refusal as a clear message, nothing
created) and placing an order once however often the form is sent.

Stores here are open all day (the factory's default) so checkout does not depend on the clock;
the closed-store cases use a paused store and one with no opening hours at all."""

import json
import re

import pytest
from django.test import Client

from mendian.catalog.models import Sku
from mendian.checkout.models import Address, CartLine
from mendian.core.scope import Actor
from mendian.inventory import services as inventory
from mendian.inventory.selectors import stock_available_for
from mendian.orders.models import Order
from tests.factories import CustomerFactory, MerchantFactory, StoreFactory
from tests.web.storefront.conftest import make_category, make_product, text_of

pytestmark = pytest.mark.django_db

NEAR = {"lat": "30.5850", "lng": "114.2900"}  # ~600 m from 江汉路店
FAR = {"lat": "30.5081", "lng": "114.3990"}  # 光谷, ~13 km away


class Shop:
    pass


def give(store, sku, qty):
    inventory.stock_adjust(
        actor=Actor.system(store.merchant_id), store=store, sku=sku, delta=qty, reason="found"
    )


@pytest.fixture
def shop(db):
    merchant = MerchantFactory(code="xianlin", name="鲜邻便利有限公司", brand_name="鲜邻便利")
    s = Shop()
    s.merchant = merchant
    s.store = StoreFactory(
        merchant=merchant,
        code="jh01",
        name="江汉路店",
        lat=30.5801,
        lng=114.2865,
        delivery_enabled=True,
        delivery_radius_m=3000,
        delivery_fee=500,
        delivery_free_over=3900,
        delivery_min_order=2000,
    )
    s.near = StoreFactory(merchant=merchant, code="jh02", name="王家墩店", lat=30.5980, lng=114.2660)
    s.far = StoreFactory(merchant=merchant, code="hs01", name="光谷广场店", lat=30.5081, lng=114.3990)
    s.paused = StoreFactory(merchant=merchant, code="ja01", name="汉口火车站店", status="paused")
    s.dark = StoreFactory(merchant=merchant, code="wc09", name="休业调整店", hours=[], delivery_enabled=True)
    food = make_category(merchant, "食品")
    clothes = make_category(merchant, "服饰")
    s.milk_product = make_product(merchant, food, "蒙牛纯牛奶 250ml×12盒", price=4990)
    s.chips_product = make_product(merchant, food, "乐事原味薯片", price=750)
    s.tee_product = make_product(
        merchant,
        clothes,
        "纯棉T恤",
        variants=[
            {"sku_code": "TEE-M", "specs": {"尺码": "M"}, "price": {"amount": 5900, "currency": "CNY"}},
            {"sku_code": "TEE-L", "specs": {"尺码": "L"}, "price": {"amount": 5900, "currency": "CNY"}},
        ],
    )
    s.milk = Sku.objects.get(product=s.milk_product)
    s.chips = Sku.objects.get(product=s.chips_product)
    s.tee_m = Sku.objects.get(sku_code="TEE-M")
    for store in (s.store, s.near, s.paused, s.dark):
        give(store, s.milk, 10)
    give(s.store, s.chips, 3)
    give(s.near, s.chips, 10)
    give(s.store, s.tee_m, 5)
    return s


def signed_in(store=None, customer=None) -> Client:
    client = Client()
    client.customer = customer or CustomerFactory(nickname="小明")
    session = client.session
    session["customer_id"] = client.customer.pk
    session.save()
    if store is not None:
        client.cookies["mendian_store"] = str(store.pk)
    return client


@pytest.fixture
def member(shop):
    return signed_in(shop.store)


def add(client, store, sku, quantity=1, **extra):
    return client.post(
        "/cart/add/",
        {"store_id": str(store.pk), "sku_id": str(sku.pk), "quantity": str(quantity), **extra},
        headers={"HX-Request": "true"},
    )


def toast(response) -> str:
    return json.loads(response["HX-Trigger"])["mendian:toast"]["text"]


def cart_quantities(customer, store) -> dict:
    return dict(
        CartLine.objects.filter(cart__customer=customer, cart__store=store).values_list(
            "sku__sku_code", "quantity"
        )
    )


def save_address(client, point=NEAR, **extra):
    body = {
        "contact_name": "李雷",
        "phone": "13700001234",
        "address": "江汉路1号3栋",
        "district": "江汉区",
        **point,
    }
    response = client.post("/checkout/address/", {**body, **extra})
    assert response.status_code == 302, text_of(response)
    return Address.objects.filter(customer=client.customer).order_by("-pk").first()


def checkout_form(html: str) -> dict:
    """The hidden idempotency key and what the checkout form would send as it is."""
    key = re.search(r'name="key" value="([0-9a-f]+)"', html).group(1)
    return {"key": key}


# --- the cart bar and adding ---------------------------------------------------------------------------
def test_store_page_shows_the_cart_bar_and_quick_add_buttons(member, shop):
    html = text_of(member.get(f"/stores/{shop.store.pk}/"))

    assert 'id="cartbar"' in html and "还没有选购商品" in html
    assert html.count('class="add-btn"') == 3  # milk, chips, tee: all in stock here

    add(member, shop.store, shop.milk, 2)
    html = text_of(member.get(f"/stores/{shop.store.pk}/"))
    assert '<span class="count" data-cart-count>2</span>' in html
    assert "¥99.80" in html and "去结算" in html
    assert '<span class="dot" data-tab-count>2</span>' in html


def test_visitors_see_a_bar_that_asks_them_to_sign_in_and_adding_goes_to_sign_in(shop):
    client = Client()
    html = text_of(client.get(f"/stores/{shop.store.pk}/"))
    assert "登录后可加入购物车" in html

    response = add(client, shop.store, shop.milk)
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/me/?next=")
    assert not CartLine.objects.exists()


def test_adding_returns_the_refreshed_bar_and_a_toast(member, shop):
    response = add(member, shop.store, shop.milk)

    html = text_of(response)
    assert response.status_code == 200
    assert 'id="cartbar"' in html and "¥49.90" in html
    assert toast(response) == "已加入购物车"
    response = add(member, shop.store, shop.milk, 3)
    assert cart_quantities(member.customer, shop.store) == {shop.milk.sku_code: 4}


def test_adding_more_than_the_store_has_is_refused_with_the_stock_left(member, shop):
    add(member, shop.store, shop.chips, 3)
    response = add(member, shop.store, shop.chips)

    assert toast(response) == "库存不足，本店仅剩 3 件"
    assert cart_quantities(member.customer, shop.store) == {shop.chips.sku_code: 3}


def test_a_product_card_with_several_specs_sends_the_customer_to_choose_one(member, shop):
    response = member.post(
        "/cart/add/",
        {"store_id": str(shop.store.pk), "product_id": str(shop.tee_product.pk)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/stores/{shop.store.pk}/products/{shop.tee_product.pk}/"

    response = member.post(
        "/cart/add/",
        {"store_id": str(shop.store.pk), "product_id": str(shop.chips_product.pk)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert cart_quantities(member.customer, shop.store) == {shop.chips.sku_code: 1}


def test_product_page_add_to_cart_and_buy_now(member, shop):
    html = text_of(member.get(f"/stores/{shop.store.pk}/products/{shop.milk_product.pk}/"))
    assert "data-buy-form" in html and 'name="then" value="checkout"' in html
    assert "disabled" not in re.search(
        r'<button type="submit" class="btn btn-accent" data-buy[^>]*>', html
    ).group(0)

    response = add(member, shop.store, shop.milk, then="checkout")
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/checkout/"


def test_without_javascript_adding_redirects_back_with_a_message(member, shop):
    page = f"/stores/{shop.store.pk}/products/{shop.milk_product.pk}/"
    response = member.post(
        "/cart/add/", {"store_id": str(shop.store.pk), "sku_id": str(shop.milk.pk), "next": page}, follow=True
    )
    assert response.redirect_chain[-1][0] == page
    assert "已加入购物车" in text_of(response)


# --- the cart page -------------------------------------------------------------------------------------
def test_cart_page_lists_lines_with_steppers_and_the_priced_explanation(member, shop):
    add(member, shop.store, shop.milk, 2)
    add(member, shop.store, shop.chips, 1)

    response = member.get("/cart/")
    html = text_of(response)
    assert response.status_code == 200
    assert "蒙牛纯牛奶 250ml×12盒" in html and "乐事原味薯片" in html
    assert re.findall(r'<span class="qty" data-qty>(\d+)</span>', html) == ["2", "1"]
    assert "商品金额" in html and "¥107.30" in html.replace('<span class="cur">¥</span>', "¥").replace(
        '<span class="dec">', ""
    ).replace("</span>", "")
    assert 'href="/checkout/" data-checkout' in html
    assert "data-shortage" not in html


def test_steppers_change_and_remove_lines(member, shop):
    add(member, shop.store, shop.milk, 2)
    add(member, shop.store, shop.chips, 1)
    body = {"store_id": str(shop.store.pk), "sku_id": str(shop.milk.pk)}

    response = member.post("/cart/set/", {**body, "quantity": "3"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="cart-main"' in text_of(response)
    assert cart_quantities(member.customer, shop.store)[shop.milk.sku_code] == 3

    member.post("/cart/set/", {**body, "quantity": "0"}, headers={"HX-Request": "true"})
    assert cart_quantities(member.customer, shop.store) == {shop.chips.sku_code: 1}

    response = member.post(
        "/cart/set/", {**body, "sku_id": str(shop.chips.pk), "quantity": "0"}, headers={"HX-Request": "true"}
    )
    assert response["HX-Refresh"] == "true"  # the last line went: the empty cart page
    assert "购物车还是空的" in text_of(member.get("/cart/"))


def test_short_lines_are_marked_and_nearby_stores_with_everything_are_offered(member, shop):
    add(member, shop.store, shop.milk, 1)
    add(member, shop.store, shop.chips, 3)
    # Someone else buys two bags: only one is left here.
    inventory.stock_adjust(
        actor=Actor.system(shop.merchant.pk), store=shop.store, sku=shop.chips, delta=-2, reason="damaged"
    )

    html = text_of(member.get("/cart/"))
    assert "库存不足，仅剩 1 件" in html
    assert "state-short" in html
    assert "去结算</span>" in html and 'aria-disabled="true" title="请先处理标出的商品"' in html
    # 王家墩店 has milk and 10 bags of chips; 光谷 has no chips; the paused store takes no orders.
    offered = re.findall(r'<div class="ellipsis"><b>([^<]+)</b>', html)
    assert offered == ["王家墩店"]


def test_switching_store_moves_the_cart_there(member, shop):
    add(member, shop.store, shop.milk, 1)
    add(member, shop.store, shop.chips, 3)

    response = member.post("/cart/switch/", {"store_id": str(shop.near.pk)})

    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert response.cookies["mendian_store"].value == str(shop.near.pk)
    assert cart_quantities(member.customer, shop.near) == {shop.milk.sku_code: 1, shop.chips.sku_code: 3}
    assert cart_quantities(member.customer, shop.store) == {}


def test_cart_without_sign_in_keeps_the_empty_state(shop):
    client = Client()
    client.cookies["mendian_store"] = str(shop.store.pk)
    html = text_of(client.get("/cart/"))
    assert "购物车还是空的" in html and "登录后查看购物车" in html


# --- checkout: pickup --------------------------------------------------------------------------------
def test_checkout_page_offers_pickup_times_and_defaults_the_contact_to_the_member(member, shop):
    add(member, shop.store, shop.milk, 1)

    response = member.get("/checkout/")
    html = text_of(response)
    assert response.status_code == 200
    assert '<option value="asap" selected>尽快取货（约 15 分钟后）</option>' in html
    assert '<optgroup label="明天">' in html
    assert 'value="小明"' in html and f'value="{member.customer.phone}"' in html
    assert "实付" in html and "¥49.90" in html


def test_pickup_order_is_placed_once_however_often_the_form_is_sent(member, shop):
    add(member, shop.store, shop.milk, 2)
    form = checkout_form(text_of(member.get("/checkout/")))
    body = {
        **form,
        "type": "pickup",
        "pickup_at": "asap",
        "contact_name": "小红",
        "contact_phone": "13800001234",
    }

    first = member.post("/checkout/", body)
    second = member.post("/checkout/", body)

    order = Order.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/orders/{order.pk}/pay/"
    assert second["Location"] == first["Location"]
    assert order.contact_name == "小红" and order.contact_phone == "13800001234"
    assert order.total == 9980 and order.fulfilment_type == "pickup"
    assert cart_quantities(member.customer, shop.store) == {}
    assert stock_available_for(store_id=shop.store.pk, sku_ids=[shop.milk.pk])[shop.milk.pk] == 8


def test_pickup_needs_a_contact(member, shop):
    add(member, shop.store, shop.milk, 1)
    form = checkout_form(text_of(member.get("/checkout/")))

    response = member.post(
        "/checkout/",
        {**form, "type": "pickup", "pickup_at": "asap", "contact_name": "", "contact_phone": "123"},
    )
    html = text_of(response)
    assert response.status_code == 400
    assert "请填写取货人姓名" in html
    assert not Order.objects.exists()

    response = member.post(
        "/checkout/",
        {**form, "type": "pickup", "pickup_at": "asap", "contact_name": "小红", "contact_phone": "123"},
    )
    assert response.status_code == 422
    assert "请输入正确的手机号" in text_of(response)
    assert not Order.objects.exists()


def test_a_closed_store_takes_no_order_but_offers_a_pickup_time(shop):
    member = signed_in(shop.dark)
    add(member, shop.dark, shop.milk, 1)
    html = text_of(member.get("/checkout/"))
    assert "今明两天没有可预约的取货时间" in html

    form = checkout_form(html)
    response = member.post(
        "/checkout/",
        {
            **form,
            "type": "pickup",
            "pickup_at": "asap",
            "contact_name": "小明",
            "contact_phone": "13800001234",
        },
    )
    assert response.status_code == 409
    assert "休业调整店 现在休息中，暂不接单" in text_of(response)
    assert not Order.objects.exists()


def test_a_paused_store_says_store_closed(shop):
    member = signed_in(shop.paused)
    add_response = add(member, shop.paused, shop.milk, 1)
    assert add_response.status_code == 200
    form = checkout_form(text_of(member.get("/checkout/")))

    response = member.post(
        "/checkout/",
        {
            **form,
            "type": "pickup",
            "pickup_at": "asap",
            "contact_name": "小明",
            "contact_phone": "13800001234",
        },
    )
    html = text_of(response)
    assert response.status_code == 409
    assert 'data-error="store_closed"' in html and "汉口火车站店 暂停营业，暂时不能下单" in html
    assert not Order.objects.exists()


def test_out_of_stock_at_checkout_offers_to_switch(member, shop):
    add(member, shop.store, shop.chips, 3)
    form = checkout_form(text_of(member.get("/checkout/")))
    inventory.stock_adjust(
        actor=Actor.system(shop.merchant.pk), store=shop.store, sku=shop.chips, delta=-1, reason="damaged"
    )

    response = member.post(
        "/checkout/",
        {
            **form,
            "type": "pickup",
            "pickup_at": "asap",
            "contact_name": "小明",
            "contact_phone": "13800001234",
        },
    )
    html = text_of(response)
    assert response.status_code == 409
    assert "库存不足：乐事原味薯片" in html
    assert "data-alternatives" in html and "王家墩店" in html
    assert not Order.objects.exists()


# --- checkout: delivery --------------------------------------------------------------------------------
def test_address_form_saves_an_encrypted_address_and_returns_to_delivery(member, shop):
    response = member.post(
        "/checkout/address/",
        {
            "contact_name": "李雷",
            "phone": "13700001234",
            "address": "江汉路1号3栋",
            "district": "江汉区",
            **NEAR,
        },
    )
    address = Address.objects.get(customer=member.customer)
    assert response["Location"] == f"/checkout/?type=delivery&address={address.pk}"
    assert address.phone == "13700001234" and address.is_default
    with __import__("django.db").db.connection.cursor() as cursor:
        cursor.execute("SELECT phone, address FROM checkout_address WHERE id = %s", [address.pk])
        stored_phone, stored_address = cursor.fetchone()
    assert "13700001234" not in stored_phone and "江汉路" not in stored_address


def test_address_form_without_a_location_explains_what_is_missing(member, shop):
    response = member.post("/checkout/address/", {"contact_name": "李雷", "phone": "1370", "address": ""})
    html = text_of(response)
    assert response.status_code == 400
    assert "请点击“定位”获取收货位置" in html and "请输入正确的手机号" in html and "请填写详细地址" in html
    assert not Address.objects.exists()


def test_delivery_outside_the_radius_is_a_clear_error_and_creates_nothing(member, shop):
    add(member, shop.store, shop.milk, 1)
    address = save_address(member, FAR)

    html = text_of(member.get(f"/checkout/?type=delivery&address={address.pk}"))
    assert 'data-error="outside_delivery_area"' in html
    assert "该地址不在 江汉路店 的配送范围内（3.0km 以内）" in html

    response = member.post(
        "/checkout/", {**checkout_form(html), "type": "delivery", "address": str(address.pk)}
    )
    assert response.status_code == 422
    assert "配送范围内" in text_of(response)
    assert not Order.objects.exists()


def test_delivery_below_the_minimum_order_says_how_much(member, shop):
    add(member, shop.store, shop.chips, 1)  # 7.50 < 20.00
    address = save_address(member)

    html = text_of(member.get(f"/checkout/?type=delivery&address={address.pk}"))
    assert "配送订单满 ¥20.00 起送" in html
    response = member.post(
        "/checkout/", {**checkout_form(html), "type": "delivery", "address": str(address.pk)}
    )
    assert response.status_code == 422
    assert not Order.objects.exists()


def test_delivery_quote_shows_the_fee_and_free_over(member, shop):
    add(member, shop.store, shop.chips, 3)  # 22.50: fee 5.00
    address = save_address(member)
    html = text_of(member.get(f"/checkout/?type=delivery&address={address.pk}"))
    assert "配送费" in html and "¥5.00" in html and "满 ¥39.00 免配送费" in html
    assert re.search(r"距离 \d+m", html)

    add(member, shop.store, shop.milk, 1)  # 72.40: free
    html = text_of(member.get(f"/checkout/?type=delivery&address={address.pk}"))
    assert '<s class="muted">¥5.00</s> 免配送费' in html


def test_delivery_order_is_placed(member, shop):
    add(member, shop.store, shop.milk, 1)
    address = save_address(member)
    html = text_of(member.get(f"/checkout/?type=delivery&address={address.pk}"))

    response = member.post(
        "/checkout/", {**checkout_form(html), "type": "delivery", "address": str(address.pk)}
    )

    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/pay/"
    assert order.fulfilment_type == "delivery" and order.delivery_fee == 0 and order.total == 4990
    assert order.delivery_address == "江汉路1号3栋" and order.contact_name == "李雷"


def test_delivery_needs_an_address(member, shop):
    add(member, shop.store, shop.milk, 1)
    html = text_of(member.get("/checkout/?type=delivery"))
    assert "还没有收货地址" in html and 'href="/checkout/address/"' in html


def test_checkout_pages_need_sign_in_and_a_cart(shop):
    client = Client()
    response = client.get("/checkout/")
    assert response.status_code == 302 and response["Location"] == "/me/?next=%2Fcheckout%2F"

    member = signed_in(shop.store)
    response = member.get("/checkout/")
    assert response.status_code == 302 and response["Location"] == "/cart/"


def test_sign_in_comes_back_to_checkout(shop, monkeypatch):
    from mendian.accounts.models import Customer

    customer = CustomerFactory()
    monkeypatch.setattr(
        "mendian.accounts.services.customer_login_with_sms",
        lambda **kwargs: (Customer.objects.get(pk=customer.pk), {}),
    )
    client = Client()
    html = text_of(client.get("/me/?next=/checkout/"))
    assert '<input type="hidden" name="next" value="/checkout/">' in html

    response = client.post(
        "/me/", {"action": "login", "phone": customer.phone, "code": "123456", "next": "/checkout/"}
    )
    assert response.status_code == 302 and response["Location"] == "/checkout/"
