"""Console pages run a fixed number of queries, whatever the size of the lists they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mendian.core.scope import Role
from tests.factories import StaffFactory, StoreFactory
from tests.web.consoles.conftest import make_product

PAGES = {
    "hq_dashboard": ("hq", "/hq/"),
    "hq_stores": ("hq", "/hq/stores/"),
    "hq_products": ("hq", "/hq/products/"),
    "hq_categories": ("hq", "/hq/categories/"),
    "hq_listings": ("hq", "/hq/listings/?store={store}"),
    "hq_staff": ("hq", "/hq/staff/"),
    "hq_staff_new": ("hq", "/hq/staff/new/"),
    "hq_product_new": ("hq", "/hq/products/new/"),
    "store_dashboard": ("clerk_client", "/store/"),
    "store_profile": ("manager_client", "/store/profile/"),
    "store_products": ("clerk_client", "/store/products/"),
    "platform_staff": ("platform", "/hq/staff/"),
}
# Generous ceilings; what matters is that they do not grow with the data (checked below).
MAX_QUERIES = 16


def _grow(merchant, store, catalog, n: int, start: int) -> None:
    for i in range(start, start + n):
        other = StoreFactory(merchant=merchant, code=f"q{i:03d}", name=f"门店{i}")
        StaffFactory(username=f"clerk{i}", role=Role.STORE_CLERK, store=other)
        product = make_product(merchant, catalog["snacks"], f"商品{i}", sku_code=f"Q-{i}")
        product.variants.create(merchant=merchant, sku_code=f"Q-{i}-L", specs={"规格": "大"}, price=900)


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_queries_do_not_grow_with_the_data(request, page, merchant, store, catalog, hq_admin, clerk, manager):
    fixture, url = PAGES[page]
    client = request.getfixturevalue(fixture)
    url = url.format(store=store.pk)

    _grow(merchant, store, catalog, 2, 0)
    client.get(url)  # warm caches (session, content types)
    small = _count(client, url)
    _grow(merchant, store, catalog, 12, 2)
    large = _count(client, url)

    assert small == large, f"{page}: {small} queries with few rows, {large} with many"
    assert large <= MAX_QUERIES, f"{page}: {large} queries"


def test_product_edit_queries_are_bounded(hq, merchant, catalog, django_assert_max_num_queries):
    product = catalog["water"]
    for n in range(8):
        product.variants.create(merchant=merchant, sku_code=f"W-{n}", specs={"规格": f"{n}"}, price=100 + n)

    with django_assert_max_num_queries(MAX_QUERIES):
        assert hq.get(f"/hq/products/{product.pk}/").status_code == 200


def test_store_edit_queries_are_bounded(hq, store, django_assert_max_num_queries):
    with django_assert_max_num_queries(MAX_QUERIES):
        assert hq.get(f"/hq/stores/{store.pk}/").status_code == 200
