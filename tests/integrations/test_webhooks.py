import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from mendian.core.scope import Actor, Role
from mendian.integrations import services, signing
from mendian.integrations.events import ORDER_PAID, STOCK_LOW
from mendian.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mendian.integrations.outbox import outbox_emit

pytestmark = pytest.mark.django_db

HOOKS = "/api/hq/v1/webhooks"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _endpoint(merchant, url, event_types=("*",)):
    return services.webhook_endpoint_create(
        actor=Actor.system(merchant.pk), url=url, event_types=list(event_types)
    )


def _emit_and_dispatch(merchant, event_type=STOCK_LOW, payload=None, now=T0):
    with transaction.atomic():
        event = outbox_emit(
            merchant_id=merchant.pk,
            event_type=event_type,
            payload=payload or {"store_code": "jh001", "sku_code": "COLA-330", "available": 2},
            aggregate=("stock_level", 7),
        )
    services.outbox_dispatch(now=now)
    return event


def test_a_receiver_failing_twice_gets_three_attempts_with_growing_delays(merchant, receiver):
    endpoint, _ = _endpoint(merchant, receiver.url())
    receiver.statuses = [500, 503]
    _emit_and_dispatch(merchant)
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at == T0

    assert services.webhook_deliveries_send_due(now=T0) == 1
    delivery.refresh_from_db()
    first_delay = delivery.next_attempt_at - T0
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
    assert timedelta(seconds=27) <= first_delay <= timedelta(seconds=33)

    # Not due yet: nothing is sent.
    assert services.webhook_deliveries_send_due(now=T0 + timedelta(seconds=20)) == 0
    assert len(receiver.requests) == 1

    t1 = delivery.next_attempt_at
    assert services.webhook_deliveries_send_due(now=t1) == 1
    delivery.refresh_from_db()
    second_delay = delivery.next_attempt_at - t1
    assert delivery.status == "pending" and delivery.attempts == 2 and delivery.last_status_code == 503
    assert timedelta(seconds=108) <= second_delay <= timedelta(seconds=132)
    assert second_delay > first_delay

    t2 = delivery.next_attempt_at
    assert services.webhook_deliveries_send_due(now=t2) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.delivered_at == t2 and delivery.next_attempt_at is None
    assert delivery.attempts == 3 and delivery.last_error == ""

    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert [a.attempted_at for a in attempts] == [T0, t1, t2]
    assert [a.error for a in attempts] == ["HTTP 500", "HTTP 503", ""]
    assert all(len(a.response_excerpt) <= 1024 and a.response_excerpt.startswith("{") for a in attempts)
    # One delivery id across the retries, so the receiver processed the event once.
    assert {r["headers"][signing.DELIVERY_HEADER] for r in receiver.requests} == {str(delivery.pk)}
    assert receiver.processed == [str(delivery.pk)]
    assert services.webhook_deliveries_send_due(now=t2 + timedelta(days=1)) == 0


def test_the_receiver_verifies_our_signature_with_its_secret(merchant, receiver):
    endpoint, secret = _endpoint(merchant, receiver.url("/hooks/mendian?tenant=acme"))
    receiver.secret = secret
    event = _emit_and_dispatch(merchant, event_type=ORDER_PAID, payload={"number": "A001", "total": 1290})

    services.webhook_deliveries_send_due(now=T0)

    assert receiver.verified == [True]
    request = receiver.requests[0]
    assert request["path"] == "/hooks/mendian?tenant=acme"
    assert request["headers"][signing.EVENT_HEADER] == "order.paid"
    assert request["headers"]["Content-Type"] == "application/json"
    body = json.loads(request["body"])
    assert body == {
        "id": str(event.pk),
        "type": "order.paid",
        "created_at": event.created_at.isoformat(),
        "data": {"number": "A001", "total": 1290},
    }
    assert WebhookDelivery.objects.get().status == "delivered"


