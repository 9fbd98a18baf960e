"""Opening hours: what a customer sees as "open", "opens at 09:00", "closes at 02:00"."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mendian.stores.hours import (
    Schedule,
    parse_hhmm,
    schedule_is_open,
    schedule_open_state,
    store_is_open,
    store_open_state,
)
from mendian.stores.models import SpecialDay, Store, StoreStatus
from mendian.stores.selectors import stores_with_schedule
from tests.factories import MerchantFactory, StoreFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
T = dt.time


def at(year, month, day, hour, minute=0, tz=SHANGHAI) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def schedule(weekly=None, special=None, operating=True, tz=SHANGHAI) -> Schedule:
    return Schedule(
        tz=tz,
        weekly={day: tuple(spans) for day, spans in (weekly or {}).items()},
        special={day: tuple(spans) for day, spans in (special or {}).items()},
        operating=operating,
    )


# 2025-03-03 is a Monday; 2025-03-08 a Saturday, 2025-03-09 a Sunday.
MON, TUE, SAT, SUN = 0, 1, 5, 6


class TestRegularDay:
    hours = schedule({MON: [(T(9), T(21))], TUE: [(T(9), T(21))]})

    def test_before_opening_is_closed_and_says_when_it_opens(self):
        state = schedule_open_state(self.hours, at(2025, 3, 3, 8, 59))
        assert state.is_open is False
        assert state.next_change_at == at(2025, 3, 3, 9, 0)
        assert state.today == [(T(9), T(21))]

    def test_at_opening_minute_it_is_open_until_closing(self):
        state = schedule_open_state(self.hours, at(2025, 3, 3, 9, 0))
        assert state.is_open is True
        assert state.next_change_at == at(2025, 3, 3, 21, 0)

    def test_at_closing_minute_it_is_closed_until_the_next_day(self):
        state = schedule_open_state(self.hours, at(2025, 3, 3, 21, 0))
        assert state.is_open is False
        assert state.next_change_at == at(2025, 3, 4, 9, 0)

    def test_after_the_last_day_of_the_week_it_opens_next_monday(self):
        state = schedule_open_state(self.hours, at(2025, 3, 4, 22, 0))
        assert state.is_open is False
        assert state.next_change_at == at(2025, 3, 10, 9, 0)
        assert state.today == [(T(9), T(21))]


class TestPastMidnight:
    hours = schedule({SAT: [(T(22), T(2))]})

    def test_saturday_night_span_is_open_at_sunday_one_am(self):
        state = schedule_open_state(self.hours, at(2025, 3, 9, 1, 0))
        assert state.is_open is True
        assert state.next_change_at == at(2025, 3, 9, 2, 0)
        # Sunday has no spans of its own: the night belongs to Saturday.
        assert state.today == []

    def test_closed_at_two_am_and_before_ten_pm(self):
        assert schedule_is_open(self.hours, at(2025, 3, 9, 2, 0)) is False
        assert schedule_is_open(self.hours, at(2025, 3, 8, 21, 59)) is False
        assert schedule_is_open(self.hours, at(2025, 3, 8, 22, 0)) is True
        assert schedule_is_open(self.hours, at(2025, 3, 8, 23, 59)) is True

    def test_closing_at_midnight_ends_on_the_day_boundary(self):
        hours = schedule({SAT: [(T(18), T(0))]})
        assert schedule_is_open(hours, at(2025, 3, 8, 23, 59)) is True
        assert schedule_is_open(hours, at(2025, 3, 9, 0, 0)) is False
        assert schedule_open_state(hours, at(2025, 3, 8, 20)).next_change_at == at(2025, 3, 9, 0, 0)

    def test_a_night_span_joined_by_the_next_days_span_closes_at_the_later_end(self):
        hours = schedule({SAT: [(T(20), T(3))], SUN: [(T(1), T(5))]})
        state = schedule_open_state(hours, at(2025, 3, 8, 23, 0))
        assert state.is_open is True
        assert state.next_change_at == at(2025, 3, 9, 5, 0)


class TestAllDay:
    def test_every_day_all_day_is_open_with_no_change_in_sight(self):
        hours = schedule({day: [(T(0), T(0))] for day in range(7)})
        state = schedule_open_state(hours, at(2025, 3, 5, 3, 33))
        assert state == state.__class__(is_open=True, today=[(T(0), T(0))], next_change_at=None)

    def test_one_all_day_closes_at_the_next_midnight(self):
        hours = schedule({MON: [(T(0), T(0))]})
        state = schedule_open_state(hours, at(2025, 3, 3, 12, 0))
        assert state.is_open is True
        assert state.next_change_at == at(2025, 3, 4, 0, 0)

    def test_equal_times_other_than_midnight_mean_24_hours_from_opening(self):
        hours = schedule({MON: [(T(9), T(9))]})
        assert schedule_is_open(hours, at(2025, 3, 4, 8, 59)) is True
        assert schedule_is_open(hours, at(2025, 3, 4, 9, 0)) is False
        assert schedule_is_open(hours, at(2025, 3, 3, 8, 59)) is False


class TestSeveralSpansAndNone:
    def test_lunch_break_between_two_spans(self):
        hours = schedule({MON: [(T(14), T(20)), (T(9), T(12))]})
        state = schedule_open_state(hours, at(2025, 3, 3, 13, 0))
        assert state.is_open is False
        assert state.next_change_at == at(2025, 3, 3, 14, 0)
        assert state.today == [(T(9), T(12)), (T(14), T(20))]
        assert schedule_open_state(hours, at(2025, 3, 3, 11, 0)).next_change_at == at(2025, 3, 3, 12, 0)

    def test_no_regular_hours_is_closed_with_nothing_to_announce(self):
        state = schedule_open_state(schedule({}), at(2025, 3, 3, 12, 0))
        assert state == state.__class__(is_open=False, today=[], next_change_at=None)

    def test_no_regular_hours_opens_on_a_special_day(self):
        hours = schedule({}, special={dt.date(2025, 3, 7): [(T(10), T(16))]})
        state = schedule_open_state(hours, at(2025, 3, 3, 12, 0))
        assert state.is_open is False
        assert state.next_change_at == at(2025, 3, 7, 10, 0)
        assert schedule_is_open(hours, at(2025, 3, 7, 10, 0)) is True


class TestSpecialDays:
    weekly = {day: [(T(9), T(21))] for day in range(7)}

    def test_a_holiday_closure_replaces_the_weekday(self):
        hours = schedule(self.weekly, special={dt.date(2025, 3, 3): []})
        state = schedule_open_state(hours, at(2025, 3, 3, 12, 0))
        assert state.is_open is False
        assert state.today == []
        assert state.next_change_at == at(2025, 3, 4, 9, 0)

    def test_extended_hours_run_past_midnight_into_new_year(self):
        hours = schedule(self.weekly, special={dt.date(2024, 12, 31): [(T(9), T(2))]})
        assert schedule_is_open(hours, at(2025, 1, 1, 1, 30)) is True
        state = schedule_open_state(hours, at(2024, 12, 31, 22, 0))
        assert state.is_open is True
        assert state.next_change_at == at(2025, 1, 1, 2, 0)
        assert state.today == [(T(9), T(2))]

    def test_a_closure_does_not_cut_short_the_previous_nights_span(self):
        hours = schedule({SAT: [(T(22), T(2))]}, special={dt.date(2025, 3, 9): []})
        assert schedule_is_open(hours, at(2025, 3, 9, 1, 0)) is True

    def test_a_closed_special_day_is_skipped_when_announcing_the_next_opening(self):
        hours = schedule(self.weekly, special={dt.date(2025, 3, 4): []})
        assert schedule_open_state(hours, at(2025, 3, 3, 22, 0)).next_change_at == at(2025, 3, 5, 9, 0)


class TestNotOperating:
    def test_paused_or_closed_store_is_never_open(self):
        hours = schedule({day: [(T(0), T(0))] for day in range(7)}, operating=False)
        state = schedule_open_state(hours, at(2025, 3, 3, 12, 0))
        assert state.is_open is False
        assert state.next_change_at is None
        assert state.today == [(T(0), T(0))]
        assert schedule_is_open(hours, at(2025, 3, 3, 12, 0)) is False


class TestTimeZones:
    hours = {MON: [(T(9), T(21))]}

    def test_evaluated_on_the_stores_wall_clock(self):
        urumqi = schedule(self.hours, tz=URUMQI)
        # 02:30 UTC is 10:30 in Shanghai but 08:30 in Urumqi (UTC+6).
        moment = dt.datetime(2025, 3, 3, 2, 30, tzinfo=dt.UTC)
        assert schedule_is_open(schedule(self.hours), moment) is True
        state = schedule_open_state(urumqi, moment)
        assert state.is_open is False
        assert state.next_change_at == dt.datetime(2025, 3, 3, 9, 0, tzinfo=URUMQI)
        assert state.next_change_at.isoformat() == "2025-03-03T09:00:00+06:00"

    def test_the_stores_weekday_is_its_local_one(self):
        # Sunday 23:30 UTC is already Monday 07:30 in Shanghai.
        moment = dt.datetime(2025, 3, 2, 23, 30, tzinfo=dt.UTC)
        assert schedule_open_state(schedule(self.hours), moment).today == [(T(9), T(21))]
        assert schedule_open_state(schedule(self.hours, tz=ZoneInfo("Europe/London")), moment).today == []

    def test_naive_datetimes_are_refused(self):
        with pytest.raises(ValueError):
            schedule_is_open(schedule(self.hours), dt.datetime(2025, 3, 3, 12, 0))  # noqa: DTZ001


class TestParse:
    @pytest.mark.parametrize(
        ("text", "expected"), [("00:00", T(0)), ("09:05", T(9, 5)), ("23:59", T(23, 59))]
    )
    def test_valid(self, text, expected):
        assert parse_hhmm(text) == expected

    @pytest.mark.parametrize("text", ["24:00", "9:00", "09:60", "0900", "09:00:00", " 09:00", "", None, 900])
    def test_invalid(self, text):
        with pytest.raises(ValueError):
            parse_hhmm(text)


# --- against the database: zones, status and prefetching ---------------------------------------


@pytest.mark.django_db
class TestStores:
    def test_store_in_urumqi_uses_its_own_zone_not_the_merchants(self):
        store = StoreFactory(timezone="Asia/Urumqi", hours=[(d, T(9), T(21)) for d in range(7)])
        assert store.merchant.timezone == "Asia/Shanghai"
        moment = dt.datetime(2025, 3, 3, 2, 30, tzinfo=dt.UTC)  # 08:30 in Urumqi
        assert store_is_open(store, moment) is False
        assert store_is_open(store, moment + dt.timedelta(minutes=30)) is True

    def test_store_inherits_the_merchants_zone(self):
        merchant = MerchantFactory(timezone="Europe/London")
        store = StoreFactory(merchant=merchant, hours=[(d, T(9), T(17)) for d in range(7)])
        moment = dt.datetime(2025, 3, 3, 16, 30, tzinfo=dt.UTC)  # 00:30 in Shanghai, 16:30 in London
        state = store_open_state(store, moment)
        assert state.is_open is True
        assert state.next_change_at == dt.datetime(2025, 3, 3, 17, 0, tzinfo=ZoneInfo("Europe/London"))

    @pytest.mark.parametrize("status", [StoreStatus.PAUSED, StoreStatus.CLOSED])
    def test_paused_and_closed_stores_are_not_open_even_within_hours(self, status):
        store = StoreFactory(status=status)
        assert store_is_open(store) is False
        assert store_open_state(store).next_change_at is None

    def test_special_day_row_closes_the_store(self):
        store = StoreFactory(hours=[(d, T(9), T(21)) for d in range(7)])
        SpecialDay.objects.create(store=store, date=dt.date(2025, 3, 3), closed=True, note="盘点")
        assert store_is_open(store, at(2025, 3, 3, 12)) is False
        assert store_is_open(store, at(2025, 3, 4, 12)) is True

    def test_a_prefetched_store_is_evaluated_without_queries(self, django_assert_num_queries):
        store = StoreFactory(hours=[(d, T(9), T(21)) for d in range(7)])
        SpecialDay.objects.create(store=store, date=dt.date(2025, 3, 4), opens=T(10), closes=T(2))
        moment = at(2025, 3, 4, 23)
        prefetched = stores_with_schedule(Store.objects.filter(pk=store.pk), at=moment).get()
        with django_assert_num_queries(0):
            state = store_open_state(prefetched, moment)
            assert store_is_open(prefetched, moment) is True
        assert state.next_change_at == at(2025, 3, 5, 2, 0)


# --- properties against an independent minute-by-minute model --------------------------------

_half_hours = st.integers(min_value=0, max_value=47).map(lambda n: T(n // 2, 30 * (n % 2)))
_spans = st.lists(st.tuples(_half_hours, _half_hours), max_size=2)
_weekly = st.dictionaries(st.integers(min_value=0, max_value=6), _spans, max_size=7)
_days = st.dates(min_value=dt.date(2025, 3, 1), max_value=dt.date(2025, 3, 20))
_special = st.dictionaries(_days, _spans, max_size=4)
_moments = st.datetimes(
    min_value=dt.datetime(2025, 3, 3), max_value=dt.datetime(2025, 3, 12), timezones=st.just(SHANGHAI)
).map(lambda moment: moment.replace(minute=moment.minute // 30 * 30, second=0, microsecond=0))


def reference_is_open(weekly, special, moment: dt.datetime) -> bool:
    """Minutes since the opening day's midnight, checked for today's and yesterday's spans."""
    local = moment.astimezone(SHANGHAI)
    minute_of_day = local.hour * 60 + local.minute
    for days_back in (0, 1):
        day = local.date() - dt.timedelta(days=days_back)
        spans = special[day] if day in special else weekly.get(day.weekday(), [])
        for opens, closes in spans:
            start = opens.hour * 60 + opens.minute
            length = (closes.hour * 60 + closes.minute - start) % 1440 or 1440
            if start <= minute_of_day + days_back * 1440 < start + length:
                return True
    return False


@settings(max_examples=200, deadline=None)
@given(weekly=_weekly, special=_special, moment=_moments)
def test_is_open_matches_the_reference_model(weekly, special, moment):
    hours = schedule(weekly, special)
    expected = reference_is_open(weekly, special, moment)
    assert schedule_is_open(hours, moment) is expected
    assert schedule_open_state(hours, moment).is_open is expected


@settings(max_examples=100, deadline=None)
@given(weekly=_weekly, special=_special, moment=_moments)
def test_next_change_is_the_first_moment_the_state_flips(weekly, special, moment):
    hours = schedule(weekly, special)
    state = schedule_open_state(hours, moment)
    step = dt.timedelta(minutes=30)
    probe = moment + step
    limit = state.next_change_at or moment + dt.timedelta(days=8)
    while probe < limit:
        assert reference_is_open(weekly, special, probe) is state.is_open, probe
        probe += step
    if state.next_change_at is not None:
        assert state.next_change_at > moment
        assert reference_is_open(weekly, special, state.next_change_at) is not state.is_open
