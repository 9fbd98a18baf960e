"""The consoles in a real browser: an HQ operator sets up a store and a product that customers then
see on the storefront; a store clerk works in the store console and is kept out of HQ.

Screenshots (1440x900 and 390x844) land in var/screenshots/console-*.png for people to look at.
"""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from mendian.catalog.models import Product
from mendian.core.scope import Role
from mendian.stores.models import OpeningHours, Store
from tests.browser.conftest import DESKTOP, PHONE
from tests.factories import MerchantFactory, StaffFactory, StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-9"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 320), (240, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _sign_in(page, base: str, console: str, username: str) -> None:
    page.goto(f"{base}/{console}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def chain(db):
    merchant = MerchantFactory(code="acme", name="极客便利")
    home = StoreFactory(merchant=merchant, code="jh001", name="江汉路店")
    StoreFactory(merchant=merchant, code="wc002", name="武昌站店", lat=30.529, lng=114.316)
    StaffFactory(username="boss", role=Role.MERCHANT_ADMIN, merchant=merchant, display_name="王总")
    StaffFactory(username="clerk", role=Role.STORE_CLERK, store=home, display_name="张店员")
    StaffFactory(username="manager", role=Role.STORE_MANAGER, store=home, display_name="李店长")
    return {"merchant": merchant, "home": home}


def test_hq_operator_sets_up_a_store_and_a_product_that_customers_see(
    live_server, chain, desktop_page, new_page, screenshot
):
    page, base = desktop_page, live_server.url
    _sign_in(page, base, "hq", "boss")
    expect(page.locator("h1")).to_have_text("概览")
    screenshot(page, "console-hq-dashboard-desktop")

    # A category to put the product in.
    page.goto(f"{base}/hq/categories/")
    page.fill("#id_name", "饮料")
    page.fill("#id_icon", "🥤")
    page.get_by_role("button", name="创建").click()
    expect(page.locator("table.tree")).to_contain_text("饮料")

    # A new store: 09:00-21:00 by default; Friday runs past midnight, Saturday has a lunch break,
    # Sunday is closed.
    page.goto(f"{base}/hq/stores/new/")
    page.fill("#id_code", "gg009")
    page.fill("#id_name", "光谷新店")
    page.fill("#id_city", "武汉市")
    page.fill("#id_district", "洪山区")
    page.fill("#id_address", "珞喻路 1 号")
    page.fill("#id_lat", "30.5055")
    page.fill("#id_lng", "114.3990")
    page.fill("#id_delivery_fee", "5")
    friday = page.locator("fieldset[data-day='4']")
    friday.locator("input[name='h4-open']").fill("18:00")
    friday.locator("input[name='h4-close']").fill("02:00")
    expect(friday.locator("[data-next-day]")).to_be_visible()
    saturday = page.locator("fieldset[data-day='5']")
    saturday.locator("input[name='h5-close']").fill("12:00")
    saturday.get_by_role("button", name="添加时段").click()
    saturday.locator("input[name='h5-open']").nth(1).fill("14:00")
    saturday.locator("input[name='h5-close']").nth(1).fill("20:00")
    sunday = page.locator("fieldset[data-day='6']")
    sunday.get_by_text("休息", exact=True).click()
    expect(sunday.locator("[data-spans]")).to_be_hidden()
    page.get_by_role("button", name="创建门店").click()
    expect(page.locator(".messages")).to_contain_text("已创建")
    store = Store.objects.get(code="gg009")
    assert list(OpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes")) == [
        (0, *_t("09:00", "21:00")),
        (1, *_t("09:00", "21:00")),
        (2, *_t("09:00", "21:00")),
        (3, *_t("09:00", "21:00")),
        (4, *_t("18:00", "02:00")),
        (5, *_t("09:00", "12:00")),
        (5, *_t("14:00", "20:00")),
    ]
    screenshot(page, "console-hq-store-edit-desktop")

    # A product with two variants and a photo.
    page.goto(f"{base}/hq/products/new/")
    page.fill("#id_name", "冰红茶")
    page.select_option("#id_category", label="饮料")
    page.fill("#id_spec_1", "规格")
    expect(page.locator("[data-spec-label='1']")).to_have_text("规格")
    page.fill("#id_v-0-value_1", "500ml")
    page.fill("#id_v-0-sku_code", "TEA-500")
    page.fill("#id_v-0-barcode", "6901234567892")
    page.fill("#id_v-0-price", "3.50")
    page.get_by_role("button", name="添加 SKU").click()
    page.fill("#id_v-1-value_1", "1L")
    page.fill("#id_v-1-sku_code", "TEA-1000")
    page.fill("#id_v-1-price", "6")
    page.set_input_files("#id_images", files=[{"name": "tea.png", "mimeType": "image/png", "buffer": _png()}])
    page.get_by_role("button", name="创建商品").click()
    expect(page.locator(".messages")).to_contain_text("已创建")
    product = Product.objects.get(name="冰红茶")
    assert sorted(product.variants.values_list("sku_code", "price")) == [("TEA-1000", 600), ("TEA-500", 350)]
    expect(page.locator("#images img")).to_have_count(1)
    screenshot(page, "console-hq-product-edit-desktop")

    # A store price at the new store.
    page.goto(f"{base}/hq/listings/?store={store.pk}")
    sku = product.variants.get(sku_code="TEA-500")
    page.fill(f"input[name='price_{sku.pk}']", "3.20")
    page.get_by_role("button", name="保存变更").click()
    expect(page.locator(".messages")).to_contain_text("已保存")
    screenshot(page, "console-hq-listings-desktop")

    page.goto(f"{base}/hq/stores/")
    expect(page.locator("table")).to_contain_text("光谷新店")
    screenshot(page, "console-hq-stores-desktop")
    page.goto(f"{base}/hq/staff/")
    expect(page.locator("table")).to_contain_text("张店员")
    screenshot(page, "console-hq-staff-desktop")

    # Customers see the new store and the product at its store price.
    shopper = new_page(PHONE)
    shopper.goto(f"{base}/stores/{store.pk}/")
    expect(shopper.locator("body")).to_contain_text("光谷新店")
    expect(shopper.locator("body")).to_contain_text("冰红茶")
    expect(shopper.locator("body")).to_contain_text("3.2")

    # The same pages on a phone.
    phone = new_page(PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    _sign_in(phone, base, "hq", "boss")
    for name, path in (
        ("dashboard", "/hq/"),
        ("stores", "/hq/stores/"),
        ("store-edit", f"/hq/stores/{store.pk}/"),
        ("product-edit", f"/hq/products/{product.pk}/"),
        ("listings", f"/hq/listings/?store={store.pk}"),
        ("staff", "/hq/staff/"),
    ):
        phone.goto(base + path)
        expect(phone.locator("h1")).to_be_visible()
        # Nothing may stick out sideways on a phone.
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px too wide on a phone"
        screenshot(phone, f"console-hq-{name}-phone")


def _t(opens: str, closes: str):
    import datetime as dt

    return dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)


def test_store_clerk_works_in_the_store_console_and_is_kept_out_of_hq(
    live_server, chain, new_page, screenshot
):
    base = live_server.url
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = new_page(viewport)
        _sign_in(page, base, "store", "clerk")
        expect(page.locator("h1")).to_have_text("江汉路店")
        expect(page.locator(".hero-card")).to_contain_text("营业中")
        screenshot(page, f"console-store-dashboard-{label}")

        for path in ("/hq/", "/hq/stores/", "/hq/products/new/", "/hq/staff/"):
            response = page.goto(base + path)
            assert response.status == 403
            expect(page.locator("h1")).to_have_text("无权访问总部控制台")
            expect(page.locator("body")).not_to_contain_text("武昌站店")

        # Signing in at the HQ door does not work either.
        page.goto(f"{base}/store/")
        page.get_by_role("button", name="退出登录").click()
        _sign_in(page, base, "hq", "clerk")
        expect(page.locator(".notice.error")).to_contain_text("无权访问总部控制台")


def test_store_manager_pauses_the_store_after_confirming(live_server, chain, new_page, screenshot):
    base = live_server.url
    page = new_page(PHONE)
    _sign_in(page, base, "store", "manager")
    page.goto(f"{base}/store/profile/")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="暂停营业").click()
    assert Store.objects.get(code="jh001").status == "open"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="暂停营业").click()
    expect(page.locator(".messages")).to_contain_text("门店已暂停营业")
    assert Store.objects.get(code="jh001").status == "paused"
    expect(page.get_by_role("button", name="恢复营业")).to_be_visible()
    screenshot(page, "console-store-profile-phone")
    assert re.search(r"/store/profile/", page.url)
