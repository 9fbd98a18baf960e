"""Store services called directly (seeders, other apps, the CLI): same rules as through the API."""

import datetime as dt

import pytest

from mendian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mendian.core.scope import Actor, Role
from mendian.stores import services
from mendian.stores.models import OpeningHours, SpecialDay, Store, StoreStatus
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

HOURS = [{"weekday": day, "open": "09:00", "close": "21:00"} for day in range(7)]


def data(**overrides) -> dict:
    return {
        "code": "new01",
        "name": "新店",
        "address": "解放大道1号",
        "lat": 30.6,
        "lng": 114.3,
        "opening_hours": HOURS,
        **overrides,
    }


def clerk(store) -> Actor:
    return Actor(role=Role.STORE_CLERK, merchant_id=store.merchant_id, store_id=store.pk)


def manager(store) -> Actor:
    return Actor(role=Role.STORE_MANAGER, merchant_id=store.merchant_id, store_id=store.pk)


class TestCreate:
    def test_system_actor_of_a_merchant_creates(self, merchant):
        store = services.store_create(actor=Actor.system(merchant.pk), data=data())
        assert (store.merchant, store.code, store.status) == (merchant, "new01", StoreStatus.OPEN)
        assert OpeningHours.objects.filter(store=store).count() == 7

    def test_times_may_be_time_objects(self, merchant):
        hours = [{"weekday": 0, "open": dt.time(8), "close": dt.time(20)}]
        store = services.store_create(actor=Actor.system(merchant.pk), data=data(opening_hours=hours))
        assert list(store.opening_hours.values_list("opens", "closes")) == [(dt.time(8), dt.time(20))]

    def test_store_roles_cannot_create(self, store):
        for actor in (clerk(store), manager(store)):
            with pytest.raises(Forbidden):
                services.store_create(actor=actor, data=data())
        assert Store.objects.count() == 1

    def test_unknown_fields_first_then_every_field_problem_at_once(self, merchant):
        with pytest.raises(ValidationFailed) as error:
            services.store_create(
                actor=Actor.system(merchant.pk),
                data=data(lat=200, timezone="Nowhere/Land", pickup_prep_minutes=5000, colour="red"),
            )
        assert {tuple(e["loc"]) for e in error.value.errors} == {("colour",)}
        with pytest.raises(ValidationFailed) as error:
            services.store_create(
                actor=Actor.system(merchant.pk),
                data=data(lat=200, timezone="Nowhere/Land", pickup_prep_minutes=5000),
            )
        assert {e["loc"][0] for e in error.value.errors} == {"lat", "timezone", "pickup_prep_minutes"}
        assert not Store.objects.exists()

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), "30.6", None, True])
    def test_non_finite_or_non_numeric_coordinates_are_refused(self, merchant, value):
        with pytest.raises(ValidationFailed):
            services.store_create(actor=Actor.system(merchant.pk), data=data(lat=value))
        assert not Store.objects.exists()

    def test_non_dict_data_is_refused(self, merchant):
        with pytest.raises(ValidationFailed):
            services.store_create(actor=Actor.system(merchant.pk), data=["code"])

    def test_a_race_for_the_same_code_ends_in_409_not_500(self, merchant, monkeypatch):
        StoreFactory(merchant=merchant, code="new01")
        # Both requests passed the existence check; the UNIQUE constraint settles it.
        monkeypatch.setattr(services, "_check_code_free", lambda store: None)
        with pytest.raises(Conflict) as error:
            services.store_create(actor=Actor.system(merchant.pk), data=data())
        assert error.value.code == "store_code_taken"
        assert Store.objects.filter(code="new01").count() == 1
        assert OpeningHours.objects.filter(store__code="new01").count() == 7  # the factory's, untouched


class TestStatus:
    def test_manager_cannot_close_for_good(self, store):
        with pytest.raises(Forbidden):
            services.store_set_status(actor=manager(store), store=store, status=StoreStatus.CLOSED)
        assert Store.objects.get(pk=store.pk).status == StoreStatus.OPEN

    def test_hq_closes_for_good_then_nobody_resumes(self, store):
        hq = Actor.system(store.merchant_id)
        services.store_set_status(actor=hq, store=store, status=StoreStatus.CLOSED)
        with pytest.raises(Conflict):
            services.store_set_status(actor=hq, store=store, status=StoreStatus.OPEN)
        assert Store.objects.get(pk=store.pk).status == StoreStatus.CLOSED

    def test_unknown_status_is_refused(self, store):
        with pytest.raises(ValidationFailed):
            services.store_set_status(actor=manager(store), store=store, status="asleep")

    def test_other_store_is_not_found(self, store, other_store):
        with pytest.raises(NotFound):
            services.store_set_status(actor=manager(store), store=other_store, status=StoreStatus.PAUSED)
        assert Store.objects.get(pk=other_store.pk).status == StoreStatus.OPEN


class TestSpecialDay:
    def test_set_replaces_the_same_date(self, store):
        day = dt.date.today() + dt.timedelta(days=3)  # noqa: DTZ011
        services.special_day_set(actor=manager(store), store=store, date=day, closed=True, note="盘点")
        services.special_day_set(
            actor=manager(store),
            store=store,
            date=day.isoformat(),
            closed=False,
            opens="10:00",
            closes="14:00",
        )
        assert list(SpecialDay.objects.values_list("date", "closed", "opens", "closes")) == [
            (day, False, dt.time(10), dt.time(14))
        ]

    def test_clerk_cannot(self, store):
        with pytest.raises(Forbidden):
            services.special_day_set(actor=clerk(store), store=store, date=dt.date(2099, 1, 1), closed=True)
        assert not SpecialDay.objects.exists()

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"date": dt.date(2001, 1, 1), "closed": True},
            {"date": dt.datetime(2099, 1, 1, tzinfo=dt.UTC), "closed": True},
            {"date": "2099-1-1", "closed": True},
            {"date": dt.date(2099, 1, 1), "closed": False, "opens": "10:00"},
            {"date": dt.date(2099, 1, 1), "closed": True, "closes": "10:00"},
            {"date": dt.date(2099, 1, 1), "closed": "no"},
            {"date": dt.date(2099, 1, 1), "closed": True, "note": "x" * 101},
        ],
    )
    def test_invalid(self, store, kwargs):
        with pytest.raises(ValidationFailed):
            services.special_day_set(actor=manager(store), store=store, **kwargs)
        assert not SpecialDay.objects.exists()


class TestHours:
    def test_more_than_six_spans_a_day_is_refused(self, store):
        spans = [{"weekday": 0, "open": f"{h:02d}:00", "close": f"{h:02d}:30"} for h in range(7)]
        with pytest.raises(ValidationFailed):
            services.store_set_hours(actor=manager(store), store=store, hours=spans)
        assert OpeningHours.objects.filter(store=store).count() == 7

    def test_spans_of_different_days_may_meet_across_midnight(self, store):
        spans = [
            {"weekday": 4, "open": "18:00", "close": "03:00"},
            {"weekday": 5, "open": "00:00", "close": "00:00"},
        ]
        services.store_set_hours(actor=manager(store), store=store, hours=spans)
        assert OpeningHours.objects.filter(store=store).count() == 2

    def test_not_a_list_is_refused(self, store):
        with pytest.raises(ValidationFailed):
            services.store_set_hours(actor=manager(store), store=store, hours={"weekday": 0})
