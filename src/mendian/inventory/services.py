"""Stock writes. Every change of a level is a conditional `UPDATE` plus a `StockMovement` row in the
same transaction; levels are touched in (store, SKU) order so concurrent writers never deadlock.

Staff services take the Actor first and check its capability and scope; order services
(`stock_reserve`, `stock_release`, `stock_consume`) and POS events are called by trusted code that
has already resolved the store or merchant.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from mendian.catalog import shelf
from mendian.catalog.cache import stock_version_bump
from mendian.catalog.models import Sku
from mendian.core import rows
from mendian.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from mendian.core.scope import Actor
from mendian.integrations.outbox import stock_low_emit
from mendian.inventory.models import (
    AdjustReason,
    MovementSource,
    MovementType,
    Reservation,
    ReservationStatus,
    RestockLine,
    RestockRequest,
    RestockStatus,
    StockAlert,
    StockLevel,
    StockMovement,
    Stocktake,
    StocktakeLine,
    StocktakeOutcome,
    StocktakeStatus,
    Transfer,
    TransferLine,
    TransferStatus,
)
from mendian.inventory.rules import (
    MAX_LINES,
    MAX_QUANTITY,
    MAX_STOCKTAKE_LINES,
    MERCHANT_THRESHOLD_KEY,
    check_lines,
    check_quantity,
    default_threshold_from,
    is_low,
    merchant_default_threshold,
    parse_id,
)
from mendian.merchants.models import Merchant
from mendian.stores.models import Store

MAX_POS_BATCH = 1000
MAX_SOURCE_ID = 128
MAX_REFERENCE = 64
# A POS clock may run a little fast; events further in the future than this are refused.
POS_CLOCK_SKEW = dt.timedelta(minutes=5)
_UNSET = object()


# --- the level primitives --------------------------------------------------------------------


def _now() -> dt.datetime:
    return timezone.now()


def _ensure_levels(pairs: Iterable[tuple[int, int]]) -> None:
    """Creates missing (store, sku) levels at zero; safe under concurrency (conflicts are ignored)."""
    rows = [StockLevel(store_id=store_id, sku_id=sku_id) for store_id, sku_id in sorted(set(pairs))]
    if rows:
        StockLevel.objects.bulk_create(rows, ignore_conflicts=True)


_SHIFT_SQL = (
    "UPDATE inventory_stocklevel SET on_hand = on_hand + %s, reserved = reserved + %s, updated_at = %s"
    " WHERE store_id = %s AND sku_id = %s"
    " AND on_hand + %s >= 0 AND reserved + %s >= 0 AND on_hand + %s >= reserved + %s"
)


def _shift_level(store_id: int, sku_id: int, *, on_hand: int = 0, reserved: int = 0, now=None) -> bool:
    """The final guard: one conditional UPDATE that keeps 0 ≤ reserved ≤ on_hand; True when applied.

    E.g. a reservation of q is `SET reserved = reserved + q WHERE on_hand >= reserved + q`. Concurrent
    writers queue on the row lock and each re-checks the condition against the committed row.
    Raw SQL: this runs once per unit of work on the hottest path (POS batches, checkout)."""
    stamp = connection.ops.adapt_datetimefield_value(now or _now())
    params = [on_hand, reserved, stamp, store_id, sku_id, on_hand, reserved, on_hand, reserved]
    with connection.cursor() as cursor:
        cursor.execute(_SHIFT_SQL, params)
        return cursor.rowcount == 1


def _shift_levels_on_hand(changes: list[tuple[int, int]], *, now) -> None:
    """Applies net on-hand changes `[(level_pk, delta)]` to levels this transaction has locked, each
    still guarded (`on_hand + delta >= reserved`). One statement (UPDATE … FROM VALUES)."""
    if not changes:
        return
    stamp = connection.ops.adapt_datetimefield_value(now)
    if connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 33)  # UPDATE … FROM
    ):
        rows = ", ".join(["(%s, %s)"] * len(changes))
        # Only placeholders are formatted into the statement.
        sql = (
            "UPDATE inventory_stocklevel SET on_hand = inventory_stocklevel.on_hand + v.column2, updated_at = %s"  # noqa: S608
            f" FROM (VALUES {rows}) AS v WHERE inventory_stocklevel.id = v.column1"
            " AND inventory_stocklevel.on_hand + v.column2 >= inventory_stocklevel.reserved"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [stamp, *[value for change in changes for value in change]])
            applied = cursor.rowcount
    else:
        applied = 0
        with connection.cursor() as cursor:
            for pk, delta in changes:
                cursor.execute(
                    "UPDATE inventory_stocklevel SET on_hand = on_hand + %s, updated_at = %s"
                    " WHERE id = %s AND on_hand + %s >= reserved",
                    [delta, stamp, pk, delta],
                )
                applied += cursor.rowcount
    if applied != len(changes):
        # The rows are locked by this transaction, so only a corrupted level gets here.
        raise Conflict("A stock level changed under its lock.", code="stock_inconsistent")


def _movement(
    *,
    store_id: int,
    sku_id: int,
    type: str,
    source: str,
    occurred_at: dt.datetime,
    on_hand: int = 0,
    reserved: int = 0,
    source_id: str | None = None,
    reference: str = "",
    actor: Actor | None = None,
    reason: str = "",
    note: str = "",
) -> StockMovement:
    return StockMovement(
        store_id=store_id,
        sku_id=sku_id,
        type=type,
        delta_on_hand=on_hand,
        delta_reserved=reserved,
        source=source,
        source_id=source_id,
        reference=reference,
        actor_id=actor.staff_id if actor else None,
        reason=reason,
        note=note,
        occurred_at=occurred_at,
    )


def _level_numbers(store_id: int, sku_id: int) -> tuple[int, int]:
    row = (
        StockLevel.objects.filter(store_id=store_id, sku_id=sku_id).values_list("on_hand", "reserved").first()
    )
    return row or (0, 0)


def _conflict_for(store_id: int, sku: Sku, wanted: int, *, what: str, numbers: tuple[int, int] | None = None):
    on_hand, reserved = numbers if numbers is not None else _level_numbers(store_id, sku.pk)
    return Conflict(
        f"Not enough stock of {sku.sku_code}: {on_hand - reserved} available "
        f"({on_hand} on hand, {reserved} reserved), {what} needs {wanted}.",
        code="insufficient_stock",
    )


def _merchant_skus(merchant_id: int, sku_ids: Iterable[int]) -> dict[int, Sku]:
    """The merchant's SKUs by id; another merchant's or an unknown id is not found."""
    wanted = set(sku_ids)
    skus = Sku.objects.filter(merchant_id=merchant_id, pk__in=wanted).only("pk", "sku_code", "merchant_id")
    found = {sku.pk: sku for sku in skus}
    if len(found) != len(wanted):
        raise NotFound("No such SKU.")
    return found


def _merchant_stores(merchant_id: int, store_ids: Iterable[int]) -> dict[int, Store]:
    wanted = set(store_ids)
    found = {store.pk: store for store in Store.objects.filter(merchant_id=merchant_id, pk__in=wanted)}
    if len(found) != len(wanted):
        raise NotFound("No such store.")
    return found


def _check_text(value, *, field: str, max_length: int, required: bool = False) -> str:
    value = "" if value is None else value
    if not isinstance(value, str) or len(value) > max_length:
        msg = f"must be text of at most {max_length} characters"
    elif required and not value.strip():
        msg = "required"
    else:
        return value.strip()
    raise ValidationFailed(f"{field} {msg}.", errors=[{"loc": [field], "msg": msg}])


# --- alerts and the change hook --------------------------------------------------------------


def _levels_with_merchant():
    """Levels with what alerting needs from their merchant, store and SKU, without loading them."""
    return StockLevel.objects.annotate(
        merchant_id=F("store__merchant_id"),
        merchant_settings=F("store__merchant__settings"),
        store_code=F("store__code"),
        sku_code=F("sku__sku_code"),
    )


def _levels_for(pairs: Iterable[tuple[int, int]]) -> list[StockLevel]:
    """Fresh rows of these (store, sku) levels, annotated as `_levels_with_merchant` does."""
    by_store: dict[int, set[int]] = {}
    for store_id, sku_id in pairs:
        by_store.setdefault(store_id, set()).add(sku_id)
    if not by_store:
        return []
    condition = Q()
    for store_id, sku_ids in sorted(by_store.items()):
        condition |= Q(store_id=store_id, sku_id__in=sorted(sku_ids))
    return list(_levels_with_merchant().filter(condition).order_by("store_id", "sku_id"))


def stock_alerts_refresh(
    *, levels: Iterable[StockLevel], now: dt.datetime | None = None, only_fell: bool = False
) -> list[StockAlert]:
    """Opens an alert for each level whose available stock fell below its threshold and resolves the
    open alerts of levels that recovered. `levels` carry fresh numbers and the `merchant_id` and
    `merchant_settings` annotations (see `_levels_with_merchant`). Returns the alerts it opened.
    `only_fell`: every level's available stock only went down, so none recovered and, when none is
    low either, there is nothing to look up (a sale's reservation, the usual case).

    Every alert opened also records a `stock.low` webhook event in the outbox, in the same
    transaction: once per crossing, because an alert stays open (and no new one opens) until the
    level recovers."""
    levels = list(levels)
    if not levels:
        return []
    now = now or _now()
    defaults: dict[int, int] = {}
    low: dict[tuple[int, int], tuple[int, int]] = {}
    for level in levels:
        if level.merchant_id not in defaults:
            defaults[level.merchant_id] = default_threshold_from(level.merchant_settings)
        threshold = level.low_stock_threshold
        if threshold is None:
            threshold = defaults[level.merchant_id]
        if is_low(level.available, threshold):
            low[(level.store_id, level.sku_id)] = (threshold, level.available)
    if only_fell and not low:
        return []
    pairs = {(level.store_id, level.sku_id) for level in levels}
    # Hand-written (`core.rows`): every stock change runs it, mostly to find nothing.
    store_ids = sorted({store_id for store_id, _ in pairs})
    sku_ids = sorted({sku_id for _, sku_id in pairs})
    open_alerts = rows.fetch(
        f"SELECT id, store_id, sku_id FROM {rows.table(StockAlert)} WHERE resolved_at IS NULL "  # noqa: S608
        f"AND store_id IN ({', '.join(['%s'] * len(store_ids))}) AND sku_id IN ({', '.join(['%s'] * len(sku_ids))})",
        [*store_ids, *sku_ids],
    )
    already_open = set()
    recovered = []
    for pk, store_id, sku_id in open_alerts:
        if (store_id, sku_id) not in pairs:
            continue
        if (store_id, sku_id) in low:
            already_open.add((store_id, sku_id))
        else:
            recovered.append(pk)
    if recovered:
        StockAlert.objects.filter(pk__in=recovered).update(resolved_at=now)
    new = [
        StockAlert(store_id=store_id, sku_id=sku_id, threshold=threshold, available=available, opened_at=now)
        for (store_id, sku_id), (threshold, available) in sorted(low.items())
        if (store_id, sku_id) not in already_open
    ]
    if new:
        # The partial unique index keeps one open alert per level even when two writers race here
        # (writers of one level queue on its row lock, so the race needs a merchant-wide default
        # change running beside a stock change).
        StockAlert.objects.bulk_create(new, ignore_conflicts=True)
        by_pair = {(level.store_id, level.sku_id): level for level in levels}
        for alert in new:
            level = by_pair[(alert.store_id, alert.sku_id)]
            stock_low_emit(
                merchant_id=level.merchant_id,
                store_id=alert.store_id,
                store_code=level.store_code,
                sku_id=alert.sku_id,
                sku_code=level.sku_code,
                available=alert.available,
                threshold=alert.threshold,
            )
    return new


def _sold_out_flips(levels: list[StockLevel], moved: dict[tuple[int, int], int]) -> set[tuple[int, int]]:
    """(store, SKU) pairs where the SKU went from available to sold out or back (`moved`: each
    level's change of available units in this transaction). Only such a flip changes a product
    list, which shows in stock / sold out per product; exact numbers are read live by the product
    page."""
    flips = set()
    for level in levels:
        delta = moved.get((level.store_id, level.sku_id), 0)
        if delta and (level.available > 0) != (level.available - delta > 0):
            flips.add((level.store_id, level.sku_id))
    return flips


def on_stock_changed(levels: list[StockLevel], *, moved: dict[tuple[int, int], int] | None = None) -> None:
    """Called inside the writing transaction with the fresh rows of every level a service changed
    (annotated as `_levels_with_merchant` does) and, in `moved`, how many units each one's
    available stock changed by (None: not known, treated as a possible flip).

    What follows a change of stock: low-stock alerts and their `stock.low` webhook events (outbox,
    same transaction), and, where a SKU sold out or came back, its product's availability on the
    store's shelf (`catalog.shelf`, same transaction) and the store's cached product lists (their
    stock version moves now and again after the commit).

    Every writer of stock levels or thresholds must call it (or `stock_alerts_refresh`): when stock
    only fell and nothing is low, the open alerts are not even looked at, so an alert left open by
    a writer that skipped it would stay open until the level's next rise. It locks the flipped
    products' rows, so a transaction calls it after its last change of stock (see
    `shelf._lock_products`).
    """
    only_fell = moved is not None and all(
        moved.get((level.store_id, level.sku_id), 0) < 0 for level in levels
    )
    stock_alerts_refresh(levels=levels, only_fell=only_fell)
    flips = (
        {(level.store_id, level.sku_id) for level in levels}
        if moved is None
        else _sold_out_flips(levels, moved)
    )
    if flips:
        shelf.refresh_availability(flips)
    for store_id in sorted({store_id for store_id, _ in flips}):
        stock_version_bump(store_id)


def _changed(pairs: Iterable[tuple[int, int]], movements: Iterable[StockMovement] = ()) -> list[StockLevel]:
    """Runs the change hook for these levels; `movements` are what this transaction wrote to them
    (their available change is Σ delta_on_hand − Σ delta_reserved)."""
    pairs = set(pairs)
    moved: dict[tuple[int, int], int] = {}
    for movement in movements:
        if not (movement.delta_on_hand or movement.delta_reserved):
            continue
        key = (movement.store_id, movement.sku_id)
        pairs.add(key)
        moved[key] = moved.get(key, 0) + movement.delta_on_hand - movement.delta_reserved
    levels = _levels_for(pairs)
    on_stock_changed(levels, moved=moved)
    return levels


# --- reservations (orders) -------------------------------------------------------------------


def _check_reference(reference) -> str:
    if not isinstance(reference, str) or not reference.strip() or len(reference) > MAX_REFERENCE:
        raise ValidationFailed(
            f"reference must be text of 1 to {MAX_REFERENCE} characters.",
            errors=[{"loc": ["reference"], "msg": "invalid"}],
        )
    return reference.strip()


_RESERVE_SQL = (
    "UPDATE inventory_stocklevel SET reserved = inventory_stocklevel.reserved + v.column2, updated_at = %s"
    " FROM (VALUES {rows}) AS v WHERE inventory_stocklevel.id = v.column1"
    " AND inventory_stocklevel.on_hand - inventory_stocklevel.reserved >= v.column2"
)


def _shift_levels_reserved(changes: list[tuple[int, int]], *, now) -> int:
    """Adds `q` to `reserved` of each locked level `[(level_pk, q)]`, each still guarded
    (`on_hand - reserved >= q`). One statement where the database has UPDATE … FROM. Returns the
    number of levels changed."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" or (
            connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 33)
        ):
            # Only placeholders are formatted into the statement.
            sql = _RESERVE_SQL.format(rows=", ".join(["(%s, %s)"] * len(changes)))
            cursor.execute(sql, [stamp, *[value for change in changes for value in change]])
            return cursor.rowcount
        applied = 0
        for pk, quantity in changes:
            cursor.execute(
                "UPDATE inventory_stocklevel SET reserved = reserved + %s, updated_at = %s"
                " WHERE id = %s AND on_hand - reserved >= %s",
                [quantity, stamp, pk, quantity],
            )
            applied += cursor.rowcount
        return applied


