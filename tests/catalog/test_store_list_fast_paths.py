"""The store product list's shortcuts give what the general paths give: its query read without
validating plain input, and its statement prepared on PostgreSQL, whose plan reads the page's own
rows of the store's shelf only."""

import json
import re

import pytest
from django.db import connection, transaction
from django.db import utils as django_db_utils
from django.db.transaction import TransactionManagementError
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ValidationError as PydanticValidationError

from mendian.catalog import api, schemas, services, store_list
from mendian.catalog.api import store_products_direct
from mendian.catalog.models import Sku
from mendian.core.db.postgresql import prepared
from mendian.core.scope import Actor
from mendian.inventory.models import StockLevel
from tests.catalog.test_consumer_api import _list
from tests.catalog.test_live_stock import give
from tests.factories import CategoryFactory, StoreFactory

URL = "/api/v1/stores/1/products"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "limit=20",
        "limit=020&sort=sales&category=5&cursor=abc",
        "q=%E7%89%9B%E5%A5%B6&brand=&barcode=6920152400531&price_min=0&price_max=500",
        "tags=a,b&tags=%20c%20&tags=",
        "limit=1&limit=2&sort=new&sort=price",
        "utm=ad&limit=3",
        "q=%FF%FE&q",
        "q=牛奶&limit=5",  # raw UTF-8 in the query string
        "limit=" + "9" * 40,
    ],
)
def test_the_query_is_read_as_the_model_reads_it(query):
    request = RequestFactory().get(f"{URL}?{query}")
    expected_request = RequestFactory().get(f"{URL}?{query}")
    data = {
        name: expected_request.GET[name]
        for name in schemas.StoreProductsQuery.model_fields
        if name in expected_request.GET
    }
    if "tags" in expected_request.GET:
        data["tags"] = api._split_tags(expected_request.GET.getlist("tags"))
    expected = schemas.StoreProductsQuery.model_validate(data)
    got = api._store_products_query(request)
    assert {
        name: getattr(got, name) for name in schemas.StoreProductsQuery.model_fields
    } == expected.model_dump()


@pytest.mark.parametrize(
    "query", ["limit=ten", "limit=1.5", "limit=", "price_min=-1x", "price_max=1_000x", "limit=%D9%A1"]
)
def test_bad_integers_fail_as_the_model_fails(query):
    request = RequestFactory().get(f"{URL}?{query}")
    with pytest.raises(NinjaValidationError) as caught:
        api._store_products_query(request)
    name, _, value = query.partition("=")
    with pytest.raises(PydanticValidationError) as expected:
        schemas.StoreProductsQuery.model_validate({name: value})
    assert caught.value.errors == [
        {"loc": ["query", *error["loc"]], "msg": error["msg"]} for error in expected.value.errors()
    ]


def test_integers_pydantic_reads_beyond_plain_digits_still_read(api, store, dairy, make_product):
    for index in range(3):
        make_product(dairy, f"商品{index}")
    assert len(_list(api, store, limit=" 2")["items"]) == 2
    assert len(_list(api, store, limit="+1")["items"]) == 1
    assert len(_list(api, store, limit="2.0")["items"]) == 2


def _ninja_route(path: str):
    """The consumer API's own view for `path` (under /api/v1/), which Django no longer reaches
    first for the store list."""
    from mendian.config.api import consumer_api

    for pattern in consumer_api.urls[0]:
        match = pattern.resolve(path)
        if match:
            return match
    raise AssertionError(f"the consumer API has no route for {path}")


def test_the_list_is_routed_straight_to_its_handler_and_still_documented(api):
    assert resolve(URL).func is store_products_direct
    document = api.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/stores/{store_id}/products"]["get"]
    assert {"category", "sort", "cursor", "limit"} <= {p["name"] for p in operation["parameters"]}


