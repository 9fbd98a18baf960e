"""The store page: header, services, the shelves with categories, search, sorting and paging."""

import re

import pytest
from django.test import Client

from tests.web.storefront.conftest import make_category, make_product, text_of

pytestmark = pytest.mark.django_db


def product_names(html: str) -> list[str]:
    return re.findall(r'<div class="name clamp-2">([^<]+)</div>', html)


def url(store) -> str:
    return f"/stores/{store.pk}/"


def test_header_tells_hours_status_contact_and_navigation(chain):
    store = chain.stores["jianghan"]

    response = Client().get(url(store))

    html = text_of(response)
    assert response.status_code == 200
    assert '<h1 id="store-name">江汉路店</h1>' in html
    assert "营业中 · 21:00 打烊" in html
    assert "07:00–21:00" in html
    assert '<a class="tel" href="tel:027-85551234">027-85551234</a>' in html
    assert "https://apis.map.qq.com/uri/v1/marker?marker=coord:30.580100,114.286500" in html
    assert "https://uri.amap.com/marker?position=114.286500,30.580100" in html
    assert "步行街旁的便利店" in html


def test_services_show_pickup_and_delivery_terms(chain):
    html = text_of(Client().get(url(chain.stores["jianghan"])))

    assert "下单后约 15 分钟可取" in html
    assert "配送范围 3.0km" in html
    assert "配送费 ¥5.00" in html
    assert "满 ¥39.00 免配送费" in html
    assert "¥20.00 起送" in html

    html = text_of(Client().get(url(chain.stores["wangjiadun"])))
    assert '外卖配送</b> · <span class="muted">暂不支持' in html


def test_distance_is_shown_when_the_customer_was_located(chain):
    client = Client()
    client.get("/", {"lat": "30.5801", "lng": "114.2965"})  # 1 km east of 江汉路店, GCJ-02

    html = text_of(client.get(url(chain.stores["jianghan"])))

    assert "距您 957m" in html


def test_products_show_price_and_honest_stock(chain):
    html = text_of(Client().get(url(chain.stores["jianghan"])))

    assert "蒙牛纯牛奶 250ml×12盒" in html
    assert '<span class="cur">¥</span>49<span class="dec">.90</span>' in html
    assert html.count("暂无库存") >= 4
    assert "toast" not in html and "全麦吐司" not in html  # the other brand's shelves
    assert f'href="/stores/{chain.stores["jianghan"].pk}/products/{chain.products["milk"].pk}/"' in html


def test_opening_a_store_remembers_it(chain):
    store = chain.stores["hanjie"]

    response = Client().get(url(store))

    cookie = response.cookies["mendian_store"]
    assert cookie.value == str(store.pk)
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_category_chips_filter_including_subcategories(chain):
    store = chain.stores["jianghan"]
    drinks = chain.categories["drinks"]

    html = text_of(Client().get(url(store), {"c": drinks.pk}))

    assert sorted(product_names(html)) == ["现磨美式咖啡", "蒙牛纯牛奶 250ml×12盒"]
    assert f'class="chip active" href="/stores/{store.pk}/?c={drinks.pk}"' in html


def test_search_at_the_store_understands_chinese_and_barcodes(chain):
    store = chain.stores["jianghan"]

    assert product_names(text_of(Client().get(url(store), {"q": "纯牛奶"}))) == ["蒙牛纯牛奶 250ml×12盒"]
    assert product_names(text_of(Client().get(url(store), {"q": "6923644223458"}))) == [
        "蒙牛纯牛奶 250ml×12盒"
    ]
    html = text_of(Client().get(url(store), {"q": "榴莲"}))
    assert product_names(html) == []
    assert "没有符合条件的商品" in html


def test_sort_tabs_order_by_price_both_ways(chain):
    store = chain.stores["jianghan"]

    html = text_of(Client().get(url(store), {"sort": "price"}))
    assert product_names(html) == ["乐事原味薯片", "现磨美式咖啡", "蒙牛纯牛奶 250ml×12盒", "纯棉T恤"]
    assert f'href="/stores/{store.pk}/?sort=price_desc" class="active" aria-current="true">价格↑' in html

    html = text_of(Client().get(url(store), {"sort": "price_desc"}))
    assert product_names(html)[0] == "纯棉T恤"
    assert "价格↓" in html

    html = text_of(Client().get(url(store), {"sort": "bogus"}))  # unknown: the default order
    assert 'class="active" aria-current="true">综合' in html


