"""Store reads: nearest-store search, the public store, and the staff's scoped views."""

import datetime as dt
import math
from functools import cache
from typing import NamedTuple

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from mendian.core import rows
from mendian.core.errors import NotFound, ValidationFailed
from mendian.core.geo import EARTH_RADIUS_M, bounding_box, wgs84_to_gcj02
from mendian.core.scope import Actor
from mendian.merchants.models import Merchant
from mendian.stores.hours import (
    HORIZON_DAYS,
    PREFETCHED_HOURS,
    PREFETCHED_SPECIAL_DAYS,
    OpenState,
    schedule_is_open,
    store_is_open,
    store_local_today,
    store_open_state,
    store_schedule,
    store_special_day_rows,
)
from mendian.stores.models import OpeningHours, SpecialDay, Store, StoreStatus

__all__ = [
    "DEFAULT_RADIUS_KM",
    "MAX_RADIUS_KM",
    "OpenState",
    "StoreHit",
    "parse_store_id",
    "store_detail_for_actor",
    "store_for_staff",
    "store_get_for_actor",
    "store_is_open",
    "store_open_state",
    "store_public_detail",
    "store_public_get",
    "store_upcoming_special_days",
    "stores_for_actor",
    "stores_nearest",
    "stores_nearest_sql",
    "stores_with_schedule",
]

DEFAULT_RADIUS_KM = 50.0
MAX_RADIUS_KM = 500.0
SERVICES = ("pickup", "delivery")
COORD_TYPES = ("gcj02", "wgs84")
_MAX_PK = 2**63 - 1


class StoreHit:
    """A store found near a point. `is_open` (at the search's time) is worked out on first read:
    the consumer API computes the whole open state itself, and a page's schedules are its work."""

    __slots__ = ("_at", "_is_open", "distance_m", "store")

    def __init__(self, *, store: Store, distance_m: float, is_open: bool | None = None, at=None):
        self.store = store
        self.distance_m = distance_m
        self._is_open = is_open
        self._at = at

    @property
    def is_open(self) -> bool:
        if self._is_open is None:
            self._is_open = store_is_open(self.store, self._at)
        return self._is_open

    def __repr__(self) -> str:
        return f"StoreHit(store={self.store!r}, distance_m={self.distance_m!r})"


def parse_store_id(value: str | int) -> int:
    """Ids are opaque strings to clients: anything that is not one of ours is simply not found."""
    if isinstance(value, int) and not isinstance(value, bool):
        pk = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        pk = int(value)
    else:
        raise NotFound("No such store.")
    if not 0 < pk <= _MAX_PK:
        raise NotFound("No such store.")
    return pk


def _utc_today(at: dt.datetime | None) -> dt.date:
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()


def stores_with_schedule(
    qs: QuerySet, *, at: dt.datetime | None = None, days_ahead: int | None = HORIZON_DAYS
) -> QuerySet:
    """Joins what opening-hours evaluation needs: merchant (its time zone), hours, special days.

    Special days start two days before today (by UTC date, wide enough for any zone's offset) so
    years of past holidays are not loaded; `days_ahead=None` keeps every upcoming one (detail
    pages, and HQ, whose edits replace the upcoming days as a whole).
    """
    return qs.select_related("merchant").prefetch_related(
        Prefetch("opening_hours", queryset=OpeningHours.objects.all(), to_attr=PREFETCHED_HOURS),
        Prefetch("special_days", queryset=_special_days(at, days_ahead), to_attr=PREFETCHED_SPECIAL_DAYS),
    )


def _special_days(at: dt.datetime | None, days_ahead: int | None) -> QuerySet:
    today = _utc_today(at)
    special_days = SpecialDay.objects.filter(date__gte=today - dt.timedelta(days=2))
    if days_ahead is not None:
        special_days = special_days.filter(date__lte=today + dt.timedelta(days=days_ahead + 2))
    return special_days


def special_days_window(at: dt.datetime | None) -> tuple[dt.date, dt.date]:
    """The dates of the special days a schedule needs, as `_special_days(at, HORIZON_DAYS)` keeps
    them (for the hand-written loaders)."""
    today = _utc_today(at)
    return today - dt.timedelta(days=2), today + dt.timedelta(days=HORIZON_DAYS + 2)


