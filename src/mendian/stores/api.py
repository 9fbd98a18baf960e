"""Store endpoints for consumers (find a store), HQ (manage stores) and store staff (their store)."""

from django.utils import timezone
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from mendian.core.errors import ValidationFailed
from mendian.core.geo import haversine_m
from mendian.core.pagination import (
    decode_int_cursor,
    encode_cursor,
    offset_from_cursor,
    offset_page,
)
from mendian.merchants.selectors import merchant_context
from mendian.stores import selectors, services
from mendian.stores.hours import store_open_state
from mendian.stores.schemas import (
    HoursInput,
    PhotoRead,
    SpecialDayInput,
    SpecialDayRead,
    StaffStoreQuery,
    StoreCreate,
    StoreDetailQuery,
    StoreDetailRead,
    StoreHqFilter,
    StoreHqPage,
    StoreHqRead,
    StoreNearbyPage,
    StoreNearbyQuery,
    StoreUpdate,
    photo_out,
    special_days_out,
    store_detail_out,
    store_hq_out,
    store_nearby_out,
)

consumer = Router(tags=["stores"])
hq = Router(tags=["stores"])
staff = Router(tags=["store"])


# --- consumer ------------------------------------------------------------------------------


@consumer.get("/stores", response=StoreNearbyPage, summary="Stores near a point, nearest first")
def stores_nearby(request, filters: Query[StoreNearbyQuery]):
    merchant = merchant_context(request)
    lat, lng = selectors.check_coordinates(filters.lat, filters.lng, coord_type=filters.coord_type)
    offset = offset_from_cursor(filters.cursor)
    now = timezone.now()
    hits = selectors.stores_nearest(
        lat=lat,
        lng=lng,
        radius_km=filters.radius_km,
        q=filters.q,
        open_now=filters.open_now,
        service=filters.service,
        merchant=merchant,
        limit=filters.limit + 1,
        offset=offset,
        at=now,
    )
    items = [
        store_nearby_out(hit.store, distance_m=hit.distance_m, state=store_open_state(hit.store, now))
        for hit in hits[: filters.limit]
    ]
    return offset_page(items, offset=offset, limit=filters.limit, total_fetched=len(hits))


@consumer.get("/stores/{store_id}", response=StoreDetailRead, summary="One store, with delivery terms")
def store_detail(request, store_id: str, point: Query[StoreDetailQuery]):
    merchant = merchant_context(request)
    now = timezone.now()
    distance = None
    if point.lat is not None or point.lng is not None:
        if point.lat is None or point.lng is None:
            raise ValidationFailed(
                "lat and lng go together.",
                errors=[{"loc": ["query", "lat"], "msg": "lat and lng go together"}],
            )
        lat, lng = selectors.check_coordinates(point.lat, point.lng, coord_type=point.coord_type)
    store = selectors.store_public_detail(store_id=store_id, merchant=merchant, at=now)
    if point.lat is not None:
        distance = haversine_m(lat, lng, store.lat, store.lng)
    return store_detail_out(
        request,
        store,
        state=store_open_state(store, now),
        special_days=selectors.store_upcoming_special_days(store, now),
        distance_m=distance,
    )


# --- HQ ------------------------------------------------------------------------------------


def _hq_read(request, store_id) -> dict:
    now = timezone.now()
    store = selectors.store_detail_for_actor(actor=request.auth, store_id=store_id, at=now)
    return store_hq_out(
        request,
        store,
        state=store_open_state(store, now),
        special_days=selectors.store_upcoming_special_days(store, now),
    )


@hq.post("/stores", response={201: StoreHqRead}, summary="Create a store")
def store_create(request, payload: StoreCreate):
    store = services.store_create(actor=request.auth, data=payload.model_dump(exclude_unset=True))
    return Status(201, _hq_read(request, store.pk))


@hq.get("/stores", response=StoreHqPage, summary="Stores in the caller's scope")
def stores_list(request, filters: Query[StoreHqFilter]):
    merchant_id = None
    if filters.merchant_id is not None:
        if not filters.merchant_id.isdigit() or len(filters.merchant_id) > 18:
            raise ValidationFailed(
                "merchant_id is not valid.", errors=[{"loc": ["query", "merchant_id"], "msg": "not an id"}]
            )
        merchant_id = int(filters.merchant_id)
    now = timezone.now()
    qs = selectors.stores_for_actor(
        actor=request.auth,
        status=filters.status,
        q=filters.q,
        city=filters.city,
        merchant_id=merchant_id,
        at=now,
    ).prefetch_related("photos")
    cursor = decode_int_cursor(filters.cursor)
    if cursor is not None:
        qs = qs.filter(pk__gt=cursor[0])
    rows = list(qs[: filters.limit + 1])
    page = rows[: filters.limit]
    return {
        "items": [
            store_hq_out(
                request,
                store,
                state=store_open_state(store, now),
                special_days=selectors.store_upcoming_special_days(store, now),
            )
            for store in page
        ],
        "next_cursor": encode_cursor([page[-1].pk]) if len(rows) > filters.limit else None,
    }


