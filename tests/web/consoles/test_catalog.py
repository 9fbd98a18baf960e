"""HQ catalog: the category tree, products with variants and photos, and one store's listings/prices."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mendian.catalog.barcodes import ean13_complete
from mendian.catalog.models import Category, Product, ProductImage, Sku, StoreListing, StorePrice
from mendian.catalog.selectors import store_products
from tests.web.consoles.conftest import make_product, png_bytes

GOOD_EAN = ean13_complete("690123456789")
BAD_EAN = GOOD_EAN[:-1] + str((int(GOOD_EAN[-1]) + 1) % 10)


# --- categories ---------------------------------------------------------------------------------------
def test_category_tree_shows_nesting_and_counts(hq, catalog):
    response = hq.get("/hq/categories/")

    body = response.content.decode()
    assert body.index("饮料") < body.index("茶饮") < body.index("零食")
    assert "padding-left: 20px" in body  # 茶饮 sits under 饮料


def test_create_rename_move_and_delete_a_category(hq, merchant, catalog):
    created = hq.post("/hq/categories/new/", {"name": "日用品", "parent": "", "icon": "🧻", "position": "3"})
    assert created.status_code == 302
    daily = Category.objects.get(merchant=merchant, name="日用品")
    assert (daily.parent_id, daily.icon, daily.position) == (None, "🧻", 3)

    renamed = hq.post(
        f"/hq/categories/{daily.pk}/",
        {
            "edit-name": "家居日用",
            "edit-parent": str(catalog["snacks"].pk),
            "edit-icon": "",
            "edit-position": "1",
        },
    )
    assert renamed.status_code == 302
    daily.refresh_from_db()
    assert (daily.name, daily.parent_id) == ("家居日用", catalog["snacks"].pk)

    deleted = hq.post(f"/hq/categories/{daily.pk}/delete/")
    assert deleted.status_code == 302
    assert not Category.objects.filter(pk=daily.pk).exists()


def test_deleting_a_category_with_products_says_why(hq, catalog):
    response = hq.post(f"/hq/categories/{catalog['drinks'].pk}/delete/", follow=True)

    assert "该分类下还有子分类或商品" in response.content.decode()
    assert Category.objects.filter(pk=catalog["drinks"].pk).exists()


def test_duplicate_category_name_is_a_field_error(hq, catalog):
    response = hq.post("/hq/categories/new/", {"name": "饮料", "parent": "", "position": "0"})

    body = response.content.decode()
    assert "同一级下已有同名分类" in body and 'id="id_name_errors"' in body


def test_a_category_cannot_move_under_its_own_child(hq, catalog):
    # The form offers no such parent; a forged one is refused as not a valid choice.
    response = hq.post(
        f"/hq/categories/{catalog['drinks'].pk}/",
        {"edit-name": "饮料", "edit-parent": str(catalog["tea"].pk), "edit-position": "0"},
    )

    assert response.status_code == 200
    assert 'id="id_edit-parent_errors"' in response.content.decode()
    assert Category.objects.get(pk=catalog["drinks"].pk).parent_id is None


def test_platform_admin_picks_a_merchant_for_categories(platform, merchant, catalog):
    body = platform.get("/hq/categories/").content.decode()
    assert "请先选择一个商户" in body and "饮料" not in body

    assert "饮料" in platform.get("/hq/categories/", {"merchant": merchant.pk}).content.decode()


# --- products -----------------------------------------------------------------------------------------
def _product_post(category_obj, **overrides):
    data = {
        "name": "冰红茶",
        "category": str(category_obj.pk),
        "subtitle": "",
        "brand": "康师傅",
        "tags": "新品，热卖",
        "description": "清爽",
        "is_active": "on",
        "spec_1": "规格",
        "spec_2": "温度",
        "spec_3": "",
        "v-TOTAL_FORMS": "2",
        "v-INITIAL_FORMS": "0",
        "v-MIN_NUM_FORMS": "1",
        "v-MAX_NUM_FORMS": "100",
        "v-0-sku_id": "",
        "v-0-value_1": "500ml",
        "v-0-value_2": "冰",
        "v-0-sku_code": "TEA-500",
        "v-0-barcode": GOOD_EAN,
        "v-0-price": "3.50",
        "v-1-sku_id": "",
        "v-1-value_1": "1L",
        "v-1-value_2": "常温",
        "v-1-sku_code": "TEA-1000",
        "v-1-barcode": "",
        "v-1-price": "6",
    }
    data.update(overrides)
    return data


def test_product_list_shows_thumbnails_prices_and_filters(hq, catalog, merchant):
    make_product(merchant, catalog["tea"], "龙井", sku_code="LJ-1", price=5800)

    body = hq.get("/hq/products/").content.decode()
    assert "矿泉水" in body and "薯片" in body and "¥58.00" in body

    by_category = hq.get("/hq/products/", {"category": catalog["drinks"].pk}).content.decode()
    assert "龙井" in by_category and "矿泉水" in by_category and "薯片" not in by_category

    by_search = hq.get("/hq/products/", {"q": "薯片"}).content.decode()
    assert "薯片" in by_search and "矿泉水" not in by_search


def test_product_list_pages_with_a_cursor(hq, catalog, merchant):
    for n in range(22):
        make_product(merchant, catalog["snacks"], f"饼干{n:02d}", sku_code=f"B-{n}")

    first = hq.get("/hq/products/")
    body = first.content.decode()
    assert "饼干21" in body and "饼干02" in body and "饼干01" not in body
    next_url = first.context["pages"]["next_url"]
    second = hq.get("/hq/products/" + next_url).content.decode()
    assert "饼干01" in second and "矿泉水" in second and "饼干02" not in second


def test_create_a_product_with_variants_and_images(hq, merchant, catalog, store):
    data = _product_post(catalog["tea"])
    data["images"] = [
        SimpleUploadedFile("front.png", png_bytes(), content_type="image/png"),
        SimpleUploadedFile("back.png", png_bytes((10, 200, 10)), content_type="image/png"),
    ]

    response = hq.post("/hq/products/new/", data)

    product = Product.objects.get(merchant=merchant, name="冰红茶")
    assert response.status_code == 302 and response["Location"] == f"/hq/products/{product.pk}/"
    assert (product.brand, product.tags, product.min_price, product.category_id) == (
        "康师傅",
        ["新品", "热卖"],
        350,
        catalog["tea"].pk,
    )
    skus = list(Sku.objects.filter(product=product).order_by("position"))
    assert [(s.sku_code, s.barcode, s.specs, s.price) for s in skus] == [
        ("TEA-500", GOOD_EAN, {"规格": "500ml", "温度": "冰"}, 350),
        ("TEA-1000", None, {"规格": "1L", "温度": "常温"}, 600),
    ]
    assert ProductImage.objects.filter(product=product).count() == 2
    # Sold at every store at its base price at once.
    listed = store_products(store=store, q="冰红茶")["items"]
    assert [item["name"] for item in listed] == ["冰红茶"]
    assert listed[0]["price_from"]["amount"] == 350
    assert listed[0]["thumbnail"]


def test_invalid_barcode_is_shown_on_its_row(hq, catalog):
    response = hq.post("/hq/products/new/", _product_post(catalog["tea"], **{"v-0-barcode": BAD_EAN}))

    assert response.status_code == 200
    assert "条形码无效" in response.content.decode()
    assert not Product.objects.filter(name="冰红茶").exists()


def test_sku_code_of_another_product_is_refused_on_its_row(hq, catalog):
    response = hq.post("/hq/products/new/", _product_post(catalog["tea"], **{"v-1-sku_code": "W-550"}))

    body = response.content.decode()
    assert "SKU 编码已被其他商品使用" in body
    assert response.context["formset"].forms[1].errors["sku_code"]
    assert not Product.objects.filter(name="冰红茶").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"v-1-sku_code": "TEA-500"}, "SKU 编码重复"),
        ({"v-0-price": ""}, "请填写价格"),
        ({"v-0-price": "3.555"}, "金额最多两位小数"),
        ({"v-0-value_2": ""}, "请填写“温度”"),
        ({"v-1-value_1": "500ml", "v-1-value_2": "冰"}, "两个 SKU 的规格完全相同"),
        ({"spec_2": "规格"}, "规格名不能重复"),
        ({"v-0-sku_code": "坏 码"}, "SKU 编码为字母、数字"),
        ({"category": ""}, "这个字段是必填项"),
    ],
)
def test_variant_mistakes_are_explained(hq, catalog, overrides, message):
    response = hq.post("/hq/products/new/", _product_post(catalog["tea"], **overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Product.objects.filter(name="冰红茶").exists()


def test_a_product_needs_a_variant(hq, catalog):
    data = _product_post(catalog["tea"], **{"v-TOTAL_FORMS": "1"})
    for key in ("v-0-value_1", "v-0-value_2", "v-0-sku_code", "v-0-barcode", "v-0-price"):
        data[key] = ""

    response = hq.post("/hq/products/new/", data)

    assert "商品至少需要一个 SKU" in response.content.decode()


def test_a_bad_image_rolls_the_whole_product_back(hq, catalog):
    data = _product_post(catalog["tea"])
    data["images"] = [SimpleUploadedFile("x.png", b"not an image", content_type="image/png")]

    response = hq.post("/hq/products/new/", data)

    assert response.status_code == 200
    assert "文件不是可用的图片" in response.content.decode()
    assert not Product.objects.filter(name="冰红茶").exists()
    assert not Sku.objects.filter(sku_code="TEA-500").exists()


def test_edit_product_variants_adds_changes_and_retires(hq, catalog):
    water = catalog["water"]
    sku = water.variants.get()
    page = hq.get(f"/hq/products/{water.pk}/").content.decode()
    assert 'value="W-550"' in page and 'value="2.00"' in page

    data = {
        "name": "矿泉水 550ml",
        "category": str(catalog["drinks"].pk),
        "brand": "",
        "subtitle": "",
        "tags": "",
        "description": "",
        "is_active": "on",
        "spec_1": "规格",
        "spec_2": "",
        "spec_3": "",
        "v-TOTAL_FORMS": "2",
        "v-INITIAL_FORMS": "1",
        "v-MIN_NUM_FORMS": "1",
        "v-MAX_NUM_FORMS": "100",
        "v-0-sku_id": str(sku.pk),
        "v-0-value_1": "550ml",
        "v-0-sku_code": "W-550",
        "v-0-barcode": "",
        "v-0-price": "2.50",
        "v-1-sku_id": "",
        "v-1-value_1": "1.5L",
        "v-1-sku_code": "W-1500",
        "v-1-barcode": "",
        "v-1-price": "4",
    }
    assert hq.post(f"/hq/products/{water.pk}/", data).status_code == 302
    water.refresh_from_db()
    assert water.name == "矿泉水 550ml" and water.min_price == 250
    assert sorted(Sku.objects.filter(product=water, is_active=True).values_list("sku_code", "price")) == [
        ("W-1500", 400),
        ("W-550", 250),
    ]

    # Leaving a row out retires that SKU (orders keep pointing at it).
    data.update({"v-TOTAL_FORMS": "2", "v-0-value_1": "", "v-0-sku_code": "", "v-0-price": ""})
    assert hq.post(f"/hq/products/{water.pk}/", data).status_code == 302
    assert list(Sku.objects.filter(product=water, is_active=True).values_list("sku_code", flat=True)) == [
        "W-1500"
    ]
    assert Sku.objects.get(sku_code="W-550").is_active is False


def test_images_are_uploaded_to_and_deleted_from_a_product(hq, catalog):
    water = catalog["water"]
    upload = [SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")]

    response = hq.post(f"/hq/products/{water.pk}/images/", {"images": upload})

    assert response.status_code == 302
    image = ProductImage.objects.get(product=water)
    page = hq.get(f"/hq/products/{water.pk}/").content.decode()
    assert image.thumbnail.url in page and "主图" in page

    hq.post(f"/hq/products/{water.pk}/images/{image.pk}/delete/")
    assert not ProductImage.objects.filter(product=water).exists()


def test_a_bad_image_upload_says_why(hq, catalog):
    upload = [SimpleUploadedFile("a.png", b"text", content_type="image/png")]

    response = hq.post(f"/hq/products/{catalog['water'].pk}/images/", {"images": upload}, follow=True)

    assert "图片未上传" in response.content.decode()
    assert not ProductImage.objects.exists()


def test_another_products_image_is_not_found(hq, catalog, merchant):
    other = make_product(merchant, catalog["snacks"], "饼干", sku_code="BB-1")
    hq.post(f"/hq/products/{other.pk}/images/", {"images": [SimpleUploadedFile("a.png", png_bytes())]})
    image = ProductImage.objects.get(product=other)

    response = hq.post(f"/hq/products/{catalog['water'].pk}/images/{image.pk}/delete/")

    assert response.status_code == 404
    assert ProductImage.objects.filter(pk=image.pk).exists()


# --- per-store listings and prices ----------------------------------------------------------------------
def _listing_post(store, products, **changes):
    """The listings table as shown (every product listed, no overrides), then `changes`."""
    data = {"store": str(store.pk)}
    for product in products:
        data[f"row_{product.pk}"] = "1"
        data[f"listed_{product.pk}"] = "1"
        for sku in product.variants.all():
            data[f"price_{sku.pk}"] = ""
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_listings_page_asks_for_a_store_first(hq, store, catalog):
    body = hq.get("/hq/listings/").content.decode()

    assert "选择一家门店" in body and store.name in body and "矿泉水" not in body


def test_store_price_and_listing_changes_reach_the_storefront(hq, store, other_store, catalog):
    water, chips = catalog["water"], catalog["chips"]
    water_sku = water.variants.get()
    page = hq.get("/hq/listings/", {"store": store.pk}).content.decode()
    assert f'name="price_{water_sku.pk}"' in page and 'placeholder="2.00"' in page

    response = hq.post(
        f"/hq/listings/?store={store.pk}",
        _listing_post(store, [water, chips], **{f"price_{water_sku.pk}": "1.80", f"listed_{chips.pk}": None}),
    )

    assert response.status_code == 302
    here = {item["name"]: item for item in store_products(store=store)["items"]}
    assert set(here) == {"矿泉水"}
    assert here["矿泉水"]["price_from"]["amount"] == 180
    # The other store keeps the base price and the whole catalog.
    there = {item["name"]: item for item in store_products(store=other_store)["items"]}
    assert set(there) == {"矿泉水", "薯片"}
    assert there["矿泉水"]["price_from"]["amount"] == 200

    # Blank again: back to the base price; and the product goes back on sale.
    hq.post(
        f"/hq/listings/?store={store.pk}",
        _listing_post(store, [water, chips], **{f"price_{water_sku.pk}": "", f"listed_{chips.pk}": "1"})
        | {f"listed_{chips.pk}": "1"},
    )
    assert not StorePrice.objects.filter(store=store).exists()
    here = {item["name"]: item for item in store_products(store=store)["items"]}
    assert set(here) == {"矿泉水", "薯片"} and here["矿泉水"]["price_from"]["amount"] == 200


def test_only_changed_rows_are_saved(hq, store, catalog):
    water, chips = catalog["water"], catalog["chips"]

    response = hq.post(f"/hq/listings/?store={store.pk}", _listing_post(store, [water, chips]), follow=True)

    assert "没有需要保存的变更" in response.content.decode()
    assert not StorePrice.objects.exists() and not StoreListing.objects.exists()


def test_products_not_on_the_submitted_page_are_left_alone(hq, store, catalog):
    # The form was rendered before 薯片 existed: its absence must not delist it.
    water = catalog["water"]

    hq.post(f"/hq/listings/?store={store.pk}", _listing_post(store, [water]))

    assert not StoreListing.objects.exists()


def test_a_bad_store_price_is_shown_and_nothing_is_saved(hq, store, catalog):
    water, chips = catalog["water"], catalog["chips"]
    water_sku, chips_sku = water.variants.get(), chips.variants.get()

    response = hq.post(
        f"/hq/listings/?store={store.pk}",
        _listing_post(
            store,
            [water, chips],
            **{f"price_{water_sku.pk}": "abc", f"price_{chips_sku.pk}": "5.00", f"listed_{chips.pk}": None},
        ),
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "请输入金额" in body and 'value="abc"' in body
    assert not StorePrice.objects.exists() and not StoreListing.objects.exists()


def test_typing_the_base_price_is_not_an_override(hq, store, catalog):
    water = catalog["water"]
    sku = water.variants.get()

    hq.post(f"/hq/listings/?store={store.pk}", _listing_post(store, [water], **{f"price_{sku.pk}": "2.00"}))

    assert not StorePrice.objects.exists()
