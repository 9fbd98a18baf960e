"""HQ stores: list, create and edit through the form (hours, coordinates, money), special days, photos."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mendian.core.geo import wgs84_to_gcj02
from mendian.stores.hours import store_local_today
from mendian.stores.models import OpeningHours, SpecialDay, Store, StorePhoto, StoreStatus
from mendian.stores.selectors import store_public_get
from tests.factories import StoreFactory
from tests.web.consoles.conftest import png_bytes, store_post, week

T = dt.time


def _hours(store) -> list[tuple]:
    return list(
        OpeningHours.objects.filter(store=store)
        .order_by("weekday", "opens")
        .values_list("weekday", "opens", "closes")
    )


def test_store_list_searches_and_filters(hq, merchant, store, other_store):
    StoreFactory(merchant=merchant, code="hy005", name="钟家村店", status=StoreStatus.PAUSED)

    everything = hq.get("/hq/stores/").content.decode()
    assert "江汉路店" in everything and "武昌店" in everything and "钟家村店" in everything

    found = hq.get("/hq/stores/", {"q": "武昌"}).content.decode()
    assert "武昌店" in found and "江汉路店" not in found

    paused = hq.get("/hq/stores/", {"status": "paused"}).content.decode()
    assert "钟家村店" in paused and "武昌店" not in paused


def test_store_list_paginates(hq, merchant):
    for n in range(23):
        StoreFactory(merchant=merchant, code=f"p{n:03d}", name=f"分页店{n:02d}")

    first = hq.get("/hq/stores/").content.decode()
    second = hq.get("/hq/stores/", {"page": 2}).content.decode()

    assert "分页店00" in first and "分页店22" not in first
    assert "分页店22" in second and "第 2 / 2 页" in second


def test_create_store_with_hours_past_midnight_and_a_lunch_break(hq, merchant):
    data = store_post()
    data.update(week("18:00", "02:00"))
    data["h0-open"], data["h0-close"] = ["08:00", "14:00"], ["11:30", "20:00"]  # Monday: two spans
    data["h5-mode"] = "allday"  # Saturday
    data["h6-mode"] = "closed"  # Sunday

    response = hq.post("/hq/stores/new/", data)

    store = Store.objects.get(merchant=merchant, code="gg009")
    assert response.status_code == 302 and response["Location"] == f"/hq/stores/{store.pk}/"
    assert (store.name, store.district, store.lat, store.lng) == ("光谷新店", "洪山区", 30.5055, 114.399)
    assert (store.delivery_fee, store.delivery_min_order, store.delivery_free_over) == (500, 2000, None)
    assert store.pickup_enabled and not store.delivery_enabled and store.pickup_prep_minutes == 10
    assert _hours(store) == [
        (0, T(8), T(11, 30)),
        (0, T(14), T(20)),
        (1, T(18), T(2)),
        (2, T(18), T(2)),
        (3, T(18), T(2)),
        (4, T(18), T(2)),
        (5, T(0), T(0)),
    ]
    page = hq.get(response["Location"]).content.decode()
    assert "门店“光谷新店”已创建" in page
    assert "次日" in page


def test_store_edit_page_shows_the_hours_as_entered(hq, merchant):
    store = StoreFactory(
        merchant=merchant, hours=[(0, T(22), T(2)), (1, T(0), T(0)), (2, T(9), T(12)), (2, T(13), T(18))]
    )

    body = hq.get(f"/hq/stores/{store.pk}/").content.decode()

    assert 'name="h0-open" value="22:00"' in body and 'name="h0-close" value="02:00"' in body
    assert 'name="h1-mode" value="allday" checked' in body
    assert 'name="h3-mode" value="closed" checked' in body
    assert body.count('name="h2-open"') == 2


def test_wgs84_coordinates_are_converted(hq, merchant):
    hq.post("/hq/stores/new/", store_post(coord_type="wgs84", lat="30.5", lng="114.3"))

    store = Store.objects.get(code="gg009")
    lat, lng = wgs84_to_gcj02(30.5, 114.3)
    assert (round(store.lat, 6), round(store.lng, 6)) == (round(lat, 6), round(lng, 6))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"lat": "95"}, "lat", "纬度应在 -90 到 90 之间"),
        ({"lng": "abc"}, "lng", "请输入数字经度"),
        ({"code": "Bad Code!"}, "code", "编码为 2–40 位小写字母"),
        ({"delivery_fee": "1.234"}, "delivery_fee", "金额最多两位小数"),
        ({"delivery_fee": "-1"}, "delivery_fee", "金额不能为负数"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA 时区"),
        ({"name": ""}, "name", "这个字段是必填项"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_written(hq, merchant, overrides, field, message):
    response = hq.post("/hq/stores/new/", store_post(**overrides))

    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="id_{field}_errors"' in body
    assert message in body
    assert not Store.objects.filter(code="gg009").exists()


def test_duplicate_code_comes_back_from_the_service_as_a_field_error(hq, store):
    response = hq.post("/hq/stores/new/", store_post(code=store.code))

    body = response.content.decode()
    assert "该门店编码已被使用" in body and 'id="id_code_errors"' in body
    assert Store.objects.filter(code=store.code).count() == 1


@pytest.mark.parametrize(
    ("day_data", "message"),
    [
        ({"h2-open": ["09:00", "11:00"], "h2-close": ["12:00", "14:00"]}, "时段之间有重叠"),
        ({"h2-open": ["20:00", "22:00"], "h2-close": ["03:00", "23:00"]}, "时段之间有重叠"),
        ({"h2-open": ["09:00"], "h2-close": [""]}, "每个时段都需要开始和结束时间"),
        ({"h2-open": [""], "h2-close": [""]}, "请至少填写一个营业时段"),
        ({"h2-open": ["25:00"], "h2-close": ["26:00"]}, "时间格式应为 HH:MM"),
        ({"h2-mode": "sometimes"}, "请选择营业方式"),
    ],
)
def test_bad_hours_are_explained_on_their_day_and_nothing_is_written(hq, merchant, day_data, message):
    response = hq.post("/hq/stores/new/", store_post(**day_data))

    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert 'fieldset class="hours-day has-error" data-day="2"' in body
    assert not Store.objects.filter(code="gg009").exists()


def test_bad_hours_on_edit_leave_the_store_untouched(hq, store):
    before = _hours(store)
    data = store_post(code=store.code, name="改了名字")
    data.update({"h1-open": ["09:00", "10:00"], "h1-close": ["12:00", "11:00"]})

    response = hq.post(f"/hq/stores/{store.pk}/", data)

    assert "时段之间有重叠" in response.content.decode()
    store.refresh_from_db()
    assert store.name == "江汉路店" and _hours(store) == before


def test_edit_store_saves_fields_and_hours(hq, store):
    data = store_post(
        code=store.code,
        name="江汉路旗舰店",
        status="paused",
        delivery_enabled="on",
        delivery_free_over="59.9",
        delivery_fee="0",
        timezone="Asia/Urumqi",
    )
    data.update(week("07:30", "23:30"))

    response = hq.post(f"/hq/stores/{store.pk}/", data)

    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.name, store.status, store.timezone) == ("江汉路旗舰店", "paused", "Asia/Urumqi")
    assert store.delivery_enabled and store.delivery_free_over == 5990 and store.delivery_fee == 0
    assert _hours(store) == [(d, T(7, 30), T(23, 30)) for d in range(7)]


def test_new_store_is_visible_to_customers_at_once(hq, merchant):
    hq.post("/hq/stores/new/", store_post(**week(mode="allday")))

    store = Store.objects.get(code="gg009")
    public = store_public_get(store_id=store.pk)
    assert public.name == "光谷新店"


def test_special_days_are_added_and_removed(hq, store):
    day = store_local_today(store) + dt.timedelta(days=90)

    closed = hq.post(
        f"/hq/stores/{store.pk}/special-days/", {"date": day.isoformat(), "kind": "closed", "note": "盘点"}
    )
    assert closed.status_code == 302
    assert SpecialDay.objects.get(store=store, date=day).closed
    # Far-away days are listed too.
    assert "盘点" in hq.get(f"/hq/stores/{store.pk}/").content.decode()

    hours = hq.post(
        f"/hq/stores/{store.pk}/special-days/",
        {"date": day.isoformat(), "kind": "hours", "opens": "10:00", "closes": "02:00", "note": "跨年"},
    )
    assert hours.status_code == 302
    special = SpecialDay.objects.get(store=store, date=day)
    assert (special.closed, special.opens, special.closes) == (False, T(10), T(2))

    hq.post(f"/hq/stores/{store.pk}/special-days/delete/", {"date": day.isoformat()})
    assert not SpecialDay.objects.filter(store=store).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2000-01-01", "kind": "closed"}, "不能设置已过去的日期"),
        ({"date": "", "kind": "closed"}, "这个字段是必填项"),
        ({"date": "2099-01-01", "kind": "hours", "opens": "", "closes": "10:00"}, "请填写开始时间"),
    ],
)
def test_bad_special_days_are_explained(hq, store, data, message):
    response = hq.post(f"/hq/stores/{store.pk}/special-days/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SpecialDay.objects.filter(store=store).exists()


def test_photos_are_uploaded_shown_and_deleted(hq, store):
    upload = [
        SimpleUploadedFile("a.png", png_bytes(), content_type="image/png"),
        SimpleUploadedFile("b.png", png_bytes((0, 0, 200)), content_type="image/png"),
    ]

    response = hq.post(f"/hq/stores/{store.pk}/photos/", {"images": upload})

    assert response.status_code == 302
    photos = list(StorePhoto.objects.filter(store=store))
    assert len(photos) == 2
    page = hq.get(f"/hq/stores/{store.pk}/").content.decode()
    assert photos[0].thumbnail.url in page

    hq.post(f"/hq/stores/{store.pk}/photos/{photos[0].pk}/delete/")
    assert list(StorePhoto.objects.filter(store=store)) == photos[1:]


def test_a_non_image_upload_is_refused_and_nothing_is_saved(hq, store):
    good = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
    bad = SimpleUploadedFile("notes.png", b"this is not a picture", content_type="image/png")

    response = hq.post(f"/hq/stores/{store.pk}/photos/", {"images": [good, bad]})

    assert response.status_code == 200
    assert "文件不是可用的图片" in response.content.decode()
    assert not StorePhoto.objects.filter(store=store).exists()


def test_platform_admin_creates_a_store_for_a_chosen_merchant(platform, merchant, other_merchant):
    form = platform.get("/hq/stores/new/").content.decode()
    assert 'name="merchant"' in form

    missing = platform.post("/hq/stores/new/", store_post())
    assert 'id="id_merchant_errors"' in missing.content.decode()

    response = platform.post("/hq/stores/new/", store_post(merchant=str(other_merchant.pk)))
    assert response.status_code == 302
    assert Store.objects.get(code="gg009").merchant == other_merchant


def test_platform_merchant_switch_filters_the_list(platform, store, other_merchant):
    StoreFactory(merchant=other_merchant, code="r001", name="对手一店")

    both = platform.get("/hq/stores/").content.decode()
    assert "江汉路店" in both and "对手一店" in both

    only = platform.get("/hq/stores/", {"merchant": other_merchant.pk}).content.decode()
    assert "对手一店" in only and "江汉路店" not in only
    # The choice sticks for the session until changed back.
    assert "江汉路店" not in platform.get("/hq/stores/").content.decode()
    assert "江汉路店" in platform.get("/hq/stores/", {"merchant": ""}).content.decode()


def test_dashboard_counts(hq, merchant, store, other_store, catalog, clerk, rival):
    StoreFactory(merchant=merchant, code="shut", name="休息店", hours=[])
    StoreFactory(merchant=merchant, code="pause", name="暂停店", status=StoreStatus.PAUSED)

    response = hq.get("/hq/")

    stats = response.context["stats"]
    assert stats == {
        "stores_total": 4,
        "stores_open": 2,
        "stores_paused": 1,
        "products": 2,
        "skus": 2,
        "staff": 2,
        "store_staff": 1,
    }
    body = response.content.decode()
    assert "休息店" in body and "暂停营业" in body and "对手" not in body
