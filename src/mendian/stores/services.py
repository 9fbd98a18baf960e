"""Store writes. Each service is one transaction, checks the actor's capability and scope, and
validates its whole input before writing anything."""

import datetime as dt
import math
import re
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mendian.catalog import shelf
from mendian.catalog.images import process_image
from mendian.core.errors import Conflict, NotFound, ValidationFailed
from mendian.core.geo import wgs84_to_gcj02
from mendian.core.scope import Actor
from mendian.merchants.models import Merchant
from mendian.stores.hours import is_valid_timezone, parse_hhmm, span_minutes, store_local_today
from mendian.stores.models import OpeningHours, SpecialDay, Store, StorePhoto, StoreStatus

MAX_SPANS_PER_DAY = 6
MAX_SPECIAL_DAYS = 366
MAX_PHOTOS_PER_STORE = 20
MAX_DELIVERY_RADIUS_M = 100_000
MAX_PREP_MINUTES = 24 * 60

_TEXT_FIELDS = ("code", "name", "address", "city", "district", "phone", "intro")
_BOOL_FIELDS = ("pickup_enabled", "delivery_enabled")
_STORE_KEYS = frozenset(
    {
        *_TEXT_FIELDS,
        *_BOOL_FIELDS,
        "lat",
        "lng",
        "coord_type",
        "timezone",
        "status",
        "pickup_prep_minutes",
        "opening_hours",
        "special_days",
        "delivery",
    }
)
_REQUIRED_ON_CREATE = ("code", "name", "address", "lat", "lng", "opening_hours")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DELIVERY_KEYS = {
    "radius_m": "delivery_radius_m",
    "fee": "delivery_fee",
    "free_over": "delivery_free_over",
    "min_order": "delivery_min_order",
}


