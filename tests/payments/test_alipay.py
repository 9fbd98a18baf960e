"""Alipay (RSA2, mobile-web payments) end to end against a local stand-in gateway that speaks the
published protocol with real keys: pay through the contract API, async notifications verified and
checked (signature, app_id, seller_id, amount, out_trade_no), every forged, stale, probing or
mismatched notification rejected without changing anything, query/close, refunds by
`out_request_no`, the gateway down."""

import datetime as dt
import json
import logging
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from django.test import Client
from django.utils import timezone

from mendian.integrations.models import OutboxEvent
from mendian.orders.models import Order, OrderEvent, RefundRequest
from mendian.payments import services
from mendian.payments.models import Payment, PaymentNotification, ProviderAccount, Refund
from mendian.payments.providers import alipay, provider_for_payment
from mendian.payments.providers.base import ProviderError
from tests.payments.conftest import start_payment
from tests.payments.standins.alipay import (
    APP_ID,
    SELLER_ID,
    AlipayStandIn,
    bare_base64,
    fresh_key,
    private_pem,
    public_pem,
    sign,
)

pytestmark = pytest.mark.django_db

OTHER_APP_ID = "2021000117600002"
OTHER_SELLER_ID = "2088102177000002"
SHANGHAI = alipay.BEIJING


@pytest.fixture(scope="session")
def alipay_standin():
    gateway = AlipayStandIn()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def app_key():
    return fresh_key()


@pytest.fixture
def gateway(alipay_standin, app_key):
    alipay_standin.reset()
    alipay_standin.register_app(APP_ID, app_key.public_key(), SELLER_ID)
    yield alipay_standin
    alipay_standin.reset()


def account_for(merchant, gateway, key, *, app_id=APP_ID, seller_id=SELLER_ID, **config) -> ProviderAccount:
    account = ProviderAccount(
        merchant=merchant,
        provider="alipay",
        enabled=True,
        config={
            "app_id": app_id,
            "seller_id": seller_id,
            "gateway": gateway.url,
            "alipay_public_key": gateway.alipay_public_pem,
            **config,
        },
    )
    account.set_secret_values({"app_private_key": private_pem(key)})
    account.save()
    return account


@pytest.fixture
def alipay_account(merchant, gateway, app_key):
    return account_for(merchant, gateway, app_key)


def snapshot(order_id):
    """Everything a notification could change."""
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


def pay_start(client, order_id) -> tuple[dict, Payment]:
    response = start_payment(client, order_id, "alipay")
    assert response.status_code == 201, response.content
    body = response.json()
    return body, Payment.objects.get(public_id=body["payment_id"])


