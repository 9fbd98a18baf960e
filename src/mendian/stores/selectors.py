"""Store reads: nearest-store search, the public store, and the staff's scoped views."""

import datetime as dt
import math
from functools import partial

from django.db.models import Count, Prefetch, Q, QuerySet, Window

from mendian.core.errors import NotFound, ValidationFailed
from mendian.core.geo import bounding_box, haversine_m, wgs84_to_gcj02
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
    "stores_nearest_prefilter",
    "stores_with_schedule",
]

DEFAULT_RADIUS_KM = 50.0
MAX_RADIUS_KM = 500.0
SERVICES = ("pickup", "delivery")
COORD_TYPES = ("gcj02", "wgs84")
_MAX_PK = 2**63 - 1
# Beyond this many stores in the search box, `stores_nearest` searches a smaller circle first.
DENSE_BOX_ROWS = 200
_PREFILTER_COLUMNS = ("pk", "lat", "lng", "delivery_radius_m")


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


def _stores_by_id_with_schedule(pks: list[int], *, at: dt.datetime | None) -> dict[int, Store]:
    """`stores_with_schedule(Store.objects.all(), at=at).in_bulk(pks)` in the same three queries
    with the same rows, filled in by hand: Django's generic prefetch builds a filtered queryset
    and goes through the reverse relation's descriptor for each of the ~150 hour rows of a page,
    which was most of a nearest-store search's Python time (bench/nearest_stores.py)."""
    stores = Store.objects.select_related("merchant").in_bulk(pks)
    if not stores:
        return stores
    for store in stores.values():
        setattr(store, PREFETCHED_HOURS, [])
        setattr(store, PREFETCHED_SPECIAL_DAYS, [])
    for model, rows, attr in (
        (OpeningHours, OpeningHours.objects.filter(store_id__in=list(stores)), PREFETCHED_HOURS),
        (
            SpecialDay,
            _special_days(at, HORIZON_DAYS).filter(store_id__in=list(stores)),
            PREFETCHED_SPECIAL_DAYS,
        ),
    ):
        store_field = model._meta.get_field("store")
        for row in rows:
            store = stores[row.store_id]
            store_field.set_cached_value(row, store)
            getattr(store, attr).append(row)
    return stores


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


def _box_filter(lat: float, lng: float, radius_m: float) -> Q:
    min_lat, max_lat, min_lng, max_lng = prefilter_box(lat, lng, radius_m)
    in_lat = Q(lat__gte=max(min_lat, -90.0), lat__lte=min(max_lat, 90.0))
    if max_lng - min_lng >= 360:
        return in_lat
    # A box crossing the antimeridian is two longitude ranges.
    if min_lng < -180:
        return in_lat & (Q(lng__gte=min_lng + 360) | Q(lng__lte=max_lng))
    if max_lng > 180:
        return in_lat & (Q(lng__gte=min_lng) | Q(lng__lte=max_lng - 360))
    return in_lat & Q(lng__gte=min_lng, lng__lte=max_lng)


def stores_nearest_prefilter(
    *,
    lat: float,
    lng: float,
    radius_m: float,
    q: str | None = None,
    open_now: bool | None = None,
    service: str | None = None,
    merchant: Merchant | None = None,
) -> QuerySet:
    """(pk, lat, lng, delivery_radius_m) of the stores in the circle's box: the one indexed query
    whose cost grows with the density of stores (bench/nearest_stores.py EXPLAINs it)."""
    qs = _public_stores(merchant).filter(_box_filter(lat, lng, radius_m))
    if service == "pickup":
        qs = qs.filter(pickup_enabled=True)
    elif service == "delivery":
        qs = qs.filter(delivery_enabled=True)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(address__icontains=q))
    if open_now:
        qs = qs.filter(status=StoreStatus.OPEN)
    # No ORDER BY: rows are ranked by distance afterwards, and sorting them in SQL is wasted work.
    return qs.order_by().values_list(*_PREFILTER_COLUMNS)


