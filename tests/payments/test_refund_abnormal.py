"""Refunds that go wrong at WeChat Pay, against the local stand-in gateway: ABNORMAL (accepted but
not paid out: the money stays owed and held, HQ acts) versus CLOSED (released); reconciliation that
asks the provider before sending anything again; HQ settling an abnormal refund."""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from mendian.core.errors import Conflict
from mendian.core.scope import Role
from mendian.orders.models import Order, RefundRequest
from mendian.payments import services
from mendian.payments.models import Payment, Refund
from mendian.payments.providers import provider_for_payment
from mendian.payments.providers.base import ProviderError
from tests.payments.conftest import notify, start_payment
from tests.payments.standins.wechatpay import *  # noqa: F403 - the stand-in's fixtures
from tests.payments.standins.wechatpay import OPENID, PUBLIC_KEY_ID, keys, wechat_account_for

pytestmark = pytest.mark.django_db


def later(minutes: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


@pytest.fixture
def paid(wechat_member, wechat_gateway, wechat_account, placed):
    """The placed order (1150 fen), paid with WeChat Pay."""
    response = start_payment(wechat_member, placed["id"], "wechatpay")
    assert response.status_code == 201, response.content
    payment = Payment.objects.get(public_id=response.json()["payment_id"])
    wechat_gateway.customer_pays(payment.out_trade_no)
    assert notify(*wechat_gateway.payment_notification(payment.out_trade_no), "wechatpay").status_code == 204
    payment.refresh_from_db()
    assert payment.status == "paid"
    return payment


@pytest.fixture
def cancelled(wechat_member, paid, placed, django_capture_on_commit_callbacks):
    """The paid order cancelled by the customer: a refund of 1150 for its refund request, sent to
    WeChat Pay (which answers PROCESSING)."""
    with django_capture_on_commit_callbacks(execute=True):
        assert wechat_member.post(f"/api/v1/orders/{placed['id']}/cancel", {}).status_code == 200
    refund = Refund.objects.get()
    assert refund.status == "pending" and refund.provider_refund_id
    return refund


def go_abnormal(gateway, refund, how: str) -> None:
    """WeChat Pay reports the refund ABNORMAL: by callback, or in the reply to a refund request."""
    if how == "notification":
        assert (
            notify(
                *gateway.refund_notification(refund.out_refund_no, status="ABNORMAL"), "wechatpay"
            ).status_code
            == 204
        )
    else:
        gateway.refund_becomes(refund.out_refund_no, "ABNORMAL")
        assert services.refund_send(refund_id=refund.pk) == "abnormal"


# `state` of the 11.50 refund once WeChat Pay paid it back to the merchant: still abnormal, still
# held, the request approved but not refunded.
RETURNED_TO_MERCHANT = ("abnormal", "merchant_bank_card", "paid", 1150, "approved", "cancelled")


def state(refund, placed) -> tuple:
    """What a refund's result changes: the refund, the payment's held amount, the order's request."""
    refund.refresh_from_db()
    payment = Payment.objects.get(pk=refund.payment_id)
    request = RefundRequest.objects.get(order_id=placed["id"])
    return (
        refund.status,
        refund.resolution,
        payment.status,
        payment.refunded_amount,
        request.status,
        Order.objects.get(pk=placed["id"]).status,
    )


# --- ABNORMAL keeps the money owed; CLOSED releases it ---------------------------------------------


@pytest.mark.parametrize("how", ["notification", "reply"])
def test_an_abnormal_refund_keeps_the_amount_held_and_the_request_unrefunded(
    how, wechat_gateway, cancelled, placed, caplog
):
    with caplog.at_level(logging.INFO):
        go_abnormal(wechat_gateway, cancelled, how)

    assert state(cancelled, placed) == ("abnormal", "", "paid", 1150, "approved", "cancelled")
    assert cancelled.abnormal_at is not None and "ABNORMAL" in cancelled.failure
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "abnormal" in r.getMessage()]
    assert len(errors) == 1 and cancelled.out_refund_no in errors[0].getMessage()
    # No decrypted payload, no customer data.
    assert "支付用户零钱" not in caplog.text and OPENID not in caplog.text
    # The money is still owed: nothing more can be refunded on top of it.
    order = Order.objects.get(pk=placed["id"])
    with pytest.raises(Conflict) as refused:
        services.refund_start(order=order, amount=1, refund_request_id=None, reason="再退一分")
    assert refused.value.code == "refund_exceeds_paid"
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=cancelled.payment_id).refunded_amount == 1150


