"""The storefront's catalog: categories, a store's product list and product page, barcode lookup."""

import io
import json

import pytest
from django.core.cache import cache
from PIL import Image

from mendian.catalog import selectors, services
from mendian.catalog.models import Product, Sku, StoreListing
from mendian.core.scope import Actor
from mendian.stores.models import StoreStatus
from tests.catalog.helpers import money, set_store_price
from tests.factories import CategoryFactory, MerchantFactory, StoreFactory


def _list(api, store, **params):
    response = api.get(f"/api/v1/stores/{store.pk}/products", params)
    assert response.status_code == 200, response.content
    return response.json()


def _names(api, store, **params):
    return [item["name"] for item in _list(api, store, **params)["items"]]


def _photo(color="red") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 500), color).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


# --- categories ----------------------------------------------------------------------------------
def test_category_tree_is_nested_in_position_order_in_one_query(
    api, merchant, other_merchant, django_assert_num_queries
):
    food = CategoryFactory(merchant=merchant, name="食品", icon="🍞", position=2)
    drinks = CategoryFactory(merchant=merchant, name="饮料", icon="🥤", position=1)
    tea = CategoryFactory(merchant=merchant, name="茶饮", parent=drinks, position=2)
    juice = CategoryFactory(merchant=merchant, name="果汁", parent=drinks, position=1)
    green = CategoryFactory(merchant=merchant, name="绿茶", parent=tea)
    CategoryFactory(merchant=merchant, name="停用", is_active=False)
    CategoryFactory(merchant=other_merchant, name="别家的")

    with django_assert_num_queries(2):  # the merchant by its code, then the categories
        response = api.get("/api/v1/categories", headers={"X-Mendian-Merchant": "acme"})
    assert response.status_code == 200
    mid = str(merchant.pk)
    assert response.json() == {
        "items": [
            {
                "id": str(drinks.pk),
                "name": "饮料",
                "icon": "🥤",
                "merchant_id": mid,
                "children": [
                    {"id": str(juice.pk), "name": "果汁", "icon": "", "merchant_id": mid, "children": []},
                    {
                        "id": str(tea.pk),
                        "name": "茶饮",
                        "icon": "",
                        "merchant_id": mid,
                        "children": [
                            {
                                "id": str(green.pk),
                                "name": "绿茶",
                                "icon": "",
                                "merchant_id": mid,
                                "children": [],
                            }
                        ],
                    },
                ],
            },
            {"id": str(food.pk), "name": "食品", "icon": "🍞", "merchant_id": mid, "children": []},
        ],
        "next_cursor": None,
    }


def test_category_tree_without_merchant_shows_every_active_merchant(api, merchant, other_merchant):
    CategoryFactory(merchant=merchant, name="饮料")
    CategoryFactory(merchant=other_merchant, name="生鲜")
    CategoryFactory(merchant=MerchantFactory(code="gone", is_active=False), name="倒闭")
    names = [node["name"] for node in api.get("/api/v1/categories").json()["items"]]
    assert sorted(names) == ["生鲜", "饮料"]


def test_category_tree_unknown_merchant_is_404(api, db):
    response = api.get("/api/v1/categories", headers={"X-Mendian-Merchant": "nobody"})
    assert response.status_code == 404
    assert response.json()["code"] == "merchant_not_found"


# --- the list --------------------------------------------------------------------------------------
def test_list_item_shape(api, store, dairy, make_product):
    product = make_product(
        dairy, "蒙牛 纯牛奶", prices=(6990, 5990), subtitle="整箱", brand="蒙牛", tags=["热卖"]
    )
    image = services.product_image_add(actor=Actor.system(), product=product, upload=_photo())
    assert _list(api, store) == {
        "items": [
            {
                "id": str(product.pk),
                "name": "蒙牛 纯牛奶",
                "subtitle": "整箱",
                "brand": "蒙牛",
                "tags": ["热卖"],
                "image": f"/media/{image.image.name}",
                "thumbnail": f"/media/{image.thumbnail.name}",
                "price_from": {"amount": 5990, "currency": "CNY"},
                # No per-store stock exists yet: nothing is claimed to be available.
                "available": False,
                "sales_count": 0,
            }
        ],
        "next_cursor": None,
    }


