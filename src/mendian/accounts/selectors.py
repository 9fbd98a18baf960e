"""Every read of the accounts app. Staff reads are scoped by the Actor."""

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from mendian.accounts.models import SandboxSms, Staff
from mendian.core.errors import NotFound, ValidationFailed
from mendian.core.pagination import clamp_limit, decode_int_cursor, encode_cursor
from mendian.core.pii import blind_index, normalize_phone
from mendian.core.scope import Actor
from mendian.merchants.models import Merchant
from mendian.stores.models import Store

SANDBOX_OUTBOX_LIMIT = 20


def staff_mfa_enrolled(staff: Staff) -> bool:
    return TOTPDevice.objects.filter(user=staff, confirmed=True).exists()


def staff_needs_mfa_enrolment(staff: Staff) -> bool:
    """With REQUIRE_MFA, HQ roles must have a confirmed authenticator before they may act."""
    return bool(settings.REQUIRE_MFA and staff.is_hq and not staff_mfa_enrolled(staff))


def _staff_queryset(actor: Actor) -> QuerySet[Staff]:
    actor.require("staff.manage")
    qs = Staff.objects.annotate(
        mfa_enabled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )
    if actor.is_platform:
        return qs
    return qs.filter(merchant_id=actor.merchant_id)


def _parse_id(raw) -> int | None:
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def staff_list_for_actor(
    *,
    actor: Actor,
    role: str | None = None,
    store_id: str | None = None,
    is_active: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict:
    """Staff in the actor's scope, oldest first: `{items, next_cursor}` (keyset on id)."""
    limit = clamp_limit(limit)
    qs = _staff_queryset(actor)
    if role:
        qs = qs.filter(role=role)
    if store_id is not None:
        parsed = _parse_id(store_id)
        qs = qs.filter(store_id=parsed) if parsed else qs.none()
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    after = decode_int_cursor(cursor)
    if after is not None:
        qs = qs.filter(pk__gt=after[0])
    rows = list(qs.order_by("pk")[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].pk]) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}


def staff_get_for_actor(*, actor: Actor, staff_id) -> Staff:
    parsed = _parse_id(staff_id)
    staff = _staff_queryset(actor).filter(pk=parsed).first() if parsed else None
    if staff is None:
        raise NotFound("No such staff member.")
    return staff


def store_for_staff_assignment(*, actor: Actor, store_id) -> Store:
    """A store the actor may assign staff to; anything else (or nothing) is `404 not_found`."""
    parsed = _parse_id(store_id)
    store = Store.objects.filter(pk=parsed).first() if parsed else None
    if store is None:
        raise NotFound("No such store.")
    actor.check_store(store)
    return store


def merchant_for_staff_assignment(*, actor: Actor, merchant_id) -> Merchant:
    """Only platform administrators choose a staff member's merchant; others get `422` whatever the id."""
    if not actor.is_platform:
        raise ValidationFailed(
            "Only platform administrators choose the merchant.",
            errors=[{"loc": ["body", "merchant_id"], "msg": "not allowed for your role"}],
        )
    parsed = _parse_id(merchant_id)
    merchant = Merchant.objects.filter(pk=parsed).first() if parsed else None
    if merchant is None:
        raise NotFound("No such merchant.")
    return merchant


def sandbox_sms_outbox(*, phone: str) -> list[SandboxSms]:
    """The newest sandbox messages to a (normalised) phone."""
    return list(
        SandboxSms.objects.filter(phone_hash=blind_index(phone)).order_by("-sent_at", "-id")[
            :SANDBOX_OUTBOX_LIMIT
        ]
    )


def sandbox_phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValueError as exc:
        raise ValidationFailed(
            "Pass ?phone= with a mainland China mobile number.",
            code="invalid_phone",
            errors=[{"loc": ["query", "phone"], "msg": "not a mainland China mobile number"}],
        ) from exc
