import io
import itertools

import pytest
from PIL import Image

from mendian.catalog import cache as page_cache
from mendian.catalog import services, shelf
from mendian.catalog.models import Product
from mendian.core.scope import Actor
from tests.catalog.helpers import money
from tests.factories import CategoryFactory


@pytest.fixture
def make_product():
    """Products made through the service, so search documents and min_price are what HQ would get."""

    numbers = itertools.count(1)

    def make(category, name: str, prices=(1000,), sales_count=0, **fields):
        variants = fields.pop("variants", None) or [
            {"sku_code": f"P{next(numbers):05d}", "specs": {"规格": f"款{index}"}, "price": money(price)}
            for index, price in enumerate(prices)
        ]
        product = services.product_create(
            actor=Actor.system(category.merchant_id),
            data={"name": name, "category_id": category.pk, "variants": variants, **fields},
        )
        if sales_count:
            # Sales are counted by orders, not set by HQ: put the figure in place directly.
            Product.objects.filter(pk=product.pk).update(sales_count=sales_count)
            product.sales_count = sales_count
            shelf.refresh(merchant_id=product.merchant_id, product_ids=[product.pk])
        return product

    return make


@pytest.fixture
def dairy(merchant):
    return CategoryFactory(merchant=merchant, name="乳品", icon="🥛", position=1)


@pytest.fixture
def png_bytes():
    def make(size=(800, 600), color=(200, 30, 30), mode="RGB", fmt="PNG") -> bytes:
        buffer = io.BytesIO()
        Image.new(mode, size, color).save(buffer, format=fmt)
        return buffer.getvalue()

    return make


@pytest.fixture(autouse=True)
def _fresh_local_page_cache():
    """The per-process page layer outlives a test's database; start and end every test without it."""
    page_cache.local_layer_clear()
    yield
    page_cache.local_layer_clear()


class Clock:
    """Stops the page cache's clocks (monotonic time for the local layer, wall time for entry
    ages) and moves them only when told. The shared cache expires entries on its own clock;
    tests clear it to stand for that."""

    def __init__(self, monkeypatch):
        self.offset = 0.0
        monotonic_start, wall_start = page_cache._now(), page_cache._wall()
        monkeypatch.setattr(page_cache, "_now", lambda: monotonic_start + self.offset)
        monkeypatch.setattr(page_cache, "_wall", lambda: wall_start + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)
