"""HQ operations in a real browser: a customer's paid order shows up in the HQ orders list with its
store and total, and the CSV export downloads (UTF-8 with BOM, phone masked).

Screenshots (1440x900) land in var/screenshots/console-hq-ops-*.png for people to look at.
"""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mendian.checkout.selectors import CheckoutInput
from mendian.core.scope import Actor, Role
from mendian.integrations.services import webhook_endpoint_create
from mendian.inventory.services import restock_request_create, stock_adjust
from mendian.orders.services import order_create, order_mark_paid
from tests.factories import (
    CustomerFactory,
    MerchantFactory,
    ProductFactory,
    SkuFactory,
    StaffFactory,
    StoreFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-9"


@pytest.fixture
def shop(db):
    merchant = MerchantFactory(code="acme", name="极客便利")
    home = StoreFactory(merchant=merchant, code="jh001", name="江汉路店")
    second = StoreFactory(merchant=merchant, code="wc002", name="武昌站店", lat=30.529, lng=114.316)
    StaffFactory(username="boss", role=Role.MERCHANT_ADMIN, merchant=merchant, display_name="王总")
    manager = StaffFactory(username="manager", role=Role.STORE_MANAGER, store=second, display_name="李店长")
    system = Actor.system(merchant.pk)
    water = SkuFactory(
        product=ProductFactory(merchant=merchant, name="农夫山泉 550ml"), sku_code="W-550", price=200
    )
    chips = SkuFactory(
        product=ProductFactory(merchant=merchant, name="乐事薯片 原味"), sku_code="C-70", price=650
    )
    for store, sku, qty in ((home, water, 40), (home, chips, 4), (second, water, 12)):
        stock_adjust(actor=system, store=store, sku=sku, delta=qty, reason="found")
    customer = CustomerFactory(phone="13812345678")
    order = order_create(
        customer=customer,
        merchant=merchant,
        data=CheckoutInput(lines=[(water.pk, 3), (chips.pk, 1)], fulfilment_type="pickup", store_id=home.pk),
    )
    order_mark_paid(
        order_id=order.pk,
        payment_id="wx-4200001",
        amount=order.total,
        provider="sandbox",
        paid_at=timezone.now(),
    )
    restock_request_create(
        actor=Actor.for_staff(manager), store=second, lines=[(water.pk, 24), (chips.pk, 10)], note="周末促销"
    )
    webhook_endpoint_create(actor=system, url="https://erp.example.com/mendian", event_types=["*"])
    return {"merchant": merchant, "home": home, "order": order}


def _sign_in(page, base: str) -> None:
    # The machine is shared: give the live server's first (cold) responses more time.
    page.set_default_timeout(30_000)
    page.goto(f"{base}/hq/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_hq_sees_the_sale_and_exports_it(live_server, shop, desktop_page, screenshot, tmp_path):
    page, base, order = desktop_page, live_server.url, shop["order"]
    _sign_in(page, base)

    page.click("nav.sidebar >> text=订单")
    expect(page.locator("h1")).to_have_text("订单")
    row = page.locator(f"tr[data-order='{order.number}']")
    expect(row).to_contain_text("江汉路店")
    expect(row).to_contain_text("已支付")
    expect(row).to_contain_text("¥12.50")  # 3 × 2.00 + 6.50
    expect(row).to_contain_text("138****5678")
    expect(page.locator("[data-today-net]")).to_have_text("¥12.50")
    screenshot(page, "console-hq-ops-orders", full_page=False)

    with page.expect_download() as info:
        page.click("[data-export]")
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    raw = path.read_bytes()
    assert download.suggested_filename.startswith("orders-") and path.suffix == ".csv"
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert order.number in text and "江汉路店" in text and "12.50" in text and "138****5678" in text
    assert "13812345678" not in text

    row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text(order.number)
    expect(page.locator("body")).to_contain_text("农夫山泉 550ml")
    screenshot(page, "console-hq-ops-order-detail", full_page=False)


def test_hq_operations_pages_look_right(live_server, shop, desktop_page, screenshot):
    page, base = desktop_page, live_server.url
    _sign_in(page, base)

    page.goto(f"{base}/hq/stock/")
    expect(page.locator(".ops-matrix")).to_contain_text("武昌站店")
    expect(page.locator(".ops-cell.low").first).to_be_visible()  # 3 chips left at 江汉路店
    screenshot(page, "console-hq-ops-stock", full_page=False)

    page.goto(f"{base}/hq/restock/")
    expect(page.locator(".ops-restock")).to_contain_text("周末促销")
    screenshot(page, "console-hq-ops-restock", full_page=False)
    page.fill("input[name^=qty-]:visible >> nth=0", "12")
    page.click(".ops-restock button.btn-primary")
    expect(page.locator(".messages")).to_contain_text("已批准")

    page.goto(f"{base}/hq/integrations/api-keys/")
    page.fill("#id_name", "收银系统-光谷店")
    page.click("button:has-text('创建密钥')")
    expect(page.locator("[data-secret-once] code")).to_contain_text("sk_")
    screenshot(page, "console-hq-ops-api-key-created", full_page=False)
    page.goto(f"{base}/hq/integrations/api-keys/")
    expect(page.locator("body")).not_to_contain_text("sk_")

    page.goto(f"{base}/hq/integrations/webhooks/")
    page.click("a:has-text('投递记录')")
    expect(page.locator("h1")).to_have_text("Webhook 投递记录")
    screenshot(page, "console-hq-ops-webhook", full_page=False)

    page.goto(f"{base}/hq/payments/wechatpay/")
    page.fill("#id_mchid", "19x")
    page.fill("#id_private_key", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    page.click("button:has-text('保存')")
    expect(page.locator(".field.has-error").first).to_be_visible()
    expect(page.locator("#id_private_key")).to_have_value("")
    screenshot(page, "console-hq-ops-payment-form", full_page=True)
    page.goto(f"{base}/hq/payments/")
    screenshot(page, "console-hq-ops-payments", full_page=False)
