"""Stock reads. Staff reads are scoped by the Actor; `stock_available_for` and `stores_with_stock`
serve the catalog and storefront (the caller has already chosen the store or merchant)."""

from dataclasses import dataclass

from django.db.models import (
    Case,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from mendian.catalog.models import Sku
from mendian.core.errors import NotFound, ValidationFailed
from mendian.core.pagination import clamp_limit, decode_int_cursor, encode_cursor
from mendian.core.scope import Actor
from mendian.inventory.models import (
    Reservation,
    ReservationStatus,
    RestockRequest,
    RestockStatus,
    StockAlert,
    StockLevel,
    StockMovement,
    Stocktake,
    StocktakeStatus,
    Transfer,
    TransferStatus,
)
from mendian.inventory.rules import (
    DEFAULT_LOW_STOCK_THRESHOLD,
    merchant_default_threshold,
    merchant_default_thresholds,
    parse_id,
)
from mendian.stores.models import Store, StoreStatus


def _check_status(status: str | None, choices) -> str | None:
    if status in (None, ""):
        return None
    if status not in choices.values:
        msg = "must be one of " + ", ".join(choices.values)
        raise ValidationFailed(f"status {msg}.", errors=[{"loc": ["query", "status"], "msg": msg}])
    return status


def _page(rows: list, limit: int, key) -> tuple[list, str | None]:
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None


# --- scope -----------------------------------------------------------------------------------


def store_for_actor(*, actor: Actor, store_id) -> Store:
    """A store in the actor's scope (404 outside it), with its merchant."""
    pk = parse_id(store_id, what="store")
    store = actor.scope_stores(
        Store.objects.select_related("merchant"), store_field="pk", merchant_field="merchant_id"
    )
    store = store.filter(pk=pk).first()
    if store is None:
        raise NotFound("No such store.")
    return store


def store_for_staff(*, actor: Actor, store_id=None) -> Store:
    """The store a staff write acts on: store roles their own when none is named; HQ roles name one."""
    if store_id in (None, ""):
        if actor.is_store_level:
            store_id = actor.store_id
        else:
            raise ValidationFailed(
                "store_id is required for headquarters roles.",
                errors=[{"loc": ["body", "store_id"], "msg": "required"}],
            )
    return store_for_actor(actor=actor, store_id=store_id)


def store_of_merchant(*, actor: Actor, store_id) -> Store:
    """A store of the actor's merchant, in or out of the actor's own store scope (transfers name the
    other store); another merchant's store is not found."""
    pk = parse_id(store_id, what="store")
    store = actor.scope_merchants(Store.objects.select_related("merchant")).filter(pk=pk).first()
    if store is None:
        raise NotFound("No such store.")
    return store


def sku_for_store(*, store: Store, sku_id) -> Sku:
    """A SKU of the store's merchant (404 otherwise)."""
    pk = parse_id(sku_id, what="SKU")
    sku = Sku.objects.filter(pk=pk, merchant_id=store.merchant_id).select_related("product").first()
    if sku is None:
        raise NotFound("No such SKU.")
    return sku


def _stores_of_actor(actor: Actor, store_id) -> Q:
    """The filter on `store_id` for a staff list: the named store (checked) or the actor's scope."""
    if store_id not in (None, ""):
        return Q(store_id=store_for_actor(actor=actor, store_id=store_id).pk)
    if actor.is_platform:
        return Q()
    if actor.is_store_level:
        return Q(store_id=actor.store_id)
    return Q(store__merchant_id=actor.merchant_id)


# --- thresholds ------------------------------------------------------------------------------


def _threshold_expression(actor_merchant_id: int | None):
    """The effective threshold of a level in SQL: its own, else its merchant's default."""
    defaults = merchant_default_thresholds(None if actor_merchant_id is None else [actor_merchant_id])
    merchant_default = Value(DEFAULT_LOW_STOCK_THRESHOLD)
    if defaults:
        merchant_default = Case(
            *[When(store__merchant_id=pk, then=Value(value)) for pk, value in sorted(defaults.items())],
            default=Value(DEFAULT_LOW_STOCK_THRESHOLD),
            output_field=IntegerField(),
        )
    return Coalesce("low_stock_threshold", merchant_default, output_field=IntegerField())


def _levels_annotated(actor: Actor) -> QuerySet:
    return StockLevel.objects.annotate(
        avail=ExpressionWrapper(F("on_hand") - F("reserved"), output_field=IntegerField()),
        threshold=_threshold_expression(None if actor.is_platform else actor.merchant_id),
    )


def level_out(level: StockLevel) -> dict:
    """A level as the staff API shows it (needs `sku__product`, `store` and the annotations)."""
    return {
        "store_id": str(level.store_id),
        "store_code": level.store.code,
        "sku_id": str(level.sku_id),
        "sku_code": level.sku.sku_code,
        "barcode": level.sku.barcode,
        "product_id": str(level.sku.product_id),
        "product_name": level.sku.product.name,
        "specs": level.sku.specs,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available,
        "low_stock_threshold": level.threshold,
        "threshold_is_default": level.low_stock_threshold is None,
        "is_low": level.available < level.threshold,
    }


# --- the catalog's and storefront's reads ----------------------------------------------------


def stock_available_for(*, store_id: int, sku_ids) -> dict[int, int]:
    """{sku_id: available} at one store, 0 for SKUs it holds none of. One query."""
    wanted = list(dict.fromkeys(sku_ids))
    result = dict.fromkeys(wanted, 0)
    if not wanted:
        return result
    rows = StockLevel.objects.filter(store_id=store_id, sku_id__in=wanted).values_list(
        "sku_id", "on_hand", "reserved"
    )
    for sku_id, on_hand, reserved in rows:
        result[sku_id] = on_hand - reserved
    return result


def products_in_stock(*, store_id: int, product_ids) -> set[int]:
    """The products (of `product_ids`) with at least one active variant available at the store.
    One query, however many products."""
    wanted = list(dict.fromkeys(product_ids))
    if not wanted:
        return set()
    return set(
        StockLevel.objects.filter(
            store_id=store_id,
            sku__product_id__in=wanted,
            sku__is_active=True,
            on_hand__gt=F("reserved"),
        )
        .order_by()
        .values_list("sku__product_id", flat=True)
        .distinct()
    )


def stores_with_stock(*, merchant_id: int, sku_id: int, min_qty: int = 1) -> list[dict]:
    """Stores of the merchant (not closed for good) with at least `min_qty` available, as
    `{"store_id", "available"}`, most available first. One query."""
    rows = (
        StockLevel.objects.filter(sku_id=sku_id, store__merchant_id=merchant_id)
        .exclude(store__status=StoreStatus.CLOSED)
        .annotate(avail=ExpressionWrapper(F("on_hand") - F("reserved"), output_field=IntegerField()))
        .filter(avail__gte=max(min_qty, 1))
        .order_by("-avail", "store_id")
        .values_list("store_id", "avail")
    )
    return [{"store_id": store_id, "available": available} for store_id, available in rows]


# --- staff: levels ---------------------------------------------------------------------------


def stock_levels(
    *,
    actor: Actor,
    store_id=None,
    low_only: bool = False,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict:
    """Levels in the actor's scope (store roles: their store; HQ: a named store or all), by store then
    SKU id. `low_only`: available below the effective threshold. `q`: SKU code, barcode or product
    name. Returns `{"items": [level_out…], "next_cursor"}`; three queries however long the page."""
    actor.require("stock.read")
    limit = clamp_limit(limit)
    qs = _levels_annotated(actor).filter(_stores_of_actor(actor, store_id))
    if low_only:
        qs = qs.filter(avail__lt=F("threshold"))
    if q:
        q = q.strip()[:100]
        qs = qs.filter(Q(sku__sku_code__icontains=q) | Q(sku__barcode=q) | Q(sku__product__name__icontains=q))
    after = decode_int_cursor(cursor, 2)
    if after:
        qs = qs.filter(Q(store_id__gt=after[0]) | Q(store_id=after[0], sku_id__gt=after[1]))
    rows = list(qs.select_related("store", "sku__product").order_by("store_id", "sku_id")[: limit + 1])
    rows, next_cursor = _page(rows, limit, lambda level: [level.store_id, level.sku_id])
    return {"items": [level_out(level) for level in rows], "next_cursor": next_cursor}


def stock_level_get(*, actor: Actor, store: Store, sku: Sku) -> StockLevel:
    """One level with the staff API's annotations; a level never written reads as zeros."""
    actor.require("stock.read")
    actor.check_store(store)
    level = (
        _levels_annotated(actor)
        .filter(store_id=store.pk, sku_id=sku.pk)
        .select_related("store", "sku__product")
    )
    level = level.first()
    if level is None:
        level = StockLevel(store=store, sku=sku, on_hand=0, reserved=0)
        level.threshold = merchant_default_threshold(store.merchant)
    return level


def low_stock_levels(*, actor: Actor, store_id=None) -> list[StockLevel]:
    """Every level in scope whose available stock is below its effective threshold."""
    actor.require("stock.read")
    qs = _levels_annotated(actor).filter(_stores_of_actor(actor, store_id)).filter(avail__lt=F("threshold"))
    return list(qs.select_related("store", "sku__product").order_by("store_id", "sku_id"))


def stock_alerts(*, actor: Actor, store_id=None, open_only: bool = True) -> QuerySet:
    """Low-stock alerts of the stores in scope, newest first (open ones only by default)."""
    actor.require("stock.read")
    qs = StockAlert.objects.filter(_stores_of_actor(actor, store_id)).select_related("sku")
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-pk")


def stock_movements(
    *, actor: Actor, store_id=None, sku_id=None, limit: int | None = None, cursor: str | None = None
) -> dict:
    """The ledger of a store (store roles: theirs; HQ roles name one), newest first."""
    actor.require("stock.read")
    limit = clamp_limit(limit)
    if store_id in (None, ""):
        if not actor.is_store_level:
            raise ValidationFailed(
                "store_id is required for headquarters roles.",
                errors=[{"loc": ["query", "store_id"], "msg": "required"}],
            )
        store_id = actor.store_id
    store = store_for_actor(actor=actor, store_id=store_id)
    qs = StockMovement.objects.filter(store_id=store.pk)
    if sku_id not in (None, ""):
        qs = qs.filter(sku_id=sku_for_store(store=store, sku_id=sku_id).pk)
    after = decode_int_cursor(cursor, 1)
    if after:
        qs = qs.filter(pk__lt=after[0])
    rows = list(qs.select_related("sku").order_by("-pk")[: limit + 1])
    rows, next_cursor = _page(rows, limit, lambda movement: [movement.pk])
    return {"items": rows, "next_cursor": next_cursor}


# --- HQ: the store × SKU matrix --------------------------------------------------------------


def stock_matrix(
    *,
    actor: Actor,
    merchant_id=None,
    sku_id=None,
    store_id=None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict:
    """SKUs of one merchant (one SKU with `sku_id`, else paged by SKU id) with each store's level.

    `{"stores": [store…], "items": [{"sku": Sku, "levels": {store_id: level}}], "next_cursor"}`;
    a store missing from `levels` holds none. Four queries per page.
    """
    actor.require("stock.read")
    if not actor.is_hq:
        raise NotFound("No such page.")
    merchant_pk = actor.effective_merchant_id(
        None if merchant_id in (None, "") else parse_id(merchant_id, what="merchant")
    )
    limit = clamp_limit(limit)
    stores = Store.objects.filter(merchant_id=merchant_pk).order_by("pk")
    if store_id not in (None, ""):
        stores = stores.filter(pk=store_for_actor(actor=actor, store_id=store_id).pk)
    stores = list(stores)
    skus = Sku.objects.filter(merchant_id=merchant_pk).select_related("product")
    if sku_id not in (None, ""):
        skus = skus.filter(pk=parse_id(sku_id, what="SKU"))
    if q:
        q = q.strip()[:100]
        skus = skus.filter(Q(sku_code__icontains=q) | Q(barcode=q) | Q(product__name__icontains=q))
    after = decode_int_cursor(cursor, 1)
    if after:
        skus = skus.filter(pk__gt=after[0])
    sku_rows = list(skus.order_by("pk")[: limit + 1])
    if sku_id not in (None, "") and not sku_rows:
        raise NotFound("No such SKU.")
    sku_rows, next_cursor = _page(sku_rows, limit, lambda sku: [sku.pk])
    by_sku: dict[int, dict[int, StockLevel]] = {sku.pk: {} for sku in sku_rows}
    if sku_rows and stores:
        levels = _levels_annotated(actor).filter(
            sku_id__in=list(by_sku), store_id__in=[store.pk for store in stores]
        )
        for level in levels:
            by_sku[level.sku_id][level.store_id] = level
    return {
        "stores": stores,
        "items": [{"sku": sku, "levels": by_sku[sku.pk]} for sku in sku_rows],
        "next_cursor": next_cursor,
    }


# --- documents -------------------------------------------------------------------------------


def stocktakes_for_actor(*, actor: Actor, store_id=None, status: str | None = None) -> QuerySet:
    actor.require("stock.read")
    status = _check_status(status, StocktakeStatus)
    qs = Stocktake.objects.filter(_stores_of_actor(actor, store_id)).select_related("store")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-pk")


def stocktake_get_for_actor(*, actor: Actor, stocktake_id) -> Stocktake:
    pk = parse_id(stocktake_id, what="stocktake")
    stocktake = stocktakes_for_actor(actor=actor).filter(pk=pk).first()
    if stocktake is None:
        raise NotFound("No such stocktake.")
    return stocktake


def stocktake_lines(stocktake: Stocktake) -> list:
    return list(stocktake.lines.select_related("sku__product").order_by("sku_id"))


def _transfers_scope(actor: Actor) -> Q:
    if actor.is_platform:
        return Q()
    if actor.is_store_level:
        return Q(from_store_id=actor.store_id) | Q(to_store_id=actor.store_id)
    return Q(merchant_id=actor.merchant_id)


def transfers_for_actor(*, actor: Actor, store_id=None, status: str | None = None) -> QuerySet:
    """Transfers from or to the stores in scope (a named store: from or to it)."""
    actor.require("stock.read")
    status = _check_status(status, TransferStatus)
    qs = Transfer.objects.filter(_transfers_scope(actor))
    if store_id not in (None, ""):
        store = store_for_actor(actor=actor, store_id=store_id)
        qs = qs.filter(Q(from_store_id=store.pk) | Q(to_store_id=store.pk))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("from_store", "to_store").prefetch_related("lines__sku__product").order_by("-pk")


def transfer_get_for_actor(*, actor: Actor, transfer_id) -> Transfer:
    pk = parse_id(transfer_id, what="transfer")
    transfer = transfers_for_actor(actor=actor).filter(pk=pk).first()
    if transfer is None:
        raise NotFound("No such transfer.")
    return transfer


def restock_requests_for_actor(*, actor: Actor, store_id=None, status: str | None = None) -> QuerySet:
    actor.require("stock.read")
    status = _check_status(status, RestockStatus)
    qs = (
        RestockRequest.objects.filter(_stores_of_actor(actor, store_id))
        .select_related("store")
        .prefetch_related("lines__sku__product")
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-pk")


def restock_request_get_for_actor(*, actor: Actor, request_id) -> RestockRequest:
    pk = parse_id(request_id, what="restock request")
    request = restock_requests_for_actor(actor=actor).filter(pk=pk).first()
    if request is None:
        raise NotFound("No such restock request.")
    return request


def keyset_page(qs: QuerySet, *, limit: int | None, cursor: str | None) -> tuple[list, str | None]:
    """Newest-first pages of a document list ordered by `-pk`."""
    limit = clamp_limit(limit)
    after = decode_int_cursor(cursor, 1)
    if after:
        qs = qs.filter(pk__lt=after[0])
    return _page(list(qs[: limit + 1]), limit, lambda row: [row.pk])


# --- the ledger check ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockProblem:
    store_id: int
    sku_id: int
    kind: str  # on_hand_mismatch, reserved_mismatch, reservations_mismatch, negative, over_reserved, no_level
    detail: str

    def __str__(self) -> str:
        return f"store {self.store_id} sku {self.sku_id}: {self.kind}: {self.detail}"


def stock_check() -> list[StockProblem]:
    """Every level must equal its ledger (on_hand = Σ delta_on_hand, reserved = Σ delta_reserved),
    hold 0 ≤ reserved ≤ on_hand, and reserve exactly its active reservations; every movement must
    belong to a level. Two queries, however many levels."""
    ledger = StockMovement.objects.filter(store_id=OuterRef("store_id"), sku_id=OuterRef("sku_id")).order_by()
    ledger = ledger.values("store_id", "sku_id")
    held = (
        Reservation.objects.filter(
            store_id=OuterRef("store_id"), sku_id=OuterRef("sku_id"), status=ReservationStatus.ACTIVE
        )
        .order_by()
        .values("store_id", "sku_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    big = IntegerField()
    levels = StockLevel.objects.annotate(
        ledger_on_hand=Coalesce(
            Subquery(ledger.annotate(total=Sum("delta_on_hand")).values("total")), 0, output_field=big
        ),
        ledger_reserved=Coalesce(
            Subquery(ledger.annotate(total=Sum("delta_reserved")).values("total")), 0, output_field=big
        ),
        held=Coalesce(Subquery(held), 0, output_field=big),
    ).filter(
        ~Q(on_hand=F("ledger_on_hand"))
        | ~Q(reserved=F("ledger_reserved"))
        | ~Q(reserved=F("held"))
        | Q(on_hand__lt=0)
        | Q(reserved__lt=0)
        | Q(reserved__gt=F("on_hand"))
    )
    problems = []
    for level in levels.order_by("store_id", "sku_id"):
        key = (level.store_id, level.sku_id)
        if level.on_hand != level.ledger_on_hand:
            problems.append(
                StockProblem(
                    *key, "on_hand_mismatch", f"on_hand {level.on_hand}, ledger {level.ledger_on_hand}"
                )
            )
        if level.reserved != level.ledger_reserved:
            problems.append(
                StockProblem(
                    *key, "reserved_mismatch", f"reserved {level.reserved}, ledger {level.ledger_reserved}"
                )
            )
        if level.reserved != level.held:
            problems.append(
                StockProblem(
                    *key,
                    "reservations_mismatch",
                    f"reserved {level.reserved}, active reservations {level.held}",
                )
            )
        if level.on_hand < 0 or level.reserved < 0:
            problems.append(
                StockProblem(*key, "negative", f"on_hand {level.on_hand}, reserved {level.reserved}")
            )
        if level.reserved > level.on_hand:
            problems.append(
                StockProblem(*key, "over_reserved", f"reserved {level.reserved} > on_hand {level.on_hand}")
            )
    orphans = (
        StockMovement.objects.order_by()
        .values("store_id", "sku_id")
        .annotate(total=Sum("delta_on_hand"))
        .filter(~Exists(StockLevel.objects.filter(store_id=OuterRef("store_id"), sku_id=OuterRef("sku_id"))))
    )
    for row in orphans.order_by("store_id", "sku_id"):
        problems.append(
            StockProblem(
                row["store_id"], row["sku_id"], "no_level", "movements exist but the level is missing"
            )
        )
    return problems


# --- the store console's pickers -------------------------------------------------------------


def transfer_destinations(*, actor: Actor, store: Store) -> list[Store]:
    """The other stores of `store`'s merchant a transfer may go to (not closed for good). One query."""
    actor.require("stock.read")
    actor.check_store(store)
    return list(
        Store.objects.filter(merchant_id=store.merchant_id)
        .exclude(pk=store.pk)
        .exclude(status=StoreStatus.CLOSED)
        .only("pk", "code", "name", "merchant_id")
        .order_by("code")
    )


STORE_SKU_OPTIONS_MAX = 500


def store_sku_options(*, actor: Actor, store: Store, in_stock_only: bool = False) -> list[dict]:
    """Active SKUs of the store's merchant for a picker, with what the store has available:
    `[{"sku_id", "label", "available"}]`, by product name. `in_stock_only`: available > 0 (what a
    transfer can send). One query, at most `STORE_SKU_OPTIONS_MAX` rows."""
    actor.require("stock.read")
    actor.check_store(store)
    level = StockLevel.objects.filter(store_id=store.pk, sku_id=OuterRef("pk"))
    qs = (
        Sku.objects.filter(merchant_id=store.merchant_id, is_active=True)
        .annotate(
            available=Coalesce(
                Subquery(
                    level.annotate(
                        avail=ExpressionWrapper(F("on_hand") - F("reserved"), output_field=IntegerField())
                    ).values("avail")[:1]
                ),
                Value(0),
                output_field=IntegerField(),
            )
        )
        .select_related("product")
    )
    if in_stock_only:
        qs = qs.filter(available__gt=0)
    rows = qs.order_by("product__name", "sku_code")[:STORE_SKU_OPTIONS_MAX]
    options = []
    for sku in rows:
        specs = " ".join(str(value) for value in (sku.specs or {}).values())
        label = f"{sku.product.name} {specs}".strip() + f" · {sku.sku_code}"
        options.append({"sku_id": sku.pk, "label": label, "available": sku.available})
    return options


def stores_with_all_stock(*, merchant_id: int, wanted: dict[int, int]) -> set[int]:
    """Ids of the merchant's stores (not closed for good) holding every `{sku_id: quantity}` of
    `wanted`, for "this store is short: these nearby ones have everything". One query."""
    if not wanted:
        return set()
    rows = (
        StockLevel.objects.filter(sku_id__in=list(wanted), store__merchant_id=merchant_id)
        .exclude(store__status=StoreStatus.CLOSED)
        .annotate(avail=ExpressionWrapper(F("on_hand") - F("reserved"), output_field=IntegerField()))
        .filter(avail__gt=0)
        .values_list("store_id", "sku_id", "avail")
    )
    held: dict[int, int] = {}
    for store_id, sku_id, available in rows:
        if available >= wanted[sku_id]:
            held[store_id] = held.get(store_id, 0) + 1
    return {store_id for store_id, count in held.items() if count == len(wanted)}
