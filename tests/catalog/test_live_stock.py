"""The catalog shows each store's live stock: the list's in stock / sold out flag (with an in-stock
filter), the product page's units per variant, and the cached list pages follow stock changes."""

import pytest
from django.core.cache import cache

from mendian.catalog import cache as page_cache
from mendian.catalog.selectors import store_product_detail, store_products
from mendian.catalog.services import product_update
from mendian.core.scope import Actor
from mendian.inventory import services as stock
from mendian.inventory.models import StockMovement
from tests.catalog.helpers import money


def give(store, sku, qty):
    stock.stock_adjust(actor=Actor.system(store.merchant_id), store=store, sku=sku, delta=qty, reason="found")


def availability(api, store, **params) -> dict[str, bool]:
    response = api.get(f"/api/v1/stores/{store.pk}/products", params)
    assert response.status_code == 200
    return {item["name"]: item["available"] for item in response.json()["items"]}


@pytest.fixture
def milk(dairy, make_product):
    return make_product(dairy, "牛奶", prices=(500, 900))


@pytest.fixture
def yogurt(dairy, make_product):
    return make_product(dairy, "酸奶", prices=(700,))


def test_the_list_says_which_products_can_be_bought_at_this_store(api, store, other_store, milk, yogurt):
    give(store, milk.variants.last(), 3)
    give(other_store, yogurt.variants.get(), 5)

    assert availability(api, store) == {"牛奶": True, "酸奶": False}
    assert availability(api, other_store) == {"牛奶": False, "酸奶": True}


def test_reserved_units_are_not_available(api, store, milk):
    sku = milk.variants.first()
    give(store, sku, 2)
    stock.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="26120200000001")

    assert availability(api, store) == {"牛奶": False}
    detail = store_product_detail(store=store, product_id=milk.pk)
    assert detail["available"] is False
    assert [v["stock_available"] for v in detail["variants"]] == [0, 0]


def test_stock_of_an_inactive_variant_does_not_make_the_product_available(api, store, milk):
    discontinued, current = milk.variants.order_by("pk")
    give(store, discontinued, 9)
    assert availability(api, store) == {"牛奶": True}

    product_update(
        actor=Actor.system(store.merchant_id),
        product=milk,
        # The full list of variants: one left out is discontinued.
        data={
            "variants": [
                {"sku_code": current.sku_code, "specs": current.specs, "price": money(current.price)}
            ]
        },
    )

    assert availability(api, store) == {"牛奶": False}


def test_the_product_page_shows_units_per_variant(api, store, milk):
    small, large = milk.variants.order_by("position", "pk")
    give(store, small, 4)

    body = api.get(f"/api/v1/stores/{store.pk}/products/{milk.pk}").json()

    assert body["available"] is True
    assert {v["sku_id"]: v["stock_available"] for v in body["variants"]} == {
        str(small.pk): 4,
        str(large.pk): 0,
    }


def test_the_barcode_lookup_shows_units_at_the_store(api, store, dairy, make_product):
    product = make_product(
        dairy,
        "豆奶",
        variants=[{"sku_code": "SOY-1", "barcode": "6901234567892", "specs": {}, "price": money(400)}],
    )
    sku = product.variants.get()
    give(store, sku, 6)
    body = api.get("/api/v1/skus/lookup", {"store_id": store.pk, "barcode": sku.barcode}).json()
    assert body["stock_available"] == 6


def test_the_in_stock_filter_keeps_only_what_can_be_bought(
    store, dairy, make_product, django_assert_num_queries
):
    products = [make_product(dairy, f"奶{index}") for index in range(6)]
    for product in products[::2]:
        give(store, product.variants.get(), 1)
    store.merchant  # noqa: B018 - loaded once, as the API's store lookup does

    with django_assert_num_queries(1):
        page = store_products(store=store, in_stock=True, limit=2)
    with django_assert_num_queries(1):
        rest = store_products(store=store, in_stock=True, limit=2, cursor=page["next_cursor"])

    assert [item["name"] for item in page["items"] + rest["items"]] == ["奶4", "奶2"] + ["奶0"]
    assert rest["next_cursor"] is None
    assert all(item["available"] for item in page["items"] + rest["items"])
    assert len(store_products(store=store)["items"]) == 6


