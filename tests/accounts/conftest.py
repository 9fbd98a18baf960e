import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from mendian.accounts.models import SandboxSms
from mendian.core.pii import blind_index


class StandIn:
    """A local HTTP server on 127.0.0.1 that plays an outside provider.

    `respond(method, path, query, body) -> (status, payload)` decides each answer; every request is
    kept in `requests` for the test to inspect.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.respond = lambda method, path, query, body: (200, {})
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                record = {
                    "method": self.command,
                    "path": parts.path,
                    "query": query,
                    "body": body,
                    "headers": dict(self.headers),
                }
                stand_in.requests.append(record)
                status, payload = stand_in.respond(self.command, parts.path, query, body)
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


def outbox_codes(phone: str) -> list[str]:
    """The codes the sandbox gateway 'sent' to `phone`, newest first."""
    return list(
        SandboxSms.objects.filter(phone_hash=blind_index(phone))
        .order_by("-sent_at", "-id")
        .values_list("code", flat=True)
    )


@pytest.fixture
def send_code(api, db):
    """Request a login code through the API and return it (read from the sandbox outbox)."""

    def send(phone: str = "13812345678", **headers) -> str:
        response = api.post("/api/v1/auth/sms-code", {"phone": phone}, headers=headers or None)
        assert response.status_code == 204, response.content
        return outbox_codes(phone)[0]

    return send
