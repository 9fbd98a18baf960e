import json
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db.models import Sum

from mendian.core.scope import Actor
from mendian.integrations import services, signing
from mendian.integrations.models import ApiKey, ApiNonce
from mendian.inventory.models import StockLevel, StockMovement
from tests.factories import SkuFactory
from tests.integrations.conftest import OPEN, SignedClient

pytestmark = pytest.mark.django_db

AT = "2026-03-01T09:30:00+08:00"


@pytest.fixture
def cola(merchant):
    return SkuFactory(product__merchant=merchant, sku_code="COLA-330", barcode="6901234567892")


@pytest.fixture
def chips(merchant):
    return SkuFactory(product__merchant=merchant, sku_code="CHIPS-70")


def event(event_id, *, store="jh001", sku="COLA-330", type="receive", quantity=10, **extra):
    body = {"event_id": event_id, "store_code": store, "type": type, "quantity": quantity, "occurred_at": AT}
    if sku is not None:
        body["sku_code"] = sku
    body.update(extra)
    return body


def on_hand(store, sku) -> int:
    level = StockLevel.objects.filter(store=store, sku=sku).first()
    return level.on_hand if level else 0


def snapshot():
    """Everything a stock-events request could change."""
    return (
        sorted(StockLevel.objects.values_list("store_id", "sku_id", "on_hand", "reserved")),
        StockMovement.objects.count(),
    )


def assert_conserved():
    for level in StockLevel.objects.all():
        moved = StockMovement.objects.filter(store_id=level.store_id, sku_id=level.sku_id).aggregate(
            n=Sum("delta_on_hand")
        )["n"]
        assert level.on_hand == (moved or 0)
        assert 0 <= level.reserved <= level.on_hand


# --- the good path -------------------------------------------------------------------------------------


def test_a_signed_batch_is_applied_before_the_reply(pos, store, cola):
    reply = pos.post(
        "/stock-events", {"events": [event("e1", quantity=10), event("e2", type="sale", quantity=3)]}
    )

    assert reply.status_code == 200, reply.content
    assert reply.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert on_hand(store, cola) == 7
    assert_conserved()
    pos.api_key.refresh_from_db()
    assert pos.api_key.last_used_at is not None


def test_barcode_names_the_sku_too(pos, store, cola):
    reply = pos.post(
        "/stock-events", {"events": [event("e1", sku=None, barcode="6901234567892", quantity=4)]}
    )
    assert reply.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert on_hand(store, cola) == 4


# --- signatures: every failure is a 401 with its code, and changes nothing -----------------------------


def _post_raw(client, headers, body):
    return client.generic(
        "POST", f"{OPEN}/stock-events", body, content_type="application/json", headers=headers
    )


def _refused(reply, code):
    assert reply.status_code == 401, reply.content
    assert reply["Content-Type"] == "application/problem+json"
    assert reply.json()["code"] == code


@pytest.fixture
def batch():
    return json.dumps({"events": [event("e1", quantity=10)]}).encode()


def test_bad_hmac(pos, store, cola, batch):
    before = snapshot()
    headers = pos.headers("POST", f"{OPEN}/stock-events", batch)
    headers[signing.SIGNATURE_HEADER] = "0" * 64
    _refused(_post_raw(pos.client, headers, batch), "invalid_signature")
    assert snapshot() == before and ApiNonce.objects.count() == 0


def test_body_changed_by_one_byte(pos, store, cola, batch):
    before = snapshot()
    headers = pos.headers("POST", f"{OPEN}/stock-events", batch)
    tampered = batch.replace(b'"quantity": 10', b'"quantity": 90')
    assert len(tampered) == len(batch) and tampered != batch
    _refused(_post_raw(pos.client, headers, tampered), "invalid_signature")
    assert snapshot() == before


def test_signed_with_another_secret(pos, store, cola, batch):
    before = snapshot()
    _refused(pos.post("/stock-events", batch, secret="sk_guessed"), "invalid_signature")
    assert snapshot() == before


def test_another_merchants_key_cannot_sign_for_ours(pos, other_pos, store, cola, batch):
    before = snapshot()
    # A valid key id with the other key's secret: still a forgery.
    _refused(pos.post("/stock-events", batch, secret=other_pos.secret), "invalid_signature")
    # The other merchant's own, valid key reaches only its own stores.
    reply = other_pos.post("/stock-events", batch)
    assert reply.status_code == 200
    assert reply.json()["accepted"] == 0 and reply.json()["rejected"][0]["code"] == "unknown_store"
    assert snapshot() == before


