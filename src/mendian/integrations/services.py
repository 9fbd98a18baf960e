"""Every write of the integrations app: API keys, signed-request checks (nonces), webhook endpoints,
the outbox dispatcher, webhook delivery with retries, replays, and housekeeping."""

import logging
import random
import secrets
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mendian.core.errors import Conflict, DomainError, NotFound, Unauthorized, ValidationFailed
from mendian.core.scope import Actor
from mendian.integrations import signing
from mendian.integrations.events import ALL_EVENTS, EVENT_TYPES
from mendian.integrations.models import (
    ApiKey,
    ApiNonce,
    DeliveryStatus,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from mendian.integrations.webhooks import check_webhook_url, webhook_body, webhook_client, webhook_post
from mendian.inventory.services import stock_apply_pos_events
from mendian.merchants.models import Merchant

logger = logging.getLogger("mendian.integrations")

CAPABILITY = "apikeys.manage"  # API keys and webhooks: the merchant's integration settings
KEY_ID_PREFIX = "mk_"
KEY_SECRET_PREFIX = "sk_"  # noqa: S105 - a prefix, not a secret
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
NAME_MAX = 100
DESCRIPTION_MAX = 200
NONCE_MIN, NONCE_MAX = 8, 128
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per key
MAX_WEBHOOKS_PER_MERCHANT = 20

# Back-off after the 1st, 2nd, … failed attempt of a delivery (seconds, before jitter of ±10 %):
# 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 6 h, 6 h — nine attempts over about 22 hours, then `failed`.
RETRY_DELAYS_S = (30, 120, 600, 3600, 3 * 3600, 6 * 3600, 6 * 3600, 6 * 3600)
RETRY_JITTER = 0.1
# A claimed delivery is leased for this long: another worker will not send it meanwhile, and a
# worker that dies mid-send leaves it to be retried once the lease runs out.
DELIVERY_LEASE = timedelta(minutes=2)
DISPATCH_BATCH = 500
SEND_BATCH = 200
SEND_TIME_BUDGET_S = 50.0  # a task run stops claiming after this; beat starts the next
HISTORY_KEEP = timedelta(days=30)
PURGE_CHUNK = 2000
MAX_STOCK_EVENTS = 1000

UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET", "__bool__": lambda self: False})()


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"


def _skip_locked(qs):
    """Claim rows other workers have not claimed (PostgreSQL); SQLite serialises writers anyway."""
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True)
    return qs


def _merchant_for_write(actor: Actor, merchant_id: int | None) -> Merchant:
    """The merchant a new key or webhook belongs to: the actor's own; a platform admin names one."""
    if merchant_id is not None and not actor.is_platform:
        actor.check_merchant(merchant_id)
    target = actor.effective_merchant_id(merchant_id)
    merchant = Merchant.objects.filter(pk=target).first()
    if merchant is None:
        raise NotFound("No such merchant.")
    return merchant


def _clean_name(name: str, *, field: str = "name", max_length: int = NAME_MAX, required: bool = True) -> str:
    name = (name or "").strip()
    if (required and not name) or len(name) > max_length:
        raise ValidationFailed(
            f"{field} must be {'1' if required else '0'} to {max_length} characters.",
            errors=[{"loc": ["body", field], "msg": "invalid length"}],
        )
    return name


# --- API keys ------------------------------------------------------------------------------------------


def api_key_create(*, actor: Actor, name: str, merchant_id: int | None = None) -> tuple[ApiKey, str]:
    """A new key with full open-API rights over the merchant's stores. Returns the key and its
    secret: the only time the secret is shown."""
    actor.require(CAPABILITY)
    name = _clean_name(name)
    merchant = _merchant_for_write(actor, merchant_id)
    secret = KEY_SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            merchant=merchant,
            name=name,
            key_id=KEY_ID_PREFIX + secrets.token_hex(12),
            secret=secret,
            created_by_id=actor.staff_id,
        )
    logger.info("api key %s created for merchant %s by %s", api_key.key_id, merchant.pk, actor.label)
    return api_key, secret