class _Errors:
    """Collects every problem of one input so the client sees them all at once."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, loc: list, msg: str) -> None:
        self.items.append({"loc": loc, "msg": msg})

    def raise_if_any(self, detail: str = "The store data is not valid.") -> None:
        if self.items:
            raise ValidationFailed(detail, errors=self.items)


# --- field cleaning -------------------------------------------------------------------------


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def clean_weekly_hours(items, errors: _Errors, loc: list) -> list[tuple[int, dt.time, dt.time]]:
    """[{weekday, open, close}] -> [(weekday, opens, closes)]; spans of one day must not overlap."""
    if not isinstance(items, list):
        errors.add(loc, "must be a list of {weekday, open, close}")
        return []
    spans = []
    for index, item in enumerate(items):
        item_loc = [*loc, index]
        if not isinstance(item, dict) or set(item) != {"weekday", "open", "close"}:
            errors.add(item_loc, "must be {weekday, open, close}")
            continue
        weekday = item["weekday"]
        if not _is_int(weekday) or not 0 <= weekday <= 6:
            errors.add([*item_loc, "weekday"], "must be 0 (Monday) to 6 (Sunday)")
            continue
        try:
            opens, closes = parse_hhmm(item["open"]), parse_hhmm(item["close"])
        except ValueError as exc:
            errors.add(item_loc, str(exc))
            continue
        spans.append((weekday, opens, closes))
    for weekday in range(7):
        day_spans = sorted(span_minutes(o, c) for w, o, c in spans if w == weekday)
        if len(day_spans) > MAX_SPANS_PER_DAY:
            errors.add(loc, f"at most {MAX_SPANS_PER_DAY} spans a day")
        latest_end = -1
        for start, end in day_spans:
            if start < latest_end:
                errors.add(loc, f"spans of weekday {weekday} overlap")
                break
            latest_end = max(latest_end, end)
    return sorted(spans)


def _clean_date(value) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return dt.date.fromisoformat(value)
    raise ValueError("must be a date YYYY-MM-DD")


def clean_special_day(item, errors: _Errors, loc: list, *, earliest: dt.date):
    """{date, closed, open?, close?, note?} -> (date, closed, opens, closes, note) or None."""
    if (
        not isinstance(item, dict)
        or "date" not in item
        or not set(item)
        <= {
            "date",
            "closed",
            "open",
            "close",
            "note",
        }
    ):
        errors.add(loc, "must be {date, closed, open?, close?, note?}")
        return None
    try:
        day = _clean_date(item["date"])
    except ValueError:
        errors.add([*loc, "date"], "must be a date YYYY-MM-DD")
        return None
    if day < earliest:
        errors.add([*loc, "date"], "must not be in the past")
    closed = item.get("closed", False)
    if not isinstance(closed, bool):
        errors.add([*loc, "closed"], "must be true or false")
        return None
    note = item.get("note") or ""
    if not isinstance(note, str) or len(note) > 100:
        errors.add([*loc, "note"], "must be text of at most 100 characters")
    opens_raw, closes_raw = item.get("open"), item.get("close")
    if closed:
        if opens_raw is not None or closes_raw is not None:
            errors.add(loc, "a closed day has no open/close times")
        return day, True, None, None, note
    if opens_raw is None or closes_raw is None:
        errors.add(loc, "open and close are required unless the day is closed")
        return None
    try:
        opens, closes = parse_hhmm(opens_raw), parse_hhmm(closes_raw)
    except ValueError as exc:
        errors.add(loc, str(exc))
        return None
    return day, False, opens, closes, note


def _clean_special_days(items, errors: _Errors, loc: list, *, earliest: dt.date) -> list[tuple]:
    if not isinstance(items, list) or len(items) > MAX_SPECIAL_DAYS:
        errors.add(loc, f"must be a list of at most {MAX_SPECIAL_DAYS} days")
        return []
    cleaned = []
    for index, item in enumerate(items):
        day = clean_special_day(item, errors, [*loc, index], earliest=earliest)
        if day is not None:
            cleaned.append(day)
    dates = [day[0] for day in cleaned]
    if len(dates) != len(set(dates)):
        errors.add(loc, "each date may appear once")
    return cleaned


def _clean_money(value, errors: _Errors, loc: list, currency: str, *, nullable: bool = False):
    if value is None and nullable:
        return None
    if not isinstance(value, dict) or not set(value) <= {"amount", "currency"} or "amount" not in value:
        errors.add(loc, "must be {amount, currency}")
        return None
    amount = value["amount"]
    if not _is_int(amount) or not 0 <= amount <= 2_147_483_647:
        errors.add([*loc, "amount"], "must be a non-negative integer of minor units")
        return None
    if value.get("currency", currency) != currency:
        errors.add([*loc, "currency"], f"must be the merchant's currency {currency}")
        return None
    return amount


def _apply_delivery(store: Store, value, errors: _Errors, currency: str) -> None:
    if not isinstance(value, dict) or not set(value) <= set(_DELIVERY_KEYS):
        errors.add(["delivery"], "must be {radius_m, fee, free_over, min_order}")
        return
    if "radius_m" in value:
        radius = value["radius_m"]
        if not _is_int(radius) or not 0 <= radius <= MAX_DELIVERY_RADIUS_M:
            errors.add(["delivery", "radius_m"], f"must be an integer from 0 to {MAX_DELIVERY_RADIUS_M}")
        else:
            store.delivery_radius_m = radius
    for key in ("fee", "free_over", "min_order"):
        if key in value:
            amount = _clean_money(
                value[key], errors, ["delivery", key], currency, nullable=key == "free_over"
            )
            if amount is not None or (key == "free_over" and value[key] is None):
                setattr(store, _DELIVERY_KEYS[key], amount)


def _apply_coordinates(store: Store, data: dict, errors: _Errors) -> None:
    coord_type = data.get("coord_type", "gcj02")
    if coord_type not in ("gcj02", "wgs84"):
        errors.add(["coord_type"], "must be gcj02 or wgs84")
        return
    point = {"lat": store.lat, "lng": store.lng}
    valid = True
    for key, bound in (("lat", 90), ("lng", 180)):
        if key not in data:
            continue
        if _is_number(data[key]) and -bound <= data[key] <= bound:
            point[key] = float(data[key])
        else:
            errors.add([key], f"must be a number from -{bound} to {bound}")
            valid = False
    if not valid:
        return
    if coord_type == "wgs84":
        if "lat" not in data or "lng" not in data:
            errors.add(["coord_type"], "wgs84 needs both lat and lng")
            return
        point["lat"], point["lng"] = wgs84_to_gcj02(point["lat"], point["lng"])
    store.lat, store.lng = point["lat"], point["lng"]


def _apply_store_data(store: Store, data: dict, errors: _Errors, merchant: Merchant) -> dict:
    """Sets the plain fields on `store`; returns the cleaned child rows to write after saving."""
    for key in _TEXT_FIELDS:
        if key in data:
            value = data[key]
            if not isinstance(value, str):
                errors.add([key], "must be text")
            else:
                setattr(store, key, value.strip())
    for key in _BOOL_FIELDS:
        if key in data:
            if not isinstance(data[key], bool):
                errors.add([key], "must be true or false")
            else:
                setattr(store, key, data[key])
    if "status" in data:
        if data["status"] not in StoreStatus.values:
            errors.add(["status"], f"must be one of {', '.join(StoreStatus.values)}")
        else:
            store.status = data["status"]
    if "pickup_prep_minutes" in data:
        minutes = data["pickup_prep_minutes"]
        if not _is_int(minutes) or not 0 <= minutes <= MAX_PREP_MINUTES:
            errors.add(["pickup_prep_minutes"], f"must be an integer from 0 to {MAX_PREP_MINUTES}")
        else:
            store.pickup_prep_minutes = minutes
    if "timezone" in data:
        zone = data["timezone"]
        if zone in (None, ""):
            store.timezone = ""
        elif not is_valid_timezone(zone):
            errors.add(["timezone"], "must be an IANA time zone such as Asia/Shanghai")
        else:
            store.timezone = zone
    if {"lat", "lng", "coord_type"} & set(data):
        _apply_coordinates(store, data, errors)
    if "delivery" in data:
        _apply_delivery(store, data["delivery"], errors, merchant.currency)

    children: dict[str, Any] = {}
    if "opening_hours" in data:
        children["opening_hours"] = clean_weekly_hours(data["opening_hours"], errors, ["opening_hours"])
    if "special_days" in data:
        zone = store.timezone or merchant.timezone
        earliest = (
            timezone.now().astimezone(ZoneInfo(zone)).date() if is_valid_timezone(zone) else dt.date.min
        )
        children["special_days"] = _clean_special_days(
            data["special_days"], errors, ["special_days"], earliest=earliest
        )
    return children


def _model_errors(store: Store, errors: _Errors) -> None:
    """The model's own field rules (lengths, code pattern, ranges, blanks), for fields not
    already reported."""
    reported = {error["loc"][0] for error in errors.items if error["loc"]}
    if reported & {"lat", "lng", "coord_type"}:
        # A bad coordinate leaves both unset: one message is enough.
        reported |= {"lat", "lng"}
    try:
        store.full_clean(exclude=["merchant", *reported], validate_unique=False, validate_constraints=False)
    except DjangoValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                errors.add([field], message)


def _check_code_free(store: Store) -> None:
    taken = Store.objects.filter(merchant_id=store.merchant_id, code=store.code).exclude(pk=store.pk)
    if taken.exists():
        raise Conflict(
            f"Store code {store.code!r} is already used by this merchant.", code="store_code_taken"
        )


def _save_store(store: Store) -> None:
    try:
        with transaction.atomic():
            store.save()
    except IntegrityError as exc:
        # Two requests racing for one code: the UNIQUE constraint decides.
        raise Conflict(
            f"Store code {store.code!r} is already used by this merchant.", code="store_code_taken"
        ) from exc


def _replace_hours(store: Store, spans: list[tuple[int, dt.time, dt.time]]) -> None:
    OpeningHours.objects.filter(store=store).delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(store=store, weekday=weekday, opens=opens, closes=closes)
        for weekday, opens, closes in spans
    )


def _replace_special_days_from(store: Store, days: list[tuple], earliest: dt.date) -> None:
    SpecialDay.objects.filter(store=store, date__gte=earliest).delete()
    SpecialDay.objects.bulk_create(
        SpecialDay(store=store, date=day, closed=closed, opens=opens, closes=closes, note=note)
        for day, closed, opens, closes, note in days
    )


def _unknown_keys(data: dict, allowed: frozenset[str], errors: _Errors) -> None:
    for key in sorted(set(data) - allowed):
        errors.add([key], "is not a field you can set")


def _locked(store: Store) -> Store:
    """Re-reads the store under a row lock: concurrent edits of one store are serialised."""
    return Store.objects.select_for_update().select_related("merchant").get(pk=store.pk)


# --- services -------------------------------------------------------------------------------


@transaction.atomic
def store_create(*, actor: Actor, data: dict) -> Store:
    """A new store, open for business at once within its hours (the HQ API's store shape)."""
    actor.require("stores.manage")
    if not isinstance(data, dict):
        raise ValidationFailed("The store data must be an object.")
    errors = _Errors()
    requested_merchant = data.get("merchant_id")
    if "merchant_id" in data and not actor.is_platform:
        errors.add(["merchant_id"], "is set by your account; leave it out")
        errors.raise_if_any()
    _unknown_keys(data, _STORE_KEYS | {"merchant_id"}, errors)
    for key in _REQUIRED_ON_CREATE:
        if key not in data:
            errors.add([key], "is required")
    errors.raise_if_any()

    if actor.is_platform:
        if requested_merchant is None:
            raise ValidationFailed(
                "merchant_id is required for platform administrators.",
                errors=[{"loc": ["merchant_id"], "msg": "is required"}],
            )
        merchant_pk = _pk_from(requested_merchant)
        merchant = Merchant.objects.filter(pk=merchant_pk).first() if merchant_pk else None
        if merchant is None:
            raise ValidationFailed(
                "No such merchant.", errors=[{"loc": ["merchant_id"], "msg": "no such merchant"}]
            )
    else:
        merchant = Merchant.objects.get(pk=actor.merchant_id)

    store = Store(merchant=merchant)
    children = _apply_store_data(store, data, errors, merchant)
    _model_errors(store, errors)
    errors.raise_if_any()
    _check_code_free(store)
    _save_store(store)
    _replace_hours(store, children["opening_hours"])
    if children.get("special_days"):
        _replace_special_days_from(store, children["special_days"], dt.date.min)
    shelf.refresh(merchant_id=merchant.pk, store_ids=[store.pk])
    return store


def _pk_from(value) -> int | None:
    if _is_int(value):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


@transaction.atomic
def store_update(*, actor: Actor, store: Store, data: dict) -> Store:
    """A partial update with the store shape. `special_days` replaces those from today on;
    `opening_hours` replaces the weekly hours. Only here may HQ reopen a closed-for-good store."""
    actor.require("stores.manage")
    actor.check_store(store)
    if not isinstance(data, dict):
        raise ValidationFailed("The store data must be an object.")
    errors = _Errors()
    _unknown_keys(data, _STORE_KEYS, errors)
    errors.raise_if_any()
    store = _locked(store)
    children = _apply_store_data(store, data, errors, store.merchant)
    _model_errors(store, errors)
    errors.raise_if_any()
    _check_code_free(store)
    _save_store(store)
    if "opening_hours" in children:
        _replace_hours(store, children["opening_hours"])
    if "special_days" in children:
        _replace_special_days_from(store, children["special_days"], store_local_today(store))
    return store


@transaction.atomic
def store_set_status(*, actor: Actor, store: Store, status: str) -> Store:
    """Pause or resume a store (store managers and HQ); closing for good is for HQ only. A store
    closed for good is not resumed here: HQ reopens it by editing the store."""
    actor.require("store.settings")
    actor.check_store(store)
    if status not in StoreStatus.values:
        raise ValidationFailed(
            "Unknown store status.", errors=[{"loc": ["status"], "msg": "must be open, paused or closed"}]
        )
    if status == StoreStatus.CLOSED:
        actor.require("stores.manage")
    store = _locked(store)
    if store.status == StoreStatus.CLOSED and status != StoreStatus.CLOSED:
        raise Conflict("This store is closed for good.", code="store_closed_permanently")
    if store.status != status:
        store.status = status
        store.save(update_fields=["status", "updated_at"])
    return store


@transaction.atomic
def store_set_hours(*, actor: Actor, store: Store, hours: list) -> Store:
    """Replaces the weekly hours: [{weekday, open: "HH:MM", close: "HH:MM"}]; [] means none."""
    actor.require("store.settings")
    actor.check_store(store)
    errors = _Errors()
    spans = clean_weekly_hours(hours, errors, ["opening_hours"])
    errors.raise_if_any("The opening hours are not valid.")
    store = _locked(store)
    _replace_hours(store, spans)
    store.save(update_fields=["updated_at"])
    return store


@transaction.atomic
def special_day_set(
    *,
    actor: Actor,
    store: Store,
    date: dt.date | str,
    closed: bool,
    opens: dt.time | str | None = None,
    closes: dt.time | str | None = None,
    note: str = "",
) -> SpecialDay:
    """Sets one date's override (holiday closure or other hours), replacing any for that date."""
    actor.require("store.settings")
    actor.check_store(store)
    errors = _Errors()
    item = {"date": date, "closed": closed, "open": opens, "close": closes, "note": note}
    cleaned = clean_special_day(item, errors, [], earliest=store_local_today(store))
    errors.raise_if_any("The special day is not valid.")
    day, closed, opens, closes, note = cleaned
    store = _locked(store)
    special_day, _ = SpecialDay.objects.update_or_create(
        store=store, date=day, defaults={"closed": closed, "opens": opens, "closes": closes, "note": note}
    )
    return special_day


@transaction.atomic
def special_day_delete(*, actor: Actor, store: Store, date: dt.date | str) -> None:
    actor.require("store.settings")
    actor.check_store(store)
    try:
        day = _clean_date(date)
    except ValueError as exc:
        raise NotFound("No special day on that date.") from exc
    deleted, _ = SpecialDay.objects.filter(store=store, date=day).delete()
    if not deleted:
        raise NotFound("No special day on that date.")


@transaction.atomic
def store_photo_add(*, actor: Actor, store: Store, upload) -> StorePhoto:
    """Validates and re-encodes an uploaded photo (WebP plus a square thumbnail)."""
    actor.require("store.settings")
    actor.check_store(store)
    processed = process_image(upload)
    store = _locked(store)
    count = StorePhoto.objects.filter(store=store).count()
    if count >= MAX_PHOTOS_PER_STORE:
        raise Conflict(f"A store has at most {MAX_PHOTOS_PER_STORE} photos.", code="photo_limit_reached")
    photo = StorePhoto(store=store, position=count)
    photo.image.save(processed.image.name, processed.image, save=False)
    photo.thumbnail.save(processed.thumbnail.name, processed.thumbnail, save=False)
    photo.save()
    return photo


@transaction.atomic
def store_photo_delete(*, actor: Actor, store: Store, photo_id: str | int) -> None:
    actor.require("store.settings")
    actor.check_store(store)
    pk = _pk_from(photo_id)
    photo = StorePhoto.objects.filter(store=store, pk=pk).first() if pk else None
    if photo is None:
        raise NotFound("No such photo.")
    files = [photo.image.name, photo.thumbnail.name]
    storage = photo.image.storage
    photo.delete()
    transaction.on_commit(lambda: [storage.delete(name) for name in files if name])
