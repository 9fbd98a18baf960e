"""The weekly opening-hours editor (both consoles): seven day rows, each closed, open all day or one
or more open-close spans. A close at or before the open runs into the next day ("次日").

Form fields per weekday `d` (Monday 0): `h{d}-mode` = spans | allday | closed, and the lists
`h{d}-open` / `h{d}-close` (one pair per span, in order). Parsed into the store API's shape
`[{weekday, open: "HH:MM", close: "HH:MM"}]`.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from itertools import zip_longest

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.stores.hours import format_hhmm, span_minutes
from mendian.stores.services import MAX_SPANS_PER_DAY

WEEKDAY_LABELS = (
    gettext_lazy("周一"),
    gettext_lazy("周二"),
    gettext_lazy("周三"),
    gettext_lazy("周四"),
    gettext_lazy("周五"),
    gettext_lazy("周六"),
    gettext_lazy("周日"),
)
MODES = ("spans", "allday", "closed")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:00)?$")


@dataclass
class Span:
    open: str = ""
    close: str = ""

    @property
    def overnight(self) -> bool:
        return bool(self.open and self.close and self.close < self.open)

    @property
    def full_day(self) -> bool:
        return bool(self.open and self.close and self.close == self.open)


@dataclass
class DayHours:
    weekday: int
    mode: str = "spans"
    spans: list[Span] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(WEEKDAY_LABELS[self.weekday])

    @property
    def prefix(self) -> str:
        return f"h{self.weekday}"

    @property
    def shown_spans(self) -> list[Span]:
        """At least one (empty) row so the day can be filled in."""
        return self.spans or [Span()]


def days_from_rows(rows) -> list[DayHours]:
    """From OpeningHours rows (weekday, opens, closes) - a prefetched `store.opening_hours.all()`."""
    days = [DayHours(weekday=d) for d in range(7)]
    for row in sorted(rows, key=lambda r: (r.weekday, r.opens)):
        days[row.weekday].spans.append(Span(format_hhmm(row.opens), format_hhmm(row.closes)))
    for day in days:
        if not day.spans:
            day.mode = "closed"
        elif len(day.spans) == 1 and day.spans[0].open == day.spans[0].close == "00:00":
            day.mode, day.spans = "allday", []
    return days


def default_days() -> list[DayHours]:
    """A new store: 09:00-21:00 every day."""
    return [DayHours(weekday=d, spans=[Span("09:00", "21:00")]) for d in range(7)]


def _clean_time(raw: str) -> str | None:
    match = _TIME.match((raw or "").strip())
    return f"{match.group(1)}:{match.group(2)}" if match else None


def days_from_post(data) -> tuple[list[DayHours], list[dict] | None]:
    """(the days as entered, for re-display; the API list or None when any day has errors)."""
    days: list[DayHours] = []
    cleaned: list[dict] = []
    ok = True
    for weekday in range(7):
        prefix = f"h{weekday}"
        mode = data.get(f"{prefix}-mode", "spans")
        day = DayHours(weekday=weekday, mode=mode if mode in MODES else "spans")
        pairs = zip_longest(data.getlist(f"{prefix}-open"), data.getlist(f"{prefix}-close"), fillvalue="")
        for raw_open, raw_close in pairs:
            if not raw_open.strip() and not raw_close.strip():
                continue
            day.spans.append(Span(raw_open.strip()[:8], raw_close.strip()[:8]))
        if mode not in MODES:
            day.errors.append(_("请选择营业方式"))
        elif mode == "closed":
            day.spans = []
        elif mode == "allday":
            day.spans = []
            cleaned.append({"weekday": weekday, "open": "00:00", "close": "00:00"})
        else:
            cleaned.extend(_clean_spans(day))
        ok = ok and not day.errors
        days.append(day)
    return days, (cleaned if ok else None)


def _clean_spans(day: DayHours) -> list[dict]:
    if not day.spans:
        day.errors.append(_("请至少填写一个营业时段，或选择“休息”"))
        return []
    if len(day.spans) > MAX_SPANS_PER_DAY:
        day.errors.append(_("每天最多 %(count)s 个时段") % {"count": MAX_SPANS_PER_DAY})
        return []
    result = []
    for span in day.spans:
        opens, closes = _clean_time(span.open), _clean_time(span.close)
        if not span.open or not span.close:
            day.errors.append(_("每个时段都需要开始和结束时间"))
            return []
        if opens is None or closes is None:
            day.errors.append(_("时间格式应为 HH:MM，如 09:00"))
            return []
        span.open, span.close = opens, closes
        result.append({"weekday": day.weekday, "open": opens, "close": closes})
    minutes = sorted(
        span_minutes(dt.time.fromisoformat(s["open"]), dt.time.fromisoformat(s["close"])) for s in result
    )
    latest_end = -1
    for start, end in minutes:
        if start < latest_end:
            day.errors.append(_("时段之间有重叠，请调整"))
            return []
        latest_end = max(latest_end, end)
    return result


def days_with_error(days: list[DayHours], message: str) -> list[DayHours]:
    """A service refusal of the whole week (rare: the editor checks first) shown on the first row."""
    if days:
        days[0].errors.append(message)
    return days