@pytest.fixture
def full_shelf(chain):
    snacks = make_category(chain.merchant, "卤味")
    for i in range(25):
        make_product(chain.merchant, snacks, f"周黑鸭鸭脖{i:02d}", price=1000 + i)
    return snacks


def test_load_more_pages_with_the_cursor_by_htmx_and_without(chain, full_shelf):
    store = chain.stores["jianghan"]
    client = Client()

    first = text_of(client.get(url(store), {"c": full_shelf.pk, "sort": "price"}))
    assert len(product_names(first)) == 20
    more = re.search(r'hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "cursor=" in more and f"c={full_shelf.pk}" in more

    partial = client.get(more, headers={"HX-Request": "true"})
    html = text_of(partial)
    assert "<html" not in html
    assert product_names(html) == [f"周黑鸭鸭脖{i:02d}" for i in range(20, 25)]
    assert 'id="load-more" class="load-more" hx-swap-oob="true"' in html
    assert "没有更多了" in html

    page = text_of(client.get(more))  # no JavaScript: the link is a plain next page
    assert "<html" in page and len(product_names(page)) == 5


def test_store_page_queries_do_not_grow_with_the_shelf(chain, full_shelf, django_assert_max_num_queries):
    store = chain.stores["jianghan"]
    client = Client()
    with django_assert_max_num_queries(12) as small:
        client.get(url(store), {"c": chain.categories["drinks"].pk})
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url(store), {"c": full_shelf.pk})
    assert len(product_names(text_of(response))) == 20


@pytest.mark.parametrize("store_id", ["999999", "abc", "0", "-3", "1.5", "９", "9" * 30])
def test_unknown_stores_are_a_friendly_404(chain, store_id):
    response = Client().get(f"/stores/{store_id}/")

    assert response.status_code == 404
    html = text_of(response)
    assert "没有找到" in html and "返回首页" in html


def test_a_brand_pinned_by_header_cannot_open_another_brands_store(chain):
    response = Client().get(url(chain.stores["bakery"]), headers={"X-Mendian-Merchant": "xianlin"})

    assert response.status_code == 404


def test_paused_store_opens_with_its_status(chain):
    html = text_of(Client().get(url(chain.stores["station"])))

    assert "暂停营业" in html


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"c": "abc"}, 404),
        ({"c": "999999"}, 404),
        ({"cursor": "garbage"}, 400),
        ({"q": "奶" * 80}, 200),  # trimmed to the search limit, not an error
    ],
)
def test_bad_filters_are_friendly(chain, params, status):
    response = Client().get(url(chain.stores["jianghan"]), params)

    assert response.status_code == status
    assert "text/html" in response["Content-Type"]


def test_another_brands_category_is_not_a_filter_here(chain):
    response = Client().get(url(chain.stores["jianghan"]), {"c": chain.categories["bread"].pk})

    assert response.status_code == 404


def test_special_days_say_all_day_overnight_and_closed_in_the_customers_language(chain):
    import datetime as dt

    from mendian.stores.models import SpecialDay

    store = chain.stores["jianghan"]
    SpecialDay.objects.create(
        store=store, date=dt.date(2030, 12, 31), opens=dt.time(0), closes=dt.time(0), note="跨年夜通宵"
    )
    SpecialDay.objects.create(store=store, date=dt.date(2031, 1, 1), opens=dt.time(10), closes=dt.time(2))
    SpecialDay.objects.create(store=store, date=dt.date(2031, 1, 2), closed=True, note="盘点")

    notices = re.findall(
        r"<div class=\"notice\" data-special-day>([^<]+)</div>", text_of(Client().get(url(store)))
    )
    assert notices == [
        "12月31日 24小时营业 · 跨年夜通宵",
        "1月1日 营业 10:00–次日02:00",
        "1月2日 休息 · 盘点",
    ]

    english = Client(headers={"Accept-Language": "en"}).get(url(store))
    notices = re.findall(r"<div class=\"notice\" data-special-day>([^<]+)</div>", text_of(english))
    assert notices[:2] == ["Dec 31 open 24 hours · 跨年夜通宵", "Jan 1 open 10:00–02:00 (next day)"]
