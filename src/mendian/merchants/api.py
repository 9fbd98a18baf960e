"""Merchant endpoints: the consumer's brand list; HQ's own merchant; the platform's merchants."""

from ninja import Query, Router, Schema, Status
from pydantic import Field

from mendian.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_int_cursor, encode_cursor
from mendian.merchants import selectors, services
from mendian.merchants.schemas import (
    MerchantAdminUpdate,
    MerchantCreate,
    MerchantPage,
    MerchantPublicPage,
    MerchantRead,
    MerchantUpdate,
    merchant_out,
    merchant_public_out,
)

consumer = Router(tags=["merchants"])
hq = Router(tags=["merchants"])


class PageQuery(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class MerchantFilter(PageQuery):
    q: str | None = Field(None, max_length=50)
    is_active: bool | None = None


def _after_pk(cursor: str | None) -> int:
    values = decode_int_cursor(cursor)
    return 0 if values is None else values[0]


def _keyset_page(qs, *, cursor: str | None, limit: int) -> tuple[list, str | None]:
    rows = list(qs.filter(pk__gt=_after_pk(cursor))[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].pk]) if len(rows) > limit else None
    return rows[:limit], next_cursor


@consumer.get("/merchants", response=MerchantPublicPage, auth=None, summary="Brands on this platform")
def merchants_public_list(request, page: Query[PageQuery]):
    rows, next_cursor = _keyset_page(selectors.merchants_active(), cursor=page.cursor, limit=page.limit)
    return {"items": [merchant_public_out(request, m) for m in rows], "next_cursor": next_cursor}


@hq.get("/merchants/me", response=MerchantRead, summary="The caller's own merchant")
def merchant_me(request):
    return merchant_out(request, selectors.merchant_own(actor=request.auth))


@hq.patch("/merchants/me", response=MerchantRead, summary="Edit the caller's own merchant")
def merchant_me_update(request, payload: MerchantUpdate):
    merchant = selectors.merchant_own(actor=request.auth)
    merchant = services.merchant_update(
        actor=request.auth, merchant=merchant, data=payload.model_dump(exclude_unset=True)
    )
    return merchant_out(request, merchant)


@hq.post("/merchants", response={201: MerchantRead}, summary="Create a merchant (platform)")
def merchant_create(request, payload: MerchantCreate):
    merchant = services.merchant_create(actor=request.auth, **payload.model_dump())
    return Status(201, merchant_out(request, merchant))


@hq.get("/merchants", response=MerchantPage, summary="Every merchant (platform)")
def merchants_list(request, filters: Query[MerchantFilter]):
    qs = selectors.merchants_for_actor(actor=request.auth, q=filters.q, is_active=filters.is_active)
    rows, next_cursor = _keyset_page(qs, cursor=filters.cursor, limit=filters.limit)
    return {"items": [merchant_out(request, m) for m in rows], "next_cursor": next_cursor}


@hq.get("/merchants/{merchant_id}", response=MerchantRead, summary="One merchant (platform)")
def merchant_detail(request, merchant_id: str):
    request.auth.require("merchants.manage")
    return merchant_out(
        request, selectors.merchant_get_for_actor(actor=request.auth, merchant_id=merchant_id)
    )


@hq.patch(
    "/merchants/{merchant_id}", response=MerchantRead, summary="Edit or (de)activate a merchant (platform)"
)
def merchant_update(request, merchant_id: str, payload: MerchantAdminUpdate):
    request.auth.require("merchants.manage")
    merchant = selectors.merchant_get_for_actor(actor=request.auth, merchant_id=merchant_id)
    merchant = services.merchant_update(
        actor=request.auth, merchant=merchant, data=payload.model_dump(exclude_unset=True)
    )
    return merchant_out(request, merchant)