def api_key_revoke(*, actor: Actor, api_key: ApiKey, now: datetime | None = None) -> ApiKey:
    """Revoke at once: the next request signed with it answers 401. Revoking twice changes nothing."""
    actor.require(CAPABILITY)
    actor.check_merchant(api_key.merchant_id)
    now = now or timezone.now()
    with transaction.atomic():
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
        api_key.refresh_from_db(fields=["revoked_at"])
    logger.info("api key %s revoked by %s", api_key.key_id, actor.label)
    return api_key


# --- signed requests -----------------------------------------------------------------------------------


def _invalid(detail: str) -> Unauthorized:
    return Unauthorized(detail, code="invalid_signature")


def _nonce_claim(api_key: ApiKey, nonce: str, now: datetime) -> bool:
    """True the first time a key uses a nonce within NONCE_TTL_S; False for a reuse."""
    if settings.REDIS_URL:
        try:
            # SET key 1 NX EX 600: atomic; the key expires on its own.
            return bool(cache.add(f"apinonce:{api_key.pk}:{nonce}", 1, timeout=signing.NONCE_TTL_S))
        except Exception as exc:
            logger.exception("nonce store (Redis) unavailable")
            # Fail closed: without the nonce store a replay could not be told from a fresh request.
            raise ServiceUnavailable("The request cannot be verified right now; retry shortly.") from exc
    try:
        with transaction.atomic():
            ApiNonce.objects.create(api_key=api_key, nonce=nonce, created_at=now)
        return True
    except IntegrityError:
        # A row older than the TTL that the purge has not removed yet does not count: take it over.
        # The conditional UPDATE lets only one of two concurrent reusers win.
        expired = now - timedelta(seconds=signing.NONCE_TTL_S)
        return bool(
            ApiNonce.objects.filter(api_key=api_key, nonce=nonce, created_at__lt=expired).update(
                created_at=now
            )
        )


def _valid_nonce(nonce: str) -> bool:
    return (
        NONCE_MIN <= len(nonce) <= NONCE_MAX and nonce.isascii() and nonce.isprintable() and " " not in nonce
    )


