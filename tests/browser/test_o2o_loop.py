"""The whole O2O loop in real Chromium, three people at once on one live server: a customer on a phone
orders for pickup and pays in the sandbox; the clerk, whose order queue is already open, sees it
arrive without a reload, accepts it, marks it ready and verifies the customer's pickup code (once
only); the customer sees it completed; the HQ operator sees the sale and its timeline. Then a
delivery address outside the store's radius gets the clear error and creates nothing.

Everyone signs in through the real pages: the customer by SMS code (the sandbox outbox), the clerk
and the HQ operator with a password, the HQ operator also with a TOTP code (MFA required).

Screenshots land in var/screenshots/loop-*.png (the customer at 390×844, staff at 1440×900)."""

import re
from urllib.parse import urlsplit

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from mendian.core.geo import gcj02_to_wgs84
from mendian.core.scope import Role
from mendian.orders.models import Order, OrderStatus
from tests.browser.conftest import DESKTOP, PHONE
from tests.factories import StaffFactory
from tests.web.storefront import test_buying

shop = test_buying.shop  # a chain with stock; 江汉路店 delivers within 3 km

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-9"
PHONE_CONTEXT = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
# A shared, busy machine: slow is not broken, but a stuck page must still fail in bounded time.
PATIENCE_MS = 30_000
CUSTOMER_PHONE = "13912345678"


def _patient(page):
    page.set_default_timeout(PATIENCE_MS)
    page.set_default_navigation_timeout(PATIENCE_MS)
    return page


def assert_fits_the_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} overflows horizontally ({width}px)"


def customer_signs_in_by_sms(page, base: str, phone: str, screenshot=None) -> None:
    """The storefront's 我的 page: ask for a code, read it from the sandbox outbox, sign in."""
    page.goto(f"{base}/me/?next=/")
    page.locator("#phone").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_role("status")).to_contain_text("验证码已发送")
    outbox = page.request.get(f"{base}/api/v1/dev/sms-outbox?phone={phone}")
    assert outbox.ok, outbox.text()
    code = outbox.json()["items"][0]["code"]
    page.locator("#code").fill(code)
    if screenshot:
        screenshot(page, "loop-customer-sms-login-phone")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base}/")


def staff_signs_in(page, base: str, console: str, username: str, otp: str = "") -> None:
    page.goto(f"{base}/{console}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    if otp:
        page.fill("#id_otp", otp)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"/{console}/$"))


@pytest.fixture
def staff(shop, settings):
    settings.REQUIRE_MFA = True  # HQ roles must prove a second factor; store roles need not
    StaffFactory(username="clerk", role=Role.STORE_CLERK, store=shop.store, display_name="张店员")
    boss = StaffFactory(
        username="boss", role=Role.MERCHANT_ADMIN, merchant=shop.merchant, display_name="王总"
    )
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    return {"otp": lambda: f"{totp(device.bin_key, step=device.step):06d}"}


