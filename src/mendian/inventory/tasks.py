"""Celery tasks of the inventory app: take ids or nothing, call services, safe to repeat."""

import datetime as dt

from celery import shared_task

from mendian.inventory.services import stock_release_expired

# Orders cancel their own expired reservations when they time out; this sweep is the safety net
# for reservations nobody released, so it waits a little past their expiry.
EXPIRY_GRACE = dt.timedelta(minutes=10)


@shared_task(name="inventory.release_expired_reservations", ignore_result=True)
def release_expired_reservations() -> int:
    """Releases reservations more than EXPIRY_GRACE past their `expires_at`; returns how many orders."""
    return stock_release_expired(grace=EXPIRY_GRACE)
