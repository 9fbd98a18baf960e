"""Keyset cursors: `?limit=` (default 20, max 100) and an opaque `?cursor=`.

The cursor encodes the last row's sort key; it is signed so clients cannot forge arbitrary offsets.
It is compact JSON followed by its HMAC-SHA256, base64url without padding. Every cursor page signs
one cursor and checks another, so the key is derived once per secret, not per call as
`django.core.signing` does, each MAC is one call into OpenSSL, and nothing is compressed (a sort
key is a few bytes).
"""

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache

import orjson
from django.conf import settings
from django.core import signing

from mendian.core.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SALT = "mendian.cursor"
_MAC_SIZE = 32


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_LIMIT}.",
            errors=[{"loc": ["query", "limit"], "msg": "out of range"}],
        )
    return limit


@lru_cache(maxsize=8)
def _mac_key(secret: str) -> bytes:
    # Derived the way django.utils.crypto.salted_hmac derives its keys, under a salt of its own.
    return hashlib.sha256(f"{_SALT}.hmac{secret}".encode()).digest()


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.digest(_mac_key(secret), payload, "sha256")


def encode_cursor(values: list) -> str:
    payload = orjson.dumps(values)
    return base64.urlsafe_b64encode(payload + _mac(settings.SECRET_KEY, payload)).decode().rstrip("=")


def _verified_payload(cursor: str) -> bytes | None:
    """The JSON a cursor carries if one of our keys (the current secret, then its fallbacks)
    signed it, else None."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        return None
    payload, mac = raw[:-_MAC_SIZE], raw[-_MAC_SIZE:]
    if not payload:
        return None
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        if hmac.compare_digest(_mac(secret, payload), mac):
            return payload
    return None


def _legacy_values(cursor: str):
    """A cursor in the earlier format (django.core.signing), as clients paging across a deploy
    still hold."""
    padded = cursor + "=" * (-len(cursor) % 4)
    return signing.loads(base64.urlsafe_b64decode(padded.encode()).decode(), salt=_SALT)


def invalid_cursor() -> ValidationFailed:
    """The one refusal of a cursor that is not ours or not for this list: `422 invalid_cursor`."""
    return ValidationFailed(
        "cursor is not valid.", code="invalid_cursor", errors=[{"loc": ["query", "cursor"], "msg": "invalid"}]
    )


def decode_cursor(cursor: str | None) -> list | None:
    if not cursor:
        return None
    payload = _verified_payload(cursor)
    try:
        values = orjson.loads(payload) if payload is not None else _legacy_values(cursor)
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(values, list):
        raise invalid_cursor()
    return values


def decode_int_cursor(cursor: str | None, size: int = 1) -> list[int] | None:
    """A cursor of `size` whole numbers (the keys of the last row seen), or None without one;
    anything else is `422 invalid_cursor`."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    if len(values) != size or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise invalid_cursor()
    return values


def newest_first_page(
    qs, *, limit: int | None, cursor: str | None, tag: str | None = None
) -> tuple[list, str | None]:
    """A page of `qs` newest first by primary key: (rows, next cursor); the cursor carries the last
    id seen, after `tag` when the list's cursors name their order (`422 invalid_cursor` for
    anything else)."""
    limit = clamp_limit(limit)
    head = [] if tag is None else [tag]
    values = decode_cursor(cursor)
    if values is not None:
        last = values[-1] if values else None
        if values[:-1] != head or not isinstance(last, int) or isinstance(last, bool):
            raise invalid_cursor()
        qs = qs.filter(pk__lt=last)
    rows = list(qs.order_by("-pk")[: limit + 1])
    next_cursor = encode_cursor([*head, rows[limit - 1].pk]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def offset_page(items: list, *, offset: int, limit: int, total_fetched: int) -> dict:
    """For lists whose order is not a simple key (distance, relevance): offset inside a signed cursor."""
    next_cursor = encode_cursor([offset + limit]) if total_fetched > limit else None
    return {"items": items[:limit], "next_cursor": next_cursor}


def offset_from_cursor(cursor: str | None) -> int:
    values = decode_int_cursor(cursor)
    if values is None:
        return 0
    if values[0] < 0:
        raise invalid_cursor()
    return values[0]
