import json

import pytest
from django.utils import timezone

from mendian.orders import services
from mendian.orders.models import Order

# The checkout tests' fixtures (store, SKUs, stock, members, the refunds stand-in) serve here too.
from tests.checkout.conftest import *  # noqa: F403
from tests.checkout.conftest import (
    _ledger_stays_consistent,  # noqa: F401
    delivery_body,
    pickup_body,
    save_address,
)


@pytest.fixture(autouse=True)
def order_replies_match_their_schema(monkeypatch):
    """The consumer order endpoints render `order_out` without ninja's validation (for speed): every
    reply any test here gets must be byte for byte what ninja renders through `OrderRead`."""
    from ninja.responses import NinjaJSONEncoder

    from mendian.orders import api
    from mendian.orders.schemas import OrderRead

    render = api._render
    checked = []

    def checking(data, status=200):
        response = render(data, status)
        expected = json.dumps(OrderRead.model_validate(data).model_dump(), cls=NinjaJSONEncoder)
        assert response.content.decode() == expected
        checked.append(data)
        return response

    monkeypatch.setattr(api, "_render", checking)
    return checked


def place(client, body, *, expect=201, **headers) -> dict:
    response = client.post("/api/v1/orders", body, headers=headers or None)
    assert response.status_code == expect, response.content
    return response.json()


def pay(order_id, *, payment_id=None, provider="sandbox"):
    order = Order.objects.get(pk=order_id)
    return services.order_mark_paid(
        order_id=order.pk,
        payment_id=payment_id or f"pay-{order.pk}",
        amount=order.total,
        provider=provider,
        paid_at=timezone.now(),
    )


@pytest.fixture
def placed(member, stocked, water, cola):
    """A pickup order of 2 water + 1 cola (1150 fen), unpaid."""
    return place(member, pickup_body(stocked, (water, 2), (cola, 1)))


@pytest.fixture
def paid(placed):
    pay(placed["id"])
    return Order.objects.get(pk=placed["id"])


@pytest.fixture
def delivery_staff(delivery_store):
    from mendian.accounts.tokens import staff_token_issue
    from tests.conftest import ApiClient
    from tests.factories import StaffFactory

    staff = StaffFactory(role="store_manager", store=delivery_store, username="courier")
    client = ApiClient(staff_token_issue(staff=staff)["access_token"])
    client.staff = staff
    return client


@pytest.fixture
def delivered_order_placed(member, delivery_store, water, give):
    """An unpaid delivery order of 10 water (3000 + 500 fee) to the member's address nearby."""
    give(delivery_store, water, 30)
    return place(member, delivery_body(delivery_store, save_address(member), (water, 10)))
