"""WeChat Pay (API v3, JSAPI) end to end against a local stand-in gateway that speaks the published
protocol with real keys: pay through the contract API, callbacks verified and decrypted, every
forged or mismatched callback rejected without changing anything, query/close, refunds and their
callbacks, the gateway down."""

import base64
import datetime as dt
import json
import logging
import time

import pytest
from django.utils import timezone

from mendian.integrations.models import OutboxEvent
from mendian.orders.models import Order, OrderEvent, RefundRequest
from mendian.payments import services
from mendian.payments.models import Payment, PaymentNotification, Refund
from mendian.payments.providers import provider_for_payment, wechatpay
from mendian.payments.providers.base import ProviderError
from tests.payments.conftest import notify, start_payment
from tests.payments.standins.wechatpay import *  # noqa: F403 - the stand-in's fixtures
from tests.payments.standins.wechatpay import (
    APPID,
    MCHID,
    OPENID,
    PUBLIC_KEY_ID,
    fresh_key,
    keys,
    wechat_account_for,
)

pytestmark = pytest.mark.django_db


def snapshot(order_id):
    """Everything a callback could change."""
    order = Order.objects.get(pk=order_id)
    return (
        order.status,
        order.paid_amount,
        order.payment_id,
        list(Payment.objects.filter(order=order).values_list("status", "provider_transaction_id", "paid_at")),
        list(Refund.objects.values_list("status", "provider_refund_id")),
        PaymentNotification.objects.count(),
        OrderEvent.objects.filter(order=order).count(),
        OutboxEvent.objects.filter(event_type="order.paid").count(),
    )


def pay_start(client, order_id):
    response = start_payment(client, order_id, "wechatpay")
    assert response.status_code == 201, response.content
    body = response.json()
    return body, Payment.objects.get(public_id=body["payment_id"])


