"""The store console at the counter, in a real browser: an order placed while the queue is open
appears without a reload (the queue polls), the clerk accepts it, marks it ready and verifies the
customer's pickup code. A second walk looks at the stock pages.

Screenshots land in var/screenshots/store-ops-*.png (1440×900, and the queue at 390×844)."""

import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mendian.checkout.selectors import CheckoutInput
from mendian.core.scope import Actor, Role
from mendian.inventory.services import stock_adjust, stocktake_start
from mendian.orders.models import Order, OrderStatus
from mendian.orders.services import (
    order_accept,
    order_create,
    order_mark_paid,
    order_ready,
    pickup_verify,
    refund_request_create,
)
from tests.browser.conftest import PHONE
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
# The machine running these may be busy; the live server answers slowly then, never wrongly.
PATIENCE_MS = 30_000


def _patient(page):
    page.set_default_timeout(PATIENCE_MS)
    page.set_default_navigation_timeout(PATIENCE_MS)
    return page


@pytest.fixture
def counter(db):
    merchant = MerchantFactory(code="acme", name="极客便利")
    store = StoreFactory(merchant=merchant, code="jh001", name="江汉路店")
    StoreFactory(merchant=merchant, code="wc002", name="武昌站店")
    StaffFactory(username="clerk", role=Role.STORE_CLERK, store=store, display_name="张店员")
    StaffFactory(username="manager", role=Role.STORE_MANAGER, store=store, display_name="李店长")
    system = Actor.system(merchant.pk)
    water = SkuFactory(
        product=ProductFactory(merchant=merchant, name="农夫山泉 550ml"),
        sku_code="W-550",
        price=200,
        specs={},
    )
    chips = SkuFactory(
        product=ProductFactory(merchant=merchant, name="乐事薯片 原味"),
        sku_code="C-70",
        price=650,
        specs={"规格": "70g"},
    )
    for sku, qty in ((water, 48), (chips, 3)):
        stock_adjust(actor=system, store=store, sku=sku, delta=qty, reason="found")
    return {"merchant": merchant, "store": store, "water": water, "chips": chips}


def _place(counter, *lines, note="") -> Order:
    order = order_create(
        customer=CustomerFactory(),
        merchant=None,
        data=CheckoutInput(
            lines=[(sku.pk, qty) for sku, qty in lines],
            fulfilment_type="pickup",
            store_id=counter["store"].pk,
            contact_name="王小明",
            contact_phone="13912348888",
            note=note,
        ),
    )
    order_mark_paid(
        order_id=order.pk,
        payment_id=f"pay-{order.pk}",
        amount=order.total,
        provider="sandbox",
        paid_at=timezone.now(),
    )
    return Order.objects.get(pk=order.pk)


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/store/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_clerk_sees_the_order_arrive_accepts_readies_and_verifies(
    live_server, counter, desktop_page, new_page, screenshot
):
    page, base = _patient(desktop_page), live_server.url
    _place(counter, (counter["water"], 1))  # an order already waiting
    _sign_in(page, base, "clerk")
    page.goto(f"{base}/store/orders/")
    expect(page.locator("[data-column=paid] .order-card")).to_have_count(1)
    expect(page.locator("#nav-new-badge")).to_have_text("新订单 1")
    page.get_by_role("button", name="开启提醒音").click()
    expect(page.locator("[data-sound-toggle]")).to_have_attribute("aria-pressed", "true")

    # A customer orders while the queue is open: it appears without a reload.
    page.evaluate(
        """() => {
            window.__sameDocument = true;
            window.__beeps = 0;
            const make = AudioContext.prototype.createOscillator;
            AudioContext.prototype.createOscillator = function () { window.__beeps += 1; return make.call(this); };
        }"""
    )
    order = _place(counter, (counter["water"], 2), (counter["chips"], 1), note="不要袋子")
    card = page.locator(f"[data-order='{order.number}']")
    expect(card).to_be_visible(timeout=PATIENCE_MS)
    assert page.evaluate("window.__sameDocument") is True  # no navigation happened
    # The alert sounds once htmx has settled the swap, a moment after the card shows.
    # Polled with evaluate: a wait_for_function string is eval'd in the page, which the CSP refuses.
    deadline = time.monotonic() + 5
    while not page.evaluate("window.__beeps >= 1"):
        assert time.monotonic() < deadline, "no alert sound"
        page.wait_for_timeout(50)
    expect(page.locator("[data-column=paid] .order-card")).to_have_count(2)
    expect(page.locator("#nav-new-badge")).to_have_text("新订单 2")
    assert page.title().startswith("(2)")
    expect(card).to_contain_text("乐事薯片 原味")
    expect(card).to_contain_text("139****8888")
    screenshot(page, "store-ops-queue-desktop")

    card.get_by_role("button", name="接单").click()
    card = page.locator(f"[data-column=preparing] [data-order='{order.number}']")
    expect(card).to_be_visible()
    card.get_by_role("button", name="备货完成").click()
    card = page.locator(f"[data-column=ready_for_pickup] [data-order='{order.number}']")
    expect(card).to_be_visible()

    # The customer shows the code; the clerk types it.
    card.get_by_role("link", name="核销取货码").click()
    expect(page.locator("h1")).to_have_text("核销取货")
    page.fill("#code", "12345678" if order.pickup_code != "12345678" else "87654321")
    page.get_by_role("button", name="核销", exact=True).click()
    expect(page.locator(".code-error")).to_contain_text("取货码无效")
    screenshot(page, "store-ops-pickup-wrong-desktop")
    page.fill("#code", order.pickup_code)
    page.get_by_role("button", name="核销", exact=True).click()
    expect(page.locator(".handover")).to_contain_text("核销成功")
    expect(page.locator(".handover-lines")).to_contain_text("农夫山泉 550ml")
    expect(page.locator(".handover-lines")).to_contain_text("×2")
    screenshot(page, "store-ops-pickup-done-desktop")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED

    # The same code again: a clear "already collected", nothing changes.
    page.fill("#code", order.pickup_code)
    page.get_by_role("button", name="核销", exact=True).click()
    expect(page.locator(".code-error")).to_contain_text("已核销过")

    # The counter phone (the desktop tab stops polling first: the test server is small).
    page.goto("about:blank")
    phone = _patient(new_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2))
    _sign_in(phone, base, "clerk")
    phone.goto(f"{base}/store/orders/")
    expect(phone.locator("[data-column=paid] .order-card")).to_have_count(1)
    screenshot(phone, "store-ops-queue-phone")
    phone.goto(f"{base}/store/pickup/")
    screenshot(phone, "store-ops-pickup-phone")