def test_list_body_is_compact_utf8_json(api, store, dairy, make_product):
    make_product(dairy, "蒙牛\u2028纯牛奶", subtitle='引号"与\\反斜杠', brand="\t", tags=["热卖", "😀"])
    response = api.get(f"/api/v1/stores/{store.pk}/products")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.content == json.dumps(response.json(), ensure_ascii=False, separators=(",", ":")).encode()
    assert response.json()["items"][0]["name"] == "蒙牛\u2028纯牛奶"


def test_list_image_urls_follow_the_storage_settings(store, dairy, make_product, settings):
    product = make_product(dairy, "牛奶")
    image = services.product_image_add(actor=Actor.system(), product=product, upload=_photo())
    names = (image.image.name, image.thumbnail.name)

    def urls():
        item = selectors.store_products(store=store)["items"][0]
        return item["image"], item["thumbnail"]

    assert urls() == tuple(f"/media/{name}" for name in names)
    settings.MEDIA_URL = "https://cdn.example.com/m/"
    assert urls() == tuple(f"https://cdn.example.com/m/{name}" for name in names)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.InMemoryStorage",
            "OPTIONS": {"base_url": "https://other.example/"},
        },
    }
    assert urls() == tuple(f"https://other.example/{name}" for name in names)


def test_only_the_stores_merchants_active_products(api, store, merchant, other_merchant, dairy, make_product):
    make_product(dairy, "在售")
    make_product(dairy, "停售", is_active=False)
    make_product(CategoryFactory(merchant=other_merchant, name="别家"), "别家商品")
    assert _names(api, store) == ["在售"]


def test_delisting_hides_the_product_at_that_store_only(api, hq_api, store, other_store, dairy, make_product):
    milk = make_product(dairy, "牛奶")
    make_product(dairy, "酸奶")
    response = hq_api.put(
        f"/api/hq/v1/stores/{store.pk}/listings",
        {"listings": [{"product_id": str(milk.pk), "listed": False}]},
    )
    assert response.status_code == 200
    assert _names(api, store) == ["酸奶"]
    assert sorted(_names(api, other_store)) == ["牛奶", "酸奶"]
    assert api.get(f"/api/v1/stores/{store.pk}/products/{milk.pk}").status_code == 404
    assert api.get(f"/api/v1/stores/{other_store.pk}/products/{milk.pk}").status_code == 200

    hq_api.put(
        f"/api/hq/v1/stores/{store.pk}/listings", {"listings": [{"product_id": str(milk.pk), "listed": True}]}
    )
    assert sorted(_names(api, store)) == ["牛奶", "酸奶"]


def test_category_filter_includes_all_descendants(api, store, merchant, make_product):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    tea = CategoryFactory(merchant=merchant, name="茶", parent=drinks)
    green = CategoryFactory(merchant=merchant, name="绿茶", parent=tea)
    snacks = CategoryFactory(merchant=merchant, name="零食")
    make_product(drinks, "矿泉水")
    make_product(tea, "红茶")
    make_product(green, "龙井")
    make_product(snacks, "薯片")
    assert sorted(_names(api, store, category=drinks.pk)) == ["矿泉水", "红茶", "龙井"]
    assert sorted(_names(api, store, category=tea.pk)) == ["红茶", "龙井"]
    assert _names(api, store, category=green.pk) == ["龙井"]


@pytest.mark.parametrize("category", ["abc", "999999", "-1"])
def test_unknown_category_filter_is_422(api, store, category):
    response = api.get(f"/api/v1/stores/{store.pk}/products", {"category": category})
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_category"


def test_another_merchants_category_is_unknown(api, store, other_merchant):
    theirs = CategoryFactory(merchant=other_merchant, name="别家")
    response = api.get(f"/api/v1/stores/{store.pk}/products", {"category": theirs.pk})
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_category"


