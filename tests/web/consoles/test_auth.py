"""Console sign-in: password, lockout, TOTP, REQUIRE_MFA enrolment, the wrong console, sign-out."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from mendian.accounts.models import Staff
from tests.web.consoles.conftest import PASSWORD, otp_for


def _login(client, path, username, password=PASSWORD, otp="", next_url=""):
    return client.post(path, {"username": username, "password": password, "otp": otp, "next": next_url})


def test_hq_login_page_renders(client, db):
    response = client.get("/hq/login/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "总部控制台" in body and 'name="username"' in body and 'name="otp"' in body


def test_hq_admin_signs_in_and_lands_on_the_dashboard(client, hq_admin):
    response = _login(client, "/hq/login/", "boss")

    assert response.status_code == 302
    assert response["Location"] == "/hq/"
    assert client.get("/hq/").status_code == 200
    assert int(client.session["_auth_user_id"]) == hq_admin.pk


def test_sign_in_follows_a_safe_next_only(client, hq_admin):
    assert _login(client, "/hq/login/", "boss", next_url="/hq/stores/")["Location"] == "/hq/stores/"
    client.logout()
    assert _login(client, "/hq/login/", "boss", next_url="https://evil.example/")["Location"] == "/hq/"


def test_wrong_password_is_refused_with_a_message(client, hq_admin):
    response = _login(client, "/hq/login/", "boss", password="wrong-password-1")

    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unknown_user_gets_the_same_message(client, db):
    response = _login(client, "/hq/login/", "nobody", password="whatever-123")

    assert "用户名或密码错误" in response.content.decode()


def test_empty_form_shows_field_errors(client, db):
    response = client.post("/hq/login/", {"username": "", "password": ""})

    assert response.status_code == 200
    assert response.content.decode().count('class="errorlist"') == 2


def test_fifth_wrong_password_locks_the_account_and_says_so(client, hq_admin, settings):
    for _ in range(settings.STAFF_LOCKOUT_THRESHOLD - 1):
        assert (
            "用户名或密码错误" in _login(client, "/hq/login/", "boss", password="bad-pass-1").content.decode()
        )

    locked = _login(client, "/hq/login/", "boss", password="bad-pass-1").content.decode()
    assert "账号已锁定" in locked and "15 分钟" in locked
    # Even the right password waits now.
    again = _login(client, "/hq/login/", "boss").content.decode()
    assert "账号已锁定" in again
    assert "_auth_user_id" not in client.session


def test_store_staff_cannot_sign_in_to_the_hq_console(client, clerk):
    response = _login(client, "/hq/login/", "clerk")

    body = response.content.decode()
    assert response.status_code == 200
    assert "无权访问总部控制台" in body
    assert 'href="/store/login/"' in body
    assert "_auth_user_id" not in client.session


def test_store_staff_sign_in_to_the_store_console(client, clerk):
    response = _login(client, "/store/login/", "clerk")

    assert response["Location"] == "/store/"
    assert client.get("/store/").status_code == 200


def test_hq_role_in_the_store_console_is_asked_for_a_store(client, hq_admin, store):
    response = _login(client, "/store/login/", "boss")

    assert response["Location"] == "/store/"
    picker = client.get("/store/")
    assert picker.status_code == 302 and picker["Location"].startswith("/store/pick/")
    page = client.get(picker["Location"]).content.decode()
    assert f"/store/?store={store.pk}" in page


def test_otp_is_required_for_staff_with_a_device_and_the_session_is_verified(client, hq_admin):
    device = TOTPDevice.objects.create(user=hq_admin, name="phone", confirmed=True)

    missing = _login(client, "/hq/login/", "boss")
    assert "请输入身份验证器" in missing.content.decode()
    assert "_auth_user_id" not in client.session

    wrong = _login(client, "/hq/login/", "boss", otp="000000" if otp_for(device) != "000000" else "111111")
    assert "动态验证码错误" in wrong.content.decode()
    assert "_auth_user_id" not in client.session

    ok = _login(client, "/hq/login/", "boss", otp=otp_for(device))
    assert ok.status_code == 302 and ok["Location"] == "/hq/"
    assert client.session.get("otp_device_id") == device.persistent_id
    assert client.get("/hq/").status_code == 200


def test_require_mfa_sends_an_hq_role_without_device_to_enrolment(client, hq_admin, settings):
    settings.REQUIRE_MFA = True

    response = _login(client, "/hq/login/", "boss")
    assert response.status_code == 302
    assert response["Location"].startswith("/hq/mfa/")
    # Every HQ page sends it back there until it has enrolled.
    blocked = client.get("/hq/stores/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/hq/mfa/")

    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "确认绑定" in body
    secret = parse_qs(urlparse(client.session["mfa_enrol_url"]).query)["secret"][0]
    shown = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', body).group(1).replace(" ", "")
    assert shown == secret

    device = TOTPDevice.objects.get(user=hq_admin, confirmed=False)
    wrong = client.post("/hq/mfa/", {"token": "12345"})
    assert "请输入 6 位数字" in wrong.content.decode()
    confirmed = client.post("/hq/mfa/", {"token": otp_for(device), "next": "/hq/stores/"})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/hq/stores/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/hq/stores/").status_code == 200


def test_require_mfa_with_a_device_signs_in_with_the_code(client, hq_admin, settings):
    settings.REQUIRE_MFA = True
    device = TOTPDevice.objects.create(user=hq_admin, name="phone", confirmed=True)

    response = _login(client, "/hq/login/", "boss", otp=otp_for(device))

    assert response["Location"] == "/hq/"
    assert client.get("/hq/").status_code == 200


def test_require_mfa_does_not_touch_store_roles(client, clerk, settings):
    settings.REQUIRE_MFA = True

    assert _login(client, "/store/login/", "clerk")["Location"] == "/store/"
    assert client.get("/store/").status_code == 200


def test_voluntary_enrolment_from_the_profile(hq, hq_admin):
    profile = hq.get("/hq/profile/").content.decode()
    assert "启用两步验证" in profile

    hq.get("/hq/mfa/?next=/hq/profile/")
    device = TOTPDevice.objects.get(user=hq_admin, confirmed=False)
    response = hq.post("/hq/mfa/", {"token": otp_for(device), "next": "/hq/profile/"})

    assert response["Location"] == "/hq/profile/"
    assert "已启用" in hq.get("/hq/profile/").content.decode()
    # From now on signing in needs the code.
    fresh = Client()
    assert "请输入身份验证器" in _login(fresh, "/hq/login/", "boss").content.decode()
    code = f"{totp(device.bin_key, step=device.step, drift=1):06d}"
    assert _login(fresh, "/hq/login/", "boss", otp=code)["Location"] == "/hq/"


def test_a_wrong_enrolment_code_keeps_the_same_secret(hq, hq_admin):
    hq.get("/hq/mfa/")
    first_url = hq.session["mfa_enrol_url"]

    response = hq.post("/hq/mfa/", {"token": "000000"})

    assert response.status_code == 200
    assert hq.session["mfa_enrol_url"] == first_url
    assert TOTPDevice.objects.filter(user=hq_admin, confirmed=False).count() == 1


def test_logout_is_a_post(hq):
    assert hq.get("/hq/logout/").status_code == 405
    response = hq.post("/hq/logout/")
    assert response["Location"] == "/hq/login/"
    assert hq.get("/hq/")["Location"].startswith("/hq/login/")


def test_store_logout(clerk_client):
    response = clerk_client.post("/store/logout/")
    assert response["Location"] == "/store/login/"
    assert clerk_client.get("/store/").status_code == 302


def test_a_deactivated_staff_session_ends(hq, hq_admin):
    Staff.objects.filter(pk=hq_admin.pk).update(is_active=False)

    response = hq.get("/hq/")

    assert response.status_code == 302 and response["Location"].startswith("/hq/login/")


@pytest.mark.parametrize("path", ["/hq/login/", "/store/login/"])
def test_signed_in_visitors_skip_the_login_page(path, hq):
    response = hq.get(path)
    assert response.status_code == 302


def test_require_mfa_with_a_device_but_an_unverified_session_signs_in_again(hq, hq_admin, settings):
    # Signed in before MFA was required, enrolled meanwhile in another browser.
    TOTPDevice.objects.create(user=hq_admin, name="phone", confirmed=True)
    settings.REQUIRE_MFA = True

    response = hq.get("/hq/stores/")

    assert response.status_code == 302 and response["Location"].startswith("/hq/login/?next=")
    assert "_auth_user_id" not in hq.session
    assert "请使用动态验证码重新登录" in hq.get(response["Location"]).content.decode()


def test_require_mfa_applies_to_hq_roles_in_the_store_console(hq, store, settings):
    settings.REQUIRE_MFA = True

    response = hq.get(f"/store/?store={store.pk}")

    assert response.status_code == 302 and response["Location"].startswith("/hq/mfa/")
