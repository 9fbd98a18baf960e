"""A store manager on a phone (390×844): sets one SKU's low-stock threshold from the stock page and
approves a refund with a note for the customer; a clerk gets no threshold control.

Screenshots land in var/screenshots/store-threshold-phone.png and store-refund-note-phone.png."""

import pytest
from playwright.sync_api import expect

from mendian.core.scope import Actor, Role
from mendian.inventory.models import StockAlert, StockLevel
from mendian.orders.services import order_accept, order_ready, pickup_verify, refund_request_create
from tests.browser.test_store_ops import _patient, _place, _sign_in, counter  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits_the_screen(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"


def test_manager_sets_a_threshold_on_a_phone(live_server, counter, phone_page, screenshot):  # noqa: F811
    page, base = _patient(phone_page), live_server.url
    _sign_in(page, base, "manager")

    page.goto(f"{base}/store/stock/")
    row = page.locator("tr[data-sku='W-550']")
    expect(row.locator(".chip", has_text="低库存")).to_have_count(0)
    row.locator("summary", has_text="阈值").click()
    field = row.locator("input[name=threshold]")
    expect(field).to_be_visible()
    field.fill("60")
    screenshot(page, "store-threshold-phone", full_page=False)
    _fits_the_screen(page)
    row.get_by_role("button", name="保存").click()

    expect(page.locator("tr[data-sku='W-550'] .chip", has_text="低库存")).to_have_count(1)
    level = StockLevel.objects.get(store=counter["store"], sku=counter["water"])
    assert level.low_stock_threshold == 60
    assert StockAlert.objects.filter(sku=counter["water"], threshold=60, resolved_at__isnull=True).exists()


def test_a_clerk_sees_no_threshold_control_on_a_phone(live_server, counter, phone_page):  # noqa: F811
    page, base = _patient(phone_page), live_server.url
    _sign_in(page, base, "clerk")

    page.goto(f"{base}/store/stock/")

    expect(page.locator("tr[data-sku='W-550'] summary", has_text="调整")).to_have_count(1)
    expect(page.locator("tr[data-sku='W-550'] summary", has_text="阈值")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("低库存阈值由店长设置")


def test_manager_approves_with_a_note_on_a_phone(
    live_server,
    counter,  # noqa: F811
    phone_page,
    new_page,
    screenshot,
    monkeypatch,
):
    monkeypatch.setattr("mendian.orders.services.payments_refund_start", lambda **kwargs: None)
    page, base = _patient(phone_page), live_server.url
    collected = _place(counter, (counter["chips"], 1))
    clerk = Actor(
        role=Role.STORE_CLERK, merchant_id=counter["merchant"].pk, store_id=counter["store"].pk, label="t"
    )
    order_accept(actor=clerk, order_id=collected.pk)
    order_ready(actor=clerk, order_id=collected.pk)
    pickup_verify(actor=clerk, store=counter["store"], code=collected.pickup_code)
    refund = refund_request_create(
        customer=collected.customer, order_id=collected.pk, lines=None, reason="包装破损"
    )
    _sign_in(page, base, "manager")

    page.goto(f"{base}/store/refunds/")
    card = page.locator(".refund-card", has_text=collected.number)
    card.get_by_label("商家备注（选填，顾客可见）").fill("已联系顾客，款项原路退回")
    screenshot(page, "store-refund-note-phone", full_page=False)
    _fits_the_screen(page)
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="同意退款").click()
    expect(page.locator("div.empty")).to_contain_text("没有待审核的售后申请")

    refund.refresh_from_db()
    assert (refund.status, refund.decision_note) == ("approved", "已联系顾客，款项原路退回")