def assert_rejected(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == "FAIL" and body["message"]


@pytest.fixture
def wechat_payment(wechat_member, wechat_account, placed):
    return pay_start(wechat_member, placed["id"])[1]


# --- paying ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["certificate", "public_key"])
def test_a_customer_pays_an_order_with_wechat_pay(mode, wechat_member, wechat_gateway, merchant, placed):
    wechat_gateway.set_mode(mode)
    wechat_account_for(wechat_gateway, merchant, modes=(mode,))

    body, payment = pay_start(wechat_member, placed["id"])

    assert (body["provider"], body["status"]) == ("wechatpay", "pending")
    params = body["client_params"]
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == APPID and params["signType"] == "RSA"
    assert abs(int(params["timeStamp"]) - time.time()) < 60
    # What wx.requestPayment sends WeChat: signed with the merchant key over four lines.
    message = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    assert wechatpay.rsa_verify(keys()["merchant"].public_key(), message, params["paySign"])
    order_at_gateway = wechat_gateway.orders[payment.out_trade_no]
    assert params["package"] == f"prepay_id={order_at_gateway['prepay_id']}"
    assert order_at_gateway["amount"] == {"total": 1150, "currency": "CNY"}
    assert order_at_gateway["payer"] == {"openid": OPENID}
    assert order_at_gateway["notify_url"] == "http://testserver/api/v1/payments/notify/wechatpay"

    transaction = wechat_gateway.customer_pays(payment.out_trade_no)
    headers, raw = wechat_gateway.payment_notification(payment.out_trade_no)
    response = notify(headers, raw, "wechatpay")

    assert response.status_code == 204 and response.content == b""
    order = Order.objects.get(pk=placed["id"])
    assert (order.status, order.paid_amount, order.payment_id) == ("paid", 1150, payment.public_id)
    payment.refresh_from_db()
    assert (payment.status, payment.provider_transaction_id) == ("paid", transaction["transaction_id"])
    assert OutboxEvent.objects.filter(event_type="order.paid").count() == 1
    assert list(PaymentNotification.objects.values_list("outcome", flat=True)) == ["paid"]


def test_during_a_key_migration_callbacks_signed_with_either_key_are_accepted(
    wechat_member, wechat_gateway, merchant, placed
):
    wechat_account_for(wechat_gateway, merchant, modes=("certificate", "public_key"))
    _, payment = pay_start(wechat_member, placed["id"])
    wechat_gateway.customer_pays(payment.out_trade_no)
    wechat_gateway.set_mode("public_key")
    headers, raw = wechat_gateway.payment_notification(payment.out_trade_no)
    assert notify(headers, raw, "wechatpay").status_code == 204
    wechat_gateway.set_mode("certificate")
    headers, raw = wechat_gateway.payment_notification(payment.out_trade_no)  # another id
    assert notify(headers, raw, "wechatpay").status_code == 204
    assert list(PaymentNotification.objects.order_by("id").values_list("outcome", flat=True)) == [
        "paid",
        "already_paid",
    ]
    assert OrderEvent.objects.filter(order_id=placed["id"], status="paid").count() == 1
    # Our requests name the public key we verify with; its signed replies were accepted.
    assert {r["serial"] for r in wechat_gateway.requests} == {PUBLIC_KEY_ID}


def test_a_retried_payment_reuses_its_out_trade_no(wechat_member, wechat_gateway, wechat_account, placed):
    first, payment = pay_start(wechat_member, placed["id"])
    again, _ = pay_start(wechat_member, placed["id"])
    assert first["payment_id"] == again["payment_id"]
    assert first["client_params"]["package"] == again["client_params"]["package"]
    sent = [
        json.loads(r["body"]) for r in wechat_gateway.requests if r["path"] == "/v3/pay/transactions/jsapi"
    ]
    assert [s["out_trade_no"] for s in sent] == [payment.out_trade_no] * 2
    assert list(wechat_gateway.orders) == [payment.out_trade_no]
    assert Payment.objects.count() == 1


def test_a_customer_without_a_wechat_login_cannot_pay_with_wechat_pay(
    member, wechat_gateway, wechat_account, placed
):
    response = start_payment(member, placed["id"], "wechatpay")
    assert response.status_code == 422
    assert response.json()["code"] == "wechat_openid_missing"
    assert Payment.objects.count() == 0 and wechat_gateway.requests == []


def test_a_merchant_without_a_wechat_pay_account_does_not_offer_it(wechat_member, wechat_gateway, placed):
    response = start_payment(wechat_member, placed["id"], "wechatpay")
    assert response.status_code == 422
    assert response.json()["code"] == "provider_unavailable"


# --- callbacks that must change nothing ----------------------------------------------------------


def _with(headers, **changes):
    return {**headers, **changes}


def _forgeries(gateway, payment):
    """(name, headers, body, expected status) of callbacks that must be rejected."""
    good_headers, good_body = gateway.payment_notification(payment.out_trade_no)
    envelope = json.loads(good_body)
    ciphertext = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    ciphertext[5] ^= 0x01
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    tampered = json.dumps(envelope, separators=(",", ":")).encode()
    stranger = fresh_key()
    yield (
        "forged signature",
        *gateway.notification(
            "TRANSACTION.SUCCESS", gateway._transaction(gateway.orders[payment.out_trade_no]), key=stranger
        ),
        400,
    )
    yield "body changed after signing", good_headers, good_body.replace(b"TRANSACTION", b"TRANSACTIOM"), 400
    yield (
        "unknown serial",
        _with(good_headers, **{"Wechatpay-Serial": "7132D72A03E93CDDF8C03BBD1F37EEDF"}),
        good_body,
        400,
    )
    yield "stale timestamp", *gateway.payment_notification(payment.out_trade_no), 400
    yield (
        "SIGNTEST probe",
        _with(
            good_headers,
            **{"Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + base64.b64encode(b"x" * 256).decode()},
        ),
        good_body,
        400,
    )
    yield "tampered ciphertext, re-signed", gateway.signed_headers(tampered), tampered, 400
    yield (
        "wrong APIv3 key",
        *gateway.notification(
            "TRANSACTION.SUCCESS",
            gateway._transaction(gateway.orders[payment.out_trade_no]),
            apiv3_key=b"k" * 32,
        ),
        400,
    )
    yield "another mchid", *gateway.payment_notification(payment.out_trade_no, mchid="1900000999"), 400
    yield (
        "another appid",
        *gateway.payment_notification(payment.out_trade_no, appid="wx0000000000000000"),
        400,
    )
    yield (
        "another amount",
        *gateway.payment_notification(payment.out_trade_no, amount={"total": 1, "currency": "CNY"}),
        409,
    )
    yield (
        "unknown out_trade_no",
        *gateway.payment_notification(payment.out_trade_no, out_trade_no="f" * 32),
        404,
    )


def test_forged_stale_probe_and_mismatched_callbacks_change_nothing(
    wechat_gateway, wechat_payment, placed, caplog
):
    wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    before = snapshot(placed["id"])
    stale_at = int(time.time()) - 301
    for name, headers, body, status in _forgeries(wechat_gateway, wechat_payment):
        if name == "stale timestamp":
            headers = wechat_gateway.signed_headers(body, timestamp=stale_at)
        response = notify(headers, body, "wechatpay")
        assert response.status_code == status, name
        assert response.json()["code"] == "FAIL", name
        assert snapshot(placed["id"]) == before, name
    # The genuine callback still goes through afterwards.
    headers, body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)
    assert notify(headers, body, "wechatpay").status_code == 204
    assert Order.objects.get(pk=placed["id"]).status == "paid"


def test_a_callback_from_the_future_is_rejected(wechat_gateway, wechat_payment, placed):
    wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    _, body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)
    assert_rejected(
        notify(wechat_gateway.signed_headers(body, timestamp=int(time.time()) + 400), body, "wechatpay")
    )
    assert Order.objects.get(pk=placed["id"]).status == "pending_payment"