def test_price_from_and_price_filters_use_the_stores_own_prices(
    api, hq_api, store, other_store, dairy, make_product
):
    milk = make_product(dairy, "牛奶", prices=(1000, 2000))
    make_product(dairy, "酸奶", prices=(700,))
    dear = milk.variants.get(price=2000)
    response = hq_api.put(
        f"/api/hq/v1/stores/{store.pk}/prices", {"prices": [{"sku_id": str(dear.pk), "price": money(500)}]}
    )
    assert response.status_code == 200

    here = {item["name"]: item["price_from"]["amount"] for item in _list(api, store)["items"]}
    there = {item["name"]: item["price_from"]["amount"] for item in _list(api, other_store)["items"]}
    assert here == {"牛奶": 500, "酸奶": 700}
    assert there == {"牛奶": 1000, "酸奶": 700}
    assert _names(api, store, price_max=600) == ["牛奶"]
    assert _names(api, other_store, price_max=600) == []
    assert _names(api, store, price_min=600, price_max=800) == ["酸奶"]
    assert _names(api, other_store, price_min=900) == ["牛奶"]
    assert _names(api, store, sort="price") == ["牛奶", "酸奶"]
    assert _names(api, other_store, sort="price") == ["酸奶", "牛奶"]


def test_inactive_variants_do_not_set_price_from(api, hq_api, store, dairy, make_product):
    product = make_product(
        dairy,
        "可乐",
        variants=[
            {"sku_code": "COLA-S", "specs": {"规格": "小"}, "price": money(250)},
            {"sku_code": "COLA-L", "specs": {"规格": "大"}, "price": money(450)},
        ],
    )
    hq_api.patch(
        f"/api/hq/v1/products/{product.pk}",
        {"variants": [{"sku_code": "COLA-L", "specs": {"规格": "大"}, "price": money(450)}]},
    )
    assert _list(api, store)["items"][0]["price_from"] == money(450)


def test_sort_orders(api, store, dairy, make_product):
    first = make_product(dairy, "A", prices=(300,), sales_count=5, position=2)
    second = make_product(dairy, "B", prices=(100,), sales_count=50, position=1)
    third = make_product(dairy, "C", prices=(200,), sales_count=5, position=2)
    fourth = make_product(dairy, "D", prices=(100,), sales_count=0, position=1)
    del first, second, third, fourth
    assert _names(api, store, sort="sales") == ["B", "C", "A", "D"]  # ties: newest first
    assert _names(api, store, sort="price") == ["D", "B", "C", "A"]
    assert _names(api, store, sort="price_desc") == ["A", "C", "D", "B"]
    assert _names(api, store, sort="new") == ["D", "C", "B", "A"]
    assert _names(api, store) == ["D", "B", "C", "A"]  # HQ's shelf position, then newest


@pytest.mark.parametrize("sort", [None, "sales", "price", "price_desc", "new"])
def test_cursor_pages_cover_everything_once(api, store, dairy, make_product, sort):
    for index in range(25):
        make_product(
            dairy, f"商品{index:02d}", prices=(100 + index % 7,), sales_count=index % 4, position=index % 3
        )
    expected = _names(api, store, limit=100, **({"sort": sort} if sort else {}))
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 10, **({"sort": sort} if sort else {}), **({"cursor": cursor} if cursor else {})}
        page = _list(api, store, **params)
        seen += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == expected and len(set(seen)) == 25


