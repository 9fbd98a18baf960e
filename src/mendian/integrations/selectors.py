"""Every read of the integrations app. HQ reads are scoped by the Actor; open-API reads by the key."""

from django.db.models import Prefetch, QuerySet

from mendian.core.errors import NotFound, ValidationFailed
from mendian.core.pagination import clamp_limit, decode_int_cursor, encode_cursor
from mendian.core.scope import Actor, Role
from mendian.integrations.models import (
    ApiKey,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from mendian.integrations.services import CAPABILITY
from mendian.stores.models import Store

_MAX_PK = 2**63 - 1


def _parse_id(raw) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
    else:
        return None
    return value if 0 < value <= _MAX_PK else None


def _after(cursor: str | None) -> int | None:
    values = decode_int_cursor(cursor)
    return None if values is None else values[0]


def _page(qs: QuerySet, *, limit: int | None, cursor: str | None, newest_first: bool = False) -> dict:
    """Keyset page on the primary key: `{items, next_cursor}`."""
    limit = clamp_limit(limit)
    after = _after(cursor)
    if after is not None:
        qs = qs.filter(pk__lt=after) if newest_first else qs.filter(pk__gt=after)
    rows = list(qs.order_by("-pk" if newest_first else "pk")[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].pk]) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}


# --- API keys ------------------------------------------------------------------------------------------


def _api_keys(actor: Actor) -> QuerySet[ApiKey]:
    actor.require(CAPABILITY)
    return actor.scope_merchants(ApiKey.objects.all())


def api_keys_for_actor(*, actor: Actor, limit: int | None = None, cursor: str | None = None) -> dict:
    """The keys of the actor's merchant(s), oldest first (revoked ones too). Never their secrets."""
    return _page(_api_keys(actor).defer("secret"), limit=limit, cursor=cursor)


def api_key_get_for_actor(*, actor: Actor, api_key_id) -> ApiKey:
    pk = _parse_id(api_key_id)
    api_key = _api_keys(actor).filter(pk=pk).defer("secret").first() if pk else None
    if api_key is None:
        raise NotFound("No such API key.")
    return api_key


# --- webhooks ------------------------------------------------------------------------------------------


def _endpoints(actor: Actor) -> QuerySet[WebhookEndpoint]:
    actor.require(CAPABILITY)
    return actor.scope_merchants(WebhookEndpoint.objects.defer("secret"))


def webhook_endpoints_for_actor(*, actor: Actor, limit: int | None = None, cursor: str | None = None) -> dict:
    return _page(_endpoints(actor), limit=limit, cursor=cursor)


def webhook_endpoint_get_for_actor(*, actor: Actor, endpoint_id) -> WebhookEndpoint:
    pk = _parse_id(endpoint_id)
    endpoint = _endpoints(actor).filter(pk=pk).first() if pk else None
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def webhook_deliveries_for_endpoint(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict:
    """The delivery log of one endpoint, newest first, each with its event and its attempts."""
    actor.require(CAPABILITY)
    actor.check_merchant(endpoint.merchant_id)
    qs = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    if status is not None:
        if status not in DeliveryStatus.values:
            raise ValidationFailed(
                f"status must be one of {', '.join(DeliveryStatus.values)}.",
                errors=[{"loc": ["query", "status"], "msg": "unknown status"}],
            )
        qs = qs.filter(status=status)
    qs = qs.prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number")))
    return _page(qs, limit=limit, cursor=cursor, newest_first=True)


def webhook_delivery_get_for_actor(*, actor: Actor, delivery_id) -> WebhookDelivery:
    actor.require(CAPABILITY)
    pk = _parse_id(delivery_id)
    delivery = (
        actor.scope_merchants(WebhookDelivery.objects.select_related("event", "endpoint"))
        .filter(pk=pk)
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number")))
        .first()
        if pk
        else None
    )
    if delivery is None:
        raise NotFound("No such webhook delivery.")
    return delivery


# --- open API ------------------------------------------------------------------------------------------


def store_for_api_key(*, api_key: ApiKey, store_code: str) -> Store:
    """One of the key's merchant's stores, by its code; another merchant's store is not found."""
    store = (
        Store.objects.filter(merchant_id=api_key.merchant_id, code=store_code.strip()).first()
        if store_code
        else None
    )
    if store is None:
        raise NotFound("No such store.")
    return store


def actor_for_api_key(api_key: ApiKey) -> Actor:
    """An API key acts with merchant-wide rights over its merchant's stores (read and POS sync)."""
    return Actor(role=Role.MERCHANT_ADMIN, merchant_id=api_key.merchant_id, label=f"apikey:{api_key.key_id}")