def test_a_callback_verified_by_another_merchants_account_cannot_pay_this_order(
    wechat_gateway, wechat_payment, other_merchant, placed
):
    # The other merchant's account shares nothing but the stand-in's keys: its callback is genuine
    # for it, yet the payment is not its own.
    from mendian.payments.models import ProviderAccount

    mine = ProviderAccount.objects.get(provider="wechatpay")
    ProviderAccount.objects.create(
        merchant=other_merchant, provider="wechatpay", enabled=True, config=mine.config, secrets=mine.secrets
    )
    ProviderAccount.objects.filter(pk=mine.pk).update(config={**mine.config, "platform_certificates": {}})
    wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    headers, body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)
    assert_rejected(notify(headers, body, "wechatpay"), 404)
    assert Order.objects.get(pk=placed["id"]).status == "pending_payment"


def test_the_same_notification_again_is_acknowledged_and_changes_nothing(
    wechat_gateway, wechat_payment, placed
):
    wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    headers, body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)
    assert notify(headers, body, "wechatpay").status_code == 204
    after_first = snapshot(placed["id"])
    for _ in range(3):
        assert notify(headers, body, "wechatpay").status_code == 204
    assert snapshot(placed["id"]) == after_first
    assert PaymentNotification.objects.count() == 1


def test_decrypted_payloads_and_keys_stay_out_of_the_logs(wechat_gateway, wechat_payment, caplog):
    caplog.set_level(logging.DEBUG)
    transaction = wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    for _, headers, body, _ in _forgeries(wechat_gateway, wechat_payment):
        notify(headers, body, "wechatpay")
    headers, body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)
    notify(headers, body, "wechatpay")
    text = caplog.text
    assert "rejected wechatpay notification" in text
    for secret in (OPENID, transaction["transaction_id"], wechat_gateway.apiv3_key.decode(), "PRIVATE KEY"):
        assert secret not in text


# --- query, close: reconciliation ----------------------------------------------------------------


def test_reconciliation_closes_an_unpaid_trade_at_wechat_pay(wechat_gateway, wechat_payment, placed):
    assert services.payment_reconcile(payment_id=wechat_payment.pk) == "closed"
    assert wechat_gateway.orders[wechat_payment.out_trade_no]["trade_state"] == "CLOSED"
    wechat_payment.refresh_from_db()
    assert wechat_payment.status == "closed" and wechat_payment.closed_at is not None
    paths = [r["path"] for r in wechat_gateway.requests]
    assert f"/v3/pay/transactions/out-trade-no/{wechat_payment.out_trade_no}?mchid={MCHID}" in paths
    assert f"/v3/pay/transactions/out-trade-no/{wechat_payment.out_trade_no}/close" in paths


def test_reconciliation_records_a_payment_whose_callback_was_lost(wechat_gateway, wechat_payment, placed):
    transaction = wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    assert services.payment_reconcile(payment_id=wechat_payment.pk) == "paid"
    order = Order.objects.get(pk=placed["id"])
    wechat_payment.refresh_from_db()
    assert (order.status, order.paid_amount) == ("paid", 1150)
    assert wechat_payment.provider_transaction_id == transaction["transaction_id"]
    # The late callback is then acknowledged and changes nothing.
    before = snapshot(placed["id"])
    headers, body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)
    assert notify(headers, body, "wechatpay").status_code == 204
    assert snapshot(placed["id"])[:4] == before[:4]


def test_reconciliation_leaves_a_customer_who_is_paying_right_now(wechat_gateway, wechat_payment):
    wechat_gateway.orders[wechat_payment.out_trade_no]["trade_state"] = "USERPAYING"
    assert services.payment_reconcile(payment_id=wechat_payment.pk) == "pending"
    wechat_payment.refresh_from_db()
    assert wechat_payment.status == "pending"


