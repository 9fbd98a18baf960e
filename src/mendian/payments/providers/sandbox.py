"""The sandbox gateway: a stand-in provider for demos and tests (enabled only when
`settings.SANDBOX`). The customer "pays" on the hosted page `/sandbox-pay/{payment_id}/confirm`;
the gateway then signs a notification with HMAC-SHA256 (a key derived from SECRET_KEY) exactly as a
real provider would, and the notify endpoint verifies it like any other callback.

Wire format: body `{"id", "event_type": "TRADE.SUCCESS", "out_trade_no", "transaction_id",
"amount", "currency", "paid_at"}`; headers `Mendian-Sandbox-Timestamp` (unix seconds, ±300 s) and
`Mendian-Sandbox-Signature: v1=<hex HMAC-SHA256 of "TIMESTAMP." + body>`.
"""

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time

from django.conf import settings

from mendian.payments.providers.base import (
    NotificationRejected,
    PaymentEvent,
    Provider,
    ProviderError,
    QueryResult,
    RefundResult,
)

TIMESTAMP_HEADER = "Mendian-Sandbox-Timestamp"
SIGNATURE_HEADER = "Mendian-Sandbox-Signature"
WINDOW_S = 300
PAID_EVENT = "TRADE.SUCCESS"


def _key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"mendian.payments.sandbox.v1", hashlib.sha256).digest()


def sign(body: bytes, timestamp: int) -> str:
    mac = hmac.new(_key(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _gateway(payment) -> dict:
    return dict((payment.provider_data or {}).get("gateway") or {})


def gateway_paid(payment) -> bool:
    """Whether the customer has paid `payment` at the sandbox gateway."""
    return _gateway(payment).get("state") == "paid"


def customer_pays(payment, *, now: dt.datetime) -> bool:
    """The customer pays at the sandbox gateway (the caller holds the payment row and saves it).
    False when the gateway has closed the trade; paying twice is paying once."""
    gateway = _gateway(payment)
    if gateway.get("state") == "closed":
        return False
    if gateway.get("state") != "paid":
        gateway = {
            "state": "paid",
            "transaction_id": "sbx_" + secrets.token_hex(12),
            "amount": payment.amount,
            "paid_at": now.isoformat(),
        }
        payment.provider_data = {**(payment.provider_data or {}), "gateway": gateway}
    return True


def signed_notification(payment, *, timestamp: int | None = None) -> tuple[dict, bytes]:
    """The gateway's notification of a paid sandbox payment: (headers, body). Redeliveries carry
    the same notification id."""
    gateway = _gateway(payment)
    if gateway.get("state") != "paid":
        raise ProviderError("the sandbox payment has not been paid")
    body = json.dumps(
        {
            "id": "evt_" + gateway["transaction_id"],
            "event_type": PAID_EVENT,
            "out_trade_no": payment.out_trade_no,
            "transaction_id": gateway["transaction_id"],
            "amount": gateway["amount"],
            "currency": payment.currency,
            "paid_at": gateway["paid_at"],
        },
        separators=(",", ":"),
    ).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(body, timestamp)}, body


class SandboxProvider(Provider):
    name = "sandbox"

    def create(self, payment) -> dict:
        return {"gateway": _gateway(payment) or {"state": "open"}}

    def client_params(self, payment, *, base_url: str) -> dict:
        return {"confirm_url": f"{base_url.rstrip('/')}/sandbox-pay/{payment.public_id}/confirm"}

    def parse_notification(self, *, headers, body: bytes) -> PaymentEvent:
        headers = {str(k).lower(): v for k, v in headers.items()}
        timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
        signature = headers.get(SIGNATURE_HEADER.lower(), "")
        if not timestamp.isdigit() or not signature:
            raise NotificationRejected("missing signature headers")
        if abs(time.time() - int(timestamp)) > WINDOW_S:
            raise NotificationRejected("timestamp out of window")
        if not hmac.compare_digest(sign(body, int(timestamp)), signature):
            raise NotificationRejected("bad signature")
        try:
            data = json.loads(body)
            amount = data["amount"]
            if isinstance(amount, bool) or not isinstance(amount, int):
                raise ValueError("amount")
            paid_at = dt.datetime.fromisoformat(data["paid_at"])
            if paid_at.tzinfo is None:
                raise ValueError("paid_at")
            return PaymentEvent(
                notification_id=str(data["id"]),
                event_type=str(data["event_type"]),
                kind="payment",
                out_trade_no=str(data["out_trade_no"]),
                amount=amount,
                transaction_id=str(data["transaction_id"]),
                paid_at=paid_at,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationRejected(f"malformed notification: {exc}") from exc

    def query(self, payment) -> QueryResult:
        gateway = _gateway(payment)
        if gateway.get("state") == "paid":
            return QueryResult(
                state="paid",
                amount=gateway["amount"],
                transaction_id=gateway["transaction_id"],
                paid_at=dt.datetime.fromisoformat(gateway["paid_at"]),
            )
        if gateway.get("state") == "closed":
            return QueryResult(state="closed")
        return QueryResult(state="pending")

    def close(self, payment) -> None:
        gateway = _gateway(payment)
        if gateway.get("state") == "paid":
            raise ProviderError("the sandbox payment was paid; it cannot be closed")
        payment.provider_data = {**(payment.provider_data or {}), "gateway": {"state": "closed"}}

    def refund(self, refund) -> RefundResult:
        return RefundResult(state="succeeded", provider_refund_id="sbr_" + refund.out_refund_no)

    def refund_query(self, refund) -> RefundResult:
        # The gateway refunds as it receives (`refund` answers `succeeded`) and keeps no refund
        # records: a refund still pending here never reached it, and is safe to send again.
        return RefundResult(state="not_found")
