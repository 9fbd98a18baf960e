"""WeChat Pay callbacks under real concurrency on PostgreSQL (threads, each with its own
connection): a storm of one genuine callback settles once; forged, stale, probe and
amount-mismatch callbacks racing it change nothing. Skipped on SQLite."""

import base64
import time

import pytest
from django.db import connection

from mendian.integrations.models import OutboxEvent
from mendian.orders.models import Order, OrderEvent
from mendian.payments.models import Payment, PaymentNotification
from tests.payments.conftest import notify, start_payment
from tests.payments.standins.wechatpay import *  # noqa: F403 - the stand-in's fixtures
from tests.payments.standins.wechatpay import fresh_key
from tests.payments.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def wechat_payment(wechat_member, wechat_account, placed):
    response = start_payment(wechat_member, placed["id"], "wechatpay")
    assert response.status_code == 201, response.content
    return Payment.objects.get(public_id=response.json()["payment_id"])


def test_the_same_wechat_pay_callback_twenty_times_at_once_settles_once(
    wechat_gateway, wechat_payment, placed
):
    wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    headers, body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)

    replies = race(20, lambda i: notify(headers, body, "wechatpay").status_code)

    assert replies == [204] * 20  # every delivery acknowledged
    order = Order.objects.get(pk=placed["id"])
    assert (order.status, order.paid_amount) == ("paid", 1150)
    assert Payment.objects.filter(order=order).count() == 1
    assert Payment.objects.get(pk=wechat_payment.pk).status == "paid"
    assert PaymentNotification.objects.count() == 1
    assert OrderEvent.objects.filter(order=order, status="paid").count() == 1
    assert OutboxEvent.objects.filter(event_type="order.paid").count() == 1


def test_bad_callbacks_racing_change_nothing(wechat_gateway, wechat_payment, placed):
    wechat_gateway.customer_pays(wechat_payment.out_trade_no)
    genuine_headers, genuine_body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)
    _, body = wechat_gateway.payment_notification(wechat_payment.out_trade_no)
    probe = {
        **genuine_headers,
        "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + base64.b64encode(b"x" * 256).decode(),
    }
    stranger = fresh_key()
    bad = [
        (wechat_gateway.signed_headers(body, key=stranger), body),  # forged
        (wechat_gateway.signed_headers(body, timestamp=int(time.time()) - 600), body),  # stale
        (probe, genuine_body),  # SIGNTEST probe
        wechat_gateway.payment_notification(
            wechat_payment.out_trade_no, amount={"total": 1, "currency": "CNY"}
        ),
    ]

    replies = race(20, lambda i: notify(*bad[i % 4], "wechatpay").status_code)

    assert sorted(set(replies)) == [400, 409]
    order = Order.objects.get(pk=placed["id"])
    assert (order.status, order.paid_amount) == ("pending_payment", 0)
    assert Payment.objects.get(pk=wechat_payment.pk).status == "pending"
    assert PaymentNotification.objects.count() == 0
    assert OutboxEvent.objects.filter(event_type="order.paid").count() == 0
    # The genuine one then settles it.
    assert notify(genuine_headers, genuine_body, "wechatpay").status_code == 204
    assert Order.objects.get(pk=placed["id"]).status == "paid"
