import json

import pytest

from mendian.core.errors import problem_response
from mendian.core.middleware import ApiErrorMiddleware


def test_unknown_api_path_is_problem_json(api, db):
    response = api.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_healthz_and_readyz(api, db):
    assert api.get("/healthz").status_code == 200
    body = api.get("/readyz").json()
    assert body["status"] == "ok" and body["checks"]["database"] == "ok"


def test_every_response_carries_a_request_id(api, db):
    response = api.get("/healthz", headers={"X-Request-ID": "abc12345-fixed"})
    assert response["X-Request-ID"] == "abc12345-fixed"
    assert len(api.get("/healthz")["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("post", "/api/v1/stores/1/products", "GET"),  # routed straight to its handler
        ("delete", "/api/v1/categories", "GET"),  # through ninja
        ("put", "/api/staff/v1/me", "GET"),
        ("patch", "/api/hq/v1/stores", "GET, POST"),
    ],
)
def test_a_method_the_path_does_not_take_is_problem_json(api, db, method, path, allow):
    response = getattr(api, method)(path)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"
    assert sorted(response["Allow"].split(", ")) == sorted(allow.split(", "))


def test_pages_keep_their_own_405(api, db):
    response = api.get("/hq/logout/")
    assert response.status_code == 405
    assert response["Content-Type"] != "application/problem+json"


def test_a_405_already_in_problem_json_keeps_its_own_detail(rf):
    def view(request):
        return problem_response(405, "method_not_allowed", "Refunds are created, never replaced.")

    response = ApiErrorMiddleware(view)(rf.put("/api/v1/anything"))
    assert response.status_code == 405
    assert json.loads(response.content)["detail"] == "Refunds are created, never replaced."
