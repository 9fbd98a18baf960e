"""A local stand-in for the WeChat Pay API v3 gateway: a real HTTP server on 127.0.0.1 in a thread
that speaks the published protocol. It verifies our `WECHATPAY2-SHA256-RSA2048` request signatures
with the merchant public key, answers the JSAPI, query, close, refund, refund query and
apply-abnormal-refund endpoints, signs every response with its platform key (a certificate or, in
public-key mode, a `PUB_KEY_ID_…` key), and builds signed, AES-256-GCM encrypted notifications as
WeChat Pay sends them.

Keys are generated once per test session with `cryptography`; nothing is mocked."""

import base64
import datetime as dt
import functools
import json
import re
import secrets
import string
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from mendian.payments.providers import wechatpay

APPID = "wx1234567890abcdef"
MCHID = "1900000109"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025010100000000000001"
AUTH_RE = re.compile(r'(\w+)="([^"]*)"')


def fresh_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def certificate(key, *, serial: int) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA stand-in")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@functools.cache
def keys() -> dict:
    """The session's keys: the merchant's API key, the platform certificate key, the platform
    public key (public-key mode)."""
    merchant, platform, public = fresh_key(), fresh_key(), fresh_key()
    serial = secrets.randbits(64) | (1 << 63)
    return {
        "merchant": merchant,
        "platform": platform,
        "platform_serial": f"{serial:X}",
        "platform_cert": certificate(platform, serial=serial),
        "public": public,
    }


def sign(key, message: bytes) -> str:
    return wechatpay.rsa_sign(key, message)


def encrypt(apiv3_key: bytes, data: dict, *, associated_data: str) -> dict:
    nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    ciphertext = AESGCM(apiv3_key).encrypt(
        nonce.encode(), json.dumps(data, ensure_ascii=False).encode(), associated_data.encode()
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "nonce": nonce,
        "associated_data": associated_data,
        "original_type": "transaction",
    }


def _china_now() -> str:
    return dt.datetime.now(wechatpay.CHINA).isoformat(timespec="seconds")