class HoursRow(NamedTuple):
    """An OpeningHours row as a search page carries it: what `stores.hours` and the schemas read."""

    weekday: int
    opens: dt.time
    closes: dt.time


class SpecialDayRow(NamedTuple):
    """A SpecialDay row, likewise."""

    date: dt.date
    closed: bool
    opens: dt.time | None
    closes: dt.time | None
    note: str


def _in_list(count: int) -> str:
    return ", ".join(["%s"] * count)


def _schedule_sql(count: int) -> str:
    """The hours (kind 0) and special days (kind 1) of `count` stores, in their models' orders."""
    in_stores = _in_list(count)
    return (
        "SELECT h.store_id, 0, h.weekday, NULL, FALSE, h.opens, h.closes, '' "  # noqa: S608 - no values
        f"FROM {rows.table(OpeningHours)} h WHERE h.store_id IN ({in_stores}) "
        "UNION ALL SELECT d.store_id, 1, NULL, d.date, d.closed, d.opens, d.closes, d.note "
        f"FROM {rows.table(SpecialDay)} d WHERE d.store_id IN ({in_stores}) AND d.date >= %s AND d.date <= %s "
        "ORDER BY 2, 3, 4, 6"
    )


# A schedule row's values, by the field that holds them: an hours row uses the weekday, opens
# and closes; a special day every other one (for the hand-written loaders here and in checkout).
SCHEDULE_VALUE_FIELDS = (
    OpeningHours._meta.get_field("weekday"),
    SpecialDay._meta.get_field("date"),
    SpecialDay._meta.get_field("closed"),
    SpecialDay._meta.get_field("opens"),
    SpecialDay._meta.get_field("closes"),
    SpecialDay._meta.get_field("note"),
)
# The columns of `_schedule_sql`, by the field whose values they hold (None: the row's kind).
_SCHEDULE_FIELDS = (OpeningHours._meta.get_field("store"), None, *SCHEDULE_VALUE_FIELDS)


