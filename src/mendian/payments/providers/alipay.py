"""Alipay open platform (RSA2), mobile-web payments (`alipay.trade.wap.pay`) for the H5 storefront,
on `cryptography` and `httpx`.

Requests carry the common parameters (`app_id`, `method`, `format=JSON`, `charset=utf-8`,
`sign_type=RSA2`, `timestamp` in Beijing time, `version=1.0`, `biz_content` as JSON) and a `sign`:
SHA256withRSA (PKCS#1 v1.5) with the app private key over the non-empty parameters but `sign`,
sorted by name and joined `k=v&…` unencoded. A reply `{"<method>_response": {…}, "sign": …}` is
signed by Alipay over the exact text of the `_response` value; every reply is verified with the
Alipay public key. An async notification (a form-encoded POST) is signed over all its fields but
`sign` and `sign_type`; it is answered with the literal `success`.

Account `config`: `app_id`, `alipay_public_key` (PEM or the bare base64 Alipay's tools print),
`seller_id` (optional: the receiving account `2088…`, sent with each payment and required of each
notification), `gateway` (default the production gateway), `notify_url` (optional).
Account secret: `app_private_key` (PEM or bare base64, PKCS#8 or PKCS#1). Keys are never logged.
"""

import base64
import binascii
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from mendian.payments.providers.base import (
    NotificationRejected,
    PaymentEvent,
    Provider,
    ProviderError,
    QueryResult,
    RefundResult,
)

logger = logging.getLogger("mendian.payments.alipay")

NAME = "alipay"
GATEWAY = "https://openapi.alipay.com/gateway.do"
NOTIFY_PATH = "/api/v1/payments/notify/alipay"
# Where the cashier sends the customer back (after paying, or when they give up): the order's
# storefront page, by its URL name; the account page when the storefront has none.
RETURN_URL_NAME = "storefront:order"
RETURN_FALLBACK = "/me/"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PAID_STATUSES = ("TRADE_SUCCESS", "TRADE_FINISHED")
# Alipay redelivers an unacknowledged notification 8 times within about 25 hours; an older one
# is a replay.
NOTIFY_MAX_AGE = dt.timedelta(hours=48)
NOTIFY_MAX_AHEAD = dt.timedelta(minutes=10)
# Business failures that say "not now" rather than "no": retried with the same request number.
_RETRYABLE = {
    "ACQ.SYSTEM_ERROR",
    "ACQ.SELLER_BALANCE_NOT_ENOUGH",
    "ACQ.REFUND_CHARGE_ERROR",
    "isp.unknow-error",
    "aop.unknow-error",
}
_YUAN = re.compile(r"(0|[1-9]\d{0,11})(?:\.(\d{1,2}))?")


# --- primitives ----------------------------------------------------------------------------------


