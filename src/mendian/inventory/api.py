"""Stock endpoints for store staff (`/api/staff/v1`) and headquarters (`/api/hq/v1`).

Thin: parse, resolve scoped objects through the selectors, call one service, render.
"""

from ninja import Query, Router, Status

from mendian.inventory import selectors, services
from mendian.inventory.schemas import (
    AlertPage,
    AlertQuery,
    DocumentQuery,
    MatrixPage,
    MatrixQuery,
    MovementPage,
    MovementQuery,
    RestockApprove,
    RestockPage,
    RestockRead,
    RestockReceive,
    RestockReject,
    RestockRequestCreate,
    StockAdjustmentCreate,
    StockLevelPage,
    StockLevelRead,
    StockQuery,
    StocktakeCounts,
    StocktakeCreate,
    StocktakePage,
    StocktakeRead,
    StoreThresholdsUpdate,
    ThresholdsRead,
    ThresholdsUpdate,
    TransferCreate,
    TransferPage,
    TransferRead,
    alert_out,
    matrix_out,
    movement_out,
    restock_out,
    stocktake_out,
    stocktake_summary_out,
    transfer_out,
)

staff = Router(tags=["stock"])
hq = Router(tags=["stock"])


def _lines(lines) -> list[tuple]:
    return [(line.sku_id, line.quantity) for line in lines or []]


# --- levels and adjustments ------------------------------------------------------------------


@staff.get("/stock", response=StockLevelPage, summary="Stock levels of the stores in scope")
def stock_list(request, filters: Query[StockQuery]):
    return selectors.stock_levels(
        actor=request.auth,
        store_id=filters.store_id,
        low_only=filters.low_only,
        q=filters.q,
        limit=filters.limit,
        cursor=filters.cursor,
    )


@staff.post("/stock/adjustments", response=StockLevelRead, summary="Add or remove units, with a reason")
def stock_adjustment_create(request, payload: StockAdjustmentCreate):
    actor = request.auth
    store = selectors.store_for_staff(actor=actor, store_id=payload.store_id)
    sku = selectors.sku_for_store(store=store, sku_id=payload.sku_id)
    services.stock_adjust(
        actor=actor,
        store=store,
        sku=sku,
        delta=payload.delta,
        reason=payload.reason,
        note=payload.note,
        source_id=payload.source_id,
    )
    return selectors.level_out(selectors.stock_level_get(actor=actor, store=store, sku=sku))


@staff.put(
    "/stock/thresholds",
    response=ThresholdsRead,
    summary="Low-stock thresholds of the store's SKUs (store managers; HQ roles name the store)",
)
def store_stock_thresholds(request, payload: StoreThresholdsUpdate):
    actor = request.auth
    store = selectors.store_for_staff(actor=actor, store_id=payload.store_id)
    return services.stock_thresholds_set(
        actor=actor, store=store, items=[item.model_dump() for item in payload.items]
    )


@staff.get("/stock/movements", response=MovementPage, summary="The movement ledger of a store, newest first")
def stock_movement_list(request, filters: Query[MovementQuery]):
    page = selectors.stock_movements(
        actor=request.auth,
        store_id=filters.store_id,
        sku_id=filters.sku_id,
        limit=filters.limit,
        cursor=filters.cursor,
    )
    return {"items": [movement_out(m) for m in page["items"]], "next_cursor": page["next_cursor"]}


@staff.get("/stock/alerts", response=AlertPage, summary="Low-stock alerts, newest first")
def stock_alert_list(request, filters: Query[AlertQuery]):
    qs = selectors.stock_alerts(actor=request.auth, store_id=filters.store_id, open_only=filters.open_only)
    rows, next_cursor = selectors.keyset_page(qs, limit=filters.limit, cursor=filters.cursor)
    return {"items": [alert_out(row) for row in rows], "next_cursor": next_cursor}


# --- stocktakes ------------------------------------------------------------------------------


def _stocktake_read(actor, stocktake_id) -> dict:
    stocktake = selectors.stocktake_get_for_actor(actor=actor, stocktake_id=stocktake_id)
    return stocktake_out(stocktake, selectors.stocktake_lines(stocktake))


@staff.post("/stocktakes", response={201: StocktakeRead}, summary="Open a count sheet (as of now)")
def stocktake_create(request, payload: StocktakeCreate):
    actor = request.auth
    store = selectors.store_for_staff(actor=actor, store_id=payload.store_id)
    stocktake = services.stocktake_start(actor=actor, store=store, sku_ids=payload.sku_ids, note=payload.note)
    return Status(201, _stocktake_read(actor, stocktake.pk))