def api_request_verify(
    *,
    key_id: str | None,
    timestamp: str | None,
    nonce: str | None,
    signature: str | None,
    method: str,
    path: str,
    body: bytes,
    now: datetime | None = None,
) -> ApiKey:
    """Check a signed open-API request; return its (active) key with the merchant joined.

    Order matters: the signature is checked before the clock and before the nonce is recorded, so
    a forged request can neither burn a nonce nor learn anything but `invalid_signature`.
    Raises `401 invalid_signature`, `401 timestamp_out_of_window` or `401 nonce_reused`.
    """
    if not (key_id and timestamp and nonce and signature):
        raise _invalid(
            "Sign the request: X-Mendian-Key, X-Mendian-Timestamp, X-Mendian-Nonce and X-Mendian-Signature "
            "are required."
        )
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise _invalid("X-Mendian-Timestamp must be unix seconds.")
    if not _valid_nonce(nonce):
        raise _invalid(f"X-Mendian-Nonce must be {NONCE_MIN}-{NONCE_MAX} printable ASCII characters.")
    if not key_id.isascii() or len(key_id) > 40:
        raise _invalid("The signature does not match.")
    api_key = (
        ApiKey.objects.select_related("merchant")
        .filter(key_id=key_id, revoked_at__isnull=True, merchant__is_active=True)
        .first()
    )
    if api_key is None:
        # The same answer as a bad signature: whether a key exists is not for strangers to learn.
        raise _invalid("The signature does not match.")
    if not signing.signature_matches(api_key.secret, signature, method, path, timestamp, nonce, body):
        raise _invalid("The signature does not match.")
    now = now or timezone.now()
    if abs(now.timestamp() - int(timestamp)) > signing.TIMESTAMP_TOLERANCE_S:
        raise Unauthorized(
            f"X-Mendian-Timestamp is more than {signing.TIMESTAMP_TOLERANCE_S} s away from the server clock "
            f"({int(now.timestamp())}).",
            code="timestamp_out_of_window",
        )
    if not _nonce_claim(api_key, nonce, now):
        raise Unauthorized("This nonce was already used; send a fresh one.", code="nonce_reused")
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def api_nonces_purge(*, now: datetime | None = None) -> int:
    """Forget nonces older than their TTL (the DB store; Redis expires its own)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=signing.NONCE_TTL_S)
    deleted, _ = ApiNonce.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- POS stock events ----------------------------------------------------------------------------------


def pos_stock_events_ingest(*, api_key: ApiKey, events: list) -> dict:
    """Apply a POS batch for the key's merchant (inventory does the work, event by event, before
    this returns) and summarise it the open-API way: `{accepted, duplicates, rejected: [...]}`."""
    if len(events) > MAX_STOCK_EVENTS:
        raise ValidationFailed(
            f"At most {MAX_STOCK_EVENTS} events per request; send {len(events)} in several batches.",
            code="too_many_events",
            errors=[{"loc": ["body", "events"], "msg": f"more than {MAX_STOCK_EVENTS} items"}],
        )
    results = stock_apply_pos_events(merchant=api_key.merchant, events=events)
    counts = {"accepted": 0, "duplicate": 0}
    rejected = []
    for result in results:
        if result["status"] == "rejected":
            rejected.append(
                {"event_id": result["event_id"], "code": result["code"], "detail": result["detail"]}
            )
        else:
            counts[result["status"]] += 1
    return {"accepted": counts["accepted"], "duplicates": counts["duplicate"], "rejected": rejected}


# --- webhook endpoints ---------------------------------------------------------------------------------


def _clean_event_types(event_types) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise ValidationFailed(
            'event_types must list event types, or be ["*"] for all.',
            code="unknown_event_type",
            errors=[{"loc": ["body", "event_types"], "msg": "empty"}],
        )
    unknown = sorted({str(t) for t in event_types if t != ALL_EVENTS and t not in EVENT_TYPES})
    if unknown:
        raise ValidationFailed(
            f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(sorted(EVENT_TYPES))}, or *.",
            code="unknown_event_type",
            errors=[{"loc": ["body", "event_types"], "msg": f"unknown: {', '.join(unknown)}"}],
        )
    if ALL_EVENTS in event_types:
        return [ALL_EVENTS]
    return sorted(set(event_types))


def webhook_endpoint_create(
    *,
    actor: Actor,
    url: str,
    event_types: list[str],
    description: str = "",
    is_active: bool = True,
    merchant_id: int | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint. Returns it and its signing secret (shown now, and again only when rotated)."""
    actor.require(CAPABILITY)
    url = check_webhook_url(url)
    event_types = _clean_event_types(event_types)
    description = _clean_name(description, field="description", max_length=DESCRIPTION_MAX, required=False)
    merchant = _merchant_for_write(actor, merchant_id)
    secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        # Lock the merchant row so concurrent creations cannot both pass the limit.
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        if WebhookEndpoint.objects.filter(merchant=merchant).count() >= MAX_WEBHOOKS_PER_MERCHANT:
            raise Conflict(
                f"A merchant can have at most {MAX_WEBHOOKS_PER_MERCHANT} webhook endpoints.",
                code="webhook_limit_reached",
            )
        endpoint = WebhookEndpoint.objects.create(
            merchant=merchant,
            url=url,
            description=description,
            secret=secret,
            event_types=event_types,
            is_active=bool(is_active),
            created_by_id=actor.staff_id,
        )
    return endpoint, secret