@cache
def _reserve_lock_sql(count: int) -> str:
    """`_levels_with_merchant().select_for_update(of=("self",))` of one store's levels of the
    merchant's SKUs, in SKU order (the lock order), by hand."""
    lock = " FOR UPDATE OF l" if connection.features.has_select_for_update_of else ""
    return (
        f"SELECT {rows.columns(StockLevel, 'l')}, s.merchant_id, m.settings, s.code, k.sku_code "  # noqa: S608
        f"FROM {rows.table(StockLevel)} l JOIN {rows.table(Store)} s ON s.id = l.store_id "
        f"JOIN {rows.table(Merchant)} m ON m.id = s.merchant_id JOIN {rows.table(Sku)} k ON k.id = l.sku_id "
        f"WHERE l.store_id = %s AND k.merchant_id = %s AND l.sku_id IN ({', '.join(['%s'] * count)}) "
        f"ORDER BY l.sku_id{lock}"
    )


_MERCHANT_SETTINGS = Merchant._meta.get_field("settings")


def _reserve_lock_levels(store: Store, sku_ids: list[int]) -> dict[int, StockLevel]:
    """{sku_id: level} locked, annotated as `_levels_with_merchant` annotates them."""
    levels = {}
    width = rows.width(StockLevel)
    for row in rows.fetch(_reserve_lock_sql(len(sku_ids)), [store.pk, store.merchant_id, *sku_ids]):
        level = rows.instance(StockLevel, row)
        level.merchant_id = row[width]
        level.merchant_settings = rows.value(_MERCHANT_SETTINGS, row[width + 1])
        level.store_code, level.sku_code = row[width + 2], row[width + 3]
        levels[level.sku_id] = level
    return levels


