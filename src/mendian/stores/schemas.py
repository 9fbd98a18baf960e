"""Store API shapes, and the functions that fill them from prefetched stores (no queries)."""

import datetime as dt
from functools import lru_cache, partial
from typing import Literal
from urllib.parse import quote

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from mendian.core.money import MoneySchema, money
from mendian.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mendian.stores.hours import OpenState, format_hhmm, store_hours_rows
from mendian.stores.models import SpecialDay, Store, StorePhoto

HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
CoordType = Literal["gcj02", "wgs84"]


class _Input(Schema):
    # Unknown fields fail loudly: `merchant_id` or `id` in an update is an error, not ignored.
    model_config = ConfigDict(extra="forbid")


# --- input ---------------------------------------------------------------------------------


class OpeningHoursItem(_Input):
    weekday: StrictInt = Field(ge=0, le=6, description="Monday 0 … Sunday 6")
    open: str = Field(pattern=HHMM_PATTERN, examples=["09:00"])
    close: str = Field(
        pattern=HHMM_PATTERN,
        examples=["21:00"],
        description="Before `open`: runs past midnight. Equal to `open`: open 24 hours.",
    )


class SpecialDayItem(_Input):
    date: dt.date
    closed: StrictBool = False
    open: str | None = Field(None, pattern=HHMM_PATTERN)
    close: str | None = Field(None, pattern=HHMM_PATTERN)
    note: str = Field("", max_length=100)


class DeliveryInput(_Input):
    radius_m: StrictInt = Field(None, ge=0, le=100_000)
    fee: MoneySchema = None
    free_over: MoneySchema | None = Field(None, description="null: delivery is never free")
    min_order: MoneySchema = None


class _StoreFields(_Input):
    city: str = Field(None, max_length=50)
    district: str = Field(None, max_length=50)
    phone: str = Field(None, max_length=30)
    intro: str = Field(None, max_length=2000)
    coord_type: CoordType = Field("gcj02", description="wgs84: raw GPS, converted to GCJ-02")
    timezone: str | None = Field(None, max_length=64, description="IANA zone; null: the merchant's")
    pickup_enabled: StrictBool = None
    delivery_enabled: StrictBool = None
    delivery: DeliveryInput = None
    pickup_prep_minutes: StrictInt = Field(None, ge=0, le=1440)
    special_days: list[SpecialDayItem] = Field(None, max_length=366)


class StoreCreate(_StoreFields):
    merchant_id: str | StrictInt | None = Field(None, description="Platform administrators only.")
    code: str = Field(min_length=2, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=1, max_length=255)
    lat: StrictFloat = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: StrictFloat = Field(ge=-180, le=180, allow_inf_nan=False)
    opening_hours: list[OpeningHoursItem] = Field(max_length=42)
    status: Literal["open", "paused"] = "open"


class StoreUpdate(_StoreFields):
    code: str = Field(None, min_length=2, max_length=40)
    name: str = Field(None, min_length=1, max_length=100)
    address: str = Field(None, min_length=1, max_length=255)
    lat: StrictFloat = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: StrictFloat = Field(None, ge=-180, le=180, allow_inf_nan=False)
    opening_hours: list[OpeningHoursItem] = Field(None, max_length=42)
    status: Literal["open", "paused", "closed"] = None


class HoursInput(_Input):
    opening_hours: list[OpeningHoursItem] = Field(max_length=42)


class SpecialDayInput(_Input):
    closed: StrictBool = False
    open: str | None = Field(None, pattern=HHMM_PATTERN)
    close: str | None = Field(None, pattern=HHMM_PATTERN)
    note: str = Field("", max_length=100)


class StoreNearbyQuery(Schema):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    coord_type: CoordType = "gcj02"
    radius_km: float | None = Field(None, gt=0, le=500, allow_inf_nan=False, description="Default 50 km")
    q: str | None = Field(None, max_length=50, description="Part of the name or address")
    open_now: bool | None = None
    service: Literal["pickup", "delivery"] | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class StoreDetailQuery(Schema):
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False, description="For `distance_m`")
    lng: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    coord_type: CoordType = "gcj02"


