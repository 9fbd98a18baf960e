"""How many queries starting and paying a sandbox payment take (the complete order's hot path), and
that paying on the sandbox page keeps the gateway's "paid" when the shop cannot apply it."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mendian.orders.models import Order
from mendian.payments.models import PaymentNotification
from tests.payments.conftest import start_payment

pytestmark = pytest.mark.django_db


def test_starting_and_paying_stay_within_their_query_budgets(member, placed):
    with CaptureQueriesContext(connection) as started:
        response = start_payment(member, placed["id"], **{"Idempotency-Key": "budget-1"})
    assert response.status_code == 201, response.content
    payment_id = response.json()["payment_id"]
    with CaptureQueriesContext(connection) as paid:
        page = Client().post(f"/sandbox-pay/{payment_id}/confirm")
    assert page.status_code == 200
    assert Order.objects.get(pk=placed["id"]).status == "paid"
    # Token once, the key claimed and completed, the order locked (and checked for expiry) in one
    # read, the payment looked for and inserted once; paying locks the order (found through the
    # payment) and the payment once for the gateway and the notification together, claims the
    # notification id without a savepoint (already as `paid`, so no second write), writes the
    # gateway's state with the settled payment with no savepoint of its own, holds the reservation
    # in one statement and settles the order without locking it again.
    assert len(started.captured_queries) <= 10, [q["sql"][:120] for q in started.captured_queries]
    assert len(paid.captured_queries) <= 12, [q["sql"][:120] for q in paid.captured_queries]


def test_the_gateways_paid_is_kept_when_the_shop_cannot_apply_it(member, placed, payment):
    # An order in a state that cannot take a payment: the notification is refused (409) ...
    Order.objects.filter(pk=placed["id"]).update(status="completed")
    page = Client().post(f"/sandbox-pay/{payment.public_id}/confirm")
    assert page.status_code == 409
    assert "is completed" in page.content.decode()
    # ... nothing of it is recorded, but the customer has paid at the gateway, as with a real one.
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert payment.provider_data["gateway"]["state"] == "paid"
    assert not PaymentNotification.objects.filter(payment=payment).exists()
    assert Order.objects.get(pk=placed["id"]).payment_id == ""
