"""Product detail: gallery, price of the chosen variant, the spec selector's data, an honest buy bar."""

import json
import re

import pytest
from django.test import Client

from tests.web.storefront.conftest import text_of

pytestmark = pytest.mark.django_db


def url(store, product) -> str:
    return f"/stores/{store.pk}/products/{product.pk}/"


def variants_json(html: str) -> dict:
    block = re.search(r'<script id="variants" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


def test_product_page_shows_name_price_and_description(chain):
    response = Client().get(url(chain.stores["jianghan"], chain.products["milk"]))

    html = text_of(response)
    assert response.status_code == 200
    assert "<h1>蒙牛纯牛奶 250ml×12盒</h1>" in html
    assert "全脂灭菌乳" in html
    assert (
        '<span class="price lg" data-price><span class="cur">¥</span>49<span class="dec">.90</span></span>'
        in html
    )
    assert "优质奶源" in html
    assert "MILK12" in html
    assert "data-specs" not in html  # one variant: nothing to choose
    assert "规格：12盒" in html


def test_spec_selector_has_a_button_per_value_and_the_variants_as_json(chain):
    tee = chain.products["tee"]

    html = text_of(Client().get(url(chain.stores["jianghan"], tee)))

    assert re.findall(r'data-dim="颜色" data-value="([^"]+)"', html) == ["白色", "黑色"]
    assert re.findall(r'data-dim="尺码" data-value="([^"]+)"', html) == ["M", "L", "XL"]
    assert 'data-dim="颜色" data-value="白色" aria-pressed="true"' in html
    data = variants_json(html)
    assert [d["name"] for d in data["dimensions"]] == ["颜色", "尺码"]
    by_code = {v["sku_code"]: v for v in data["variants"]}
    assert by_code["TEE-B-XL"]["price_yuan"] == "79.00"
    assert by_code["TEE-B-XL"]["specs"] == {"颜色": "黑色", "尺码": "XL"}
    assert data["selected"] == by_code["TEE-W-M"]["sku_id"]
    assert data["text"]["no_stock"] == "暂无库存"


def test_a_variant_can_be_linked_directly(chain):
    tee = chain.products["tee"]
    black_xl = tee.variants.get(sku_code="TEE-B-XL")

    html = text_of(Client().get(url(chain.stores["jianghan"], tee), {"sku": black_xl.pk}))

    assert '<span class="cur">¥</span>79<span class="dec">.00</span>' in html
    assert 'data-dim="颜色" data-value="黑色" aria-pressed="true"' in html
    assert 'data-dim="尺码" data-value="XL" aria-pressed="true"' in html


def test_buy_bar_is_disabled_and_says_why(chain):
    html = text_of(Client().get(url(chain.stores["jianghan"], chain.products["coffee"])))

    buttons = re.findall(r"<button[^>]*>(加入购物车|立即购买)</button>", html)
    assert buttons == ["加入购物车", "立即购买"]
    for tag in re.findall(r"<button[^>]*>(?:加入购物车|立即购买)</button>", html):
        assert " disabled" in tag and 'title="暂无库存"' in tag
    assert '<p class="note" data-buy-note>暂无库存</p>' in html


def test_product_page_remembers_the_store(chain):
    store = chain.stores["wangjiadun"]

    response = Client().get(url(store, chain.products["chips"]))

    assert response.cookies["mendian_store"].value == str(store.pk)


@pytest.mark.parametrize("product_id", ["999999", "abc", "0", "1e3"])
def test_unknown_products_are_a_friendly_404(chain, product_id):
    response = Client().get(f"/stores/{chain.stores['jianghan'].pk}/products/{product_id}/")

    assert response.status_code == 404
    assert "没有找到" in text_of(response)


def test_another_brands_product_is_not_sold_here(chain):
    response = Client().get(url(chain.stores["jianghan"], chain.products["toast"]))

    assert response.status_code == 404


def test_product_page_queries_are_bounded(chain, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        response = Client().get(url(chain.stores["jianghan"], chain.products["tee"]))
    assert response.status_code == 200
