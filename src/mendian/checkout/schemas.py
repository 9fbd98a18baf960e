"""Cart, quote and address shapes. Bodies forbid unknown keys (`price`, `total`, `customer_id` in a
body are a 422, never trusted). Money goes out as `{amount, currency}` in minor units."""

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import AwareDatetime, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from mendian.checkout.models import MAX_LINE_QUANTITY
from mendian.checkout.selectors import MAX_LINES, CheckoutInput
from mendian.core.money import MoneySchema

Id = str | StrictInt
Coordinate = StrictFloat | StrictInt


class _Input(Schema):
    model_config = ConfigDict(extra="forbid")


# --- cart ----------------------------------------------------------------------------------------


class CartLineSet(_Input):
    store_id: Id
    sku_id: Id
    quantity: StrictInt = Field(ge=0, le=MAX_LINE_QUANTITY, description="0 removes the line")


class CartQuery(Schema):
    store_id: str | None = Field(None, description="the store's cart; default: the cart used last")


class CartLineRead(Schema):
    sku_id: str
    quantity: int
    unit_price: MoneySchema
    line_total: MoneySchema
    available: bool = Field(description="sold at this store and enough stock for the quantity")
    sold_here: bool
    stock_available: int
    product_id: str
    name: str
    sku_code: str
    specs: dict[str, str]
    image: str | None


class CartRead(Schema):
    store_id: str | None
    lines: list[CartLineRead]
    subtotal: MoneySchema
    item_count: int


# --- quote ---------------------------------------------------------------------------------------


class LineIn(_Input):
    sku_id: Id
    quantity: StrictInt = Field(ge=1, le=MAX_LINE_QUANTITY)


class ContactIn(_Input):
    name: str = Field("", max_length=30)
    phone: str = Field(min_length=1, max_length=20)


class FulfilmentIn(_Input):
    type: Literal["pickup", "delivery"]
    address_id: Id | None = Field(None, description="delivery: one of your saved addresses")
    pickup_at: AwareDatetime | None = Field(None, description="pickup: when; null: as soon as ready")
    contact: ContactIn | None = Field(None, description="null: the address's contact, else yours")


class CheckoutIn(_Input):
    store_id: Id | None = Field(
        None, description="null: routed to the nearest open store that holds every line (needs a location)"
    )
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    fulfilment: FulfilmentIn
    coupon_ids: list[Id] = Field(default_factory=list, max_length=20)
    points: StrictInt = Field(0, ge=0, le=10**9)
    lat: Coordinate | None = Field(None, description="for routing without store_id")
    lng: Coordinate | None = None
    coord_type: Literal["gcj02", "wgs84"] = "gcj02"
    note: str = Field("", max_length=200, description="for the store (备注)")

    def to_input(self) -> CheckoutInput:
        contact = self.fulfilment.contact
        return CheckoutInput(
            store_id=self.store_id,
            lines=[(line.sku_id, line.quantity) for line in self.lines],
            fulfilment_type=self.fulfilment.type,
            address_id=self.fulfilment.address_id,
            pickup_at=self.fulfilment.pickup_at,
            contact_name=contact.name if contact else None,
            contact_phone=contact.phone if contact else None,
            coupon_ids=[str(coupon_id) for coupon_id in self.coupon_ids],
            points=self.points,
            lat=None if self.lat is None else float(self.lat),
            lng=None if self.lng is None else float(self.lng),
            coord_type=self.coord_type,
            note=self.note,
        )


class AllocationRead(Schema):
    source: str
    amount: MoneySchema


class QuoteLineRead(Schema):
    sku_id: str
    product_id: str | None
    name: str
    sku_code: str
    specs: dict[str, str]
    image: str | None
    quantity: int
    unit_price: MoneySchema
    line_total: MoneySchema
    discounts_allocated: MoneySchema
    allocations: list[AllocationRead]
    payable: MoneySchema


class DiscountRead(Schema):
    source: str
    label: str
    amount: MoneySchema


class ContactRead(Schema):
    name: str
    phone_masked: str


class FulfilmentAddressRead(Schema):
    id: str | None = None
    address: str
    district: str
    lat: float | None
    lng: float | None


class QuoteFulfilmentRead(Schema):
    type: str
    pickup_at: dt.datetime | None
    contact: ContactRead
    address: FulfilmentAddressRead | None
    distance_m: int | None


class QuoteRead(Schema):
    store_id: str
    lines: list[QuoteLineRead]
    subtotal: MoneySchema
    discounts: list[DiscountRead]
    discount_total: MoneySchema
    delivery_fee: MoneySchema
    delivery_fee_waived: bool
    points_used: int
    total: MoneySchema
    fulfilment: QuoteFulfilmentRead


# --- addresses -----------------------------------------------------------------------------------


class AddressCreate(_Input):
    contact_name: str = Field(min_length=1, max_length=30)
    phone: str = Field(min_length=1, max_length=20)
    address: str = Field(min_length=1, max_length=200)
    district: str = Field("", max_length=50)
    lat: Coordinate = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: Coordinate = Field(ge=-180, le=180, allow_inf_nan=False)
    coord_type: Literal["gcj02", "wgs84"] = Field("gcj02", description="wgs84: raw GPS, converted to GCJ-02")
    is_default: StrictBool = False


class AddressUpdate(_Input):
    contact_name: str = Field(None, min_length=1, max_length=30)
    phone: str = Field(None, min_length=1, max_length=20)
    address: str = Field(None, min_length=1, max_length=200)
    district: str = Field(None, max_length=50)
    lat: Coordinate = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: Coordinate = Field(None, ge=-180, le=180, allow_inf_nan=False)
    coord_type: Literal["gcj02", "wgs84"] = None
    is_default: StrictBool = None


class AddressRead(Schema):
    id: str
    contact_name: str
    phone_masked: str
    address: str
    district: str
    lat: float
    lng: float
    is_default: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class AddressList(Schema):
    items: list[AddressRead]
    next_cursor: str | None = None
