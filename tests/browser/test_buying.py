"""The buying loop in real Chromium at a phone's size: pick a store, add to the cart, check out for
pickup, pay on the sandbox's hosted page, come back to a paid order with its pickup code; and a
delivery address outside the store's radius gets the clear error."""

import re
from importlib import import_module

import pytest
from django.conf import settings
from playwright.sync_api import expect

from mendian.core.geo import gcj02_to_wgs84
from mendian.orders.models import Order
from tests.browser.conftest import PHONE
from tests.factories import CustomerFactory
from tests.web.storefront import test_buying

shop = test_buying.shop  # the buying tests' chain with stock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_CONTEXT = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def assert_fits_the_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} overflows horizontally ({width}px)"


def sign_in(page, live_server, customer):
    """The session the SMS sign-in would leave (that page has its own browser test)."""
    page.set_default_timeout(30_000)  # a shared, busy machine: slow is not broken
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["customer_id"] = customer.pk
    store.create()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": live_server.url}]
    )


def test_customer_orders_for_pickup_and_pays_in_the_sandbox(live_server, new_page, screenshot, shop):
    customer = CustomerFactory(nickname="小明")
    page = new_page(PHONE, **PHONE_CONTEXT)
    sign_in(page, live_server, customer)

    page.goto(live_server.url + "/")
    page.locator("[data-store-list] .store-card", has_text="江汉路店").click()
    page.wait_for_url(re.compile(rf"/stores/{shop.store.pk}/$"))
    assert "还没有选购商品" in page.locator("#cartbar").inner_text()

    card = page.locator(".product-card", has_text="蒙牛纯牛奶")
    card.get_by_role("button", name=re.compile("加入购物车")).click()
    page.locator("[data-cart-count]").wait_for()
    assert page.locator("[data-cart-count]").inner_text() == "1"
    card.get_by_role("button", name=re.compile("加入购物车")).click()
    expect(page.locator("[data-cart-count]")).to_have_text("2")
    assert page.locator("[data-cart-total]").inner_text() == "¥99.80"
    assert page.locator(".tabbar [data-tab-count]").inner_text() == "2"
    assert_fits_the_phone(page)
    screenshot(page, "buying-store-cartbar-phone", full_page=False)

    page.locator(".tabbar").get_by_role("link", name=re.compile("购物车")).click()
    page.wait_for_url(re.compile(r"/cart/$"))
    page.get_by_role("button", name="减少").click()
    expect(page.locator("[data-qty]")).to_have_text("1")
    page.get_by_role("button", name="增加").click()
    expect(page.locator("[data-qty]")).to_have_text("2")
    assert "¥99.80" in page.locator("[data-quote]").inner_text().replace("\n", "")
    assert_fits_the_phone(page)
    screenshot(page, "buying-cart-phone")

    page.get_by_role("link", name="去结算").click()
    page.wait_for_url(re.compile(r"/checkout/$"))
    assert page.locator("#pickup_at").input_value() == "asap"
    assert page.locator("#contact_name").input_value() == "小明"
    page.locator("#contact_name").fill("小红")  # collecting for a friend
    page.locator("#contact_phone").fill("13800001234")
    assert_fits_the_phone(page)
    screenshot(page, "buying-checkout-pickup-phone")

    page.get_by_role("button", name="提交订单").click()
    page.wait_for_url(re.compile(r"/orders/\d+/pay/$"))
    order = Order.objects.get(customer=customer)
    assert order.contact_name == "小红" and order.total == 9980
    assert re.match(r"剩余支付时间 1[45]:\d\d", page.locator("[data-countdown-to]").inner_text())
    screenshot(page, "buying-pay-phone")

    page.get_by_role("button", name="确认支付 ¥99.80").click()
    page.wait_for_url(re.compile(r"/sandbox-pay/[^/]+/confirm"))
    assert "¥99.80" in page.locator(".amount").inner_text()
    page.get_by_role("button", name="确认支付").click()
    page.locator("#result", has_text="支付成功").wait_for()
    page.get_by_role("link", name="返回商户查看订单").click()
    page.wait_for_url(re.compile(rf"/orders/{order.pk}/$"))

    order.refresh_from_db()
    assert order.status == "paid"
    assert page.locator("[data-order-status]").inner_text() == "已支付"
    assert page.locator("[data-code]").inner_text().replace(" ", "") == order.pickup_code
    assert page.locator(".pickup-code svg").is_visible()
    assert page.locator(".progress li.current").inner_text() == "已支付"
    assert_fits_the_phone(page)
    screenshot(page, "buying-order-paid-phone")

    page.goto(live_server.url + "/orders/")
    assert page.locator(f'[data-order="{order.pk}"] .order-status').inner_text() == "已支付"
    screenshot(page, "buying-orders-phone", full_page=False)