@staff.get("/stocktakes", response=StocktakePage, summary="Stocktakes of the stores in scope")
def stocktake_list(request, filters: Query[DocumentQuery]):
    qs = selectors.stocktakes_for_actor(actor=request.auth, store_id=filters.store_id, status=filters.status)
    rows, next_cursor = selectors.keyset_page(qs, limit=filters.limit, cursor=filters.cursor)
    return {"items": [stocktake_summary_out(row) for row in rows], "next_cursor": next_cursor}


@staff.get("/stocktakes/{stocktake_id}", response=StocktakeRead, summary="A count sheet with its lines")
def stocktake_detail(request, stocktake_id: str):
    return _stocktake_read(request.auth, stocktake_id)


@staff.put("/stocktakes/{stocktake_id}/counts", response=StocktakeRead, summary="Record counted quantities")
def stocktake_counts(request, stocktake_id: str, payload: StocktakeCounts):
    actor = request.auth
    stocktake = selectors.stocktake_get_for_actor(actor=actor, stocktake_id=stocktake_id)
    services.stocktake_record_counts(
        actor=actor, stocktake=stocktake, counts=[(c.sku_id, c.counted) for c in payload.counts]
    )
    return _stocktake_read(actor, stocktake.pk)


@staff.post(
    "/stocktakes/{stocktake_id}/commit", response=StocktakeRead, summary="Apply the counts as of counted_at"
)
def stocktake_commit(request, stocktake_id: str):
    actor = request.auth
    stocktake = selectors.stocktake_get_for_actor(actor=actor, stocktake_id=stocktake_id)
    services.stocktake_commit(actor=actor, stocktake=stocktake)
    return _stocktake_read(actor, stocktake.pk)


@staff.post("/stocktakes/{stocktake_id}/cancel", response=StocktakeRead, summary="Drop an open count sheet")
def stocktake_cancel(request, stocktake_id: str):
    actor = request.auth
    stocktake = selectors.stocktake_get_for_actor(actor=actor, stocktake_id=stocktake_id)
    services.stocktake_cancel(actor=actor, stocktake=stocktake)
    return _stocktake_read(actor, stocktake.pk)


# --- transfers -------------------------------------------------------------------------------


@staff.post("/transfers", response={201: TransferRead}, summary="Plan a transfer between two stores")
def transfer_create(request, payload: TransferCreate):
    actor = request.auth
    from_store = selectors.store_of_merchant(actor=actor, store_id=payload.from_store_id)
    to_store = selectors.store_of_merchant(actor=actor, store_id=payload.to_store_id)
    transfer = services.transfer_create(
        actor=actor, from_store=from_store, to_store=to_store, lines=_lines(payload.lines), note=payload.note
    )
    return Status(201, transfer_out(selectors.transfer_get_for_actor(actor=actor, transfer_id=transfer.pk)))


@staff.get("/transfers", response=TransferPage, summary="Transfers from or to the stores in scope")
def transfer_list(request, filters: Query[DocumentQuery]):
    qs = selectors.transfers_for_actor(actor=request.auth, store_id=filters.store_id, status=filters.status)
    rows, next_cursor = selectors.keyset_page(qs, limit=filters.limit, cursor=filters.cursor)
    return {"items": [transfer_out(row) for row in rows], "next_cursor": next_cursor}


@staff.get("/transfers/{transfer_id}", response=TransferRead, summary="A transfer")
def transfer_detail(request, transfer_id: str):
    return transfer_out(selectors.transfer_get_for_actor(actor=request.auth, transfer_id=transfer_id))


def _transfer_step(request, transfer_id: str, service) -> dict:
    actor = request.auth
    transfer = selectors.transfer_get_for_actor(actor=actor, transfer_id=transfer_id)
    service(actor=actor, transfer=transfer)
    return transfer_out(selectors.transfer_get_for_actor(actor=actor, transfer_id=transfer.pk))


@staff.post("/transfers/{transfer_id}/ship", response=TransferRead, summary="The sending store ships")
def transfer_ship(request, transfer_id: str):
    return _transfer_step(request, transfer_id, services.transfer_ship)


@staff.post(
    "/transfers/{transfer_id}/receive", response=TransferRead, summary="The receiving store books it in"
)
def transfer_receive(request, transfer_id: str):
    return _transfer_step(request, transfer_id, services.transfer_receive)


