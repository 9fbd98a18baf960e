def test_the_accounts_endpoints_are_documented(api, db):
    consumer = api.get("/api/v1/openapi.json").json()["paths"]
    staff = api.get("/api/staff/v1/openapi.json").json()["paths"]
    hq = api.get("/api/hq/v1/openapi.json").json()["paths"]

    assert {
        "/api/v1/auth/sms-code",
        "/api/v1/auth/login",
        "/api/v1/auth/wechat",
        "/api/v1/auth/refresh",
    } <= set(consumer)
    assert {"/api/v1/auth/logout", "/api/v1/me", "/api/v1/dev/sms-outbox"} <= set(consumer)
    assert {"/api/staff/v1/auth/login", "/api/staff/v1/auth/logout", "/api/staff/v1/me"} <= set(staff)
    assert {"/api/hq/v1/staff", "/api/hq/v1/staff/{staff_id}"} <= set(hq)
    assert set(hq["/api/hq/v1/staff"]) == {"get", "post"}
    assert set(hq["/api/hq/v1/staff/{staff_id}"]) == {"get", "patch"}