def _same_reservation(reference: str, store: Store, wanted: dict[int, int]) -> list[Reservation] | None:
    """The reservation already made under `reference` when it is this one (same store and lines,
    still active); Conflict when it is another; None when there is none."""
    existing = list(Reservation.objects.filter(reference=reference).order_by("sku_id"))
    if not existing:
        return None
    same = {r.sku_id: r.quantity for r in existing} == wanted and all(
        r.store_id == store.pk and r.status == ReservationStatus.ACTIVE for r in existing
    )
    if same:
        return existing
    raise Conflict(f"Stock for {reference} is already reserved.", code="reservation_exists")


def stock_reserve(
    *,
    store: Store,
    lines: list[tuple[int, int]],
    reference: str,
    expires_at: dt.datetime | None = None,
    new_reference: bool = False,
) -> list[Reservation]:
    """Holds every line's units for the order `reference`, or none of them.

    The levels are locked in SKU-id order (so multi-SKU carts never deadlock), then one guarded
    `UPDATE … SET reserved = reserved + q WHERE on_hand - reserved >= q` holds every line; a line
    that cannot be held raises `409 out_of_stock` naming its SKU code and nothing is held. Repeating
    a reservation already made (same store and lines) returns it. A fixed number of statements
    whatever the number of lines (this runs inside every checkout).

    `new_reference`: the caller's open transaction has just created `reference` under a unique
    index (a new order's number), so nothing can be reserved under it yet; the reservation then
    runs in that transaction without a savepoint of its own, and a refusal rolls the caller back.
    """
    reference = _check_reference(reference)
    if new_reference and not connection.in_atomic_block:
        raise RuntimeError("stock_reserve(new_reference=True) must run inside the caller's transaction")
    wanted = check_lines(lines, merge=True)
    if expires_at is not None and timezone.is_naive(expires_at):
        raise ValidationFailed(
            "expires_at must carry a time zone.", errors=[{"loc": ["expires_at"], "msg": "naive"}]
        )
    try:
        with transaction.atomic(savepoint=not new_reference):
            # Inserted first: the UNIQUE (reference, sku) index answers "already reserved?" for free
            # in the usual case; a repeat or a concurrent twin lands in the IntegrityError branch.
            # Hand-written statements (`core.rows`): this runs inside every order.
            reservations = [
                Reservation(
                    store_id=store.pk,
                    sku_id=sku_id,
                    reference=reference,
                    quantity=wanted[sku_id],
                    expires_at=expires_at,
                )
                for sku_id in sorted(wanted)
            ]
            rows.insert(reservations)
            levels = _reserve_lock_levels(store, sorted(wanted))
            short = [
                sku_id
                for sku_id in sorted(wanted)
                if sku_id not in levels or levels[sku_id].available < wanted[sku_id]
            ]
            now = _now()
            changes = [] if short else [(levels[sku_id].pk, wanted[sku_id]) for sku_id in sorted(wanted)]
            if short or _shift_levels_reserved(changes, now=now) != len(changes):
                # Error path only: the SKUs' codes, and another merchant's SKU is not found.
                skus = _merchant_skus(store.merchant_id, wanted)
                sku_id = short[0] if short else sorted(wanted)[0]
                available = levels[sku_id].available if sku_id in levels else 0
                raise Conflict(
                    f"{skus[sku_id].sku_code} is out of stock at this store: {max(available, 0)} "
                    f"available, {wanted[sku_id]} wanted.",
                    code="out_of_stock",
                )
            written = [
                _movement(
                    store_id=store.pk,
                    sku_id=sku_id,
                    type=MovementType.RESERVE,
                    reserved=wanted[sku_id],
                    source=MovementSource.ORDER,
                    reference=reference,
                    occurred_at=now,
                )
                for sku_id in sorted(wanted)
            ]
            rows.insert(written)
            for sku_id, level in levels.items():
                level.reserved += wanted[sku_id]
            # The locked rows, now fresh: the hook needs no second read.
            on_stock_changed(
                list(levels.values()), moved={(store.pk, m.sku_id): -m.delta_reserved for m in written}
            )
            return reservations
    except IntegrityError:
        if new_reference:
            raise
        # This reference is reserved already: by an earlier call, or a concurrent one that got
        # there first (UNIQUE reference, sku).
        existing = _same_reservation(reference, store, wanted)
        if existing is not None:
            return existing
        raise


def _close_reservations(reference: str, *, consume: bool, expired_before: dt.datetime | None = None) -> int:
    reference = _check_reference(reference)
    with transaction.atomic():
        held = Reservation.objects.select_for_update().filter(
            reference=reference, status=ReservationStatus.ACTIVE
        )
        if expired_before is not None:
            # Re-checked under the lock: a payment may have put the hold on in the meantime.
            held = held.filter(expires_at__lt=expired_before)
        active = list(held.order_by("sku_id"))
        if not active:
            return 0
        now = _now()
        movements = []
        for r in active:
            delta_on_hand = -r.quantity if consume else 0
            if not _shift_level(r.store_id, r.sku_id, on_hand=delta_on_hand, reserved=-r.quantity, now=now):
                # Only a corrupted level can refuse this; check-stock reports it. Nothing is written.
                raise Conflict(
                    f"The stock level of SKU {r.sku_id} does not hold the reservation of {reference}.",
                    code="stock_inconsistent",
                )
            movements.append(
                _movement(
                    store_id=r.store_id,
                    sku_id=r.sku_id,
                    type=MovementType.CONSUME if consume else MovementType.RELEASE,
                    on_hand=delta_on_hand,
                    reserved=-r.quantity,
                    source=MovementSource.ORDER,
                    reference=reference,
                    occurred_at=now,
                )
            )
        status = ReservationStatus.CONSUMED if consume else ReservationStatus.RELEASED
        Reservation.objects.filter(pk__in=[r.pk for r in active]).update(status=status, closed_at=now)
        written = StockMovement.objects.bulk_create(movements)
        _changed((), written)
        return len(active)


def stock_release(*, reference: str) -> int:
    """Returns the order's held units to available stock (cancellation, expiry). Idempotent: releasing
    again, or releasing a consumed order, changes nothing. Returns the number of lines released."""
    return _close_reservations(reference, consume=False)


def stock_consume(*, reference: str) -> int:
    """Fulfilment: the order's held units leave the store (on_hand and reserved drop). Idempotent.

    `404 reservation_not_found` when nothing was reserved under `reference`; `409
    reservation_released` when the reservation was already released (the units may be sold again).
    """
    count = _close_reservations(reference, consume=True)
    if count:
        return count
    statuses = set(Reservation.objects.filter(reference=reference.strip()).values_list("status", flat=True))
    if not statuses:
        raise NotFound(f"Nothing is reserved for {reference}.", code="reservation_not_found")
    if ReservationStatus.CONSUMED not in statuses:
        raise Conflict(f"The reservation of {reference} was released.", code="reservation_released")
    return 0


