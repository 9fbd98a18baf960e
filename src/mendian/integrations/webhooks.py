"""The HTTP side of webhooks: which URLs we accept and send to, the signed POST, its outcome.

No database access here; `services` schedules, records and retries.
"""

import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from mendian.core.errors import ValidationFailed
from mendian.integrations import signing

MAX_URL_LENGTH = 500
EXCERPT_BYTES = 1024
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "Mendian-Webhooks/1"


def check_webhook_url(url: str) -> str:
    """A URL we are willing to POST to: http(s), a host, no userinfo, no fragment. Raises
    `422 invalid_webhook_url`; returns the URL stripped of surrounding blanks."""
    url = (url or "").strip()

    def refuse(why: str):
        raise ValidationFailed(
            f"The webhook URL is not acceptable: {why}.",
            code="invalid_webhook_url",
            errors=[{"loc": ["body", "url"], "msg": why}],
        )

    if not url or len(url) > MAX_URL_LENGTH:
        refuse(f"it must be 1 to {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        refuse("it must be ASCII without spaces or control characters (use punycode and %-escapes)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        refuse("it cannot be parsed")
    if parts.scheme.lower() not in ("http", "https"):
        refuse("only http and https URLs are allowed")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        refuse("credentials in the URL are not allowed")
    if not parts.hostname:
        refuse("a host is required")
    if parts.fragment or url.endswith("#"):
        refuse("a fragment is not allowed")
    if port == 0:
        refuse("port 0 is not allowed")
    return url


def private_networks_allowed() -> bool:
    """Local and private addresses are refused in production (a tenant must not make us probe the
    internal network); development, tests and the demo allow them."""
    configured = getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", None)
    if configured is not None:
        return bool(configured)
    return bool(settings.DEBUG or settings.TESTING or settings.DEMO or settings.SANDBOX)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global


def destination_refusal(url: str) -> str | None:
    """Why we will not send to `url` now, or None. Checked before every attempt."""
    try:
        check_webhook_url(url)
    except ValidationFailed as exc:
        return exc.detail
    if private_networks_allowed():
        return None
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return f"cannot resolve host: {exc}"
    if not infos or not all(_is_public(info[4][0]) for info in infos):
        return "the host resolves to a private, local or reserved address"
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int


def _clean(text: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; keep logs printable and bounded.
    return text.replace("\x00", "")[:limit]


def webhook_body(*, event_id: str, event_type: str, created_at, data: dict) -> bytes:
    body = {"id": event_id, "type": event_type, "created_at": created_at.isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def webhook_post(
    client: httpx.Client, *, url: str, secret: str, event_type: str, delivery_id: str, body: bytes
) -> Outcome:
    """POST one signed delivery. Never raises for network trouble: the outcome says what happened."""
    refusal = destination_refusal(url)
    if refusal:
        return Outcome(False, None, "", _clean(f"not sent: {refusal}", 500), 0)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_HEADER: event_type,
        signing.DELIVERY_HEADER: delivery_id,
        **signing.signed_headers(
            key_id=None, secret=secret, method="POST", path=signing.url_request_target(url), body=body
        ),
    }
    started = time.monotonic()
    status_code, excerpt, error = None, b"", ""
    try:
        with client.stream("POST", url, content=body, headers=headers) as response:
            status_code = response.status_code
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
    except httpx.TimeoutException as exc:
        error = f"timeout: {type(exc).__name__}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    # The status line is the acknowledgement: a 2xx counts even if its body then broke off.
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not error and not ok:
        error = f"HTTP {status_code}"
    return Outcome(
        ok=ok,
        status_code=status_code,
        excerpt=_clean(excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace"), EXCERPT_BYTES),
        error=_clean(error, 500),
        duration_ms=duration_ms,
    )


def webhook_client() -> httpx.Client:
    # No redirects: a 3xx is a failed attempt, never a hop to somewhere we did not vet.
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
