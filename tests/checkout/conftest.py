"""Fixtures of the checkout and orders tests: a store with stock, a member, and helpers that place
and pay orders through the real API and services."""

import datetime as dt

import pytest
from django.utils import timezone

from mendian.accounts.tokens import customer_tokens_issue
from mendian.core.scope import Actor
from mendian.inventory import services as inventory
from mendian.inventory.models import StockLevel
from mendian.inventory.selectors import stock_check
from tests.conftest import ApiClient
from tests.factories import CustomerFactory, ProductFactory, SkuFactory, StoreFactory


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(request):
    """After every test: on_hand = Σ movements, reserved = Σ active reservations (check-stock)."""
    uses_db = None
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            uses_db = name
            break
    yield
    if uses_db:
        assert stock_check() == []


@pytest.fixture(autouse=True)
def refunds(monkeypatch):
    """Stands in for `payments.services.refund_start` (the payments app is built separately): records
    each call; `order_refund_recorded` is what payments calls when a refund went through."""
    calls = []

    def refund_start(*, order, amount, refund_request_id, reason):
        calls.append(
            {"order_id": order.pk, "amount": amount, "refund_request_id": refund_request_id, "reason": reason}
        )

    monkeypatch.setattr("mendian.orders.services.payments_refund_start", refund_start)
    return calls


@pytest.fixture
def water(merchant):
    return SkuFactory(
        product=ProductFactory(merchant=merchant, name="矿泉水"),
        sku_code="WATER",
        price=300,
        specs={"规格": "550ml"},
    )


@pytest.fixture
def cola(merchant):
    return SkuFactory(product=ProductFactory(merchant=merchant, name="可乐"), sku_code="COLA", price=550)


@pytest.fixture
def rival_sku(other_merchant):
    return SkuFactory(
        product=ProductFactory(merchant=other_merchant, name="对手货"), sku_code="RIVAL", price=100
    )


@pytest.fixture
def give():
    """Puts `qty` units on hand at `store` through the inventory service."""

    def _give(store, sku, qty):
        return inventory.stock_adjust(
            actor=Actor.system(store.merchant_id), store=store, sku=sku, delta=qty, reason="found"
        )

    return _give


@pytest.fixture
def stocked(store, water, cola, give):
    give(store, water, 20)
    give(store, cola, 20)
    return store


def level(store, sku) -> tuple[int, int]:
    """(on_hand, reserved) of a level, (0, 0) when there is none."""
    row = StockLevel.objects.filter(store=store, sku=sku).values_list("on_hand", "reserved").first()
    return row or (0, 0)


def member_client(phone: str | None = None) -> ApiClient:
    customer = CustomerFactory(**({"phone": phone} if phone else {}))
    client = ApiClient(customer_tokens_issue(customer=customer)["access_token"])
    client.customer = customer
    return client


@pytest.fixture
def member(customer):
    client = ApiClient(customer_tokens_issue(customer=customer)["access_token"])
    client.customer = customer
    return client


@pytest.fixture
def other_member(db):
    return member_client("13900001111")


def pickup_body(store, *lines, **fulfilment) -> dict:
    return {
        "store_id": str(store.pk),
        "lines": [{"sku_id": str(sku.pk), "quantity": quantity} for sku, quantity in lines],
        "fulfilment": {"type": "pickup", **fulfilment},
    }


@pytest.fixture
def delivery_store(merchant):
    return StoreFactory(
        merchant=merchant,
        code="ps001",
        name="配送门店",
        delivery_enabled=True,
        delivery_radius_m=3000,
        delivery_fee=500,
        delivery_free_over=5000,
        delivery_min_order=1000,
    )


def in_minutes(minutes: int) -> str:
    return (timezone.now() + dt.timedelta(minutes=minutes)).isoformat()


NEAR = {"lat": 30.5850, "lng": 114.2900}  # about 600 m from the test stores


def save_address(client, **point) -> str:
    body = {"contact_name": "李雷", "phone": "13700001234", "address": "江汉路1号3栋", "district": "江汉区"}
    response = client.post("/api/v1/me/addresses", {**body, **(point or NEAR)})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def delivery_body(store, address_id, *lines) -> dict:
    return {
        "store_id": str(store.pk),
        "lines": [{"sku_id": str(sku.pk), "quantity": quantity} for sku, quantity in lines],
        "fulfilment": {"type": "delivery", "address_id": address_id},
    }