def test_search_results_page_by_relevance(api, store, dairy, make_product):
    for index in range(7):
        make_product(dairy, f"牛奶{index}")
    first = _list(api, store, q="牛奶", limit=5)
    second = _list(api, store, q="牛奶", limit=5, cursor=first["next_cursor"])
    assert len(first["items"]) == 5 and len(second["items"]) == 2 and second["next_cursor"] is None
    assert {item["name"] for item in first["items"] + second["items"]} == {f"牛奶{i}" for i in range(7)}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"limit": 0}, "validation_error"),
        ({"limit": 101}, "validation_error"),
        ({"limit": "ten"}, "validation_error"),
        ({"sort": "cheapest"}, "validation_error"),
        ({"price_min": -1}, "validation_error"),
        ({"price_max": "1.5"}, "validation_error"),
        ({"price_min": str(10**30)}, "validation_error"),
        ({"price_max": str(2**63)}, "validation_error"),
        ({"barcode": "12ab"}, "invalid_barcode"),
    ],
)
def test_bad_list_parameters_are_422(api, store, params, code):
    response = api.get(f"/api/v1/stores/{store.pk}/products", params)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_cursor_of_another_sort_is_refused(api, store, dairy, make_product):
    for index in range(3):
        make_product(dairy, f"商品{index}")
    cursor = _list(api, store, limit=1, sort="sales")["next_cursor"]
    response = api.get(f"/api/v1/stores/{store.pk}/products", {"limit": 1, "sort": "price", "cursor": cursor})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


def test_brand_tags_and_barcode_filters(api, store, dairy, make_product):
    make_product(dairy, "蒙牛 纯奶", brand="蒙牛", tags=["早餐", "热卖"])
    make_product(dairy, "蒙牛 酸奶", brand="蒙牛", tags=["热卖"])
    make_product(
        dairy,
        "伊利 纯奶",
        brand="伊利",
        tags=["早餐"],
        variants=[{"sku_code": "YL-1", "barcode": "6920152400531", "specs": {}, "price": money(500)}],
    )
    assert sorted(_names(api, store, brand="蒙牛")) == ["蒙牛 纯奶", "蒙牛 酸奶"]
    assert sorted(_names(api, store, tags="早餐")) == ["伊利 纯奶", "蒙牛 纯奶"]
    assert _names(api, store, tags="早餐,热卖") == ["蒙牛 纯奶"]
    response = api.get(f"/api/v1/stores/{store.pk}/products?tags=早餐&tags=热卖")
    assert [item["name"] for item in response.json()["items"]] == ["蒙牛 纯奶"]
    assert _names(api, store, barcode="6920152400531") == ["伊利 纯奶"]
    assert _names(api, store, barcode="4006381333931") == []


@pytest.mark.parametrize("store_id", ["abc", "0", "999999", "1.5", "１"])
def test_unknown_store_is_404(api, db, store_id):
    response = api.get(f"/api/v1/stores/{store_id}/products")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_closed_store_and_other_merchant_header_are_404(
    api, store, other_merchant, dairy, make_product, clock
):
    milk = make_product(dairy, "牛奶")
    response = api.get(f"/api/v1/stores/{store.pk}/products", headers={"X-Mendian-Merchant": "rival"})
    assert response.status_code == 404
    assert _names(api, store) == ["牛奶"]
    store.status = StoreStatus.CLOSED
    store.save()
    # The product page is never cached: closed at once.
    assert api.get(f"/api/v1/stores/{store.pk}/products/{milk.pk}").status_code == 404
    # The list remembers its store (and pages) for the page cache's few seconds, then answers 404.
    clock.advance(11)
    cache.clear()  # what Redis does on its own once the entries' TTL has passed
    assert api.get(f"/api/v1/stores/{store.pk}/products").status_code == 404


@pytest.mark.parametrize("size", [5, 25])
def test_list_query_count_is_constant(api, store, merchant, make_product, size, django_assert_num_queries):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    tea = CategoryFactory(merchant=merchant, name="茶", parent=drinks)
    for index in range(size):
        product = make_product(tea, f"茶{index}", prices=(300, 400, 500))
        set_store_price(store, product.variants.first(), 250)
        services.product_image_add(actor=Actor.system(), product=product, upload=_photo())
    # The store, then the page: one statement whatever its size.
    with django_assert_num_queries(2):
        page = _list(api, store, limit=100)
    assert len(page["items"]) == size
    assert all(item["price_from"]["amount"] == 250 and item["image"] for item in page["items"])
    # The store is remembered for a few seconds (like the pages); a category filter reads the
    # merchant's category tree once per catalog version.
    with django_assert_num_queries(2):
        assert len(_list(api, store, limit=100, category=drinks.pk, sort="price")["items"]) == size
    with django_assert_num_queries(1):
        assert len(_list(api, store, limit=100, category=tea.pk, sort="sales")["items"]) == size
    with django_assert_num_queries(1):
        assert len(_list(api, store, limit=100, q="茶")["items"]) == size
    cursor = _list(api, store, limit=1)["next_cursor"]
    with django_assert_num_queries(1):
        assert len(_list(api, store, limit=100, cursor=cursor)["items"]) == size - 1


