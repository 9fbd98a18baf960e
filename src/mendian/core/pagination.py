"""Keyset cursors: `?limit=` (default 20, max 100) and an opaque `?cursor=`.

The cursor encodes the last row's sort key; it is signed so clients cannot forge arbitrary offsets.
"""

import base64
import json

from django.core import signing

from mendian.core.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SALT = "mendian.cursor"


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_LIMIT}.",
            errors=[{"loc": ["query", "limit"], "msg": "out of range"}],
        )
    return limit


def encode_cursor(values: list) -> str:
    raw = signing.dumps(values, salt=_SALT, compress=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = signing.loads(base64.urlsafe_b64decode(padded.encode()).decode(), salt=_SALT)
    except (signing.BadSignature, ValueError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            "cursor is not valid.",
            code="invalid_cursor",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid"}],
        ) from exc
    if not isinstance(values, list):
        raise ValidationFailed("cursor is not valid.", code="invalid_cursor")
    return values


def offset_page(items: list, *, offset: int, limit: int, total_fetched: int) -> dict:
    """For lists whose order is not a simple key (distance, relevance): offset inside a signed cursor."""
    next_cursor = encode_cursor([offset + limit]) if total_fetched > limit else None
    return {"items": items[:limit], "next_cursor": next_cursor}


def offset_from_cursor(cursor: str | None) -> int:
    values = decode_cursor(cursor)
    if values is None:
        return 0
    if len(values) != 1 or not isinstance(values[0], int) or values[0] < 0:
        raise ValidationFailed("cursor is not valid.", code="invalid_cursor")
    return values[0]