def _within(rows, *, lat: float, lng: float, reach_m: float, service: str | None) -> list[tuple[float, int]]:
    candidates = []
    for pk, store_lat, store_lng, delivery_radius_m, *_ in rows:
        distance = haversine_m(lat, lng, store_lat, store_lng)
        if distance <= reach_m and (service != "delivery" or distance <= delivery_radius_m):
            candidates.append((distance, pk))
    return candidates


def _ranked_candidates(
    *, lat: float, lng: float, radius_m: float, wanted: int | None, filters: dict
) -> list[tuple[float, int]]:
    """(distance, pk) of the stores within `radius_m`, nearest first, ties by id: all of them, or
    at least the `wanted` nearest.

    The first query reads at most DENSE_BOX_ROWS rows of the box and counts all of them. Where
    stores are sparse (most chains) that is the whole box: done. Where they are dense, a circle
    expected (at the box's density) to hold twice `wanted` stores is read next; if it holds
    `wanted`, those are the nearest of all, since every other store lies beyond it. So a dense
    city reads a page's worth of rows instead of thousands. Should the stores crowd away from the
    customer, the whole box is read after all.
    """
    service = filters["service"]
    prefilter = partial(stores_nearest_prefilter, lat=lat, lng=lng, **filters)
    if wanted is not None:
        counted = prefilter(radius_m=radius_m).annotate(in_box=Window(Count("pk")))
        sample = list(counted.values_list(*_PREFILTER_COLUMNS, "in_box")[:DENSE_BOX_ROWS])
        in_box = sample[0][-1] if sample else 0
        if in_box <= DENSE_BOX_ROWS:
            return sorted(_within(sample, lat=lat, lng=lng, reach_m=radius_m, service=service))
        reach_m = 2 * radius_m * math.sqrt(2 * wanted / (math.pi * in_box))
        if reach_m < radius_m:
            near = _within(prefilter(radius_m=reach_m), lat=lat, lng=lng, reach_m=reach_m, service=service)
            if len(near) >= wanted:
                return sorted(near)
    return sorted(_within(prefilter(radius_m=radius_m), lat=lat, lng=lng, reach_m=radius_m, service=service))


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

    The SQL prefilter is a bounding box on the indexed (lat, lng) columns and reads four numbers
    per row; exact distances are computed here on those rows only (in a dense city, on a smaller
    circle's rows: see `_ranked_candidates`). Full rows, hours and special days are then fetched
    for the page alone. `service="delivery"` keeps stores whose delivery radius reaches the point.
    """
    check_coordinates(lat, lng)
    _check_search(radius_km, service, limit, offset)
    radius_m = (radius_km if radius_km is not None else DEFAULT_RADIUS_KM) * 1000.0
    candidates = _ranked_candidates(
        lat=lat,
        lng=lng,
        radius_m=radius_m,
        # Open stores cannot be counted before their hours are read: search the whole radius.
        wanted=None if open_now else offset + limit,
        filters={"q": q, "open_now": open_now, "service": service, "merchant": merchant},
    )

    if not open_now:
        page = candidates[offset : offset + limit]
        stores = _stores_by_id_with_schedule([pk for _, pk in page], at=at)
        at = at or dt.datetime.now(dt.UTC)
        return [
            StoreHit(store=stores[pk], distance_m=distance, at=at) for distance, pk in page if pk in stores
        ]

    # Whether a store is open depends on its hours, so candidates are loaded nearest first in
    # chunks until the page is full; usually the first chunk is enough.
    wanted = offset + limit
    chunk_size = max(100, 2 * wanted)
    open_hits: list[StoreHit] = []
    now = at or dt.datetime.now(dt.UTC)
    for begin in range(0, len(candidates), chunk_size):
        chunk = candidates[begin : begin + chunk_size]
        stores = _stores_by_id_with_schedule([pk for _, pk in chunk], at=now)
        for distance, pk in chunk:
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
