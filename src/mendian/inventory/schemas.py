"""Stock API shapes, and the functions that fill them from prefetched rows (no queries)."""

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt

from mendian.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mendian.inventory.models import (
    AdjustReason,
    RestockRequest,
    StockLevel,
    StockMovement,
    Stocktake,
    Transfer,
)
from mendian.inventory.rules import MAX_LINES, MAX_QUANTITY, MAX_STOCKTAKE_LINES

Id = str | StrictInt
Quantity = StrictInt


class _Input(Schema):
    # Unknown fields fail loudly: `on_hand` or `merchant_id` in a body is an error, not ignored.
    model_config = ConfigDict(extra="forbid")


class _Query(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


# --- input ---------------------------------------------------------------------------------


class LineInput(_Input):
    sku_id: Id
    quantity: Quantity = Field(ge=1, le=MAX_QUANTITY)


class LineQuantityInput(_Input):
    sku_id: Id
    quantity: Quantity = Field(ge=0, le=MAX_QUANTITY)


class StockAdjustmentCreate(_Input):
    store_id: Id | None = Field(None, description="Store roles may leave it out (their store).")
    sku_id: Id
    delta: StrictInt = Field(description=f"units added (> 0) or removed (< 0); not 0, at most {MAX_QUANTITY}")
    reason: Literal[tuple(AdjustReason.values)] = Field(
        description="damaged, expired, lost, found, correction, other"
    )
    note: str = Field("", max_length=200, description="free text")
    source_id: str | None = Field(
        None, min_length=1, max_length=128, description="an id of the adjustment: a repeat changes nothing"
    )


class StocktakeCreate(_Input):
    store_id: Id | None = Field(None, description="Store roles may leave it out (their store).")
    sku_ids: list[Id] | None = Field(
        None, max_length=MAX_STOCKTAKE_LINES, description="null: every SKU the store holds"
    )
    note: str = Field("", max_length=200)


class CountInput(_Input):
    sku_id: Id
    counted: Quantity | None = Field(ge=0, le=MAX_QUANTITY, description="null clears the count")


class StocktakeCounts(_Input):
    counts: list[CountInput] = Field(min_length=1, max_length=MAX_LINES)


class TransferCreate(_Input):
    from_store_id: Id
    to_store_id: Id
    lines: list[LineInput] = Field(min_length=1, max_length=MAX_LINES)
    note: str = Field("", max_length=200)


class RestockRequestCreate(_Input):
    store_id: Id | None = Field(None, description="Store roles may leave it out (their store).")
    lines: list[LineInput] = Field(min_length=1, max_length=MAX_LINES)
    note: str = Field("", max_length=200)


class RestockApprove(_Input):
    lines: list[LineQuantityInput] | None = Field(
        None, max_length=MAX_LINES, description="approved quantities that differ from the requested ones"
    )
    note: str = Field("", max_length=200)


class RestockReject(_Input):
    note: str = Field("", max_length=200)


class RestockReceive(_Input):
    lines: list[LineQuantityInput] | None = Field(
        None, max_length=MAX_LINES, description="quantities that arrived, when not the approved ones"
    )


class ThresholdItem(_Input):
    store_id: Id | None = Field(None, description="null: every store of the merchant")
    sku_id: Id
    threshold: Quantity | None = Field(ge=0, le=MAX_QUANTITY, description="null: the merchant default")


class ThresholdsUpdate(_Input):
    merchant_id: Id | None = Field(None, description="Platform administrators only.")
    default: Quantity | None = Field(
        None, ge=0, le=MAX_QUANTITY, description="the merchant default; leave out to keep it, null to reset"
    )
    items: list[ThresholdItem] = Field(default_factory=list, max_length=MAX_LINES)


class StoreThresholdItem(_Input):
    sku_id: Id
    threshold: Quantity | None = Field(
        ge=0, le=MAX_QUANTITY, description="null: back to the merchant default"
    )


class StoreThresholdsUpdate(_Input):
    store_id: Id | None = Field(None, description="Store roles may leave it out (their store).")
    items: list[StoreThresholdItem] = Field(min_length=1, max_length=MAX_LINES)


class StockQuery(_Query):
    store_id: str | None = None
    low_only: bool = False
    q: str | None = Field(None, max_length=100)


class MovementQuery(_Query):
    store_id: str | None = None
    sku_id: str | None = None


class DocumentQuery(_Query):
    store_id: str | None = None
    status: str | None = Field(None, max_length=20)


class MatrixQuery(_Query):
    merchant_id: str | None = None
    sku_id: str | None = None
    store_id: str | None = None
    q: str | None = Field(None, max_length=100)


# --- output --------------------------------------------------------------------------------


class StockLevelRead(Schema):
    store_id: str
    store_code: str
    sku_id: str
    sku_code: str
    barcode: str | None
    product_id: str
    product_name: str
    specs: dict
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int
    threshold_is_default: bool
    is_low: bool


class StockLevelPage(Schema):
    items: list[StockLevelRead]
    next_cursor: str | None


class MovementRead(Schema):
    id: str
    store_id: str
    sku_id: str
    sku_code: str
    type: str
    delta_on_hand: int
    delta_reserved: int
    reference: str
    source: str
    source_id: str | None
    actor_id: str | None
    reason: str
    note: str
    occurred_at: dt.datetime
    created_at: dt.datetime


class MovementPage(Schema):
    items: list[MovementRead]
    next_cursor: str | None


class AlertRead(Schema):
    id: str
    store_id: str
    sku_id: str
    sku_code: str
    threshold: int
    available: int = Field(description="available units when the alert opened")
    opened_at: dt.datetime
    resolved_at: dt.datetime | None


class AlertPage(Schema):
    items: list[AlertRead]
    next_cursor: str | None


class AlertQuery(_Query):
    store_id: str | None = None
    open_only: bool = True


class StocktakeLineRead(Schema):
    sku_id: str
    sku_code: str
    product_name: str
    expected: int
    counted: int | None
    delta: int | None
    outcome: str


class StocktakeRead(Schema):
    id: str
    reference: str
    store_id: str
    status: str
    counted_at: dt.datetime
    note: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    lines: list[StocktakeLineRead]


class StocktakeSummary(Schema):
    id: str
    reference: str
    store_id: str
    status: str
    counted_at: dt.datetime
    note: str
    created_at: dt.datetime
    closed_at: dt.datetime | None


class StocktakePage(Schema):
    items: list[StocktakeSummary]
    next_cursor: str | None


class DocumentLineRead(Schema):
    sku_id: str
    sku_code: str
    product_name: str
    quantity: int


class StoreRef(Schema):
    id: str
    code: str
    name: str


class TransferRead(Schema):
    id: str
    reference: str
    from_store: StoreRef
    to_store: StoreRef
    status: str
    note: str
    created_at: dt.datetime
    shipped_at: dt.datetime | None
    received_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    lines: list[DocumentLineRead]


class TransferPage(Schema):
    items: list[TransferRead]
    next_cursor: str | None


class RestockLineRead(Schema):
    sku_id: str
    sku_code: str
    product_name: str
    quantity: int
    approved_quantity: int | None
    received_quantity: int | None


class RestockRead(Schema):
    id: str
    reference: str
    store: StoreRef
    status: str
    note: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str
    received_at: dt.datetime | None
    lines: list[RestockLineRead]


class RestockPage(Schema):
    items: list[RestockRead]
    next_cursor: str | None


class MatrixLevel(Schema):
    store_id: str
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int
    is_low: bool


class MatrixRow(Schema):
    sku_id: str
    sku_code: str
    product_name: str
    specs: dict
    levels: list[MatrixLevel]


class MatrixPage(Schema):
    stores: list[StoreRef]
    items: list[MatrixRow]
    next_cursor: str | None


class ThresholdsRead(Schema):
    updated: int
    default: int


# --- fillers (no queries: the selectors joined what they read) -----------------------------


def store_ref(store) -> dict:
    return {"id": str(store.pk), "code": store.code, "name": store.name}


def movement_out(movement: StockMovement) -> dict:
    return {
        "id": str(movement.pk),
        "store_id": str(movement.store_id),
        "sku_id": str(movement.sku_id),
        "sku_code": movement.sku.sku_code,
        "type": movement.type,
        "delta_on_hand": movement.delta_on_hand,
        "delta_reserved": movement.delta_reserved,
        "reference": movement.reference,
        "source": movement.source,
        "source_id": movement.source_id,
        "actor_id": None if movement.actor_id is None else str(movement.actor_id),
        "reason": movement.reason,
        "note": movement.note,
        "occurred_at": movement.occurred_at,
        "created_at": movement.created_at,
    }


def alert_out(alert) -> dict:
    return {
        "id": str(alert.pk),
        "store_id": str(alert.store_id),
        "sku_id": str(alert.sku_id),
        "sku_code": alert.sku.sku_code,
        "threshold": alert.threshold,
        "available": alert.available,
        "opened_at": alert.opened_at,
        "resolved_at": alert.resolved_at,
    }


def stocktake_summary_out(stocktake: Stocktake) -> dict:
    return {
        "id": str(stocktake.pk),
        "reference": stocktake.reference,
        "store_id": str(stocktake.store_id),
        "status": stocktake.status,
        "counted_at": stocktake.counted_at,
        "note": stocktake.note,
        "created_at": stocktake.created_at,
        "closed_at": stocktake.closed_at,
    }


def stocktake_out(stocktake: Stocktake, lines) -> dict:
    return {
        **stocktake_summary_out(stocktake),
        "lines": [
            {
                "sku_id": str(line.sku_id),
                "sku_code": line.sku.sku_code,
                "product_name": line.sku.product.name,
                "expected": line.expected,
                "counted": line.counted,
                "delta": line.delta,
                "outcome": line.outcome,
            }
            for line in lines
        ],
    }


def _document_line(line) -> dict:
    return {
        "sku_id": str(line.sku_id),
        "sku_code": line.sku.sku_code,
        "product_name": line.sku.product.name,
        "quantity": line.quantity,
    }


def transfer_out(transfer: Transfer) -> dict:
    """Needs `from_store`, `to_store` and `lines__sku__product` joined."""
    return {
        "id": str(transfer.pk),
        "reference": transfer.reference,
        "from_store": store_ref(transfer.from_store),
        "to_store": store_ref(transfer.to_store),
        "status": transfer.status,
        "note": transfer.note,
        "created_at": transfer.created_at,
        "shipped_at": transfer.shipped_at,
        "received_at": transfer.received_at,
        "cancelled_at": transfer.cancelled_at,
        "lines": [_document_line(line) for line in transfer.lines.all()],
    }


def restock_out(request: RestockRequest) -> dict:
    """Needs `store` and `lines__sku__product` joined."""
    return {
        "id": str(request.pk),
        "reference": request.reference,
        "store": store_ref(request.store),
        "status": request.status,
        "note": request.note,
        "created_at": request.created_at,
        "decided_at": request.decided_at,
        "decision_note": request.decision_note,
        "received_at": request.received_at,
        "lines": [
            {
                **_document_line(line),
                "approved_quantity": line.approved_quantity,
                "received_quantity": line.received_quantity,
            }
            for line in request.lines.all()
        ],
    }


def matrix_out(matrix: dict) -> dict:
    return {
        "stores": [store_ref(store) for store in matrix["stores"]],
        "items": [
            {
                "sku_id": str(row["sku"].pk),
                "sku_code": row["sku"].sku_code,
                "product_name": row["sku"].product.name,
                "specs": row["sku"].specs,
                "levels": [
                    {
                        "store_id": str(level.store_id),
                        "on_hand": level.on_hand,
                        "reserved": level.reserved,
                        "available": level.available,
                        "low_stock_threshold": level.threshold,
                        "is_low": level.available < level.threshold,
                    }
                    for _, level in sorted(row["levels"].items())
                ],
            }
            for row in matrix["items"]
        ],
        "next_cursor": matrix["next_cursor"],
    }


def level_numbers_out(level: StockLevel) -> dict:
    return {"on_hand": level.on_hand, "reserved": level.reserved, "available": level.available}
