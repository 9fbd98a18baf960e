"""Order shapes, and the functions that fill them from prefetched orders (no queries).

Customers see their own order in full but phones masked; staff see what fulfilment needs (the
contact's name, a masked phone, the delivery address of delivery orders) and never the pickup
code, which is the customer's proof of purchase.
"""

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from mendian.checkout.schemas import CheckoutIn, ContactRead, DiscountRead, FulfilmentAddressRead
from mendian.checkout.selectors import media_url
from mendian.core.money import MoneySchema, money
from mendian.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mendian.core.pii import mask_phone
from mendian.orders.models import (
    ALLOWED_TRANSITIONS,
    PICKUP_ACTIVE_STATUSES,
    REFUND_NOTE_MAX_LENGTH,
    FulfilmentType,
    Order,
    OrderStatus,
    RefundRequest,
)

Id = str | StrictInt
S = OrderStatus


class _Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --- input ---------------------------------------------------------------------------------------

OrderCreate = CheckoutIn


class OrderCancel(_Input):
    reason: str = Field("", max_length=200)


class RefundLineIn(_Input):
    order_line_id: Id
    quantity: StrictInt = Field(ge=1, le=10_000)


class RefundRequestCreate(_Input):
    lines: list[RefundLineIn] | None = Field(None, max_length=50, description="null: the whole order")
    reason: str = Field(min_length=1, max_length=200)
    photos: list[str] = Field(default_factory=list, max_length=0, description="not accepted yet")


class DispatchIn(_Input):
    courier: str | None = Field(None, max_length=20, description='"store" (default): the store\'s own staff')
    eta_minutes: StrictInt | None = Field(None, ge=1, le=24 * 60)


class PickupVerify(_Input):
    code: str = Field(min_length=1, max_length=32)
    store_id: Id | None = Field(None, description="HQ roles name the store; store staff verify at theirs")


class RefundApprove(_Input):
    restock: StrictBool = Field(False, description="the goods came back: return them to the store's stock")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=REFUND_NOTE_MAX_LENGTH)] = Field(
        "", description="shown to the customer as 商家备注 (stripped; blank: none)"
    )


class RefundReject(_Input):
    reason: str = Field(min_length=1, max_length=200)


class OrderListQuery(Schema):
    status: str | None = Field(None, description="one status or several, comma-separated")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class StaffOrderQuery(OrderListQuery):
    store_id: str | None = None
    since: dt.datetime | None = Field(None, description="only orders changed after this (live queue)")
    fulfilment_type: Literal["pickup", "delivery"] | None = None
    no_show: bool | None = None


class RefundQuery(Schema):
    status: str | None = None
    store_id: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class HqOrderQuery(Schema):
    store_id: str | None = None
    status: str | None = None
    date_from: dt.date | None = Field(None, alias="from", description="created on or after (merchant-local)")
    date_to: dt.date | None = Field(None, alias="to", description="created on or before (merchant-local)")
    number: str | None = Field(None, max_length=32, description="order number or its beginning")
    merchant_id: str | None = Field(None, description="platform administrators")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class SalesQuery(Schema):
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    store_id: str | None = None
    merchant_id: str | None = None


# --- output --------------------------------------------------------------------------------------


class StoreBrief(Schema):
    id: str
    code: str
    name: str
    address: str
    phone: str
    lat: float
    lng: float


class OrderLineRead(Schema):
    id: str
    sku_id: str
    product_id: str
    name: str
    sku_code: str
    specs: dict[str, str]
    image: str | None
    quantity: int
    unit_price: MoneySchema
    line_total: MoneySchema
    discounts_allocated: MoneySchema
    payable: MoneySchema


class FulfilmentRead(Schema):
    type: str
    pickup_at: dt.datetime | None
    contact: ContactRead
    address: FulfilmentAddressRead | None
    distance_m: int | None
    courier: str | None
    delivery_eta: dt.datetime | None


class EventRead(Schema):
    status: str
    at: dt.datetime


class StaffEventRead(EventRead):
    from_status: str
    actor_type: str
    staff_id: str | None
    note: str