def test_unknown_key(pos, store, cola, batch):
    before = snapshot()
    _refused(pos.post("/stock-events", batch, key_id="mk_000000000000000000000000"), "invalid_signature")
    assert snapshot() == before


def test_revoked_key(pos, hq_api, store, cola, batch):
    assert pos.post("/stock-events", {"events": []}).status_code == 200
    assert hq_api.post(f"/api/hq/v1/api-keys/{pos.api_key.pk}/revoke").status_code == 200
    before = snapshot()

    _refused(pos.post("/stock-events", batch), "invalid_signature")
    assert snapshot() == before


@pytest.mark.parametrize(
    "header", [signing.KEY_HEADER, signing.TIMESTAMP_HEADER, signing.NONCE_HEADER, signing.SIGNATURE_HEADER]
)
def test_missing_header(pos, store, cola, batch, header):
    before = snapshot()
    _refused(pos.post("/stock-events", batch, drop=[header]), "invalid_signature")
    assert snapshot() == before


@pytest.mark.parametrize("timestamp", ["", "1.5e9", "-5", "17000000000000", "１７"])
def test_malformed_timestamp(pos, store, cola, batch, timestamp):
    headers = pos.headers("POST", f"{OPEN}/stock-events", batch)
    headers[signing.TIMESTAMP_HEADER] = timestamp
    _refused(_post_raw(pos.client, headers, batch), "invalid_signature")


@pytest.mark.parametrize("offset", [-330, 330, -3600, 86400])
def test_stale_and_future_timestamps(pos, store, cola, batch, offset):
    before = snapshot()
    _refused(pos.post("/stock-events", batch, timestamp=int(time.time()) + offset), "timestamp_out_of_window")
    assert snapshot() == before and ApiNonce.objects.count() == 0


@pytest.mark.parametrize("offset", [-270, 270])
def test_timestamps_inside_the_window_pass(pos, store, cola, batch, offset):
    assert pos.post("/stock-events", batch, timestamp=int(time.time()) + offset).status_code == 200


@pytest.mark.parametrize(("skew", "code"), [(-301, 401), (-300, 200), (300, 200), (301, 401)])
def test_the_window_is_300_seconds_either_way(pos, store, cola, batch, skew, code):
    sent_at = 1_900_000_000
    server_now = datetime.fromtimestamp(sent_at - skew, tz=UTC)
    with mock.patch("mendian.integrations.services.timezone.now", return_value=server_now):
        reply = pos.post("/stock-events", batch, timestamp=sent_at)
    assert reply.status_code == code
    if code == 401:
        assert reply.json()["code"] == "timestamp_out_of_window"


def test_reused_nonce(pos, store, cola):
    first = pos.post("/stock-events", {"events": [event("e1", quantity=10)]}, nonce="nonce-0001")
    assert first.status_code == 200
    before = snapshot()

    # Another, correctly signed request reusing the nonce: refused, its new event not applied.
    _refused(
        pos.post("/stock-events", {"events": [event("e2", quantity=5)]}, nonce="nonce-0001"), "nonce_reused"
    )
    assert snapshot() == before and on_hand(store, cola) == 10


def test_a_forged_request_does_not_burn_the_nonce(pos, store, cola, batch):
    _refused(pos.post("/stock-events", batch, nonce="nonce-0002", secret="sk_forged"), "invalid_signature")
    assert pos.post("/stock-events", batch, nonce="nonce-0002").status_code == 200


@pytest.mark.parametrize("nonce", ["short", "x" * 129, "has space1", "ünïcode-nonce"])
def test_malformed_nonce(pos, store, cola, batch, nonce):
    headers = pos.headers("POST", f"{OPEN}/stock-events", batch)
    headers[signing.NONCE_HEADER] = nonce
    _refused(_post_raw(pos.client, headers, batch), "invalid_signature")


def test_the_method_is_signed(pos, store, cola, batch):
    headers = pos.headers("GET", f"{OPEN}/stock-events", batch)
    _refused(_post_raw(pos.client, headers, batch), "invalid_signature")


def test_nonces_in_the_database_when_there_is_no_redis(pos, store, cola, batch, settings):
    settings.REDIS_URL = ""
    assert pos.post("/stock-events", batch, nonce="db-nonce-1").status_code == 200
    nonce = ApiNonce.objects.get()
    assert nonce.nonce == "db-nonce-1" and nonce.api_key_id == pos.api_key.pk
    _refused(pos.post("/stock-events", batch, nonce="db-nonce-1"), "nonce_reused")

    # Past the ten minutes, the purge forgets it (and a not-yet-purged old row does not count).
    ApiNonce.objects.update(created_at=datetime.now(UTC) - timedelta(minutes=11))
    assert pos.post("/stock-events", batch, nonce="db-nonce-1").status_code == 200
    ApiNonce.objects.update(created_at=datetime.now(UTC) - timedelta(minutes=11))
    assert services.api_nonces_purge() == 1
    assert ApiNonce.objects.count() == 0


