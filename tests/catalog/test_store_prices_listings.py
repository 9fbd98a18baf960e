"""HQ's per-store prices and listings, and the store console's catalog."""

import pytest

from mendian.catalog.models import StoreListing, StorePrice
from mendian.core.scope import Role
from tests.catalog.helpers import money, set_store_price
from tests.factories import CategoryFactory, StoreFactory


@pytest.fixture
def milk(dairy, make_product):
    return make_product(dairy, "牛奶", prices=(1000, 1800))


def _prices_url(store):
    return f"/api/hq/v1/stores/{store.pk}/prices"


def _listings_url(store, api="hq"):
    return f"/api/{api}/v1/stores/{store.pk}/listings"


# --- prices --------------------------------------------------------------------------------------
def test_set_list_and_clear_store_prices(hq_api, store, other_store, milk):
    small, large = milk.variants.order_by("position")
    response = hq_api.put(
        _prices_url(store),
        {
            "prices": [
                {"sku_id": str(small.pk), "price": money(900)},
                {"sku_id": large.pk, "price": money(1500)},
            ]
        },
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "items": [
            {
                "sku_id": str(small.pk),
                "sku_code": small.sku_code,
                "product_id": str(milk.pk),
                "product_name": "牛奶",
                "specs": small.specs,
                "base_price": money(1000),
                "price": money(900),
                "overridden": True,
            },
            {
                "sku_id": str(large.pk),
                "sku_code": large.sku_code,
                "product_id": str(milk.pk),
                "product_name": "牛奶",
                "specs": large.specs,
                "base_price": money(1800),
                "price": money(1500),
                "overridden": True,
            },
        ],
        "next_cursor": None,
    }
    assert dict(StorePrice.objects.values_list("sku_id", "price")) == {small.pk: 900, large.pk: 1500}
    assert not StorePrice.objects.filter(store=other_store).exists()

    listed = hq_api.get(_prices_url(store)).json()["items"]
    assert [(row["sku_id"], row["price"]["amount"]) for row in listed] == [
        (str(large.pk), 1500),
        (str(small.pk), 900),
    ]

    response = hq_api.put(_prices_url(store), {"prices": [{"sku_id": str(small.pk), "price": None}]})
    assert response.json()["items"][0]["price"] == money(1000)
    assert response.json()["items"][0]["overridden"] is False
    assert dict(StorePrice.objects.values_list("sku_id", "price")) == {large.pk: 1500}


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ({"sku_id": "999999", "price": money(100)}, "unknown_sku"),
        ({"sku_id": "abc", "price": money(100)}, "unknown_sku"),
        ({"price": money(100)}, "validation_error"),
        ({"sku_id": "SKU", "price": {"amount": -5, "currency": "CNY"}}, "validation_error"),
        ({"sku_id": "SKU", "price": {"amount": 5, "currency": "HKD"}}, "currency_mismatch"),
        ({"sku_id": "SKU", "price": {"amount": "5", "currency": "CNY"}}, "validation_error"),
        ({"sku_id": "SKU"}, "validation_error"),
        ({"sku_id": "SKU", "price": money(5), "store_id": "1"}, "validation_error"),
    ],
)
def test_bad_price_entries_write_nothing(hq_api, store, milk, entry, code):
    small, large = milk.variants.order_by("position")
    entry = {key: (str(large.pk) if value == "SKU" else value) for key, value in entry.items()}
    body = {"prices": [{"sku_id": str(small.pk), "price": money(1)}, entry]}
    response = hq_api.put(_prices_url(store), body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert not StorePrice.objects.exists()


def test_duplicate_and_empty_price_batches_are_422(hq_api, store, milk):
    sku = milk.variants.first()
    twice = {
        "prices": [{"sku_id": str(sku.pk), "price": money(1)}, {"sku_id": str(sku.pk), "price": money(2)}]
    }
    assert hq_api.put(_prices_url(store), twice).json()["code"] == "duplicate_sku"
    assert hq_api.put(_prices_url(store), {"prices": []}).status_code == 422
    assert not StorePrice.objects.exists()


def test_sku_of_another_merchant_is_unknown(hq_api, store, other_merchant, make_product):
    theirs = make_product(CategoryFactory(merchant=other_merchant, name="别家"), "别家牛奶").variants.get()
    response = hq_api.put(_prices_url(store), {"prices": [{"sku_id": str(theirs.pk), "price": money(1)}]})
    assert (response.status_code, response.json()["code"]) == (422, "unknown_sku")
    assert not StorePrice.objects.exists()


def test_store_of_another_merchant_is_404(hq_api, other_merchant, milk):
    their_store = StoreFactory(merchant=other_merchant)
    sku = milk.variants.first()
    response = hq_api.put(_prices_url(their_store), {"prices": [{"sku_id": str(sku.pk), "price": money(1)}]})
    assert response.status_code == 404
    assert hq_api.get(_prices_url(their_store)).status_code == 404
    assert hq_api.get("/api/hq/v1/stores/abc/prices").status_code == 404
    assert not StorePrice.objects.exists()


def test_store_staff_cannot_set_prices(clerk_api, manager_api, store, milk):
    sku = milk.variants.first()
    for client in (clerk_api, manager_api):
        response = client.put(_prices_url(store), {"prices": [{"sku_id": str(sku.pk), "price": money(1)}]})
        assert response.status_code == 403
    assert not StorePrice.objects.exists()


@pytest.mark.parametrize("size", [5, 25])
def test_price_list_query_count_is_constant(
    hq_api, store, dairy, make_product, size, django_assert_num_queries
):
    for index in range(size):
        sku = make_product(dairy, f"商品{index}").variants.get()
        set_store_price(store, sku, index)
    with django_assert_num_queries(3):  # token+staff, the store, the overrides with their products
        response = hq_api.get(_prices_url(store), {"limit": 100})
    assert len(response.json()["items"]) == size


def test_price_list_pages(hq_api, store, dairy, make_product):
    for index in range(5):
        set_store_price(store, make_product(dairy, f"商品{index}").variants.get(), index)
    first = hq_api.get(_prices_url(store), {"limit": 3}).json()
    second = hq_api.get(_prices_url(store), {"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [row["price"]["amount"] for row in first["items"] + second["items"]] == [4, 3, 2, 1, 0]
    assert second["next_cursor"] is None


# --- listings ------------------------------------------------------------------------------------
def test_hq_listings(hq_api, store, milk, dairy, make_product):
    yogurt = make_product(dairy, "酸奶")
    response = hq_api.put(
        _listings_url(store),
        {
            "listings": [
                {"product_id": str(milk.pk), "listed": False},
                {"product_id": yogurt.pk, "listed": True},
            ]
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert all(row.pop("updated_at") for row in body["items"])
    assert body == {
        "items": [
            {"product_id": str(milk.pk), "product_name": "牛奶", "listed": False},
            {"product_id": str(yogurt.pk), "product_name": "酸奶", "listed": True},
        ],
        "next_cursor": None,
    }
    assert dict(StoreListing.objects.values_list("product_id", "is_listed")) == {
        milk.pk: False,
        yogurt.pk: True,
    }
    rows = hq_api.get(_listings_url(store)).json()["items"]
    assert [(row["product_id"], row["listed"]) for row in rows] == [
        (str(yogurt.pk), True),
        (str(milk.pk), False),
    ]


@pytest.mark.parametrize(
    "entry",
    [
        {"product_id": "999999", "listed": False},
        {"product_id": "x", "listed": False},
        {"product_id": "MILK", "listed": "no"},
        {"product_id": "MILK"},
        {"product_id": "MILK", "listed": False, "price": 1},
    ],
)
def test_bad_listing_entries_write_nothing(hq_api, store, milk, dairy, make_product, entry):
    other = make_product(dairy, "酸奶")
    entry = {key: (str(milk.pk) if value == "MILK" else value) for key, value in entry.items()}
    response = hq_api.put(
        _listings_url(store), {"listings": [{"product_id": str(other.pk), "listed": False}, entry]}
    )
    assert response.status_code == 422
    assert not StoreListing.objects.exists()


def test_manager_lists_and_delists_at_own_store_only(manager_api, clerk_api, store, other_store, milk):
    body = {"listings": [{"product_id": str(milk.pk), "listed": False}]}
    assert manager_api.put(_listings_url(store, "staff"), body).status_code == 200
    assert StoreListing.objects.get().is_listed is False
    response = manager_api.put(_listings_url(other_store, "staff"), body)
    assert response.status_code == 404
    response = clerk_api.put(
        _listings_url(store, "staff"), {"listings": [{"product_id": str(milk.pk), "listed": True}]}
    )
    assert response.status_code == 403
    assert list(StoreListing.objects.values_list("store_id", "is_listed")) == [(store.pk, False)]
    assert manager_api.put(_listings_url(store), body).status_code == 403  # not through the HQ API


# --- the store console's catalog -----------------------------------------------------------------
def test_staff_catalog_shows_store_prices_and_listing(
    clerk_api, store, other_store, milk, dairy, make_product
):
    yogurt = make_product(dairy, "酸奶")
    small = milk.variants.order_by("position").first()
    set_store_price(store, small, 850)
    StoreListing.objects.create(store=store, product=yogurt, is_listed=False)

    response = clerk_api.get("/api/staff/v1/products")
    assert response.status_code == 200, response.content
    items = {item["name"]: item for item in response.json()["items"]}
    assert items["酸奶"]["listed"] is False
    assert items["牛奶"]["listed"] is True
    assert items["牛奶"]["category"] == {"id": str(dairy.pk), "name": "乳品"}
    assert [
        (v["base_price"]["amount"], v["price"]["amount"], v["overridden"], v["stock_available"])
        for v in items["牛奶"]["variants"]
    ] == [(1000, 850, True, 0), (1800, 1800, False, 0)]
    assert clerk_api.get("/api/staff/v1/products", {"store_id": other_store.pk}).status_code == 404
    assert [i["name"] for i in clerk_api.get("/api/staff/v1/products", {"q": "酸奶"}).json()["items"]] == [
        "酸奶"
    ]


def test_staff_catalog_for_hq_needs_a_store(hq_api, store, milk):
    assert hq_api.get("/api/staff/v1/products").status_code == 422
    response = hq_api.get("/api/staff/v1/products", {"store_id": store.pk})
    assert [item["name"] for item in response.json()["items"]] == ["牛奶"]


def test_staff_catalog_of_another_merchant_is_404(make_staff_api, other_merchant, store, milk):
    rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, username="rival_hq")
    assert rival.get("/api/staff/v1/products", {"store_id": store.pk}).status_code == 404


@pytest.mark.parametrize("size", [5, 25])
def test_staff_catalog_query_count_is_constant(
    clerk_api, store, dairy, make_product, size, django_assert_num_queries
):
    for index in range(size):
        make_product(dairy, f"商品{index}", prices=(100, 200, 300))
    # token+staff, the store, products with category and listing, their variants with store
    # prices, the variants' live stock
    with django_assert_num_queries(5):
        response = clerk_api.get("/api/staff/v1/products", {"limit": 100})
    assert len(response.json()["items"]) == size


@pytest.mark.parametrize("size", [5, 25])
def test_listing_list_query_count_is_constant(
    hq_api, store, dairy, make_product, size, django_assert_num_queries
):
    products = [make_product(dairy, f"商品{index}") for index in range(size)]
    hq_api.put(
        _listings_url(store), {"listings": [{"product_id": str(p.pk), "listed": False} for p in products]}
    )
    with django_assert_num_queries(3):  # token+staff, the store, the listings with their products
        response = hq_api.get(_listings_url(store), {"limit": 100})
    assert len(response.json()["items"]) == size