def test_manager_walks_the_stock_pages(live_server, counter, desktop_page, screenshot):
    page, base = _patient(desktop_page), live_server.url
    stocktake_start(actor=Actor.system(counter["merchant"].pk), store=counter["store"], note="月末盘点")
    order = _place(counter, (counter["water"], 3))
    collected = _place(counter, (counter["chips"], 1))
    clerk = Actor(
        role=Role.STORE_CLERK, merchant_id=counter["merchant"].pk, store_id=counter["store"].pk, label="t"
    )
    order_accept(actor=clerk, order_id=collected.pk)
    order_ready(actor=clerk, order_id=collected.pk)
    pickup_verify(actor=clerk, store=counter["store"], code=collected.pickup_code)
    refund_request_create(customer=collected.customer, order_id=collected.pk, lines=None, reason="包装破损")
    _sign_in(page, base, "manager")
    expect(page.locator(".queue-stats .value.hot")).to_have_text("1")
    screenshot(page, "store-ops-dashboard-desktop")

    page.goto(f"{base}/store/stock/")
    expect(page.locator("tr[data-sku='C-70']")).to_contain_text("低库存")
    page.locator("tr[data-sku='W-550'] summary", has_text="调整").click()
    page.locator("tr[data-sku='W-550'] input[name=delta]").fill("-2")
    page.locator("tr[data-sku='W-550'] select[name=reason]").select_option("damaged")
    screenshot(page, "store-ops-stock-desktop", full_page=False)
    page.locator("tr[data-sku='W-550']").get_by_role("button", name="确认调整").click()
    expect(page.locator("tr[data-sku='W-550'] td").nth(1)).to_have_text("46")
    page.get_by_label("只看低库存").check()
    expect(page.locator("tr[data-sku='W-550']")).to_have_count(0)
    expect(page.locator("tr[data-sku='C-70']")).to_have_count(1)

    page.goto(f"{base}/store/stocktakes/")
    page.get_by_role("link", name="ST").first.click()
    page.locator("tr", has_text="C-70").locator("input.count-input").fill("1")
    expect(page.locator("tr", has_text="C-70").locator("[data-variance]")).to_have_text("-2")
    screenshot(page, "store-ops-stocktake-desktop")

    page.goto(f"{base}/store/transfers/")
    page.select_option("select[name=to_store]", label="武昌站店（wc002）")
    page.locator("#sku-0").select_option(str(counter["water"].pk))
    page.fill("#qty-0", "4")
    page.get_by_role("button", name="创建调出单").click()
    expect(page.locator(".doc").first).to_contain_text("待发货")
    screenshot(page, "store-ops-transfers-desktop")

    page.goto(f"{base}/store/restock/")
    page.locator("#sku-0").select_option(str(counter["chips"].pk))
    page.fill("#qty-0", "24")
    page.get_by_role("button", name="提交要货申请").click()
    expect(page.locator(".doc").first).to_contain_text("待审批")
    screenshot(page, "store-ops-restock-desktop")

    page.goto(f"{base}/store/orders/{order.pk}/")
    expect(page.locator(".timeline")).to_contain_text("已支付")
    screenshot(page, "store-ops-order-desktop")

    page.goto(f"{base}/store/refunds/")
    refund = page.locator(".refund-card", has_text=collected.number)
    expect(refund).to_contain_text("包装破损")
    screenshot(page, "store-ops-refunds-desktop")
    refund.locator("summary", has_text="驳回").click()
    refund.get_by_placeholder("驳回原因（顾客可见）").fill("商品已拆封使用")
    refund.get_by_role("button", name="确认驳回").click()
    expect(page.locator("div.empty")).to_contain_text("没有待审核的售后申请")
    collected.refresh_from_db()
    assert collected.status == OrderStatus.REFUND_REJECTED