def test_a_closed_refund_releases_the_amount(wechat_gateway, cancelled, placed):
    assert (
        notify(
            *wechat_gateway.refund_notification(cancelled.out_refund_no, status="CLOSED"), "wechatpay"
        ).status_code
        == 204
    )
    assert state(cancelled, placed) == ("failed", "", "paid", 0, "approved", "cancelled")


def test_a_success_after_abnormal_settles_the_refund(wechat_gateway, cancelled, placed):
    """The merchant settled it in WeChat's merchant platform: the later callback says SUCCESS."""
    go_abnormal(wechat_gateway, cancelled, "notification")
    assert (
        notify(*wechat_gateway.refund_notification(cancelled.out_refund_no), "wechatpay").status_code == 204
    )
    assert state(cancelled, placed) == ("succeeded", "", "refunded", 1150, "refunded", "cancelled")


# --- reconciliation asks before it sends -----------------------------------------------------------


def test_reconciliation_settles_a_pending_refund_from_the_query_without_sending_it_again(
    wechat_gateway, cancelled, placed
):
    wechat_gateway.refund_becomes(cancelled.out_refund_no, "SUCCESS")  # the callback was lost

    services.payments_reconcile_pending(now=later(5))  # not due yet: nobody is asked
    assert not [r for r in wechat_gateway.requests if r["method"] == "GET" and "/refund/" in r["path"]]
    services.payments_reconcile_pending(now=later(11))

    assert state(cancelled, placed) == ("succeeded", "", "refunded", 1150, "refunded", "cancelled")
    assert [
        r["path"] for r in wechat_gateway.requests if r["method"] == "GET" and "/refund/" in r["path"]
    ] == [f"/v3/refund/domestic/refunds/{cancelled.out_refund_no}"]
    assert [body["out_refund_no"] for body in wechat_gateway.refund_posts()] == [cancelled.out_refund_no]


def test_reconciliation_leaves_a_refund_still_processing_and_asks_again_later(
    wechat_gateway, cancelled, placed
):
    services.payments_reconcile_pending(now=later(11))
    services.payments_reconcile_pending(now=later(15))  # asked 4 minutes ago: not again yet
    assert state(cancelled, placed)[0] == "pending"
    assert len([r for r in wechat_gateway.requests if r["method"] == "GET" and "/refund/" in r["path"]]) == 1
    wechat_gateway.refund_becomes(cancelled.out_refund_no, "ABNORMAL")
    services.payments_reconcile_pending(now=later(22))
    assert state(cancelled, placed) == ("abnormal", "", "paid", 1150, "approved", "cancelled")
    assert len(wechat_gateway.refund_posts()) == 1


def test_a_refund_wechat_pay_never_received_is_sent_again_with_the_same_number(wechat_gateway, paid, placed):
    order = Order.objects.get(pk=placed["id"])
    refund = services.refund_start(order=order, amount=300, refund_request_id=None, reason="少件")
    assert wechat_gateway.refund_posts() == []  # recorded, never sent (the queue lost it)

    services.payments_reconcile_pending(now=later(11))

    assert [body["out_refund_no"] for body in wechat_gateway.refund_posts()] == [refund.out_refund_no]
    assert refund.out_refund_no in wechat_gateway.refunds
    refund.refresh_from_db()
    assert refund.status == "pending" and refund.provider_refund_id
    assert Payment.objects.get(pk=paid.pk).refunded_amount == 300


def test_reconciliation_asks_about_abnormal_refunds_and_settles_them_when_wechat_pay_paid_them(
    wechat_gateway, cancelled, placed, caplog
):
    go_abnormal(wechat_gateway, cancelled, "notification")
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        services.payments_reconcile_pending(now=later(1))  # still ABNORMAL: nothing changes
    assert state(cancelled, placed)[0] == "abnormal"
    assert "abnormal" not in caplog.text  # logged once, when it became abnormal

    wechat_gateway.refund_becomes(cancelled.out_refund_no, "SUCCESS")
    services.payments_reconcile_pending(now=later(20))  # asked 19 minutes ago: not yet
    assert state(cancelled, placed)[0] == "abnormal"
    services.payments_reconcile_pending(now=later(32))
    assert state(cancelled, placed) == ("succeeded", "", "refunded", 1150, "refunded", "cancelled")
    assert len(wechat_gateway.refund_posts()) == 1