def test_pickup_order_goes_from_phone_to_counter_to_hq(live_server, new_page, screenshot, shop, staff):
    base = live_server.url
    customer = _patient(new_page(PHONE, **PHONE_CONTEXT))
    clerk = _patient(new_page(DESKTOP))
    hq = _patient(new_page(DESKTOP))

    # The clerk opens the live queue first: nothing waiting yet.
    staff_signs_in(clerk, base, "store", "clerk")
    clerk.goto(f"{base}/store/orders/")
    expect(clerk.locator("[data-column=paid] .order-card")).to_have_count(0)
    clerk.evaluate("window.__sameDocument = true")

    # The customer signs in, picks the store, adds two products.
    customer_signs_in_by_sms(customer, base, CUSTOMER_PHONE, screenshot)
    customer.locator("[data-store-list] .store-card", has_text="江汉路店").click()
    customer.wait_for_url(re.compile(rf"/stores/{shop.store.pk}/$"))
    for name, count in (("蒙牛纯牛奶", "1"), ("乐事原味薯片", "2")):
        card = customer.locator(".product-card", has_text=name)
        card.get_by_role("button", name=re.compile("加入购物车")).click()
        expect(customer.locator("[data-cart-count]")).to_have_text(count)
    expect(customer.locator("[data-cart-total]")).to_have_text("¥57.40")
    assert_fits_the_phone(customer)
    screenshot(customer, "loop-customer-store-phone", full_page=False)

    # Checkout for pickup, pay on the sandbox's hosted page, come back to the code.
    customer.locator("#cartbar").get_by_role("link", name="去结算").click()
    customer.wait_for_url(re.compile(r"/checkout/$"))
    assert customer.locator("#pickup_at").input_value() == "asap"
    customer.locator("#contact_name").fill("小明")
    customer.locator("#contact_phone").fill(CUSTOMER_PHONE)
    assert_fits_the_phone(customer)
    screenshot(customer, "loop-customer-checkout-phone")
    customer.get_by_role("button", name="提交订单").click()
    customer.wait_for_url(re.compile(r"/orders/\d+/pay/$"))
    order = Order.objects.get(pk=re.search(r"/orders/(\d+)/pay/", customer.url).group(1))
    assert order.total == 5740 and order.fulfilment_type == "pickup"
    customer.get_by_role("button", name="确认支付 ¥57.40").click()
    customer.wait_for_url(re.compile(r"/sandbox-pay/[^/]+/confirm"))
    expect(customer.locator(".amount")).to_contain_text("¥57.40")
    screenshot(customer, "loop-customer-sandbox-pay-phone")
    customer.get_by_role("button", name="确认支付").click()
    expect(customer.locator("#result")).to_contain_text("支付成功")
    customer.get_by_role("link", name="返回商户查看订单").click()
    customer.wait_for_url(re.compile(rf"/orders/{order.pk}/$"))
    expect(customer.locator("[data-order-status]")).to_have_text("已支付")
    code = customer.locator("[data-code]").inner_text().replace(" ", "")
    assert re.fullmatch(r"\d{8}", code), code
    assert_fits_the_phone(customer)
    screenshot(customer, "loop-customer-paid-phone")

    # The clerk's open queue shows it without a reload, with the badge.
    card = clerk.locator(f"[data-column=paid] [data-order='{order.number}']")
    expect(card).to_be_visible(timeout=PATIENCE_MS)
    assert clerk.evaluate("window.__sameDocument") is True, "the queue page navigated"
    expect(clerk.locator("#nav-new-badge")).to_have_text("新订单 1")
    expect(card).to_contain_text("蒙牛纯牛奶")
    expect(card).to_contain_text("乐事原味薯片")
    screenshot(clerk, "loop-clerk-queue-arrived-desktop")

    card.get_by_role("button", name="接单").click()
    card = clerk.locator(f"[data-column=preparing] [data-order='{order.number}']")
    expect(card).to_be_visible()
    after_accept = urlsplit(clerk.url).path
    screenshot(clerk, "loop-clerk-after-accept-desktop")
    card.get_by_role("button", name="备货完成").click()
    card = clerk.locator(f"[data-column=ready_for_pickup] [data-order='{order.number}']")
    expect(card).to_be_visible()
    screenshot(clerk, "loop-clerk-queue-ready-desktop")

    # The storefront says 待自提 (the order's own label); the store console's column uses the same word.
    customer.reload()
    expect(customer.locator("[data-order-status]")).to_have_text("待自提")
    assert customer.locator("[data-code]").inner_text().replace(" ", "") == code
    screenshot(customer, "loop-customer-ready-phone")

    # At the counter: the clerk types the code the customer shows.
    card.get_by_role("link", name="核销取货码").click()
    expect(clerk.locator("h1")).to_have_text("核销取货")
    clerk.fill("#code", code)
    clerk.get_by_role("button", name="核销", exact=True).click()
    expect(clerk.locator(".handover")).to_contain_text("核销成功")
    expect(clerk.locator(".handover-lines")).to_contain_text("蒙牛纯牛奶")
    screenshot(clerk, "loop-clerk-pickup-done-desktop")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED

    clerk.fill("#code", code)
    clerk.get_by_role("button", name="核销", exact=True).click()
    expect(clerk.locator(".code-error")).to_contain_text("已核销过")
    screenshot(clerk, "loop-clerk-pickup-again-desktop")
    clerk.goto("about:blank")  # stop the queue's polling: the test server is single-threaded-ish

    customer.reload()
    expect(customer.locator("[data-order-status]")).to_have_text("已完成")
    assert_fits_the_phone(customer)
    screenshot(customer, "loop-customer-completed-phone")

    # HQ (password + TOTP) sees the sale with its store and total, and the timeline.
    staff_signs_in(hq, base, "hq", "boss", otp=staff["otp"]())
    hq.locator("nav.sidebar").get_by_role("link", name="订单").click()
    expect(hq.locator("h1")).to_have_text("订单")
    row = hq.locator(f"tr[data-order='{order.number}']")
    expect(row).to_contain_text("江汉路店")
    expect(row).to_contain_text("¥57.40")
    expect(row).to_contain_text("已完成")
    screenshot(hq, "loop-hq-orders-desktop", full_page=False)
    row.locator("a").first.click()
    expect(hq.locator("h1")).to_contain_text(order.number)
    timeline = hq.locator(".ops-timeline li")
    expect(timeline.first).to_be_visible()
    steps = " ".join(timeline.all_inner_texts())
    for status in ("已支付", "备货中", "待自提", "已完成"):
        assert status in steps, f"{status} missing from the HQ timeline: {steps}"
    assert "张店员" in steps  # who did it
    screenshot(hq, "loop-hq-order-detail-desktop")

    assert after_accept == "/store/orders/", f"after 接单 the clerk is on {after_accept}"


