"""The storefront in real Chromium at a phone's size: locate, choose a store, open a product, pick a spec."""

import re

import pytest
from playwright.sync_api import expect

from mendian.core.geo import gcj02_to_wgs84
from tests.browser.conftest import DESKTOP, PHONE
from tests.web.storefront.conftest import chain, frozen_now  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_CONTEXT = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def assert_fits_the_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} overflows horizontally ({width}px)"


def first_store_name(page) -> str:
    return page.locator("[data-store-list] .store-card .name").first.inner_text()


def test_located_customer_finds_the_nearest_store_and_picks_a_spec(live_server, new_page, screenshot, chain):  # noqa: F811
    lat, lng = gcj02_to_wgs84(30.5081, 114.3990)  # standing in 光谷广场, GPS (WGS-84)
    page = new_page(
        PHONE, geolocation={"latitude": lat, "longitude": lng}, permissions=["geolocation"], **PHONE_CONTEXT
    )
    page.goto(live_server.url + "/")
    assert "未获取定位，按武汉市中心距离排序" in page.content()
    assert first_store_name(page) == "江汉路店"
    assert_fits_the_phone(page)
    screenshot(page, "storefront-home-phone")

    page.get_by_role("link", name="使用我的位置").click()
    page.wait_for_url(re.compile(r"coord_type=wgs84"))
    assert first_store_name(page) == "光谷广场店"
    assert page.locator("[data-where]").inner_text().strip().endswith("您的位置附近")
    assert "未获取定位" not in page.content()
    assert_fits_the_phone(page)
    screenshot(page, "storefront-home-located-phone")

    page.locator("[data-store-list] .store-card").first.click()
    page.wait_for_url(re.compile(rf"/stores/{chain.stores['guanggu'].pk}/$"))
    assert page.locator("#store-name").inner_text() == "光谷广场店"
    assert "休息中 · 明天 07:00 营业" in page.locator("[data-status]").inner_text()
    assert page.locator("a.tel").get_attribute("href") == "tel:027-85551234"
    assert_fits_the_phone(page)
    screenshot(page, "storefront-store-phone")

    page.get_by_role("link", name="服饰").click()
    page.locator(".product-card", has_text="纯棉T恤").click()
    page.wait_for_url(re.compile(r"/products/\d+/$"))
    price = page.locator("[data-price]")
    assert price.inner_text() == "¥59.00"
    assert page.locator("[data-sku-code]").inner_text() == "TEE-W-M"
    assert page.get_by_role("button", name="加入购物车").is_disabled()
    assert page.get_by_role("button", name="立即购买").get_attribute("title") == "暂无库存"

    page.locator('.spec-option[data-value="黑色"]').click()
    assert price.inner_text() == "¥69.00"
    assert page.locator("[data-sku-code]").inner_text() == "TEE-B-M"
    assert page.locator('.spec-option[data-value="L"]').is_disabled()  # no black L
    page.locator('.spec-option[data-value="XL"]').click()
    assert price.inner_text() == "¥79.00"
    assert page.locator("[data-chosen]").inner_text() == "黑色 / XL"
    assert page.locator('.spec-option[data-value="白色"]').is_disabled()  # no white XL
    assert page.locator("[data-stock]").inner_text() == "暂无库存"
    assert_fits_the_phone(page)
    screenshot(page, "storefront-product-phone")

    # The store is remembered: categories and search work at it.
    page.get_by_role("link", name="返回门店").click()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="分类").click()
    page.wait_for_url(re.compile(r"/categories/$"))
    assert "光谷广场店" in page.locator(".store-strip").inner_text()
    assert page.locator(".cat-rail a").all_inner_texts() == ["饮料", "零食", "服饰"]
    assert_fits_the_phone(page)
    screenshot(page, "storefront-categories-phone")

    page.locator(".topbar input[name=q]").fill("纯牛奶")
    page.locator(".topbar input[name=q]").press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    assert page.locator(".product-card .name").all_inner_texts() == ["蒙牛纯牛奶 250ml×12盒"]
    assert_fits_the_phone(page)
    screenshot(page, "storefront-search-phone")

    page.goto(live_server.url + "/")
    assert "光谷广场店" in page.locator(".current-store").inner_text()