def test_a_receiver_with_another_secret_refuses_and_we_retry(merchant, receiver):
    _endpoint(merchant, receiver.url())
    receiver.secret = "whsec_not-the-one"
    _emit_and_dispatch(merchant)

    services.webhook_deliveries_send_due(now=T0)

    assert receiver.verified == [False]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code == 401


def test_a_tampered_body_fails_verification(merchant, receiver):
    _, secret = _endpoint(merchant, receiver.url())
    _emit_and_dispatch(merchant)
    services.webhook_deliveries_send_due(now=T0)
    request = receiver.requests[0]

    assert signing.verify_webhook(
        secret=secret, url_path=request["path"], headers=request["headers"], body=request["body"]
    )
    tampered = request["body"].replace(b"COLA", b"COLB")
    assert not signing.verify_webhook(
        secret=secret, url_path=request["path"], headers=request["headers"], body=tampered
    )
    assert not signing.verify_webhook(
        secret=secret, url_path=request["path"], headers=request["headers"], body=request["body"], now=0
    )


def test_after_the_schedule_the_delivery_fails(merchant, receiver):
    _endpoint(merchant, receiver.url())
    receiver.statuses = [500] * 20
    _emit_and_dispatch(merchant)

    now = T0
    for _ in range(len(services.RETRY_DELAYS_S) + 1):
        assert services.webhook_deliveries_send_due(now=now) == 1
        delivery = WebhookDelivery.objects.get()
        if delivery.next_attempt_at:
            now = delivery.next_attempt_at

    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delivery.attempts == len(services.RETRY_DELAYS_S) + 1 == 9
    assert timedelta(hours=18) < now - T0 < timedelta(hours=26)
    assert services.webhook_deliveries_send_due(now=now + timedelta(days=2)) == 0
    assert len(receiver.requests) == 9


def test_an_unreachable_receiver_is_an_error_and_a_retry(merchant):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _endpoint(merchant, f"http://127.0.0.1:{port}/hook")
    _emit_and_dispatch(merchant)

    services.webhook_deliveries_send_due(now=T0)

    delivery = WebhookDelivery.objects.get()
    attempt = WebhookAttempt.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert attempt.status_code is None and attempt.error.startswith("ConnectError")


def test_private_addresses_are_refused_in_production(merchant, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    _endpoint(merchant, receiver.url())
    _emit_and_dispatch(merchant)

    services.webhook_deliveries_send_due(now=T0)

    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.error == "not sent: the host resolves to a private, local or reserved address"
    assert WebhookDelivery.objects.get().status == "pending"


def test_deliveries_of_a_disabled_endpoint_are_closed_unsent(merchant, receiver):
    endpoint, _ = _endpoint(merchant, receiver.url())
    _emit_and_dispatch(merchant)
    services.webhook_endpoint_update(actor=Actor.system(merchant.pk), endpoint=endpoint, is_active=False)

    services.webhook_deliveries_send_due(now=T0)

    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.last_error == "endpoint disabled; not sent"


def test_a_claimed_delivery_is_leased(merchant, receiver):
    _endpoint(merchant, receiver.url())
    _emit_and_dispatch(merchant)

    assert services.webhook_deliveries_claim(now=T0) == [WebhookDelivery.objects.get().pk]
    # Another worker, a moment later, finds nothing to send; once the lease runs out, it does.
    assert services.webhook_deliveries_claim(now=T0 + timedelta(seconds=30)) == []
    assert len(services.webhook_deliveries_claim(now=T0 + services.DELIVERY_LEASE)) == 1


# --- HQ API --------------------------------------------------------------------------------------------


def test_create_list_update_and_rotate(hq_api, merchant):
    reply = hq_api.post(
        HOOKS, {"url": "https://erp.example.com/hooks", "event_types": ["order.paid", "stock.low"]}
    )

    assert reply.status_code == 201
    created = reply.json()
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["order.paid", "stock.low"] and created["is_active"] is True
    assert WebhookEndpoint.objects.get().secret == created["secret"]

    listed = hq_api.get(HOOKS).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]
    assert "secret" not in hq_api.get(f"{HOOKS}/{created['id']}").json()

    updated = hq_api.patch(f"{HOOKS}/{created['id']}", {"is_active": False, "event_types": ["*"]}).json()
    assert updated["is_active"] is False and updated["event_types"] == ["*"] and updated["secret"] is None

    rotated = hq_api.patch(f"{HOOKS}/{created['id']}", {"rotate_secret": True}).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert WebhookEndpoint.objects.get().secret == rotated["secret"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://erp.example.com/hooks",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://user:pass@erp.example.com/hooks",
        "https://user@erp.example.com/hooks",
        "https:///hooks",
        "erp.example.com/hooks",
        "https://erp.example.com/hooks#frag",
        "https://erp.example.com/ho oks",
    ],
)
def test_bad_urls_are_refused_and_nothing_is_created(hq_api, url):
    reply = hq_api.post(HOOKS, {"url": url})

    assert reply.status_code == 422
    assert reply.json()["code"] == "invalid_webhook_url"
    assert WebhookEndpoint.objects.count() == 0


