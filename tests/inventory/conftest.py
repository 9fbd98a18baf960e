import pytest

from mendian.core.scope import Actor
from mendian.inventory import services
from mendian.inventory.models import StockLevel, StockMovement
from mendian.inventory.selectors import stock_check
from tests.factories import ProductFactory, SkuFactory


@pytest.fixture
def sku(merchant):
    return SkuFactory(product=ProductFactory(merchant=merchant, name="矿泉水"), sku_code="WATER-500")


@pytest.fixture
def sku2(merchant):
    return SkuFactory(
        product=ProductFactory(merchant=merchant, name="可乐"), sku_code="COLA-330", barcode="6901234567892"
    )


@pytest.fixture
def rival_store(other_merchant):
    from tests.factories import StoreFactory

    return StoreFactory(merchant=other_merchant, code="rv001", name="对手门店")


@pytest.fixture
def rival_sku(other_merchant):
    return SkuFactory(product=ProductFactory(merchant=other_merchant, name="对手货"), sku_code="RIVAL-1")


@pytest.fixture
def give():
    """Puts `qty` units on hand through the service (a `found` adjustment by the system)."""

    def _give(store, sku, qty):
        return services.stock_adjust(
            actor=Actor.system(store.merchant_id), store=store, sku=sku, delta=qty, reason="found"
        )

    return _give


def level(store, sku) -> tuple[int, int]:
    """(on_hand, reserved), (0, 0) when the level does not exist."""
    row = StockLevel.objects.filter(store=store, sku=sku).values_list("on_hand", "reserved").first()
    return row or (0, 0)


def movements(store=None, **filters) -> list[tuple]:
    qs = StockMovement.objects.order_by("pk")
    if store is not None:
        qs = qs.filter(store=store)
    return list(qs.filter(**filters).values_list("type", "delta_on_hand", "delta_reserved"))


@pytest.fixture
def corrupts_stock():
    """Marks a test that corrupts a level on purpose: the after-test ledger check is skipped."""


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(request):
    """Scenario 2 of reliability.md after every test: on_hand = Σ movements; 0 ≤ reserved ≤ on_hand."""
    # Set the database up from here so that this check runs before the test's rollback / flush.
    uses_db = None
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            uses_db = name
            break
    yield
    if uses_db and "corrupts_stock" not in request.fixturenames:
        assert stock_check() == []
