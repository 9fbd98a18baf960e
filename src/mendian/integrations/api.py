"""Thin routers: `hq` (API keys, webhooks, the delivery log) and `open` (signed POS / ERP API)."""

from django.http import JsonResponse
from ninja import Router, Status

from mendian.core.errors import NotFound
from mendian.core.idempotency import idempotent
from mendian.integrations import selectors, services
from mendian.integrations.auth import SignedRequestAuth
from mendian.integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint
from mendian.integrations.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyRead,
    StockEventBatch,
    StockEventsResult,
    WebhookCreate,
    WebhookDeliveryList,
    WebhookDeliveryRead,
    WebhookList,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)
from mendian.inventory.schemas import StockLevelPage
from mendian.inventory.selectors import stock_levels

hq = Router(tags=["integrations"])
open = Router(tags=["open"], auth=SignedRequestAuth())  # noqa: A001 - the audience's name, as config/api.py mounts it


def _id(value) -> str | None:
    return None if value is None else str(value)


def _merchant_arg(raw: str | None) -> int | None:
    """A platform admin names the merchant; anything that is not an id of ours is not found."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 19):
        raise NotFound("No such merchant.")
    return int(raw)


# --- HQ: API keys --------------------------------------------------------------------------------------


def _api_key_read(api_key: ApiKey) -> dict:
    return {
        "id": str(api_key.pk),
        "key": api_key.key_id,
        "name": api_key.name,
        "merchant_id": str(api_key.merchant_id),
        "created_by": _id(api_key.created_by_id),
        "created_at": api_key.created_at,
        "last_used_at": api_key.last_used_at,
        "revoked_at": api_key.revoked_at,
        "is_active": api_key.is_active,
    }


@hq.post(
    "/api-keys", response={201: ApiKeyCreated}, summary="Create an open-API key (the secret is shown once)"
)
def api_key_create(request, data: ApiKeyCreate):
    api_key, secret = services.api_key_create(
        actor=request.auth, name=data.name, merchant_id=_merchant_arg(data.merchant_id)
    )
    return Status(
        201,
        {
            "id": str(api_key.pk),
            "key": api_key.key_id,
            "secret": secret,
            "name": api_key.name,
            "merchant_id": str(api_key.merchant_id),
            "created_at": api_key.created_at,
        },
    )


@hq.get("/api-keys", response=ApiKeyList, summary="API keys (never their secrets)")
def api_key_list(request, limit: int | None = None, cursor: str | None = None):
    page = selectors.api_keys_for_actor(actor=request.auth, limit=limit, cursor=cursor)
    return {"items": [_api_key_read(key) for key in page["items"]], "next_cursor": page["next_cursor"]}


@hq.post("/api-keys/{api_key_id}/revoke", response=ApiKeyRead, summary="Revoke a key at once")
def api_key_revoke(request, api_key_id: str):
    api_key = selectors.api_key_get_for_actor(actor=request.auth, api_key_id=api_key_id)
    return _api_key_read(services.api_key_revoke(actor=request.auth, api_key=api_key))


# --- HQ: webhooks --------------------------------------------------------------------------------------


def _webhook_read(endpoint: WebhookEndpoint, secret: str | None = None, *, with_secret: bool = False) -> dict:
    body = {
        "id": str(endpoint.pk),
        "merchant_id": str(endpoint.merchant_id),
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "is_active": endpoint.is_active,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }
    if with_secret:
        body["secret"] = secret
    return body


def _delivery_read(delivery: WebhookDelivery) -> dict:
    event = delivery.event
    return {
        "id": str(delivery.pk),
        "endpoint_id": str(delivery.endpoint_id),
        "event": {
            "id": str(event.pk),
            "type": event.event_type,
            "created_at": event.created_at,
            "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id,
        },
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "delivered_at": delivery.delivered_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "attempt_log": [
            {
                "number": attempt.number,
                "attempted_at": attempt.attempted_at,
                "status_code": attempt.status_code,
                "succeeded": attempt.succeeded,
                "duration_ms": attempt.duration_ms,
                "error": attempt.error,
                "response_excerpt": attempt.response_excerpt,
            }
            for attempt in delivery.attempt_log.all()
        ],
    }


@hq.post(
    "/webhooks", response={201: WebhookWithSecret}, summary="Subscribe a URL to events (secret shown once)"
)
def webhook_create(request, data: WebhookCreate):
    endpoint, secret = services.webhook_endpoint_create(
        actor=request.auth,
        url=data.url,
        event_types=data.event_types,
        description=data.description,
        is_active=data.is_active,
        merchant_id=_merchant_arg(data.merchant_id),
    )
    return Status(201, _webhook_read(endpoint, secret, with_secret=True))


@hq.get("/webhooks", response=WebhookList, summary="Webhook endpoints")
def webhook_list(request, limit: int | None = None, cursor: str | None = None):
    page = selectors.webhook_endpoints_for_actor(actor=request.auth, limit=limit, cursor=cursor)
    return {
        "items": [_webhook_read(endpoint) for endpoint in page["items"]],
        "next_cursor": page["next_cursor"],
    }


@hq.get("/webhooks/{webhook_id}", response=WebhookRead, summary="One webhook endpoint")
def webhook_get(request, webhook_id: str):
    return _webhook_read(selectors.webhook_endpoint_get_for_actor(actor=request.auth, endpoint_id=webhook_id))


@hq.patch(
    "/webhooks/{webhook_id}", response=WebhookWithSecret, summary="Change, disable or rotate the secret"
)
def webhook_update(request, webhook_id: str, data: WebhookUpdate):
    endpoint = selectors.webhook_endpoint_get_for_actor(actor=request.auth, endpoint_id=webhook_id)
    given = data.model_dump(exclude_unset=True)
    changes = {
        field: given[field]
        for field in ("url", "event_types", "description", "is_active")
        if given.get(field) is not None
    }
    endpoint, secret = services.webhook_endpoint_update(
        actor=request.auth, endpoint=endpoint, rotate_secret=data.rotate_secret, **changes
    )
    return _webhook_read(endpoint, secret, with_secret=True)


@hq.get(
    "/webhooks/{webhook_id}/deliveries",
    response=WebhookDeliveryList,
    summary="The delivery log of an endpoint, newest first, with every attempt",
)
def webhook_deliveries(
    request, webhook_id: str, status: str | None = None, limit: int | None = None, cursor: str | None = None
):
    endpoint = selectors.webhook_endpoint_get_for_actor(actor=request.auth, endpoint_id=webhook_id)
    page = selectors.webhook_deliveries_for_endpoint(
        actor=request.auth, endpoint=endpoint, status=status, limit=limit, cursor=cursor
    )
    return {
        "items": [_delivery_read(delivery) for delivery in page["items"]],
        "next_cursor": page["next_cursor"],
    }


@hq.post(
    "/webhook-deliveries/{delivery_id}/replay",
    response={202: WebhookDeliveryRead},
    summary="Send a delivery again now, with the same delivery id",
)
def webhook_delivery_replay(request, delivery_id: str):
    delivery = selectors.webhook_delivery_get_for_actor(actor=request.auth, delivery_id=delivery_id)
    services.webhook_delivery_replay(actor=request.auth, delivery=delivery)
    return Status(
        202,
        _delivery_read(selectors.webhook_delivery_get_for_actor(actor=request.auth, delivery_id=delivery.pk)),
    )


# --- open API (signed) ---------------------------------------------------------------------------------


def _stock_events_reply(request, data: StockEventBatch) -> JsonResponse:
    result = services.pos_stock_events_ingest(api_key=request.auth, events=data.events)
    return JsonResponse(result, status=200, json_dumps_params={"ensure_ascii": False})


# With an Idempotency-Key, a repeat returns the first reply byte for byte; keys are per API key.
# Applied inside the handler so that it runs only after the signature was verified.
_stock_events_idempotent = idempotent(lambda request: f"apikey:{request.auth.pk}")(_stock_events_reply)


@open.post(
    "/stock-events",
    response=StockEventsResult,
    summary="Apply POS stock events (≤ 1000; idempotent by event_id)",
    openapi_extra={
        "parameters": [
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
                "description": "Optional: a repeat with the same key and body returns the first reply.",
            }
        ]
    },
)
def stock_events(request, data: StockEventBatch):
    return _stock_events_idempotent(request, data)


@open.get("/stock", response=StockLevelPage, summary="Stock levels of one store")
def stock(
    request,
    store_code: str,
    low_only: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
):
    api_key = request.auth
    store = selectors.store_for_api_key(api_key=api_key, store_code=store_code)
    return stock_levels(
        actor=selectors.actor_for_api_key(api_key),
        store_id=store.pk,
        low_only=low_only,
        limit=limit,
        cursor=cursor,
    )