def stock_reservation_set_expiry(*, reference: str, expires_at: dt.datetime | None) -> bool:
    """Moves (or with None, clears: held until fulfilment) the expiry of the order's active
    reservation, e.g. to extend a payment deadline. False when nothing is held any more (released
    already, e.g. by the expiry sweep: the goods may have been sold again)."""
    reference = _check_reference(reference)
    if expires_at is not None and timezone.is_naive(expires_at):
        raise ValidationFailed(
            "expires_at must carry a time zone.", errors=[{"loc": ["expires_at"], "msg": "naive"}]
        )
    # One statement, hand-written (it is on every payment's path): the order's rows (one per SKU)
    # are locked in SKU order like the sweep locks them (so a hold and an expiry never both win),
    # then the active ones are updated by primary key; a row the sweep released meanwhile drops
    # out. The rows are found by reference alone (the unique reference-and-SKU index) and the
    # status is checked on the locked rows: given both, the planner may prefer the index of every
    # active reservation, which grows with the open orders.
    table = Reservation._meta.db_table
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = (
        f"WITH locked AS MATERIALIZED (SELECT id, status FROM {table} WHERE reference = %s "  # noqa: S608
        f"ORDER BY sku_id{lock}) UPDATE {table} SET expires_at = %s FROM locked "
        f"WHERE {table}.id = locked.id AND locked.status = %s RETURNING {table}.id"
    )
    params = [reference, connection.ops.adapt_datetimefield_value(expires_at), ReservationStatus.ACTIVE.value]
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Rows counted from RETURNING: SQLite's driver reports no rowcount for a WITH statement.
        cursor.execute(sql, params)
        return bool(cursor.fetchall())


def stock_reservation_hold(*, reference: str) -> bool:
    """The order is paid: its goods stay reserved until fulfilment (consumed at dispatch or pickup)
    or cancellation, whatever the payment deadline said. False when the reservation no longer holds
    the goods (the expiry sweep released them first): the caller must not keep the payment."""
    return stock_reservation_set_expiry(reference=reference, expires_at=None)


stock_reservation_extend = stock_reservation_set_expiry


def stock_release_expired(
    *, now: dt.datetime | None = None, grace: dt.timedelta = dt.timedelta(0), limit: int = 500
) -> int:
    """Releases reservations whose `expires_at` passed more than `grace` ago. Returns references
    released. Each is re-checked under its lock, so one held (paid) meanwhile stays held."""
    cutoff = (now or _now()) - grace
    references = list(
        Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lt=cutoff)
        .order_by("expires_at")
        .values_list("reference", flat=True)
        .distinct()[:limit]
    )
    released = 0
    for reference in dict.fromkeys(references):
        if _close_reservations(reference, consume=False, expired_before=cutoff):
            released += 1
    return released


# --- returns (refunds) -----------------------------------------------------------------------


def stock_return(
    *, store: Store, lines: list[tuple[int, int]], refund_request_id: int, reference: str = ""
) -> int:
    """Goods a customer brought back with an approved refund go back on the store's shelves: one
    `return` movement per SKU, source `refund`, keyed by the refund request (`refund:<id>:<sku>`),
    so restocking the same request again changes nothing. `reference` is the order number. Returns
    the number of SKUs restocked by this call (0 for a repeat)."""
    wanted = check_lines(lines, merge=True)
    if isinstance(refund_request_id, bool) or not isinstance(refund_request_id, int) or refund_request_id < 1:
        raise ValidationFailed("refund_request_id must be a positive id.")
    reference = _check_text(reference, field="reference", max_length=MAX_REFERENCE)
    prefix = f"refund:{refund_request_id}:"
    source_ids = {sku_id: f"{prefix}{sku_id}" for sku_id in wanted}
    with transaction.atomic():
        _merchant_skus(store.merchant_id, wanted)
        _ensure_levels((store.pk, sku_id) for sku_id in wanted)
        # Lock the levels first (in SKU order, like every writer): a concurrent repeat waits here and
        # then sees this one's movements.
        list(
            StockLevel.objects.select_for_update()
            .filter(store_id=store.pk, sku_id__in=list(wanted))
            .order_by("sku_id")
            .values_list("pk", flat=True)
        )
        done = set(
            StockMovement.objects.filter(
                store_id=store.pk, source=MovementSource.REFUND, source_id__in=list(source_ids.values())
            ).values_list("sku_id", flat=True)
        )
        now = _now()
        todo = [sku_id for sku_id in sorted(wanted) if sku_id not in done]
        for sku_id in todo:
            _shift_level(store.pk, sku_id, on_hand=wanted[sku_id], now=now)
        written = StockMovement.objects.bulk_create(
            [
                _movement(
                    store_id=store.pk,
                    sku_id=sku_id,
                    type=MovementType.RETURN,
                    on_hand=wanted[sku_id],
                    source=MovementSource.REFUND,
                    source_id=source_ids[sku_id],
                    reference=reference,
                    note=f"退款申请 {refund_request_id}",
                    occurred_at=now,
                )
                for sku_id in todo
            ]
        )
        _changed((), written)
    return len(todo)


# --- staff: adjustments ----------------------------------------------------------------------


def stock_adjust(
    *,
    actor: Actor,
    store: Store,
    sku: Sku,
    delta: int,
    reason: str,
    note: str = "",
    source_id: str | None = None,
) -> StockLevel:
    """Adds (`delta > 0`) or removes units with a reason; `409 insufficient_stock` when on hand would
    fall below zero or below what is reserved. With `source_id`, a repeat changes nothing."""
    actor.require("stock.adjust")
    actor.check_store(store)
    if sku.merchant_id != store.merchant_id:
        raise NotFound("No such SKU.")
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_QUANTITY:
        msg = f"must be a whole number from -{MAX_QUANTITY} to {MAX_QUANTITY}, not 0"
        raise ValidationFailed(f"delta {msg}.", errors=[{"loc": ["delta"], "msg": msg}])
    if reason not in AdjustReason.values:
        msg = "must be one of " + ", ".join(AdjustReason.values)
        raise ValidationFailed(f"reason {msg}.", errors=[{"loc": ["reason"], "msg": msg}])
    note = _check_text(note, field="note", max_length=200)
    if source_id is not None:
        source_id = _check_text(source_id, field="source_id", max_length=MAX_SOURCE_ID, required=True)
    recorded = StockMovement.objects.filter(
        store_id=store.pk, source=MovementSource.STAFF, source_id=source_id
    )
    if source_id is not None and (done := recorded.values_list("sku_id", flat=True).first()):
        return _levels_for([(store.pk, done)])[0]
    try:
        with transaction.atomic():
            now = _now()
            if delta > 0:
                _ensure_levels([(store.pk, sku.pk)])
            adjustment = _movement(
                store_id=store.pk,
                sku_id=sku.pk,
                type=MovementType.ADJUST,
                on_hand=delta,
                source=MovementSource.STAFF,
                source_id=source_id,
                actor=actor,
                reason=reason,
                note=note,
                occurred_at=now,
            )
            adjustment.save(force_insert=True)
            if not _shift_level(store.pk, sku.pk, on_hand=delta, now=now):
                raise _conflict_for(store.pk, sku, -delta, what="removing stock")
            return _changed((), [adjustment])[0]
    except IntegrityError:
        # The same source_id was recorded by a concurrent request first.
        if source_id is not None and (done := recorded.values_list("sku_id", flat=True).first()):
            return _levels_for([(store.pk, done)])[0]
        raise


# --- staff: stocktakes -----------------------------------------------------------------------


def _as_of(store_id: int, sku_ids: Iterable[int], at: dt.datetime) -> dict[int, tuple[int, int]]:
    """{sku_id: (sum of delta_on_hand after `at`, number of count movements after `at`)}."""
    rows = (
        StockMovement.objects.filter(store_id=store_id, sku_id__in=list(sku_ids), occurred_at__gt=at)
        .order_by()
        .values("sku_id")
        .annotate(after=Sum("delta_on_hand"), counts=Count("pk", filter=Q(type=MovementType.COUNT)))
    )
    return {row["sku_id"]: (row["after"] or 0, row["counts"]) for row in rows}


def _locked_stocktake(actor: Actor, stocktake: Stocktake) -> Stocktake:
    actor.require("stock.stocktake")
    locked = Stocktake.objects.select_for_update().select_related("store").get(pk=stocktake.pk)
    actor.check_store(locked.store)
    if locked.status != StocktakeStatus.OPEN:
        raise Conflict(f"Stocktake {locked.reference} is {locked.status}.", code="invalid_state_transition")
    return locked