# --- the cache ---------------------------------------------------------------------------------------
def test_first_page_is_served_from_cache_without_queries(
    api, store, dairy, make_product, django_assert_num_queries
):
    make_product(dairy, "牛奶")
    first = _list(api, store)
    with django_assert_num_queries(0):
        assert _list(api, store) == first
    # Another parameter set is another entry (the store itself is still remembered).
    with django_assert_num_queries(1):
        _list(api, store, sort="sales")


def test_writes_are_visible_at_once_despite_the_cache(api, hq_api, store, dairy, make_product):
    milk = make_product(dairy, "牛奶", prices=(1000,))
    sku = milk.variants.get()
    assert _list(api, store)["items"][0]["price_from"]["amount"] == 1000

    hq_api.put(
        f"/api/hq/v1/stores/{store.pk}/prices", {"prices": [{"sku_id": str(sku.pk), "price": money(880)}]}
    )
    assert _list(api, store)["items"][0]["price_from"]["amount"] == 880

    hq_api.patch(f"/api/hq/v1/products/{milk.pk}", {"name": "鲜牛奶"})
    assert _names(api, store) == ["鲜牛奶"]

    hq_api.put(f"/api/hq/v1/stores/{store.pk}/prices", {"prices": [{"sku_id": str(sku.pk), "price": None}]})
    assert _list(api, store)["items"][0]["price_from"]["amount"] == 1000

    hq_api.put(
        f"/api/hq/v1/stores/{store.pk}/listings",
        {"listings": [{"product_id": str(milk.pk), "listed": False}]},
    )
    assert _list(api, store)["items"] == []


def test_version_is_bumped_again_after_commit(store, dairy, make_product, django_capture_on_commit_callbacks):
    from mendian.catalog.cache import catalog_version

    product = make_product(dairy, "牛奶")
    before = catalog_version(store.merchant_id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.store_price_set(
            actor=Actor.system(), store=store, sku=product.variants.get(), price=money(100)
        )
    assert len(callbacks) == 1
    assert catalog_version(store.merchant_id) == before + 2


# --- one product ---------------------------------------------------------------------------------------
def test_product_detail_shape_with_store_prices(api, store, other_store, dairy, make_product):
    product = make_product(
        dairy,
        "T恤",
        subtitle="纯棉",
        description="100% 棉",
        brand="优品",
        tags=["新品"],
        variants=[
            {
                "sku_code": "TS-R-M",
                "barcode": "4006381333931",
                "specs": {"颜色": "红", "尺码": "M"},
                "price": money(5900),
            },
            {"sku_code": "TS-B-M", "specs": {"颜色": "蓝", "尺码": "M"}, "price": money(5900)},
            {"sku_code": "TS-R-L", "specs": {"颜色": "红", "尺码": "L"}, "price": money(6900)},
        ],
    )
    image = services.product_image_add(actor=Actor.system(), product=product, upload=_photo())
    red_l = Sku.objects.get(sku_code="TS-R-L")
    set_store_price(store, red_l, 4900)
    skus = {sku.sku_code: str(sku.pk) for sku in Sku.objects.all()}

    response = api.get(f"/api/v1/stores/{store.pk}/products/{product.pk}")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(product.pk),
        "name": "T恤",
        "subtitle": "纯棉",
        "description": "100% 棉",
        "brand": "优品",
        "tags": ["新品"],
        "category": {"id": str(dairy.pk), "name": "乳品"},
        "images": [
            {
                "id": str(image.pk),
                "url": f"/media/{image.image.name}",
                "thumbnail": f"/media/{image.thumbnail.name}",
                "width": 1000,
                "height": 500,
            }
        ],
        "image": f"/media/{image.image.name}",
        "price_from": money(4900),
        "available": False,
        "sales_count": 0,
        "variants": [
            {
                "sku_id": skus["TS-R-M"],
                "sku_code": "TS-R-M",
                "barcode": "4006381333931",
                "specs": {"颜色": "红", "尺码": "M"},
                "price": money(5900),
                "stock_available": 0,
            },
            {
                "sku_id": skus["TS-B-M"],
                "sku_code": "TS-B-M",
                "barcode": None,
                "specs": {"颜色": "蓝", "尺码": "M"},
                "price": money(5900),
                "stock_available": 0,
            },
            {
                "sku_id": skus["TS-R-L"],
                "sku_code": "TS-R-L",
                "barcode": None,
                "specs": {"颜色": "红", "尺码": "L"},
                "price": money(4900),
                "stock_available": 0,
            },
        ],
        "spec_options": {"颜色": ["红", "蓝"], "尺码": ["M", "L"]},
    }
    there = api.get(f"/api/v1/stores/{other_store.pk}/products/{product.pk}").json()
    assert [variant["price"]["amount"] for variant in there["variants"]] == [5900, 5900, 6900]