class StoreHqFilter(Schema):
    status: Literal["open", "paused", "closed"] | None = None
    q: str | None = Field(None, max_length=50)
    city: str | None = Field(None, max_length=50)
    merchant_id: str | None = Field(None, description="Platform administrators: one merchant's stores")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class StaffStoreQuery(Schema):
    store_id: str | None = Field(None, description="Required for HQ roles; store staff act on their own")


# --- output --------------------------------------------------------------------------------


class _Output(BaseModel):
    """Replies are plain dicts built below; plain pydantic models validate them in pydantic-core
    (a ninja Schema would wrap every nested object for attribute access, several times slower)."""


class HoursRead(_Output):
    weekday: int
    open: str
    close: str


class SpanRead(_Output):
    open: str
    close: str


class SpecialDayRead(_Output):
    date: dt.date
    closed: bool
    open: str | None
    close: str | None
    note: str


class MerchantRef(_Output):
    code: str
    name: str


class NavigationRead(_Output):
    tencent: str
    amap: str


class DeliveryRead(_Output):
    radius_m: int
    fee: MoneySchema
    free_over: MoneySchema | None
    min_order: MoneySchema


class PhotoRead(_Output):
    id: str
    url: str
    thumbnail_url: str | None


class StoreNearbyRead(_Output):
    id: str
    code: str
    name: str
    merchant: MerchantRef
    address: str
    city: str
    district: str
    lat: float
    lng: float
    distance_m: int
    status: str
    is_open: bool
    next_change_at: dt.datetime | None
    today_hours: list[SpanRead]
    opening_hours: list[HoursRead]
    pickup_enabled: bool
    delivery_enabled: bool
    phone: str
    navigation: NavigationRead


class StoreNearbyPage(_Output):
    items: list[StoreNearbyRead]
    next_cursor: str | None


class StoreDetailRead(_Output):
    id: str
    code: str
    name: str
    merchant: MerchantRef
    address: str
    city: str
    district: str
    lat: float
    lng: float
    distance_m: int | None
    timezone: str
    status: str
    is_open: bool
    next_change_at: dt.datetime | None
    today_hours: list[SpanRead]
    opening_hours: list[HoursRead]
    special_days: list[SpecialDayRead]
    pickup_enabled: bool
    delivery_enabled: bool
    pickup_prep_minutes: int
    delivery: DeliveryRead
    phone: str
    intro: str
    photos: list[PhotoRead]
    navigation: NavigationRead


class MerchantHqRef(MerchantRef):
    id: str


class StoreHqRead(_Output):
    id: str
    merchant: MerchantHqRef
    code: str
    name: str
    address: str
    city: str
    district: str
    lat: float
    lng: float
    phone: str
    timezone: str
    timezone_inherited: bool
    status: str
    is_open: bool
    next_change_at: dt.datetime | None
    opening_hours: list[HoursRead]
    special_days: list[SpecialDayRead]
    pickup_enabled: bool
    delivery_enabled: bool
    delivery: DeliveryRead
    pickup_prep_minutes: int
    intro: str
    photos: list[PhotoRead]
    created_at: dt.datetime
    updated_at: dt.datetime


class StoreHqPage(_Output):
    items: list[StoreHqRead]
    next_cursor: str | None


# --- filling --------------------------------------------------------------------------------


# Lists repeat the same few names, addresses and opening times on every page: format them once.
_quoted = lru_cache(maxsize=4096)(partial(quote, safe=""))
_hhmm = lru_cache(maxsize=2048)(format_hhmm)


