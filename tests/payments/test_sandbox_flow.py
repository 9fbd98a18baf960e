"""Payments end to end with the sandbox provider: create → hosted page → signed notification →
order paid; what a rejected callback changes (nothing); pay-after-cancel; refunds; reconciliation."""

import datetime as dt
import json
import re

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from mendian.integrations.models import OutboxEvent
from mendian.orders.models import Order, OrderEvent, RefundRequest
from mendian.payments import services
from mendian.payments.models import Payment, PaymentNotification, Refund
from tests.checkout.conftest import member_client
from tests.payments.conftest import gateway_pays, notify, resign, start_payment

pytestmark = pytest.mark.django_db


def snapshot(order_id):
    """Everything a callback could change."""
    order = Order.objects.get(pk=order_id)
    return (
        order.status,
        order.paid_amount,
        order.payment_id,
        list(Payment.objects.filter(order=order).values_list("status", "provider_transaction_id", "paid_at")),
        PaymentNotification.objects.count(),
        Refund.objects.count(),
        OrderEvent.objects.filter(order=order).count(),
        OutboxEvent.objects.filter(event_type="order.paid").count(),
    )


# --- creating a payment ----------------------------------------------------------------------


def test_create_answers_the_client_params_of_the_sandbox(member, placed):
    response = start_payment(member, placed["id"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"payment_id", "provider", "status", "client_params"}
    assert body["provider"] == "sandbox"
    assert body["status"] == "pending"
    assert re.fullmatch(r"pay_[A-Za-z0-9_-]{24}", body["payment_id"])
    assert body["client_params"] == {
        "confirm_url": f"http://testserver/sandbox-pay/{body['payment_id']}/confirm"
    }
    payment = Payment.objects.get(public_id=body["payment_id"])
    assert (payment.amount, payment.order_id, payment.status) == (1150, int(placed["id"]), "pending")


def test_paying_again_with_the_same_provider_reuses_the_payment(member, placed):
    first = start_payment(member, placed["id"]).json()
    second = start_payment(member, placed["id"]).json()
    assert first["payment_id"] == second["payment_id"]
    assert Payment.objects.count() == 1


def test_idempotency_key_replays_the_first_reply(member, placed):
    first = start_payment(member, placed["id"], **{"Idempotency-Key": "k1"})
    again = start_payment(member, placed["id"], **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again["Idempotent-Replayed"] == "true"
    other = member.post(
        f"/api/v1/orders/{placed['id']}/payments", {"provider": "x"}, headers={"Idempotency-Key": "k1"}
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


def test_unknown_or_disabled_provider_is_unavailable(member, placed, settings):
    for provider in ("bitcoin", "wechatpay"):
        response = start_payment(member, placed["id"], provider)
        assert response.status_code == 422
        assert response.json()["code"] == "provider_unavailable"
    settings.SANDBOX = False
    response = start_payment(member, placed["id"])
    assert response.status_code == 422
    assert response.json()["code"] == "provider_unavailable"
    assert Payment.objects.count() == 0


def test_only_the_customers_own_pending_order(member, placed, api):
    assert start_payment(member_client("13900002222"), placed["id"]).status_code == 404
    assert start_payment(api, placed["id"]).status_code == 401
    assert member.post(f"/api/v1/orders/{placed['id']}/cancel", {}).status_code == 200
    response = start_payment(member, placed["id"])
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state_transition"
    assert Payment.objects.count() == 0


def test_an_overdue_order_is_expired_first_and_cannot_be_paid(member, placed):
    Order.objects.filter(pk=placed["id"]).update(pay_deadline=timezone.now() - dt.timedelta(seconds=5))
    # An unknown provider is still refused as unavailable, but the overdue order is expired by then.
    assert start_payment(member, placed["id"], "bitcoin").status_code == 422
    assert Order.objects.get(pk=placed["id"]).status == "cancelled"
    response = start_payment(member, placed["id"])
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state_transition"
    assert f"{placed['number']} is cancelled" in response.json()["detail"]
    assert Payment.objects.count() == 0


# --- the hosted page and the notification ----------------------------------------------------


def test_confirm_page_then_pay_marks_the_order_paid(member, placed, payment):
    browser = Client(enforce_csrf_checks=True)
    url = f"/sandbox-pay/{payment.public_id}/confirm"
    page = browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "确认支付" in html and "11.50" in html and placed["number"] in html
    assert '<form method="post">' in html

    response = browser.post(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "支付成功" in html and "11.50" in html and placed["number"] in html
    assert Order.objects.get(pk=placed["id"]).store.name in html

    order = Order.objects.get(pk=placed["id"])
    payment.refresh_from_db()
    assert order.status == "paid"
    assert (order.paid_amount, order.payment_id, order.payment_provider) == (
        1150,
        payment.public_id,
        "sandbox",
    )
    assert payment.status == "paid" and payment.paid_at is not None
    assert payment.provider_transaction_id.startswith("sbx_")
    assert list(PaymentNotification.objects.values_list("outcome", flat=True)) == ["paid"]
    assert member.get(f"/api/v1/orders/{placed['id']}").json()["status"] == "paid"

    # Pressing the button again pays nothing more.
    before = snapshot(placed["id"])
    assert browser.post(url).status_code == 200
    assert snapshot(placed["id"]) == before


def test_the_gateways_paid_stands_when_the_shop_fails_to_apply_it(placed, payment, monkeypatch):
    """As with two systems: the customer paid at the gateway even if the shop's side broke; the
    next notification (here: the page again) settles the order with the same transaction."""
    before = snapshot(placed["id"])

    def broken(*args, **kwargs):
        raise RuntimeError("the shop's database went away")

    monkeypatch.setattr(services, "_payment_event_apply", broken)
    with pytest.raises(RuntimeError):
        services.sandbox_pay(payment_id=payment.public_id)
    assert snapshot(placed["id"]) == before
    payment.refresh_from_db()
    gateway = payment.provider_data["gateway"]
    assert gateway["state"] == "paid" and gateway["transaction_id"].startswith("sbx_")

    monkeypatch.undo()
    outcome, _ = services.sandbox_pay(payment_id=payment.public_id)
    assert outcome == "paid"
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.provider_transaction_id == gateway["transaction_id"]
    assert Order.objects.get(pk=placed["id"]).status == "paid"


def test_a_closed_payment_pays_nothing_at_the_gateway(placed, payment):
    Payment.objects.filter(pk=payment.pk).update(provider_data={"gateway": {"state": "closed"}})
    with pytest.raises(Exception) as refused:
        services.sandbox_pay(payment_id=payment.public_id)
    assert getattr(refused.value, "code", None) == "payment_closed"
    payment.refresh_from_db()
    assert payment.provider_data == {"gateway": {"state": "closed"}}
    assert Order.objects.get(pk=placed["id"]).status == "pending_payment"


def test_unknown_payment_page_is_404():
    assert Client().get("/sandbox-pay/pay_nope/confirm").status_code == 404
    assert Client().post("/sandbox-pay/pay_nope/confirm").status_code == 404


def test_the_page_of_a_disabled_sandbox_is_404_and_pays_nothing(placed, payment, settings):
    settings.SANDBOX = False
    before = snapshot(placed["id"])
    assert Client().post(f"/sandbox-pay/{payment.public_id}/confirm").status_code == 404
    assert snapshot(placed["id"]) == before
    payment.refresh_from_db()
    assert payment.provider_data["gateway"] == {"state": "open"}


def test_the_same_notification_twenty_times_changes_things_once(placed, payment):
    headers, body = gateway_pays(payment)
    replies = [notify(headers, body) for _ in range(20)]
    assert [reply.status_code for reply in replies] == [204] * 20
    order = Order.objects.get(pk=placed["id"])
    assert order.status == "paid"
    assert PaymentNotification.objects.count() == 1
    assert OrderEvent.objects.filter(order=order, status="paid").count() == 1
    assert OutboxEvent.objects.filter(event_type="order.paid").count() == 1
    payment.refresh_from_db()
    assert payment.status == "paid"


@pytest.mark.parametrize(
    "forge",
    ["bad_signature", "byte_changed", "stale", "no_headers", "other_key"],
)
def test_rejected_notifications_change_nothing(placed, payment, forge):
    headers, body = gateway_pays(payment)
    before = snapshot(placed["id"])
    if forge == "bad_signature":
        headers = {**headers, "Mendian-Sandbox-Signature": "v1=" + "0" * 64}
    elif forge == "byte_changed":
        body = body.replace(b'"amount":1150', b'"amount":1151')
    elif forge == "stale":
        data = json.loads(body)
        headers, body = resign(data, timestamp=int(timezone.now().timestamp()) - 301)
    elif forge == "no_headers":
        headers = {}
    elif forge == "other_key":
        # Signed with another deployment's key, verified under ours.
        with override_settings(SECRET_KEY="another-deployment-secret-key-0123456789"):
            headers, body = resign(json.loads(body))
    reply = notify(headers, body)
    assert reply.status_code == 400
    assert reply.json()["code"] == "invalid_notification"
    assert snapshot(placed["id"]) == before


def test_amount_mismatch_in_a_signed_notification_changes_nothing(placed, payment):
    headers, body = gateway_pays(payment)
    before = snapshot(placed["id"])
    headers, body = resign({**json.loads(body), "amount": 1})
    reply = notify(headers, body)
    assert reply.status_code == 409
    assert reply.json()["code"] == "amount_mismatch"
    assert snapshot(placed["id"]) == before


def test_unknown_payment_in_a_signed_notification_changes_nothing(placed, payment):
    headers, body = gateway_pays(payment)
    before = snapshot(placed["id"])
    headers, body = resign({**json.loads(body), "out_trade_no": "f" * 32})
    reply = notify(headers, body)
    assert reply.status_code == 404
    assert snapshot(placed["id"]) == before


def test_unknown_provider_notify_is_rejected(placed, payment):
    headers, body = gateway_pays(payment)
    assert notify(headers, body, provider="nope").status_code == 422
    assert Order.objects.get(pk=placed["id"]).status == "pending_payment"


# --- money that cannot be kept, and refunds --------------------------------------------------


def test_pay_after_cancel_is_refunded(member, placed, payment, django_capture_on_commit_callbacks):
    assert member.post(f"/api/v1/orders/{placed['id']}/cancel", {}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(f"/sandbox-pay/{payment.public_id}/confirm")
    assert response.status_code == 200
    assert "订单已取消" in response.content.decode()
    order = Order.objects.get(pk=placed["id"])
    assert (order.status, order.paid_amount, order.payment_id) == ("cancelled", 0, "")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 1150)
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.refund_request_id) == (1150, "succeeded", None)
    assert list(PaymentNotification.objects.values_list("outcome", flat=True)) == ["paid_after_cancel"]


def test_cancelling_a_paid_order_refunds_through_the_provider(
    member, placed, payment, django_capture_on_commit_callbacks
):
    Client().post(f"/sandbox-pay/{payment.public_id}/confirm")
    with django_capture_on_commit_callbacks(execute=True):
        assert member.post(f"/api/v1/orders/{placed['id']}/cancel", {}).status_code == 200
    order = Order.objects.get(pk=placed["id"])
    assert (order.status, order.refunded_amount) == ("cancelled", 1150)
    request = RefundRequest.objects.get(order=order)
    assert request.status == "refunded"
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.refund_request_id) == (1150, "succeeded", request.pk)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", 1150)


def test_refund_start_is_idempotent_and_never_exceeds_the_payment(placed, payment):
    Client().post(f"/sandbox-pay/{payment.public_id}/confirm")
    order = Order.objects.get(pk=placed["id"])
    first = services.refund_start(order=order, amount=1000, refund_request_id=101, reason="a")
    again = services.refund_start(order=order, amount=1000, refund_request_id=101, reason="a")
    assert first.pk == again.pk
    with pytest.raises(Exception) as excinfo:
        services.refund_start(order=order, amount=151, refund_request_id=102, reason="b")
    assert getattr(excinfo.value, "code", None) == "refund_exceeds_paid"
    services.refund_start(order=order, amount=150, refund_request_id=103, reason="c")
    payment.refresh_from_db()
    assert payment.refunded_amount == 1150
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [150, 1000]


# --- reconciliation --------------------------------------------------------------------------


def _past_deadline(order_id):
    Order.objects.filter(pk=order_id).update(pay_deadline=timezone.now() - dt.timedelta(seconds=5))


def test_reconciliation_settles_a_lost_callback(placed, payment):
    gateway_pays(payment)  # paid, but the notification never arrives
    Order.objects.filter(pk=placed["id"]).update(pay_deadline=timezone.now() + dt.timedelta(minutes=5))
    assert services.payments_reconcile_pending() == 0  # not due yet
    assert services.payments_reconcile_pending(now=timezone.now() + dt.timedelta(minutes=6)) == 1
    order = Order.objects.get(pk=placed["id"])
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("paid", "paid")
    # The late callback is then acknowledged and changes nothing.
    headers, body = gateway_pays(payment)
    before = snapshot(placed["id"])
    assert notify(headers, body).status_code == 204
    assert snapshot(placed["id"])[:4] == before[:4]


def test_reconciliation_closes_an_abandoned_payment(placed, payment):
    from mendian.payments.tasks import reconcile_pending

    _past_deadline(placed["id"])
    reconcile_pending.delay()
    payment.refresh_from_db()
    assert payment.status == "closed" and payment.closed_at is not None
    response = Client().post(f"/sandbox-pay/{payment.public_id}/confirm")
    assert response.status_code == 409
    assert Order.objects.get(pk=placed["id"]).paid_amount == 0


def test_reconciliation_refunds_when_the_order_expired_meanwhile(
    placed, payment, django_capture_on_commit_callbacks
):
    from mendian.orders.services import orders_expire_due

    gateway_pays(payment)
    _past_deadline(placed["id"])
    orders_expire_due()
    with django_capture_on_commit_callbacks(execute=True):
        services.payments_reconcile_pending()
    order = Order.objects.get(pk=placed["id"])
    payment.refresh_from_db()
    assert (order.status, order.paid_amount) == ("cancelled", 0)
    assert (payment.status, payment.refunded_amount) == ("refunded", 1150)
    assert Refund.objects.get().status == "succeeded"