def url_params(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def open_cashier(url: str) -> httpx.Response:
    """The customer's browser follows the pay URL to the (stand-in) Alipay cashier."""
    return httpx.get(url, timeout=5)


def notify(body: bytes):
    """Posts an async notification as Alipay does: form-encoded, no login."""
    return Client().post(
        "/api/v1/payments/notify/alipay",
        body,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )


def assert_success(response):
    assert response.status_code == 200, response.content
    assert response.content == b"success"
    assert response["Content-Type"].startswith("text/plain")


def assert_rejected(response, status=400, code="invalid_notification"):
    assert response.status_code == status, response.content
    assert response.content != b"success"
    assert response.json()["code"] == code


@pytest.fixture
def opened(member, alipay_account, placed, gateway):
    """An Alipay payment whose pay URL the customer has opened: the trade waits at the gateway."""
    body, payment = pay_start(member, placed["id"])
    assert open_cashier(body["client_params"]["pay_url"]).status_code == 200
    assert gateway.trades[payment.out_trade_no]["status"] == "WAIT_BUYER_PAY"
    return payment


@pytest.fixture
def paid_notification(opened, gateway):
    """The customer has paid at the gateway; its signed notification (not yet delivered)."""
    gateway.customer_pays(opened.out_trade_no)
    return gateway.notification(opened.out_trade_no)


def _past_deadline(order_id):
    Order.objects.filter(pk=order_id).update(pay_deadline=timezone.now() - dt.timedelta(seconds=5))


# --- paying through the contract API -----------------------------------------------------------


def test_pay_url_then_notification_marks_the_order_paid(member, alipay_account, placed, gateway):
    body, payment = pay_start(member, placed["id"])
    assert (body["provider"], body["status"]) == ("alipay", "pending")
    assert set(body["client_params"]) == {"pay_url"}
    pay_url = body["client_params"]["pay_url"]
    assert pay_url.startswith(gateway.url + "?")
    params = url_params(pay_url)
    assert (params["method"], params["app_id"], params["sign_type"], params["charset"]) == (
        "alipay.trade.wap.pay",
        APP_ID,
        "RSA2",
        "utf-8",
    )
    assert params["notify_url"] == "http://testserver/api/v1/payments/notify/alipay"
    # After paying (or giving up) the customer comes back to the order's page.
    assert params["return_url"] == f"http://testserver/orders/{placed['id']}/"
    biz = json.loads(params["biz_content"])
    order = Order.objects.get(pk=placed["id"])
    assert biz["out_trade_no"] == payment.out_trade_no
    assert biz["total_amount"] == "11.50"
    assert (biz["product_code"], biz["seller_id"]) == ("QUICK_WAP_WAY", SELLER_ID)
    assert biz["time_expire"] == order.pay_deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    assert order.number in biz["subject"]
    assert biz["quit_url"] == params["return_url"]

    # The gateway verifies our signature when the customer opens the URL.
    assert open_cashier(pay_url).status_code == 200
    assert gateway.rejected == []
    gateway.customer_pays(payment.out_trade_no)
    fields = gateway.notification_fields(payment.out_trade_no)
    reply = notify(gateway.signed_body(fields))
    assert_success(reply)

    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, order.paid_amount, order.payment_id, order.payment_provider) == (
        "paid",
        1150,
        payment.public_id,
        "alipay",
    )
    assert payment.status == "paid"
    assert payment.provider_transaction_id == gateway.trades[payment.out_trade_no]["trade_no"]
    assert payment.paid_at == dt.datetime.strptime(fields["gmt_payment"], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=SHANGHAI
    )
    notification = PaymentNotification.objects.get()
    assert (notification.notification_id, notification.outcome) == (fields["notify_id"], "paid")
    assert member.get(f"/api/v1/orders/{placed['id']}").json()["status"] == "paid"


def test_a_pay_url_changed_on_the_way_is_refused_by_alipay(member, alipay_account, placed, gateway):
    body, payment = pay_start(member, placed["id"])
    params = url_params(body["client_params"]["pay_url"])
    biz = json.loads(params["biz_content"])
    params["biz_content"] = json.dumps({**biz, "total_amount": "0.01"}, separators=(",", ":"))
    response = open_cashier(gateway.url + "?" + urlencode(params))
    assert response.status_code == 400
    assert gateway.rejected == ["isv.invalid-signature"]
    assert payment.out_trade_no not in gateway.trades


def test_keys_pasted_as_alipays_bare_base64_work(member, merchant, placed, gateway, app_key):
    account_for(merchant, gateway, app_key)
    ProviderAccount.objects.filter(provider="alipay").update(
        config={
            "app_id": APP_ID,
            "seller_id": SELLER_ID,
            "gateway": gateway.url,
            "alipay_public_key": bare_base64(gateway.alipay_public_pem),
        }
    )
    account = ProviderAccount.objects.get(provider="alipay")
    account.set_secret_values({"app_private_key": bare_base64(private_pem(app_key))})
    account.save()
    body, payment = pay_start(member, placed["id"])
    assert open_cashier(body["client_params"]["pay_url"]).status_code == 200
    gateway.customer_pays(payment.out_trade_no)
    assert_success(notify(gateway.notification(payment.out_trade_no)))
    assert Order.objects.get(pk=placed["id"]).status == "paid"


def test_paying_again_reuses_the_payment_and_its_out_trade_no(member, alipay_account, placed, gateway):
    first, payment = pay_start(member, placed["id"])
    second, again = pay_start(member, placed["id"])
    assert first["payment_id"] == second["payment_id"]
    assert Payment.objects.count() == 1
    urls = [first["client_params"]["pay_url"], second["client_params"]["pay_url"]]
    numbers = {json.loads(url_params(url)["biz_content"])["out_trade_no"] for url in urls}
    assert numbers == {payment.out_trade_no}
    for url in urls:
        assert open_cashier(url).status_code == 200
    assert list(gateway.trades) == [payment.out_trade_no]