def fen_to_yuan(amount: int) -> str:
    """1150 → "11.50": Alipay's amounts are yuan with two decimals; ours are integer fen."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError("an amount is a non-negative whole number of fen")
    return f"{amount // 100}.{amount % 100:02d}"


def yuan_to_fen(text: str) -> int:
    """ "11.50" → 1150, exactly (no floats); ValueError for anything but a plain decimal."""
    match = _YUAN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("not a yuan amount")
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def _pem(text: str, label: str) -> bytes:
    text = (text or "").strip()
    if "-----BEGIN" in text:
        return text.encode("ascii")
    body = re.sub(r"\s+", "", text)
    base64.b64decode(body, validate=True)
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n".encode()


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """PEM, or a bare base64 body (PKCS#8 or PKCS#1) as Alipay's key tool prints it."""
    try:
        key = serialization.load_pem_private_key(_pem(text, "PRIVATE KEY"), password=None)
    except ValueError:
        key = serialization.load_pem_private_key(_pem(text, "RSA PRIVATE KEY"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the app private key is not an RSA key")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(_pem(text, "PUBLIC KEY"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the Alipay public key is not an RSA key")
    return key


def rsa2_sign(key: rsa.RSAPrivateKey, content: str) -> str:
    return base64.b64encode(key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, content.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def request_content(params: dict) -> str:
    """What a request signature covers: the non-empty parameters but `sign`, sorted, `k=v&…`."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in ("", None))


def notification_content(fields: dict) -> str:
    """What a notification signature covers: every field but `sign` and `sign_type`, sorted."""
    return "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k not in ("sign", "sign_type"))


def reply_members(text: str) -> dict[str, str]:
    """The top-level members of a JSON object as their exact source text (Alipay signs the text
    of `<method>_response` as sent, so it must not be re-serialized)."""
    decoder = json.JSONDecoder()
    spans: dict[str, str] = {}
    ws = re.compile(r"\s*")
    i = ws.match(text, 0).end()
    if text[i : i + 1] != "{":
        raise ValueError("not an object")
    i = ws.match(text, i + 1).end()
    if text[i : i + 1] == "}":
        return spans
    while True:
        key, i = decoder.raw_decode(text, i)
        if not isinstance(key, str):
            raise ValueError("bad key")
        i = ws.match(text, i).end()
        if text[i : i + 1] != ":":
            raise ValueError("expected ':'")
        start = ws.match(text, i + 1).end()
        _, end = decoder.raw_decode(text, start)
        spans[key] = text[start:end]
        i = ws.match(text, end).end()
        if text[i : i + 1] == ",":
            i = ws.match(text, i + 1).end()
            continue
        if text[i : i + 1] == "}" and not text[i + 1 :].strip():
            return spans
        raise ValueError("expected ',' or '}'")


def beijing_time(value: dt.datetime) -> str:
    return value.astimezone(BEIJING).strftime(TIME_FORMAT)


def parse_beijing_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)


def _return_path(order) -> str:
    try:
        return reverse(RETURN_URL_NAME, args=[order.pk])
    except NoReverseMatch:
        return RETURN_FALLBACK


def _subject(order) -> str:
    """The trade title the customer sees in Alipay: no `/ = &` (Alipay refuses them)."""
    store = getattr(getattr(order, "store", None), "name", "") or ""
    text = f"{store} 订单 {order.number}".strip()
    return re.sub(r"[/=&]", " ", text)[:128]


# --- the account ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class _Credentials:
    merchant_id: int
    app_id: str
    seller_id: str
    gateway: str
    notify_url: str
    alipay_key: rsa.RSAPublicKey
    private_key_text: str

    def __repr__(self) -> str:  # never show a key in a traceback or a log
        return f"<Alipay app {self.app_id}>"

    def private_key(self) -> rsa.RSAPrivateKey:
        try:
            return load_private_key(self.private_key_text)
        except (ValueError, TypeError, binascii.Error):
            raise ProviderError(f"Alipay app {self.app_id}: the app private key cannot be loaded") from None


def _credentials(account) -> _Credentials:
    config = account.config or {}
    app_id = str(config.get("app_id") or "")
    try:
        alipay_key = load_public_key(str(config.get("alipay_public_key") or ""))
    except (ValueError, TypeError, binascii.Error):
        raise ProviderError(f"Alipay app {app_id}: the Alipay public key cannot be loaded") from None
    if not app_id:
        raise ProviderError("the Alipay account has no app_id")
    return _Credentials(
        merchant_id=account.merchant_id,
        app_id=app_id,
        seller_id=str(config.get("seller_id") or ""),
        gateway=str(config.get("gateway") or GATEWAY),
        notify_url=str(config.get("notify_url") or ""),
        alipay_key=alipay_key,
        private_key_text=str(account.secret_values().get("app_private_key") or ""),
    )


def _accounts_for_app(app_id: str) -> list:
    from mendian.payments.models import ProviderAccount

    if not app_id or len(app_id) > 32:
        return []
    # Enabled or not: a disabled account's payments are still settled.
    return list(ProviderAccount.objects.filter(provider=NAME, config__app_id=app_id).order_by("pk"))


class AlipayProvider(Provider):
    name = NAME

    def __init__(self, account=None):
        super().__init__(account)
        self._creds: _Credentials | None = None
        self.site_url = ""

    @property
    def creds(self) -> _Credentials:
        if self._creds is None:
            if self.account is None:
                raise ProviderError("no Alipay account")
            self._creds = _credentials(self.account)
        return self._creds

    # --- requests ---

    def _signed(self, method: str, biz: dict, **extra: str) -> dict:
        creds = self.creds
        params = {
            "app_id": creds.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": beijing_time(timezone.now()),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
            **{k: v for k, v in extra.items() if v},
        }
        params["sign"] = rsa2_sign(creds.private_key(), request_content(params))
        return params

    def _call(self, method: str, biz: dict) -> dict:
        """One signed call; returns the verified `<method>_response`. `ProviderError` when Alipay
        cannot be reached, answers 5xx, `ACQ.SYSTEM_ERROR` or the like, or a reply that fails
        verification. A business refusal (`code` ≠ 10000) is returned for the caller to judge."""
        creds = self.creds
        params = self._signed(method, biz)
        # As Alipay's own SDKs send it: common parameters in the query string, biz_content in the body.
        content = params.pop("biz_content")
        try:
            with httpx.Client(timeout=TIMEOUT) as client:
                response = client.post(creds.gateway, params=params, data={"biz_content": content})
        except httpx.HTTPError as exc:
            raise ProviderError(f"Alipay unreachable ({method}): {exc.__class__.__name__}") from None
        if response.status_code != 200:
            raise ProviderError(f"Alipay answered HTTP {response.status_code} to {method}")
        try:
            members = reply_members(response.content.decode("utf-8"))
        except (ValueError, UnicodeError):
            raise ProviderError(f"Alipay's reply to {method} is not JSON") from None
        key = method.replace(".", "_") + "_response"
        if key not in members:
            error = _json_object(members.get("error_response", "{}"))
            raise ProviderError(
                f"Alipay refused {method}: {error.get('code', '')} {str(error.get('sub_code', ''))[:60]}"
            )
        signature = _json_string(members.get("sign", '""'))
        if not signature or not rsa2_verify(creds.alipay_key, members[key], signature):
            raise ProviderError(f"Alipay's reply to {method} failed signature verification")
        data = _json_object(members[key])
        code, sub_code = str(data.get("code", "")), str(data.get("sub_code", ""))
        if code == "20000" or sub_code in _RETRYABLE or sub_code.lower() in _RETRYABLE:
            raise ProviderError(f"Alipay could not process {method} now: {code} {sub_code[:60]}")
        if code != "10000":
            logger.info("Alipay %s: %s %s", method, code, sub_code[:60])
        return data

    # --- payments ---

    def create(self, payment) -> dict:
        # The trade comes into being at Alipay when the customer opens the signed pay URL; this
        # only makes sure the account's keys load before a customer is sent there.
        self.creds.private_key()
        return {"alipay": {"product_code": "QUICK_WAP_WAY"}}

    def client_params(self, payment, *, base_url: str) -> dict:
        creds = self.creds
        order = payment.order
        site = (base_url or self.site_url).rstrip("/")
        biz = {
            "out_trade_no": payment.out_trade_no,
            "total_amount": fen_to_yuan(payment.amount),
            "subject": _subject(order),
            "product_code": "QUICK_WAP_WAY",
            # The cashier refuses payment after the order's deadline, so a trade closed by the
            # reconciliation job cannot be paid afterwards from a pay URL still open somewhere.
            "time_expire": beijing_time(order.pay_deadline),
            "quit_url": site + _return_path(order),
        }
        if creds.seller_id:
            biz["seller_id"] = creds.seller_id
        params = self._signed(
            "alipay.trade.wap.pay",
            biz,
            notify_url=creds.notify_url or site + NOTIFY_PATH,
            return_url=site + _return_path(order),
        )
        separator = "&" if "?" in creds.gateway else "?"
        return {"pay_url": creds.gateway + separator + urlencode(params)}

    def query(self, payment) -> QueryResult:
        data = self._call("alipay.trade.query", {"out_trade_no": payment.out_trade_no})
        if data.get("code") != "10000":
            if data.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return QueryResult(state="pending")  # the customer never opened the cashier
            raise ProviderError(f"Alipay could not query the trade: {str(data.get('sub_code'))[:60]}")
        if data.get("out_trade_no") != payment.out_trade_no:
            raise ProviderError("Alipay answered about another trade")
        status = data.get("trade_status")
        if status in PAID_STATUSES:
            try:
                amount = yuan_to_fen(data.get("total_amount"))
                paid_at = parse_beijing_time(data["send_pay_date"]) if data.get("send_pay_date") else None
            except ValueError:
                raise ProviderError("Alipay's trade has an unreadable amount or time") from None
            return QueryResult(
                state="paid", amount=amount, transaction_id=str(data.get("trade_no") or ""), paid_at=paid_at
            )
        if status == "WAIT_BUYER_PAY":
            # Not paid, and past our deadline when reconciliation asks: close it.
            return QueryResult(state="pending")
        if status == "TRADE_CLOSED":
            return QueryResult(state="closed")
        raise ProviderError(f"Alipay reports an unknown trade status {str(status)[:30]}")

    def close(self, payment) -> None:
        data = self._call("alipay.trade.close", {"out_trade_no": payment.out_trade_no})
        if data.get("code") == "10000":
            return
        if data.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return  # never opened; `time_expire` keeps the pay URL from opening it later
        raise ProviderError(f"Alipay could not close the trade: {str(data.get('sub_code'))[:60]}")

    def refund(self, refund) -> RefundResult:
        payment = refund.payment
        biz = {
            "out_trade_no": payment.out_trade_no,
            "refund_amount": fen_to_yuan(refund.amount),
            "out_request_no": refund.out_refund_no,
        }
        if refund.reason:
            biz["refund_reason"] = re.sub(r"[/=&]", " ", refund.reason)[:80]
        data = self._call("alipay.trade.refund", biz)
        if data.get("code") != "10000":
            sub_code = str(data.get("sub_code") or data.get("code") or "")
            return RefundResult(
                state="failed", failure=f"Alipay: {sub_code[:60]} {str(data.get('sub_msg') or '')[:100]}"
            )
        trade_no = str(data.get("trade_no") or "")
        if data.get("fund_change") == "Y":
            return RefundResult(state="succeeded", provider_refund_id=trade_no)
        # "N" is also Alipay's answer to a repeat of a refund that went through: ask which it is.
        result = self.refund_query(refund)
        if result.state == "succeeded":
            return result
        return RefundResult(state="pending", provider_refund_id=trade_no)

    def refund_query(self, refund) -> RefundResult:
        """`alipay.trade.fastpay.refund.query` by `out_request_no`: `refund_status` is
        `REFUND_SUCCESS` once refunded; a reply without it means Alipay has no such refund (or not
        yet: it then refunds a repeat of the same `out_request_no` once)."""
        data = self._call(
            "alipay.trade.fastpay.refund.query",
            {"out_trade_no": refund.payment.out_trade_no, "out_request_no": refund.out_refund_no},
        )
        if data.get("code") != "10000":
            if data.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return RefundResult(state="not_found")
            raise ProviderError(f"Alipay could not query the refund: {str(data.get('sub_code'))[:60]}")
        if data.get("refund_status") != "REFUND_SUCCESS":
            return RefundResult(state="not_found")
        if data.get("out_request_no", refund.out_refund_no) != refund.out_refund_no:
            raise ProviderError("Alipay answered about another refund")
        try:
            refunded = yuan_to_fen(data.get("refund_amount"))
        except ValueError:
            refunded = None
        if refunded != refund.amount:
            logger.error("Alipay refund %s settled for another amount", refund.out_refund_no)
            raise ProviderError("Alipay reports the refund for another amount")
        return RefundResult(state="succeeded", provider_refund_id=str(data.get("trade_no") or ""))

    # --- notifications ---

    def parse_notification(self, *, headers, body: bytes) -> PaymentEvent:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeError, ValueError):
            raise NotificationRejected("not a form-encoded notification") from None
        fields = dict(pairs)
        if len(fields) != len(pairs):
            raise NotificationRejected("a field appears twice")
        signature = fields.get("sign", "")
        if not signature:
            raise NotificationRejected("unsigned")
        if fields.get("sign_type", "RSA2") != "RSA2":
            raise NotificationRejected("not RSA2")
        content = notification_content(fields)
        for account in _accounts_for_app(fields.get("app_id", "")):
            try:
                creds = _credentials(account)
            except ProviderError:
                continue
            if rsa2_verify(creds.alipay_key, content, signature):
                self.account, self._creds = account, creds
                return self._event(fields)
        raise NotificationRejected("bad signature or unknown app_id")

    def _event(self, fields: dict) -> PaymentEvent:
        creds = self.creds
        if creds.seller_id and fields.get("seller_id") != creds.seller_id:
            raise NotificationRejected("seller_id is not this account's")
        try:
            sent = parse_beijing_time(fields["notify_time"])
            now = timezone.now()
            if not now - NOTIFY_MAX_AGE <= sent <= now + NOTIFY_MAX_AHEAD:
                raise NotificationRejected("notify_time out of window")
            status = fields["trade_status"]
            common = {
                "notification_id": fields["notify_id"],
                "event_type": status,
                "out_trade_no": fields["out_trade_no"],
                "amount": yuan_to_fen(fields["total_amount"]),
                "transaction_id": fields.get("trade_no", ""),
                "extra": {"merchant_id": creds.merchant_id},
            }
            if not common["notification_id"] or not common["out_trade_no"]:
                raise ValueError("empty notify_id or out_trade_no")
            if fields.get("out_biz_no") or fields.get("gmt_refund"):
                # A refund's trade_status_sync (TRADE_SUCCESS after a partial refund, TRADE_CLOSED
                # after a full one). Refunds are settled from the refund reply; its `refund_fee`
                # is the trade's running total, not this refund's amount, so it settles nothing.
                return PaymentEvent(kind="ignored", **common)
            if status in PAID_STATUSES:
                paid_at = parse_beijing_time(fields["gmt_payment"]) if fields.get("gmt_payment") else None
                return PaymentEvent(kind="payment", paid_at=paid_at, **common)
            # WAIT_BUYER_PAY, TRADE_CLOSED (unpaid): nothing to do but acknowledge.
            return PaymentEvent(kind="ignored", **common)
        except (KeyError, ValueError) as exc:
            raise NotificationRejected(f"malformed notification: {exc.__class__.__name__}") from None

    def ack(self) -> HttpResponse:
        return HttpResponse("success", content_type="text/plain")


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json_string(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""
