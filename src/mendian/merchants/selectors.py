"""Merchant reads: the consumer's merchant context and the scoped staff views."""

from django.db.models import Q, QuerySet

from mendian.core.errors import NotFound
from mendian.core.scope import Actor
from mendian.merchants.models import Merchant

MERCHANT_HEADER = "X-Mendian-Merchant"
_CACHE_ATTR = "_mendian_merchant_context"


def merchant_code(request) -> str:
    """The `X-Mendian-Merchant` code a consumer request names, normalised ("" for none)."""
    return request.headers.get(MERCHANT_HEADER, "").strip().lower()


def merchant_context(request) -> Merchant | None:
    """The brand a consumer request is for (`X-Mendian-Merchant: <code>`), or None for every
    active merchant (a multi-brand mall, or the only merchant). Unknown or inactive codes are
    `404 merchant_not_found`. Resolved once per request."""
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)
    code = merchant_code(request)
    merchant = None
    if code:
        merchant = Merchant.objects.filter(code=code, is_active=True).first()
        if merchant is None:
            raise NotFound(f"No merchant with code {code!r}.", code="merchant_not_found")
    setattr(request, _CACHE_ATTR, merchant)
    return merchant


def merchants_active() -> QuerySet:
    return Merchant.objects.filter(is_active=True).order_by("pk")


def _parse_pk(value: str | int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value) or None
    return None


def merchants_for_actor(*, actor: Actor, q: str | None = None, is_active: bool | None = None) -> QuerySet:
    """Every merchant, for platform administrators only."""
    actor.require("merchants.manage")
    qs = Merchant.objects.all()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(brand_name__icontains=q))
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by("pk")


def merchant_get_for_actor(*, actor: Actor, merchant_id: str | int) -> Merchant:
    """A merchant within the actor's scope (HQ: its own; platform: any); otherwise not found."""
    actor.require("hq.access")
    pk = _parse_pk(merchant_id)
    merchant = Merchant.objects.filter(pk=pk).first() if pk else None
    if merchant is None:
        raise NotFound("No such merchant.")
    actor.check_merchant(merchant.pk)
    return merchant


def merchant_own(*, actor: Actor) -> Merchant:
    """The caller's own merchant; platform administrators have none."""
    actor.require("hq.access")
    if actor.merchant_id is None:
        raise NotFound("Platform administrators belong to no merchant; use /merchants/{id}.")
    return Merchant.objects.get(pk=actor.merchant_id)
