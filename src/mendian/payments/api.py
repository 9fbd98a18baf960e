"""Payment endpoints. Consumer: start a payment; the providers' notify URL (no login: verified by
the provider's signature). HQ: refunds, and settling the abnormal ones."""

from django.http import HttpResponse
from ninja import Query, Router, Status
from ninja.decorators import decorate_view

from mendian.accounts.auth import MemberAuth
from mendian.core.errors import DomainError
from mendian.core.idempotency import HEADER
from mendian.core.pagination import newest_first_page
from mendian.orders.api import member_idempotent
from mendian.payments import selectors, services
from mendian.payments.providers import provider_get
from mendian.payments.providers.base import BankCard
from mendian.payments.schemas import (
    PaymentCreate,
    PaymentCreated,
    RefundFilter,
    RefundPage,
    RefundRead,
    RefundResolve,
    refund_out,
)

consumer = Router(tags=["payments"])
hq = Router(tags=["payments"])

_IDEMPOTENCY_DOC = {
    "parameters": [{"in": "header", "name": HEADER, "required": False, "schema": {"type": "string"}}]
}


@consumer.post(
    "/orders/{order_id}/payments",
    response={201: PaymentCreated},
    auth=MemberAuth(),
    summary="Pay a pending order with a provider (the same order and provider resume one payment)",
    openapi_extra=_IDEMPOTENCY_DOC,
)
@decorate_view(member_idempotent)
def payment_create(request, order_id: str, payload: PaymentCreate):
    payment, client_params = services.payment_create(
        customer=request.auth,
        order_id=order_id,
        provider=payload.provider,
        base_url=request.build_absolute_uri("/"),
    )
    return Status(
        201,
        {
            "payment_id": payment.public_id,
            "provider": payment.provider,
            "status": payment.status,
            "client_params": client_params,
        },
    )


@consumer.post(
    "/payments/notify/{provider}",
    auth=None,
    response={204: None},
    summary="Provider callback (the provider's own format and acknowledgement)",
)
def payment_notify(request, provider: str):
    adapter = provider_get(provider)
    try:
        services.notification_receive(provider=provider, headers=request.headers, body=request.body)
    except DomainError as exc:
        # A provider with its own failure format (WeChat Pay's {"code": "FAIL", ...}) gets it; the
        # others get problem+json. Either way a 4xx: nothing changed, the provider may retry.
        reject = getattr(adapter, "reject", None)
        if reject is None:
            raise
        return reject(exc.status, exc.detail or exc.code)
    response: HttpResponse = adapter.ack()
    return response


# --- HQ ------------------------------------------------------------------------------------------


@hq.get("/refunds", response=RefundPage, summary="Refunds of the merchant's orders, newest first")
def hq_refund_list(request, query: Query[RefundFilter]):
    qs = selectors.refunds_for_hq(actor=request.auth, status=query.status, merchant_id=query.merchant_id)
    refunds, next_cursor = newest_first_page(qs, limit=query.limit, cursor=query.cursor)
    return {"items": [refund_out(refund) for refund in refunds], "next_cursor": next_cursor}


@hq.post(
    "/refunds/{refund_id}/resolve",
    response=RefundRead,
    summary="Settle an abnormal refund: paid offline, to the customer's card, or back to the merchant",
)
def hq_refund_resolve(request, refund_id: str, payload: RefundResolve):
    bank_card = None
    if payload.method == "user_bank_card":
        bank_card = BankCard(payload.bank_type or "", payload.bank_account or "", payload.real_name or "")
    refund = services.refund_abnormal_resolve(
        actor=request.auth, refund_id=refund_id, method=payload.method, note=payload.note, bank_card=bank_card
    )
    return refund_out(refund)
