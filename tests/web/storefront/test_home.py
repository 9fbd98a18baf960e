"""Home: brand, where we are, the nearest stores, the district and keyword fallbacks."""

import re

import pytest
from django.test import Client

from mendian.core.geo import gcj02_to_wgs84
from tests.factories import StoreFactory
from tests.web.storefront.conftest import text_of

pytestmark = pytest.mark.django_db


def store_names(html: str) -> list[str]:
    """Store names in the nearest list, in page order (the current-store card is not part of it)."""
    listing = html.split("data-store-list", 1)[1] if "data-store-list" in html else ""
    return re.findall(r'<div class="name">([^<]+)</div>', listing)


def test_first_visit_lists_stores_by_distance_from_the_city_centre(chain):
    response = Client().get("/")

    html = text_of(response)
    assert response.status_code == 200
    assert "未获取定位，按武汉市中心距离排序" in html
    assert "使用我的位置" in html
    assert store_names(html) == [
        "江汉路店",
        "王家墩店",
        "楚河汉街店",
        "汉口火车站店",
        "中南路烘焙店",
        "光谷广场店",
    ]
    assert "2.3km" in html


def test_store_cards_show_open_state_in_the_stores_words(chain):
    html = text_of(Client().get("/"))

    assert "营业中 · 21:00 打烊" in html
    assert "休息中 · 13:00 营业" in html
    assert "休息中 · 明天 07:00 营业" in html
    assert "暂停营业" in html
    assert "江汉路118号" in html
    assert "外卖配送" in html and "到店自提" in html


def test_my_position_in_wgs84_puts_the_nearest_store_first_and_is_remembered(chain):
    lat, lng = gcj02_to_wgs84(30.5081, 114.3990)  # standing in 光谷广场 with a phone's GPS

    response = Client().get("/", {"lat": f"{lat:.6f}", "lng": f"{lng:.6f}", "coord_type": "wgs84"})

    html = text_of(response)
    assert response.status_code == 200
    assert store_names(html)[0] == "光谷广场店"
    assert "1m" in html or re.search(r">\d+m<", html)
    assert "您的位置附近" in html
    assert "未获取定位" not in html
    cookie = response.cookies["mendian_loc"]
    assert cookie.value.startswith("30.508")
    assert cookie["httponly"]


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "abc", "lng": "114.3"},
        {"lat": "95", "lng": "114.3"},
        {"lat": "30.5", "lng": "nan"},
        {"lat": "30.5", "lng": "114.3", "coord_type": "bd09"},
        {"lat": "30.5"},
        {"lat": "1e999", "lng": "114"},
    ],
)
def test_bad_coordinates_explain_and_fall_back_to_the_centre_list(chain, params):
    response = Client().get("/", params)

    html = text_of(response)
    assert response.status_code == 400
    assert "无法识别这个位置，已按市中心距离排序。" in html
    assert store_names(html)[0] == "江汉路店"
    assert "mendian_loc" not in response.cookies


def test_district_chips_come_from_the_stores_and_centre_on_their_average(chain):
    html = text_of(Client().get("/"))
    chips = re.findall(r'class="chip[^"]*" href="\?district=[^"]+">([^<]+)</a>', html)
    assert chips == ["武昌区", "江汉区", "江岸区", "洪山区"]

    response = Client().get("/", {"district": "洪山区"})

    html = text_of(response)
    assert store_names(html)[0] == "光谷广场店"
    assert "洪山区附近" in html
    assert 'class="chip active" href="?district=%E6%B4%AA%E5%B1%B1%E5%8C%BA"' in html


def test_geolocation_refused_offers_districts_and_search(chain):
    html = text_of(Client().get("/", {"geo": "denied"}))

    assert "没有获取到您的位置（可能未授权定位）。请选择区域，或搜索门店名称、地址。" in html
    assert "按区域查看" in html
    assert 'placeholder="搜索门店名称或地址"' in html


