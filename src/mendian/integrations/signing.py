"""HMAC-SHA256 signatures of open-API requests and of our webhook deliveries (one scheme for both).

    string_to_sign = METHOD "\\n" PATH "\\n" TIMESTAMP "\\n" NONCE "\\n" hex(sha256(body))
    signature      = hex(HMAC-SHA256(key=secret as UTF-8, string_to_sign))

PATH is the request target as sent: the path from `/api/open/v1` (for webhooks: the endpoint
URL's path), plus `?query` when there is one. TIMESTAMP is unix seconds; NONCE is a fresh random
string. This module has no Django dependency so integrators can copy it.
"""

import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit

KEY_HEADER = "X-Mendian-Key"
TIMESTAMP_HEADER = "X-Mendian-Timestamp"
NONCE_HEADER = "X-Mendian-Nonce"
SIGNATURE_HEADER = "X-Mendian-Signature"
EVENT_HEADER = "X-Mendian-Event"
DELIVERY_HEADER = "X-Mendian-Delivery"

TIMESTAMP_TOLERANCE_S = 300
NONCE_TTL_S = 600  # at least twice the tolerance: a replay inside the window always meets its nonce


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def string_to_sign(method: str, path: str, timestamp: str | int, nonce: str, body: bytes) -> str:
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{body_digest(body)}"


def sign(secret: str, method: str, path: str, timestamp: str | int, nonce: str, body: bytes) -> str:
    message = string_to_sign(method, path, timestamp, nonce, body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(
    secret: str, signature: str, method: str, path: str, timestamp: str | int, nonce: str, body: bytes
) -> bool:
    expected = sign(secret, method, path, timestamp, nonce, body)
    # compare_digest on ASCII str; a non-ASCII signature header simply does not match.
    if not signature.isascii():
        return False
    return hmac.compare_digest(expected, signature.strip().lower())


def new_nonce() -> str:
    return secrets.token_hex(16)


def signed_headers(
    *, key_id: str | None, secret: str, method: str, path: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Headers of a signed request (what a POS client sends; also used for webhooks, without key)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = new_nonce()
    headers = {
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, method, path, timestamp, nonce, body),
    }
    if key_id is not None:
        headers[KEY_HEADER] = key_id
    return headers


def url_request_target(url: str) -> str:
    """The PATH a webhook is signed with: the URL's path (at least "/") plus `?query` if any."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return target


def verify_webhook(
    *,
    secret: str,
    url_path: str,
    headers,
    body: bytes,
    now: float | None = None,
    tolerance_s: int = TIMESTAMP_TOLERANCE_S,
) -> bool:
    """For receivers: is this POST a genuine, fresh Mendian webhook? `url_path` is the path (+query)
    the request arrived at; `headers` any case-insensitive mapping with `.get`. Receivers should also remember
    X-Mendian-Delivery ids (and nonces) they already processed."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    nonce = headers.get(NONCE_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not (timestamp and nonce and signature):
        return False
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    return signature_matches(secret, signature, "POST", url_path, timestamp, nonce, body)
