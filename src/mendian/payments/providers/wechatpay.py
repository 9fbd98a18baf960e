"""WeChat Pay API v3, JSAPI (mini-program) payments, on `cryptography` and `httpx`.

Requests are signed `WECHATPAY2-SHA256-RSA2048` with the merchant API key; responses and callbacks
are verified with the WeChat Pay platform key named by `Wechatpay-Serial` (a platform certificate,
or a `PUB_KEY_ID_…` public key), within ±300 s; callbacks' resources are AES-256-GCM encrypted with
the APIv3 key. Decrypted payloads and keys are never logged.

Account `config`: `appid`, `mchid`, `merchant_serial_no`, `api_base`, `notify_url` (optional),
`platform_certificates` {serial: PEM} and/or `public_key_id` + `public_key` (PEM).
Account secrets: `private_key` (PEM), `apiv3_key` (32 characters).
"""

import base64
import datetime as dt
import json
import logging
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db.models import Q
from django.http import HttpResponse, JsonResponse

from mendian.core.errors import ValidationFailed
from mendian.payments.providers.base import (
    AbnormalRefundRefused,
    AbnormalRefundUnsupported,
    NotificationRejected,
    PaymentEvent,
    Provider,
    ProviderError,
    QueryResult,
    RefundResult,
)

logger = logging.getLogger("mendian.payments.wechatpay")

NAME = "wechatpay"
API_BASE = "https://api.mch.weixin.qq.com"
NOTIFY_PATH = "/api/v1/payments/notify/wechatpay"
AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
WINDOW_S = 300
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
PAID_EVENT = "TRANSACTION.SUCCESS"
REFUND_EVENTS = ("REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED")
CHINA = ZoneInfo("Asia/Shanghai")

# trade_state → QueryResult.state. REFUND: it was paid (a refund has started since).
_TRADE_STATES = {
    "SUCCESS": "paid",
    "REFUND": "paid",
    "NOTPAY": "pending",
    "USERPAYING": "paying",
    "CLOSED": "closed",
    "REVOKED": "closed",
    "PAYERROR": "failed",
}
# Refund errors that are final for this out_refund_no; anything else is retried.
_REFUND_REJECTIONS = ("PARAM_ERROR", "INVALID_REQUEST", "USER_ACCOUNT_ABNORMAL", "REFUND_NOT_ALLOWED")
# A refund's `status` (replies, queries, REFUND.* callbacks) → RefundResult.state. ABNORMAL: WeChat
# accepted the refund but could not pay it out (the buyer's card cancelled or frozen): the money
# waits in WeChat's refund account until the merchant acts (apply-abnormal-refund, or the merchant
# platform). CLOSED: never paid out (e.g. the balance stayed short for 7 days).
_REFUND_STATES = {"SUCCESS": "succeeded", "PROCESSING": "pending", "ABNORMAL": "abnormal", "CLOSED": "failed"}
# `user_received_account` of a refund paid back to the merchant (an abnormal refund the merchant
# had returned, here or in the merchant platform): SUCCESS then means the buyer still has not been
# paid (`returned`: it stays abnormal for HQ to settle).
_MERCHANT_ACCOUNTS = ("商户基本账户", "商户结算银行账户")


def _refund_state(refund_status: str, received_by: str, default=None) -> tuple[str | None, str]:
    """(RefundResult.state, failure) of a refund's `status` and `user_received_account`."""
    state = _REFUND_STATES.get(refund_status, default)
    if state == "succeeded" and str(received_by or "").startswith(_MERCHANT_ACCOUNTS):
        return "returned", ""
    return state, (f"WeChat Pay: {refund_status}" if state in ("failed", "abnormal") else "")


# HQ's ways to settle an abnormal refund → apply-abnormal-refund's `type`.
_ABNORMAL_TYPES = {"user_bank_card": "USER_BANK_CARD", "merchant_bank_card": "MERCHANT_BANK_CARD"}


# --- primitives ----------------------------------------------------------------------------------


