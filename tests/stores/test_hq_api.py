"""HQ store management: /api/hq/v1/stores."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import MULTIPART_CONTENT
from PIL import Image

from mendian.core.geo import wgs84_to_gcj02
from mendian.core.scope import Role
from mendian.stores.models import OpeningHours, SpecialDay, Store, StorePhoto, StoreStatus
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
URL = "/api/hq/v1/stores"


def local_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def new_store(**overrides) -> dict:
    body = {
        "code": "gg001",
        "name": "光谷店",
        "address": "武汉市洪山区珞喻路1号",
        "lat": 30.5050,
        "lng": 114.4000,
        "phone": "027-87654321",
        "opening_hours": [{"weekday": day, "open": "09:00", "close": "21:00"} for day in range(7)],
        "pickup_enabled": True,
        "delivery_enabled": True,
        "delivery": {
            "radius_m": 3000,
            "fee": {"amount": 500, "currency": "CNY"},
            "free_over": {"amount": 3900, "currency": "CNY"},
            "min_order": {"amount": 2000, "currency": "CNY"},
        },
    }
    body.update(overrides)
    return body


def snapshot(store: Store) -> tuple:
    store = Store.objects.get(pk=store.pk)
    hours = list(OpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes"))
    return (
        store.code,
        store.name,
        store.status,
        store.lat,
        store.lng,
        store.timezone,
        store.updated_at,
        hours,
    )


class TestCreate:
    def test_creates_the_store_with_hours_and_delivery_terms(self, hq_api, merchant):
        response = hq_api.post(URL, new_store(district="洪山区", pickup_prep_minutes=20))
        assert response.status_code == 201, response.content
        body = response.json()
        store = Store.objects.get(merchant=merchant, code="gg001")
        assert body["id"] == str(store.pk)
        assert body["merchant"] == {"id": str(merchant.pk), "code": "acme", "name": "极客便利"}
        assert (body["name"], body["address"], body["lat"], body["lng"]) == (
            "光谷店",
            "武汉市洪山区珞喻路1号",
            30.505,
            114.4,
        )
        assert body["opening_hours"] == [{"weekday": d, "open": "09:00", "close": "21:00"} for d in range(7)]
        assert body["delivery"] == new_store()["delivery"]
        assert (body["status"], body["timezone"], body["timezone_inherited"]) == (
            "open",
            "Asia/Shanghai",
            True,
        )
        assert (body["district"], body["pickup_prep_minutes"]) == ("洪山区", 20)
        assert (
            store.delivery_fee == 500
            and store.delivery_free_over == 3900
            and store.delivery_min_order == 2000
        )
        assert OpeningHours.objects.filter(store=store).count() == 7

    def test_new_store_is_found_by_customers_at_once(self, hq_api, api):
        hq_api.post(
            URL,
            new_store(opening_hours=[{"weekday": d, "open": "00:00", "close": "00:00"} for d in range(7)]),
        )
        items = api.get("/api/v1/stores", {"lat": 30.5050, "lng": 114.4000}).json()["items"]
        assert [(i["code"], i["is_open"], i["distance_m"]) for i in items] == [("gg001", True, 0)]

    def test_minimal_store_gets_the_defaults(self, hq_api):
        body = {k: new_store()[k] for k in ("code", "name", "address", "lat", "lng", "opening_hours")}
        response = hq_api.post(URL, body)
        assert response.status_code == 201
        created = response.json()
        assert (created["pickup_enabled"], created["delivery_enabled"], created["phone"]) == (True, False, "")
        assert created["delivery"] == {
            "radius_m": 3000,
            "fee": {"amount": 0, "currency": "CNY"},
            "free_over": None,
            "min_order": {"amount": 0, "currency": "CNY"},
        }

    def test_wgs84_coordinates_are_stored_as_gcj02(self, hq_api):
        response = hq_api.post(URL, new_store(lat=30.5928, lng=114.3055, coord_type="wgs84"))
        assert response.status_code == 201
        store = Store.objects.get(code="gg001")
        assert (store.lat, store.lng) == pytest.approx(wgs84_to_gcj02(30.5928, 114.3055))
        assert store.lng != 114.3055

    def test_timezone_and_special_days(self, hq_api):
        future = local_today() + dt.timedelta(days=10)
        response = hq_api.post(
            URL,
            new_store(
                timezone="Asia/Urumqi",
                special_days=[
                    {"date": future.isoformat(), "closed": True, "note": "春节"},
                    {"date": (future + dt.timedelta(days=1)).isoformat(), "open": "10:00", "close": "16:00"},
                ],
            ),
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["timezone"], body["timezone_inherited"]) == ("Asia/Urumqi", False)
        assert body["special_days"] == [
            {"date": future.isoformat(), "closed": True, "open": None, "close": None, "note": "春节"},
            {
                "date": (future + dt.timedelta(days=1)).isoformat(),
                "closed": False,
                "open": "10:00",
                "close": "16:00",
                "note": "",
            },
        ]

    def test_platform_admin_names_the_merchant(self, platform_api, merchant):
        response = platform_api.post(URL, new_store(merchant_id=str(merchant.pk)))
        assert response.status_code == 201
        assert Store.objects.get(code="gg001").merchant == merchant

    def test_platform_admin_without_merchant_is_422(self, platform_api, merchant):
        response = platform_api.post(URL, new_store())
        assert response.status_code == 422
        assert response.json()["errors"] == [{"loc": ["merchant_id"], "msg": "is required"}]
        assert not Store.objects.exists()

    @pytest.mark.parametrize("merchant_id", ["999999", "abc", 0])
    def test_platform_admin_with_unknown_merchant_is_422(self, platform_api, merchant, merchant_id):
        response = platform_api.post(URL, new_store(merchant_id=merchant_id))
        assert response.status_code == 422
        assert not Store.objects.exists()

    def test_merchant_admin_cannot_choose_a_merchant(self, hq_api, other_merchant):
        for merchant_id in (str(other_merchant.pk), other_merchant.pk, None):
            response = hq_api.post(URL, new_store(merchant_id=merchant_id))
            assert response.status_code == 422
            assert response.json()["errors"][0]["loc"] == ["merchant_id"]
        assert not Store.objects.exists()

    def test_duplicate_code_in_the_merchant_is_409(self, hq_api, store):
        response = hq_api.post(URL, new_store(code=store.code))
        assert response.status_code == 409
        assert response.json()["code"] == "store_code_taken"
        assert Store.objects.filter(code=store.code).count() == 1

    def test_same_code_in_another_merchant_is_fine(self, hq_api, other_merchant):
        StoreFactory(merchant=other_merchant, code="gg001")
        assert hq_api.post(URL, new_store()).status_code == 201

    @pytest.mark.parametrize(
        ("overrides", "bad_field"),
        [
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"timezone": "../../etc/passwd"}, "timezone"),
            ({"opening_hours": [{"weekday": 0, "open": "09:00", "close": "24:00"}]}, "opening_hours"),
            ({"opening_hours": [{"weekday": 0, "open": "9:00", "close": "21:00"}]}, "opening_hours"),
            ({"opening_hours": [{"weekday": 0, "open": "09:00:00", "close": "21:00"}]}, "opening_hours"),
            ({"opening_hours": [{"weekday": 7, "open": "09:00", "close": "21:00"}]}, "opening_hours"),
            ({"opening_hours": [{"weekday": "1", "open": "09:00", "close": "21:00"}]}, "opening_hours"),
            ({"opening_hours": [{"weekday": 0, "open": "09:00"}]}, "opening_hours"),
            (
                {
                    "opening_hours": [
                        {"weekday": 0, "open": "09:00", "close": "14:00"},
                        {"weekday": 0, "open": "13:00", "close": "21:00"},
                    ]
                },
                "opening_hours",
            ),
            (
                {
                    "opening_hours": [
                        {"weekday": 2, "open": "00:00", "close": "00:00"},
                        {"weekday": 2, "open": "09:00", "close": "10:00"},
                    ]
                },
                "opening_hours",
            ),
            ({"lat": 91}, "lat"),
            ({"lng": -180.5}, "lng"),
            ({"lat": "30.5"}, "lat"),
            ({"code": "Bad Code!"}, "code"),
            ({"code": "x"}, "code"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"address": "x" * 256}, "address"),
            ({"pickup_enabled": "yes"}, "pickup_enabled"),
            ({"coord_type": "bd09"}, "coord_type"),
            ({"status": "closed"}, "status"),
            ({"pickup_prep_minutes": -1}, "pickup_prep_minutes"),
            ({"delivery": {"radius_m": -5}}, "delivery"),
            ({"delivery": {"fee": {"amount": 5.5}}}, "delivery"),
            ({"delivery": {"fee": {"amount": -100}}}, "delivery"),
            ({"delivery": {"fee": {"amount": 500, "currency": "USD"}}}, "delivery"),
            ({"delivery": {"tip": 1}}, "delivery"),
            ({"special_days": [{"date": "2020-01-01", "closed": True}]}, "special_days"),
            ({"special_days": [{"date": "tomorrow", "closed": True}]}, "special_days"),
            ({"special_days": [{"date": "2099-01-01", "closed": False}]}, "special_days"),
            ({"special_days": [{"date": "2099-01-01", "closed": True, "open": "09:00"}]}, "special_days"),
            (
                {
                    "special_days": [
                        {"date": "2099-01-01", "closed": True},
                        {"date": "2099-01-01", "closed": True},
                    ]
                },
                "special_days",
            ),
            ({"id": 5}, "id"),
            ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ],
    )
    def test_bad_field_is_422_and_nothing_is_written(self, hq_api, merchant, overrides, bad_field):
        response = hq_api.post(URL, new_store(**overrides))
        assert response.status_code == 422, response.content
        body = response.json()
        assert body["code"] == "validation_error"
        assert any(bad_field in err["loc"] for err in body["errors"]), body["errors"]
        assert not Store.objects.exists()
        assert not OpeningHours.objects.exists()

    @pytest.mark.parametrize("missing", ["code", "name", "address", "lat", "lng", "opening_hours"])
    def test_missing_required_field_is_422(self, hq_api, merchant, missing):
        body = new_store()
        del body[missing]
        response = hq_api.post(URL, body)
        assert response.status_code == 422
        assert any(missing in err["loc"] for err in response.json()["errors"])
        assert not Store.objects.exists()

    def test_broken_json_is_400_invalid_json(self, hq_api, merchant):
        response = hq_api.post(URL, '{"code": "gg001", "name": ', content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_json"
        assert not Store.objects.exists()

    @pytest.mark.parametrize("body", ["[]", '"store"', "42", "null"])
    def test_json_that_is_not_an_object_is_422(self, hq_api, merchant, body):
        response = hq_api.post(URL, body, content_type="application/json")
        assert response.status_code in (400, 422)
        assert response["Content-Type"] == "application/problem+json"
        assert not Store.objects.exists()

    def test_past_midnight_and_all_day_spans_are_accepted(self, hq_api):
        hours = [
            {"weekday": 5, "open": "22:00", "close": "02:00"},
            {"weekday": 6, "open": "00:00", "close": "00:00"},
            {"weekday": 0, "open": "09:00", "close": "12:00"},
            {"weekday": 0, "open": "14:00", "close": "20:00"},
        ]
        response = hq_api.post(URL, new_store(opening_hours=hours))
        assert response.status_code == 201, response.content
        assert response.json()["opening_hours"] == sorted(hours, key=lambda h: (h["weekday"], h["open"]))

    def test_empty_hours_mean_closed_except_special_days(self, hq_api):
        response = hq_api.post(URL, new_store(opening_hours=[]))
        assert response.status_code == 201
        assert (response.json()["opening_hours"], response.json()["is_open"]) == ([], False)


class TestScopeAndRoles:
    def test_store_staff_get_403_on_the_hq_api(self, clerk_api, manager_api, store):
        before = snapshot(store)
        for client in (clerk_api, manager_api):
            assert client.get(URL).status_code == 403
            assert client.get(f"{URL}/{store.pk}").status_code == 403
            response = client.patch(f"{URL}/{store.pk}", {"name": "改名"})
            assert response.status_code == 403
            assert response.json()["code"] == "forbidden"
            assert client.post(URL, new_store()).status_code == 403
        assert snapshot(store) == before
        assert Store.objects.count() == 1

    def test_no_token_is_401(self, api, store):
        assert api.get(URL).status_code == 401
        assert api.post(URL, new_store()).status_code == 401

    def test_another_merchants_hq_gets_404_and_changes_nothing(self, make_staff_api, store, other_merchant):
        rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None)
        before = snapshot(store)
        assert rival.get(f"{URL}/{store.pk}").status_code == 404
        response = rival.patch(f"{URL}/{store.pk}", {"name": "被改了", "status": "closed"})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert rival.put(f"{URL}/{store.pk}/special-days/2099-01-01", {"closed": True}).status_code == 404
        assert rival.get(URL).json()["items"] == []
        assert snapshot(store) == before
        assert not SpecialDay.objects.exists()

    @pytest.mark.parametrize("store_id", ["abc", "0", "12abc", "9" * 25, "99999999"])
    def test_unknown_ids_are_404(self, hq_api, store, store_id):
        assert hq_api.get(f"{URL}/{store_id}").status_code == 404
        assert hq_api.patch(f"{URL}/{store_id}", {"name": "x"}).status_code == 404


class TestList:
    def test_lists_own_stores_by_id_with_filters(self, hq_api, merchant, other_merchant):
        a = StoreFactory(merchant=merchant, code="a01", name="江汉路店", address="江汉路1号")
        b = StoreFactory(
            merchant=merchant, code="b01", name="光谷店", address="珞喻路1号", status=StoreStatus.PAUSED
        )
        StoreFactory(merchant=other_merchant, code="r01", name="对手江汉店", address="江汉路2号")
        assert [i["id"] for i in hq_api.get(URL).json()["items"]] == [str(a.pk), str(b.pk)]
        assert [i["code"] for i in hq_api.get(URL, {"status": "paused"}).json()["items"]] == ["b01"]
        assert [i["code"] for i in hq_api.get(URL, {"q": "江汉"}).json()["items"]] == ["a01"]
        assert hq_api.get(URL, {"status": "gone"}).status_code == 422

    def test_platform_sees_every_merchant_and_can_narrow(self, platform_api, merchant, other_merchant):
        StoreFactory(merchant=merchant, code="a01")
        StoreFactory(merchant=other_merchant, code="r01")
        assert [i["code"] for i in platform_api.get(URL).json()["items"]] == ["a01", "r01"]
        narrowed = platform_api.get(URL, {"merchant_id": str(other_merchant.pk)}).json()["items"]
        assert [i["code"] for i in narrowed] == ["r01"]
        assert platform_api.get(URL, {"merchant_id": "abc"}).status_code == 422

    def test_cursor_pages(self, hq_api, merchant):
        codes = [StoreFactory(merchant=merchant, code=f"s{n:02d}").code for n in range(5)]
        seen, cursor = [], None
        while True:
            body = hq_api.get(URL, {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
            seen += [i["code"] for i in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert seen == codes
        assert hq_api.get(URL, {"cursor": "forged"}).json()["code"] == "invalid_cursor"

    def test_query_count_does_not_grow_with_the_page(self, hq_api, merchant, django_assert_num_queries):
        StoreFactory(merchant=merchant)
        # token with its staff, stores with merchants, hours, special days, photos
        with django_assert_num_queries(5):
            assert len(hq_api.get(URL).json()["items"]) == 1
        for _ in range(8):
            store = StoreFactory(merchant=merchant)
            SpecialDay.objects.create(store=store, date=local_today() + dt.timedelta(days=3), closed=True)
            StorePhoto.objects.create(store=store, image="stores/x.webp")
        with django_assert_num_queries(5):
            assert len(hq_api.get(URL).json()["items"]) == 9


class TestUpdate:
    def test_partial_update_changes_only_what_is_sent(self, hq_api, store):
        address, fee = store.address, store.delivery_fee
        response = hq_api.patch(f"{URL}/{store.pk}", {"name": "江汉路旗舰店", "delivery": {"radius_m": 5000}})
        assert response.status_code == 200, response.content
        store.refresh_from_db()
        assert (store.name, store.delivery_radius_m, store.code, store.address, store.delivery_fee) == (
            "江汉路旗舰店",
            5000,
            "jh001",
            address,
            fee,
        )
        assert response.json()["delivery"]["radius_m"] == 5000
        assert OpeningHours.objects.filter(store=store).count() == 7

    def test_replaces_hours_and_upcoming_special_days_keeping_past_ones(self, hq_api, store):
        past = SpecialDay.objects.create(store=store, date=local_today() - dt.timedelta(days=30), closed=True)
        SpecialDay.objects.create(store=store, date=local_today() + dt.timedelta(days=3), closed=True)
        new_day = (local_today() + dt.timedelta(days=4)).isoformat()
        response = hq_api.patch(
            f"{URL}/{store.pk}",
            {
                "opening_hours": [{"weekday": 0, "open": "08:00", "close": "20:00"}],
                "special_days": [{"date": new_day, "open": "10:00", "close": "22:00", "note": "店庆"}],
            },
        )
        assert response.status_code == 200, response.content
        assert list(OpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes")) == [
            (0, dt.time(8), dt.time(20))
        ]
        assert list(SpecialDay.objects.filter(store=store).values_list("date", "note")) == [
            (past.date, ""),
            (dt.date.fromisoformat(new_day), "店庆"),
        ]

    def test_far_ahead_special_days_survive_a_read_modify_write(self, hq_api, store):
        far = local_today() + dt.timedelta(days=200)
        SpecialDay.objects.create(store=store, date=far, closed=True, note="搬迁")
        days = hq_api.get(f"{URL}/{store.pk}").json()["special_days"]
        assert days == [
            {"date": far.isoformat(), "closed": True, "open": None, "close": None, "note": "搬迁"}
        ]
        days.append({"date": (far + dt.timedelta(days=1)).isoformat(), "closed": True, "note": ""})
        assert hq_api.patch(f"{URL}/{store.pk}", {"special_days": days}).status_code == 200
        assert list(SpecialDay.objects.filter(store=store).values_list("date", flat=True)) == [
            far,
            far + dt.timedelta(days=1),
        ]

    def test_timezone_null_goes_back_to_the_merchants(self, hq_api, store):
        hq_api.patch(f"{URL}/{store.pk}", {"timezone": "Asia/Urumqi"})
        assert Store.objects.get(pk=store.pk).timezone == "Asia/Urumqi"
        body = hq_api.patch(f"{URL}/{store.pk}", {"timezone": None}).json()
        assert (body["timezone"], body["timezone_inherited"]) == ("Asia/Shanghai", True)

    def test_wgs84_update_needs_both_coordinates(self, hq_api, store):
        before = snapshot(store)
        response = hq_api.patch(f"{URL}/{store.pk}", {"lat": 30.6, "coord_type": "wgs84"})
        assert response.status_code == 422
        assert snapshot(store) == before
        assert (
            hq_api.patch(f"{URL}/{store.pk}", {"lat": 30.6, "lng": 114.3, "coord_type": "wgs84"}).status_code
            == 200
        )
        assert Store.objects.get(pk=store.pk).lat == pytest.approx(wgs84_to_gcj02(30.6, 114.3)[0])

    def test_code_taken_by_a_sibling_is_409_and_nothing_changes(self, hq_api, store, other_store):
        before = snapshot(store)
        response = hq_api.patch(f"{URL}/{store.pk}", {"code": other_store.code, "name": "新名字"})
        assert response.status_code == 409
        assert response.json()["code"] == "store_code_taken"
        assert snapshot(store) == before

    @pytest.mark.parametrize(
        "body",
        [
            {"merchant_id": 1},
            {"merchant": "rival"},
            {"id": "7"},
            {"name": None},
            {"opening_hours": [{"weekday": 1, "open": "21:00", "close": "24:00"}]},
            {"timezone": "Beijing"},
            {"status": "deleted"},
            {"lat": None},
            {"special_days": [{"date": "2001-01-01", "closed": True}]},
        ],
    )
    def test_bad_patch_is_422_and_nothing_changes(self, hq_api, store, body):
        before = snapshot(store)
        response = hq_api.patch(f"{URL}/{store.pk}", body)
        assert response.status_code == 422, response.content
        assert snapshot(store) == before

    def test_broken_json_patch_is_400(self, hq_api, store):
        before = snapshot(store)
        response = hq_api.patch(f"{URL}/{store.pk}", "{name: 1}")
        assert response.status_code == 400
        assert snapshot(store) == before

    def test_hq_can_close_for_good_and_reopen(self, hq_api, api, store):
        assert hq_api.patch(f"{URL}/{store.pk}", {"status": "closed"}).json()["status"] == "closed"
        assert api.get(f"/api/v1/stores/{store.pk}").status_code == 404
        assert hq_api.patch(f"{URL}/{store.pk}", {"status": "open"}).json()["status"] == "open"
        assert api.get(f"/api/v1/stores/{store.pk}").status_code == 200


class TestSpecialDayEndpoints:
    def test_put_then_delete_one_date(self, hq_api, store):
        day = (local_today() + dt.timedelta(days=2)).isoformat()
        response = hq_api.put(f"{URL}/{store.pk}/special-days/{day}", {"open": "10:00", "close": "02:00"})
        assert response.status_code == 200, response.content
        assert response.json() == {
            "date": day,
            "closed": False,
            "open": "10:00",
            "close": "02:00",
            "note": "",
        }
        hq_api.put(f"{URL}/{store.pk}/special-days/{day}", {"closed": True, "note": "停电"})
        assert list(SpecialDay.objects.filter(store=store).values_list("closed", "opens", "note")) == [
            (True, None, "停电")
        ]
        assert hq_api.delete(f"{URL}/{store.pk}/special-days/{day}").status_code == 204
        assert not SpecialDay.objects.exists()
        assert hq_api.delete(f"{URL}/{store.pk}/special-days/{day}").status_code == 404

    @pytest.mark.parametrize(
        ("day", "body"),
        [
            ("2001-01-01", {"closed": True}),
            ("not-a-date", {"closed": True}),
            ("2099-02-30", {"closed": True}),
            ("2099-01-01", {"closed": False}),
            ("2099-01-01", {"open": "25:00", "close": "10:00"}),
            ("2099-01-01", {"closed": True, "surprise": 1}),
        ],
    )
    def test_bad_special_day_is_422(self, hq_api, store, day, body):
        response = hq_api.put(f"{URL}/{store.pk}/special-days/{day}", body)
        assert response.status_code == 422, response.content
        assert not SpecialDay.objects.exists()


def png_bytes(size=(800, 600), mode="RGB", fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=(200, 30, 30) if mode == "RGB" else None).save(buffer, format=fmt)
    return buffer.getvalue()


class TestPhotos:
    @pytest.fixture(autouse=True)
    def _media(self, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path

    def upload(self, client, store, content: bytes, name="photo.png"):
        return client.post(
            f"{URL}/{store.pk}/photos",
            {"image": SimpleUploadedFile(name, content)},
            content_type=MULTIPART_CONTENT,
        )

    def test_upload_is_reencoded_as_webp_with_a_square_thumbnail(self, hq_api, store, tmp_path):
        response = self.upload(hq_api, store, png_bytes((3200, 1200)))
        assert response.status_code == 201, response.content
        photo = StorePhoto.objects.get(store=store)
        body = response.json()
        assert body["id"] == str(photo.pk)
        assert body["url"] == f"http://testserver/media/{photo.image.name}"
        with Image.open(tmp_path / photo.image.name) as image:
            assert (image.format, image.size) == ("WEBP", (1600, 600))
        with Image.open(tmp_path / photo.thumbnail.name) as thumb:
            assert (thumb.format, thumb.size) == ("WEBP", (400, 400))
        assert [p["id"] for p in hq_api.get(f"{URL}/{store.pk}").json()["photos"]] == [body["id"]]

    def test_not_an_image_is_422_invalid_image(self, hq_api, store):
        for content, name in (
            (b"%PDF-1.4 not an image", "x.png"),
            (png_bytes()[:100], "cut.png"),
            (b"", "e.png"),
        ):
            response = self.upload(hq_api, store, content, name)
            assert response.status_code == 422
            assert response.json()["code"] == "invalid_image"
        assert not StorePhoto.objects.exists()

    def test_too_large_is_413(self, hq_api, store, settings):
        settings.MAX_IMAGE_UPLOAD_BYTES = 1000
        response = self.upload(hq_api, store, png_bytes((400, 400)) + b"\0" * 2000)
        assert response.status_code == 413
        assert response.json()["code"] == "image_too_large"
        assert not StorePhoto.objects.exists()

    def test_missing_file_is_422(self, hq_api, store):
        response = hq_api.post(f"{URL}/{store.pk}/photos", {}, content_type=MULTIPART_CONTENT)
        assert response.status_code == 422

    def test_other_merchant_cannot_upload_or_delete(self, hq_api, make_staff_api, store, other_merchant):
        photo_id = self.upload(hq_api, store, png_bytes()).json()["id"]
        rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None)
        assert self.upload(rival, store, png_bytes()).status_code == 404
        assert rival.delete(f"{URL}/{store.pk}/photos/{photo_id}").status_code == 404
        assert StorePhoto.objects.count() == 1

    def test_delete_removes_the_row_and_files(
        self, hq_api, store, tmp_path, django_capture_on_commit_callbacks
    ):
        photo_id = self.upload(hq_api, store, png_bytes()).json()["id"]
        photo = StorePhoto.objects.get(pk=photo_id)
        with django_capture_on_commit_callbacks(execute=True):
            assert hq_api.delete(f"{URL}/{store.pk}/photos/{photo_id}").status_code == 204
        assert not StorePhoto.objects.exists()
        assert not (tmp_path / photo.image.name).exists()
        assert hq_api.delete(f"{URL}/{store.pk}/photos/{photo_id}").status_code == 404
        assert hq_api.delete(f"{URL}/{store.pk}/photos/abc").status_code == 404