def test_alipay_is_unavailable_without_an_enabled_account(member, alipay_account, placed):
    ProviderAccount.objects.filter(pk=alipay_account.pk).update(enabled=False)
    response = start_payment(member, placed["id"], "alipay")
    assert response.status_code == 422
    assert response.json()["code"] == "provider_unavailable"
    assert Payment.objects.count() == 0


def test_the_cashier_refuses_a_pay_url_after_the_orders_deadline(member, alipay_account, placed, gateway):
    body, payment = pay_start(member, placed["id"])
    deadline = Order.objects.get(pk=placed["id"]).pay_deadline
    # The customer comes back to the pay URL once the order's deadline has passed.
    gateway.clock_offset = deadline - timezone.now() + dt.timedelta(minutes=1)
    response = open_cashier(body["client_params"]["pay_url"])
    assert response.status_code == 400 and "ACQ.TRADE_HAS_EXPIRED" in response.text
    assert payment.out_trade_no not in gateway.trades


# --- notifications ------------------------------------------------------------------------------


def test_the_same_notification_again_and_again_changes_things_once(opened, paid_notification, gateway):
    replies = [notify(paid_notification) for _ in range(5)]
    # A redelivery is signed afresh (a new notify_time) but keeps its notify_id.
    replies.append(notify(gateway.notification(opened.out_trade_no)))
    for reply in replies:
        assert_success(reply)
    order = Order.objects.get(pk=opened.order_id)
    assert order.status == "paid"
    assert PaymentNotification.objects.count() == 1
    assert OrderEvent.objects.filter(order=order, status="paid").count() == 1
    assert OutboxEvent.objects.filter(event_type="order.paid").count() == 1


def _resigned(gateway, body: bytes, **changes) -> bytes:
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    return gateway.signed_body({**fields, **changes})


@pytest.mark.parametrize(
    "forge",
    [
        "bad_signature",
        "byte_changed",
        "other_alipay_key",
        "signed_by_the_app_key",
        "unsigned_probe",
        "empty_probe",
        "sha1_sign_type",
        "field_twice",
        "stale",
        "from_the_future",
        "wrong_app_id",
        "wrong_seller_id",
        "not_a_form",
    ],
)
def test_rejected_notifications_change_nothing(opened, paid_notification, gateway, app_key, forge):
    fields = dict(parse_qsl(paid_notification.decode(), keep_blank_values=True))
    before = snapshot(opened.order_id)
    long_ago = (timezone.now() - dt.timedelta(days=3)).astimezone(SHANGHAI)
    ahead = (timezone.now() + dt.timedelta(hours=1)).astimezone(SHANGHAI)
    body = {
        "bad_signature": lambda: urlencode(
            {**fields, "sign": sign(gateway.alipay_key, "total_amount=11.50")}
        ).encode(),
        "byte_changed": lambda: paid_notification.replace(b"total_amount=11.50", b"total_amount=0.01"),
        "other_alipay_key": lambda: gateway.signed_body(fields, key=fresh_key()),
        "signed_by_the_app_key": lambda: gateway.signed_body(fields, key=app_key),
        "unsigned_probe": lambda: urlencode({k: v for k, v in fields.items() if k != "sign"}).encode(),
        "empty_probe": lambda: b"",
        "sha1_sign_type": lambda: _resigned(gateway, paid_notification, sign_type="RSA"),
        "field_twice": lambda: paid_notification + b"&total_amount=0.01",
        "stale": lambda: _resigned(
            gateway, paid_notification, notify_time=long_ago.strftime("%Y-%m-%d %H:%M:%S")
        ),
        "from_the_future": lambda: _resigned(
            gateway, paid_notification, notify_time=ahead.strftime("%Y-%m-%d %H:%M:%S")
        ),
        "wrong_app_id": lambda: _resigned(gateway, paid_notification, app_id="2021000117609999"),
        "wrong_seller_id": lambda: _resigned(gateway, paid_notification, seller_id="2088102177009999"),
        "not_a_form": lambda: json.dumps(fields).encode(),
    }[forge]()
    reply = notify(body)
    assert_rejected(reply)
    assert snapshot(opened.order_id) == before
    assert Payment.objects.get(pk=opened.pk).status == "pending"
    # The genuine notification still goes through afterwards.
    assert_success(notify(paid_notification))
    assert Order.objects.get(pk=opened.order_id).status == "paid"


