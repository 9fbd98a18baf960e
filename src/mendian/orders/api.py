"""Order endpoints: the customer's (`/api/v1`), the store's (`/api/staff/v1`) and HQ's (`/api/hq/v1`).
Thin: parse, call one service or selector, render."""

import functools
import json

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from ninja import Query, Router
from ninja.decorators import decorate_view
from ninja.responses import NinjaJSONEncoder

from mendian.accounts.auth import MemberAuth, member_for_request
from mendian.core.errors import DomainError, domain_error_response
from mendian.core.idempotency import HEADER, idempotent
from mendian.merchants.selectors import merchant_context
from mendian.orders import selectors, services
from mendian.orders.schemas import (
    DispatchIn,
    HqOrderQuery,
    OrderCancel,
    OrderCreate,
    OrderListQuery,
    OrderPage,
    OrderRead,
    PickupVerify,
    RefundApprove,
    RefundQuery,
    RefundReject,
    RefundRequestCreate,
    RefundRequestPage,
    RefundRequestRead,
    SalesQuery,
    SalesReport,
    StaffOrderPage,
    StaffOrderQuery,
    StaffOrderRead,
    order_out,
    refund_request_out,
    staff_order_out,
)
from mendian.stores.selectors import store_for_staff

_IDEMPOTENCY_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Recommended: a repeat with the same key and body returns the first reply; "
            "the same key with another body is 409 idempotency_key_reused.",
        }
    ]
}


def _customer_scope(request) -> str:
    return f"customer:{member_for_request(request).pk}"


def member_idempotent(run):
    """`core.idempotency.idempotent` for consumer POSTs, applied with `decorate_view` (so around the
    whole operation, whose reply is an HttpResponse). ninja authenticates inside the operation,
    i.e. after this wrapper: the key is claimed only for a valid token, keyed by its customer."""
    keyed = idempotent(_customer_scope)(run)

    @functools.wraps(run)
    def wrapper(request, *args, **kwargs):
        if not request.headers.get(HEADER):
            return run(request, *args, **kwargs)
        if member_for_request(request) is None:
            return run(request, *args, **kwargs)  # 401 from the operation's own auth
        try:
            return keyed(request, *args, **kwargs)
        except DomainError as exc:  # idempotency_key_reused, idempotency_request_in_progress …
            return domain_error_response(exc)

    return wrapper


consumer = Router(tags=["orders"], auth=MemberAuth())
staff = Router(tags=["orders"])
hq = Router(tags=["orders"])


# --- consumer ------------------------------------------------------------------------------------


def _render(data: dict, status: int = 200) -> HttpResponse:
    """`data` (an `order_out`) as ninja renders an `OrderRead` reply, without validating it through
    the ~30 nested schemas of an order first, which cost more Python than reading the order:
    `order_out` builds the schema's exact shape and types (tests/orders pin every reply against
    the schema's own rendering)."""
    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder), status=status, content_type="application/json; charset=utf-8"
    )


def _own(request, order_id, status: int = 200) -> HttpResponse:
    order = selectors.order_for_customer(
        customer=request.auth, order_id=order_id, merchant=merchant_context(request)
    )
    return _render(order_out(order), status)


@consumer.post(
    "/orders",
    response={201: OrderRead},
    summary="Place an order (stock is reserved until the payment deadline)",
    openapi_extra=_IDEMPOTENCY_DOC,
)
@decorate_view(member_idempotent)
def order_create(request, payload: OrderCreate):
    order = services.order_create(
        customer=request.auth, merchant=merchant_context(request), data=payload.to_input(), now=timezone.now()
    )
    return _render(order_out(order), 201)


@consumer.get("/orders", response=OrderPage, summary="Your orders, newest first")
def order_list(request, query: Query[OrderListQuery]):
    orders, next_cursor = selectors.orders_for_customer(
        customer=request.auth,
        merchant=merchant_context(request),
        status=query.status,
        limit=query.limit,
        cursor=query.cursor,
    )
    return {"items": [order_out(order) for order in orders], "next_cursor": next_cursor}


@consumer.get("/orders/{order_id}", response=OrderRead, summary="One of your orders")
def order_detail(request, order_id: str):
    return _own(request, order_id)


