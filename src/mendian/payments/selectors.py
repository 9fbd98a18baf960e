"""Payment reads for HQ: refunds of the merchant's orders (abnormal ones wait for HQ to act)."""

from django.db.models import QuerySet

from mendian.checkout.selectors import parse_pk
from mendian.core.errors import ValidationFailed
from mendian.core.scope import Actor
from mendian.payments.models import Refund, RefundStatus


def refunds_for_hq(*, actor: Actor, status: str | None = None, merchant_id=None) -> QuerySet:
    """Refunds of the orders of the actor's merchant (a platform administrator: every merchant's,
    or `merchant_id`'s), with their payment, order and store; `status` filters (e.g. `abnormal`)."""
    actor.require("payments.manage")
    qs = actor.scope_merchants(
        Refund.objects.select_related("payment__order__store"), "payment__order__merchant_id"
    )
    if merchant_id not in (None, ""):
        merchant_pk = parse_pk(merchant_id, what="merchant")
        actor.check_merchant(merchant_pk)
        qs = qs.filter(payment__order__merchant_id=merchant_pk)
    if status not in (None, ""):
        if status not in RefundStatus.values:
            raise ValidationFailed(
                f"status must be one of {', '.join(RefundStatus.values)}.",
                errors=[{"loc": ["query", "status"], "msg": "unknown status"}],
            )
        qs = qs.filter(status=status)
    return qs
