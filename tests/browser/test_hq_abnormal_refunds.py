"""HQ settles a refund WeChat Pay could not pay out, in a real browser: the abnormal refund is listed
on the payment settings page (desktop and phone), HQ records that the customer was paid offline, the
row leaves the list and the refund is done; the order page then shows the store's note and how the
refund was settled.

Screenshots land in var/screenshots/hq-abnormal-refunds-{desktop,phone}.png and
hq-abnormal-refund-card-phone.png (the form for paying the customer's card)."""

from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mendian.checkout.selectors import CheckoutInput
from mendian.core.scope import Actor, Role
from mendian.inventory.services import stock_adjust
from mendian.orders.models import Order
from mendian.orders.services import (
    order_accept,
    order_create,
    order_mark_paid,
    order_ready,
    pickup_verify,
    refund_request_approve,
    refund_request_create,
)
from mendian.payments.models import Payment, Refund
from mendian.payments.providers.base import RefundResult
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
PATIENCE_MS = 30_000
STORE_NOTE = "已联系顾客，款项原路退回"


@pytest.fixture
def abnormal(db, monkeypatch):
    """A collected pickup order paid with WeChat Pay, refunded after sale (approved with a note):
    WeChat accepted the refund but could not pay it out, so the amount stays held on the payment
    and the request stays approved, not refunded."""
    merchant = MerchantFactory(code="acme", name="极客便利")
    store = StoreFactory(merchant=merchant, code="jh001", name="江汉路店")
    StaffFactory(username="boss", role=Role.MERCHANT_ADMIN, merchant=merchant, display_name="王总")
    manager = StaffFactory(username="manager", role=Role.STORE_MANAGER, store=store)
    chips = SkuFactory(
        product=ProductFactory(merchant=merchant, name="乐事薯片 原味"), sku_code="C-70", price=650
    )
    stock_adjust(actor=Actor.system(merchant.pk), store=store, sku=chips, delta=5, reason="found")
    order = order_create(
        customer=CustomerFactory(),
        merchant=merchant,
        data=CheckoutInput(lines=[(chips.pk, 2)], fulfilment_type="pickup", store_id=store.pk),
    )
    payment = Payment.objects.create(
        order=order, provider="wechatpay", amount=order.total, status="paid", paid_at=timezone.now()
    )
    order_mark_paid(
        order_id=order.pk,
        payment_id=payment.public_id,
        amount=order.total,
        provider="wechatpay",
        paid_at=payment.paid_at,
    )
    clerk = Actor(role=Role.STORE_CLERK, merchant_id=merchant.pk, store_id=store.pk, label="t")
    order_accept(actor=clerk, order_id=order.pk)
    order_ready(actor=clerk, order_id=order.pk)
    pickup_verify(actor=clerk, store=store, code=Order.objects.get(pk=order.pk).pickup_code)
    request = refund_request_create(customer=order.customer, order_id=order.pk, lines=None, reason="包装破损")
    # What WeChat answered is built below; nothing is sent anywhere. Asked again before HQ records
    # an offline refund, WeChat still says it could not pay the customer.
    monkeypatch.setattr("mendian.orders.services.payments_refund_start", lambda **kwargs: None)
    still_abnormal = SimpleNamespace(refund_query=lambda refund: RefundResult(state="abnormal"))
    monkeypatch.setattr("mendian.payments.services.provider_for_payment", lambda payment: still_abnormal)
    refund_request_approve(actor=Actor.for_staff(manager), request_id=request.pk, note=STORE_NOTE)
    Payment.objects.filter(pk=payment.pk).update(refunded_amount=order.total)
    refund = Refund.objects.create(
        payment=payment,
        amount=order.total,
        refund_request_id=request.pk,
        reason=request.reason,
        status="abnormal",
        provider_refund_id="50300000000000000001",
        failure="WeChat Pay: ABNORMAL",
        abnormal_at=timezone.now(),
    )
    return {"order": Order.objects.get(pk=order.pk), "refund": refund, "request": request}


def _patient(page):
    page.set_default_timeout(PATIENCE_MS)
    page.set_default_navigation_timeout(PATIENCE_MS)
    return page


