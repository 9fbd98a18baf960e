"""The demo's facts and pictures, checked without a database."""

import dataclasses
import re
from collections import Counter

import pytest
from PIL import Image

from mendian.catalog.barcodes import ean13_is_valid
from mendian.core.scope import Role
from mendian.demo import data, images
from mendian.demo.seed import demo_barcode, opening_stock, plan_products, spec_label

WUHAN_DISTRICTS = {
    "江汉区", "江岸区", "硚口区", "汉阳区", "武昌区", "洪山区",
    "青山区", "东湖高新区", "蔡甸区", "江夏区", "黄陂区", "东西湖区",
}  # fmt: skip


@pytest.mark.parametrize("merchant_seed", data.MERCHANTS, ids=lambda seed: seed.code)
def test_planned_codes_are_unique_and_barcodes_are_chinese_ean13(merchant_seed):
    planned = plan_products(merchant_seed)
    variants = [variant for item in planned for variant in item.variants]

    sku_codes = [variant.sku_code for variant in variants]
    barcodes = [variant.barcode for variant in variants]
    assert len(set(sku_codes)) == len(sku_codes)
    assert len(set(barcodes)) == len(barcodes)
    assert all(re.fullmatch(rf"{merchant_seed.sku_prefix}\d{{6}}-\d{{2}}", code) for code in sku_codes)
    assert all(ean13_is_valid(barcode) and barcode.startswith("69") for barcode in barcodes)


def test_a_product_appended_to_a_category_keeps_every_other_code():
    planned = plan_products(data.FRESH)
    grown = data.MerchantSeed(
        code=data.FRESH.code,
        name=data.FRESH.name,
        brand_name=data.FRESH.brand_name,
        sku_prefix=data.FRESH.sku_prefix,
        stores=data.FRESH.stores,
        categories=data.FRESH.categories,
        products=(data.product("牛奶", "蒙牛", "新品牛奶", [("1L", 1290)]), *data.FRESH.products),
    )
    regrown = {item.seed.name: item.code for item in plan_products(grown)}

    moved = [
        item.seed.name
        for item in planned
        if item.seed.category != "牛奶" and regrown[item.seed.name] != item.code
    ]
    assert moved == []


def test_demo_barcode_has_a_correct_check_digit():
    barcode = demo_barcode("蒙牛", 2, 1, 1, 1)
    assert len(barcode) == 13 and barcode.startswith("69") and ean13_is_valid(barcode)
    assert not ean13_is_valid(barcode[:-1] + str((int(barcode[-1]) + 1) % 10))


def test_full_scale_sizes():
    fresh_skus = sum(len(seed.variants) for seed in data.FRESH.products)
    fresh_categories = sum(1 + len(root.children) for root in data.FRESH.categories)

    assert len(data.FRESH.stores) >= 30
    assert fresh_categories >= 40
    assert len(data.FRESH.products) >= 150
    assert fresh_skus >= 300
    assert len(data.BAKERY.stores) == 4
    assert len(data.BAKERY.products) >= 20


def test_stores_cover_every_district_inside_wuhan_with_valid_details():
    bounds = data.WUHAN_BOUNDS
    stores = [store for merchant_seed in data.MERCHANTS for store in merchant_seed.stores]

    assert {store.district for store in data.FRESH.stores} == WUHAN_DISTRICTS
    for store in stores:
        assert bounds["min_lat"] <= store.lat <= bounds["max_lat"], store.code
        assert bounds["min_lng"] <= store.lng <= bounds["max_lng"], store.code
        assert re.fullmatch(r"027-8\d{7}", store.phone), store.code
        assert store.hours in data.WEEKLY_HOURS
        assert 10 <= store.prep_minutes <= 20
    assert len({store.code for store in data.FRESH.stores}) == len(data.FRESH.stores)


def test_delivery_terms_are_in_the_promised_ranges():
    delivering = [store for store in data.FRESH.stores if store.delivery]

    assert 0.6 <= len(delivering) / len(data.FRESH.stores) <= 0.75
    for store in delivering:
        assert 2000 <= store.delivery.radius_m <= 5000
        assert 300 <= store.delivery.fee <= 600
        assert 3900 <= store.delivery.free_over <= 5900
        assert 1500 <= store.delivery.min_order <= 2000


