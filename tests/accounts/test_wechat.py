"""WeChat mini-program login against a local stand-in for api.weixin.qq.com."""

import logging

import pytest
from django.db import connection

from mendian.accounts.models import AuthToken, Customer, WechatSession
from mendian.core.pii import blind_index

APPID = "wx1234567890abcdef"
APP_SECRET = "app-secret-0123456789abcdef"
OPENID = "oAbC-openid-0001"
SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
URL = "/api/v1/auth/wechat"


@pytest.fixture
def wechat(stand_in, settings):
    settings.WECHAT_MINIAPP = {"endpoint": stand_in.url, "appid": APPID, "secret": APP_SECRET}
    sessions = {"code-1": {"openid": OPENID, "session_key": SESSION_KEY, "unionid": "union-1"}}

    def jscode2session(method, path, query, body):
        if path != "/sns/jscode2session" or query.get("appid") != APPID or query.get("secret") != APP_SECRET:
            return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
        if query.get("grant_type") != "authorization_code":
            return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
        found = sessions.pop(query.get("js_code"), None)  # a code works once
        if found is None:
            return 200, {"errcode": 40029, "errmsg": "invalid code"}
        return 200, found

    stand_in.respond = jscode2session
    stand_in.sessions = sessions
    return stand_in


def test_first_login_creates_the_customer_and_keeps_the_session_key_secret(api, db, wechat, caplog):
    caplog.set_level(logging.DEBUG)

    response = api.post(URL, {"code": "code-1"})

    assert response.status_code == 200, response.content
    body = response.json()
    customer = Customer.objects.get()
    assert body["member"] == {"id": str(customer.pk), "phone_masked": "", "level": "regular"}
    assert body["access_token"].startswith("mda_")
    assert customer.wechat_openid == OPENID
    assert customer.wechat_openid_hash == blind_index(OPENID, purpose="wechat_openid")
    assert customer.wechat_session.session_key == SESSION_KEY
    assert customer.wechat_session.unionid_hash == blind_index("union-1", purpose="wechat_unionid")
    assert SESSION_KEY not in response.content.decode() and OPENID not in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_key FROM accounts_wechatsession")
        assert SESSION_KEY not in cursor.fetchone()[0]
        cursor.execute("SELECT wechat_openid FROM accounts_customer")
        assert OPENID not in cursor.fetchone()[0]
    assert SESSION_KEY not in caplog.text
    [request] = wechat.requests
    assert request["query"] == {
        "appid": APPID,
        "secret": APP_SECRET,
        "js_code": "code-1",
        "grant_type": "authorization_code",
    }
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and SESSION_KEY not in me.content.decode()


def test_the_app_secret_is_masked_in_the_http_client_log(api, db, wechat, caplog):
    from mendian.core.logging import MaskPiiFilter

    caplog.set_level(logging.INFO, logger="httpx")
    caplog.handler.addFilter(MaskPiiFilter())
    try:
        api.post(URL, {"code": "code-1"})
    finally:
        caplog.handler.removeFilter(caplog.handler.filters[-1])

    assert "jscode2session" in caplog.text
    assert APP_SECRET not in caplog.text and "code-1" not in caplog.text


def test_a_later_login_finds_the_same_customer_and_refreshes_the_session_key(api, db, wechat):
    api.post(URL, {"code": "code-1"})
    wechat.sessions["code-2"] = {"openid": OPENID, "session_key": "bmV3LXNlc3Npb24ta2V5"}

    response = api.post(URL, {"code": "code-2"})

    assert response.status_code == 200
    assert Customer.objects.count() == 1
    assert WechatSession.objects.get().session_key == "bmV3LXNlc3Npb24ta2V5"
    assert "bmV3LXNlc3Npb24ta2V5" not in response.content.decode()


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        ({"errcode": 40029, "errmsg": "invalid code"}, 422, "invalid_code"),
        ({"errcode": 40163, "errmsg": "code been used"}, 422, "invalid_code"),
        ({"errcode": 45011, "errmsg": "api minute-quota reach limit"}, 429, "rate_limited"),
        ({"errcode": 40226, "errmsg": "invalid user"}, 403, "user_blocked"),
        ({"errcode": -1, "errmsg": "system error"}, 502, "wechat_unavailable"),
        ({"errcode": 40125, "errmsg": "invalid appsecret"}, 502, "wechat_unavailable"),
        ({"session_key": SESSION_KEY}, 502, "wechat_unavailable"),  # no openid
    ],
)
def test_wechat_errors_map_to_stable_codes_and_change_nothing(api, db, wechat, answer, status, code):
    wechat.respond = lambda *args: (200, answer)

    response = api.post(URL, {"code": "code-1"})

    assert response.status_code == status
    assert response.json()["code"] == code
    assert (
        Customer.objects.count() == 0
        and WechatSession.objects.count() == 0
        and AuthToken.objects.count() == 0
    )
    if status == 429:
        assert response["Retry-After"] == "60"


def test_a_reused_code_is_refused(api, db, wechat):
    assert api.post(URL, {"code": "code-1"}).status_code == 200

    response = api.post(URL, {"code": "code-1"})

    assert response.status_code == 422 and response.json()["code"] == "invalid_code"


def test_an_http_failure_or_garbage_is_502(api, db, wechat):
    wechat.respond = lambda *args: (500, b"oops")
    assert api.post(URL, {"code": "code-1"}).json()["code"] == "wechat_unavailable"
    wechat.respond = lambda *args: (200, b"not json")
    assert api.post(URL, {"code": "code-1"}).json()["code"] == "wechat_unavailable"
    wechat.close()
    assert api.post(URL, {"code": "code-1"}).status_code == 502
    assert Customer.objects.count() == 0


def test_without_an_appid_wechat_login_is_503(api, db, settings):
    settings.WECHAT_MINIAPP = {"endpoint": "https://api.weixin.qq.com", "appid": "", "secret": ""}

    response = api.post(URL, {"code": "code-1"})

    assert response.status_code == 503
    assert response.json()["code"] == "wechat_not_configured"


def test_an_empty_or_oversized_code_never_reaches_wechat(api, db, wechat):
    assert api.post(URL, {"code": ""}).status_code == 422
    assert api.post(URL, {"code": "x" * 129}).status_code == 422
    assert api.post(URL, {"code": "   "}).json()["code"] == "invalid_code"
    assert wechat.requests == []


def test_a_disabled_customer_cannot_sign_in_with_wechat(api, db, wechat):
    Customer.objects.create(
        wechat_openid=OPENID, wechat_openid_hash=blind_index(OPENID, purpose="wechat_openid"), is_active=False
    )

    response = api.post(URL, {"code": "code-1"})

    assert response.status_code == 403
    assert AuthToken.objects.count() == 0 and WechatSession.objects.count() == 0