@hq.get("/stores/{store_id}", response=StoreHqRead, summary="One store")
def store_get(request, store_id: str):
    return _hq_read(request, store_id)


@hq.patch("/stores/{store_id}", response=StoreHqRead, summary="Edit a store (partial)")
def store_update(request, store_id: str, payload: StoreUpdate):
    store = selectors.store_get_for_actor(actor=request.auth, store_id=store_id)
    services.store_update(actor=request.auth, store=store, data=payload.model_dump(exclude_unset=True))
    return _hq_read(request, store.pk)


@hq.post("/stores/{store_id}/photos", response={201: PhotoRead}, summary="Upload a store photo")
def store_photo_add(request, store_id: str, image: File[UploadedFile]):
    store = selectors.store_get_for_actor(actor=request.auth, store_id=store_id)
    photo = services.store_photo_add(actor=request.auth, store=store, upload=image)
    return Status(201, photo_out(request, photo))


@hq.delete("/stores/{store_id}/photos/{photo_id}", response={204: None}, summary="Remove a store photo")
def store_photo_delete(request, store_id: str, photo_id: str):
    store = selectors.store_get_for_actor(actor=request.auth, store_id=store_id)
    services.store_photo_delete(actor=request.auth, store=store, photo_id=photo_id)
    return Status(204, None)


@hq.put(
    "/stores/{store_id}/special-days/{date}",
    response=SpecialDayRead,
    summary="Set one date's hours or closure",
)
def special_day_put(request, store_id: str, date: str, payload: SpecialDayInput):
    store = selectors.store_get_for_actor(actor=request.auth, store_id=store_id)
    day = services.special_day_set(
        actor=request.auth,
        store=store,
        date=date,
        closed=payload.closed,
        opens=payload.open,
        closes=payload.close,
        note=payload.note,
    )
    return special_days_out([day])[0]


@hq.delete("/stores/{store_id}/special-days/{date}", response={204: None}, summary="Remove a special day")
def special_day_delete(request, store_id: str, date: str):
    store = selectors.store_get_for_actor(actor=request.auth, store_id=store_id)
    services.special_day_delete(actor=request.auth, store=store, date=date)
    return Status(204, None)


# --- staff ---------------------------------------------------------------------------------


def _staff_read(request, store) -> dict:
    now = timezone.now()
    store = selectors.store_detail_for_actor(actor=request.auth, store_id=store.pk, at=now)
    return store_hq_out(
        request,
        store,
        state=store_open_state(store, now),
        special_days=selectors.store_upcoming_special_days(store, now),
    )


@staff.get("/store", response=StoreHqRead, summary="The caller's store")
def staff_store(request, which: Query[StaffStoreQuery]):
    store = selectors.store_for_staff(actor=request.auth, store_id=which.store_id)
    return _staff_read(request, store)


@staff.post("/store/pause", response=StoreHqRead, summary="Stop taking orders for now")
def staff_store_pause(request, which: Query[StaffStoreQuery]):
    store = selectors.store_for_staff(actor=request.auth, store_id=which.store_id)
    services.store_set_status(actor=request.auth, store=store, status="paused")
    return _staff_read(request, store)


@staff.post("/store/resume", response=StoreHqRead, summary="Take orders again")
def staff_store_resume(request, which: Query[StaffStoreQuery]):
    store = selectors.store_for_staff(actor=request.auth, store_id=which.store_id)
    services.store_set_status(actor=request.auth, store=store, status="open")
    return _staff_read(request, store)


@staff.put("/store/hours", response=StoreHqRead, summary="Replace the weekly opening hours")
def staff_store_hours(request, payload: HoursInput, which: Query[StaffStoreQuery]):
    store = selectors.store_for_staff(actor=request.auth, store_id=which.store_id)
    services.store_set_hours(
        actor=request.auth, store=store, hours=[item.model_dump() for item in payload.opening_hours]
    )
    return _staff_read(request, store)
