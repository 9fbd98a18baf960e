import time

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_KEY = "mendian:worker:heartbeat"


@shared_task(name="core.heartbeat", ignore_result=True)
def heartbeat() -> float:
    """Beat runs this every minute; /readyz reports how long ago a worker last ran it."""
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=3600)
    return now
