"""Store staff: /api/staff/v1/store, pause/resume, weekly hours."""

import datetime as dt

import pytest

from mendian.core.scope import Role
from mendian.stores.models import OpeningHours, Store, StoreStatus
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
URL = "/api/staff/v1/store"


def status_of(store) -> str:
    return Store.objects.get(pk=store.pk).status


def hours_of(store) -> list:
    return list(OpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes"))


class TestRead:
    def test_clerk_reads_their_own_store(self, clerk_api, store, other_store):
        response = clerk_api.get(URL)
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["code"], body["is_open"]) == (str(store.pk), "jh001", True)

    def test_store_staff_naming_another_store_get_404(self, clerk_api, other_store):
        assert clerk_api.get(URL, {"store_id": str(other_store.pk)}).status_code == 404

    def test_hq_must_name_the_store(self, hq_api, store):
        response = hq_api.get(URL)
        assert response.status_code == 422
        assert response.json()["errors"] == [{"loc": ["query", "store_id"], "msg": "required"}]
        assert hq_api.get(URL, {"store_id": str(store.pk)}).json()["id"] == str(store.pk)

    def test_hq_of_another_merchant_gets_404(self, make_staff_api, store, other_merchant):
        rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None)
        assert rival.get(URL, {"store_id": str(store.pk)}).status_code == 404
        assert rival.get(URL, {"store_id": "abc"}).status_code == 404

    def test_no_token_is_401(self, api, store):
        assert api.get(URL).status_code == 401


class TestPauseResume:
    def test_manager_pauses_and_customers_see_it_closed(self, manager_api, api, store):
        response = manager_api.post(f"{URL}/pause")
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["is_open"]) == ("paused", False)
        customer_view = api.get(f"/api/v1/stores/{store.pk}").json()
        assert (customer_view["status"], customer_view["is_open"]) == ("paused", False)
        response = manager_api.post(f"{URL}/resume")
        assert (response.json()["status"], response.json()["is_open"]) == ("open", True)
        assert status_of(store) == StoreStatus.OPEN

    def test_pausing_twice_is_harmless(self, manager_api, store):
        manager_api.post(f"{URL}/pause")
        assert manager_api.post(f"{URL}/pause").json()["status"] == "paused"

    def test_clerk_cannot_pause_or_resume(self, clerk_api, store):
        response = clerk_api.post(f"{URL}/pause")
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert status_of(store) == StoreStatus.OPEN
        Store.objects.filter(pk=store.pk).update(status=StoreStatus.PAUSED)
        assert clerk_api.post(f"{URL}/resume").status_code == 403
        assert status_of(store) == StoreStatus.PAUSED

    def test_hq_pauses_a_named_store(self, hq_api, store, other_store):
        assert hq_api.post(f"{URL}/pause?store_id={other_store.pk}").status_code == 200
        assert (status_of(other_store), status_of(store)) == (StoreStatus.PAUSED, StoreStatus.OPEN)
        assert hq_api.post(f"{URL}/pause").status_code == 422

    def test_closed_for_good_cannot_resume(self, manager_api, hq_api, store):
        Store.objects.filter(pk=store.pk).update(status=StoreStatus.CLOSED)
        for client, query in ((manager_api, ""), (hq_api, f"?store_id={store.pk}")):
            response = client.post(f"{URL}/resume{query}")
            assert response.status_code == 409
            assert response.json()["code"] == "store_closed_permanently"
            assert client.post(f"{URL}/pause{query}").status_code == 409
        assert status_of(store) == StoreStatus.CLOSED

    def test_manager_cannot_touch_another_store(self, manager_api, other_store):
        assert manager_api.post(f"{URL}/pause?store_id={other_store.pk}").status_code == 404
        assert status_of(other_store) == StoreStatus.OPEN


class TestHours:
    HOURS = [
        {"weekday": 0, "open": "08:00", "close": "12:00"},
        {"weekday": 0, "open": "13:00", "close": "22:00"},
        {"weekday": 5, "open": "22:00", "close": "02:00"},
    ]

    def test_manager_replaces_the_weekly_hours(self, manager_api, store):
        response = manager_api.put(f"{URL}/hours", {"opening_hours": self.HOURS})
        assert response.status_code == 200, response.content
        assert response.json()["opening_hours"] == self.HOURS
        assert hours_of(store) == [
            (0, dt.time(8), dt.time(12)),
            (0, dt.time(13), dt.time(22)),
            (5, dt.time(22), dt.time(2)),
        ]

    def test_empty_list_removes_regular_hours(self, manager_api, store):
        assert manager_api.put(f"{URL}/hours", {"opening_hours": []}).json()["opening_hours"] == []
        assert hours_of(store) == []

    def test_clerk_gets_403_and_hours_stay(self, clerk_api, store):
        before = hours_of(store)
        assert clerk_api.put(f"{URL}/hours", {"opening_hours": self.HOURS}).status_code == 403
        assert hours_of(store) == before

    @pytest.mark.parametrize(
        "body",
        [
            {"opening_hours": [{"weekday": 0, "open": "08:00", "close": "24:00"}]},
            {"opening_hours": [{"weekday": -1, "open": "08:00", "close": "20:00"}]},
            {"opening_hours": [{"weekday": 0, "open": "08:00", "close": "20:00", "extra": 1}]},
            {
                "opening_hours": [
                    {"weekday": 0, "open": "08:00", "close": "20:00"},
                    {"weekday": 0, "open": "08:00", "close": "20:00"},
                ]
            },
            {"opening_hours": [{"weekday": 0, "open": "08:00", "close": "20:00"}] * 43},
            {"hours": []},
            {},
        ],
    )
    def test_bad_hours_are_422_and_nothing_changes(self, manager_api, store, body):
        before = hours_of(store)
        response = manager_api.put(f"{URL}/hours", body)
        assert response.status_code == 422, response.content
        assert hours_of(store) == before

    def test_broken_json_is_400(self, manager_api, store):
        before = hours_of(store)
        response = manager_api.put(f"{URL}/hours", '{"opening_hours": [')
        assert (response.status_code, response.json()["code"]) == (400, "invalid_json")
        assert hours_of(store) == before

    def test_hq_sets_hours_of_a_named_store_only_in_its_merchant(
        self, hq_api, make_staff_api, other_merchant
    ):
        own = StoreFactory(merchant=hq_api.staff.merchant)
        rival_store = StoreFactory(merchant=other_merchant)
        before = hours_of(rival_store)
        assert hq_api.put(f"{URL}/hours?store_id={own.pk}", {"opening_hours": self.HOURS}).status_code == 200
        assert hq_api.put(f"{URL}/hours?store_id={rival_store.pk}", {"opening_hours": []}).status_code == 404
        assert hours_of(rival_store) == before