class RefundLineRead(Schema):
    order_line_id: str
    quantity: int
    amount: MoneySchema


class RefundRequestBrief(Schema):
    id: str
    kind: str
    status: str
    amount: MoneySchema
    reason: str
    reject_reason: str
    decision_note: str = Field(description="the store's note on approving (商家备注); empty when none")
    restock: bool | None
    whole_order: bool
    lines: list[RefundLineRead]
    created_at: dt.datetime
    decided_at: dt.datetime | None
    refunded_at: dt.datetime | None


class OrderActions(Schema):
    pay: bool
    cancel: bool
    confirm_received: bool
    request_refund: bool


class _OrderBase(Schema):
    id: str
    number: str
    status: str
    status_label: str
    store: StoreBrief
    fulfilment: FulfilmentRead
    lines: list[OrderLineRead]
    subtotal: MoneySchema
    discounts: list[DiscountRead]
    discount_total: MoneySchema
    delivery_fee: MoneySchema
    points_used: int
    total: MoneySchema
    paid_amount: MoneySchema
    refunded_amount: MoneySchema
    pay_deadline: dt.datetime
    paid_at: dt.datetime | None
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime
    refund_requests: list[RefundRequestBrief]


class OrderRead(_OrderBase):
    pickup_code: str | None = Field(description="once paid, until collected (pickup orders)")
    events: list[EventRead]
    actions: OrderActions


class OrderPage(Schema):
    items: list[OrderRead]
    next_cursor: str | None


class CustomerBrief(Schema):
    id: str
    phone_masked: str


class StaffOrderRead(_OrderBase):
    customer: CustomerBrief
    no_show: bool
    no_show_at: dt.datetime | None
    accepted_at: dt.datetime | None
    ready_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    delivered_at: dt.datetime | None
    payment_provider: str
    events: list[StaffEventRead]
    next_statuses: list[str]


class StaffOrderPage(Schema):
    items: list[StaffOrderRead]
    next_cursor: str | None


class RefundRequestRead(RefundRequestBrief):
    order_id: str
    order_number: str
    store_id: str
    order_status: str


class RefundRequestPage(Schema):
    items: list[RefundRequestRead]
    next_cursor: str | None


class SalesAmounts(Schema):
    orders: int
    paid: MoneySchema
    refunded: MoneySchema
    net: MoneySchema


class SalesDay(SalesAmounts):
    date: dt.date


class SalesStore(SalesAmounts):
    store_id: str
    store_code: str
    store_name: str


class SalesRow(SalesAmounts):
    date: dt.date
    store_id: str
    store_code: str


class SalesReport(Schema):
    model_config = ConfigDict(populate_by_name=True)

    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    timezone: str
    currency: str
    totals: SalesAmounts
    days: list[SalesDay]
    stores: list[SalesStore]
    rows: list[SalesRow]


# --- filling them (no queries: everything is prefetched) -----------------------------------------


def _money(order: Order, amount: int) -> dict:
    return money(amount, order.currency)


def _store_out(order: Order) -> dict:
    store = order.store
    return {
        "id": str(store.pk),
        "code": store.code,
        "name": store.name,
        "address": store.address,
        "phone": store.phone,
        "lat": store.lat,
        "lng": store.lng,
    }


def _lines_out(order: Order) -> list[dict]:
    return [
        {
            "id": str(line.pk),
            "sku_id": str(line.sku_id),
            "product_id": str(line.product_id),
            "name": line.name,
            "sku_code": line.sku_code,
            "specs": line.specs or {},
            "image": media_url(line.image) if line.image else None,
            "quantity": line.quantity,
            "unit_price": _money(order, line.unit_price),
            "line_total": _money(order, line.line_total),
            "discounts_allocated": _money(order, line.discount_allocated),
            "payable": _money(order, line.net_total),
        }
        for line in order.lines.all()
    ]


