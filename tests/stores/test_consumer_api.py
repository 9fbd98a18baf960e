"""Consumer store finder: GET /api/v1/stores and GET /api/v1/stores/{id}."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from mendian.core.geo import haversine_m, wgs84_to_gcj02
from mendian.stores.models import SpecialDay, StorePhoto, StoreStatus
from tests.factories import MerchantFactory, StoreFactory
from tests.stores.conftest import CLOSED_ALL_WEEK, ORIGIN_LAT, ORIGIN_LNG, north_of_origin

pytestmark = pytest.mark.django_db
URL = "/api/v1/stores"
NEAR = {"lat": ORIGIN_LAT, "lng": ORIGIN_LNG}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


class TestNearest:
    def test_sorted_by_distance_with_exact_metres(self, api, store_at):
        store_at(3000, name="三公里店")
        store_at(1000, name="一公里店")
        store_at(8000, name="八公里店")
        body = api.get(URL, NEAR).json()
        assert [(i["name"], i["distance_m"]) for i in body["items"]] == [
            ("一公里店", 1000),
            ("三公里店", 3000),
            ("八公里店", 8000),
        ]
        assert body["next_cursor"] is None

    def test_item_carries_the_contract_fields_and_ours(self, api, merchant, store_at):
        store = store_at(
            1200,
            code="gg001",
            name="光谷店",
            address="珞喻路1号",
            phone="027-87654321",
            district="洪山区",
            delivery_enabled=True,
            hours=[(day, dt.time(0), dt.time(0)) for day in range(7)],
        )
        [item] = api.get(URL, NEAR).json()["items"]
        assert item == {
            "id": str(store.pk),
            "code": "gg001",
            "name": "光谷店",
            "merchant": {"code": "acme", "name": "极客便利"},
            "address": "珞喻路1号",
            "city": "武汉市",
            "district": "洪山区",
            "lat": store.lat,
            "lng": ORIGIN_LNG,
            "distance_m": 1200,
            "status": "open",
            "is_open": True,
            "next_change_at": None,
            "today_hours": [{"open": "00:00", "close": "00:00"}],
            "opening_hours": [{"weekday": day, "open": "00:00", "close": "00:00"} for day in range(7)],
            "pickup_enabled": True,
            "delivery_enabled": True,
            "phone": "027-87654321",
            "navigation": item["navigation"],
        }

    def test_navigation_links_are_url_encoded_gcj02_markers(self, api, store_at):
        store_at(500, name="江汉路店 & 二号", address="江汉路 8号;2楼")
        navigation = api.get(URL, NEAR).json()["items"][0]["navigation"]
        lat = f"{north_of_origin(500):.6f}"
        assert navigation["tencent"] == (
            f"https://apis.map.qq.com/uri/v1/marker?marker=coord:{lat},114.286500;"
            "title:%E6%B1%9F%E6%B1%89%E8%B7%AF%E5%BA%97%20%26%20%E4%BA%8C%E5%8F%B7;"
            "addr:%E6%B1%9F%E6%B1%89%E8%B7%AF%208%E5%8F%B7%3B2%E6%A5%BC&referer=mendian"
        )
        amap = urlsplit(navigation["amap"])
        assert (amap.scheme, amap.netloc, amap.path) == ("https", "uri.amap.com", "/marker")
        assert parse_qs(amap.query) == {
            "position": [f"114.286500,{lat}"],
            "name": ["江汉路店 & 二号"],
            "src": ["mendian"],
            "coordinate": ["gaode"],
            "callnative": ["1"],
        }

    def test_default_radius_is_50_km(self, api, store_at):
        store_at(49_000, name="近")
        store_at(51_000, name="远")
        assert names(api.get(URL, NEAR)) == ["近"]
        assert names(api.get(URL, {**NEAR, "radius_km": 60})) == ["近", "远"]

    def test_radius_filter_is_exact_not_the_box(self, api, merchant):
        # North-east corner of a 5 km box is ~7 km away: inside the box, outside the circle.
        corner = StoreFactory(
            merchant=merchant, name="角落", lat=north_of_origin(4500), lng=ORIGIN_LNG + 0.05
        )
        assert haversine_m(ORIGIN_LAT, ORIGIN_LNG, corner.lat, corner.lng) > 5000
        assert names(api.get(URL, {**NEAR, "radius_km": 5})) == []
        assert names(api.get(URL, {**NEAR, "radius_km": 7})) == ["角落"]

    def test_closed_for_good_is_hidden_and_paused_is_listed_as_not_open(self, api, store_at):
        store_at(100, name="已停业", status=StoreStatus.CLOSED)
        store_at(200, name="暂停中", status=StoreStatus.PAUSED)
        store_at(300, name="营业中")
        items = api.get(URL, NEAR).json()["items"]
        assert [(i["name"], i["status"], i["is_open"]) for i in items] == [
            ("暂停中", "paused", False),
            ("营业中", "open", True),
        ]

    def test_open_now_keeps_only_stores_open_at_this_moment(self, api, store_at):
        store_at(100, name="没营业时间", hours=CLOSED_ALL_WEEK)
        store_at(200, name="暂停中", status=StoreStatus.PAUSED)
        store_at(300, name="全天")
        today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        holiday = store_at(400, name="今天休息")
        SpecialDay.objects.create(store=holiday, date=today, closed=True)
        assert names(api.get(URL, {**NEAR, "open_now": "true"})) == ["全天"]
        assert names(api.get(URL, {**NEAR, "open_now": "false"})) == [
            "没营业时间",
            "暂停中",
            "全天",
            "今天休息",
        ]

    def test_open_now_pages_through_closed_neighbours(self, api, store_at):
        for metres in range(100, 1300, 100):
            store_at(metres, name=f"关{metres}", hours=CLOSED_ALL_WEEK)
        store_at(1500, name="开A")
        store_at(1600, name="开B")
        first = api.get(URL, {**NEAR, "open_now": "true", "limit": 1}).json()
        assert [i["name"] for i in first["items"]] == ["开A"]
        second = api.get(URL, {**NEAR, "open_now": "true", "limit": 1, "cursor": first["next_cursor"]})
        assert names(second) == ["开B"]
        assert second.json()["next_cursor"] is None

    def test_service_pickup_and_delivery(self, api, store_at):
        store_at(500, name="只自提", pickup_enabled=True, delivery_enabled=False)
        store_at(600, name="都行", pickup_enabled=True, delivery_enabled=True, delivery_radius_m=3000)
        store_at(700, name="只配送", pickup_enabled=False, delivery_enabled=True, delivery_radius_m=3000)
        store_at(2000, name="送不到", pickup_enabled=False, delivery_enabled=True, delivery_radius_m=1000)
        assert names(api.get(URL, {**NEAR, "service": "pickup"})) == ["只自提", "都行"]
        assert names(api.get(URL, {**NEAR, "service": "delivery"})) == ["都行", "只配送"]

    def test_keyword_matches_name_or_address(self, api, store_at):
        store_at(500, name="江汉路店", address="江汉路8号")
        store_at(600, name="光谷店", address="珞喻路1号")
        store_at(700, name="汉口站店", address="发展大道")
        assert names(api.get(URL, {**NEAR, "q": "汉"})) == ["江汉路店", "汉口站店"]
        assert names(api.get(URL, {**NEAR, "q": "珞喻"})) == ["光谷店"]
        assert names(api.get(URL, {**NEAR, "q": "不存在"})) == []

    def test_wgs84_point_is_converted_before_measuring(self, api, merchant):
        gps_lat, gps_lng = 30.5928, 114.3055
        lat, lng = wgs84_to_gcj02(gps_lat, gps_lng)
        StoreFactory(merchant=merchant, name="黄鹤楼店", lat=lat, lng=lng)
        raw = {"lat": gps_lat, "lng": gps_lng}
        assert api.get(URL, {**raw, "coord_type": "wgs84"}).json()["items"][0]["distance_m"] == 0
        assert api.get(URL, raw).json()["items"][0]["distance_m"] > 300


class TestMerchantContext:
    @pytest.fixture
    def two_brands(self, store_at, other_merchant):
        store_at(500, name="本牌店")
        store_at(600, name="对手店", merchant=other_merchant)

    def test_without_header_every_active_merchant_is_listed(self, api, two_brands):
        items = api.get(URL, NEAR).json()["items"]
        assert [(i["name"], i["merchant"]["code"]) for i in items] == [
            ("本牌店", "acme"),
            ("对手店", "rival"),
        ]

    def test_header_narrows_to_one_merchant(self, api, two_brands):
        assert names(api.get(URL, NEAR, headers={"X-Mendian-Merchant": "rival"})) == ["对手店"]

    def test_unknown_merchant_is_404_merchant_not_found(self, api, two_brands):
        response = api.get(URL, NEAR, headers={"X-Mendian-Merchant": "nobody"})
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "merchant_not_found"

    def test_inactive_merchants_stores_are_hidden(self, api, two_brands, other_merchant):
        other_merchant.is_active = False
        other_merchant.save()
        assert names(api.get(URL, NEAR)) == ["本牌店"]
        response = api.get(URL, NEAR, headers={"X-Mendian-Merchant": "rival"})
        assert response.json()["code"] == "merchant_not_found"


class TestPagination:
    def test_cursor_walks_every_store_once_in_order(self, api, store_at):
        for metres in (500, 100, 400, 200, 300):
            store_at(metres, name=f"店{metres}")
        seen, cursor = [], None
        for _ in range(3):
            params = {**NEAR, "limit": 2, **({"cursor": cursor} if cursor else {})}
            body = api.get(URL, params).json()
            seen.append([i["name"] for i in body["items"]])
            cursor = body["next_cursor"]
        assert seen == [["店100", "店200"], ["店300", "店400"], ["店500"]]
        assert cursor is None

    def test_equal_distances_keep_a_stable_order(self, api, store_at):
        created = [store_at(1000, name=f"同距{n}") for n in range(3)]
        first = api.get(URL, {**NEAR, "limit": 2}).json()
        rest = api.get(URL, {**NEAR, "limit": 2, "cursor": first["next_cursor"]}).json()
        assert [i["id"] for i in first["items"] + rest["items"]] == [str(s.pk) for s in created]

    @pytest.mark.parametrize("cursor", ["garbage", "eyJmb28iOiAxfQ", "a" * 300])
    def test_forged_cursor_is_422(self, api, store_at, cursor):
        store_at(100)
        response = api.get(URL, {**NEAR, "cursor": cursor})
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_cursor"


class TestBadInput:
    @pytest.mark.parametrize(
        "params",
        [
            {"lat": "abc", "lng": 114.3},
            {"lat": 91, "lng": 114.3},
            {"lat": -90.0001, "lng": 114.3},
            {"lat": 30.5, "lng": 181},
            {"lat": 30.5, "lng": "east"},
            {"lat": "nan", "lng": 114.3},
            {"lat": "inf", "lng": 114.3},
            {"lng": 114.3},
            {"lat": 30.5},
            {**NEAR, "radius_km": 0},
            {**NEAR, "radius_km": -1},
            {**NEAR, "radius_km": 1000},
            {**NEAR, "radius_km": "far"},
            {**NEAR, "limit": 0},
            {**NEAR, "limit": 101},
            {**NEAR, "limit": "ten"},
            {**NEAR, "service": "teleport"},
            {**NEAR, "coord_type": "bd09"},
            {**NEAR, "open_now": "perhaps"},
            {**NEAR, "q": "x" * 51},
        ],
    )
    def test_is_422_validation_error(self, api, db, params):
        response = api.get(URL, params)
        assert response.status_code == 422, params
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "validation_error"
        assert body["errors"]

    def test_edges_of_the_valid_ranges_are_accepted(self, api, db):
        for params in ({"lat": 90, "lng": 180}, {"lat": -90, "lng": -180}, {**NEAR, "radius_km": 500}):
            assert api.get(URL, params).status_code == 200, params


class TestQueryCount:
    def test_list_costs_the_same_queries_for_2_or_12_stores(self, api, store_at, django_assert_num_queries):
        store_at(100)
        store_at(200)
        # The page ranked and read in one statement, its merchant, its hours and special days.
        with django_assert_num_queries(3):
            assert len(api.get(URL, NEAR).json()["items"]) == 2
        for metres in range(300, 1300, 100):
            store = store_at(metres, hours=[(d, dt.time(9), dt.time(21)) for d in range(7)])
            SpecialDay.objects.create(store=store, date=dt.date.today(), closed=True)  # noqa: DTZ011
        with django_assert_num_queries(3):
            assert len(api.get(URL, NEAR).json()["items"]) == 12

    def test_a_dense_city_costs_the_same_queries(self, api, store_at, django_assert_num_queries):
        for metres in range(50, 3050, 100):
            store_at(metres)
        with django_assert_num_queries(3):
            body = api.get(URL, {**NEAR, "radius_km": 20}).json()
        assert [item["distance_m"] for item in body["items"]] == list(range(50, 2050, 100))
        assert body["next_cursor"] is not None

    def test_merchant_header_costs_no_more_queries_and_keeps_to_that_merchant(
        self, api, store_at, other_merchant, django_assert_num_queries
    ):
        ours = store_at(100, name="江汉路店")
        store_at(50, merchant=other_merchant, name="别家店")
        with django_assert_num_queries(3):
            found = names(api.get(URL, NEAR, headers={"X-Mendian-Merchant": ours.merchant.code}))
        assert found == ["江汉路店"]

    def test_open_now_with_a_full_page_in_the_first_chunk(self, api, store_at, django_assert_num_queries):
        for metres in range(100, 2100, 100):
            store_at(metres)
        with django_assert_num_queries(4):
            assert len(api.get(URL, {**NEAR, "open_now": "true"}).json()["items"]) == 20


class TestDetail:
    def test_detail_has_delivery_terms_special_days_and_photos(self, api, merchant):
        store = StoreFactory(
            merchant=merchant,
            name="江汉路店",
            intro="24小时营业",
            delivery_enabled=True,
            delivery_radius_m=3000,
            delivery_fee=500,
            delivery_free_over=3900,
            delivery_min_order=2000,
            pickup_prep_minutes=10,
        )
        today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        SpecialDay.objects.create(store=store, date=today - dt.timedelta(days=3), closed=True, note="过去")
        SpecialDay.objects.create(
            store=store, date=today + dt.timedelta(days=5), opens=dt.time(10), closes=dt.time(2), note="延长"
        )
        StorePhoto.objects.create(store=store, image="stores/a.webp", thumbnail="stores/a_t.webp")
        response = api.get(f"{URL}/{store.pk}")
        assert response.status_code == 200
        body = response.json()
        assert body["delivery"] == {
            "radius_m": 3000,
            "fee": {"amount": 500, "currency": "CNY"},
            "free_over": {"amount": 3900, "currency": "CNY"},
            "min_order": {"amount": 2000, "currency": "CNY"},
        }
        assert body["special_days"] == [
            {
                "date": (today + dt.timedelta(days=5)).isoformat(),
                "closed": False,
                "open": "10:00",
                "close": "02:00",
                "note": "延长",
            }
        ]
        assert body["photos"] == [
            {
                "id": str(store.photos.get().pk),
                "url": "http://testserver/media/stores/a.webp",
                "thumbnail_url": "http://testserver/media/stores/a_t.webp",
            }
        ]
        assert (body["id"], body["intro"], body["pickup_prep_minutes"], body["timezone"]) == (
            str(store.pk),
            "24小时营业",
            10,
            "Asia/Shanghai",
        )
        assert body["is_open"] is True and body["distance_m"] is None

    def test_free_over_null_means_never_free(self, api, store):
        assert api.get(f"{URL}/{store.pk}").json()["delivery"]["free_over"] is None

    def test_distance_when_the_customer_gives_a_point(self, api, store_at):
        store = store_at(2500)
        assert api.get(f"{URL}/{store.pk}", NEAR).json()["distance_m"] == 2500
        response = api.get(f"{URL}/{store.pk}", {"lat": ORIGIN_LAT})
        assert response.status_code == 422

    @pytest.mark.parametrize("store_id", ["abc", "0", "-1", "1.5", "99999999", "9" * 30, "١٢"])
    def test_unknown_or_non_numeric_id_is_404(self, api, store, store_id):
        response = api.get(f"{URL}/{store_id}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_closed_for_good_and_other_merchants_store_are_404(self, api, store, other_merchant):
        closed = StoreFactory(merchant=store.merchant, status=StoreStatus.CLOSED)
        rival = StoreFactory(merchant=other_merchant)
        assert api.get(f"{URL}/{closed.pk}").status_code == 404
        response = api.get(f"{URL}/{rival.pk}", headers={"X-Mendian-Merchant": "acme"})
        assert response.status_code == 404
        assert api.get(f"{URL}/{rival.pk}").status_code == 200

    def test_paused_store_is_shown_as_not_open(self, api, store):
        store.status = StoreStatus.PAUSED
        store.save()
        body = api.get(f"{URL}/{store.pk}").json()
        assert (body["status"], body["is_open"]) == ("paused", False)

    def test_detail_query_count(self, api, store, django_assert_num_queries):
        # store + merchant, hours, special days, photos
        with django_assert_num_queries(4):
            assert api.get(f"{URL}/{store.pk}").status_code == 200


def test_merchant_display_name_prefers_the_brand(api, store_at):
    MerchantFactory(code="brandy", name="某某贸易有限公司", brand_name="小店")
    store_at(100, merchant=MerchantFactory(code="brandy"))
    assert api.get(URL, NEAR).json()["items"][0]["merchant"] == {"code": "brandy", "name": "小店"}