def _nonce() -> str:
    return secrets.token_hex(16)


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the merchant key is not an RSA key")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """A platform certificate or a bare public key (public-key mode), PEM."""
    data = pem.encode()
    key = (
        x509.load_pem_x509_certificate(data).public_key()
        if b"BEGIN CERTIFICATE" in data
        else serialization.load_pem_public_key(data)
    )
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the platform key is not an RSA key")
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def request_message(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What a request signature covers: five lines, the path with its query string."""
    return f"{method}\n{path}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def signed_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What a response or callback signature covers: three lines, the raw body."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def decrypt_resource(apiv3_key: bytes, resource: dict) -> dict:
    """AES-256-GCM with the APIv3 key; the tag is the last 16 bytes of the ciphertext."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise ValueError("unsupported algorithm")
    plain = AESGCM(apiv3_key).decrypt(
        str(resource["nonce"]).encode(),
        base64.b64decode(resource["ciphertext"], validate=True),
        str(resource.get("associated_data") or "").encode(),
    )
    data = json.loads(plain)
    if not isinstance(data, dict):
        raise ValueError("the resource is not an object")
    return data


def _lower(headers) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _timestamp_fresh(value: str, now: float) -> bool:
    return value.isdigit() and abs(now - int(value)) <= WINDOW_S


def _int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer amount")
    return value


def _time(value) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("a time without an offset")
    return parsed


# --- the account -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Credentials:
    merchant_id: int
    appid: str
    mchid: str
    serial_no: str
    api_base: str
    notify_url: str
    platform_keys: dict
    public_key_id: str
    private_key: rsa.RSAPrivateKey
    apiv3_key: bytes
    # The certificates as configured, for `encryption_serial` (read only when a field is encrypted).
    platform_certificates: dict

    def encryption_serial(self) -> str:
        """The platform key that encrypts sensitive request fields: the public key when configured
        (as WeChat recommends), else the platform certificate valid longest."""
        if self.public_key_id and self.public_key_id in self.platform_keys:
            return self.public_key_id
        return _longest_valid(self.platform_certificates)

    def __repr__(self) -> str:  # never show keys in a traceback or a log
        return f"<WeChat Pay credentials mchid={self.mchid}>"


class _Misconfigured(ValueError):
    pass


def _credentials(account) -> _Credentials:
    config = account.config or {}
    secret = account.secret_values()
    try:
        keys = {
            str(serial): load_public_key(pem)
            for serial, pem in (config.get("platform_certificates") or {}).items()
        }
        if config.get("public_key_id") and config.get("public_key"):
            keys[str(config["public_key_id"])] = load_public_key(config["public_key"])
        apiv3_key = str(secret.get("apiv3_key") or "").encode()
        if len(apiv3_key) != 32:
            raise _Misconfigured("the APIv3 key must be 32 bytes")
        if not keys:
            raise _Misconfigured("no platform certificate or public key")
        for field in ("appid", "mchid", "merchant_serial_no"):
            if not config.get(field):
                raise _Misconfigured(f"{field} is missing")
        return _Credentials(
            merchant_id=account.merchant_id,
            appid=str(config["appid"]),
            mchid=str(config["mchid"]),
            serial_no=str(config["merchant_serial_no"]),
            api_base=str(config.get("api_base") or API_BASE).rstrip("/"),
            notify_url=str(config.get("notify_url") or ""),
            platform_keys=keys,
            public_key_id=str(config.get("public_key_id") or ""),
            private_key=load_private_key(str(secret.get("private_key") or "")),
            apiv3_key=apiv3_key,
            platform_certificates=dict(config.get("platform_certificates") or {}),
        )
    except (ValueError, TypeError, KeyError) as exc:
        # Our own messages name a field; a parser's might quote what it parsed, so only its type.
        reason = (
            str(exc) if isinstance(exc, _Misconfigured) else f"a key does not load ({exc.__class__.__name__})"
        )
        logger.error("WeChat Pay account %s is misconfigured: %s", account.pk, reason)
        raise ProviderError(f"WeChat Pay account {account.pk} is misconfigured") from None


def _longest_valid(certificates: dict) -> str:
    """The serial of the platform certificate that expires last ("" for none)."""
    best, best_until = "", None
    for serial, pem in certificates.items():
        data = str(pem).encode()
        if b"BEGIN CERTIFICATE" not in data:
            continue
        until = x509.load_pem_x509_certificate(data).not_valid_after_utc
        if best_until is None or until > best_until:
            best, best_until = str(serial), until
    return best


def encrypt_sensitive(key: rsa.RSAPublicKey, text: str) -> str:
    """A sensitive request field (a card number, a name) as WeChat Pay wants it: RSA-OAEP (SHA-1,
    MGF1 SHA-1) with the platform key, base64."""
    # SHA-1 is WeChat Pay's choice (OAEPWithSHA-1AndMGF1Padding); within OAEP it is not the
    # collision-prone use the lint warns of.
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    cipher = key.encrypt(text.encode(), oaep)
    return base64.b64encode(cipher).decode()


def _accounts_for_serial(serial: str) -> list:
    from mendian.payments.models import ProviderAccount

    # Disabled accounts too: money taken before an account was disabled must still be recorded.
    return list(
        ProviderAccount.objects.filter(provider=NAME)
        .filter(Q(config__platform_certificates__has_key=serial) | Q(config__public_key_id=serial))
        .order_by("pk")
    )


# --- the adapter ---------------------------------------------------------------------------------


class WechatPayProvider(Provider):
    name = NAME

    def __init__(self, account=None):
        super().__init__(account)
        self._creds: _Credentials | None = None
        # The site's absolute root URL (the service sets it from the customer's request): the
        # default notify URL when the account names none.
        self.site_url = ""

    @property
    def creds(self) -> _Credentials:
        if self._creds is None:
            if self.account is None:
                raise ProviderError("no WeChat Pay account")
            self._creds = _credentials(self.account)
        return self._creds

    # --- HTTP ---

    def _call(
        self, method: str, path: str, *, body: dict | None = None, serial: str = ""
    ) -> tuple[int, dict]:
        """One signed call; the reply's signature is verified. `ProviderError` when WeChat Pay
        cannot be reached, answers 5xx or an unverifiable reply. `serial`: the platform key that
        encrypted the body's sensitive fields."""
        creds = self.creds
        content = (
            b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        )
        try:
            with httpx.Client(timeout=TIMEOUT) as client:
                headers = {"Accept": "application/json", "Content-Type": "application/json"}
                if serial or creds.public_key_id:
                    # The key that encrypted the body; in public-key mode, also which of WeChat
                    # Pay's keys we verify with.
                    headers["Wechatpay-Serial"] = serial or creds.public_key_id
                request = client.build_request(
                    method, creds.api_base + path, content=content, headers=headers
                )
                timestamp, nonce = str(int(time.time())), _nonce()
                signature = rsa_sign(
                    creds.private_key,
                    request_message(method, request.url.raw_path.decode(), timestamp, nonce, content),
                )
                request.headers["Authorization"] = (
                    f'{AUTH_SCHEMA} mchid="{creds.mchid}",nonce_str="{nonce}",signature="{signature}",'
                    f'timestamp="{timestamp}",serial_no="{creds.serial_no}"'
                )
                response = client.send(request)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ProviderError(f"WeChat Pay unreachable: {exc.__class__.__name__}") from None
        if response.status_code >= 500:
            raise ProviderError(f"WeChat Pay answered {response.status_code}")
        if not self._verified(response.headers, response.content):
            # WeChat Pay does not sign a refusal of our own signature (401); an unsigned reply is
            # never acted on beyond "retry later".
            if response.status_code >= 400:
                raise ProviderError(f"WeChat Pay answered {response.status_code} (unsigned)")
            raise ProviderError("WeChat Pay's reply failed signature verification")
        try:
            data = json.loads(response.content) if response.content else {}
        except ValueError:
            raise ProviderError("WeChat Pay's reply is not JSON") from None
        return response.status_code, data if isinstance(data, dict) else {}

    def _verified(self, headers, body: bytes) -> bool:
        headers = _lower(headers)
        signature = headers.get("wechatpay-signature", "")
        timestamp = headers.get("wechatpay-timestamp", "")
        key = self.creds.platform_keys.get(headers.get("wechatpay-serial", ""))
        if key is None or not signature or signature.startswith(SIGNTEST_PREFIX):
            return False
        if not _timestamp_fresh(timestamp, time.time()):
            return False
        return rsa_verify(key, signed_message(timestamp, headers.get("wechatpay-nonce", ""), body), signature)

    @staticmethod
    def _error(status: int, data: dict) -> str:
        return f"{status} {str(data.get('code') or '')[:40]}"

    # --- payments ---

    def _notify_url(self) -> str:
        return self.creds.notify_url or self.site_url.rstrip("/") + NOTIFY_PATH

    def create(self, payment) -> dict:
        order = payment.order
        openid = order.customer.wechat_openid
        if not openid:
            raise ValidationFailed(
                "Paying with WeChat Pay needs a WeChat login in the mini-program.",
                code="wechat_openid_missing",
            )
        creds = self.creds
        notify_url = (payment.provider_data or {}).get("notify_url") or self._notify_url()
        body = {
            "appid": creds.appid,
            "mchid": creds.mchid,
            "description": f"订单 {order.number}",
            "out_trade_no": payment.out_trade_no,
            "time_expire": order.pay_deadline.astimezone(CHINA).isoformat(timespec="seconds"),
            "notify_url": notify_url,
            "amount": {"total": payment.amount, "currency": payment.currency},
            "payer": {"openid": openid},
        }
        status, data = self._call("POST", "/v3/pay/transactions/jsapi", body=body)
        prepay_id = data.get("prepay_id")
        if status != 200 or not isinstance(prepay_id, str) or not prepay_id:
            raise ProviderError(f"WeChat Pay refused the order: {self._error(status, data)}")
        return {"prepay_id": prepay_id, "notify_url": notify_url, "mchid": creds.mchid}

    def client_params(self, payment, *, base_url: str) -> dict:
        creds = self.creds
        timestamp, nonce = str(int(time.time())), _nonce()
        package = f"prepay_id={payment.provider_data['prepay_id']}"
        message = f"{creds.appid}\n{timestamp}\n{nonce}\n{package}\n".encode()
        return {
            "appId": creds.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": rsa_sign(creds.private_key, message),
        }

    def query(self, payment) -> QueryResult:
        creds = self.creds
        status, data = self._call(
            "GET", f"/v3/pay/transactions/out-trade-no/{payment.out_trade_no}?mchid={creds.mchid}"
        )
        if status == 404:
            # WeChat never saw the order, so nobody can pay it.
            return QueryResult(state="closed")
        if status != 200:
            raise ProviderError(f"WeChat Pay query failed: {self._error(status, data)}")
        if (data.get("mchid"), data.get("appid"), data.get("out_trade_no")) != (
            creds.mchid,
            creds.appid,
            payment.out_trade_no,
        ):
            raise ProviderError("WeChat Pay's query reply is for another trade")
        state = _TRADE_STATES.get(str(data.get("trade_state")))
        if state is None:
            raise ProviderError("WeChat Pay answered an unknown trade state")
        if state != "paid":
            return QueryResult(state=state)
        try:
            return QueryResult(
                state="paid",
                amount=_int((data.get("amount") or {}).get("total")),
                transaction_id=str(data.get("transaction_id") or ""),
                paid_at=_time(data.get("success_time")),
            )
        except (ValueError, TypeError):
            raise ProviderError("WeChat Pay's query reply is malformed") from None

    def close(self, payment) -> None:
        creds = self.creds
        status, data = self._call(
            "POST",
            f"/v3/pay/transactions/out-trade-no/{payment.out_trade_no}/close",
            body={"mchid": creds.mchid},
        )
        if status not in (200, 204):
            raise ProviderError(f"WeChat Pay did not close the trade: {self._error(status, data)}")

    def refund(self, refund) -> RefundResult:
        payment = refund.payment
        notify_url = (payment.provider_data or {}).get("notify_url") or self._notify_url()
        body = {
            "out_trade_no": payment.out_trade_no,
            "out_refund_no": refund.out_refund_no,
            "reason": (refund.reason or "")[:80] or None,
            "notify_url": notify_url,
            "amount": {"refund": refund.amount, "total": payment.amount, "currency": payment.currency},
        }
        status, data = self._call(
            "POST", "/v3/refund/domestic/refunds", body={k: v for k, v in body.items() if v}
        )
        if status != 200:
            code = str(data.get("code") or "")
            if status == 400 and code in _REFUND_REJECTIONS:
                return RefundResult(state="failed", failure=f"WeChat Pay refused: {code}")
            raise ProviderError(f"WeChat Pay refund failed: {self._error(status, data)}")
        refund_id = str(data.get("refund_id") or "")
        refund_status = str(data.get("status") or "")
        state, failure = _refund_state(refund_status, data.get("user_received_account"), "pending")
        return RefundResult(state=state, provider_refund_id=refund_id, failure=failure)

    def _refund_reply(self, refund, data: dict, what: str) -> RefundResult:
        """A refund object WeChat answered about `refund` (a query, apply-abnormal-refund): it must
        be that refund, for its amount, in a known status."""
        if data.get("out_refund_no") != refund.out_refund_no:
            raise ProviderError(f"WeChat Pay's {what} reply is about another refund")
        if (data.get("amount") or {}).get("refund") != refund.amount:
            logger.error("WeChat Pay reports refund %s for another amount", refund.out_refund_no)
            raise ProviderError(f"WeChat Pay's {what} reply is for another amount")
        refund_status = str(data.get("status") or "")
        state, failure = _refund_state(refund_status, data.get("user_received_account"))
        if state is None:
            raise ProviderError(f"WeChat Pay answered an unknown refund status {refund_status[:20]}")
        return RefundResult(state=state, provider_refund_id=str(data.get("refund_id") or ""), failure=failure)

    def refund_query(self, refund) -> RefundResult:
        status, data = self._call(
            "GET", f"/v3/refund/domestic/refunds/{quote(refund.out_refund_no, safe='')}"
        )
        if status == 404 and data.get("code") == "RESOURCE_NOT_EXISTS":
            return RefundResult(state="not_found")
        if status != 200:
            raise ProviderError(f"WeChat Pay refund query failed: {self._error(status, data)}")
        return self._refund_reply(refund, data, "refund query")

    def refund_abnormal_apply(self, refund, *, method: str, bank_card=None) -> RefundResult:
        """`POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund`. `user_bank_card`
        needs `bank_card` (`bank_type`, `bank_account`, `real_name`); the number and the name go
        encrypted with the platform key and are never kept or logged."""
        kind = _ABNORMAL_TYPES.get(method)
        if kind is None:
            raise AbnormalRefundUnsupported(method)
        body = {"out_refund_no": refund.out_refund_no, "type": kind}
        serial = ""
        if kind == "USER_BANK_CARD":
            creds = self.creds
            serial = creds.encryption_serial()
            key = creds.platform_keys.get(serial)
            if key is None:
                raise ProviderError("no WeChat Pay platform key to encrypt the card with")
            body |= {
                "bank_type": bank_card.bank_type,
                "bank_account": encrypt_sensitive(key, bank_card.bank_account),
                "real_name": encrypt_sensitive(key, bank_card.real_name),
            }
        refund_id = refund.provider_refund_id or self.refund_query(refund).provider_refund_id
        if not refund_id:
            raise AbnormalRefundRefused("RESOURCE_NOT_EXISTS")
        status, data = self._call(
            "POST",
            f"/v3/refund/domestic/refunds/{quote(refund_id, safe='')}/apply-abnormal-refund",
            body=body,
            serial=serial,
        )
        if status != 200:
            if 400 <= status < 500:
                raise AbnormalRefundRefused(str(data.get("code") or status)[:40])
            raise ProviderError(f"WeChat Pay abnormal refund failed: {self._error(status, data)}")
        return self._refund_reply(refund, data, "abnormal refund")

    # --- notifications ---

    def parse_notification(self, *, headers, body: bytes) -> PaymentEvent:
        headers = _lower(headers)
        serial = headers.get("wechatpay-serial", "")
        signature = headers.get("wechatpay-signature", "")
        if signature.startswith(SIGNTEST_PREFIX):
            raise NotificationRejected("signature probe")
        if not serial or len(serial) > 64 or not signature:
            raise NotificationRejected("missing signature headers")
        if not _timestamp_fresh(headers.get("wechatpay-timestamp", ""), time.time()):
            raise NotificationRejected("timestamp out of window")
        for account in _accounts_for_serial(serial):
            adapter = WechatPayProvider(account)
            try:
                verified = adapter._verified(headers, body)
            except ProviderError:
                continue
            if verified:
                self.account, self._creds = account, adapter.creds
                return self._event(body)
        raise NotificationRejected("bad signature or unknown serial")

    def _event(self, body: bytes) -> PaymentEvent:
        creds = self.creds
        try:
            envelope = json.loads(body)
            resource = decrypt_resource(creds.apiv3_key, envelope["resource"])
        except InvalidTag:
            raise NotificationRejected("resource failed decryption") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationRejected(f"malformed notification: {exc.__class__.__name__}") from None
        try:
            event_type = str(envelope["event_type"])
            notification_id = str(envelope["id"])
            if resource.get("mchid") != creds.mchid:
                raise NotificationRejected("mchid is not this account's")
            extra = {"merchant_id": creds.merchant_id}
            if event_type == PAID_EVENT:
                if resource.get("appid") != creds.appid:
                    raise NotificationRejected("appid is not this account's")
                if resource.get("trade_state") != "SUCCESS":
                    raise NotificationRejected("a success event whose trade is not successful")
                return PaymentEvent(
                    notification_id=notification_id,
                    event_type=event_type,
                    kind="payment",
                    out_trade_no=str(resource["out_trade_no"]),
                    amount=_int(resource["amount"]["total"]),
                    transaction_id=str(resource["transaction_id"]),
                    paid_at=_time(resource.get("success_time")),
                    extra=extra,
                )
            if event_type in REFUND_EVENTS:
                if event_type != f"REFUND.{resource.get('refund_status')}":
                    raise NotificationRejected("the refund status contradicts the event")
                refund_state, failure = _refund_state(
                    event_type.removeprefix("REFUND."), resource.get("user_received_account")
                )
                succeeded = refund_state == "succeeded"
                return PaymentEvent(
                    notification_id=notification_id,
                    event_type=event_type,
                    kind="refund",
                    out_trade_no=str(resource["out_trade_no"]),
                    amount=_int(resource["amount"]["refund"]),
                    transaction_id=str(resource.get("transaction_id") or ""),
                    out_refund_no=str(resource["out_refund_no"]),
                    refund_succeeded=succeeded,
                    refund_state=refund_state,
                    extra={
                        **extra,
                        "refund_id": str(resource.get("refund_id") or ""),
                        "refund_failure": failure,
                    },
                )
            raise NotificationRejected(f"unsupported event {event_type[:40]}")
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationRejected(f"malformed resource: {exc.__class__.__name__}") from None

    def ack(self) -> HttpResponse:
        return HttpResponse(status=204)

    def reject(self, status: int, message: str) -> HttpResponse:
        """WeChat's failure reply: a 4xx/5xx with `{"code": "FAIL", "message": …}`; it retries."""
        return JsonResponse(
            {"code": "FAIL", "message": message}, status=status, json_dumps_params={"ensure_ascii": False}
        )
