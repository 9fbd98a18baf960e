"""Opening hours: weekly spans and special days, evaluated in the store's own time zone.

The rules (the HQ API contract spells them out):
- a span `opens`-`closes` belongs to the day it opens on; `closes` before `opens` runs past
  midnight into the next day, so Saturday 22:00-02:00 means open at Sunday 01:00;
- `opens == closes` is 24 hours from `opens` ("00:00"-"00:00" is the whole calendar day);
- several spans a day are allowed (a lunch break is two spans); no spans: closed that day;
- a special day replaces the spans that open on that date (closed, or other hours). A span of
  the day before that runs past midnight still ends as planned: it is that evening's business;
- a paused or closed-for-good store is never open.

Everything here is pure: it reads a store's hours and special days as `stores_with_schedule`
prefetches them (or, for a lone store, with one query each), so a list is evaluated without a
query per store.
"""

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from mendian.merchants.timezones import is_valid_timezone

# Days ahead searched for the next opening or closing ("opens Monday 09:00" after a long weekend).
HORIZON_DAYS = 8
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_ONE_DAY = dt.timedelta(days=1)

Span = tuple[dt.time, dt.time]

__all__ = [
    "OpenState",
    "Schedule",
    "format_hhmm",
    "is_valid_timezone",
    "parse_hhmm",
    "schedule_is_open",
    "schedule_open_state",
    "store_hours_rows",
    "store_is_open",
    "store_open_state",
    "store_special_day_rows",
]


@dataclass(frozen=True, slots=True)
class OpenState:
    is_open: bool
    # Today's spans (store-local date, after any special day), in opening order.
    today: list[Span]
    # When `is_open` next flips, in the store's zone; None when no change is in sight.
    next_change_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Schedule:
    tz: ZoneInfo
    weekly: dict[int, tuple[Span, ...]]
    # A special date's spans; an empty tuple means closed all that day.
    special: dict[dt.date, tuple[Span, ...]]
    operating: bool = True

    def spans_on(self, day: dt.date) -> tuple[Span, ...]:
        if day in self.special:
            return self.special[day]
        return self.weekly.get(day.weekday(), ())


def parse_hhmm(value: str | dt.time) -> dt.time:
    """Strict "HH:MM", 00:00-23:59 ("24:00" and "9:00" are refused). Raises ValueError."""
    if isinstance(value, dt.time):
        if value.second or value.microsecond or value.tzinfo:
            raise ValueError("times are whole minutes without a zone")
        return value
    match = _HHMM.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError('use "HH:MM" between 00:00 and 23:59')
    return dt.time(int(match.group(1)), int(match.group(2)))


def format_hhmm(value: dt.time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def span_minutes(opens: dt.time, closes: dt.time) -> tuple[int, int]:
    """(start, end) in minutes from the opening day's midnight; end may pass 1440."""
    start = opens.hour * 60 + opens.minute
    end = closes.hour * 60 + closes.minute
    if end <= start:
        end += 24 * 60
    return start, end


def _interval(day: dt.date, opens: dt.time, closes: dt.time) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, opens)  # store-local wall time; the zone is applied later
    end = dt.datetime.combine(day if closes > opens else day + _ONE_DAY, closes)
    return start, end


