import pytest

from mendian.catalog import search
from mendian.catalog.models import Product
from tests.factories import CategoryFactory


def test_tokenize_segments_chinese_and_drops_punctuation():
    assert search.tokenize("蒙牛纯牛奶") == ["蒙牛", "纯牛奶"]
    assert search.tokenize("  可口可乐，零度！ 330ML ") == ["可口可乐", "零度", "330ml"]
    assert search.tokenize("，。！ ") == []
    assert search.tokenize("") == []


def test_tokenize_normalises_full_width_and_case():
    assert search.tokenize("ＣＯＣＡ 可乐") == ["coca", "可乐"]


def test_document_contains_words_sub_words_categories_and_codes(merchant):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    dairy = CategoryFactory(merchant=merchant, name="乳制品", parent=drinks)
    product = Product(
        merchant=merchant,
        category=dairy,
        name="蒙牛 纯牛奶 250ml×16",
        subtitle="整箱装",
        brand="MengNiu",
        tags=["早餐", "热卖"],
    )
    document = search.product_document(product, sku_codes=["MN-250-16"])
    words = document.split(" ")
    for word in [
        "蒙牛",
        "牛奶",
        "纯牛奶",
        "250ml",
        "整箱",
        "mengniu",
        "早餐",
        "热卖",
        "乳制品",
        "饮料",
        "mn-250-16",
    ]:
        assert word in words, word
    assert document == document.lower()
    assert words[-1] == "蒙牛纯牛奶250ml×16"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("蒙牛纯牛奶", ["蒙牛 纯牛奶 250ml×16"]),
        ("牛奶", ["蒙牛 纯牛奶 250ml×16", "伊利 舒化 无乳糖牛奶"]),
        ("伊利 牛奶", ["伊利 舒化 无乳糖牛奶"]),
        ("纯牛奶 伊利", []),
        ("乳品", ["蒙牛 纯牛奶 250ml×16", "伊利 舒化 无乳糖牛奶"]),  # the category name
        ("饮品 可乐", ["可口可乐 零度 330ml"]),  # parent category + word
        ("COKE", ["可口可乐 零度 330ml"]),  # brand, any case
        ("ｃｏｋｅ", ["可口可乐 零度 330ml"]),  # full-width
        ("330ML", ["可口可乐 零度 330ml"]),
        ("减糖", ["可口可乐 零度 330ml"]),  # a tag
        ("CK-330", ["可口可乐 零度 330ml"]),  # a SKU code
        ("榴莲", []),
    ],
)
def test_store_search_in_chinese(api, store, merchant, make_product, query, expected):
    drinks = CategoryFactory(merchant=merchant, name="饮品")
    dairy = CategoryFactory(merchant=merchant, name="乳品", parent=drinks)
    soda = CategoryFactory(merchant=merchant, name="碳酸饮料", parent=drinks)
    make_product(dairy, "蒙牛 纯牛奶 250ml×16", brand="蒙牛", sales_count=0)
    make_product(dairy, "伊利 舒化 无乳糖牛奶", brand="伊利")
    make_product(
        soda,
        "可口可乐 零度 330ml",
        brand="Coke",
        tags=["减糖"],
        variants=[{"sku_code": "CK-330", "specs": {}, "price": {"amount": 350, "currency": "CNY"}}],
    )
    response = api.get(f"/api/v1/stores/{store.pk}/products", {"q": query})
    assert response.status_code == 200
    assert sorted(item["name"] for item in response.json()["items"]) == sorted(expected)


def test_exact_sku_code_and_barcode_in_q(api, store, dairy, make_product):
    make_product(
        dairy,
        "光明 鲜牛奶",
        variants=[
            {
                "sku_code": "GM-950",
                "barcode": "6901234567892",
                "specs": {},
                "price": {"amount": 1590, "currency": "CNY"},
            }
        ],
    )
    make_product(dairy, "光明 酸奶")
    by_code = api.get(f"/api/v1/stores/{store.pk}/products", {"q": "GM-950"}).json()["items"]
    by_barcode = api.get(f"/api/v1/stores/{store.pk}/products", {"q": "6901234567892"}).json()["items"]
    assert [item["name"] for item in by_code] == ["光明 鲜牛奶"]
    assert [item["name"] for item in by_barcode] == ["光明 鲜牛奶"]


def test_relevance_puts_name_matches_before_other_matches(api, store, merchant, make_product):
    milk = CategoryFactory(merchant=merchant, name="牛奶")
    bestseller = make_product(milk, "特仑苏 250ml", sales_count=500)  # matches through its category only
    make_product(milk, "光明 牛奶 950ml", sales_count=3)
    url = f"/api/v1/stores/{store.pk}/products"
    by_relevance = [item["name"] for item in api.get(url, {"q": "牛奶"}).json()["items"]]
    by_sales = [item["name"] for item in api.get(url, {"q": "牛奶", "sort": "sales"}).json()["items"]]
    assert by_relevance == ["光明 牛奶 950ml", "特仑苏 250ml"]
    assert by_sales == ["特仑苏 250ml", "光明 牛奶 950ml"]
    assert bestseller.name not in by_relevance[:1]


def test_search_document_follows_category_renames(hq_api, api, store, merchant, make_product):
    category = CategoryFactory(merchant=merchant, name="乳品")
    make_product(category, "特仑苏")
    assert api.get(f"/api/v1/stores/{store.pk}/products", {"q": "高端奶"}).json()["items"] == []
    response = hq_api.patch(f"/api/hq/v1/categories/{category.pk}", {"name": "高端奶"})
    assert response.status_code == 200
    items = api.get(f"/api/v1/stores/{store.pk}/products", {"q": "高端奶"}).json()["items"]
    assert [item["name"] for item in items] == ["特仑苏"]


def test_too_long_query_is_422(api, store):
    response = api.get(f"/api/v1/stores/{store.pk}/products", {"q": "牛" * 51})
    assert response.status_code == 422
    assert response.json()["code"] == "query_too_long"