def test_a_signed_notification_for_another_amount_changes_nothing(opened, paid_notification, gateway):
    before = snapshot(opened.order_id)
    reply = notify(_resigned(gateway, paid_notification, total_amount="0.01", receipt_amount="0.01"))
    assert_rejected(reply, status=409, code="amount_mismatch")
    assert snapshot(opened.order_id) == before


def test_a_signed_notification_for_an_unknown_trade_changes_nothing(opened, paid_notification, gateway):
    before = snapshot(opened.order_id)
    reply = notify(_resigned(gateway, paid_notification, out_trade_no="f" * 32))
    assert_rejected(reply, status=404, code="not_found")
    assert snapshot(opened.order_id) == before


def test_another_merchants_app_cannot_settle_this_merchants_payment(
    opened, paid_notification, gateway, other_merchant
):
    other_key = fresh_key()
    account_for(other_merchant, gateway, other_key, app_id=OTHER_APP_ID, seller_id=OTHER_SELLER_ID)
    gateway.register_app(OTHER_APP_ID, other_key.public_key(), OTHER_SELLER_ID)
    before = snapshot(opened.order_id)
    # Genuinely signed by Alipay, for the other merchant's app: the out_trade_no is not theirs.
    reply = notify(_resigned(gateway, paid_notification, app_id=OTHER_APP_ID, seller_id=OTHER_SELLER_ID))
    assert reply.status_code in (400, 404), reply.content
    assert reply.content != b"success"
    assert snapshot(opened.order_id) == before


@pytest.mark.parametrize("status", ["WAIT_BUYER_PAY", "TRADE_CLOSED"])
def test_a_notification_that_the_trade_is_not_paid_changes_nothing(opened, gateway, status):
    before = snapshot(opened.order_id)
    reply = notify(gateway.notification(opened.out_trade_no, trade_status=status))
    assert reply.status_code == 200 and reply.content == b"success"
    assert snapshot(opened.order_id) == before
    assert Payment.objects.get(pk=opened.pk).status == "pending"


def test_a_notification_that_the_trade_is_not_paid_is_acknowledged(opened, gateway):
    before = snapshot(opened.order_id)
    assert_success(notify(gateway.notification(opened.out_trade_no, trade_status="WAIT_BUYER_PAY")))
    assert snapshot(opened.order_id) == before


