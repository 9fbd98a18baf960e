"""Periodic order jobs (beat entries in `config.settings.CELERY_BEAT_SCHEDULE`). Each calls a
service, takes no arguments, and is safe to repeat or to run twice at once (rows are locked)."""

from celery import shared_task

from mendian.orders import services


@shared_task(name="orders.expire_unpaid", ignore_result=True)
def expire_unpaid() -> int:
    """Cancels unpaid orders past their payment deadline and returns their stock."""
    return services.orders_expire_due()


@shared_task(name="orders.autocomplete_delivered", ignore_result=True)
def autocomplete_delivered() -> int:
    """Completes delivered orders after the merchant's `delivery_autocomplete_hours`."""
    return services.orders_autocomplete_delivered()


@shared_task(name="orders.flag_no_shows", ignore_result=True)
def flag_no_shows() -> int:
    """Flags ready pickup orders not collected within the merchant's `pickup_no_show_hours`."""
    return services.orders_flag_no_shows()