@pytest.mark.parametrize(
    ("method", "query"),
    [
        ("get", "limit=2"),
        ("get", "limit=2&sort=price&category={category}"),
        ("get", "limit=0"),
        ("get", "limit=ten"),
        ("get", "sort=cheapest"),
        ("get", "cursor=forged"),
        ("get", "price_min=-5"),
        ("post", ""),
        ("delete", ""),
    ],
)
def test_the_direct_route_answers_as_the_api_route(store, dairy, make_product, method, query):
    for index in range(3):
        make_product(dairy, f"牛奶{index}", prices=(500 + index,))
    factory = RequestFactory()
    query = query.format(category=dairy.pk)
    for store_id in (str(store.pk), "999999", "abc"):
        path = f"stores/{store_id}/products"
        direct = store_products_direct(getattr(factory, method)(f"/api/v1/{path}?{query}"), store_id=store_id)
        match = _ninja_route(path)
        through_ninja = match.func(getattr(factory, method)(f"/api/v1/{path}?{query}"), **match.kwargs)
        assert (direct.status_code, direct.content) == (through_ninja.status_code, through_ninja.content)
        assert direct["Content-Type"] == through_ninja["Content-Type"]


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def _prepared_store_list_statements() -> list[str]:
    """The store list statements psycopg has prepared on this connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%sh.item%catalog_shelfitem%"],
        )
        return [row[0] for row in cursor.fetchall()]


def _follow(api, store, **params) -> list[str]:
    """Every page of a listing, one product per page (cursor pages are never cached)."""
    page = _list(api, store, limit=1, **params)
    names = [item["name"] for item in page["items"]]
    while page["next_cursor"]:
        page = _list(api, store, limit=1, cursor=page["next_cursor"], **params)
        names += [item["name"] for item in page["items"]]
    return names


@postgresql_only
def test_cursor_pages_of_one_shape_share_one_prepared_statement(api, store, dairy, make_product, merchant):
    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    other = CategoryFactory(merchant=merchant, name="饮料", parent=dairy)
    for index in range(5):
        make_product(dairy, f"牛奶{index}", sales_count=index)
        make_product(other, f"矿泉水{index}", sales_count=index)
    assert _prepared_store_list_statements() == []

    by_sales = _follow(api, store, sort="sales")
    subtree = _follow(api, store, sort="new", category=dairy.pk)
    leaf = _follow(api, store, sort="new", category=other.pk)

    assert len(by_sales) == len(subtree) == 10 and len(leaf) == 5
    # In the test's transaction the list runs on psycopg's cursor, which prepares a statement on
    # its second run (outside one, each shape is prepared on its first: see the libpq test).
    # Each first page ran once (not prepared); the cursor pages of the two shapes ran 9, 9 and 4
    # times: one statement for the sort, one for every category subtree, whatever its size.
    statements = _prepared_store_list_statements()
    assert len(statements) == 2, statements
    assert sum("= ANY(" in statement for statement in statements) == 1


@postgresql_only
@pytest.mark.parametrize("sort", [None, "sales", "price", "new"])
def test_keyset_pages_are_prepared_without_an_offset(api, store, dairy, make_product, sort):
    # PostgreSQL runs a prepared statement with a fresh ("custom") plan each time while its
    # generic plan looks dearer, and it costed the generic plan of `... LIMIT $n OFFSET $m` as if
    # a tenth of the rows were skipped first: in the bench store the shelf order was planned anew
    # for every page (0.56 ms of planning against 0.16 ms of running). Only relevance order, which
    # pages by offset, may carry one.
    for index in range(8):
        make_product(dairy, f"牛奶{index}", prices=(500 + index,), sales_count=index % 3)
    params = {"sort": sort} if sort else {}
    page = _list(api, store, limit=1, **params)
    for _ in range(6):
        page = _list(api, store, limit=1, cursor=page["next_cursor"], **params)

    (statement,) = _prepared_store_list_statements()
    assert "LIMIT $" in statement and "OFFSET" not in statement


def _rows_read(plan: dict) -> dict[str, int]:
    """Rows the plan read per table, over every loop of every node that scans one: those it
    returned and those it read and dropped (a filter, a recheck)."""
    read: dict[str, int] = {}
    if "Relation Name" in plan:
        examined = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        examined += plan.get("Rows Removed by Index Recheck", 0)
        read[plan["Relation Name"]] = examined * plan["Actual Loops"]
    for child in plan.get("Plans", []):
        for table, rows in _rows_read(child).items():
            read[table] = read.get(table, 0) + rows
    return read


@postgresql_only
@pytest.mark.parametrize("sort", ["default", "price", "price_desc", "new", "sales"])
def test_a_browsing_page_reads_its_own_rows_of_the_shelf_only(store, other_store, dairy, make_product, sort):
    # The per-store read model's point: a page is an index range scan of the store's shelf, in the
    # sort's order, stopping after the page; no product, price or stock row is read.
    for index in range(40):
        product = make_product(dairy, f"牛奶{index}", prices=(500 + index % 7,), sales_count=index % 5)
        give(store, product.variants.get(), 5)
    # The rest of a real store's stock: variants of a product no longer sold, all in stock here.
    retired = make_product(dairy, "停售商品")
    skus = Sku.objects.bulk_create(
        Sku(product=retired, merchant_id=store.merchant_id, sku_code=f"R{index:05d}", price=100)
        for index in range(300)
    )
    StockLevel.objects.bulk_create(StockLevel(store=store, sku=sku, on_hand=9) for sku in skus)
    services.product_update(actor=Actor.system(store.merchant_id), product=retired, data={"is_active": False})
    # A chain's shelf holds many stores' rows: with two, a scan of every store's rows in id order
    # (the product index) costs the planner about what the store's own range costs.
    StoreFactory.create_batch(20, merchant=store.merchant)
    first_page = _page_read(store, sort, after=None)
    # Prices, sales and shelf positions tie across many products: a page after a cursor inside a
    # tie starts there in the index, not at the start of the store's rows.
    last = first_page[-1]
    second_page = _page_read(store, sort, after=(last[store_list.KEY], last[store_list.ID]))
    assert {row[store_list.ID] for row in first_page}.isdisjoint(row[store_list.ID] for row in second_page)


def _rows(store, sort: str, *, limit: int, after=None, filters=None) -> list[tuple]:
    """A browsing page of `store_list.product_rows` (no search, no relevance)."""
    return store_list.product_rows(
        store_id=store.pk,
        media_base="/media/",
        filters=filters or store_list.ListFilters(),
        sort=sort,
        after=after,
        relevance_to=None,
        offset=0,
        limit=limit,
    )


def _rows_and_statement(store, sort: str, **page) -> tuple[list[tuple], str, list]:
    """`_rows`, with the one statement it ran and its parameters."""
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        rows = _rows(store, sort, **page)
    ((sql, params),) = captured
    return rows, sql, params


def _page_read(store, sort, *, after) -> list[tuple]:
    """A page of 6, asserting that its plan read its own 6 rows of the shelf and nothing else."""
    rows, sql, params = _rows_and_statement(store, sort, limit=6, after=after)
    assert len(rows) == 6 and all(json.loads(row[store_list.ITEM_JSON])["available"] for row in rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute("SET enable_seqscan = off")  # a table this small would be read whole and sorted
        try:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            (plan,) = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET plan_cache_mode")
            cursor.execute("RESET enable_seqscan")
    assert _rows_read(plan["Plan"]) == {"catalog_shelfitem": 6}
    return rows


ORDER_INDEXES = {
    "default": "shelf_default_order_idx",
    "price": "shelf_price_order_idx",
    "price_desc": "shelf_price_desc_order_idx",
    "new": "shelf_new_order_idx",
    "sales": "shelf_sales_order_idx",
}


def _index_columns(name: str) -> set[str]:
    """The table columns an index holds, as keys or INCLUDEd (not its expressions)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indexrelid = %s::regclass",
            [name],
        )
        return {row[0] for row in cursor.fetchall()}