def test_refused_geolocation_falls_back_to_the_district_chips(live_server, new_page, screenshot, chain):  # noqa: F811
    page = new_page(PHONE, permissions=[], **PHONE_CONTEXT)
    page.goto(live_server.url + "/")

    page.get_by_role("link", name="使用我的位置").click()
    page.wait_for_url(re.compile(r"geo=denied"))
    assert "没有获取到您的位置" in page.locator(".notice").inner_text()
    assert page.locator("[data-districts] a").all_inner_texts() == ["武昌区", "江汉区", "江岸区", "洪山区"]
    assert_fits_the_phone(page)
    screenshot(page, "storefront-home-denied-phone")

    page.locator("[data-districts] a", has_text="洪山区").click()
    page.wait_for_url(re.compile(r"district="))
    assert first_store_name(page) == "光谷广场店"
    assert "洪山区附近" in page.locator("[data-where]").inner_text()

    page.locator("#finder input[name=q]").fill("汉街")
    page.locator("#finder input[name=q]").press("Enter")
    page.wait_for_url(re.compile(r"q="))
    assert page.locator("[data-store-list] .store-card .name").all_inner_texts() == ["楚河汉街店"]


def test_load_more_appends_the_next_page_in_place(live_server, new_page, chain):  # noqa: F811
    from tests.web.storefront.conftest import make_category, make_product

    shelf = make_category(chain.merchant, "卤味")
    for i in range(23):
        make_product(chain.merchant, shelf, f"鸭脖{i:02d}", price=1000 + i)
    page = new_page(PHONE, **PHONE_CONTEXT)
    page.goto(f"{live_server.url}/stores/{chain.stores['jianghan'].pk}/?c={shelf.pk}&sort=price")
    assert page.locator("#product-grid .product-card").count() == 20

    page.get_by_role("link", name="加载更多").click()
    # expect() polls from Playwright's side: a wait_for_function string is eval'd in the page, which
    # the CSP (no 'unsafe-eval') refuses whenever the first check does not already pass.
    expect(page.locator("#product-grid .product-card")).to_have_count(23)
    assert page.locator("#load-more").inner_text() == "没有更多了"
    assert page.url.endswith(f"?c={shelf.pk}&sort=price")  # stayed on the page
    assert_fits_the_phone(page)


def test_me_page_and_large_font_on_a_phone(live_server, new_page, screenshot, chain):  # noqa: F811
    page = new_page(PHONE, **PHONE_CONTEXT)
    page.goto(live_server.url + "/me/")
    assert page.get_by_role("button", name="获取验证码").is_visible()
    assert_fits_the_phone(page)
    screenshot(page, "storefront-me-phone")

    page.get_by_role("switch", name="大字模式").click()
    page.wait_for_load_state()
    assert "large-font" in page.locator("html").get_attribute("class")
    assert_fits_the_phone(page)
    screenshot(page, "storefront-me-large-font-phone")
    page.goto(f"{live_server.url}/stores/{chain.stores['jianghan'].pk}/")
    assert_fits_the_phone(page)
    screenshot(page, "storefront-store-large-font-phone")


def test_home_on_a_desktop(live_server, new_page, screenshot, chain):  # noqa: F811
    page = new_page(DESKTOP)
    page.goto(live_server.url + "/")
    assert first_store_name(page) == "江汉路店"
    box = page.locator(".app").bounding_box()
    assert box["width"] <= 520 and box["x"] > 400  # the phone-width column, centred
    screenshot(page, "storefront-home-desktop", full_page=False)