def webhook_endpoint_update(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    url: str = UNSET,
    event_types: list[str] = UNSET,
    description: str = UNSET,
    is_active: bool = UNSET,
    rotate_secret: bool = False,
) -> tuple[WebhookEndpoint, str | None]:
    """Change an endpoint. With `rotate_secret`, a new secret is returned (and used from now on)."""
    actor.require(CAPABILITY)
    actor.check_merchant(endpoint.merchant_id)
    changes: dict[str, Any] = {}
    if url is not UNSET:
        changes["url"] = check_webhook_url(url)
    if event_types is not UNSET:
        changes["event_types"] = _clean_event_types(event_types)
    if description is not UNSET:
        changes["description"] = _clean_name(
            description, field="description", max_length=DESCRIPTION_MAX, required=False
        )
    if is_active is not UNSET:
        changes["is_active"] = bool(is_active)
    secret = None
    if rotate_secret:
        secret = changes["secret"] = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        for field, value in changes.items():
            setattr(endpoint, field, value)
        endpoint.save(update_fields=[*changes, "updated_at"])
    return endpoint, secret


def webhook_delivery_replay(
    *, actor: Actor, delivery: WebhookDelivery, now: datetime | None = None
) -> WebhookDelivery:
    """Send again now, with the same delivery id (receivers deduplicate on it). The back-off
    starts over; the attempt log keeps growing."""
    actor.require(CAPABILITY)
    actor.check_merchant(delivery.merchant_id)
    if not delivery.endpoint.is_active:
        raise Conflict("The webhook endpoint is disabled; enable it first.", code="webhook_inactive")
    now = now or timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=now, failures_in_row=0
        )
        transaction.on_commit(_kick_sender)
    delivery.refresh_from_db()
    return delivery


# --- the outbox dispatcher -----------------------------------------------------------------------------


def outbox_dispatch(*, now: datetime | None = None, batch_size: int = DISPATCH_BATCH) -> int:
    """Fan one batch of unpublished events out to deliveries, one per subscribed active endpoint,
    and mark the events published: all in one transaction. Killed half-way, it leaves the events
    unpublished for the next run; the (event, endpoint) UNIQUE constraint makes a re-run harmless.
    Returns how many events it published."""
    now = now or timezone.now()
    with transaction.atomic():
        events = list(
            _skip_locked(OutboxEvent.objects.filter(published_at__isnull=True).order_by("pk"))[:batch_size]
        )
        if not events:
            return 0
        endpoints = defaultdict(list)
        for endpoint in WebhookEndpoint.objects.filter(
            merchant_id__in={event.merchant_id for event in events}, is_active=True
        ):
            endpoints[endpoint.merchant_id].append(endpoint)
        deliveries = [
            WebhookDelivery(
                event=event,
                endpoint=endpoint,
                merchant_id=event.merchant_id,
                next_attempt_at=now,
                created_at=now,
            )
            for event in events
            for endpoint in endpoints[event.merchant_id]
            if endpoint.accepts(event.event_type)
        ]
        if deliveries:
            WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=500)
            transaction.on_commit(_kick_sender)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(published_at=now)
    return len(events)


def outbox_dispatch_all(*, now: datetime | None = None, max_batches: int = 20) -> int:
    total = 0
    for _ in range(max_batches):
        published = outbox_dispatch(now=now)
        total += published
        if published < DISPATCH_BATCH:
            break
    return total


# --- webhook delivery ----------------------------------------------------------------------------------


def _kick_sender() -> None:
    from mendian.integrations.tasks import deliver_webhooks

    try:
        deliver_webhooks.delay()
    except Exception:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logger.warning("could not kick the webhook sender; beat will send", exc_info=True)


def retry_delay(failures_in_row: int) -> timedelta | None:
    """The wait after the n-th failure in a row (1-based), with jitter; None: give up."""
    if failures_in_row > len(RETRY_DELAYS_S):
        return None
    base = RETRY_DELAYS_S[failures_in_row - 1]
    return timedelta(seconds=base * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER))