def test_a_notification_that_arrives_after_the_order_was_cancelled_is_refunded(
    member, opened, paid_notification, gateway, django_capture_on_commit_callbacks
):
    assert member.post(f"/api/v1/orders/{opened.order_id}/cancel", {}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert_success(notify(paid_notification))
    order = Order.objects.get(pk=opened.order_id)
    assert (order.status, order.paid_amount) == ("cancelled", 0)
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == ("succeeded", 1150)
    assert gateway.trades[opened.out_trade_no]["refunds"] == {refund.out_refund_no: "11.50"}


# --- reconciliation -----------------------------------------------------------------------------


def _methods(gateway) -> list[str]:
    return [call["method"] for call in gateway.calls if call["method"] != "alipay.trade.wap.pay"]


def test_reconciliation_settles_a_lost_notification(opened, paid_notification, gateway):
    _past_deadline(opened.order_id)
    assert services.payments_reconcile_pending() == 1
    order = Order.objects.get(pk=opened.order_id)
    payment = Payment.objects.get(pk=opened.pk)
    assert (order.status, payment.status) == ("paid", "paid")
    assert payment.provider_transaction_id == gateway.trades[opened.out_trade_no]["trade_no"]
    assert _methods(gateway) == ["alipay.trade.query"]
    # The late notification is then acknowledged and changes nothing.
    before = snapshot(opened.order_id)
    assert_success(notify(paid_notification))
    assert snapshot(opened.order_id)[:5] == before[:5]


def test_reconciliation_closes_an_abandoned_trade(opened, gateway):
    _past_deadline(opened.order_id)
    assert services.payments_reconcile_pending() == 1
    payment = Payment.objects.get(pk=opened.pk)
    assert payment.status == "closed" and payment.closed_at is not None
    assert gateway.trades[opened.out_trade_no]["status"] == "TRADE_CLOSED"
    assert _methods(gateway) == ["alipay.trade.query", "alipay.trade.close"]
    assert all(call["biz"]["out_trade_no"] == opened.out_trade_no for call in gateway.calls)


def test_reconciliation_closes_a_payment_whose_cashier_was_never_opened(
    member, alipay_account, placed, gateway
):
    _, payment = pay_start(member, placed["id"])
    _past_deadline(placed["id"])
    assert services.payments_reconcile_pending() == 1
    assert Payment.objects.get(pk=payment.pk).status == "closed"
    assert _methods(gateway) == ["alipay.trade.query", "alipay.trade.close"]


def test_reconciliation_when_the_customer_pays_as_the_close_arrives(opened, gateway):
    gateway.pay_when_closed = True
    _past_deadline(opened.order_id)
    services.payments_reconcile_pending()
    assert Payment.objects.get(pk=opened.pk).status == "paid"
    assert Order.objects.get(pk=opened.order_id).status == "paid"
    assert _methods(gateway) == ["alipay.trade.query", "alipay.trade.close", "alipay.trade.query"]


# --- refunds ------------------------------------------------------------------------------------


def _paid(opened, paid_notification):
    assert_success(notify(paid_notification))
    return Payment.objects.get(pk=opened.pk)


def test_cancelling_a_paid_order_refunds_with_out_request_no(
    member, opened, paid_notification, gateway, django_capture_on_commit_callbacks
):
    _paid(opened, paid_notification)
    with django_capture_on_commit_callbacks(execute=True):
        assert member.post(f"/api/v1/orders/{opened.order_id}/cancel", {}).status_code == 200
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == ("succeeded", 1150)
    assert refund.provider_refund_id == gateway.trades[opened.out_trade_no]["trade_no"]
    call = next(call for call in gateway.calls if call["method"] == "alipay.trade.refund")
    assert call["biz"]["out_request_no"] == refund.out_refund_no
    assert (call["biz"]["out_trade_no"], call["biz"]["refund_amount"]) == (opened.out_trade_no, "11.50")
    payment = Payment.objects.get(pk=opened.pk)
    assert (payment.status, payment.refunded_amount) == ("refunded", 1150)
    assert RefundRequest.objects.get(order_id=opened.order_id).status == "refunded"

    # Sent again (a retry after a lost reply): Alipay dedupes by out_request_no and says so.
    result = provider_for_payment(payment).refund(refund)
    assert result.state == "succeeded"
    assert gateway.trades[opened.out_trade_no]["refunds"] == {refund.out_refund_no: "11.50"}
    # Alipay's notification of the refund changes nothing more.
    before = snapshot(opened.order_id)
    reply = notify(gateway.notification(opened.out_trade_no))
    assert reply.status_code < 500
    assert snapshot(opened.order_id)[:5] == before[:5]


def test_a_refund_whose_reply_was_lost_is_settled_by_sending_it_again(
    member, opened, paid_notification, gateway, django_capture_on_commit_callbacks
):
    _paid(opened, paid_notification)
    gateway.failure = "refund_then_500"  # Alipay refunds, but the reply never arrives
    with django_capture_on_commit_callbacks(execute=True):
        assert member.post(f"/api/v1/orders/{opened.order_id}/cancel", {}).status_code == 200
    refund = Refund.objects.get()
    assert refund.status == "pending"
    assert Payment.objects.get(pk=opened.pk).refunded_amount == 1150  # still reserved
    gateway.failure = None
    assert services.refund_send(refund_id=refund.pk) == "succeeded"
    assert gateway.trades[opened.out_trade_no]["refunds"] == {refund.out_refund_no: "11.50"}
    assert [c["biz"].get("out_request_no") for c in gateway.calls if c["method"].endswith("refund")][-1] == (
        refund.out_refund_no
    )
    assert Payment.objects.get(pk=opened.pk).status == "refunded"


def test_reconciliation_settles_a_refund_whose_reply_was_lost_from_the_query_alone(
    member, opened, paid_notification, gateway, django_capture_on_commit_callbacks
):
    _paid(opened, paid_notification)
    gateway.failure = "refund_then_500"  # Alipay refunds, but the reply never arrives
    with django_capture_on_commit_callbacks(execute=True):
        assert member.post(f"/api/v1/orders/{opened.order_id}/cancel", {}).status_code == 200
    refund = Refund.objects.get()
    assert refund.status == "pending"
    gateway.failure = None
    gateway.calls.clear()

    services.payments_reconcile_pending(now=timezone.now() + dt.timedelta(minutes=11))

    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert _methods(gateway) == ["alipay.trade.fastpay.refund.query"]  # no second alipay.trade.refund
    assert gateway.calls[0]["biz"] == {
        "out_trade_no": opened.out_trade_no,
        "out_request_no": refund.out_refund_no,
    }
    assert Payment.objects.get(pk=opened.pk).status == "refunded"
    assert RefundRequest.objects.get(order_id=opened.order_id).status == "refunded"


def test_reconciliation_sends_again_a_refund_alipay_never_received(opened, paid_notification, gateway):
    payment = _paid(opened, paid_notification)
    order = Order.objects.get(pk=opened.order_id)
    refund = services.refund_start(order=order, amount=500, refund_request_id=None, reason="破损")
    gateway.calls.clear()  # recorded, but never sent (the queue lost it)

    services.payments_reconcile_pending(now=timezone.now() + dt.timedelta(minutes=11))

    assert _methods(gateway) == ["alipay.trade.fastpay.refund.query", "alipay.trade.refund"]
    assert gateway.calls[1]["biz"]["out_request_no"] == refund.out_refund_no
    assert gateway.trades[opened.out_trade_no]["refunds"] == {refund.out_refund_no: "5.00"}
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == "succeeded"
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 500)


