"""The store product list's shortcuts give what the general paths give: its query read without
validating plain input, and its statement prepared on PostgreSQL."""

import pytest
from django.db import connection
from django.test import RequestFactory
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ValidationError as PydanticValidationError

from mendian.catalog import api, schemas
from tests.catalog.test_consumer_api import _list, _names
from tests.factories import CategoryFactory

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
    assert got.model_dump() == expected.model_dump()
    assert got.model_fields_set == expected.model_fields_set


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


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def _prepared_store_list_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'mendian_store_list_%'")
        return cursor.fetchone()[0]


@postgresql_only
def test_pages_of_one_shape_share_one_prepared_statement(api, store, dairy, make_product, merchant):
    for index in range(7):
        make_product(dairy, f"商品{index}", sales_count=index % 3)
    other = CategoryFactory(merchant=merchant, name="饮料", parent=dairy)
    make_product(other, "矿泉水")
    before = _prepared_store_list_statements()
    first = _list(api, store, sort="sales", limit=2)
    second = _list(api, store, sort="sales", limit=2, cursor=first["next_cursor"])
    after_two_shapes = _prepared_store_list_statements()
    assert after_two_shapes - before <= 2  # the first page and the cursor pages
    cursor = second["next_cursor"]
    seen = [item["name"] for item in first["items"] + second["items"]]
    while cursor:
        page = _list(api, store, sort="sales", limit=2, cursor=cursor)
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert _prepared_store_list_statements() == after_two_shapes
    assert seen == _names(api, store, sort="sales", limit=100)
    # Category subtrees of any size are one shape (one array parameter).
    _list(api, store, sort="new", category=dairy.pk)
    count = _prepared_store_list_statements()
    _list(api, store, sort="new", category=other.pk)
    assert _prepared_store_list_statements() == count
    assert _names(api, store, sort="new", category=other.pk) == ["矿泉水"]


@postgresql_only
def test_searches_and_free_text_filters_run_unprepared(api, store, dairy, make_product):
    make_product(dairy, "蒙牛 纯牛奶", prices=(500,), brand="蒙牛", tags=["热卖"])
    before = _prepared_store_list_statements()
    assert _names(api, store, q="牛奶") == ["蒙牛 纯牛奶"]
    assert _names(api, store, brand="蒙牛", tags="热卖", sort="price") == ["蒙牛 纯牛奶"]
    assert _names(api, store, price_min=10**18) == []
    assert _names(api, store, price_max=10**18) == ["蒙牛 纯牛奶"]
    assert _prepared_store_list_statements() == before


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_with_server_side_binding_psycopg_prepares_instead(api, store, dairy, make_product):
    for index in range(3):
        make_product(dairy, f"商品{index}", sales_count=index)
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    connection.close()
    connection.close_pool()
    options.update(server_side_binding=True, prepare_threshold=2)
    try:
        pages = [_list(api, store, sort="sales", limit=1) for _ in range(3)]
        cursor_page = _list(api, store, sort="sales", limit=1, cursor=pages[0]["next_cursor"])
        assert [page["items"][0]["name"] for page in pages] == ["商品2"] * 3
        assert cursor_page["items"][0]["name"] == "商品1"
        assert _prepared_store_list_statements() == 0
    finally:
        connection.close()
        connection.close_pool()
        options.clear()
        options.update(saved)