class WechatPayStandin:
    """`mode`: "certificate" (responses and callbacks signed with the platform certificate's key)
    or "public_key" (with the `PUB_KEY_ID_…` key)."""

    def __init__(self, *, mode: str = "certificate"):
        k = keys()
        self.merchant_key = k["merchant"]
        self.apiv3_key = secrets.token_hex(16).encode()  # 32 characters
        self.set_mode(mode)
        self.orders: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.abnormal_requests: list[dict] = []  # apply-abnormal-refund bodies accepted
        self.requests: list[dict] = []
        self.down = False  # answer 503
        self.refund_status = "PROCESSING"
        self.sign_responses_with = None  # a foreign key: our client must reject the reply
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def set_mode(self, mode: str) -> None:
        k = keys()
        self.mode = mode
        if mode == "certificate":
            self.signing_key, self.serial = k["platform"], k["platform_serial"]
        else:
            self.signing_key, self.serial = k["public"], PUBLIC_KEY_ID

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "WechatPayStandin":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the merchant's account as our side stores it ---

    def account_config(self, *, modes=("certificate",)) -> tuple[dict, dict]:
        """(config, secrets) of a ProviderAccount that talks to this stand-in."""
        k = keys()
        config = {"appid": APPID, "mchid": MCHID, "merchant_serial_no": MERCHANT_SERIAL, "api_base": self.url}
        if "certificate" in modes:
            config["platform_certificates"] = {k["platform_serial"]: k["platform_cert"]}
        if "public_key" in modes:
            config["public_key_id"] = PUBLIC_KEY_ID
            config["public_key"] = public_pem(k["public"])
        return config, {"private_key": private_pem(self.merchant_key), "apiv3_key": self.apiv3_key.decode()}

    # --- signing ---

    def signed_headers(self, body: bytes, *, timestamp: int | None = None, key=None, serial=None) -> dict:
        timestamp = int(time.time()) if timestamp is None else timestamp
        nonce = secrets.token_hex(16)
        signature = sign(key or self.signing_key, wechatpay.signed_message(str(timestamp), nonce, body))
        return {
            "Wechatpay-Serial": serial or self.serial,
            "Wechatpay-Timestamp": str(timestamp),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
        }

    # --- notifications ---

    def notification(
        self,
        event_type: str,
        resource: dict,
        *,
        notification_id: str | None = None,
        timestamp: int | None = None,
        key=None,
        serial=None,
        apiv3_key: bytes | None = None,
    ) -> tuple[dict, bytes]:
        """A signed callback: (headers, body)."""
        associated = "transaction" if event_type.startswith("TRANSACTION") else "refund"
        body = json.dumps(
            {
                "id": notification_id or str(uuid.uuid4()),
                "create_time": _china_now(),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "支付成功" if associated == "transaction" else "退款状态变更",
                "resource": encrypt(apiv3_key or self.apiv3_key, resource, associated_data=associated),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        return self.signed_headers(body, timestamp=timestamp, key=key, serial=serial), body

    def customer_pays(self, out_trade_no: str) -> dict:
        """The customer pays in WeChat: the trade becomes SUCCESS. Returns the transaction."""
        with self.lock:
            order = self.orders[out_trade_no]
            if order["trade_state"] != "SUCCESS":
                order.update(
                    trade_state="SUCCESS",
                    transaction_id="42000" + secrets.token_hex(12)[:23],
                    success_time=_china_now(),
                )
            return self._transaction(order)

    def payment_notification(self, out_trade_no: str, /, *, notification_id: str | None = None, **overrides):
        """The TRANSACTION.SUCCESS callback of a paid trade; `overrides` change resource fields."""
        resource = {**self._transaction(self.orders[out_trade_no]), **overrides}
        return self.notification("TRANSACTION.SUCCESS", resource, notification_id=notification_id)

    def refund_becomes(self, out_refund_no: str, status: str, **fields) -> None:
        """WeChat Pay settles a refund (SUCCESS, ABNORMAL, CLOSED) without the callback arriving;
        `fields` change more (e.g. `user_received_account`)."""
        with self.lock:
            self.refunds[out_refund_no].update(status=status, **fields)

    def refund_posts(self) -> list[dict]:
        """The refund requests (POST /v3/refund/domestic/refunds) the gateway received."""
        return [
            json.loads(r["body"])
            for r in self.requests
            if r["method"] == "POST" and r["path"] == "/v3/refund/domestic/refunds"
        ]

    def refund_notification(self, out_refund_no: str, /, *, status: str = "SUCCESS", **overrides):
        with self.lock:
            refund = self.refunds[out_refund_no]
            refund["status"] = status
        resource = {
            "mchid": MCHID,
            "out_trade_no": refund["out_trade_no"],
            "transaction_id": refund["transaction_id"],
            "out_refund_no": out_refund_no,
            "refund_id": refund["refund_id"],
            "refund_status": status,
            "success_time": _china_now(),
            "user_received_account": refund.get("user_received_account", "支付用户零钱"),
            "amount": {
                "total": refund["amount"]["total"],
                "refund": refund["amount"]["refund"],
                "payer_total": refund["amount"]["total"],
                "payer_refund": refund["amount"]["refund"],
            },
            **overrides,
        }
        return self.notification(f"REFUND.{status}", resource)

    # --- the gateway ---

    def _transaction(self, order: dict) -> dict:
        data = {
            "appid": order["appid"],
            "mchid": order["mchid"],
            "out_trade_no": order["out_trade_no"],
            "trade_type": "JSAPI",
            "trade_state": order["trade_state"],
            "trade_state_desc": order["trade_state"],
            "payer": {"openid": order["payer"]["openid"]},
            "amount": {"total": order["amount"]["total"], "currency": "CNY"},
        }
        if order.get("transaction_id"):
            data.update(
                transaction_id=order["transaction_id"],
                bank_type="OTHERS",
                success_time=order["success_time"],
                amount={**data["amount"], "payer_total": order["amount"]["total"], "payer_currency": "CNY"},
            )
        return data

    def _authenticate(self, method: str, raw_path: str, headers, body: bytes) -> str | None:
        """Why our request's signature is not valid, or None."""
        value = headers.get("Authorization", "")
        schema, _, params = value.partition(" ")
        if schema != wechatpay.AUTH_SCHEMA:
            return "schema"
        fields = dict(AUTH_RE.findall(params))
        if fields.get("mchid") != MCHID or fields.get("serial_no") != MERCHANT_SERIAL:
            return "mchid or serial"
        if not fields.get("timestamp", "").isdigit() or abs(time.time() - int(fields["timestamp"])) > 300:
            return "timestamp"
        message = wechatpay.request_message(
            method, raw_path, fields["timestamp"], fields.get("nonce_str", ""), body
        )
        if not wechatpay.rsa_verify(self.merchant_key.public_key(), message, fields.get("signature", "")):
            return "signature"
        return None

    def handle(self, method: str, raw_path: str, headers, body: bytes) -> tuple[int, dict | None]:
        self.requests.append(
            {"method": method, "path": raw_path, "body": body, "serial": headers.get("Wechatpay-Serial")}
        )
        if self.down:
            return 503, {"code": "SYSTEM_ERROR", "message": "系统繁忙"}
        problem = self._authenticate(method, raw_path, headers, body)
        if problem:
            return 401, {"code": "SIGN_ERROR", "message": f"签名错误: {problem}"}
        url = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        data = json.loads(body) if body else {}
        with self.lock:
            if method == "POST" and url.path == "/v3/pay/transactions/jsapi":
                return self._jsapi(data)
            match = re.fullmatch(r"/v3/pay/transactions/out-trade-no/(\w+)(/close)?", url.path)
            if match and method == "GET" and not match.group(2):
                if query.get("mchid") != MCHID:
                    return 400, {"code": "PARAM_ERROR", "message": "mchid"}
                order = self.orders.get(match.group(1))
                if order is None:
                    return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
                return 200, self._transaction(order)
            if match and method == "POST" and match.group(2):
                order = self.orders.get(match.group(1))
                if order is None:
                    return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
                if order["trade_state"] == "SUCCESS":
                    return 400, {"code": "ORDERPAID", "message": "订单已支付"}
                order["trade_state"] = "CLOSED"
                return 204, None
            if method == "POST" and url.path == "/v3/refund/domestic/refunds":
                return self._refund(data)
            match = re.fullmatch(r"/v3/refund/domestic/refunds/([\w|*@-]+)", url.path)
            if match and method == "GET":
                refund = self.refunds.get(match.group(1))
                if refund is None:
                    return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
                return 200, self._refund_object(refund)
            match = re.fullmatch(r"/v3/refund/domestic/refunds/(\w+)/apply-abnormal-refund", url.path)
            if match and method == "POST":
                return self._abnormal_refund(match.group(1), data, headers.get("Wechatpay-Serial"))
        return 404, {"code": "NOT_FOUND", "message": "no such API"}

    def _decrypt(self, serial: str | None, text: str) -> str | None:
        """A sensitive field, decrypted with the platform key `Wechatpay-Serial` names (RSA-OAEP,
        SHA-1); None when it does not decrypt."""
        k = keys()
        key = {k["platform_serial"]: k["platform"], PUBLIC_KEY_ID: k["public"]}.get(serial or "")
        if key is None:
            return None
        oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
        try:
            return key.decrypt(base64.b64decode(text), oaep).decode()
        except (ValueError, TypeError):
            return None

    def _abnormal_refund(self, refund_id: str, data: dict, serial: str | None) -> tuple[int, dict]:
        """发起异常退款: the money of an ABNORMAL refund goes to the merchant's settlement account
        (MERCHANT_BANK_CARD) or a card the buyer names (USER_BANK_CARD, its number and name
        encrypted with the platform key `Wechatpay-Serial` names)."""
        refund = next((r for r in self.refunds.values() if r["refund_id"] == refund_id), None)
        if refund is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
        kind = data.get("type")
        if data.get("out_refund_no") != refund["out_refund_no"] or kind not in (
            "USER_BANK_CARD",
            "MERCHANT_BANK_CARD",
        ):
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}
        received = {"refund_id": refund_id, **data}
        if kind == "USER_BANK_CARD":
            if not all(data.get(k) for k in ("bank_type", "bank_account", "real_name")):
                return 400, {"code": "PARAM_ERROR", "message": "退款至用户银行卡需填写银行卡信息"}
            for field in ("bank_account", "real_name"):
                received[field] = self._decrypt(serial, data[field])
                if received[field] is None:
                    return 400, {"code": "PARAM_ERROR", "message": "平台私钥解密失败"}
        if refund["status"] != "ABNORMAL":
            return 400, {"code": "INVALID_REQUEST", "message": "退款单状态不是退款异常"}
        self.abnormal_requests.append(received)
        if kind == "MERCHANT_BANK_CARD":
            refund.update(
                status="SUCCESS", channel="OTHER_BANKCARD", user_received_account="商户结算银行账户"
            )
        else:  # paid to the card in 1-3 working days
            refund.update(status="PROCESSING", channel="OTHER_BANKCARD", user_received_account="用户银行卡")
        return 200, self._refund_object(refund)

    def _refund_object(self, refund: dict) -> dict:
        """A refund as WeChat Pay describes it (refund replies, queries)."""
        data = {
            "refund_id": refund["refund_id"],
            "out_refund_no": refund["out_refund_no"],
            "transaction_id": refund["transaction_id"],
            "out_trade_no": refund["out_trade_no"],
            "channel": refund.get("channel", "ORIGINAL"),
            "user_received_account": refund.get("user_received_account", "支付用户零钱"),
            "create_time": refund["create_time"],
            "status": refund["status"],
            "funds_account": "AVAILABLE",
            "amount": {
                **refund["amount"],
                "payer_total": refund["amount"]["total"],
                "payer_refund": refund["amount"]["refund"],
                "currency": "CNY",
            },
        }
        if refund["status"] == "SUCCESS":
            data["success_time"] = _china_now()
        return data

    def _jsapi(self, data: dict) -> tuple[int, dict]:
        required = ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount", "payer")
        if any(not data.get(field) for field in required) or data["mchid"] != MCHID or data["appid"] != APPID:
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}
        if not isinstance(data["amount"].get("total"), int) or data["amount"]["total"] <= 0:
            return 400, {"code": "PARAM_ERROR", "message": "amount"}
        existing = self.orders.get(data["out_trade_no"])
        if existing is not None:
            if existing["trade_state"] == "SUCCESS":
                return 400, {"code": "ORDERPAID", "message": "订单已支付"}
            if existing["request"] != data:
                return 400, {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"}
            return 200, {"prepay_id": existing["prepay_id"]}
        self.orders[data["out_trade_no"]] = {
            **data,
            "request": data,
            "prepay_id": "wx" + secrets.token_hex(16),
            "trade_state": "NOTPAY",
        }
        return 200, {"prepay_id": self.orders[data["out_trade_no"]]["prepay_id"]}

    def _refund(self, data: dict) -> tuple[int, dict]:
        order = self.orders.get(data.get("out_trade_no", ""))
        if order is None or order["trade_state"] not in ("SUCCESS", "REFUND"):
            return 400, {"code": "INVALID_REQUEST", "message": "订单未支付"}
        existing = self.refunds.get(data.get("out_refund_no", ""))
        if existing is None:
            refunded = sum(
                r["amount"]["refund"]
                for r in self.refunds.values()
                if r["out_trade_no"] == order["out_trade_no"]
            )
            amount = data.get("amount") or {}
            if (
                amount.get("total") != order["amount"]["total"]
                or refunded + amount.get("refund", 0) > amount["total"]
            ):
                return 400, {"code": "INVALID_REQUEST", "message": "退款金额错误"}
            existing = self.refunds[data["out_refund_no"]] = {
                "out_refund_no": data["out_refund_no"],
                "out_trade_no": order["out_trade_no"],
                "transaction_id": order["transaction_id"],
                "refund_id": "50000" + secrets.token_hex(12)[:24],
                "status": self.refund_status,
                "amount": {"refund": amount["refund"], "total": amount["total"]},
                "notify_url": data.get("notify_url"),
                "create_time": _china_now(),
            }
            order["trade_state"] = "REFUND"
        return 200, self._refund_object(existing)

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, data = standin.handle(self.command, self.path, self.headers, body)
                payload = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
                self.send_response(status)
                if (
                    status < 500 and status != 401
                ):  # a request WeChat Pay cannot authenticate gets no signature
                    signer, serial = standin.signing_key, standin.serial
                    if self.headers.get("Wechatpay-Serial") == PUBLIC_KEY_ID:
                        signer, serial = keys()["public"], PUBLIC_KEY_ID
                    signer = standin.sign_responses_with or signer
                    for name, value in standin.signed_headers(payload, key=signer, serial=serial).items():
                        self.send_header(name, value)
                    self.send_header("Request-ID", uuid.uuid4().hex)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        return Handler


# --- fixtures (import them into a test module) ---------------------------------------------------


@pytest.fixture
def wechat_gateway():
    standin = WechatPayStandin().start()
    yield standin
    standin.stop()


def wechat_account_for(gateway: WechatPayStandin, merchant, *, modes=("certificate",)):
    from mendian.payments.models import ProviderAccount

    config, secret = gateway.account_config(modes=modes)
    account, _ = ProviderAccount.objects.update_or_create(
        merchant=merchant, provider="wechatpay", defaults={"enabled": True, "config": config}
    )
    account.set_secret_values(secret)
    account.save()
    return account


@pytest.fixture
def wechat_account(wechat_gateway, merchant):
    return wechat_account_for(wechat_gateway, merchant)


@pytest.fixture
def wechat_member(member):
    """The member, logged in through the mini-program (so WeChat Pay knows their openid)."""
    member.customer.wechat_openid = OPENID
    member.customer.save(update_fields=["wechat_openid"])
    return member