def test_closing_a_trade_the_customer_has_just_paid_records_the_payment(
    wechat_gateway, wechat_payment, placed
):
    adapter = provider_for_payment(wechat_payment)
    assert adapter.query(wechat_payment).state == "pending"
    wechat_gateway.customer_pays(wechat_payment.out_trade_no)  # between our query and our close
    with pytest.raises(ProviderError):
        adapter.close(wechat_payment)
    assert services.payment_reconcile(payment_id=wechat_payment.pk) == "paid"
    assert Order.objects.get(pk=placed["id"]).status == "paid"


# --- refunds ---------------------------------------------------------------------------------------


@pytest.fixture
def paid(wechat_gateway, wechat_payment, placed):
    wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    assert (
        notify(*wechat_gateway.payment_notification(wechat_payment.out_trade_no), "wechatpay").status_code
        == 204
    )
    wechat_payment.refresh_from_db()
    return wechat_payment


def test_a_cancelled_paid_order_is_refunded_when_wechat_pay_reports_it(
    wechat_member, wechat_gateway, paid, placed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert wechat_member.post(f"/api/v1/orders/{placed['id']}/cancel", {}).status_code == 200
    refund = Refund.objects.get()
    at_gateway = wechat_gateway.refunds[refund.out_refund_no]
    assert at_gateway["amount"] == {"refund": 1150, "total": 1150}
    assert at_gateway["notify_url"] == "http://testserver/api/v1/payments/notify/wechatpay"
    assert (refund.status, refund.provider_refund_id) == ("pending", at_gateway["refund_id"])
    assert RefundRequest.objects.get(order_id=placed["id"]).status != "refunded"

    headers, body = wechat_gateway.refund_notification(refund.out_refund_no)
    assert notify(headers, body, "wechatpay").status_code == 204

    refund.refresh_from_db()
    paid.refresh_from_db()
    order = Order.objects.get(pk=placed["id"])
    assert refund.status == "succeeded" and refund.succeeded_at is not None
    assert (paid.status, paid.refunded_amount) == ("refunded", 1150)
    assert (order.status, order.refunded_amount) == ("cancelled", 1150)
    assert RefundRequest.objects.get(order_id=placed["id"]).status == "refunded"
    # Repeats of the callback, and sending the refund again, change nothing.
    assert notify(headers, body, "wechatpay").status_code == 204
    assert services.refund_send(refund_id=refund.pk) == "succeeded"
    assert Order.objects.get(pk=placed["id"]).refunded_amount == 1150
    assert len(wechat_gateway.refunds) == 1


def test_a_refund_resent_reuses_its_out_refund_no(wechat_gateway, paid, placed):
    order = Order.objects.get(pk=placed["id"])
    refund = services.refund_start(order=order, amount=300, refund_request_id=None, reason="少件")
    assert services.refund_send(refund_id=refund.pk) == "pending"
    assert services.refund_send(refund_id=refund.pk) == "pending"
    sent = [
        json.loads(r["body"]) for r in wechat_gateway.requests if r["path"] == "/v3/refund/domestic/refunds"
    ]
    assert [s["out_refund_no"] for s in sent] == [refund.out_refund_no] * 2
    assert sent[0]["amount"] == {"refund": 300, "total": 1150, "currency": "CNY"}
    assert len(wechat_gateway.refunds) == 1


def test_a_refund_that_wechat_pay_closed_releases_the_amount(wechat_gateway, paid, placed):
    order = Order.objects.get(pk=placed["id"])
    refund = services.refund_start(order=order, amount=300, refund_request_id=None, reason="少件")
    services.refund_send(refund_id=refund.pk)
    assert (
        notify(
            *wechat_gateway.refund_notification(refund.out_refund_no, status="CLOSED"), "wechatpay"
        ).status_code
        == 204
    )
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == "failed" and "CLOSED" in refund.failure
    assert (paid.status, paid.refunded_amount) == ("paid", 0)
    # Released: the whole amount may be refunded anew.
    again = services.refund_start(order=order, amount=1150, refund_request_id=None, reason="重新退款")
    assert again.status == "pending"


def test_refund_callbacks_that_do_not_match_change_nothing(wechat_gateway, paid, placed):
    order = Order.objects.get(pk=placed["id"])
    refund = services.refund_start(order=order, amount=300, refund_request_id=None, reason="少件")
    services.refund_send(refund_id=refund.pk)
    before = snapshot(placed["id"])
    wrong_amount = wechat_gateway.refund_notification(
        refund.out_refund_no,
        amount={"total": 1150, "refund": 1150, "payer_total": 1150, "payer_refund": 1150},
    )
    assert_rejected(notify(*wrong_amount, "wechatpay"), 409)
    assert_rejected(
        notify(
            *wechat_gateway.refund_notification(refund.out_refund_no, out_refund_no="0" * 32), "wechatpay"
        ),
        404,
    )
    assert_rejected(
        notify(*wechat_gateway.refund_notification(refund.out_refund_no, mchid="1900000999"), "wechatpay")
    )
    contradicting = wechat_gateway.refund_notification(refund.out_refund_no, refund_status="ABNORMAL")
    assert_rejected(notify(*contradicting, "wechatpay"))
    forged = wechat_gateway.notification("REFUND.SUCCESS", {"mchid": MCHID}, key=fresh_key())
    assert_rejected(notify(*forged, "wechatpay"))
    assert snapshot(placed["id"]) == before
    assert Refund.objects.get().status == "pending"


# --- WeChat Pay down, or not who it says -----------------------------------------------------------


def test_wechat_pay_down_answers_502_and_keeps_nothing(wechat_member, wechat_gateway, wechat_account, placed):
    wechat_gateway.down = True
    response = start_payment(wechat_member, placed["id"], "wechatpay")
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert Payment.objects.count() == 0
    wechat_gateway.down = False
    _, payment = pay_start(wechat_member, placed["id"])
    assert payment.status == "pending"


def test_wechat_pay_unreachable_answers_502(wechat_member, wechat_gateway, wechat_account, placed):
    wechat_account.config = {**wechat_account.config, "api_base": "http://127.0.0.1:9"}
    wechat_account.save()
    response = start_payment(wechat_member, placed["id"], "wechatpay")
    assert response.status_code == 502
    assert Payment.objects.count() == 0


def test_a_reply_not_signed_by_wechat_pay_is_not_trusted(
    wechat_member, wechat_gateway, wechat_account, placed
):
    wechat_gateway.sign_responses_with = fresh_key()
    response = start_payment(wechat_member, placed["id"], "wechatpay")
    assert response.status_code == 502
    assert Payment.objects.count() == 0


def test_requests_signed_with_another_merchant_key_are_refused_by_wechat_pay(
    wechat_member, wechat_gateway, wechat_account, placed
):
    from tests.payments.standins.wechatpay import private_pem

    wechat_account.set_secret_values(
        {**wechat_account.secret_values(), "private_key": private_pem(fresh_key())}
    )
    wechat_account.save()
    response = start_payment(wechat_member, placed["id"], "wechatpay")
    assert response.status_code == 502
    assert Payment.objects.count() == 0


def test_wechat_pay_down_leaves_reconciliation_and_refunds_to_retry(wechat_gateway, paid, placed):
    order = Order.objects.get(pk=placed["id"])
    refund = services.refund_start(order=order, amount=300, refund_request_id=None, reason="少件")
    wechat_gateway.down = True
    with pytest.raises(ProviderError):
        services.refund_send(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == "pending"
    wechat_gateway.down = False
    assert services.refund_send(refund_id=refund.pk) == "pending"


def test_reconciliation_with_wechat_pay_down_retries_later(wechat_gateway, wechat_payment, placed):
    Order.objects.filter(pk=placed["id"]).update(pay_deadline=timezone.now())
    wechat_gateway.down = True
    assert services.payments_reconcile_pending(now=timezone.now() + dt.timedelta(minutes=1)) == 1
    wechat_payment.refresh_from_db()
    assert wechat_payment.status == "pending"
    wechat_gateway.down = False
    assert services.payments_reconcile_pending(now=timezone.now() + dt.timedelta(minutes=1)) == 1
    wechat_payment.refresh_from_db()
    assert wechat_payment.status == "closed"


def test_a_misconfigured_account_answers_502_and_names_the_field_not_the_key(
    wechat_member, wechat_gateway, wechat_account, placed, caplog
):
    wechat_account.set_secret_values({**wechat_account.secret_values(), "apiv3_key": "too-short"})
    wechat_account.save()
    response = start_payment(wechat_member, placed["id"], "wechatpay")
    assert response.status_code == 502
    assert "the APIv3 key must be 32 bytes" in caplog.text
    assert "too-short" not in caplog.text and "PRIVATE KEY" not in caplog.text
    assert Payment.objects.count() == 0 and wechat_gateway.requests == []
