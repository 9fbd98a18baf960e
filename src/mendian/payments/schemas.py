"""Payment request and reply shapes."""

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from mendian.core.money import MoneySchema, money
from mendian.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mendian.payments.models import RESOLUTION_NOTE_MAX_LENGTH


class PaymentCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    provider: str


class PaymentCreated(Schema):
    payment_id: str
    provider: str
    status: str
    client_params: dict


# --- HQ: refunds ---------------------------------------------------------------------------------


class RefundFilter(Schema):
    status: str | None = Field(None, description="pending, succeeded, failed or abnormal")
    merchant_id: str | None = Field(None, description="platform administrators")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class RefundResolve(Schema):
    """How HQ settles an abnormal refund. The card fields (`user_bank_card` only) are personal
    data: sent to WeChat Pay encrypted, never stored, logged or echoed."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["offline", "user_bank_card", "merchant_bank_card"] = Field(
        description="offline: HQ paid the customer another way (the refund succeeds); "
        "user_bank_card: WeChat Pay pays a debit card the customer names (the refund is pending "
        "again); merchant_bank_card: WeChat Pay returns the money to the merchant's settlement "
        "bank account (the refund stays abnormal until the customer is paid offline)"
    )
    note: str = Field(
        "",
        max_length=RESOLUTION_NOTE_MAX_LENGTH,
        description="how the customer was paid (required for offline)",
    )
    bank_type: str | None = Field(None, max_length=16, description="user_bank_card: WeChat Pay's bank code")
    bank_account: str | None = Field(None, max_length=32, description="user_bank_card: the card number")
    real_name: str | None = Field(None, max_length=50, description="user_bank_card: the card holder")


class RefundRead(Schema):
    id: str
    out_refund_no: str
    provider: str
    payment_id: str
    order_id: str
    order_number: str
    store_name: str
    amount: MoneySchema
    status: str
    reason: str
    failure: str
    resolution: str
    resolution_note: str
    created_at: dt.datetime
    abnormal_at: dt.datetime | None
    succeeded_at: dt.datetime | None
    resolved_at: dt.datetime | None


class RefundPage(Schema):
    items: list[RefundRead]
    next_cursor: str | None


def refund_out(refund) -> dict:
    """`refund` with its payment, order and store joined."""
    payment, order = refund.payment, refund.payment.order
    return {
        "id": str(refund.pk),
        "out_refund_no": refund.out_refund_no,
        "provider": payment.provider,
        "payment_id": payment.public_id,
        "order_id": str(order.pk),
        "order_number": order.number,
        "store_name": order.store.name,
        "amount": money(refund.amount, payment.currency),
        "status": refund.status,
        "reason": refund.reason,
        "failure": refund.failure,
        "resolution": refund.resolution,
        "resolution_note": refund.resolution_note,
        "created_at": refund.created_at,
        "abnormal_at": refund.abnormal_at,
        "succeeded_at": refund.succeeded_at,
        "resolved_at": refund.resolved_at,
    }
