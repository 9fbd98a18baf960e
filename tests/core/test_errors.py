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
