"""Merchant API shapes."""

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool

from mendian.merchants.models import Merchant


class _Input(Schema):
    # Unknown fields (an `id`, a `code` on update) fail loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid")


class MerchantPublicRead(Schema):
    code: str
    name: str
    logo: str | None


class MerchantPublicPage(Schema):
    items: list[MerchantPublicRead]
    next_cursor: str | None


class MerchantRead(Schema):
    id: str
    code: str
    name: str
    brand_name: str
    logo: str | None
    currency: str
    timezone: str
    settings: dict[str, Any]
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class MerchantPage(Schema):
    items: list[MerchantRead]
    next_cursor: str | None


class MerchantCreate(_Input):
    code: str = Field(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]{1,39}$")
    name: str = Field(min_length=1, max_length=100)
    brand_name: str = Field("", max_length=100)
    timezone: str = Field("Asia/Shanghai", max_length=64)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    settings: dict[str, Any] = Field(default_factory=dict)


class MerchantUpdate(_Input):
    name: str = Field(None, min_length=1, max_length=100)
    brand_name: str = Field(None, max_length=100)
    timezone: str = Field(None, max_length=64)
    settings: dict[str, Any] = Field(None, description="Merged as a JSON Merge Patch; null removes a key.")


class MerchantAdminUpdate(MerchantUpdate):
    is_active: StrictBool = None


def _logo_url(request, merchant: Merchant) -> str | None:
    return request.build_absolute_uri(merchant.logo.url) if merchant.logo else None


def merchant_public_out(request, merchant: Merchant) -> dict:
    return {"code": merchant.code, "name": merchant.display_name, "logo": _logo_url(request, merchant)}


def merchant_out(request, merchant: Merchant) -> dict:
    return {
        "id": str(merchant.pk),
        "code": merchant.code,
        "name": merchant.name,
        "brand_name": merchant.brand_name,
        "logo": _logo_url(request, merchant),
        "currency": merchant.currency,
        "timezone": merchant.timezone,
        "settings": merchant.settings,
        "is_active": merchant.is_active,
        "created_at": merchant.created_at,
        "updated_at": merchant.updated_at,
    }