def test_nonces_in_redis_when_configured(pos, store, cola, batch, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    assert pos.post("/stock-events", batch, nonce="redis-nonce-1").status_code == 200
    _refused(pos.post("/stock-events", batch, nonce="redis-nonce-1"), "nonce_reused")
    assert ApiNonce.objects.count() == 0


def test_a_broken_nonce_store_fails_closed(pos, store, cola, batch, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    before = snapshot()
    with mock.patch("mendian.integrations.services.cache.add", side_effect=ConnectionError("redis down")):
        reply = pos.post("/stock-events", batch)
    assert reply.status_code == 503 and reply.json()["code"] == "service_unavailable"
    assert snapshot() == before


def test_every_open_endpoint_requires_a_signature(store):
    from django.test import Client

    client = Client()
    for reply in (
        client.get(f"{OPEN}/stock", {"store_code": "jh001"}),
        client.post(f"{OPEN}/stock-events", {"events": []}, content_type="application/json"),
    ):
        _refused(reply, "invalid_signature")


# --- the query string is signed ------------------------------------------------------------------------


def test_query_string_is_signed(pos, store, cola):
    pos.post("/stock-events", {"events": [event("e1", quantity=10)]})

    reply = pos.get("/stock?store_code=jh001")
    assert reply.status_code == 200, reply.content
    assert [(i["sku_code"], i["on_hand"], i["available"]) for i in reply.json()["items"]] == [
        ("COLA-330", 10, 10)
    ]

    # Signed without the query, or with another one: refused.
    target = f"{OPEN}/stock?store_code=jh001"
    for signed_as in (
        f"{OPEN}/stock",
        f"{OPEN}/stock?store_code=wc002",
        f"{OPEN}/stock?store_code=jh001&x=1",
    ):
        headers = pos.headers("GET", signed_as, b"")
        _refused(pos.client.get(target, headers=headers), "invalid_signature")


def test_the_raw_query_is_what_is_signed(pos, store, cola):
    # Escapes stay as sent, and characters Django would re-escape (|) are taken verbatim.
    target = "/stock?store_code=jh%30%301&low_only=false&note=a|b"
    reply = pos.get(target)
    assert reply.status_code == 200, reply.content


def test_a_signed_client_cannot_swap_the_query(pos, store, other_store, cola):
    headers = pos.headers("GET", f"{OPEN}/stock?store_code=jh001", b"")
    _refused(pos.client.get(f"{OPEN}/stock?store_code=wc002", headers=headers), "invalid_signature")


# --- batches -------------------------------------------------------------------------------------------


def test_more_than_1000_events_is_422_and_applies_nothing(pos, store, cola):
    before = snapshot()
    reply = pos.post("/stock-events", {"events": [event(f"e{n}", quantity=1) for n in range(1001)]})

    assert reply.status_code == 422
    assert reply.json()["code"] == "too_many_events"
    assert snapshot() == before


def test_exactly_1000_events_are_fine(pos, store, cola, chips):
    events = [event(f"e{n}", sku="COLA-330" if n % 2 else "CHIPS-70", quantity=1) for n in range(1000)]
    reply = pos.post("/stock-events", {"events": events})

    assert reply.json() == {"accepted": 1000, "duplicates": 0, "rejected": []}
    assert on_hand(store, cola) == 500 and on_hand(store, chips) == 500


def test_a_mixed_batch_reports_each_event(pos, store, other_store, cola, chips):
    pos.post("/stock-events", {"events": [event("seen-before", quantity=5)]})

    reply = pos.post(
        "/stock-events",
        {
            "events": [
                event("a1", quantity=10),
                event("seen-before", quantity=5),
                event("a1", quantity=10),  # repeated inside the batch
                event("b1", store="nowhere"),
                event("b2", sku="NOPE"),
                event("b3", quantity=0),
                event("b4", type="sale", sku="CHIPS-70", quantity=1),  # none on hand
                {"store_code": "jh001", "type": "receive", "quantity": 1, "occurred_at": AT},
                "not an object",
                event("a2", store="wc002", sku="CHIPS-70", quantity=3),
                event("a3", type="count", quantity=12),
            ]
        },
    )

    assert reply.status_code == 200
    body = reply.json()
    assert body["accepted"] == 3 and body["duplicates"] == 2
    assert [(r["event_id"], r["code"]) for r in body["rejected"]] == [
        ("b1", "unknown_store"),
        ("b2", "unknown_sku"),
        ("b3", "invalid_quantity"),
        ("b4", "insufficient_stock"),
        (None, "invalid_event"),
        (None, "invalid_event"),
    ]
    assert all(r["detail"] for r in body["rejected"])
    assert on_hand(store, cola) == 12  # 5, +10, then counted 12
    assert on_hand(other_store, chips) == 3 and on_hand(store, chips) == 0
    assert_conserved()


def test_resending_the_same_batch_is_all_duplicates_and_changes_nothing(pos, store, cola):
    events = {"events": [event("e1", quantity=10), event("e2", type="sale", quantity=4)]}
    assert pos.post("/stock-events", events).json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    before = snapshot()

    again = pos.post("/stock-events", events)  # a fresh nonce: a retry by the POS

    assert again.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert snapshot() == before and on_hand(store, cola) == 6


def test_idempotency_key_replays_the_first_reply(pos, store, cola):
    batch = {"events": [event("e1", quantity=10)]}
    key = {"Idempotency-Key": "sync-2026-03-01-001"}

    first = pos.post("/stock-events", batch, extra=key)
    second = pos.post("/stock-events", batch, extra=key)
    other = pos.post("/stock-events", {"events": [event("e9", quantity=1)]}, extra=key)

    assert first.status_code == second.status_code == 200
    assert first.content == second.content and second["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert on_hand(store, cola) == 10


def test_an_oversized_body_is_413_not_a_crash(pos, store, cola, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = snapshot()
    reply = pos.post("/stock-events", {"events": [event(f"e{n}", quantity=1) for n in range(50)]})
    assert reply.status_code == 413 and reply.json()["code"] == "payload_too_large"
    assert snapshot() == before


def test_invalid_json_is_a_400_after_the_signature(pos, store, cola):
    reply = pos.post("/stock-events", b"{not json")
    assert reply.status_code == 400
    reply = pos.post("/stock-events", {"events": "nope"})
    assert reply.status_code == 422


# --- levels --------------------------------------------------------------------------------------------


def test_stock_levels_page_and_stay_in_the_merchant(
    pos, other_pos, store, cola, chips, django_assert_num_queries
):
    pos.post("/stock-events", {"events": [event("e1", quantity=10), event("e2", sku="CHIPS-70", quantity=2)]})

    first = pos.get("/stock?store_code=jh001&limit=1")
    assert first.status_code == 200
    page = first.json()
    assert [i["sku_code"] for i in page["items"]] == ["COLA-330"] and page["next_cursor"]
    rest = pos.get(f"/stock?store_code=jh001&limit=1&cursor={page['next_cursor']}").json()
    assert [(i["sku_code"], i["on_hand"], i["is_low"]) for i in rest["items"]] == [("CHIPS-70", 2, True)]
    low = pos.get("/stock?store_code=jh001&low_only=true").json()["items"]
    assert [i["sku_code"] for i in low] == ["CHIPS-70"]

    missing = pos.get("/stock?store_code=nowhere")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    # Another merchant's key asking for our store code: not found.
    assert other_pos.get("/stock?store_code=jh001").status_code == 404


def test_stock_needs_a_store_code(pos, store):
    reply = pos.get("/stock")
    assert reply.status_code == 422


def test_api_keys_are_created_by_services_with_an_actor(merchant):
    api_key, secret = services.api_key_create(actor=Actor.system(merchant.pk), name="ERP")
    client = SignedClient(api_key.key_id, secret)
    assert client.get("/stock?store_code=nowhere").status_code == 404  # authenticated, then not found
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("nonce_store", ["database", "redis"])
def test_one_nonce_sent_concurrently_passes_once(merchant, store, settings, nonce_store):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    if nonce_store == "redis" and not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    if nonce_store == "database":
        settings.REDIS_URL = ""
    SkuFactory(product__merchant=merchant, sku_code="COLA-330")
    api_key, secret = services.api_key_create(actor=Actor.system(merchant.pk), name="POS")
    pos = SignedClient(api_key.key_id, secret)
    body = json.dumps({"events": [event("storm-1", quantity=1)]}).encode()
    headers = pos.headers("POST", f"{OPEN}/stock-events", body, nonce="storm-nonce-1")
    statuses, barrier = [], threading.Barrier(12)

    def worker():
        from django.test import Client

        try:
            barrier.wait()
            reply = _post_raw(Client(), headers, body)
            statuses.append(reply.json().get("code", reply.status_code))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses, key=str) == [200] + ["nonce_reused"] * 11
    assert StockMovement.objects.count() == 1
