import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from mendian.core.scope import Actor
from mendian.integrations import services, signing

OPEN = "/api/open/v1"


class SignedClient:
    """A POS client of the open API: signs every request exactly as the contract says."""

    def __init__(self, key_id: str, secret: str):
        self.key_id = key_id
        self.secret = secret
        self.client = Client()

    def headers(self, method: str, target: str, body: bytes, **overrides) -> dict:
        timestamp = overrides.pop("timestamp", int(time.time()))
        nonce = overrides.pop("nonce", signing.new_nonce())
        secret = overrides.pop("secret", self.secret)
        headers = {
            signing.KEY_HEADER: overrides.pop("key_id", self.key_id),
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.NONCE_HEADER: nonce,
            signing.SIGNATURE_HEADER: signing.sign(secret, method, target, timestamp, nonce, body),
        }
        headers.update(overrides.pop("extra", {}))
        for name in overrides.pop("drop", ()):
            headers.pop(name)
        assert not overrides, overrides
        return headers

    def get(self, target: str, **overrides):
        headers = self.headers("GET", OPEN + target, b"", **overrides)
        return self.client.get(OPEN + target, headers=headers)

    def post(self, target: str, payload, **overrides):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = self.headers("POST", OPEN + target, body, **overrides)
        return self.client.generic(
            "POST", OPEN + target, body, content_type="application/json", headers=headers
        )


@pytest.fixture
def api_key_pair(merchant):
    api_key, secret = services.api_key_create(actor=Actor.system(merchant.pk), name="POS")
    return api_key, secret


@pytest.fixture
def pos(api_key_pair):
    api_key, secret = api_key_pair
    client = SignedClient(api_key.key_id, secret)
    client.api_key = api_key
    return client


@pytest.fixture
def other_pos(other_merchant):
    api_key, secret = services.api_key_create(actor=Actor.system(other_merchant.pk), name="rival POS")
    client = SignedClient(api_key.key_id, secret)
    client.api_key = api_key
    return client


class Receiver:
    """A webhook receiver on 127.0.0.1: answers with the queued statuses (then 200) and records
    every request. With `secret` set it verifies our signature and answers 401 when it fails."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.secret: str | None = None
        self.verified: list[bool] = []
        self.seen_deliveries: set[str] = set()
        self.processed: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                record = {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                receiver.requests.append(record)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.secret is not None:
                    ok = signing.verify_webhook(
                        secret=receiver.secret, url_path=self.path, headers=self.headers, body=body
                    )
                    receiver.verified.append(ok)
                    if not ok:
                        status = 401
                if 200 <= status < 300:
                    # What a careful receiver does: process each delivery id once.
                    delivery = self.headers.get(signing.DELIVERY_HEADER)
                    if delivery not in receiver.seen_deliveries:
                        receiver.seen_deliveries.add(delivery)
                        receiver.processed.append(delivery)
                reply = json.dumps({"status": status, "echo": "x" * 3000}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks/mendian") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()
