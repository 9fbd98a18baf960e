"""What every HQ page shows around its content: the navigation and, for platform administrators,
the merchant switch (kept in the session; `?merchant=<id>` changes it, `?merchant=` shows all)."""

from django.shortcuts import render

from mendian.core.errors import NotFound
from mendian.merchants.selectors import merchant_get_for_actor, merchants_for_actor
from mendian.web.hq_console.common import styled

SESSION_MERCHANT = "hq_merchant_id"


def current_merchant_id(request) -> int | None:
    """The merchant the page is about: one's own; for a platform admin the one it switched to (or None)."""
    actor = request.actor
    if not actor.is_platform:
        return actor.merchant_id
    if hasattr(request, "_hq_merchant_id"):
        return request._hq_merchant_id
    chosen = request.session.get(SESSION_MERCHANT)
    if "merchant" in request.GET:
        raw = request.GET.get("merchant", "")
        if not raw:
            chosen = None
        else:
            try:
                chosen = merchant_get_for_actor(actor=actor, merchant_id=raw).pk
            except NotFound:
                chosen = request.session.get(SESSION_MERCHANT)
        if chosen is None:
            request.session.pop(SESSION_MERCHANT, None)
        else:
            request.session[SESSION_MERCHANT] = chosen
    request._hq_merchant_id = chosen
    return chosen


def platform_merchants(request) -> list | None:
    """Every merchant (platform administrators only; None for everyone else), loaded once a request."""
    actor = request.actor
    if not actor.is_platform:
        return None
    if not hasattr(request, "_hq_merchants"):
        request._hq_merchants = list(merchants_for_actor(actor=actor))
    return request._hq_merchants


def render_hq(request, template: str, context: dict | None = None, *, nav: str, status: int = 200):
    context = dict(context or {})
    for value in list(context.values()):
        if hasattr(value, "fields") and hasattr(value, "is_bound"):
            styled(value)
    merchants = platform_merchants(request)
    current = current_merchant_id(request) if merchants is not None else None
    context.update(
        {
            "actor": request.actor,
            "nav": nav,
            "switch_merchants": merchants,
            "current_merchant_id": current,
            "current_merchant": next((m for m in merchants or [] if m.pk == current), None),
        }
    )
    return render(request, template, context, status=status)