@postgresql_only
@pytest.mark.parametrize("sort", ["default", "price", "price_desc", "new", "sales"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"category": True}, {"price_min": 501, "price_max": 505}, {"in_stock": True}],
    ids=["all", "category", "price range", "in stock"],
)
@pytest.mark.parametrize("after", [None, (500, 10**9)], ids=["first page", "later page"])
def test_an_order_index_holds_all_a_browsing_page_reads(store, sort, filters, after):
    # So that, once the visibility map is current (autovacuum, tuned tighter for the shelf), a page
    # is an index-only scan and visits no table page. A column the page reads and its order index
    # lacks would send every row to the table.
    _, sql, _ = _rows_and_statement(
        store,
        sort,
        limit=4,
        after=after,
        filters=store_list.ListFilters(
            category_ids=[1, 2] if filters.get("category") else None,
            price_min=filters.get("price_min"),
            price_max=filters.get("price_max"),
            in_stock=filters.get("in_stock", False),
        ),
    )
    read = set(re.findall(r"\bsh\.(\w+)", sql))
    assert {"store_id", "product_id", "item"} <= read
    assert read <= _index_columns(ORDER_INDEXES[sort])


def _all_pages(store, sort: str) -> list[tuple]:
    rows, after = [], None
    while True:
        page = _rows(store, sort, limit=3, after=after)
        rows += page[:2]
        if len(page) < 3:
            return rows
        after = (page[1][store_list.KEY], page[1][store_list.ID])


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sort", ["default", "price", "price_desc", "new", "sales"])
def test_libpq_psycopg_and_django_read_the_same_list(store, dairy, make_product, sort, monkeypatch):
    # Browsing outside a transaction runs through libpq itself (core.db.postgresql.prepared); in
    # one, on psycopg's cursor; logged (DEBUG, query counts), on Django's wrapper. All three walk
    # the whole list the same way.
    for index in range(7):
        make_product(dairy, f"牛奶{index}", prices=(500 + index % 3,), sales_count=index % 2)
    through_libpq = []
    run = prepared.fetch
    monkeypatch.setattr(prepared, "fetch", lambda *args: through_libpq.append(args) or run(*args))
    assert not connection.queries_logged and not connection.execute_wrappers

    unprepared = _all_pages(store, sort)
    assert len(through_libpq) == 4  # three pages of two, then the last one
    with transaction.atomic():
        in_a_transaction = _all_pages(store, sort)
    with CaptureQueriesContext(connection) as logged_queries:
        logged = _all_pages(store, sort)
    assert len(through_libpq) == 4 and len(logged_queries) == 4
    assert unprepared == in_a_transaction == logged and len(logged) == 7


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_searching_runs_on_psycopgs_cursor(store, dairy, make_product, monkeypatch):
    # Searches, brands and tags make statements of many shapes: psycopg prepares those it sees
    # often and forgets the rest, where ours would keep each one for the connection's life.
    make_product(dairy, "牛奶", brand="伊利", tags=["新品"])
    monkeypatch.setattr(prepared, "fetch", None)  # calling it would fail
    for page_filter in (
        store_list.ListFilters(search_tokens=["牛奶"]),
        store_list.ListFilters(brand="伊利"),
        store_list.ListFilters(tags=["新品"]),
    ):
        assert len(_rows(store, "sales", limit=3, filters=page_filter)) == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_a_list_cursor_of_its_own(store, dairy, make_product):
    make_product(dairy, "牛奶")
    first = _all_pages(store, "default")
    old_connection = connection.connection
    connection.close()
    assert _all_pages(store, "default") == first
    assert connection.connection is not old_connection
    assert store_list._LIST_CURSORS[connection.connection].connection is connection.connection


@postgresql_only
def test_database_errors_on_psycopgs_cursor_are_djangos(store):
    with pytest.raises(django_db_utils.ProgrammingError):
        store_list._fetch_all("SELECT no_such_column FROM catalog_shelfitem", [])


@postgresql_only
def test_a_transaction_marked_for_rollback_is_refused_as_djangos_cursor_refuses_it(store):
    with transaction.atomic():
        transaction.set_rollback(True)
        with pytest.raises(TransactionManagementError):
            store_list._fetch_all("SELECT 1", [])