@cache
def _schedule_converters(vendor: str) -> tuple:
    """What the ORM would convert in a `_schedule_sql` row (SQLite's dates, times and booleans)."""
    found = []
    for position, field in enumerate(_SCHEDULE_FIELDS):
        if field is None:
            continue
        column = field.get_col(field.model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            found.append((position, tuple(functions), column))
    return tuple(found)


def _converted(row, converters) -> list:
    row = list(row)
    for position, functions, column in converters:
        value = row[position]
        for function in functions:
            value = function(value, column, connection)
        row[position] = value
    return row


_MERCHANT_FIELD = Store._meta.get_field("merchant")


def _stores_by_id(pks: list[int]) -> dict[int, Store]:
    if not pks:
        return {}
    sql = f"SELECT {rows.columns(Store, 's')} FROM {rows.table(Store)} s WHERE s.id IN ({_in_list(len(pks))})"  # noqa: S608
    return {store.pk: store for store in (rows.instance(Store, row) for row in rows.fetch(sql, pks))}


def _attach_merchants_and_schedules(
    stores: list[Store], *, merchant: Merchant | None, at: dt.datetime
) -> None:
    """What `stores_with_schedule` joins, for a search page, in two queries or one: the merchant
    once per merchant (not once per store, JSON settings and all; no query at all when the
    search was for `merchant`), then the hours and special days in one query, as light rows
    (`HoursRow`, `SpecialDayRow`) in the prefetch attributes `stores.hours` reads."""
    if not stores:
        return
    merchant_ids = sorted({store.merchant_id for store in stores})
    if merchant is not None and merchant_ids == [merchant.pk]:
        merchants = {merchant.pk: merchant}
    else:
        sql = (
            f"SELECT {rows.columns(Merchant, 'm')} FROM {rows.table(Merchant)} m "  # noqa: S608
            f"WHERE m.id IN ({_in_list(len(merchant_ids))})"
        )
        merchants = {
            found.pk: found
            for found in (rows.instance(Merchant, row) for row in rows.fetch(sql, merchant_ids))
        }
    hours: dict[int, list[HoursRow]] = {}
    special_days: dict[int, list[SpecialDayRow]] = {}
    for store in stores:
        _MERCHANT_FIELD.set_cached_value(store, merchants[store.merchant_id])
        setattr(store, PREFETCHED_HOURS, hours.setdefault(store.pk, []))
        setattr(store, PREFETCHED_SPECIAL_DAYS, special_days.setdefault(store.pk, []))
    pks = list(hours)
    first, last = special_days_window(at)
    params = [
        *pks,
        *pks,
        connection.ops.adapt_datefield_value(first),
        connection.ops.adapt_datefield_value(last),
    ]
    found = rows.fetch(_schedule_sql(len(pks)), params)
    converters = _schedule_converters(connection.vendor)
    if converters:
        found = [_converted(row, converters) for row in found]
    for store_id, kind, weekday, date, closed, opens, closes, note in found:
        if kind == 0:
            hours[store_id].append(HoursRow(weekday, opens, closes))
        else:
            special_days[store_id].append(SpecialDayRow(date, closed, opens, closes, note))


def _public_stores(merchant: Merchant | None) -> QuerySet:
    qs = Store.objects.exclude(status=StoreStatus.CLOSED).filter(merchant__is_active=True)
    if merchant is not None:
        qs = qs.filter(merchant_id=merchant.pk)
    return qs


def check_coordinates(lat: float, lng: float, *, coord_type: str = "gcj02") -> tuple[float, float]:
    """Validates a point and returns it in GCJ-02."""
    errors = []
    if not isinstance(lat, int | float) or not math.isfinite(lat) or not -90 <= lat <= 90:
        errors.append({"loc": ["lat"], "msg": "must be a latitude between -90 and 90"})
    if not isinstance(lng, int | float) or not math.isfinite(lng) or not -180 <= lng <= 180:
        errors.append({"loc": ["lng"], "msg": "must be a longitude between -180 and 180"})
    if coord_type not in COORD_TYPES:
        errors.append({"loc": ["coord_type"], "msg": "must be gcj02 or wgs84"})
    if errors:
        raise ValidationFailed("The coordinates are not valid.", errors=errors)
    if coord_type == "wgs84":
        return wgs84_to_gcj02(float(lat), float(lng))
    return float(lat), float(lng)


def _check_search(radius_km, service, limit, offset) -> None:
    errors = []
    if radius_km is not None and (
        not isinstance(radius_km, int | float)
        or not math.isfinite(radius_km)
        or not 0 < radius_km <= MAX_RADIUS_KM
    ):
        errors.append({"loc": ["radius_km"], "msg": f"must be above 0 and at most {MAX_RADIUS_KM:g}"})
    if service is not None and service not in SERVICES:
        errors.append({"loc": ["service"], "msg": "must be pickup or delivery"})
    if limit < 1 or offset < 0:
        errors.append({"loc": ["limit"], "msg": "limit must be positive and offset not negative"})
    if errors:
        raise ValidationFailed("The search is not valid.", errors=errors)


def prefilter_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """The SQL prefilter's box, padded by 1%: `bounding_box` takes the longitude half-width as
    r/cos(lat), slightly short of the exact asin(sin r / cos lat) for large circles (170 m at
    500 km in Wuhan). The padding covers every circle up to 500 km below 70° of latitude; the
    exact distance check afterwards keeps the result exact."""
    return bounding_box(lat, lng, radius_m * 1.01 + 1.0)


def _box_ranges(
    lat: float, lng: float, radius_m: float
) -> tuple[tuple[float, float], list[tuple[float, float]]]:
    """The prefilter box as a latitude range and the longitude ranges (none: every longitude; two
    for a box crossing the antimeridian)."""
    min_lat, max_lat, min_lng, max_lng = prefilter_box(lat, lng, radius_m)
    lat_range = (max(min_lat, -90.0), min(max_lat, 90.0))
    if max_lng - min_lng >= 360:
        return lat_range, []
    if min_lng < -180:
        return lat_range, [(min_lng + 360, 180.0), (-180.0, max_lng)]
    if max_lng > 180:
        return lat_range, [(min_lng, 180.0), (-180.0, max_lng - 360)]
    return lat_range, [(min_lng, max_lng)]


def _distance_sql(lat: float, lng: float) -> tuple[str, list]:
    """`core.geo.haversine_m(lat, lng, store.lat, store.lng)` in SQL, the same operations in the
    same order on the same libm functions (SQLite: Django's registered ones or its own), so the
    distances, the ranking and the radius test are those of the Python function to the bit
    (tests/stores/test_nearest.py checks it)."""
    least = "MIN" if connection.vendor == "sqlite" else "LEAST"
    p1 = math.radians(lat)
    sql = (
        f'%s * ASIN({least}(1.0, SQRT(POWER(SIN((RADIANS("stores_store"."lat") - %s) / 2), 2) '
        '+ %s * COS(RADIANS("stores_store"."lat")) * POWER(SIN(RADIANS("stores_store"."lng" - %s) / 2), 2))))'
    )
    return sql, [2 * EARTH_RADIUS_M, p1, math.cos(p1), lng]


def _contains_sql(column: str) -> str:
    """`column__icontains=%s` as the backend's lookup writes it (the pattern: `_contains_pattern`)."""
    lhs = connection.ops.lookup_cast("icontains", "CharField") % f'"stores_store"."{column}"'
    return f"{lhs} {connection.operators['icontains'] % '%s'}"


# An OFFSET (SQLite: with a LIMIT) keeps the subquery from being merged into the outer query.
_NO_INLINING = (" OFFSET 0", " LIMIT -1 OFFSET 0")


def _in_reach_sql(
    *,
    lat: float,
    lng: float,
    reach_m: float,
    q: str | None,
    open_now: bool | None,
    service: str | None,
    merchant: Merchant | None,
    rows_wanted: int | None,
) -> tuple[str, list]:
    """(id, distance) of the public stores within `reach_m`, nearest first, ties by id, at most
    `rows_wanted` of them: the box of the reach on the indexed (lat, lng) columns is the
    prefilter, and the distance is computed for the box's rows only, once each (the inner OFFSET
    keeps the database from inlining the subquery and computing it again for the radius test and
    the order)."""
    (min_lat, max_lat), lng_ranges = _box_ranges(lat, lng, reach_m)
    distance, params = _distance_sql(lat, lng)
    where = ['"stores_store"."lat" >= %s', '"stores_store"."lat" <= %s']
    params += [min_lat, max_lat]
    if lng_ranges:
        where.append(
            "("
            + " OR ".join('("stores_store"."lng" >= %s AND "stores_store"."lng" <= %s)' for _ in lng_ranges)
            + ")"
        )
        params += [bound for lng_range in lng_ranges for bound in lng_range]
    where += ['"stores_store"."status" <> %s', '"merchants_merchant"."is_active" = %s']
    params += [StoreStatus.CLOSED.value, True]
    if merchant is not None:
        where.append('"stores_store"."merchant_id" = %s')
        params.append(merchant.pk)
    if service == "pickup":
        where.append('"stores_store"."pickup_enabled" = %s')
        params.append(True)
    elif service == "delivery":
        where.append('"stores_store"."delivery_enabled" = %s')
        params.append(True)
    if q:
        where.append(f"({_contains_sql('name')} OR {_contains_sql('address')})")
        pattern = f"%{connection.ops.prep_for_like_query(q)}%"
        params += [pattern, pattern]
    if open_now:
        where.append('"stores_store"."status" = %s')
        params.append(StoreStatus.OPEN.value)
    in_reach = '"distance" <= %s'
    params.append(reach_m)
    if service == "delivery":
        in_reach += ' AND "distance" <= "delivery_radius_m"'
    sql = (
        'SELECT "id", "distance" FROM ('  # noqa: S608 - values only in params
        f'SELECT "stores_store"."id" AS "id", "stores_store"."delivery_radius_m" AS "delivery_radius_m", '
        f'{distance} AS "distance" FROM "stores_store" INNER JOIN "merchants_merchant" '
        'ON ("stores_store"."merchant_id" = "merchants_merchant"."id") '
        f"WHERE {' AND '.join(where)}{_NO_INLINING[connection.vendor == 'sqlite']}"
        f') AS "box" WHERE {in_reach} ORDER BY "distance", "id"'
    )
    if rows_wanted is not None:
        sql += " LIMIT %s"
        params.append(rows_wanted)
    return sql, params


# A page is first looked for within this fraction of the radius (a sixteenth of the box).
NEAR_REACH = 0.25


def stores_nearest_sql(
    *,
    lat: float,
    lng: float,
    radius_m: float,
    q: str | None = None,
    open_now: bool | None = None,
    service: str | None = None,
    merchant: Merchant | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[str, list]:
    """(SQL, params) of (id, distance_m) of the public stores within `radius_m`, nearest first,
    ties by id, `offset`/`limit` applied: the whole search in one statement.

    With a limit, the database keeps just the top `offset + limit` while sorting, and first
    looks within a quarter of the radius: when that circle holds the `offset + limit` stores
    wanted they are the nearest of all, since every other store lies beyond it, and the whole
    box is never read (its branch is gated on the count: PostgreSQL does not run it). So a dense
    city reads a sixteenth of the box; where stores are sparse the small box costs little.
    Without a limit (open-now searches) every store within the radius is ranked."""
    search = {"lat": lat, "lng": lng, "q": q, "open_now": open_now, "service": service, "merchant": merchant}
    if limit is None:
        if offset:
            raise ValueError("an offset needs a limit")
        return _in_reach_sql(**search, reach_m=radius_m, rows_wanted=None)
    wanted = offset + limit
    near, near_params = _in_reach_sql(**search, reach_m=radius_m * NEAR_REACH, rows_wanted=wanted)
    whole, whole_params = _in_reach_sql(**search, reach_m=radius_m, rows_wanted=wanted)
    sql = (
        f'SELECT "id", "distance" FROM (WITH "near" AS ({near}) '  # noqa: S608 - values only in params
        'SELECT "id", "distance" FROM "near" WHERE (SELECT COUNT(*) FROM "near") = %s '
        f'UNION ALL SELECT "id", "distance" FROM ({whole}) AS "whole" WHERE (SELECT COUNT(*) FROM "near") < %s'
        ') AS "found" ORDER BY "distance", "id" LIMIT %s OFFSET %s'
    )
    return sql, [*near_params, wanted, *whole_params, wanted, limit, offset]


def stores_nearest(
    *,
    lat: float,
    lng: float,
    radius_km: float | None = None,
    q: str | None = None,
    open_now: bool | None = None,
    service: str | None = None,
    merchant: Merchant | None = None,
    limit: int = 20,
    offset: int = 0,
    at: dt.datetime | None = None,
) -> list[StoreHit]:
    """Stores around a GCJ-02 point, nearest first (ties by id), skipping `offset` of them.

    One statement finds and ranks the page in the database (`stores_nearest_sql`: an indexed
    bounding box, exact distances on its rows only) and returns the page's full rows; the
    merchant and the hours and special days follow in one query each (the merchant not at all
    when the search is for one). `service="delivery"` keeps stores whose delivery radius reaches
    the point.
    """
    check_coordinates(lat, lng)
    _check_search(radius_km, service, limit, offset)
    search = {
        "lat": lat,
        "lng": lng,
        "radius_m": (radius_km if radius_km is not None else DEFAULT_RADIUS_KM) * 1000.0,
        "q": q,
        "open_now": open_now,
        "service": service,
        "merchant": merchant,
    }
    now = at or dt.datetime.now(dt.UTC)

    if not open_now:
        ranked, params = stores_nearest_sql(**search, limit=limit, offset=offset)
        sql = (
            f"SELECT {rows.columns(Store, 's')}, near.distance FROM ({ranked}) near "  # noqa: S608
            f"JOIN {rows.table(Store)} s ON s.id = near.id ORDER BY near.distance, near.id"
        )
        page = rows.fetch(sql, params)
        stores = [rows.instance(Store, row) for row in page]
        _attach_merchants_and_schedules(stores, merchant=merchant, at=now)
        return [
            StoreHit(store=store, distance_m=row[-1], at=now) for store, row in zip(stores, page, strict=True)
        ]

    # Open stores cannot be counted before their hours are read: the whole radius is ranked, then
    # candidates are loaded nearest first in chunks until the page is full; usually the first
    # chunk is enough.
    sql, params = stores_nearest_sql(**search)
    candidates = rows.fetch(sql, params)
    wanted = offset + limit
    chunk_size = max(100, 2 * wanted)
    open_hits: list[StoreHit] = []
    for begin in range(0, len(candidates), chunk_size):
        chunk = candidates[begin : begin + chunk_size]
        stores = _stores_by_id([pk for pk, _ in chunk])
        _attach_merchants_and_schedules(list(stores.values()), merchant=merchant, at=now)
        for pk, distance in chunk:
            store = stores.get(pk)
            if store is not None and schedule_is_open(store_schedule(store), now):
                open_hits.append(StoreHit(store=store, distance_m=distance, is_open=True))
        if len(open_hits) >= wanted:
            break
    return open_hits[offset:wanted]


def store_public_get(*, store_id: str | int, merchant: Merchant | None = None) -> Store:
    """A store as customers see it (merchant joined, one query): 404 for closed-for-good stores
    and for inactive or other merchants' stores."""
    pk = parse_store_id(store_id)
    store = _public_stores(merchant).select_related("merchant").filter(pk=pk).first()
    if store is None:
        raise NotFound("No such store.")
    return store


def store_public_detail(
    *, store_id: str | int, merchant: Merchant | None = None, at: dt.datetime | None = None
) -> Store:
    """`store_public_get` with hours, upcoming special days and photos prefetched (detail pages)."""
    pk = parse_store_id(store_id)
    qs = stores_with_schedule(_public_stores(merchant), at=at, days_ahead=None).prefetch_related("photos")
    store = qs.filter(pk=pk).first()
    if store is None:
        raise NotFound("No such store.")
    return store


def store_upcoming_special_days(store: Store, at: dt.datetime | None = None) -> list[SpecialDay]:
    """Special days from the store-local today on (from the prefetched rows when there are any)."""
    today = store_local_today(store, at)
    return [day for day in store_special_day_rows(store) if day.date >= today]


def stores_for_actor(
    *,
    actor: Actor,
    status: str | None = None,
    q: str | None = None,
    city: str | None = None,
    merchant_id: int | None = None,
    at: dt.datetime | None = None,
) -> QuerySet:
    """The stores a staff member may see, hours and special days joined, by id."""
    actor.require("store.read")
    qs = actor.scope_stores(Store.objects.all(), store_field="pk", merchant_field="merchant_id")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(address__icontains=q) | Q(code__icontains=q))
    if city:
        qs = qs.filter(city=city)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    return stores_with_schedule(qs, at=at, days_ahead=None).order_by("pk")


def store_get_for_actor(*, actor: Actor, store_id: str | int) -> Store:
    """One store in the actor's scope (merchant joined, one query); outside it, not found."""
    actor.require("store.read")
    pk = parse_store_id(store_id)
    qs = actor.scope_stores(Store.objects.all(), store_field="pk", merchant_field="merchant_id")
    store = qs.select_related("merchant").filter(pk=pk).first()
    if store is None:
        raise NotFound("No such store.")
    return store


def store_detail_for_actor(*, actor: Actor, store_id: str | int, at: dt.datetime | None = None) -> Store:
    """`store_get_for_actor` with hours, upcoming special days and photos prefetched."""
    pk = parse_store_id(store_id)
    store = stores_for_actor(actor=actor, at=at).prefetch_related("photos").filter(pk=pk).first()
    if store is None:
        raise NotFound("No such store.")
    return store


def store_for_staff(*, actor: Actor, store_id: str | int | None = None) -> Store:
    """The store a staff endpoint acts on: store roles their own; HQ roles must name one."""
    if store_id is None or store_id == "":
        if actor.is_store_level:
            return store_get_for_actor(actor=actor, store_id=actor.store_id)
        raise ValidationFailed(
            "store_id is required for headquarters roles.",
            errors=[{"loc": ["query", "store_id"], "msg": "required"}],
        )
    return store_get_for_actor(actor=actor, store_id=store_id)