def stocktake_start(
    *, actor: Actor, store: Store, sku_ids: list[int] | None = None, note: str = ""
) -> Stocktake:
    """Opens a count sheet as of now (`counted_at`). Without `sku_ids`: every SKU the store holds."""
    actor.require("stock.stocktake")
    actor.check_store(store)
    note = _check_text(note, field="note", max_length=200)
    with transaction.atomic():
        now = _now()
        levels = StockLevel.objects.filter(store_id=store.pk)
        if sku_ids is None:
            expected = dict(
                levels.order_by("sku_id").values_list("sku_id", "on_hand")[: MAX_STOCKTAKE_LINES + 1]
            )
            if len(expected) > MAX_STOCKTAKE_LINES:
                raise ValidationFailed(
                    f"A stocktake counts at most {MAX_STOCKTAKE_LINES} SKUs; name them in sku_ids.",
                    errors=[{"loc": ["sku_ids"], "msg": "too many SKUs"}],
                )
        else:
            if not isinstance(sku_ids, list | tuple) or len(sku_ids) > MAX_STOCKTAKE_LINES:
                raise ValidationFailed(
                    f"sku_ids lists at most {MAX_STOCKTAKE_LINES} SKUs.",
                    errors=[{"loc": ["sku_ids"], "msg": "too many SKUs"}],
                )
            wanted = [parse_id(sku_id, what="SKU") for sku_id in sku_ids]
            if len(set(wanted)) != len(wanted):
                raise ValidationFailed(
                    "sku_ids lists a SKU twice.", errors=[{"loc": ["sku_ids"], "msg": "repeated"}]
                )
            _merchant_skus(store.merchant_id, wanted)
            on_hand = dict(levels.filter(sku_id__in=wanted).values_list("sku_id", "on_hand"))
            expected = {sku_id: on_hand.get(sku_id, 0) for sku_id in sorted(wanted)}
        stocktake = Stocktake.objects.create(
            store=store, counted_at=now, note=note, created_by_id=actor.staff_id
        )
        StocktakeLine.objects.bulk_create(
            StocktakeLine(stocktake=stocktake, sku_id=sku_id, expected=value)
            for sku_id, value in expected.items()
        )
    return stocktake


def stocktake_record_counts(
    *, actor: Actor, stocktake: Stocktake, counts: list[tuple[int, int | None]]
) -> Stocktake:
    """Records counted quantities (None clears one). A SKU not on the sheet is added to it."""
    if not isinstance(counts, list | tuple) or not counts or len(counts) > MAX_LINES:
        raise ValidationFailed(
            f"counts must list 1 to {MAX_LINES} SKUs.", errors=[{"loc": ["counts"], "msg": "invalid"}]
        )
    parsed: dict[int, int | None] = {}
    for index, (sku_id, counted) in enumerate(counts):
        pk = parse_id(sku_id, what="SKU")
        if pk in parsed:
            raise ValidationFailed(
                "counts lists a SKU twice.", errors=[{"loc": ["counts", index, "sku_id"], "msg": "repeated"}]
            )
        if counted is not None:
            check_quantity(counted, field="counted", minimum=0, loc=["counts", index, "counted"])
        parsed[pk] = counted
    with transaction.atomic():
        stocktake = _locked_stocktake(actor, stocktake)
        skus = _merchant_skus(stocktake.store.merchant_id, parsed)
        lines = {line.sku_id: line for line in stocktake.lines.filter(sku_id__in=list(parsed))}
        for line in lines.values():
            line.counted = parsed[line.sku_id]
        StocktakeLine.objects.bulk_update(lines.values(), ["counted"])
        missing = sorted(set(skus) - set(lines))
        if missing:
            if stocktake.lines.count() + len(missing) > MAX_STOCKTAKE_LINES:
                raise ValidationFailed(f"A stocktake counts at most {MAX_STOCKTAKE_LINES} SKUs.")
            on_hand = dict(
                StockLevel.objects.filter(store_id=stocktake.store_id, sku_id__in=missing).values_list(
                    "sku_id", "on_hand"
                )
            )
            after = _as_of(stocktake.store_id, missing, stocktake.counted_at)
            StocktakeLine.objects.bulk_create(
                StocktakeLine(
                    stocktake=stocktake,
                    sku_id=sku_id,
                    expected=on_hand.get(sku_id, 0) - after.get(sku_id, (0, 0))[0],
                    counted=parsed[sku_id],
                )
                for sku_id in missing
            )
    return stocktake


def stocktake_commit(*, actor: Actor, stocktake: Stocktake) -> Stocktake:
    """Sets each counted SKU's on hand as of `counted_at`: new on hand = counted + the movements
    recorded after `counted_at` (they apply on top). Writes a `count` movement per counted line.

    A line is skipped (`superseded`) when a later count of that SKU exists. The whole commit is
    refused (`409 insufficient_stock`, nothing written) when a result would fall below what is
    reserved for orders.
    """
    with transaction.atomic():
        stocktake = _locked_stocktake(actor, stocktake)
        store = stocktake.store
        lines = list(stocktake.lines.select_related("sku").order_by("sku_id"))
        counted = [line for line in lines if line.counted is not None]
        sku_ids = [line.sku_id for line in counted]
        _ensure_levels((store.pk, sku_id) for sku_id in sku_ids)
        levels = {
            level.sku_id: level
            for level in StockLevel.objects.select_for_update()
            .filter(store_id=store.pk, sku_id__in=sku_ids)
            .order_by("sku_id")
        }
        after = _as_of(store.pk, sku_ids, stocktake.counted_at)
        now = _now()
        problems, movements = [], []
        for line in lines:
            if line.counted is None:
                line.outcome = StocktakeOutcome.NOT_COUNTED
                continue
            later_sum, later_counts = after.get(line.sku_id, (0, 0))
            if later_counts:
                line.outcome = StocktakeOutcome.SUPERSEDED
                continue
            level = levels[line.sku_id]
            new_on_hand = line.counted + later_sum
            if new_on_hand < level.reserved:
                problems.append(
                    f"{line.sku.sku_code}: counted {line.counted} leaves {new_on_hand} on hand, "
                    f"below the {level.reserved} reserved for orders"
                )
                continue
            line.delta = new_on_hand - level.on_hand
            line.outcome = StocktakeOutcome.APPLIED if line.delta else StocktakeOutcome.UNCHANGED
            movements.append(
                _movement(
                    store_id=store.pk,
                    sku_id=line.sku_id,
                    type=MovementType.COUNT,
                    on_hand=line.delta,
                    source=MovementSource.STAFF,
                    source_id=f"stocktake:{stocktake.pk}:{line.sku_id}",
                    reference=stocktake.reference,
                    actor=actor,
                    occurred_at=stocktake.counted_at,
                )
            )
        if problems:
            raise Conflict(
                "The count cannot be applied: " + "; ".join(problems) + ".", code="insufficient_stock"
            )
        for movement in movements:
            if movement.delta_on_hand:
                StockLevel.objects.filter(pk=levels[movement.sku_id].pk).update(
                    on_hand=F("on_hand") + movement.delta_on_hand, updated_at=now
                )
        written = StockMovement.objects.bulk_create(movements)
        StocktakeLine.objects.bulk_update(lines, ["delta", "outcome"])
        stocktake.status = StocktakeStatus.COMMITTED
        stocktake.closed_at = now
        stocktake.closed_by_id = actor.staff_id
        stocktake.save(update_fields=["status", "closed_at", "closed_by"])
        _changed((), written)
    return stocktake


def stocktake_cancel(*, actor: Actor, stocktake: Stocktake) -> Stocktake:
    with transaction.atomic():
        stocktake = _locked_stocktake(actor, stocktake)
        stocktake.status = StocktakeStatus.CANCELLED
        stocktake.closed_at = _now()
        stocktake.closed_by_id = actor.staff_id
        stocktake.save(update_fields=["status", "closed_at", "closed_by"])
    return stocktake


# --- staff: transfers between stores ---------------------------------------------------------


def _in_scope(actor: Actor, store: Store) -> bool:
    try:
        actor.check_store(store)
    except NotFound:
        return False
    return True


def transfer_create(
    *, actor: Actor, from_store: Store, to_store: Store, lines: list[tuple[int, int]], note: str = ""
) -> Transfer:
    """A transfer between two stores of one merchant, by staff of either store (or HQ)."""
    actor.require("stock.transfer")
    if not (_in_scope(actor, from_store) or _in_scope(actor, to_store)):
        raise NotFound("No such store.")
    actor.check_merchant(from_store.merchant_id)
    actor.check_merchant(to_store.merchant_id)
    if from_store.merchant_id != to_store.merchant_id:
        raise NotFound("No such store.")
    if from_store.pk == to_store.pk:
        raise ValidationFailed(
            "A transfer goes between two different stores.",
            errors=[{"loc": ["to_store_id"], "msg": "same as from_store_id"}],
        )
    wanted = check_lines(lines)
    note = _check_text(note, field="note", max_length=200)
    with transaction.atomic():
        _merchant_skus(from_store.merchant_id, wanted)
        transfer = Transfer.objects.create(
            merchant_id=from_store.merchant_id,
            from_store=from_store,
            to_store=to_store,
            note=note,
            created_by_id=actor.staff_id,
        )
        TransferLine.objects.bulk_create(
            TransferLine(transfer=transfer, sku_id=sku_id, quantity=quantity)
            for sku_id, quantity in sorted(wanted.items())
        )
    return transfer