@staff.post("/transfers/{transfer_id}/cancel", response=TransferRead, summary="Cancel before shipping")
def transfer_cancel(request, transfer_id: str):
    return _transfer_step(request, transfer_id, services.transfer_cancel)


# --- restock requests ------------------------------------------------------------------------


def _restock_read(actor, request_id) -> dict:
    return restock_out(selectors.restock_request_get_for_actor(actor=actor, request_id=request_id))


def _restock_list(request, filters: DocumentQuery) -> dict:
    qs = selectors.restock_requests_for_actor(
        actor=request.auth, store_id=filters.store_id, status=filters.status
    )
    rows, next_cursor = selectors.keyset_page(qs, limit=filters.limit, cursor=filters.cursor)
    return {"items": [restock_out(row) for row in rows], "next_cursor": next_cursor}


@staff.post("/restock-requests", response={201: RestockRead}, summary="Ask headquarters for goods (要货)")
def restock_request_create(request, payload: RestockRequestCreate):
    actor = request.auth
    store = selectors.store_for_staff(actor=actor, store_id=payload.store_id)
    created = services.restock_request_create(
        actor=actor, store=store, lines=_lines(payload.lines), note=payload.note
    )
    return Status(201, _restock_read(actor, created.pk))


@staff.get("/restock-requests", response=RestockPage, summary="Restock requests of the stores in scope")
def restock_request_list(request, filters: Query[DocumentQuery]):
    return _restock_list(request, filters)


@staff.get("/restock-requests/{request_id}", response=RestockRead, summary="A restock request")
def restock_request_detail(request, request_id: str):
    return _restock_read(request.auth, request_id)


@staff.post(
    "/restock-requests/{request_id}/receive", response=RestockRead, summary="Book the approved goods in"
)
def restock_request_receive(request, request_id: str, payload: RestockReceive | None = None):
    actor = request.auth
    restock = selectors.restock_request_get_for_actor(actor=actor, request_id=request_id)
    lines = _lines(payload.lines) if payload and payload.lines is not None else None
    services.restock_request_receive(actor=actor, request=restock, lines=lines)
    return _restock_read(actor, restock.pk)


# --- HQ --------------------------------------------------------------------------------------


@hq.get("/stock", response=MatrixPage, summary="Stock matrix: SKUs (paged) × stores")
def stock_matrix(request, filters: Query[MatrixQuery]):
    return matrix_out(
        selectors.stock_matrix(
            actor=request.auth,
            merchant_id=filters.merchant_id,
            sku_id=filters.sku_id,
            store_id=filters.store_id,
            q=filters.q,
            limit=filters.limit,
            cursor=filters.cursor,
        )
    )


@hq.put("/stock/thresholds", response=ThresholdsRead, summary="Low-stock thresholds and the merchant default")
def stock_thresholds(request, payload: ThresholdsUpdate):
    data = payload.model_dump(exclude_unset=True)
    kwargs = {"default": data["default"]} if "default" in data else {}
    merchant_id = payload.merchant_id
    return services.stock_thresholds_set(
        actor=request.auth,
        merchant_id=None if merchant_id is None else selectors.parse_id(merchant_id, what="merchant"),
        items=[item.model_dump() for item in payload.items],
        **kwargs,
    )


@hq.get("/restock-requests", response=RestockPage, summary="Restock requests of the merchant's stores")
def hq_restock_request_list(request, filters: Query[DocumentQuery]):
    return _restock_list(request, filters)


@hq.get("/restock-requests/{request_id}", response=RestockRead, summary="A restock request")
def hq_restock_request_detail(request, request_id: str):
    return _restock_read(request.auth, request_id)


@hq.post("/restock-requests/{request_id}/approve", response=RestockRead, summary="Approve (optionally fewer)")
def restock_request_approve(request, request_id: str, payload: RestockApprove | None = None):
    actor = request.auth
    restock = selectors.restock_request_get_for_actor(actor=actor, request_id=request_id)
    lines = _lines(payload.lines) if payload and payload.lines is not None else None
    services.restock_request_approve(
        actor=actor, request=restock, lines=lines, note=payload.note if payload else ""
    )
    return _restock_read(actor, restock.pk)


@hq.post("/restock-requests/{request_id}/reject", response=RestockRead, summary="Reject")
def restock_request_reject(request, request_id: str, payload: RestockReject | None = None):
    actor = request.auth
    restock = selectors.restock_request_get_for_actor(actor=actor, request_id=request_id)
    services.restock_request_reject(actor=actor, request=restock, note=payload.note if payload else "")
    return _restock_read(actor, restock.pk)
