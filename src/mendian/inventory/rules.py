"""Small shared rules of the inventory app: limits, id parsing, input checks, thresholds.

No writes here and no scope: services and selectors build on these.
"""

from collections.abc import Iterable

from mendian.core.errors import NotFound, ValidationFailed
from mendian.merchants.models import Merchant

# One movement moves at most this many units; bigger numbers are typing mistakes, not stock.
MAX_QUANTITY = 1_000_000
# Lines per document (reservation, transfer, restock request, count sheet update).
MAX_LINES = 500
# Lines a stocktake sheet may hold (a whole store's assortment).
MAX_STOCKTAKE_LINES = 20_000
# Used when neither the level nor its merchant sets a low-stock threshold.
DEFAULT_LOW_STOCK_THRESHOLD = 5
MERCHANT_THRESHOLD_KEY = "low_stock_threshold"
_MAX_PK = 2**63 - 1


def parse_id(value, *, what: str = "object") -> int:
    """Ids are opaque strings to clients: anything that is not one of ours is simply not found."""
    if isinstance(value, int) and not isinstance(value, bool):
        pk = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        pk = int(value)
    else:
        raise NotFound(f"No such {what}.")
    if not 0 < pk <= _MAX_PK:
        raise NotFound(f"No such {what}.")
    return pk


def check_quantity(
    value, *, field: str = "quantity", minimum: int = 1, code: str = "validation_error", loc=None
) -> int:
    """A whole number of units in [minimum, MAX_QUANTITY]; bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_QUANTITY:
        msg = f"must be a whole number from {minimum} to {MAX_QUANTITY}"
        raise ValidationFailed(f"{field} {msg}.", code=code, errors=[{"loc": loc or [field], "msg": msg}])
    return value


def check_lines(lines, *, field: str = "lines", minimum: int = 1, merge: bool = False) -> dict[int, int]:
    """`[(sku_id, quantity), ...]` → `{sku_id: quantity}`. Repeated SKUs are merged or refused."""
    if not isinstance(lines, list | tuple) or not lines:
        raise ValidationFailed(
            f"{field} must list at least one SKU.", errors=[{"loc": [field], "msg": "empty"}]
        )
    if len(lines) > MAX_LINES:
        raise ValidationFailed(
            f"{field} may list at most {MAX_LINES} SKUs.", errors=[{"loc": [field], "msg": "too many lines"}]
        )
    merged: dict[int, int] = {}
    for index, line in enumerate(lines):
        try:
            sku_id, quantity = line
        except (TypeError, ValueError):
            raise ValidationFailed(
                f"{field} must be (sku_id, quantity) pairs.",
                errors=[{"loc": [field, index], "msg": "not a pair"}],
            ) from None
        sku_pk = parse_id(sku_id, what="SKU")
        quantity = check_quantity(quantity, field="quantity", minimum=minimum, loc=[field, index, "quantity"])
        if sku_pk in merged:
            if not merge:
                raise ValidationFailed(
                    f"{field} lists a SKU twice.",
                    errors=[{"loc": [field, index, "sku_id"], "msg": "repeated"}],
                )
            quantity = check_quantity(
                merged[sku_pk] + quantity, minimum=minimum, loc=[field, index, "quantity"]
            )
        merged[sku_pk] = quantity
    return merged


def default_threshold_from(settings: dict | None) -> int:
    """The low-stock default in a merchant's settings, else the built-in one."""
    value = (settings or {}).get(MERCHANT_THRESHOLD_KEY)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_QUANTITY:
        return value
    return DEFAULT_LOW_STOCK_THRESHOLD


def merchant_default_threshold(merchant: Merchant) -> int:
    return default_threshold_from(merchant.settings)


def merchant_default_thresholds(merchant_ids: Iterable[int] | None) -> dict[int, int]:
    """{merchant_id: default} for merchants that set one (None: every merchant). One query."""
    qs = Merchant.objects.filter(settings__has_key=MERCHANT_THRESHOLD_KEY)
    if merchant_ids is not None:
        qs = qs.filter(pk__in=list(merchant_ids))
    return {m.pk: merchant_default_threshold(m) for m in qs.only("pk", "settings")}


def is_low(available: int, threshold: int) -> bool:
    """Low stock means fewer units available than the threshold (a threshold of 0 never alerts)."""
    return available < threshold
