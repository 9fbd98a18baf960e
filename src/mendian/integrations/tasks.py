"""Background jobs of the integrations app. Each is idempotent and safe to run concurrently."""

from celery import shared_task

from mendian.integrations import services


@shared_task(name="integrations.dispatch_outbox", ignore_result=True)
def dispatch_outbox() -> int:
    """Fan unpublished outbox events out to webhook deliveries (beat: every few seconds; also
    kicked after each commit that emitted an event)."""
    return services.outbox_dispatch_all()


@shared_task(name="integrations.deliver_webhooks", ignore_result=True)
def deliver_webhooks() -> int:
    """Send the webhook deliveries that are due (first attempts, retries, replays)."""
    return services.webhook_deliveries_send_due()


@shared_task(name="integrations.purge_api_nonces", ignore_result=True)
def purge_api_nonces() -> int:
    return services.api_nonces_purge()


@shared_task(name="integrations.purge_webhook_history", ignore_result=True)
def purge_webhook_history() -> int:
    return services.webhook_history_purge()