def test_keyword_search_finds_stores_by_name_or_address(chain):
    html = text_of(Client().get("/", {"q": "光谷"}))
    assert store_names(html) == ["光谷广场店"]

    html = text_of(Client().get("/", {"q": "建设大道"}))
    assert store_names(html) == ["王家墩店"]

    html = text_of(Client().get("/", {"q": "不存在的门店"}))
    assert store_names(html) == []
    assert "没有找到与“不存在的门店”相关的门店" in html


def test_multi_brand_mall_switches_brand_and_remembers_it(chain):
    html = text_of(Client().get("/"))
    assert "全部品牌" in html and 'href="?m=xianlin"' in html and 'href="?m=chulu"' in html
    assert '<h1 class="brand">门店商城</h1>' in html

    response = Client().get("/", {"m": "chulu"})
    html = text_of(response)
    assert store_names(html) == ["中南路烘焙店"]
    assert '<h1 class="brand">楚麓烘焙</h1>' in html
    assert response.cookies["mendian_merchant"].value == "chulu"

    client = Client()
    client.cookies["mendian_merchant"] = "xianlin"
    html = text_of(client.get("/"))
    assert "中南路烘焙店" not in store_names(html)
    assert '<h1 class="brand">鲜邻便利</h1>' in html

    response = client.get("/", {"m": ""})
    assert "中南路烘焙店" in store_names(text_of(response))
    assert response.cookies["mendian_merchant"].value == ""  # deleted


def test_unknown_brand_is_a_friendly_404(chain):
    response = Client().get("/", {"m": "nope"})

    assert response.status_code == 404
    assert "品牌不存在" in text_of(response)


def test_brand_pinned_by_header_shows_only_its_stores_and_no_switcher(chain):
    response = Client().get("/", headers={"X-Mendian-Merchant": "chulu"})

    html = text_of(response)
    assert store_names(html) == ["中南路烘焙店"]
    assert "全部品牌" not in html


def test_single_brand_deployment_shows_its_name_and_no_switcher(db, frozen_now):
    StoreFactory(name="唯一门店")  # its own single merchant

    html = text_of(Client().get("/"))

    assert store_names(html) == ["唯一门店"]
    assert "全部品牌" not in html
    assert '<h1 class="brand">品牌' in html


def test_returning_customer_sees_the_current_store(chain):
    client = Client()
    client.cookies["mendian_store"] = str(chain.stores["hanjie"].pk)

    html = text_of(client.get("/"))

    assert "当前门店" in html
    current = html.split('class="current-store"', 1)[1].split("</section>", 1)[0]
    assert "楚河汉街店" in current
    assert f'href="/stores/{chain.stores["hanjie"].pk}/"' in current


@pytest.mark.parametrize("cookie", ["999999", "abc", "-1", "1" * 40])
def test_a_stale_or_forged_store_cookie_is_ignored(chain, cookie):
    client = Client()
    client.cookies["mendian_store"] = cookie

    response = client.get("/")

    assert response.status_code == 200
    assert "当前门店" not in text_of(response)


def test_far_away_customer_gets_an_honest_empty_list(chain):
    html = text_of(Client().get("/", {"lat": "39.9042", "lng": "116.4074"}))  # Beijing

    assert store_names(html) == []
    assert "附近 50 公里内还没有门店" in html
    assert "?centre=1" in html


def test_home_queries_do_not_grow_with_the_number_of_stores(chain, django_assert_max_num_queries):
    client = Client()
    client.cookies["mendian_store"] = str(chain.stores["jianghan"].pk)
    with django_assert_max_num_queries(13) as few:
        client.get("/", {"lat": "30.58", "lng": "114.28"})
    for i in range(30):
        StoreFactory(merchant=chain.merchant, district=f"区{i % 5}", lat=30.58 + i / 1000, lng=114.28)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/", {"lat": "30.58", "lng": "114.28"})
    assert len(store_names(text_of(response))) == 20
