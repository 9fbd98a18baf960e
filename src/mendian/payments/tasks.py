"""Payment jobs. Each takes ids (or nothing), calls a service, and is safe to repeat."""

from celery import shared_task

from mendian.payments import services
from mendian.payments.providers.base import ProviderError


@shared_task(
    name="payments.refund_send",
    ignore_result=True,
    autoretry_for=(ProviderError,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=20,
)
def refund_send(refund_id: int) -> str:
    """Sends a recorded refund to its provider and records the result."""
    return services.refund_send(refund_id=refund_id)


@shared_task(name="payments.reconcile_pending", ignore_result=True)
def reconcile_pending() -> int:
    """Settles open payments past their order's payment deadline by asking the provider."""
    return services.payments_reconcile_pending()
