"""Payment reads for HQ: refunds of the merchant's orders (abnormal ones wait for HQ to act)."""

from django.db.models import QuerySet

from mendian.checkout.selectors import parse_pk
from mendian.core.errors import ValidationFailed
from mendian.core.pagination import clamp_limit, decode_cursor, encode_cursor
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


def refunds_page(qs: QuerySet, *, limit: int | None, cursor: str | None) -> tuple[list[Refund], str | None]:
    """Newest first by id; the cursor carries the last id seen."""
    limit = clamp_limit(limit)
    values = decode_cursor(cursor)
    if values is not None:
        if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool):
            raise ValidationFailed("cursor is not valid.", code="invalid_cursor")
        qs = qs.filter(pk__lt=values[0])
    rows = list(qs.order_by("-pk")[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].pk]) if len(rows) > limit else None
    return rows[:limit], next_cursor