def _locked_transfer(actor: Actor, transfer: Transfer, *, side: str, allowed: tuple[str, ...]) -> Transfer:
    actor.require("stock.transfer")
    locked = Transfer.objects.select_for_update().select_related("from_store", "to_store").get(pk=transfer.pk)
    stores = {
        "from": [locked.from_store],
        "to": [locked.to_store],
        "either": [locked.from_store, locked.to_store],
    }
    if not any(_in_scope(actor, store) for store in stores[side]):
        if _in_scope(actor, locked.from_store) or _in_scope(actor, locked.to_store):
            raise Forbidden(
                "Only the sending store ships a transfer and only the receiving store receives it."
            )
        raise NotFound("No such transfer.")
    if locked.status not in allowed:
        raise Conflict(f"Transfer {locked.reference} is {locked.status}.", code="invalid_state_transition")
    return locked


def transfer_ship(*, actor: Actor, transfer: Transfer) -> Transfer:
    """The goods leave the sending store (`transfer_out`); needs the units available there."""
    with transaction.atomic():
        transfer = _locked_transfer(actor, transfer, side="from", allowed=(TransferStatus.CREATED,))
        now = _now()
        lines = list(transfer.lines.select_related("sku").order_by("sku_id"))
        store_id = transfer.from_store_id
        for line in lines:
            if not _shift_level(store_id, line.sku_id, on_hand=-line.quantity, now=now):
                raise _conflict_for(store_id, line.sku, line.quantity, what=f"transfer {transfer.reference}")
        written = StockMovement.objects.bulk_create(
            _movement(
                store_id=store_id,
                sku_id=line.sku_id,
                type=MovementType.TRANSFER_OUT,
                on_hand=-line.quantity,
                source=MovementSource.STAFF,
                source_id=f"transfer:{transfer.pk}:out:{line.sku_id}",
                reference=transfer.reference,
                actor=actor,
                occurred_at=now,
            )
            for line in lines
        )
        transfer.status = TransferStatus.IN_TRANSIT
        transfer.shipped_at = now
        transfer.save(update_fields=["status", "shipped_at"])
        _changed((), written)
    return transfer


def transfer_receive(*, actor: Actor, transfer: Transfer) -> Transfer:
    """The goods arrive at the receiving store (`transfer_in`)."""
    with transaction.atomic():
        transfer = _locked_transfer(actor, transfer, side="to", allowed=(TransferStatus.IN_TRANSIT,))
        now = _now()
        lines = list(transfer.lines.order_by("sku_id"))
        store_id = transfer.to_store_id
        _ensure_levels((store_id, line.sku_id) for line in lines)
        for line in lines:
            _shift_level(store_id, line.sku_id, on_hand=line.quantity, now=now)
        written = StockMovement.objects.bulk_create(
            _movement(
                store_id=store_id,
                sku_id=line.sku_id,
                type=MovementType.TRANSFER_IN,
                on_hand=line.quantity,
                source=MovementSource.STAFF,
                source_id=f"transfer:{transfer.pk}:in:{line.sku_id}",
                reference=transfer.reference,
                actor=actor,
                occurred_at=now,
            )
            for line in lines
        )
        transfer.status = TransferStatus.RECEIVED
        transfer.received_at = now
        transfer.save(update_fields=["status", "received_at"])
        _changed((), written)
    return transfer


def transfer_cancel(*, actor: Actor, transfer: Transfer) -> Transfer:
    """Before shipping, either store (or HQ) may cancel; no stock has moved yet."""
    with transaction.atomic():
        transfer = _locked_transfer(actor, transfer, side="either", allowed=(TransferStatus.CREATED,))
        transfer.status = TransferStatus.CANCELLED
        transfer.cancelled_at = _now()
        transfer.save(update_fields=["status", "cancelled_at"])
    return transfer


# --- restock requests (要货) -----------------------------------------------------------------


def restock_request_create(
    *, actor: Actor, store: Store, lines: list[tuple[int, int]], note: str = ""
) -> RestockRequest:
    """A store asks HQ for goods (store manager or HQ on the store's behalf)."""
    actor.require("stock.transfer")
    actor.check_store(store)
    wanted = check_lines(lines)
    note = _check_text(note, field="note", max_length=200)
    with transaction.atomic():
        _merchant_skus(store.merchant_id, wanted)
        request = RestockRequest.objects.create(
            merchant_id=store.merchant_id, store=store, note=note, created_by_id=actor.staff_id
        )
        RestockLine.objects.bulk_create(
            RestockLine(request=request, sku_id=sku_id, quantity=quantity)
            for sku_id, quantity in sorted(wanted.items())
        )
    return request


def _locked_request(actor: Actor, request: RestockRequest, *, allowed: tuple[str, ...]) -> RestockRequest:
    locked = RestockRequest.objects.select_for_update().select_related("store").get(pk=request.pk)
    actor.check_store(locked.store)
    if locked.status not in allowed:
        raise Conflict(
            f"Restock request {locked.reference} is {locked.status}.", code="invalid_state_transition"
        )
    return locked


def _line_quantities(lines, known: dict[int, RestockLine], *, field: str) -> dict[int, int]:
    """[(sku_id, quantity ≥ 0)] naming only SKUs of the request."""
    if not isinstance(lines, list | tuple) or len(lines) > MAX_LINES:
        raise ValidationFailed(f"{field} must be a list.", errors=[{"loc": [field], "msg": "invalid"}])
    result: dict[int, int] = {}
    for index, line in enumerate(lines):
        try:
            sku_id, quantity = line
            pk = parse_id(sku_id, what="SKU")
        except (TypeError, ValueError, NotFound):
            pk = quantity = None
        if pk not in known:
            raise ValidationFailed(
                f"{field} may only name SKUs of the request.",
                errors=[{"loc": [field, index, "sku_id"], "msg": "not requested"}],
            )
        if pk in result:
            raise ValidationFailed(
                f"{field} lists a SKU twice.", errors=[{"loc": [field, index, "sku_id"], "msg": "repeated"}]
            )
        result[pk] = check_quantity(quantity, minimum=0, loc=[field, index, "quantity"])
    return result


def restock_request_approve(
    *, actor: Actor, request: RestockRequest, lines: list[tuple[int, int]] | None = None, note: str = ""
) -> RestockRequest:
    """HQ approves, optionally with other quantities per SKU (0: not supplied); unnamed lines keep the
    requested quantity."""
    actor.require("hq.access")
    note = _check_text(note, field="note", max_length=200)
    with transaction.atomic():
        request = _locked_request(actor, request, allowed=(RestockStatus.PENDING,))
        known = {line.sku_id: line for line in request.lines.all()}
        approved = _line_quantities(lines or [], known, field="lines")
        for sku_id, line in known.items():
            line.approved_quantity = approved.get(sku_id, line.quantity)
        if not any(line.approved_quantity for line in known.values()):
            raise ValidationFailed(
                "Approve at least one unit, or reject the request.",
                errors=[{"loc": ["lines"], "msg": "nothing approved"}],
            )
        RestockLine.objects.bulk_update(known.values(), ["approved_quantity"])
        request.status = RestockStatus.APPROVED
        request.decided_by_id = actor.staff_id
        request.decided_at = _now()
        request.decision_note = note
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return request


def restock_request_reject(*, actor: Actor, request: RestockRequest, note: str = "") -> RestockRequest:
    actor.require("hq.access")
    note = _check_text(note, field="note", max_length=200)
    with transaction.atomic():
        request = _locked_request(actor, request, allowed=(RestockStatus.PENDING,))
        request.status = RestockStatus.REJECTED
        request.decided_by_id = actor.staff_id
        request.decided_at = _now()
        request.decision_note = note
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return request