def _fulfilment_out(order: Order, *, contact_name: str) -> dict:
    address = None
    if order.fulfilment_type == FulfilmentType.DELIVERY:
        address = {
            "id": None,
            "address": order.delivery_address,
            "district": order.delivery_district,
            "lat": order.delivery_lat,
            "lng": order.delivery_lng,
        }
    return {
        "type": order.fulfilment_type,
        "pickup_at": order.pickup_at,
        "contact": {"name": contact_name, "phone_masked": mask_phone(order.contact_phone)},
        "address": address,
        "distance_m": order.delivery_distance_m,
        "courier": order.courier or None,
        "delivery_eta": order.delivery_eta,
    }


def refund_brief_out(request: RefundRequest, order: Order) -> dict:
    return {
        "id": str(request.pk),
        "kind": request.kind,
        "status": request.status,
        "amount": _money(order, request.amount),
        "reason": request.reason,
        "reject_reason": request.reject_reason,
        "decision_note": request.decision_note,
        "restock": request.restock,
        "whole_order": request.whole_order,
        "lines": [
            {
                "order_line_id": str(line.order_line_id),
                "quantity": line.quantity,
                "amount": _money(order, line.amount),
            }
            for line in request.lines.all()
        ],
        "created_at": request.created_at,
        "decided_at": request.decided_at,
        "refunded_at": request.refunded_at,
    }


def _common_out(order: Order, *, contact_name: str) -> dict:
    return {
        "id": str(order.pk),
        "number": order.number,
        "status": order.status,
        "status_label": S(order.status).label,
        "store": _store_out(order),
        "fulfilment": _fulfilment_out(order, contact_name=contact_name),
        "lines": _lines_out(order),
        "subtotal": _money(order, order.subtotal),
        "discounts": [
            {"source": d["source"], "label": d["label"], "amount": _money(order, d["amount"])}
            for d in order.discounts
        ],
        "discount_total": _money(order, order.discount_total),
        "delivery_fee": _money(order, order.delivery_fee),
        "points_used": order.points_used,
        "total": _money(order, order.total),
        "paid_amount": _money(order, order.paid_amount),
        "refunded_amount": _money(order, order.refunded_amount),
        "pay_deadline": order.pay_deadline,
        "paid_at": order.paid_at,
        "completed_at": order.completed_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
        "note": order.note,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "refund_requests": [refund_brief_out(r, order) for r in order.refund_requests.all()],
    }


def order_out(order: Order) -> dict:
    """The customer's view of their own order."""
    pickup_code = order.pickup_code if order.status in PICKUP_ACTIVE_STATUSES else None
    return {
        **_common_out(order, contact_name=order.contact_name),
        "pickup_code": pickup_code,
        "events": [{"status": event.status, "at": event.at} for event in order.events.all()],
        "actions": {
            "pay": order.status == S.PENDING_PAYMENT,
            "cancel": order.status in (S.PENDING_PAYMENT, S.PAID),
            "confirm_received": order.status == S.DELIVERED,
            "request_refund": order.status in (S.DELIVERED, S.COMPLETED, S.REFUNDED, S.REFUND_REJECTED),
        },
    }


def staff_order_out(order: Order) -> dict:
    """The store's view: fulfilment details, no pickup code, events with who did what."""
    return {
        **_common_out(order, contact_name=order.contact_name),
        "customer": {"id": str(order.customer_id), "phone_masked": mask_phone(order.customer.phone)},
        "no_show": order.no_show_at is not None,
        "no_show_at": order.no_show_at,
        "accepted_at": order.accepted_at,
        "ready_at": order.ready_at,
        "dispatched_at": order.dispatched_at,
        "delivered_at": order.delivered_at,
        "payment_provider": order.payment_provider,
        "events": [
            {
                "status": event.status,
                "at": event.at,
                "from_status": event.from_status,
                "actor_type": event.actor_type,
                "staff_id": None if event.staff_id is None else str(event.staff_id),
                "note": event.note,
            }
            for event in order.events.all()
        ],
        "next_statuses": sorted(ALLOWED_TRANSITIONS.get(order.status, ())),
    }


def refund_request_out(request: RefundRequest) -> dict:
    order = request.order
    return {
        **refund_brief_out(request, order),
        "order_id": str(order.pk),
        "order_number": order.number,
        "store_id": str(order.store_id),
        "order_status": order.status,
    }