def _merged_intervals(
    schedule: Schedule, first_day: dt.date, last_day: dt.date
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The open intervals of spans opening from first_day to last_day, in order, overlapping ones
    joined. Lazily, a day at a time: a span starts on the day it opens, so the days come in order
    of start, and a caller that stops at the interval around `now` reads two or three days, not
    the whole horizon."""
    merged: list[dt.datetime] | None = None
    day = first_day
    while day <= last_day:
        for start, end in sorted(_interval(day, opens, closes) for opens, closes in schedule.spans_on(day)):
            if merged is not None and start <= merged[1]:
                merged[1] = max(merged[1], end)
            else:
                if merged is not None:
                    yield merged[0], merged[1]
                merged = [start, end]
        day += _ONE_DAY
    if merged is not None:
        yield merged[0], merged[1]


def _local_now(schedule: Schedule, at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware datetime")
    return at.astimezone(schedule.tz).replace(tzinfo=None)


def schedule_is_open(schedule: Schedule, at: dt.datetime) -> bool:
    if not schedule.operating:
        return False
    now = _local_now(schedule, at)
    today = now.date()
    for day in (today - _ONE_DAY, today):
        for opens, closes in schedule.spans_on(day):
            start, end = _interval(day, opens, closes)
            if start <= now < end:
                return True
    return False


def schedule_open_state(schedule: Schedule, at: dt.datetime) -> OpenState:
    now = _local_now(schedule, at)
    today = now.date()
    today_spans = sorted(schedule.spans_on(today))
    if not schedule.operating:
        return OpenState(is_open=False, today=today_spans, next_change_at=None)
    last_day = today + dt.timedelta(days=HORIZON_DAYS)
    # Spans opening after last_day are not looked at: an interval reaching past this point may
    # continue, so its end is not a known change.
    unknown_after = dt.datetime.combine(last_day + _ONE_DAY, dt.time(0, 0))
    for start, end in _merged_intervals(schedule, today - _ONE_DAY, last_day):
        if end <= now:
            continue
        if start <= now:
            closes_at = None if end >= unknown_after else end.replace(tzinfo=schedule.tz)
            return OpenState(is_open=True, today=today_spans, next_change_at=closes_at)
        return OpenState(is_open=False, today=today_spans, next_change_at=start.replace(tzinfo=schedule.tz))
    return OpenState(is_open=False, today=today_spans, next_change_at=None)


def schedule_from_rows(
    *, tz_name: str, operating: bool, weekly_rows: Iterable, special_rows: Iterable
) -> Schedule:
    """From OpeningHours-like rows (weekday, opens, closes) and SpecialDay-like rows."""
    weekly: dict[int, list[Span]] = {}
    for row in weekly_rows:
        weekly.setdefault(row.weekday, []).append((row.opens, row.closes))
    special: dict[dt.date, list[Span]] = {}
    closed_dates: set[dt.date] = set()
    for row in special_rows:
        if row.closed:
            closed_dates.add(row.date)
        else:
            special.setdefault(row.date, []).append((row.opens, row.closes))
    special_spans = {day: tuple(spans) for day, spans in special.items()}
    special_spans.update(dict.fromkeys(closed_dates, ()))
    return Schedule(
        tz=ZoneInfo(tz_name),
        weekly={day: tuple(spans) for day, spans in weekly.items()},
        special=special_spans,
        operating=operating,
    )


# Where `stores.selectors.stores_with_schedule` puts a store's rows: plain lists, which Django
# fills without building a related manager and a filtered queryset per store.
PREFETCHED_HOURS = "prefetched_hours"
PREFETCHED_SPECIAL_DAYS = "prefetched_special_days"


def store_hours_rows(store) -> list:
    """The store's OpeningHours rows (weekday, opening order): prefetched, else one query. A
    nearest-store search prefetches light rows with the same fields (`selectors.HoursRow`)."""
    rows = getattr(store, PREFETCHED_HOURS, None)
    return rows if rows is not None else list(store.opening_hours.all())


def store_special_day_rows(store) -> list:
    """The store's SpecialDay rows by date: the prefetched window, else every one (one query).
    A nearest-store search prefetches light rows (`selectors.SpecialDayRow`)."""
    rows = getattr(store, PREFETCHED_SPECIAL_DAYS, None)
    return rows if rows is not None else list(store.special_days.all())


def store_schedule(store) -> Schedule:
    from mendian.stores.models import StoreStatus

    return schedule_from_rows(
        tz_name=store.tz_name,
        operating=store.status == StoreStatus.OPEN,
        weekly_rows=store_hours_rows(store),
        special_rows=store_special_day_rows(store),
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def store_open_state(store, at: dt.datetime | None = None) -> OpenState:
    return schedule_open_state(store_schedule(store), at or _now())


def store_is_open(store, at: dt.datetime | None = None) -> bool:
    return schedule_is_open(store_schedule(store), at or _now())


def store_local_today(store, at: dt.datetime | None = None) -> dt.date:
    return (at or _now()).astimezone(ZoneInfo(store.tz_name)).date()
