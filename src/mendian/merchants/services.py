"""Merchant writes: creating brands (platform) and editing a brand's profile and settings."""

import json
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from mendian.core.errors import Conflict, ValidationFailed
from mendian.core.scope import Actor
from mendian.merchants.models import Merchant
from mendian.merchants.timezones import is_valid_timezone

MAX_SETTINGS_BYTES = 64 * 1024
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UPDATABLE = frozenset({"name", "brand_name", "timezone", "settings", "is_active"})


def _merge_patch(target: dict, patch: dict) -> dict:
    """JSON Merge Patch (RFC 7396): objects merge key by key, null removes a key."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check(merchant: Merchant, errors: list[dict]) -> None:
    if not is_valid_timezone(merchant.timezone):
        errors.append({"loc": ["timezone"], "msg": "must be an IANA time zone such as Asia/Shanghai"})
    if not _CURRENCY.match(merchant.currency or ""):
        errors.append({"loc": ["currency"], "msg": "must be an ISO 4217 code such as CNY"})
    if not isinstance(merchant.settings, dict):
        errors.append({"loc": ["settings"], "msg": "must be an object"})
    elif len(json.dumps(merchant.settings, ensure_ascii=False).encode()) > MAX_SETTINGS_BYTES:
        errors.append({"loc": ["settings"], "msg": f"must be at most {MAX_SETTINGS_BYTES} bytes"})
    try:
        merchant.full_clean(exclude=["logo", "settings"], validate_unique=False, validate_constraints=False)
    except DjangoValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.extend({"loc": [field], "msg": message} for message in messages)
    if errors:
        raise ValidationFailed("The merchant data is not valid.", errors=errors)


@transaction.atomic
def merchant_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    brand_name: str = "",
    timezone: str = "Asia/Shanghai",
    currency: str = "CNY",
    settings: dict | None = None,
) -> Merchant:
    """A new brand (platform administrators and platform-wide system jobs only)."""
    actor.require("merchants.manage")
    errors = []
    for key, value in (("code", code), ("name", name), ("brand_name", brand_name)):
        if not isinstance(value, str):
            errors.append({"loc": [key], "msg": "must be text"})
    if errors:
        raise ValidationFailed("The merchant data is not valid.", errors=errors)
    merchant = Merchant(
        code=code.strip(),
        name=name.strip(),
        brand_name=brand_name.strip(),
        timezone=timezone,
        currency=currency,
        settings={} if settings is None else settings,
    )
    _check(merchant, errors)
    if Merchant.objects.filter(code=merchant.code).exists():
        raise Conflict(f"Merchant code {merchant.code!r} is taken.", code="merchant_code_taken")
    try:
        with transaction.atomic():
            merchant.save()
    except IntegrityError as exc:
        raise Conflict(f"Merchant code {merchant.code!r} is taken.", code="merchant_code_taken") from exc
    return merchant


@transaction.atomic
def merchant_update(*, actor: Actor, merchant: Merchant, data: dict) -> Merchant:
    """Edits name, brand name, time zone and settings (merged as a JSON Merge Patch). Only the
    platform may (de)activate a merchant. The code and currency never change."""
    actor.require("hq.access")
    actor.check_merchant(merchant.pk)
    if not isinstance(data, dict):
        raise ValidationFailed("The merchant data must be an object.")
    errors = [{"loc": [key], "msg": "is not a field you can set"} for key in sorted(set(data) - _UPDATABLE)]
    if "is_active" in data:
        actor.require("merchants.manage")
        if not isinstance(data["is_active"], bool):
            errors.append({"loc": ["is_active"], "msg": "must be true or false"})
    if "settings" in data and not isinstance(data["settings"], dict):
        errors.append({"loc": ["settings"], "msg": "must be an object"})
    for key in ("name", "brand_name", "timezone"):
        if key in data and not isinstance(data[key], str):
            errors.append({"loc": [key], "msg": "must be text"})
    if errors:
        raise ValidationFailed("The merchant data is not valid.", errors=errors)

    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    for key in ("name", "brand_name", "timezone"):
        if key in data:
            setattr(merchant, key, data[key].strip())
    if "is_active" in data:
        merchant.is_active = data["is_active"]
    if "settings" in data:
        merchant.settings = _merge_patch(merchant.settings or {}, data["settings"])
    _check(merchant, errors)
    merchant.save()
    return merchant