@pytest.mark.parametrize("how", ["query", "notification"])
def test_money_returned_to_the_merchant_in_wechats_platform_is_still_owed_to_the_customer(
    how, hq_api, wechat_gateway, cancelled, placed
):
    """The merchant had the abnormal refund returned to its own account in WeChat's merchant
    platform: WeChat then says SUCCESS, but the customer has not been paid."""
    go_abnormal(wechat_gateway, cancelled, "notification")
    if how == "query":
        wechat_gateway.refund_becomes(
            cancelled.out_refund_no, "SUCCESS", user_received_account="商户结算银行账户"
        )
        services.payments_reconcile_pending(now=later(31))
    else:
        wechat_gateway.refunds[cancelled.out_refund_no]["user_received_account"] = "商户基本账户"
        assert (
            notify(*wechat_gateway.refund_notification(cancelled.out_refund_no), "wechatpay").status_code
            == 204
        )

    # Recorded as returned to the merchant: HQ's only way left is to pay the customer offline.
    assert state(cancelled, placed) == RETURNED_TO_MERCHANT
    refused = resolve(hq_api, cancelled, method="user_bank_card", **CARD)
    assert refused.status_code == 409 and refused.json()["code"] == "refund_returned_to_merchant"
    assert resolve(hq_api, cancelled, method="offline", note="门店现金").status_code == 200
    assert state(cancelled, placed)[0] == "succeeded"


def test_the_refund_query_checks_what_wechat_pay_answers(wechat_gateway, cancelled):
    adapter = provider_for_payment(cancelled.payment)
    assert adapter.refund_query(cancelled).state == "pending"
    wechat_gateway.refunds[cancelled.out_refund_no]["amount"]["refund"] = 1
    with pytest.raises(ProviderError):
        adapter.refund_query(cancelled)


# --- HQ ------------------------------------------------------------------------------------------


def resolve(client, refund, **body):
    return client.post(f"/api/hq/v1/refunds/{refund.pk}/resolve", body)


def test_hq_lists_abnormal_refunds(hq_api, wechat_gateway, cancelled, placed, paid):
    go_abnormal(wechat_gateway, cancelled, "notification")
    order = Order.objects.get(pk=placed["id"])
    Refund.objects.create(payment=paid, amount=1, status="failed")  # not abnormal: not listed

    response = hq_api.get("/api/hq/v1/refunds", {"status": "abnormal"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["id"] == str(cancelled.pk) and item["status"] == "abnormal"
    assert item["amount"] == {"amount": 1150, "currency": "CNY"}
    assert (item["order_number"], item["provider"], item["resolution"]) == (order.number, "wechatpay", "")
    assert len(hq_api.get("/api/hq/v1/refunds").json()["items"]) == 2
    assert hq_api.get("/api/hq/v1/refunds", {"status": "lost"}).status_code == 422


def test_hq_resolves_an_abnormal_refund_paid_offline(hq_api, wechat_gateway, cancelled, placed):
    go_abnormal(wechat_gateway, cancelled, "notification")
    before = state(cancelled, placed)
    refused = resolve(hq_api, cancelled, method="offline")  # how the customer was paid is required
    assert refused.status_code == 422 and state(cancelled, placed) == before

    response = resolve(hq_api, cancelled, method="offline", note="已通过门店现金退还顾客")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["resolution"], body["resolution_note"]) == (
        "succeeded",
        "offline",
        "已通过门店现金退还顾客",
    )
    assert state(cancelled, placed) == ("succeeded", "offline", "refunded", 1150, "refunded", "cancelled")
    assert cancelled.resolved_by_id == hq_api.staff.pk and cancelled.resolved_at is not None
    assert wechat_gateway.abnormal_requests == []  # settled here, nothing asked of WeChat
    # Done once: a second resolve is refused and changes nothing.
    again = resolve(hq_api, cancelled, method="offline", note="再来一次")
    assert again.status_code == 409 and again.json()["code"] == "refund_not_abnormal"
    assert state(cancelled, placed) == ("succeeded", "offline", "refunded", 1150, "refunded", "cancelled")


def test_recording_an_offline_refund_asks_wechat_pay_first_so_the_customer_is_not_paid_twice(
    hq_api, wechat_gateway, cancelled, placed
):
    """The merchant had WeChat Pay pay the customer out in its merchant platform meanwhile."""
    go_abnormal(wechat_gateway, cancelled, "notification")
    wechat_gateway.refund_becomes(cancelled.out_refund_no, "SUCCESS")

    refused = resolve(hq_api, cancelled, method="offline", note="门店现金退还")

    assert refused.status_code == 409 and refused.json()["code"] == "refund_paid_out_by_provider"
    # WeChat Pay's answer is recorded instead: refunded by the provider, not offline.
    assert state(cancelled, placed) == ("succeeded", "", "refunded", 1150, "refunded", "cancelled")


def test_what_hq_asked_of_wechat_pay_is_recorded_even_if_the_refund_moved_meanwhile(
    hq_api, wechat_gateway, cancelled, placed, monkeypatch
):
    go_abnormal(wechat_gateway, cancelled, "notification")
    asked = services._abnormal_apply

    def asked_while_a_callback_settles_it(refund, method, bank_card):
        result = asked(refund, method, bank_card)
        Refund.objects.filter(pk=refund.pk).update(status="pending")  # a callback got there first
        return result

    monkeypatch.setattr(services, "_abnormal_apply", asked_while_a_callback_settles_it)

    response = resolve(hq_api, cancelled, method="merchant_bank_card")

    assert response.status_code == 200, response.content
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.resolution) == ("pending", "merchant_bank_card")
    assert cancelled.resolved_by_id == hq_api.staff.pk


