"""The transactional outbox: producers record domain events in their own business transaction.

    with transaction.atomic():
        order = ...                      # the business change
        outbox_emit(merchant_id=order.merchant_id, event_type="order.paid",
                    payload={...}, aggregate=order)

The row commits or rolls back with the change, so an event is never lost nor sent for a change that
did not happen. After the commit, the dispatcher (`integrations.dispatch_outbox`) is kicked; beat
also runs it every few seconds, which picks up anything a dead process never kicked.
"""

import logging
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction

from mendian.core import rows
from mendian.integrations.events import EVENT_TYPES, STOCK_LOW
from mendian.integrations.models import OutboxEvent

logger = logging.getLogger("mendian.integrations")

# After a commit, kick the dispatcher at most once per this many seconds per process fleet (the
# beat schedule is the safety net); a burst of small transactions must not flood the broker.
KICK_DEBOUNCE_S = 1
_kicked_at = -float("inf")  # monotonic time of this process's last successful kick


def _aggregate_ref(aggregate) -> tuple[str, str]:
    if aggregate is None:
        return "", ""
    if isinstance(aggregate, models.Model):
        return aggregate._meta.label_lower, str(aggregate.pk)
    kind, ident = aggregate
    return str(kind), str(ident)


def outbox_emit(*, merchant_id: int, event_type: str, payload: dict, aggregate=None) -> OutboxEvent:
    """Record `event_type` for `merchant_id`. Call it inside the transaction of the change it reports.

    `aggregate` names what the event is about: a model instance, or a `(type, id)` pair.
    `payload` must be JSON-serialisable (datetimes and decimals are stored as strings); it becomes
    the `data` of the webhook body.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; add it to integrations.events")
    if not isinstance(payload, dict):
        raise TypeError("payload must be a dict")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_emit must be called inside the business transaction (transaction.atomic)")
    aggregate_type, aggregate_id = _aggregate_ref(aggregate)
    event = OutboxEvent(
        merchant_id=merchant_id,
        event_type=event_type,
        payload=payload,
        aggregate_type=aggregate_type[:64],
        aggregate_id=aggregate_id[:64],
    )
    # A hand-written INSERT (`core.rows`; no signals, as none are connected): it is on the path of
    # every paid order, where the ORM's would cost more Python than the database spends on it.
    rows.insert([event])
    transaction.on_commit(kick_dispatcher)
    return event


def kick_dispatcher() -> None:
    """Ask a worker to dispatch now. Best effort: losing a kick only delays until the next beat."""
    from mendian.integrations.tasks import dispatch_outbox

    global _kicked_at
    eager = settings.CELERY_TASK_ALWAYS_EAGER
    try:
        if not eager:
            # This process's own kick is still debouncing: the shared key is certainly still set,
            # so the round trip to the cache could only say no.
            now = monotonic()
            if now - _kicked_at < KICK_DEBOUNCE_S:
                return
            if not cache.add("mendian:outbox:kick", 1, timeout=KICK_DEBOUNCE_S):
                return
            _kicked_at = now
        dispatch_outbox.delay()
    except Exception:
        if eager:
            raise
        logger.warning("could not kick the outbox dispatcher; beat will pick the event up", exc_info=True)


def stock_low_emit(
    *,
    merchant_id: int,
    store_id: int,
    store_code: str,
    sku_id: int,
    sku_code: str,
    available: int,
    threshold: int,
    aggregate=None,
) -> OutboxEvent:
    """`stock.low` in its one documented shape, for the inventory app to call (in its transaction)
    when a low-stock alert opens."""
    return outbox_emit(
        merchant_id=merchant_id,
        event_type=STOCK_LOW,
        payload={
            "store_id": str(store_id),
            "store_code": store_code,
            "sku_id": str(sku_id),
            "sku_code": sku_code,
            "available": available,
            "threshold": threshold,
        },
        aggregate=aggregate if aggregate is not None else ("stock_level", f"{store_id}:{sku_id}"),
    )
