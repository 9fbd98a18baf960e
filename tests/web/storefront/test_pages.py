"""Categories, search and cart: each at the current store, or a clear way to choose one."""

import re

import pytest
from django.test import Client

from tests.web.storefront.conftest import text_of

pytestmark = pytest.mark.django_db


def product_names(html: str) -> list[str]:
    return re.findall(r'<div class="name clamp-2">([^<]+)</div>', html)


@pytest.mark.parametrize("path", ["/categories/", "/search/?q=牛奶"])
def test_without_a_store_the_customer_is_asked_to_choose_one(chain, path):
    response = Client().get(path)

    html = text_of(response)
    assert response.status_code == 200
    assert "请先选择一家门店" in html
    assert '<a class="btn btn-primary" href="/">去选择门店</a>' in html


def test_categories_rail_subcategories_and_products(shopper, chain):
    response = shopper.get("/categories/")

    html = text_of(response)
    assert response.status_code == 200
    assert re.findall(r'<a href="\?c=\d+" class="[^"]*"[^>]*>([^<]+)</a>', html) == ["饮料", "零食", "服饰"]
    assert "江汉路店" in html and "切换门店" in html
    assert "🥛</span>牛奶" in html and "☕</span>咖啡" in html
    assert sorted(product_names(html)) == ["现磨美式咖啡", "蒙牛纯牛奶 250ml×12盒"]

    drinks, coffee = chain.categories["drinks"], chain.categories["coffee"]
    html = text_of(shopper.get("/categories/", {"c": drinks.pk, "sub": coffee.pk}))
    assert product_names(html) == ["现磨美式咖啡"]
    assert "<h2>咖啡</h2>" in html

    html = text_of(shopper.get("/categories/", {"c": chain.categories["clothes"].pk}))
    assert product_names(html) == ["纯棉T恤"]


@pytest.mark.parametrize(
    "params",
    [{"c": "abc"}, {"c": "999999"}, {"c": "{drinks}", "sub": "{snacks}"}, {"c": "{bread}"}],
)
def test_categories_unknown_ids_are_friendly_404s(shopper, chain, params):
    ids = {key: value.pk for key, value in chain.categories.items()}
    response = shopper.get("/categories/", {k: v.format(**ids) for k, v in params.items()})

    assert response.status_code == 404
    assert "没有找到" in text_of(response)


def test_categories_queries_are_bounded(shopper, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert shopper.get("/categories/").status_code == 200


def test_search_finds_chinese_words_and_barcodes(shopper):
    html = text_of(shopper.get("/search/", {"q": "纯牛奶"}))
    assert product_names(html) == ["蒙牛纯牛奶 250ml×12盒"]
    assert "“纯牛奶”的搜索结果" in html

    html = text_of(shopper.get("/search/", {"q": "蒙牛 牛奶"}))
    assert product_names(html) == ["蒙牛纯牛奶 250ml×12盒"]

    html = text_of(shopper.get("/search/", {"q": "6923644223458"}))
    assert product_names(html) == ["蒙牛纯牛奶 250ml×12盒"]


def test_empty_search_suggests_hot_words(shopper):
    html = text_of(shopper.get("/search/"))

    assert "大家都在搜" in html
    words = re.findall(r'<a class="chip" href="\?q=[^"]+">([^<]+)</a>', html)
    assert words[:2] == ["热卖", "现做"] or set(words[:2]) == {"热卖", "现做"}
    assert "饮料" in words


def test_search_without_results_says_so_and_suggests(shopper):
    html = text_of(shopper.get("/search/", {"q": "榴莲"}))

    assert "本店没有找到“榴莲”" in html
    assert "大家都在搜" in html


def test_search_queries_are_bounded(shopper, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        assert shopper.get("/search/", {"q": "牛奶"}).status_code == 200


def test_cart_is_an_honest_empty_state_linking_to_the_store(shopper, chain):
    html = text_of(shopper.get("/cart/"))

    assert "购物车还是空的" in html
    assert f'href="/stores/{chain.stores["jianghan"].pk}/">去逛逛</a>' in html


def test_cart_without_a_store_links_home(chain):
    html = text_of(Client().get("/cart/"))

    assert '<a class="btn btn-primary" href="/">去逛逛</a>' in html


def test_tab_bar_marks_the_current_tab(shopper):
    html = text_of(shopper.get("/categories/"))

    assert 'href="/categories/" class="active" aria-current="page"' in html