def test_delivery_address_outside_the_radius_gets_the_clear_error(live_server, new_page, screenshot, shop):
    lat, lng = gcj02_to_wgs84(30.5081, 114.3990)  # at 光谷, 13 km from 江汉路店 (radius 3 km)
    page = new_page(
        PHONE, geolocation={"latitude": lat, "longitude": lng}, permissions=["geolocation"], **PHONE_CONTEXT
    )
    customer = CustomerFactory(nickname="小明")
    sign_in(page, live_server, customer)

    page.goto(f"{live_server.url}/stores/{shop.store.pk}/products/{shop.milk_product.pk}/")
    page.get_by_role("button", name="加入购物车").click()
    page.locator("[data-cart-count]").wait_for()
    page.get_by_role("link", name="去结算").click()
    page.wait_for_url(re.compile(r"/checkout/$"))

    page.get_by_role("link", name=re.compile("外卖配送")).click()
    assert "还没有收货地址" in page.content()
    page.locator("[data-add-address]").click()
    page.wait_for_url(re.compile(r"/checkout/address/$"))
    page.locator("#contact_name").fill("李雷")
    page.locator("#phone").fill("13700001234")
    page.locator("#district").fill("洪山区")
    page.locator("#address").fill("珞喻路1037号")
    page.get_by_role("button", name=re.compile("定位")).click()
    page.locator("[data-located-text]", has_text="已定位").wait_for()
    screenshot(page, "buying-address-phone")
    page.get_by_role("button", name="保存并使用").click()

    page.wait_for_url(re.compile(r"/checkout/\?type=delivery&address=\d+$"))
    alert = page.get_by_role("alert")
    assert "该地址不在 江汉路店 的配送范围内（3.0km 以内）" in alert.inner_text()
    assert "选择到店自提" in alert.inner_text()
    assert_fits_the_phone(page)
    screenshot(page, "buying-checkout-outside-radius-phone")

    page.get_by_role("button", name="提交订单").click()
    page.wait_for_load_state()
    assert "配送范围内" in page.get_by_role("alert").inner_text()
    assert not Order.objects.exists()


def test_short_cart_offers_a_nearby_store_with_everything(live_server, new_page, screenshot, shop):
    from mendian.core.scope import Actor
    from mendian.inventory import services as inventory

    customer = CustomerFactory(nickname="小明")
    page = new_page(PHONE, **PHONE_CONTEXT)
    sign_in(page, live_server, customer)
    page.goto(f"{live_server.url}/stores/{shop.store.pk}/")
    card = page.locator(".product-card", has_text="乐事原味薯片")
    for count in ("1", "2", "3"):
        card.get_by_role("button", name=re.compile("加入购物车")).click()
        expect(page.locator("[data-cart-count]")).to_have_text(count)
    inventory.stock_adjust(
        actor=Actor.system(shop.merchant.pk), store=shop.store, sku=shop.chips, delta=-2, reason="damaged"
    )

    page.goto(live_server.url + "/cart/")
    assert page.locator("[data-line-note]").inner_text() == "库存不足，仅剩 1 件"
    offer = page.locator("[data-alt-store]")
    assert offer.count() == 1 and "王家墩店" in offer.inner_text()
    assert_fits_the_phone(page)
    screenshot(page, "buying-cart-short-phone")

    offer.get_by_role("button", name="切换到此店").click()
    page.locator(".message", has_text="已切换到 王家墩店").wait_for()
    assert "王家墩店" in page.locator(".store-strip").inner_text()
    assert page.locator("[data-shortage]").count() == 0
    assert page.locator("[data-qty]").inner_text() == "3"


def test_customer_manages_saved_addresses_from_me(live_server, new_page, screenshot, shop):
    lat, lng = gcj02_to_wgs84(30.5850, 114.2900)
    page = new_page(
        PHONE, geolocation={"latitude": lat, "longitude": lng}, permissions=["geolocation"], **PHONE_CONTEXT
    )
    sign_in(page, live_server, CustomerFactory(nickname="小明"))

    page.goto(live_server.url + "/me/")
    page.locator("[data-addresses-link]").click()
    page.wait_for_url(re.compile(r"/me/addresses/$"))
    expect(page.locator(".empty")).to_contain_text("还没有收货地址")
    for name, street in (("李雷", "江汉路1号3栋"), ("韩梅梅", "中山大道818号")):
        page.locator("[data-add-address]").click()
        page.locator("#contact_name").fill(name)
        page.locator("#phone").fill("13700001234")
        page.locator("#address").fill(street)
        page.get_by_role("button", name=re.compile("定位")).click()
        page.locator("[data-located-text]", has_text="已定位").wait_for()
        page.get_by_role("button", name="保存地址").click()
        page.wait_for_url(re.compile(r"/me/addresses/$"))
    cards = page.locator("[data-address]")
    expect(cards).to_have_count(2)
    expect(cards.first.locator("[data-default]")).to_be_visible()  # the first one saved
    assert_fits_the_phone(page)
    screenshot(page, "addresses-book-phone")

    second = cards.filter(has_text="韩梅梅")
    second.get_by_role("link", name="编辑").click()
    page.locator("#address").fill("中山大道820号")
    screenshot(page, "addresses-edit-phone")
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url(re.compile(r"/me/addresses/$"))
    expect(cards.filter(has_text="韩梅梅")).to_contain_text("中山大道820号")

    cards.filter(has_text="韩梅梅").get_by_role("button", name="设为默认").click()
    expect(cards.first).to_contain_text("韩梅梅")
    expect(cards.first.locator("[data-default]")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    cards.filter(has_text="李雷").get_by_role("button", name="删除").click()
    expect(cards).to_have_count(1)
    expect(page.get_by_text("地址已删除")).to_be_visible()