def restock_request_receive(
    *, actor: Actor, request: RestockRequest, lines: list[tuple[int, int]] | None = None
) -> RestockRequest:
    """The store books the approved goods in (`receive` movements). `lines` gives the quantities that
    actually arrived when they differ from the approved ones."""
    actor.require("stock.transfer")
    with transaction.atomic():
        request = _locked_request(actor, request, allowed=(RestockStatus.APPROVED,))
        known = {line.sku_id: line for line in request.lines.order_by("sku_id")}
        received = _line_quantities(lines or [], known, field="lines")
        now = _now()
        store_id = request.store_id
        movements = []
        for sku_id, line in known.items():
            line.received_quantity = received.get(sku_id, line.approved_quantity or 0)
            if line.received_quantity:
                movements.append(
                    _movement(
                        store_id=store_id,
                        sku_id=sku_id,
                        type=MovementType.RECEIVE,
                        on_hand=line.received_quantity,
                        source=MovementSource.STAFF,
                        source_id=f"restock:{request.pk}:{sku_id}",
                        reference=request.reference,
                        actor=actor,
                        occurred_at=now,
                    )
                )
        _ensure_levels((store_id, m.sku_id) for m in movements)
        for movement in movements:
            _shift_level(store_id, movement.sku_id, on_hand=movement.delta_on_hand, now=now)
        written = StockMovement.objects.bulk_create(movements)
        RestockLine.objects.bulk_update(known.values(), ["received_quantity"])
        request.status = RestockStatus.RECEIVED
        request.received_by_id = actor.staff_id
        request.received_at = now
        request.save(update_fields=["status", "received_by", "received_at"])
        _changed((), written)
    return request


# --- HQ: thresholds --------------------------------------------------------------------------


def stock_thresholds_set(
    *,
    actor: Actor,
    items: list[dict],
    default=_UNSET,
    merchant_id: int | None = None,
    store: Store | None = None,
) -> dict:
    """Sets low-stock thresholds: per level (`{store_id, sku_id, threshold}`; `store_id` None: every
    store of the merchant; `threshold` None: the merchant default) and/or the merchant default.
    Alerts are re-evaluated for the levels concerned. Returns `{"updated": n, "default": d}`.

    With `store`: that store's own levels only (`store.settings`: store managers, and HQ roles on a
    store they see); items name no other store and the merchant default stays HQ's."""
    if store is None:
        actor.require("hq.access")
        merchant_pk = actor.effective_merchant_id(merchant_id)
    else:
        actor.require("store.settings")
        actor.check_store(store)
        if default is not _UNSET:
            raise ValidationFailed(
                "The merchant default is set by headquarters.",
                errors=[{"loc": ["default"], "msg": "not allowed for one store"}],
            )
        merchant_pk = store.merchant_id
    if not isinstance(items, list | tuple) or len(items) > MAX_LINES:
        raise ValidationFailed(
            f"items lists at most {MAX_LINES} thresholds.", errors=[{"loc": ["items"], "msg": "too many"}]
        )
    if default is not _UNSET and default is not None:
        check_quantity(default, field="default", minimum=0, loc=["default"])
    parsed = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed(
                "items are objects.", errors=[{"loc": ["items", index], "msg": "not an object"}]
            )
        store_pk = None if item.get("store_id") is None else parse_id(item["store_id"], what="store")
        if store is not None:
            if store_pk not in (None, store.pk):
                raise NotFound("No such store.")
            store_pk = store.pk
        sku_pk = parse_id(item.get("sku_id"), what="SKU")
        threshold = item.get("threshold")
        if threshold is not None:
            check_quantity(threshold, field="threshold", minimum=0, loc=["items", index, "threshold"])
        parsed.append((store_pk, sku_pk, threshold))
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().filter(pk=merchant_pk).first()
        if merchant is None:
            raise NotFound("No such merchant.")
        _merchant_skus(merchant.pk, {sku for _, sku, _ in parsed})
        _merchant_stores(merchant.pk, {store for store, _, _ in parsed if store is not None})
        all_stores = None
        if any(store is None for store, _, _ in parsed):
            all_stores = list(Store.objects.filter(merchant_id=merchant.pk).values_list("pk", flat=True))
        pairs = set()
        for store_pk, sku_pk, _ in parsed:
            for target in [store_pk] if store_pk is not None else all_stores:
                pairs.add((target, sku_pk))
        _ensure_levels(pairs)
        updated = 0
        now = _now()
        for store_pk, sku_pk, threshold in parsed:
            stores = [store_pk] if store_pk is not None else all_stores
            updated += StockLevel.objects.filter(store_id__in=stores, sku_id=sku_pk).update(
                low_stock_threshold=threshold, updated_at=now
            )
        if default is not _UNSET:
            settings = dict(merchant.settings or {})
            if default is None:
                settings.pop(MERCHANT_THRESHOLD_KEY, None)
            else:
                settings[MERCHANT_THRESHOLD_KEY] = default
            merchant.settings = settings
            merchant.save(update_fields=["settings", "updated_at"])
            # Every level of the merchant may change sides; evaluated in keyset chunks.
            levels = _levels_with_merchant().filter(store__merchant_id=merchant.pk)
            last_pk = 0
            while chunk := list(levels.filter(pk__gt=last_pk).order_by("pk")[:2000]):
                stock_alerts_refresh(levels=chunk, now=now)
                last_pk = chunk[-1].pk
        elif pairs:
            _changed(pairs)
    return {"updated": updated, "default": merchant_default_threshold(merchant)}


# --- POS events ------------------------------------------------------------------------------

# The sign of each POS event type on on_hand; `count` sets it (as of the event's time).
POS_TYPES = {"sale": -1, "return": 1, "receive": 1, "transfer_out": -1, "transfer_in": 1, "count": 0}


@dataclass(slots=True)
class _PosEvent:
    event_id: str
    store: Store
    sku: Sku
    type: str
    quantity: int
    occurred_at: dt.datetime


def _invalid(detail: str, code: str = "invalid_event") -> ValidationFailed:
    return ValidationFailed(detail, code=code)