def test_a_refund_alipay_refuses_fails_and_releases_the_amount(
    opened, paid_notification, gateway, django_capture_on_commit_callbacks
):
    _paid(opened, paid_notification)
    gateway.trades[opened.out_trade_no]["status"] = "TRADE_CLOSED"  # e.g. closed at Alipay meanwhile
    order = Order.objects.get(pk=opened.order_id)
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_start(order=order, amount=500, refund_request_id=None, reason="破损")
    refund = Refund.objects.get()
    assert refund.status == "failed"
    assert "ACQ.TRADE_STATUS_ERROR" in refund.failure
    assert Payment.objects.get(pk=opened.pk).refunded_amount == 0


def test_partial_refunds_are_separate_requests(
    opened, paid_notification, gateway, django_capture_on_commit_callbacks
):
    _paid(opened, paid_notification)
    order = Order.objects.get(pk=opened.order_id)
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_start(order=order, amount=150, refund_request_id=None, reason="少一瓶")
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_start(order=order, amount=300, refund_request_id=None, reason="换货")
    refunds = list(Refund.objects.order_by("id"))
    assert [r.status for r in refunds] == ["succeeded", "succeeded"]
    assert gateway.trades[opened.out_trade_no]["refunds"] == {
        refunds[0].out_refund_no: "1.50",
        refunds[1].out_refund_no: "3.00",
    }
    assert Payment.objects.get(pk=opened.pk).status == "partially_refunded"


# --- the gateway down, slow, or not itself ------------------------------------------------------


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/gateway.do"