@consumer.post(
    "/orders/{order_id}/cancel", response=OrderRead, summary="Cancel (unpaid, or paid and not yet preparing)"
)
def order_cancel(request, order_id: str, payload: OrderCancel | None = None):
    services.order_cancel_by_customer(
        customer=request.auth, order_id=order_id, reason=payload.reason if payload else ""
    )
    return _own(request, order_id)


@consumer.post(
    "/orders/{order_id}/confirm-received", response=OrderRead, summary="Confirm a delivery arrived"
)
def order_confirm_received(request, order_id: str):
    services.order_confirm_received(customer=request.auth, order_id=order_id)
    return _own(request, order_id)


@consumer.get(
    "/orders/{order_id}/pickup-qr.svg",
    response={200: None},
    summary="The pickup code as a QR code (image/svg+xml)",
    openapi_extra={"responses": {"200": {"description": "SVG", "content": {"image/svg+xml": {}}}}},
)
def order_pickup_qr(request, order_id: str):
    order = selectors.order_for_customer(
        customer=request.auth, order_id=order_id, merchant=merchant_context(request)
    )
    response = HttpResponse(selectors.pickup_qr_svg(order), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@consumer.post(
    "/orders/{order_id}/refund-requests",
    response={201: OrderRead},
    summary="Ask for a refund of some units or the whole order (售后)",
    openapi_extra=_IDEMPOTENCY_DOC,
)
@decorate_view(member_idempotent)
def refund_request_create(request, order_id: str, payload: RefundRequestCreate):
    lines = None if payload.lines is None else [(line.order_line_id, line.quantity) for line in payload.lines]
    services.refund_request_create(
        customer=request.auth, order_id=order_id, lines=lines, reason=payload.reason
    )
    return _own(request, order_id, 201)


# --- staff ---------------------------------------------------------------------------------------


def _staff_read(request, order_id) -> dict:
    return staff_order_out(selectors.order_get_for_actor(actor=request.auth, order_id=order_id))


@staff.get("/orders", response=StaffOrderPage, summary="Orders of the stores in your scope, newest first")
def staff_order_list(request, query: Query[StaffOrderQuery]):
    orders, next_cursor = selectors.orders_for_actor(
        actor=request.auth,
        status=query.status,
        store_id=query.store_id,
        since=query.since,
        fulfilment_type=query.fulfilment_type,
        no_show=query.no_show,
        limit=query.limit,
        cursor=query.cursor,
    )
    return {"items": [staff_order_out(order) for order in orders], "next_cursor": next_cursor}


@staff.get("/orders/{order_id}", response=StaffOrderRead, summary="One order")
def staff_order_detail(request, order_id: str):
    return _staff_read(request, order_id)


@staff.post("/orders/{order_id}/accept", response=StaffOrderRead, summary="paid → preparing")
def staff_order_accept(request, order_id: str):
    services.order_accept(actor=request.auth, order_id=order_id)
    return _staff_read(request, order_id)


@staff.post("/orders/{order_id}/ready", response=StaffOrderRead, summary="preparing → ready_for_pickup")
def staff_order_ready(request, order_id: str):
    services.order_ready(actor=request.auth, order_id=order_id)
    return _staff_read(request, order_id)


@staff.post("/orders/{order_id}/dispatch", response=StaffOrderRead, summary="preparing → out_for_delivery")
def staff_order_dispatch(request, order_id: str, payload: DispatchIn | None = None):
    services.order_dispatch(
        actor=request.auth,
        order_id=order_id,
        courier=payload.courier if payload else None,
        eta_minutes=payload.eta_minutes if payload else None,
    )
    return _staff_read(request, order_id)


@staff.post("/orders/{order_id}/deliver", response=StaffOrderRead, summary="out_for_delivery → delivered")
def staff_order_deliver(request, order_id: str):
    services.order_deliver(actor=request.auth, order_id=order_id)
    return _staff_read(request, order_id)


@staff.post(
    "/orders/{order_id}/cancel",
    response=StaffOrderRead,
    summary="Cancel before preparing, or a no-show (refunded in full when paid)",
)
def staff_order_cancel(request, order_id: str, payload: OrderCancel | None = None):
    services.order_cancel_by_staff(
        actor=request.auth, order_id=order_id, reason=payload.reason if payload else ""
    )
    return _staff_read(request, order_id)


@staff.post(
    "/pickups/verify", response=StaffOrderRead, summary="Verify a pickup code (核销): the order completes"
)
def pickup_verify(request, payload: PickupVerify):
    store = store_for_staff(actor=request.auth, store_id=payload.store_id)
    order = services.pickup_verify(actor=request.auth, store=store, code=payload.code)
    return _staff_read(request, order.pk)


def _refund_read(request, request_id) -> dict:
    return refund_request_out(
        selectors.refund_request_get_for_actor(actor=request.auth, request_id=request_id)
    )


@staff.get(
    "/refund-requests", response=RefundRequestPage, summary="Refund requests of the stores in your scope"
)
def refund_request_list(request, query: Query[RefundQuery]):
    rows, next_cursor = selectors.refund_requests_for_actor(
        actor=request.auth,
        status=query.status,
        store_id=query.store_id,
        limit=query.limit,
        cursor=query.cursor,
    )
    return {"items": [refund_request_out(row) for row in rows], "next_cursor": next_cursor}


@staff.get("/refund-requests/{request_id}", response=RefundRequestRead, summary="One refund request")
def refund_request_detail(request, request_id: str):
    return _refund_read(request, request_id)


@staff.post(
    "/refund-requests/{request_id}/approve",
    response=RefundRequestRead,
    summary="Approve, with an optional note for the customer: the refund starts (store managers and HQ)",
)
def refund_request_approve(request, request_id: str, payload: RefundApprove | None = None):
    services.refund_request_approve(
        actor=request.auth,
        request_id=request_id,
        restock=payload.restock if payload else False,
        note=payload.note if payload else "",
    )
    return _refund_read(request, request_id)


@staff.post(
    "/refund-requests/{request_id}/reject", response=RefundRequestRead, summary="Reject, with a reason"
)
def refund_request_reject(request, request_id: str, payload: RefundReject):
    services.refund_request_reject(actor=request.auth, request_id=request_id, reason=payload.reason)
    return _refund_read(request, request_id)


# --- HQ ------------------------------------------------------------------------------------------


def _hq_orders(request, query: HqOrderQuery):
    return selectors.orders_for_hq(
        actor=request.auth,
        store_id=query.store_id,
        status=query.status,
        date_from=query.date_from,
        date_to=query.date_to,
        number=query.number,
        merchant_id=query.merchant_id,
    )


@hq.get("/orders", response=StaffOrderPage, summary="Orders of the merchant's stores, with filters")
def hq_order_list(request, query: Query[HqOrderQuery]):
    orders, next_cursor = selectors.hq_orders_page(
        _hq_orders(request, query), limit=query.limit, cursor=query.cursor
    )
    return {"items": [staff_order_out(order) for order in orders], "next_cursor": next_cursor}


@hq.get(
    "/orders/export.csv",
    response={200: None},
    summary="The filtered orders as CSV (streamed; amounts in fen)",
    openapi_extra={"responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}}},
)
def hq_order_export(request, query: Query[HqOrderQuery]):
    qs = _hq_orders(request, query)
    chunks = selectors.orders_export_csv(qs)
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in _with_bom(chunks)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="orders-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response


def _with_bom(chunks):
    yield "\ufeff"  # spreadsheet programs then read the Chinese text as UTF-8
    yield from chunks


@hq.get("/orders/{order_id}", response=StaffOrderRead, summary="One order")
def hq_order_detail(request, order_id: str):
    return staff_order_out(
        selectors.order_get_for_actor(actor=request.auth, order_id=order_id, capability="hq.access")
    )


@hq.get(
    "/reports/sales", response=SalesReport, by_alias=True, summary="Paid-order totals per day and per store"
)
def sales_report(request, query: Query[SalesQuery]):
    return selectors.sales_report(
        actor=request.auth,
        date_from=query.date_from,
        date_to=query.date_to,
        store_id=query.store_id,
        merchant_id=query.merchant_id,
    )