def test_hours_mix_all_day_late_nights_and_mostly_seven_to_eleven():
    plans = Counter(store.hours for store in data.FRESH.stores)

    assert plans["around_the_clock"] >= 3
    assert plans["late_weekend"] >= 2
    assert plans["standard"] == max(plans.values())
    friday = dict((weekday, (opens, closes)) for weekday, opens, closes in data.WEEKLY_HOURS["late_weekend"])[
        4
    ]
    assert friday == ("08:00", "02:00")
    assert sum(store.paused for store in data.FRESH.stores) == 1
    assert data.FRESH.closed_today_store in {store.code for store in data.FRESH.stores if not store.paused}


def test_store_level_exceptions_name_real_products_stores_and_variants():
    labels = {
        (seed.name, spec_label(variant.specs)) for seed in data.FRESH.products for variant in seed.variants
    }
    names = {seed.name for seed in data.FRESH.products}
    codes = {store.code for store in data.FRESH.stores}

    for override in data.FRESH.store_prices:
        assert override.store_code in codes and (override.product_name, override.spec) in labels
    for delisting in data.FRESH.delistings:
        assert delisting.store_code in codes and delisting.product_name in names
    for extended in data.FRESH.extended_hours:
        assert extended.store_code in codes and extended.store_code != data.FRESH.closed_today_store


def test_every_role_has_a_demo_login_in_a_real_scope():
    assert {seed.role for seed in data.STAFF} == set(Role.ALL)
    stores = {
        merchant_seed.code: {s.code: s for s in merchant_seed.stores} for merchant_seed in data.MERCHANTS
    }
    for seed in data.STAFF:
        if seed.store_code:
            assert seed.store_code in stores[seed.merchant_code]
    assert stores["wuhan-fresh"]["chuhe-hanjie"].district == "武昌区"  # clerk-wc works in Wuchang
    assert len(data.DEMO_PASSWORD) >= 8


def test_every_brand_has_a_latin_name_and_every_category_a_known_shape():
    brands = {seed.brand for merchant_seed in data.MERCHANTS for seed in merchant_seed.products}
    shapes = {leaf.shape for m in data.MERCHANTS for root in m.categories for leaf in root.children}

    assert brands <= set(data.BRAND_LATIN)
    assert all(re.fullmatch(r"[A-Z0-9 &'.-]+", name) for name in data.BRAND_LATIN.values())
    assert shapes <= set(images.SHAPES)


def test_opening_stock_is_stable_and_mostly_on_the_shelf():
    variants = [variant for item in plan_products(data.FRESH) for variant in item.variants]
    quantities = [opening_stock("jianghan-lu", variant) for variant in variants]

    assert quantities == [opening_stock("jianghan-lu", variant) for variant in variants]
    assert 0 < quantities.count(0) < len(quantities) * 0.1
    assert sum(1 <= quantity <= 3 for quantity in quantities) > 0


ART = images.ProductArt(
    name="蒙牛纯牛奶",
    brand="蒙牛",
    brand_latin="MENGNIU",
    code="XL020101",
    caption="热销",
    shape="carton",
    colour="#5B9BD5",
)


@pytest.mark.parametrize("shape", sorted(images.SHAPES))
def test_every_shape_draws_an_800_pixel_square(shape):
    picture = images.draw_product_image(dataclasses.replace(ART, shape=shape))
    assert picture.size == (800, 800) and picture.mode == "RGB"
    # Not a blank canvas: the package and the text put many colours on it.
    assert len(picture.resize((100, 100)).getcolors(10_000) or []) > 50


def test_pictures_draw_without_any_font_installed(monkeypatch):
    monkeypatch.setattr(images, "cjk_font_path", lambda: None)
    monkeypatch.setattr(images, "latin_font_path", lambda: None)

    picture = images.draw_product_image(ART)

    assert isinstance(picture, Image.Image) and picture.size == (800, 800)


def test_latin_text_is_drawn_when_no_cjk_font_exists(monkeypatch):
    with_cjk = images.draw_product_image(ART)
    monkeypatch.setattr(images, "cjk_font_path", lambda: None)

    latin_only = images.draw_product_image(ART)

    assert latin_only.tobytes() != with_cjk.tobytes()