@pytest.mark.parametrize("failure", ["down", "http_500", "system_error", "unsigned", "other_key", "slow"])
def test_an_unusable_gateway_is_a_provider_error_and_changes_nothing(
    opened, gateway, alipay_account, failure, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    if failure == "down":
        ProviderAccount.objects.filter(pk=alipay_account.pk).update(
            config={**alipay_account.config, "gateway": _closed_port_url()}
        )
    elif failure == "slow":
        monkeypatch.setattr(alipay, "TIMEOUT", httpx.Timeout(0.5))
        gateway.failure = failure
    else:
        gateway.failure = failure
    payment = Payment.objects.get(pk=opened.pk)
    adapter = provider_for_payment(payment)
    for call in (adapter.query, adapter.close):
        with pytest.raises(ProviderError):
            call(payment)
    # Reconciliation leaves the payment for the next run.
    _past_deadline(opened.order_id)
    assert services.payments_reconcile_pending() == 1
    assert Payment.objects.get(pk=opened.pk).status == "pending"
    assert Order.objects.get(pk=opened.order_id).status == "pending_payment"
    if failure in ("down", "http_500", "system_error"):
        assert gateway.trades[opened.out_trade_no]["status"] == "WAIT_BUYER_PAY"
    # (Otherwise Alipay may well have closed the trade: only its reply could not be trusted. The
    # next run's query sees TRADE_CLOSED and closes the payment here too.)
    # Keys and signatures never reach the logs.
    private_body = bare_base64(alipay_account.secret_values()["app_private_key"])
    assert private_body[:40] not in caplog.text
    assert "PRIVATE KEY" not in caplog.text


def test_a_refund_while_the_gateway_is_down_stays_pending_and_goes_through_later(
    member, opened, paid_notification, gateway, alipay_account, django_capture_on_commit_callbacks
):
    _paid(opened, paid_notification)
    ProviderAccount.objects.filter(pk=alipay_account.pk).update(
        config={**alipay_account.config, "gateway": _closed_port_url()}
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert member.post(f"/api/v1/orders/{opened.order_id}/cancel", {}).status_code == 200
    refund = Refund.objects.get()
    assert refund.status == "pending"
    with pytest.raises(ProviderError):
        services.refund_send(refund_id=refund.pk)
    assert Payment.objects.get(pk=opened.pk).refunded_amount == 1150
    ProviderAccount.objects.filter(pk=alipay_account.pk).update(config=alipay_account.config)
    assert services.refund_send(refund_id=refund.pk) == "succeeded"
    assert gateway.trades[opened.out_trade_no]["refunds"] == {refund.out_refund_no: "11.50"}


def test_starting_a_payment_with_a_broken_key_is_a_clear_error(member, alipay_account, placed):
    alipay_account.set_secret_values({"app_private_key": "not a key"})
    alipay_account.save()
    response = start_payment(member, placed["id"], "alipay")
    assert response.status_code == 502, response.content
    assert response.json()["code"] == "payment_provider_error"
    assert Order.objects.get(pk=placed["id"]).status == "pending_payment"


# --- the protocol's small parts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "text"), [(1, "0.01"), (10, "0.10"), (100, "1.00"), (1150, "11.50"), (123456789, "1234567.89")]
)
def test_amounts_convert_exactly_both_ways(fen, text):
    assert alipay.fen_to_yuan(fen) == text
    assert alipay.yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["", "1e3", "-1.00", "1.001", " 1.00", "1,00", "01.00", ".5", "NaN", None])
def test_malformed_yuan_amounts_are_refused(text):
    with pytest.raises(ValueError):
        alipay.yuan_to_fen(text)


def test_reply_members_keep_the_exact_signed_text():
    text = '{"sign":"abc", "alipay_trade_query_response" : {"msg":"成功 {}\\"","n":[1,{"a":"}"}]} }'
    members = alipay.reply_members(text)
    assert members["alipay_trade_query_response"] == '{"msg":"成功 {}\\"","n":[1,{"a":"}"}]}'
    assert members["sign"] == '"abc"'
    for bad in ("[]", "{", '{"a":1,}', '{"a":1} trailing'):
        with pytest.raises(ValueError):
            alipay.reply_members(bad)


@pytest.mark.parametrize("fmt", ["PKCS8", "TraditionalOpenSSL"])
@pytest.mark.parametrize("armour", [True, False])
def test_app_private_keys_load_as_pem_or_bare_base64(app_key, fmt, armour):
    pem = app_key.private_bytes(
        serialization.Encoding.PEM, getattr(serialization.PrivateFormat, fmt), serialization.NoEncryption()
    ).decode()
    key = alipay.load_private_key(pem if armour else bare_base64(pem))
    assert key.private_numbers() == app_key.private_numbers()
    with pytest.raises(ValueError):
        alipay.load_private_key(bare_base64(pem)[:200])


def test_request_signature_covers_sorted_non_empty_parameters(app_key):
    params = {"b": "2", "a": "1", "empty": "", "sign": "x", "biz_content": '{"k":"值"}'}
    content = alipay.request_content(params)
    assert content == 'a=1&b=2&biz_content={"k":"值"}'
    signature = alipay.rsa2_sign(app_key, content)
    assert alipay.rsa2_verify(alipay.load_public_key(public_pem(app_key)), content, signature)
    assert not alipay.rsa2_verify(alipay.load_public_key(public_pem(app_key)), content + "&c=3", signature)