@pytest.mark.parametrize("variants", [1, 12])
def test_product_detail_query_count_is_constant(
    api, store, dairy, make_product, variants, django_assert_num_queries
):
    product = make_product(dairy, "袜子", prices=tuple(100 + i for i in range(variants)))
    for _ in range(3):
        services.product_image_add(actor=Actor.system(), product=product, upload=_photo())
    # The store with its merchant, the product with its category, its images, its variants with
    # this store's prices, their live stock.
    with django_assert_num_queries(5):
        response = api.get(f"/api/v1/stores/{store.pk}/products/{product.pk}")
    assert len(response.json()["variants"]) == variants and len(response.json()["images"]) == 3


def test_product_detail_not_sold_here_is_404(api, store, other_merchant, dairy, make_product):
    inactive = make_product(dairy, "下架", is_active=False)
    delisted = make_product(dairy, "不卖")
    StoreListing.objects.create(store=store, product=delisted, is_listed=False)
    theirs = make_product(CategoryFactory(merchant=other_merchant, name="别家"), "别家商品")
    for product_id in [inactive.pk, delisted.pk, theirs.pk, "abc", "0", "99999"]:
        response = api.get(f"/api/v1/stores/{store.pk}/products/{product_id}")
        assert response.status_code == 404, product_id
        assert response.json()["code"] == "not_found"


def test_product_of_another_merchants_store_is_404(api, store, other_merchant, dairy, make_product):
    product = make_product(dairy, "牛奶")
    their_store = StoreFactory(merchant=other_merchant)
    assert api.get(f"/api/v1/stores/{their_store.pk}/products/{product.pk}").status_code == 404
    assert _names(api, their_store) == []


# --- barcode lookup -------------------------------------------------------------------------------
def test_sku_lookup_by_barcode(api, store, dairy, make_product):
    product = make_product(
        dairy,
        "可乐",
        variants=[{"sku_code": "COLA", "barcode": "6920152400531", "specs": {}, "price": money(300)}],
    )
    sku = product.variants.get()
    set_store_price(store, sku, 280)
    response = api.get("/api/v1/skus/lookup", {"barcode": "6920152400531", "store_id": store.pk})
    assert response.status_code == 200
    assert response.json() == {
        "sku_id": str(sku.pk),
        "sku_code": "COLA",
        "barcode": "6920152400531",
        "specs": {},
        "price": money(280),
        "stock_available": 0,
        "product": {"id": str(product.pk), "name": "可乐", "image": None, "thumbnail": None},
    }
    StoreListing.objects.create(store=store, product=product, is_listed=False)
    assert (
        api.get("/api/v1/skus/lookup", {"barcode": "6920152400531", "store_id": store.pk}).status_code == 404
    )
    assert (
        api.get("/api/v1/skus/lookup", {"barcode": "4006381333931", "store_id": store.pk}).status_code == 404
    )
    bad = api.get("/api/v1/skus/lookup", {"barcode": "x", "store_id": store.pk})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_barcode"
    assert api.get("/api/v1/skus/lookup", {"barcode": "6920152400531"}).status_code == 422