def _sign_in(page, base: str) -> None:
    page.goto(f"{base}/hq/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _scroll_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def test_hq_sees_an_abnormal_refund_on_a_phone(live_server, abnormal, phone_page, screenshot):
    page, base, order = _patient(phone_page), live_server.url, abnormal["order"]
    _sign_in(page, base)

    page.goto(f"{base}/hq/payments/#abnormal-refunds")

    row = page.locator(f"[data-refund='{abnormal['refund'].pk}']")
    expect(row).to_contain_text(order.number)
    expect(row).to_contain_text("江汉路店")
    expect(row).to_contain_text("¥13.00")
    # What went wrong, in words HQ reads; not WeChat's status code.
    expect(row).to_contain_text("微信支付无法退到顾客账户")
    expect(row).not_to_contain_text("ABNORMAL")
    expect(row.get_by_role("button", name="标记为已线下退款")).to_be_visible()
    expect(row.get_by_role("button", name="退回商户账户")).to_be_visible()
    row.scroll_into_view_if_needed()
    screenshot(page, "hq-abnormal-refunds-phone", full_page=False)
    assert _scroll_width(page) <= 390, f"the page scrolls sideways ({_scroll_width(page)}px)"
    # Every action is wholly on the screen, not cut off at its edge.
    for button in row.get_by_role("button").all():
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box

    # The card form opens in place: bank, number (digit keyboard), holder, wholly on the screen.
    row.locator("summary", has_text="退到顾客的其他银行卡").click()
    card_form = row.locator("form.ops-card-form")
    expect(card_form).to_be_visible()
    expect(card_form.get_by_label("开户银行")).to_contain_text("工商银行")
    assert card_form.get_by_label("银行卡号").get_attribute("inputmode") == "numeric"
    card_form.scroll_into_view_if_needed()
    screenshot(page, "hq-abnormal-refund-card-phone", full_page=False)
    assert _scroll_width(page) <= 390, f"the page scrolls sideways ({_scroll_width(page)}px)"
    box = card_form.get_by_role("button", name="请微信支付退到此卡").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box


def test_hq_records_an_abnormal_refund_paid_offline(live_server, abnormal, desktop_page, screenshot):
    page, base = _patient(desktop_page), live_server.url
    order, refund = abnormal["order"], abnormal["refund"]
    _sign_in(page, base)

    page.goto(f"{base}/hq/payments/")
    section = page.locator("#abnormal-refunds")
    row = section.locator(f"[data-refund='{refund.pk}']")
    expect(row).to_contain_text(order.number)
    expect(section.locator(".section-head .chip")).to_have_text("1 笔待处理")
    row.locator("summary", has_text="退到顾客的其他银行卡").click()
    expect(row.locator("form.ops-card-form")).to_be_visible()
    section.scroll_into_view_if_needed()
    screenshot(page, "hq-abnormal-refunds-desktop", full_page=True)

    # No note: the browser asks for one and nothing is sent.
    row.get_by_role("button", name="标记为已线下退款").click()
    assert row.get_by_label("线下退款方式").evaluate("el => el.validity.valueMissing") is True
    expect(page.locator(".messages")).to_have_count(0)
    expect(row).to_be_visible()
    assert Refund.objects.get(pk=refund.pk).status == "abnormal"

    row.get_by_label("线下退款方式").fill("门店现金退还顾客")
    row.get_by_role("button", name="标记为已线下退款").click()

    expect(page.locator(".messages")).to_contain_text("已记录线下退款")
    expect(page.locator(f"[data-refund='{refund.pk}']")).to_have_count(0)
    expect(page.locator("#abnormal-refunds")).to_contain_text("没有异常的退款")
    settled = Refund.objects.get(pk=refund.pk)
    assert (settled.status, settled.resolution, settled.resolution_note) == (
        "succeeded",
        "offline",
        "门店现金退还顾客",
    )
    abnormal["request"].refresh_from_db()
    assert abnormal["request"].status == "refunded"
    assert Order.objects.get(pk=order.pk).status == "refunded"

    page.goto(f"{base}/hq/orders/{order.pk}/")
    expect(page.locator("[data-decision-note]")).to_have_text(f"商家备注：{STORE_NOTE}")
    expect(page.locator("[data-resolution]")).to_contain_text("门店现金退还顾客")
    # Settled: what went wrong at WeChat Pay no longer shows as an error.
    expect(page.locator("main")).not_to_contain_text("无法退到顾客账户")
    expect(page.locator("main")).not_to_contain_text("ABNORMAL")