def webhook_deliveries_claim(*, now: datetime, limit: int = SEND_BATCH) -> list[int]:
    """Lease due deliveries to this worker (skip-locked, so workers never claim the same one)."""
    with transaction.atomic():
        ids = list(
            _skip_locked(
                WebhookDelivery.objects.filter(
                    status=DeliveryStatus.PENDING, next_attempt_at__lte=now
                ).order_by("next_attempt_at", "pk")
            ).values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + DELIVERY_LEASE)
    return ids


def _record_attempt(delivery_id: int, outcome, now: datetime) -> WebhookDelivery:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            attempted_at=now,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            succeeded=outcome.ok,
        )
        if outcome.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            delivery.failures_in_row = 0
        else:
            delivery.failures_in_row += 1
            delay = retry_delay(delivery.failures_in_row)
            if delay is None:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.status = DeliveryStatus.PENDING
                delivery.next_attempt_at = now + delay
        delivery.save(
            update_fields=[
                "attempts",
                "failures_in_row",
                "status",
                "next_attempt_at",
                "last_attempt_at",
                "delivered_at",
                "last_status_code",
                "last_error",
            ]
        )
    return delivery


def webhook_delivery_attempt(
    *, delivery_id: int, client, now: datetime | None = None
) -> WebhookDelivery | None:
    """Make one attempt of a (claimed) delivery and record it. A disabled endpoint's deliveries are
    closed as failed without sending."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return delivery
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="endpoint disabled; not sent"
        )
        return delivery
    body = webhook_body(
        event_id=str(event.pk), event_type=event.event_type, created_at=event.created_at, data=event.payload
    )
    outcome = webhook_post(
        client,
        url=endpoint.url,
        secret=endpoint.secret,
        event_type=event.event_type,
        delivery_id=str(delivery.pk),
        body=body,
    )
    return _record_attempt(delivery.pk, outcome, now)


def webhook_deliveries_send_due(
    *, now: datetime | None = None, limit: int = SEND_BATCH, time_budget_s: float = SEND_TIME_BUDGET_S
) -> int:
    """Send due deliveries one by one, each claimed just before its attempt (so a slow receiver can
    never outlast the lease of deliveries still waiting), until none is due, `limit` were tried or
    the time budget is spent. `now` drives the schedule (tests pass it). Returns how many were tried."""
    tried = 0
    started = time.monotonic()
    with webhook_client() as client:
        while tried < limit and time.monotonic() - started < time_budget_s:
            current = now or timezone.now()
            claimed = webhook_deliveries_claim(now=current, limit=1)
            if not claimed:
                break
            tried += 1
            try:
                webhook_delivery_attempt(delivery_id=claimed[0], client=client, now=current)
            except Exception:
                # One broken delivery must not hold up the others; its lease runs out and it retries.
                logger.exception("webhook delivery %s could not be attempted", claimed[0])
    return tried


# --- housekeeping --------------------------------------------------------------------------------------


def webhook_history_purge(*, now: datetime | None = None, keep: timedelta = HISTORY_KEEP) -> int:
    """Delete finished deliveries (and their attempt logs) and published events older than `keep`."""
    cutoff = (now or timezone.now()) - keep
    deleted = 0
    while True:
        ids = list(
            WebhookDelivery.objects.filter(
                created_at__lt=cutoff, status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
            ).values_list("pk", flat=True)[:PURGE_CHUNK]
        )
        if not ids:
            break
        with transaction.atomic():
            WebhookAttempt.objects.filter(delivery_id__in=ids).delete()
            deleted += (
                WebhookDelivery.objects.filter(pk__in=ids).delete()[1].get(WebhookDelivery._meta.label, 0)
            )
    while True:
        ids = list(
            OutboxEvent.objects.filter(published_at__lt=cutoff, deliveries__isnull=True).values_list(
                "pk", flat=True
            )[:PURGE_CHUNK]
        )
        if not ids:
            break
        OutboxEvent.objects.filter(pk__in=ids).delete()
    return deleted