def _parse_time(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _invalid("occurred_at must be an ISO 8601 time with an offset.") from None
    else:
        raise _invalid("occurred_at must be an ISO 8601 time with an offset.")
    if timezone.is_naive(parsed):
        raise _invalid("occurred_at must carry an offset (e.g. +08:00).")
    return parsed


def _event_id(raw) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("event_id")
        if isinstance(value, str) and 0 < len(value.strip()) <= MAX_SOURCE_ID:
            return value.strip()
    return None


def _check_pos_event(
    raw, *, stores: dict[str, Store], skus: dict[str, Sku], barcodes: dict[str, Sku], now
) -> _PosEvent:
    if not isinstance(raw, dict):
        raise _invalid("An event must be an object.")
    event_id = _event_id(raw)
    if event_id is None:
        raise _invalid(f"event_id must be text of 1 to {MAX_SOURCE_ID} characters.")
    kind = raw.get("type")
    if kind not in POS_TYPES:
        raise _invalid("type must be one of " + ", ".join(POS_TYPES) + ".")
    occurred_at = _parse_time(raw.get("occurred_at"))
    if occurred_at > now + POS_CLOCK_SKEW:
        raise _invalid("occurred_at is in the future.")
    quantity = raw.get("quantity")
    minimum = 0 if kind == "count" else 1
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not minimum <= quantity <= MAX_QUANTITY:
        raise _invalid(
            f"quantity must be a whole number from {minimum} to {MAX_QUANTITY}.", "invalid_quantity"
        )
    store_code = raw.get("store_code")
    store = stores.get(store_code) if isinstance(store_code, str) else None
    if store is None:
        raise _invalid(f"No store with code {store_code!r}.", "unknown_store")
    sku_code, barcode = raw.get("sku_code"), raw.get("barcode")
    if sku_code is None and barcode is None:
        raise _invalid("An event names its SKU by sku_code or barcode.")
    by_code = skus.get(sku_code) if isinstance(sku_code, str) else None
    by_barcode = barcodes.get(barcode) if isinstance(barcode, str) else None
    if sku_code is not None and by_code is None:
        raise _invalid(f"No SKU with code {sku_code!r}.", "unknown_sku")
    if barcode is not None and by_barcode is None:
        raise _invalid(f"No SKU with barcode {barcode!r}.", "unknown_sku")
    if by_code is not None and by_barcode is not None and by_code.pk != by_barcode.pk:
        raise _invalid("sku_code and barcode name different SKUs.")
    return _PosEvent(event_id, store, by_code or by_barcode, kind, quantity, occurred_at)


def _pos_count(event: _PosEvent, level: StockLevel, pending: list[StockMovement]) -> StockMovement:
    """A counted quantity as of `occurred_at`: new on hand = counted + every movement after it (those
    already recorded and those of this batch). A count older than another count of the level is
    recorded with no effect. Raises Conflict below the reserved units; changes only `level` in memory."""
    store_id, sku_id = event.store.pk, event.sku.pk
    movement = _movement(
        store_id=store_id,
        sku_id=sku_id,
        type=MovementType.COUNT,
        source=MovementSource.POS,
        source_id=event.event_id,
        occurred_at=event.occurred_at,
    )
    later_sum, later_counts = _as_of(store_id, [sku_id], event.occurred_at).get(sku_id, (0, 0))
    for earlier in pending:
        if (
            earlier.store_id == store_id
            and earlier.sku_id == sku_id
            and earlier.occurred_at > event.occurred_at
        ):
            later_sum += earlier.delta_on_hand
            later_counts += earlier.type == MovementType.COUNT
    if later_counts:
        movement.note = "superseded by a later count"
        return movement
    new_on_hand = event.quantity + later_sum
    if new_on_hand < level.reserved:
        raise Conflict(
            f"Counting {event.quantity} of {event.sku.sku_code} leaves {new_on_hand} on hand, below the "
            f"{level.reserved} reserved for orders.",
            code="insufficient_stock",
        )
    movement.delta_on_hand = new_on_hand - level.on_hand
    level.on_hand = new_on_hand
    return movement


_PosResult = tuple[str | None, str, DomainError | None]


def _apply_pos_batch(merchant: Merchant, events) -> list[_PosResult]:
    if not isinstance(events, list | tuple):
        raise _invalid("events must be a list.")
    if len(events) > MAX_POS_BATCH:
        raise ValidationFailed(f"At most {MAX_POS_BATCH} events per batch.", code="too_many_events")
    now = _now()
    store_codes, sku_codes, barcodes = set(), set(), set()
    for raw in events:
        if isinstance(raw, dict):
            for key, bucket in (("store_code", store_codes), ("sku_code", sku_codes), ("barcode", barcodes)):
                value = raw.get(key)
                if isinstance(value, str) and len(value) <= 64:
                    bucket.add(value)
    stores = {s.code: s for s in Store.objects.filter(merchant_id=merchant.pk, code__in=store_codes)}
    by_code, by_barcode = {}, {}
    if sku_codes or barcodes:
        for sku in Sku.objects.filter(
            Q(sku_code__in=sku_codes) | Q(barcode__in=barcodes), merchant_id=merchant.pk
        ).only("pk", "sku_code", "barcode", "merchant_id"):
            if sku.sku_code in sku_codes:
                by_code[sku.sku_code] = sku
            if sku.barcode in barcodes:
                by_barcode[sku.barcode] = sku
    checked: list[_PosEvent | DomainError] = []
    for raw in events:
        try:
            checked.append(_check_pos_event(raw, stores=stores, skus=by_code, barcodes=by_barcode, now=now))
        except DomainError as exc:
            checked.append(exc)
    try:
        return _apply_checked_pos(events, checked, now)
    except IntegrityError:
        # A concurrent batch recorded one of these event ids first (UNIQUE store, source, source_id):
        # everything of this attempt was rolled back; the second attempt sees it as a duplicate.
        return _apply_checked_pos(events, checked, now)


def _apply_checked_pos(events, checked: list, now: dt.datetime) -> list[_PosResult]:
    """Locks every level of the batch at once (SELECT … FOR UPDATE in (store, SKU) order, so
    concurrent batches and checkouts cannot deadlock), applies each level's events in batch order
    against the locked numbers, then writes each level's net change (still a guarded UPDATE, one
    statement) and all movements in one insert. A refused event changes nothing: it
    never reaches the written state. The CHECK constraints remain the last line behind both."""
    results: list[_PosResult | None] = [None] * len(events)
    first: dict[tuple[int, str], int] = {}
    for index, (raw, item) in enumerate(zip(events, checked, strict=True)):
        if isinstance(item, DomainError):
            results[index] = (_event_id(raw), "rejected", item)
        elif (item.store.pk, item.event_id) in first:
            results[index] = (item.event_id, "duplicate", None)  # once per batch, the first one counts
        else:
            first[(item.store.pk, item.event_id)] = index
    todo = sorted(first.values(), key=lambda i: (checked[i].store.pk, checked[i].sku.pk, i))
    if not todo:
        return results
    pairs = {(checked[i].store.pk, checked[i].sku.pk) for i in todo}
    with transaction.atomic():
        _ensure_levels(
            (checked[i].store.pk, checked[i].sku.pk)
            for i in todo
            if checked[i].type == "count" or POS_TYPES[checked[i].type] > 0
        )
        by_store: dict[int, list[int]] = {}
        for store_id, sku_id in sorted(pairs):
            by_store.setdefault(store_id, []).append(sku_id)
        condition = Q()
        for store_id, sku_ids in by_store.items():
            condition |= Q(store_id=store_id, sku_id__in=sku_ids)
        locked = {
            (level.store_id, level.sku_id): level
            for level in StockLevel.objects.select_for_update()
            .filter(condition)
            .only("pk", "store_id", "sku_id", "on_hand", "reserved")
            .order_by("store_id", "sku_id")
        }
        before = {pair: level.on_hand for pair, level in locked.items()}
        # Read under the locks: a concurrent batch holding one of these events has committed by now.
        recorded = set(
            StockMovement.objects.filter(
                source=MovementSource.POS,
                store_id__in={store_id for store_id, _ in first},
                source_id__in={event_id for _, event_id in first},
            ).values_list("store_id", "source_id")
        )
        pending: list[StockMovement] = []
        for index in todo:
            event = checked[index]
            if (event.store.pk, event.event_id) in recorded:
                results[index] = (event.event_id, "duplicate", None)
                continue
            level = locked.get((event.store.pk, event.sku.pk))
            try:
                if event.type == "count":
                    movement = _pos_count(event, level, pending)
                else:
                    delta = POS_TYPES[event.type] * event.quantity
                    numbers = (level.on_hand, level.reserved) if level else (0, 0)
                    if numbers[0] + delta < numbers[1]:
                        raise _conflict_for(
                            event.store.pk,
                            event.sku,
                            event.quantity,
                            what=f"POS {event.type}",
                            numbers=numbers,
                        )
                    level.on_hand += delta
                    movement = _movement(
                        store_id=event.store.pk,
                        sku_id=event.sku.pk,
                        type=event.type,
                        on_hand=delta,
                        source=MovementSource.POS,
                        source_id=event.event_id,
                        occurred_at=event.occurred_at,
                    )
            except DomainError as exc:
                results[index] = (event.event_id, "rejected", exc)
            else:
                pending.append(movement)
                results[index] = (event.event_id, "accepted", None)
        _shift_levels_on_hand(
            [
                (level.pk, level.on_hand - before[pair])
                for pair, level in locked.items()
                if level.on_hand != before[pair]
            ],
            now=now,
        )
        written = StockMovement.objects.bulk_create(pending) if pending else []
        _changed((), written)
    return results


def stock_apply_pos_events(*, merchant: Merchant, events: list) -> list[dict]:
    """Applies a batch of POS events (open-API shape), all in one transaction.

    Each event is applied atomically on its own (one conditional UPDATE; a count reads and writes
    its locked level): a refused event changes nothing and does not disturb the others. Returns one result per event, in order: `{"event_id", "status": "accepted"|"duplicate"}` or
    `{"event_id", "status": "rejected", "code", "detail"}` (`event_id` None when the event has no
    usable one). Stores and SKUs of the whole batch are resolved in two queries; an `event_id`
    already recorded at that store (or earlier in the batch) is a duplicate and changes nothing.
    """
    results = []
    for event_id, status, error in _apply_pos_batch(merchant, events):
        result = {"event_id": event_id, "status": status}
        if error is not None:
            result.update(code=error.code, detail=error.detail)
        results.append(result)
    return results


def stock_apply_pos_event(*, merchant: Merchant, event: dict) -> str:
    """One POS event: "accepted" or "duplicate"; a refused event raises its DomainError
    (`ValidationFailed` unknown_store / unknown_sku / invalid_quantity / invalid_event, or
    `Conflict` insufficient_stock)."""
    ((_, status, error),) = _apply_pos_batch(merchant, [event])
    if error is not None:
        raise error
    return status
