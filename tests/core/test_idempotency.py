import json
import threading

import pytest
from django.db import connection
from django.http import JsonResponse
from django.test import RequestFactory

from mendian.core.errors import Conflict
from mendian.core.idempotency import idempotent
from mendian.core.models import IdempotencyRecord

calls = []


@idempotent(lambda request: "customer:1")
def create_thing(request):
    calls.append(json.loads(request.body))
    body = json.loads(request.body)
    if body.get("fail") == "conflict":
        raise Conflict("not enough", code="out_of_stock")
    if body.get("fail") == "crash":
        raise RuntimeError("database went away")
    return JsonResponse({"id": len(calls), "echo": body}, status=201)


def post(body, key="k1", path="/api/v1/things"):
    request = RequestFactory().post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Idempotency-Key": key} if key else {},
    )
    return create_thing(request)


@pytest.fixture(autouse=True)
def _reset():
    calls.clear()


@pytest.mark.django_db
def test_same_key_and_body_replays_the_first_reply_without_running_again():
    first = post({"a": 1})
    second = post({"a": 1})
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second["Idempotent-Replayed"] == "true"
    assert len(calls) == 1


@pytest.mark.django_db
def test_same_key_other_body_is_rejected_and_runs_nothing():
    post({"a": 1})
    with pytest.raises(Conflict) as exc:
        post({"a": 2})
    assert exc.value.code == "idempotency_key_reused"
    assert len(calls) == 1


@pytest.mark.django_db
def test_expected_refusals_are_replayed_too():
    first = post({"fail": "conflict"})
    second = post({"fail": "conflict"})
    assert first.status_code == second.status_code == 409
    assert json.loads(second.content)["code"] == "out_of_stock"
    assert len(calls) == 1


@pytest.mark.django_db
def test_a_crash_frees_the_key_so_a_retry_runs_once_more():
    with pytest.raises(RuntimeError):
        post({"fail": "crash"}, key="k-crash")
    assert not IdempotencyRecord.objects.filter(key="k-crash").exists()
    with pytest.raises(RuntimeError):
        post({"fail": "crash"}, key="k-crash")
    assert len(calls) == 2


@pytest.mark.django_db
def test_no_key_means_no_idempotency():
    post({"a": 1}, key=None)
    post({"a": 1}, key=None)
    assert len(calls) == 2 and IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_keys_of_different_clients_never_collide():
    @idempotent(lambda request: request.headers["X-Client"])
    def view(request):
        return JsonResponse({"client": request.headers["X-Client"]}, status=201)

    factory = RequestFactory()
    replies = [
        view(
            factory.post(
                "/x",
                data="{}",
                content_type="application/json",
                headers={"Idempotency-Key": "same", "X-Client": client},
            )
        )
        for client in ("customer:1", "customer:2")
    ]
    assert [json.loads(r.content)["client"] for r in replies] == ["customer:1", "customer:2"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_requests_with_one_key_execute_once():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    results, barrier = [], threading.Barrier(50)

    def worker():
        from django.db import connections

        barrier.wait()
        try:
            results.append(post({"a": 1}, key="storm").status_code)
        except Conflict as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 50
    assert set(results) <= {201, "idempotency_request_in_progress"}
