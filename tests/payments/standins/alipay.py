"""A local stand-in for the Alipay open-platform gateway: a real HTTP server on 127.0.0.1 in a
thread that speaks the published protocol. It verifies our RSA2 request signatures with each app's
public key, opens a trade when the customer's browser opens a signed `alipay.trade.wap.pay` URL,
answers `alipay.trade.query`, `.close`, `.refund` (deduplicated by `out_request_no`) and
`.fastpay.refund.query` with replies signed by its own "Alipay" key, and builds signed async
notifications as Alipay posts them.

Its signing code is written here from the protocol, not borrowed from the adapter, so a mistake in
one does not hide in the other. Keys are generated per test session with `cryptography`."""

import base64
import datetime as dt
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

APP_ID = "2021000117600001"
SELLER_ID = "2088102177000001"
BUYER_ID = "2088102177999999"
SHANGHAI = ZoneInfo("Asia/Shanghai")


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


def bare_base64(pem: str) -> str:
    """A key as Alipay's key tool prints it: the PEM body on one line, no armour."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def sign(key, content: str) -> str:
    return base64.b64encode(key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(public_key, content: str, signature: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature), content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def china_now() -> str:
    return dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def yuan(text: str) -> int:
    whole, _, cents = text.partition(".")
    assert whole.isdigit() and (cents == "" or (cents.isdigit() and len(cents) <= 2)), text
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


def yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class AlipayStandIn:
    """One gateway for the session. `reset()` between tests forgets trades and failure modes."""

    def __init__(self):
        self.alipay_key = fresh_key()
        self.apps: dict[str, tuple] = {}  # app_id → (app public key, seller_id)
        self.lock = threading.Lock()
        self.reset()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/gateway.do"

    @property
    def alipay_public_pem(self) -> str:
        return public_pem(self.alipay_key)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.trades: dict[str, dict] = {}
            self.calls: list[dict] = []  # every verified call: the common params and biz_content
            self.rejected: list[str] = []  # why calls were refused
            # "http_500", "system_error", "unsigned", "other_key", "slow", "refund_then_500"
            self.failure: str | None = None
            self.pay_when_closed = False  # the customer pays just as the close arrives
            self.clock_offset = dt.timedelta(0)  # how far the gateway's clock runs ahead

    def register_app(self, app_id: str, app_public_key, seller_id: str = SELLER_ID) -> None:
        self.apps[app_id] = (app_public_key, seller_id)

    # --- what the gateway does ---

    def now(self) -> dt.datetime:
        return dt.datetime.now(SHANGHAI) + self.clock_offset

    def _verified(self, params: dict, *, server_call: bool = True) -> str | None:
        """The reason a request is refused, or None. Non-empty parameters but `sign`, sorted. A pay
        URL's timestamp is not held to the window: the customer may open it minutes later."""
        app = self.apps.get(params.get("app_id", ""))
        if app is None:
            return "isv.invalid-app-id"
        if params.get("sign_type") != "RSA2" or params.get("charset") != "utf-8":
            return "isv.invalid-signature-type"
        if params.get("version") != "1.0" or params.get("format", "JSON") != "JSON":
            return "isv.invalid-parameter"
        try:
            sent = dt.datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=SHANGHAI
            )
        except ValueError:
            return "isv.invalid-timestamp"
        if server_call and abs((sent - self.now()).total_seconds()) > 900:
            return "isv.invalid-timestamp"
        content = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
        if not verify(app[0], content, params.get("sign", "")):
            return "isv.invalid-signature"
        return None

    def open_cashier(self, params: dict) -> tuple[int, str]:
        """The customer's browser opens the signed pay URL: the trade now exists, waiting."""
        refused = self._verified(params, server_call=False)
        if refused:
            self.rejected.append(refused)
            return 400, refused
        if params.get("method") != "alipay.trade.wap.pay":
            return 400, "isv.invalid-method"
        biz = json.loads(params["biz_content"])
        seller = self.apps[params["app_id"]][1]
        if biz.get("product_code") != "QUICK_WAP_WAY" or biz.get("seller_id", seller) != seller:
            return 400, "ACQ.INVALID_PARAMETER"
        expire = dt.datetime.strptime(biz["time_expire"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
        if expire < self.now():
            return 400, "ACQ.TRADE_HAS_EXPIRED"
        with self.lock:
            self.calls.append({**params, "biz": biz})
            trade = self.trades.get(biz["out_trade_no"])
            if trade is not None:
                if trade["total_amount"] != biz["total_amount"]:
                    return 400, "ACQ.CONTEXT_INCONSISTENT"
                return 200, "cashier"
            self.trades[biz["out_trade_no"]] = {
                "app_id": params["app_id"],
                "seller_id": seller,
                "out_trade_no": biz["out_trade_no"],
                "trade_no": time.strftime("%Y%m%d")
                + "2200"
                + "".join(secrets.choice("0123456789") for _ in range(16)),
                "total_amount": biz["total_amount"],
                "subject": biz["subject"],
                "status": "WAIT_BUYER_PAY",
                "gmt_create": china_now(),
                "gmt_payment": "",
                "notify_url": params.get("notify_url", ""),
                "notify_ids": {},
                "refunds": {},  # out_request_no → refund_amount
            }
        return 200, "cashier"

    def customer_pays(self, out_trade_no: str) -> None:
        with self.lock:
            trade = self.trades[out_trade_no]
            assert trade["status"] == "WAIT_BUYER_PAY", trade["status"]
            trade["status"] = "TRADE_SUCCESS"
            trade["gmt_payment"] = china_now()

    def _refunded(self, trade) -> int:
        return sum(yuan(amount) for amount in trade["refunds"].values())

    def answer(self, params: dict) -> dict:
        """The `<method>_response` for a verified server call."""
        method = params["method"]
        biz = json.loads(params.get("biz_content") or "{}")
        with self.lock:
            self.calls.append({**params, "biz": biz})
            trade = self.trades.get(biz.get("out_trade_no", ""))
            if trade is None:
                return _business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
            if method == "alipay.trade.query":
                data = {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": trade["trade_no"],
                    "out_trade_no": trade["out_trade_no"],
                    "buyer_logon_id": "159****5620",
                    "trade_status": trade["status"],
                    "total_amount": trade["total_amount"],
                    "buyer_pay_amount": trade["total_amount"] if trade["gmt_payment"] else "0.00",
                }
                if trade["gmt_payment"]:
                    data["send_pay_date"] = trade["gmt_payment"]
                return data
            if method == "alipay.trade.close":
                if self.pay_when_closed and trade["status"] == "WAIT_BUYER_PAY":
                    trade["status"], trade["gmt_payment"] = "TRADE_SUCCESS", china_now()
                if trade["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                    return _business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
                trade["status"] = "TRADE_CLOSED"
                return {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": trade["trade_no"],
                    "out_trade_no": trade["out_trade_no"],
                }
            if method == "alipay.trade.refund":
                request_no, amount = biz.get("out_request_no") or trade["out_trade_no"], biz["refund_amount"]
                done = {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": trade["trade_no"],
                    "out_trade_no": trade["out_trade_no"],
                    "buyer_logon_id": "159****5620",
                    "refund_fee": "",
                }
                if request_no in trade["refunds"]:
                    if trade["refunds"][request_no] != amount:
                        return _business_error("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
                    return {**done, "refund_fee": yuan_text(self._refunded(trade)), "fund_change": "N"}
                if trade["status"] != "TRADE_SUCCESS":
                    return _business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
                if self._refunded(trade) + yuan(amount) > yuan(trade["total_amount"]):
                    return _business_error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
                trade["refunds"][request_no] = amount
                if self._refunded(trade) == yuan(trade["total_amount"]):
                    trade["status"] = "TRADE_CLOSED"
                return {**done, "refund_fee": yuan_text(self._refunded(trade)), "fund_change": "Y"}
            if method == "alipay.trade.fastpay.refund.query":
                request_no = biz.get("out_request_no", "")
                if request_no not in trade["refunds"]:
                    return {"code": "10000", "msg": "Success"}
                return {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": trade["trade_no"],
                    "out_trade_no": trade["out_trade_no"],
                    "out_request_no": request_no,
                    "total_amount": trade["total_amount"],
                    "refund_amount": trade["refunds"][request_no],
                    "refund_status": "REFUND_SUCCESS",
                }
        return {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"}

    def reply(self, method: str, data: dict, *, key=None, sign_first=False) -> bytes:
        """`{"<method>_response": …, "sign": …}`, signed over the exact text sent."""
        member = method.replace(".", "_") + "_response"
        raw = json.dumps(data, ensure_ascii=False, separators=(", ", ": "))
        signature = sign(key or self.alipay_key, raw)
        if sign_first:
            return f'{{"sign":"{signature}", "{member}":{raw}}}'.encode()
        return f'{{"{member}":{raw},"sign":"{signature}"}}'.encode()

    # --- notifications ---

    def notification_fields(self, out_trade_no: str, **overrides) -> dict:
        """The fields Alipay posts for the trade's current state (a stable notify_id per state)."""
        with self.lock:
            trade = self.trades[out_trade_no]
            notify_id = trade["notify_ids"].setdefault(trade["status"], "2026" + secrets.token_hex(14))
            fields = {
                "notify_time": china_now(),
                "notify_type": "trade_status_sync",
                "notify_id": notify_id,
                "app_id": trade["app_id"],
                "charset": "utf-8",
                "version": "1.0",
                "sign_type": "RSA2",
                "trade_no": trade["trade_no"],
                "out_trade_no": trade["out_trade_no"],
                "buyer_id": BUYER_ID,
                "seller_id": trade["seller_id"],
                "trade_status": trade["status"],
                "total_amount": trade["total_amount"],
                "receipt_amount": trade["total_amount"],
                "buyer_pay_amount": trade["total_amount"] if trade["gmt_payment"] else "0.00",
                "subject": trade["subject"],
                "gmt_create": trade["gmt_create"],
                "gmt_payment": trade["gmt_payment"],
                "fund_bill_list": json.dumps(
                    [{"amount": trade["total_amount"], "fundChannel": "ALIPAYACCOUNT"}]
                ),
                "passback_params": "",
            }
            if trade["refunds"]:
                fields["refund_fee"] = yuan_text(self._refunded(trade))
                fields["gmt_refund"] = china_now() + ".000"
                fields["out_biz_no"] = list(trade["refunds"])[-1]
        fields.update(overrides)
        return {k: v for k, v in fields.items() if v is not None}

    def notification(self, out_trade_no: str, *, key=None, **overrides) -> bytes:
        """A notification as Alipay posts it: form-encoded, signed over every field but `sign` and
        `sign_type`, sorted, `k=v&…`."""
        return self.signed_body(self.notification_fields(out_trade_no, **overrides), key=key)

    def signed_body(self, fields: dict, *, key=None) -> bytes:
        content = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k not in ("sign", "sign_type"))
        return urlencode({**fields, "sign": sign(key or self.alipay_key, content)}).encode()


def _business_error(sub_code: str, sub_msg: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


def _handler(gateway: AlipayStandIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output quiet
            pass

        def _params(self) -> dict:
            query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                body = self.rfile.read(length).decode("utf-8")
                query.update(parse_qsl(body, keep_blank_values=True))
            return query

        def _send(self, status: int, body: bytes, content_type="application/json;charset=utf-8"):
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting ("slow")

        def do_GET(self):  # the customer's browser at the cashier
            status, text = gateway.open_cashier(self._params())
            self._send(status, f"<html><body>{text}</body></html>".encode(), "text/html;charset=utf-8")

        def do_POST(self):
            params = self._params()
            failure = gateway.failure
            if failure == "slow":
                time.sleep(2)
            if failure == "http_500":
                self._send(502, b"<html>Bad Gateway</html>", "text/html")
                return
            refused = gateway._verified(params)
            method = params.get("method", "")
            if refused:
                gateway.rejected.append(refused)
                error = {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": refused,
                    "sub_msg": "验签出错",
                }
                self._send(200, json.dumps({"error_response": error}, ensure_ascii=False).encode())
                return
            if failure == "system_error":
                data = _business_error("ACQ.SYSTEM_ERROR", "系统错误")
            else:
                data = gateway.answer(params)
            if failure == "refund_then_500" and method == "alipay.trade.refund":
                self._send(504, b"<html>Gateway Timeout</html>", "text/html")
                return
            if failure == "unsigned":
                member = method.replace(".", "_") + "_response"
                self._send(200, json.dumps({member: data}).encode())
                return
            key = fresh_key() if failure == "other_key" else None
            self._send(200, gateway.reply(method, data, key=key, sign_first=method == "alipay.trade.query"))

    return Handler
