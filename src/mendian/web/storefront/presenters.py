"""Turning domain objects into what the storefront shows: status lines, distances, prices, links.

Pure functions over objects the selectors already loaded (prefetched hours, photos): no queries.
"""

import datetime as dt
import math

from django.utils.translation import gettext as _

from mendian.core.money import format_yuan
from mendian.stores.hours import format_hhmm, store_local_today
from mendian.stores.models import StoreStatus
from mendian.stores.selectors import store_open_state

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def distance_text(distance_m: float | None) -> str:
    """850 -> "850m", 1234 -> "1.2km", 123456 -> "123km"."""
    if distance_m is None or not math.isfinite(distance_m):
        return ""
    if distance_m < 1000:
        return f"{max(1, round(distance_m))}m"
    km = distance_m / 1000
    if km < 100:
        return f"{km:.1f}km"
    return f"{round(km)}km"


def price_parts(amount: int | None) -> dict | None:
    """1290 -> {"yuan": "12.90", "int": "12", "dec": "90"} for the `.price` markup."""
    if amount is None:
        return None
    yuan = format_yuan(amount)
    whole, _sep, dec = yuan.partition(".")
    return {"yuan": yuan, "int": whole, "dec": dec, "amount": int(amount)}


def _day_label(day: dt.date, today: dt.date) -> str:
    delta = (day - today).days
    if delta == 0:
        return ""
    if delta == 1:
        return _("明天")
    if delta == 2:
        return _("后天")
    if 2 < delta < 7:
        return _(WEEKDAYS[day.weekday()])
    return _("%(month)d月%(day)d日") % {"month": day.month, "day": day.day}


def _when(moment: dt.datetime, today: dt.date) -> str:
    label = _day_label(moment.date(), today)
    time = format_hhmm(moment.time())
    return f"{label} {time}" if label else time


def span_text(opens: dt.time, closes: dt.time) -> str:
    if opens == closes:
        return _("24小时营业")
    if closes < opens:
        return _("%(opens)s–次日%(closes)s") % {"opens": format_hhmm(opens), "closes": format_hhmm(closes)}
    return f"{format_hhmm(opens)}–{format_hhmm(closes)}"


def special_day_hours(day) -> str:
    """A special day's hours as the store page announces them: 休息, 24小时营业, or 营业 and the span."""
    if day.closed:
        return _("休息")
    if day.opens == day.closes:
        return span_text(day.opens, day.closes)
    return _("营业 %(span)s") % {"span": span_text(day.opens, day.closes)}


def store_status(store, at: dt.datetime | None = None) -> dict:
    """{"kind": "open"|"closed"|"paused", "label": "营业中", "detail": "21:00 打烊", "text": "…",
    "today": "07:00–21:00"}: what the badge and the hours line say, in the store's own zone."""
    state = store_open_state(store, at)
    today = store_local_today(store, at)
    if state.today:
        today_text = "、".join(span_text(opens, closes) for opens, closes in state.today)
    else:
        today_text = _("今日休息")
    if store.status != StoreStatus.OPEN:
        label = _("暂停营业") if store.status == StoreStatus.PAUSED else _("已停业")
        return {"kind": "paused", "label": label, "detail": "", "text": label, "today": today_text}
    if state.is_open:
        label = _("营业中")
        if state.next_change_at is None:
            detail = _("24小时营业")
        else:
            detail = _("%(when)s 打烊") % {"when": _when(state.next_change_at, today)}
        kind = "open"
    else:
        label = _("休息中")
        if state.next_change_at is None:
            detail = ""
        else:
            detail = _("%(when)s 营业") % {"when": _when(state.next_change_at, today)}
        kind = "closed"
    text = f"{label} · {detail}" if detail else label
    return {"kind": kind, "label": label, "detail": detail, "text": text, "today": today_text}


def store_thumb(store) -> str:
    """The first photo's thumbnail (or image) URL when the photos were prefetched; else ""."""
    cache = getattr(store, "_prefetched_objects_cache", {})
    if "photos" not in cache:
        return ""
    for photo in store.photos.all():
        field = photo.thumbnail or photo.image
        if field:
            return field.url
    return ""


def store_card(store, *, distance_m: float | None = None, at: dt.datetime | None = None) -> dict:
    return {
        "id": store.pk,
        "name": store.name,
        "address": store.address,
        "district": store.district,
        "distance": distance_text(distance_m),
        "status": store_status(store, at),
        "pickup": store.pickup_enabled,
        "delivery": store.delivery_enabled,
        "thumb": store_thumb(store),
    }
