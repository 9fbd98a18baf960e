"""Periodic catalog jobs (beat entries in `config.settings.CELERY_BEAT_SCHEDULE`). Each calls a
service, takes no arguments, and is safe to repeat."""

from celery import shared_task

from mendian.catalog import sales


@shared_task(name="catalog.refresh_sales_counts", ignore_result=True)
def refresh_sales_counts() -> int:
    """Recounts every product's units sold from orders; returns how many products changed."""
    return len(sales.refresh_sales_counts())