def test_a_bad_url_in_an_update_changes_nothing(hq_api):
    created = hq_api.post(HOOKS, {"url": "https://erp.example.com/hooks"}).json()

    reply = hq_api.patch(
        f"{HOOKS}/{created['id']}", {"url": "http://me:pw@evil.example/", "is_active": False}
    )

    assert reply.status_code == 422
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "https://erp.example.com/hooks" and endpoint.is_active is True


def test_unknown_event_types_are_refused(hq_api):
    reply = hq_api.post(
        HOOKS, {"url": "https://erp.example.com/hooks", "event_types": ["order.paid", "order.eaten"]}
    )
    assert reply.status_code == 422 and reply.json()["code"] == "unknown_event_type"
    reply = hq_api.post(HOOKS, {"url": "https://erp.example.com/hooks", "event_types": []})
    assert reply.status_code == 422
    assert WebhookEndpoint.objects.count() == 0


def test_the_delivery_log_pages_newest_first_in_constant_queries(
    hq_api, merchant, receiver, django_assert_num_queries
):
    created = hq_api.post(HOOKS, {"url": receiver.url()}).json()
    receiver.statuses = [500]
    for n in range(3):
        _emit_and_dispatch(merchant, payload={"n": n})
    services.webhook_deliveries_send_due(now=T0)
    deliveries = list(WebhookDelivery.objects.order_by("-pk"))
    url = f"{HOOKS}/{created['id']}/deliveries"

    hq_api.get(url)
    with django_assert_num_queries(4):  # token+staff, endpoint, deliveries+events, attempts
        page = hq_api.get(url, {"limit": 2}).json()
    assert [item["id"] for item in page["items"]] == [str(d.pk) for d in deliveries[:2]]
    rest = hq_api.get(url, {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [item["id"] for item in rest["items"]] == [str(deliveries[2].pk)] and rest["next_cursor"] is None

    oldest = rest["items"][0]
    assert oldest["status"] == "pending" and oldest["attempts"] == 1
    assert oldest["event"]["type"] == "stock.low" and oldest["event"]["aggregate_id"] == "7"
    assert oldest["attempt_log"][0]["status_code"] == 500 and oldest["attempt_log"][0]["succeeded"] is False
    failed_only = hq_api.get(url, {"status": "delivered"}).json()["items"]
    assert len(failed_only) == 2


def test_replay_resends_with_the_same_delivery_id(
    hq_api, merchant, receiver, django_capture_on_commit_callbacks
):
    hq_api.post(HOOKS, {"url": receiver.url()})
    _emit_and_dispatch(merchant)
    services.webhook_deliveries_send_due(now=T0)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered"

    with django_capture_on_commit_callbacks(execute=True):
        reply = hq_api.post(f"/api/hq/v1/webhook-deliveries/{delivery.pk}/replay")

    assert reply.status_code == 202 and reply.json()["id"] == str(delivery.pk)
    assert [r["headers"][signing.DELIVERY_HEADER] for r in receiver.requests] == [str(delivery.pk)] * 2
    assert receiver.processed == [str(delivery.pk)]  # the receiver deduplicated the replay
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2


def test_another_merchants_hq_can_neither_see_nor_touch(
    hq_api, merchant, other_merchant, receiver, make_staff_api
):
    created = hq_api.post(HOOKS, {"url": receiver.url()}).json()
    _emit_and_dispatch(merchant)
    services.webhook_deliveries_send_due(now=T0)
    delivery = WebhookDelivery.objects.get()
    rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, username="rival_hq")

    assert rival.get(HOOKS).json()["items"] == []
    for reply in (
        rival.get(f"{HOOKS}/{created['id']}"),
        rival.patch(f"{HOOKS}/{created['id']}", {"url": "https://rival.example.com/steal"}),
        rival.get(f"{HOOKS}/{created['id']}/deliveries"),
        rival.post(f"/api/hq/v1/webhook-deliveries/{delivery.pk}/replay"),
    ):
        assert reply.status_code == 404 and reply.json()["code"] == "not_found"

    assert WebhookEndpoint.objects.get().url == receiver.url()
    assert WebhookAttempt.objects.count() == 1 and len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1


@pytest.mark.parametrize("client_fixture", ["clerk_api", "manager_api"])
def test_store_staff_get_403(request, client_fixture, hq_api, merchant, receiver):
    created = hq_api.post(HOOKS, {"url": receiver.url()}).json()
    _emit_and_dispatch(merchant)
    delivery = WebhookDelivery.objects.get()
    client = request.getfixturevalue(client_fixture)

    for reply in (
        client.get(HOOKS),
        client.post(HOOKS, {"url": "https://clerk.example.com/"}),
        client.patch(f"{HOOKS}/{created['id']}", {"is_active": False}),
        client.get(f"{HOOKS}/{created['id']}/deliveries"),
        client.post(f"/api/hq/v1/webhook-deliveries/{delivery.pk}/replay"),
    ):
        assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
    assert WebhookEndpoint.objects.count() == 1 and WebhookEndpoint.objects.get().is_active
    assert receiver.requests == []


def test_replay_of_a_disabled_endpoint_is_a_conflict(hq_api, merchant, receiver):
    created = hq_api.post(HOOKS, {"url": receiver.url()}).json()
    _emit_and_dispatch(merchant)
    delivery = WebhookDelivery.objects.get()
    hq_api.patch(f"{HOOKS}/{created['id']}", {"is_active": False})

    reply = hq_api.post(f"/api/hq/v1/webhook-deliveries/{delivery.pk}/replay")

    assert reply.status_code == 409 and reply.json()["code"] == "webhook_inactive"
    assert receiver.requests == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_send_each_delivery_once(merchant, receiver):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    _endpoint(merchant, receiver.url())
    from unittest import mock

    with mock.patch("mendian.integrations.outbox.kick_dispatcher"):
        for n in range(40):
            with transaction.atomic():
                outbox_emit(merchant_id=merchant.pk, event_type=STOCK_LOW, payload={"n": n})
    with mock.patch("mendian.integrations.services._kick_sender"):
        services.outbox_dispatch(now=T0)
    barrier, errors = threading.Barrier(4), []

    def worker():
        try:
            barrier.wait()
            for _ in range(5):
                services.webhook_deliveries_send_due(now=T0, limit=5)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sent = [r["headers"][signing.DELIVERY_HEADER] for r in receiver.requests]
    assert len(sent) == len(set(sent)) == 40
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
    assert WebhookAttempt.objects.count() == 40