def test_product_rows_are_untouched_by_reads(api, store, dairy, make_product):
    product = make_product(dairy, "牛奶")
    before = Product.objects.values().get(pk=product.pk)
    _list(api, store)
    api.get(f"/api/v1/stores/{store.pk}/products/{product.pk}")
    assert Product.objects.values().get(pk=product.pk) == before


def test_category_filter_sees_new_and_moved_categories_at_once(api, hq_api, store, merchant, make_product):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    snacks = CategoryFactory(merchant=merchant, name="零食")
    make_product(drinks, "矿泉水")
    assert _names(api, store, category=drinks.pk) == ["矿泉水"]

    tea = hq_api.post("/api/hq/v1/categories", {"name": "茶", "parent_id": str(drinks.pk)}).json()
    hq_api.post(
        "/api/hq/v1/products",
        {
            "name": "乌龙茶",
            "category_id": tea["id"],
            "variants": [{"sku_code": "OOLONG", "price": money(500)}],
        },
    )
    assert sorted(_names(api, store, category=drinks.pk, sort="new")) == ["乌龙茶", "矿泉水"]

    hq_api.patch(f"/api/hq/v1/categories/{tea['id']}", {"parent_id": str(snacks.pk)})
    assert _names(api, store, category=drinks.pk, sort="new") == ["矿泉水"]
    assert _names(api, store, category=snacks.pk, sort="new") == ["乌龙茶"]


def test_like_wildcards_in_filters_match_literally(api, store, dairy, make_product):
    make_product(dairy, "牛奶", tags=["热卖"], brand="蒙牛")
    make_product(dairy, "百分百果汁", tags=["100%"], brand="果_园")
    assert _names(api, store, tags="%") == []
    assert _names(api, store, tags="100%") == ["百分百果汁"]
    assert _names(api, store, tags="热%") == []
    assert _names(api, store, brand="果%园") == []
    assert _names(api, store, brand="果_园") == ["百分百果汁"]
    assert _names(api, store, q="%") == []


def test_searches_and_free_text_filters_are_not_cached(
    api, store, dairy, make_product, django_assert_num_queries
):
    make_product(dairy, "牛奶", brand="蒙牛")
    for params in ({"q": "牛奶"}, {"brand": "蒙牛"}, {"tags": "热卖"}, {"price_min": 0}):
        _list(api, store, **params)
        with django_assert_num_queries(1):  # the page again (the store is remembered)
            _list(api, store, **params)


def test_only_canonical_browsing_queries_are_cached(
    api, store, dairy, make_product, django_assert_num_queries
):
    make_product(dairy, "牛奶")
    for params in ({"limit": "020"}, {"category": f"0{dairy.pk}"}, {"limit": 20, "utm": "ad"}):
        assert _names(api, store, **params) == ["牛奶"]
        with django_assert_num_queries(1):  # parsed and read again
            assert _names(api, store, **params) == ["牛奶"]
    assert _names(api, store, limit=20, sort="sales", category=dairy.pk) == ["牛奶"]
    with django_assert_num_queries(0):
        assert _names(api, store, limit=20, sort="sales", category=dairy.pk) == ["牛奶"]


def test_list_query_parameters_are_documented(api, db):
    operation = api.get("/api/v1/openapi.json").json()["paths"]["/api/v1/stores/{store_id}/products"]["get"]
    assert [(p["in"], p["name"]) for p in operation["parameters"]] == [
        ("path", "store_id"),
        *[
            ("query", name)
            for name in (
                "category",
                "q",
                "barcode",
                "sort",
                "price_min",
                "price_max",
                "brand",
                "tags",
                "limit",
                "cursor",
            )
        ],
    ]