def navigation_links(store: Store) -> dict:
    """Deep links that open the store as a marker in Tencent Maps and AMap (both GCJ-02)."""
    name, address = _quoted(store.name), _quoted(store.address)
    lat, lng = f"{store.lat:.6f}", f"{store.lng:.6f}"
    return {
        "tencent": (
            f"https://apis.map.qq.com/uri/v1/marker?marker=coord:{lat},{lng};title:{name};addr:{address}"
            "&referer=mendian"
        ),
        "amap": (
            f"https://uri.amap.com/marker?position={lng},{lat}&name={name}"
            "&src=mendian&coordinate=gaode&callnative=1"
        ),
    }


def hours_out(store: Store) -> list[dict]:
    return [
        {"weekday": row.weekday, "open": _hhmm(row.opens), "close": _hhmm(row.closes)}
        for row in store_hours_rows(store)
    ]


def spans_out(spans) -> list[dict]:
    return [{"open": _hhmm(opens), "close": _hhmm(closes)} for opens, closes in spans]


def special_days_out(days: list[SpecialDay]) -> list[dict]:
    return [
        {
            "date": day.date,
            "closed": day.closed,
            "open": format_hhmm(day.opens) if day.opens and not day.closed else None,
            "close": format_hhmm(day.closes) if day.closes and not day.closed else None,
            "note": day.note,
        }
        for day in days
    ]


def delivery_out(store: Store) -> dict:
    currency = store.merchant.currency
    return {
        "radius_m": store.delivery_radius_m,
        "fee": money(store.delivery_fee, currency),
        "free_over": None if store.delivery_free_over is None else money(store.delivery_free_over, currency),
        "min_order": money(store.delivery_min_order, currency),
    }


def photo_out(request, photo: StorePhoto) -> dict:
    return {
        "id": str(photo.pk),
        "url": request.build_absolute_uri(photo.image.url),
        "thumbnail_url": request.build_absolute_uri(photo.thumbnail.url) if photo.thumbnail else None,
    }


def photos_out(request, store: Store) -> list[dict]:
    return [photo_out(request, photo) for photo in store.photos.all()]


def _common_out(store: Store, state: OpenState) -> dict:
    return {
        "id": str(store.pk),
        "code": store.code,
        "name": store.name,
        "address": store.address,
        "city": store.city,
        "district": store.district,
        "lat": store.lat,
        "lng": store.lng,
        "phone": store.phone,
        "status": store.status,
        "is_open": state.is_open,
        "next_change_at": state.next_change_at,
        "opening_hours": hours_out(store),
        "pickup_enabled": store.pickup_enabled,
        "delivery_enabled": store.delivery_enabled,
    }


def store_nearby_out(store: Store, *, distance_m: float, state: OpenState) -> dict:
    return {
        **_common_out(store, state),
        "merchant": {"code": store.merchant.code, "name": store.merchant.display_name},
        "distance_m": round(distance_m),
        "today_hours": spans_out(state.today),
        "navigation": navigation_links(store),
    }


def store_detail_out(
    request, store: Store, *, state: OpenState, special_days: list[SpecialDay], distance_m: float | None
) -> dict:
    return {
        **_common_out(store, state),
        "merchant": {"code": store.merchant.code, "name": store.merchant.display_name},
        "distance_m": None if distance_m is None else round(distance_m),
        "timezone": store.tz_name,
        "today_hours": spans_out(state.today),
        "special_days": special_days_out(special_days),
        "pickup_prep_minutes": store.pickup_prep_minutes,
        "delivery": delivery_out(store),
        "intro": store.intro,
        "photos": photos_out(request, store),
        "navigation": navigation_links(store),
    }


def store_hq_out(request, store: Store, *, state: OpenState, special_days: list[SpecialDay]) -> dict:
    return {
        **_common_out(store, state),
        "merchant": {"id": str(store.merchant_id), "code": store.merchant.code, "name": store.merchant.name},
        "timezone": store.tz_name,
        "timezone_inherited": not store.timezone,
        "special_days": special_days_out(special_days),
        "delivery": delivery_out(store),
        "pickup_prep_minutes": store.pickup_prep_minutes,
        "intro": store.intro,
        "photos": photos_out(request, store),
        "created_at": store.created_at,
        "updated_at": store.updated_at,
    }
