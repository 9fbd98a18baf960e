"""The issue's budget: "Creating a 5-line order takes at most 25 SQL queries" — the whole request
(authentication, idempotency, quote, order, lines, reservation, cart), and it does not grow with
the number of lines."""

import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.checkout.conftest import pickup_body
from tests.factories import ProductFactory, SkuFactory

BUDGET = 25


@pytest.fixture
def five_skus(merchant, stocked, give):
    skus = [
        SkuFactory(
            product=ProductFactory(merchant=merchant, name=f"商品{n}"), sku_code=f"Q{n}", price=300 + n
        )
        for n in range(10)
    ]
    for sku in skus:
        give(stocked, sku, 50)
    return skus


def hot_spots(queries) -> str:
    """The statements by table and verb, most frequent first: what to look at when over budget."""
    shapes = Counter()
    for query in queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
        shapes[f"{verb} {table.group(1) if table else '?'}"] += 1
    return "\n".join(f"{count:3d}  {shape}" for shape, count in shapes.most_common())


def place_counting(member, store, skus, key) -> tuple[int, list]:
    body = pickup_body(store, *[(sku, 1) for sku in skus])
    with CaptureQueriesContext(connection) as queries:
        response = member.post("/api/v1/orders", body, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.content
    return len(queries), queries.captured_queries


def test_a_five_line_order_takes_at_most_25_queries(member, stocked, five_skus):
    place_counting(member, stocked, five_skus[:1], "warm-up")  # first-request caches (store, tree)

    count, queries = place_counting(member, stocked, five_skus[:5], "five-lines")

    assert count <= BUDGET, f"{count} queries for a 5-line order (budget {BUDGET}):\n{hot_spots(queries)}"


def test_the_query_count_does_not_grow_with_the_lines(member, stocked, five_skus):
    place_counting(member, stocked, five_skus[:1], "warm-up")

    two, _ = place_counting(member, stocked, five_skus[1:3], "two-lines")
    seven, queries = place_counting(member, stocked, five_skus[3:10], "seven-lines")

    assert seven == two, f"2 lines: {two} queries, 7 lines: {seven}:\n{hot_spots(queries)}"


def test_reading_an_order_takes_three_queries(member, stocked, five_skus, django_assert_num_queries):
    """The token, the order with its store and merchant, then its lines and events together."""
    order_id = member.post(
        "/api/v1/orders", pickup_body(stocked, *[(sku, 1) for sku in five_skus[:3]])
    ).json()["id"]

    with django_assert_num_queries(3):
        response = member.get(f"/api/v1/orders/{order_id}")

    assert response.status_code == 200
    assert len(response.json()["lines"]) == 3
