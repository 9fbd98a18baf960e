"""Fixtures of the payments tests: the checkout fixtures (store, stock, member), the real payments
app behind orders' refund seam, and the sandbox provider enabled."""

import json

import pytest
from django.test import Client

# The checkout tests' fixtures serve here too.
from tests.checkout.conftest import *  # noqa: F403
from tests.checkout.conftest import _ledger_stays_consistent, pickup_body  # noqa: F401


@pytest.fixture(autouse=True)
def refunds():
    """Overrides checkout's stand-in: here orders reaches the real `payments.services.refund_start`."""
    return None


@pytest.fixture(autouse=True)
def sandbox_enabled(settings):
    settings.SANDBOX = True
    return settings


def place(client, body) -> dict:
    response = client.post("/api/v1/orders", body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def placed(member, stocked, water, cola):
    """A pickup order of 2 water + 1 cola (1150 fen), unpaid."""
    return place(member, pickup_body(stocked, (water, 2), (cola, 1)))


def start_payment(client, order_id, provider="sandbox", **headers):
    return client.post(f"/api/v1/orders/{order_id}/payments", {"provider": provider}, headers=headers or None)


@pytest.fixture
def payment(member, placed):
    from mendian.payments.models import Payment

    response = start_payment(member, placed["id"])
    assert response.status_code == 201, response.content
    return Payment.objects.get(public_id=response.json()["payment_id"])


def notify(headers: dict, body: bytes, provider="sandbox"):
    """Posts a callback as the provider would: raw body, the provider's headers, no login."""
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    return Client().post(
        f"/api/v1/payments/notify/{provider}", body, content_type="application/json", **extra
    )


def gateway_pays(payment):
    """The customer pays at the sandbox gateway, but its notification is not sent (yet): returns
    (headers, body) of the signed notification."""
    from django.utils import timezone

    from mendian.payments.models import Payment
    from mendian.payments.providers import sandbox

    payment.refresh_from_db()
    assert sandbox.customer_pays(payment, now=timezone.now())
    Payment.objects.filter(pk=payment.pk).update(provider_data=payment.provider_data)
    return sandbox.signed_notification(payment)


def resign(body_dict: dict, timestamp: int | None = None):
    import time

    from mendian.payments.providers import sandbox

    body = json.dumps(body_dict, separators=(",", ":")).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        sandbox.TIMESTAMP_HEADER: str(timestamp),
        sandbox.SIGNATURE_HEADER: sandbox.sign(body, timestamp),
    }, body
