"""GS1 retail barcodes: EAN-13 (and EAN-8, printed on small packs) with their check digits."""

from mendian.core.errors import ValidationFailed


def _gs1_check_digit(payload: str) -> int:
    """Weights 3,1,3,1… from the rightmost payload digit, as GS1 defines for every GTIN length."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


def _is_valid_gtin(code: object, length: int) -> bool:
    if not isinstance(code, str) or len(code) != length or not code.isascii() or not code.isdigit():
        return False
    return _gs1_check_digit(code[:-1]) == int(code[-1])


def ean13_is_valid(code: object) -> bool:
    return _is_valid_gtin(code, 13)


def ean8_is_valid(code: object) -> bool:
    return _is_valid_gtin(code, 8)


def ean13_complete(first12: str) -> str:
    """The full EAN-13 for twelve digits (what a merchant assigns to in-store goods, prefix 20-29)."""
    if not isinstance(first12, str) or len(first12) != 12 or not first12.isascii() or not first12.isdigit():
        raise ValueError("An EAN-13 payload is exactly 12 digits.")
    return first12 + str(_gs1_check_digit(first12))


def barcode_is_valid(code: object) -> bool:
    """What a SKU may carry: an EAN-13 or an EAN-8 with a correct check digit."""
    return ean13_is_valid(code) or ean8_is_valid(code)


def barcode_check(code: str, *, loc: list | None = None) -> str:
    """The barcode, stripped; `422 invalid_barcode` when it is not a valid EAN-13 or EAN-8."""
    cleaned = code.strip() if isinstance(code, str) else code
    if not barcode_is_valid(cleaned):
        raise ValidationFailed(
            f"{code!r} is not a valid EAN-13 or EAN-8 barcode (13 or 8 digits with a correct check digit).",
            code="invalid_barcode",
            errors=[{"loc": loc or ["barcode"], "msg": "invalid EAN-13/EAN-8 barcode"}],
        )
    return cleaned