def test_hq_has_wechat_pay_return_an_abnormal_refund_to_the_merchants_bank_account(
    hq_api, wechat_gateway, cancelled, placed
):
    go_abnormal(wechat_gateway, cancelled, "notification")

    response = resolve(hq_api, cancelled, method="merchant_bank_card", note="退回结算账户")

    assert response.status_code == 200, response.content
    assert wechat_gateway.abnormal_requests == [
        {
            "refund_id": cancelled.provider_refund_id,
            "out_refund_no": cancelled.out_refund_no,
            "type": "MERCHANT_BANK_CARD",
        }
    ]
    # The buyer still has not got the money: abnormal, held, marked returned to the merchant.
    assert state(cancelled, placed) == RETURNED_TO_MERCHANT
    # WeChat now calls it SUCCESS (paid to the merchant): that settles nothing here.
    services.payments_reconcile_pending(now=later(60))
    assert (
        notify(*wechat_gateway.refund_notification(cancelled.out_refund_no), "wechatpay").status_code == 204
    )
    assert state(cancelled, placed)[:2] == ("abnormal", "merchant_bank_card")
    # HQ then pays the customer and says so.
    assert resolve(hq_api, cancelled, method="offline", note="转账给顾客").status_code == 200
    assert state(cancelled, placed) == ("succeeded", "offline", "refunded", 1150, "refunded", "cancelled")


CARD = {"bank_type": "ICBC_DEBIT", "bank_account": "6222020200112233445", "real_name": "张小三"}


@pytest.mark.parametrize("mode", ["certificate", "public_key"])
def test_hq_has_wechat_pay_pay_an_abnormal_refund_to_the_customers_card(
    mode, hq_api, merchant, wechat_gateway, cancelled, placed, caplog
):
    go_abnormal(wechat_gateway, cancelled, "notification")
    wechat_gateway.set_mode(mode)
    wechat_account_for(wechat_gateway, merchant, modes=(mode,))

    with caplog.at_level(logging.DEBUG):
        response = resolve(hq_api, cancelled, method="user_bank_card", note="顾客提供了新卡", **CARD)

    assert response.status_code == 200, response.content
    # WeChat Pay decrypted the number and the name with the platform key the request names.
    [received] = wechat_gateway.abnormal_requests
    assert received == {
        "refund_id": cancelled.provider_refund_id,
        "out_refund_no": cancelled.out_refund_no,
        "type": "USER_BANK_CARD",
        **CARD,
    }
    [sent] = [r for r in wechat_gateway.requests if r["path"].endswith("/apply-abnormal-refund")]
    assert sent["serial"] == (PUBLIC_KEY_ID if mode == "public_key" else keys()["platform_serial"])
    assert (
        CARD["bank_account"].encode() not in sent["body"] and CARD["real_name"].encode() not in sent["body"]
    )
    # Being paid out again: pending, still held, not yet recorded on the order.
    assert state(cancelled, placed) == ("pending", "user_bank_card", "paid", 1150, "approved", "cancelled")
    wechat_gateway.refund_becomes(cancelled.out_refund_no, "SUCCESS")
    services.payments_reconcile_pending(now=later(11))
    assert state(cancelled, placed) == (
        "succeeded",
        "user_bank_card",
        "refunded",
        1150,
        "refunded",
        "cancelled",
    )
    # The card is neither kept, nor logged, nor echoed.
    row = str(Refund.objects.filter(pk=cancelled.pk).values().get())
    for value in (CARD["bank_account"], CARD["real_name"]):
        assert value not in row and value not in caplog.text and value not in response.content.decode()