@pytest.mark.parametrize("size", [3, 30])
def test_a_page_with_stock_is_still_one_query(store, dairy, make_product, size, django_assert_num_queries):
    for index in range(size):
        product = make_product(dairy, f"奶{index}", prices=(100, 200))
        if index % 2:
            give(store, product.variants.last(), 1)
    store.merchant  # noqa: B018

    with django_assert_num_queries(1):
        items = store_products(store=store, limit=100)["items"]

    assert sum(item["available"] for item in items) == size // 2


# --- the page cache follows stock ---------------------------------------------------------------------


def test_a_customer_sees_a_product_sell_out_and_come_back_through_the_cached_page(api, store, milk, yogurt):
    sku = yogurt.variants.get()
    give(store, sku, 1)
    give(store, milk.variants.first(), 5)
    assert availability(api, store) == {"牛奶": True, "酸奶": True}  # now cached

    stock.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="26120200000002")
    assert availability(api, store) == {"牛奶": True, "酸奶": False}

    stock.stock_release(reference="26120200000002")
    assert availability(api, store) == {"牛奶": True, "酸奶": True}


def test_pos_sales_that_empty_the_shelf_show_at_once(api, store, merchant, yogurt):
    sku = yogurt.variants.get()
    give(store, sku, 2)
    assert availability(api, store) == {"酸奶": True}

    results = stock.stock_apply_pos_events(
        merchant=merchant,
        events=[
            {
                "event_id": "till-1",
                "store_code": store.code,
                "sku_code": sku.sku_code,
                "type": "sale",
                "quantity": 2,
                "occurred_at": "2026-12-01T10:00:00+08:00",
            }
        ],
    )

    assert results[0]["status"] == "accepted"
    assert availability(api, store) == {"酸奶": False}


def test_changes_that_do_not_sell_out_keep_the_cached_page(
    api, store, other_store, milk, django_assert_num_queries
):
    sku = milk.variants.first()
    give(store, sku, 5)
    assert availability(api, store) == {"牛奶": True}

    give(store, sku, -2)  # 5 → 3: still in stock
    give(other_store, sku, 1)  # another store sold it out and back: not this store's page

    with django_assert_num_queries(0):
        assert availability(api, store) == {"牛奶": True}


def test_only_the_store_whose_stock_flipped_loses_its_cached_page(
    api, store, other_store, milk, django_assert_num_queries
):
    sku = milk.variants.first()
    give(store, sku, 1)
    give(other_store, sku, 1)
    assert availability(api, store) == availability(api, other_store) == {"牛奶": True}

    give(other_store, sku, -1)

    with django_assert_num_queries(0):
        assert availability(api, store) == {"牛奶": True}
    assert availability(api, other_store) == {"牛奶": False}


def test_a_stock_change_in_another_process_shows_within_the_version_check_interval(
    api, store, milk, monkeypatch, clock
):
    monkeypatch.setattr(page_cache, "local_layer_enabled", lambda: True)
    sku = milk.variants.first()
    give(store, sku, 1)
    assert availability(api, store) == {"牛奶": True}

    # Another server process sells the last unit: its rows and the shared stock version move,
    # this process's memory does not.
    memory = dict(page_cache._stock_versions)
    give(store, sku, -1)
    page_cache._stock_versions.clear()
    page_cache._stock_versions.update(memory)

    assert availability(api, store) == {"牛奶": True}  # the version read 0 s ago is trusted
    clock.advance(0.2)
    assert availability(api, store) == {"牛奶": False}


def test_a_page_built_before_any_stock_version_existed_is_dropped_when_one_appears(api, store, milk):
    sku = milk.variants.first()
    give(store, sku, 3)
    assert availability(api, store) == {"牛奶": True}
    cache.delete(f"catalog:stock-version:{store.pk}")  # evicted

    give(store, sku, -3)

    assert availability(api, store) == {"牛奶": False}


def test_the_ledger_is_what_the_catalog_reads(store, milk):
    sku = milk.variants.first()
    give(store, sku, 7)
    stock.stock_reserve(store=store, lines=[(sku.pk, 3)], reference="26120200000003")
    ledger = sum(
        on_hand - reserved
        for on_hand, reserved in StockMovement.objects.filter(store=store, sku=sku).values_list(
            "delta_on_hand", "delta_reserved"
        )
    )
    detail = store_product_detail(store=store, product_id=milk.pk)
    assert detail["variants"][0]["stock_available"] == ledger == 4