def test_delivery_address_outside_the_radius_is_refused_and_creates_nothing(
    live_server, new_page, screenshot, shop
):
    base = live_server.url
    lat, lng = gcj02_to_wgs84(30.5081, 114.3990)  # at 光谷, ~13 km from 江汉路店 (radius 3 km)
    customer = _patient(
        new_page(
            PHONE,
            geolocation={"latitude": lat, "longitude": lng},
            permissions=["geolocation"],
            **PHONE_CONTEXT,
        )
    )
    customer_signs_in_by_sms(customer, base, "13912340000")
    customer.locator("[data-store-list] .store-card", has_text="江汉路店").click()
    customer.wait_for_url(re.compile(rf"/stores/{shop.store.pk}/$"))
    card = customer.locator(".product-card", has_text="蒙牛纯牛奶")
    card.get_by_role("button", name=re.compile("加入购物车")).click()
    expect(customer.locator("[data-cart-count]")).to_have_text("1")
    customer.locator("#cartbar").get_by_role("link", name="去结算").click()
    customer.wait_for_url(re.compile(r"/checkout/$"))

    customer.get_by_role("link", name=re.compile("外卖配送")).click()
    customer.locator("[data-add-address]").click()
    customer.wait_for_url(re.compile(r"/checkout/address/$"))
    customer.locator("#contact_name").fill("李雷")
    customer.locator("#phone").fill("13700001234")
    customer.locator("#district").fill("洪山区")
    customer.locator("#address").fill("珞喻路1037号")
    customer.get_by_role("button", name=re.compile("定位")).click()
    expect(customer.locator("[data-located-text]")).to_contain_text("已定位")
    assert_fits_the_phone(customer)
    screenshot(customer, "loop-delivery-address-phone")
    customer.get_by_role("button", name="保存并使用").click()

    customer.wait_for_url(re.compile(r"/checkout/\?type=delivery&address=\d+$"))
    alert = customer.get_by_role("alert")
    expect(alert).to_contain_text("该地址不在 江汉路店 的配送范围内（3.0km 以内）")
    expect(alert).to_contain_text("选择到店自提")
    assert_fits_the_phone(customer)
    screenshot(customer, "loop-delivery-outside-radius-phone")

    customer.get_by_role("button", name="提交订单").click()
    customer.wait_for_load_state()
    expect(customer.get_by_role("alert")).to_contain_text("配送范围内")
    screenshot(customer, "loop-delivery-refused-phone")
    assert not Order.objects.exists()