def test_a_card_that_is_not_a_card_is_refused_and_nothing_is_sent(hq_api, wechat_gateway, cancelled, placed):
    go_abnormal(wechat_gateway, cancelled, "notification")
    before = state(cancelled, placed)
    for card in (
        {**CARD, "bank_account": "62220202x"},
        {**CARD, "real_name": " "},
        {"bank_type": "ICBC_DEBIT"},
    ):
        response = resolve(hq_api, cancelled, method="user_bank_card", **card)
        assert response.status_code == 422, response.content
        assert CARD["real_name"] not in response.content.decode()
    assert state(cancelled, placed) == before and wechat_gateway.abnormal_requests == []


def test_a_card_after_the_money_went_back_to_the_merchant_is_a_conflict(
    hq_api, wechat_gateway, cancelled, placed
):
    go_abnormal(wechat_gateway, cancelled, "notification")
    assert resolve(hq_api, cancelled, method="merchant_bank_card").status_code == 200
    response = resolve(hq_api, cancelled, method="user_bank_card", **CARD)
    assert response.status_code == 409 and response.json()["code"] == "refund_returned_to_merchant"
    assert len(wechat_gateway.abnormal_requests) == 1


def test_wechat_pay_refusing_to_return_the_money_changes_nothing(hq_api, wechat_gateway, cancelled, placed):
    go_abnormal(wechat_gateway, cancelled, "notification")
    wechat_gateway.refund_becomes(cancelled.out_refund_no, "SUCCESS")  # settled there meanwhile
    before = state(cancelled, placed)

    response = resolve(hq_api, cancelled, method="merchant_bank_card")

    assert response.status_code == 409 and response.json()["code"] == "refund_resolve_refused"
    assert state(cancelled, placed) == before


def test_resolving_a_refund_that_is_not_abnormal_is_a_conflict(hq_api, wechat_gateway, cancelled, placed):
    before = state(cancelled, placed)
    for method in ("offline", "merchant_bank_card"):
        response = resolve(hq_api, cancelled, method=method, note="线下已退")
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "refund_not_abnormal"
    assert state(cancelled, placed) == before
    assert wechat_gateway.abnormal_requests == []


def test_another_merchants_hq_cannot_see_or_resolve_the_refund(
    make_staff_api, other_merchant, wechat_gateway, cancelled, placed
):
    go_abnormal(wechat_gateway, cancelled, "notification")
    rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None, username="rival_hq")
    before = state(cancelled, placed)

    response = resolve(rival, cancelled, method="offline", note="不是我的")

    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert state(cancelled, placed) == before
    assert rival.get("/api/hq/v1/refunds", {"status": "abnormal"}).json()["items"] == []


def test_store_staff_cannot_resolve_refunds(make_staff_api, store, wechat_gateway, cancelled, placed):
    go_abnormal(wechat_gateway, cancelled, "notification")
    manager = make_staff_api(role=Role.STORE_MANAGER, store=store, username="manager2")
    before = state(cancelled, placed)
    assert resolve(manager, cancelled, method="offline", note="店长").status_code == 403
    assert manager.get("/api/hq/v1/refunds").status_code == 403
    assert state(cancelled, placed) == before


# --- the HQ console's payment settings page ------------------------------------------------------


def test_the_payment_settings_page_lists_abnormal_refunds_and_settles_them(
    hq_api, wechat_gateway, cancelled, placed
):
    from django.test import Client

    console = Client()
    console.force_login(hq_api.staff)
    order = Order.objects.get(pk=placed["id"])
    assert "没有异常的退款" in console.get("/hq/payments/").content.decode()
    go_abnormal(wechat_gateway, cancelled, "notification")

    page = console.get("/hq/payments/").content.decode()
    assert f'data-refund="{cancelled.pk}"' in page and order.number in page and "11.50" in page

    console.post("/hq/payments/", {"refund_id": cancelled.pk, "method": "merchant_bank_card"})
    assert state(cancelled, placed)[:2] == ("abnormal", "merchant_bank_card")
    assert "已退回商户账户，待线下退给顾客" in console.get("/hq/payments/").content.decode()

    response = console.post(
        "/hq/payments/", {"refund_id": cancelled.pk, "method": "offline", "note": ""}, follow=True
    )
    assert "请填写线下退款的方式" in response.content.decode() and state(cancelled, placed)[0] == "abnormal"
    response = console.post(
        "/hq/payments/", {"refund_id": cancelled.pk, "method": "cheque", "note": ""}, follow=True
    )
    assert (
        "请填写线下退款的方式" not in response.content.decode() and state(cancelled, placed)[0] == "abnormal"
    )
    response = console.post(
        "/hq/payments/", {"refund_id": cancelled.pk, "method": "offline", "note": "银行转账"}, follow=True
    )
    assert "已记录线下退款" in response.content.decode()
    assert state(cancelled, placed) == ("succeeded", "offline", "refunded", 1150, "refunded", "cancelled")
    assert f'data-refund="{cancelled.pk}"' not in console.get("/hq/payments/").content.decode()


