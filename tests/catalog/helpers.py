"""Small helpers shared by the catalog tests."""

from mendian.catalog import services
from mendian.core.money import Money
from mendian.core.scope import Actor


def money(amount: int) -> dict:
    return {"amount": amount, "currency": "CNY"}


def set_store_price(store, sku, amount: int):
    """A store price as HQ sets it (the service keeps the store's list prices in step)."""
    return services.store_price_set(actor=Actor.system(), store=store, sku=sku, price=Money(amount, "CNY"))