def test_the_payment_settings_page_has_wechat_pay_pay_the_customers_card(
    hq_api, wechat_gateway, cancelled, placed, caplog
):
    from django.test import Client

    console = Client()
    console.force_login(hq_api.staff)
    go_abnormal(wechat_gateway, cancelled, "notification")
    page = console.get("/hq/payments/").content.decode()
    assert 'name="bank_type"' in page and 'value="ICBC_DEBIT"' in page

    before = state(cancelled, placed)
    for card, problem in (
        ({**CARD, "bank_type": ""}, "请选择开户银行"),
        ({**CARD, "bank_account": "6222 0202 x"}, "银行卡号应为 10–32 位数字"),
        ({**CARD, "real_name": "  "}, "请填写持卡人姓名"),
    ):
        response = console.post(
            "/hq/payments/", {"refund_id": cancelled.pk, "method": "user_bank_card", **card}, follow=True
        )
        assert problem in response.content.decode()
    assert state(cancelled, placed) == before and wechat_gateway.abnormal_requests == []

    typed = {**CARD, "bank_account": "6222 0202 0011 2233 445"}  # grouped as printed on the card
    with caplog.at_level(logging.DEBUG):
        response = console.post(
            "/hq/payments/",
            {"refund_id": cancelled.pk, "method": "user_bank_card", "note": "顾客来电提供新卡", **typed},
            follow=True,
        )
    page = response.content.decode()
    assert "已请微信支付退到顾客的银行卡" in page
    [received] = wechat_gateway.abnormal_requests
    assert received["type"] == "USER_BANK_CARD" and {key: received[key] for key in CARD} == CARD
    assert state(cancelled, placed)[:2] == ("pending", "user_bank_card")
    assert f'data-refund="{cancelled.pk}"' not in page
    for value in (CARD["bank_account"], typed["bank_account"], CARD["real_name"]):
        assert value not in page and value not in caplog.text


def test_another_merchants_console_cannot_settle_the_refund(
    make_staff_api, other_merchant, wechat_gateway, cancelled, placed
):
    from django.test import Client

    go_abnormal(wechat_gateway, cancelled, "notification")
    rival = make_staff_api(
        role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None, username="rival_web"
    )
    console = Client()
    console.force_login(rival.staff)
    before = state(cancelled, placed)
    assert f'data-refund="{cancelled.pk}"' not in console.get("/hq/payments/").content.decode()
    console.post("/hq/payments/", {"refund_id": cancelled.pk, "method": "offline", "note": "不是我的"})
    assert state(cancelled, placed) == before


def test_the_refund_list_costs_the_same_queries_for_more_refunds(hq_api, paid, django_assert_max_num_queries):
    Refund.objects.create(payment=paid, amount=100, status="abnormal")
    with django_assert_max_num_queries(100) as one:
        assert len(hq_api.get("/api/hq/v1/refunds", {"status": "abnormal"}).json()["items"]) == 1
    for _ in range(5):
        Refund.objects.create(payment=paid, amount=100, status="abnormal")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(hq_api.get("/api/hq/v1/refunds", {"status": "abnormal"}).json()["items"]) == 6
    page = hq_api.get("/api/hq/v1/refunds", {"status": "abnormal", "limit": 4}).json()
    rest = hq_api.get("/api/hq/v1/refunds", {"status": "abnormal", "limit": 4, "cursor": page["next_cursor"]})
    ids = [item["id"] for item in page["items"] + rest.json()["items"]]
    assert len(ids) == 6 == len(set(ids)) and ids == sorted(ids, key=int, reverse=True)
    assert rest.json()["next_cursor"] is None
