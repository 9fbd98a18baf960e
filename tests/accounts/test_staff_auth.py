"""Staff sign-in: Argon2 passwords, lockout, TOTP, REQUIRE_MFA, rate limits, logout."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from mendian.accounts import services
from mendian.accounts.models import AuthToken, Staff
from mendian.accounts.ratelimit import Limit
from mendian.accounts.services import staff_authenticate
from mendian.core.errors import DomainError
from mendian.core.scope import Role
from tests.conftest import ApiClient
from tests.factories import StaffFactory

LOGIN = "/api/staff/v1/auth/login"
PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _no_otp_throttle(settings):
    # django-otp slows retries after a failure; these tests retry at once on purpose.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.fixture
def clerk(store):
    return StaffFactory(username="clerk1", role=Role.STORE_CLERK, store=store)


@pytest.fixture
def hq_admin(merchant):
    return StaffFactory(username="boss", role=Role.MERCHANT_ADMIN, merchant=merchant)


def _device(staff: Staff) -> TOTPDevice:
    return TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)


def _otp(device: TOTPDevice, offset_steps: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, drift=offset_steps):06d}"


def test_login_answers_a_staff_token(api, clerk, store):
    response = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["staff"] == {
        "id": str(clerk.pk),
        "role": "store_clerk",
        "merchant_id": str(store.merchant_id),
        "store_id": str(store.pk),
    }
    assert body["expires_in"] == 12 * 3600
    me = ApiClient(body["access_token"]).get("/api/staff/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "clerk1" and me.json()["mfa_enabled"] is False
    assert "password" not in me.json()
    clerk.refresh_from_db()
    assert clerk.last_login is not None


def test_platform_admin_has_no_merchant(api, db):
    StaffFactory(username="root", role=Role.PLATFORM_ADMIN)

    body = api.post(LOGIN, {"username": "root", "password": PASSWORD}).json()

    assert body["staff"]["merchant_id"] is None and body["staff"]["store_id"] is None


def test_wrong_password_and_unknown_user_answer_alike(api, clerk):
    wrong = api.post(LOGIN, {"username": "clerk1", "password": "nope-nope-nope"})
    unknown = api.post(LOGIN, {"username": "ghost", "password": "nope-nope-nope"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert AuthToken.objects.count() == 0


def test_an_unknown_user_still_costs_a_password_hash(db):
    with (
        mock.patch("mendian.accounts.services.Staff.set_password") as hashing,
        pytest.raises(DomainError) as caught,
    ):
        staff_authenticate(username="ghost", password="whatever-123", ip="10.0.0.1")
    assert caught.value.code == "invalid_credentials"
    hashing.assert_called_once_with("whatever-123")


def test_passwords_are_stored_with_the_configured_hasher(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    staff = StaffFactory(username="argon", role=Role.PLATFORM_ADMIN, password="correct-horse-9")

    assert staff.password.startswith("argon2$")
    assert staff_authenticate(username="argon", password="correct-horse-9", ip="10.0.0.1").pk == staff.pk


def test_five_failures_lock_the_account_for_fifteen_minutes(api, clerk):
    for _ in range(4):
        assert api.post(LOGIN, {"username": "clerk1", "password": "bad-password-1"}).status_code == 401
    fifth = api.post(LOGIN, {"username": "clerk1", "password": "bad-password-1"})

    assert fifth.status_code == 423
    assert fifth.json()["code"] == "account_locked"
    assert int(fifth["Retry-After"]) == 15 * 60
    right_but_locked = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD})
    assert right_but_locked.status_code == 423
    assert 1 <= int(right_but_locked["Retry-After"]) <= 15 * 60
    assert AuthToken.objects.count() == 0
    clerk.refresh_from_db()
    assert clerk.locked_until is not None and clerk.failed_logins == 0


def test_the_lock_opens_after_the_lockout_time(api, clerk):
    for _ in range(5):
        api.post(LOGIN, {"username": "clerk1", "password": "bad-password-1"})
    later = timezone.now() + timedelta(minutes=15, seconds=1)

    with mock.patch("django.utils.timezone.now", return_value=later):
        response = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD})

    assert response.status_code == 200
    clerk.refresh_from_db()
    assert (clerk.failed_logins, clerk.locked_until) == (0, None)


def test_a_success_resets_the_failure_count(api, clerk):
    for _ in range(4):
        api.post(LOGIN, {"username": "clerk1", "password": "bad-password-1"})
    assert api.post(LOGIN, {"username": "clerk1", "password": PASSWORD}).status_code == 200

    for _ in range(4):
        assert api.post(LOGIN, {"username": "clerk1", "password": "bad-password-1"}).status_code == 401

    clerk.refresh_from_db()
    assert clerk.failed_logins == 4 and clerk.locked_until is None


def test_a_disabled_staff_member_cannot_sign_in(api, clerk):
    clerk.is_active = False
    clerk.save(update_fields=["is_active"])

    response = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD})

    assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"


def test_with_a_confirmed_device_the_otp_is_required_and_checked(api, clerk):
    device = _device(clerk)

    missing = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD})
    wrong = api.post(
        LOGIN, {"username": "clerk1", "password": PASSWORD, "otp": f"{(int(_otp(device)) + 1) % 10**6:06d}"}
    )
    right = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD, "otp": _otp(device)})

    assert (missing.status_code, missing.json()["code"]) == (401, "otp_required")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_otp")
    assert right.status_code == 200
    assert AuthToken.objects.count() == 1


def test_an_otp_works_once(api, clerk):
    device = _device(clerk)
    code = _otp(device)
    assert api.post(LOGIN, {"username": "clerk1", "password": PASSWORD, "otp": code}).status_code == 200

    replay = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD, "otp": code})

    assert replay.json()["code"] == "invalid_otp"


def test_wrong_otps_count_towards_the_lockout(api, clerk):
    _device(clerk)
    for _ in range(4):
        api.post(LOGIN, {"username": "clerk1", "password": PASSWORD, "otp": "000000"})

    fifth = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD, "otp": "000000"})

    assert fifth.status_code == 423


def test_an_unconfirmed_device_does_not_demand_an_otp(api, clerk):
    TOTPDevice.objects.create(user=clerk, name="pending", confirmed=False)

    assert api.post(LOGIN, {"username": "clerk1", "password": PASSWORD}).status_code == 200


def test_require_mfa_sends_hq_roles_without_a_device_to_enrolment(api, hq_admin, clerk, settings):
    settings.REQUIRE_MFA = True

    hq = api.post(LOGIN, {"username": "boss", "password": PASSWORD})
    store_staff = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD})

    assert (hq.status_code, hq.json()["code"]) == (403, "mfa_enrolment_required")
    assert store_staff.status_code == 200
    assert AuthToken.objects.filter(staff=hq_admin).count() == 0
    device = _device(hq_admin)
    assert api.post(LOGIN, {"username": "boss", "password": PASSWORD, "otp": _otp(device)}).status_code == 200


def test_require_mfa_does_not_reveal_enrolment_before_the_password(api, hq_admin, settings):
    settings.REQUIRE_MFA = True

    response = api.post(LOGIN, {"username": "boss", "password": "bad-password-1"})

    assert response.json()["code"] == "invalid_credentials"


def test_login_is_rate_limited_per_username(api, clerk, monkeypatch):
    monkeypatch.setattr(services, "STAFF_LOGIN_USERNAME", Limit("test:staff-user", 3, 900))
    for n in range(3):
        api.post(LOGIN, {"username": "clerk1", "password": PASSWORD}, REMOTE_ADDR=f"10.0.0.{n}")

    response = api.post(LOGIN, {"username": "CLERK1", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")

    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_login_is_rate_limited_per_ip(api, clerk, monkeypatch):
    monkeypatch.setattr(services, "STAFF_LOGIN_IP", Limit("test:staff-ip", 3, 900))
    for n in range(3):
        api.post(LOGIN, {"username": f"ghost{n}", "password": "x"}, REMOTE_ADDR="10.0.0.1")

    refused = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")

    assert refused.status_code == 429
    assert (
        api.post(LOGIN, {"username": "clerk1", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2").status_code
        == 200
    )


def test_login_body_is_strict(api, clerk):
    response = api.post(LOGIN, {"username": "clerk1", "password": PASSWORD, "role": "platform_admin"})

    assert response.status_code == 422
    assert AuthToken.objects.count() == 0


def test_logout_revokes_the_staff_token(clerk_api):
    assert clerk_api.get("/api/staff/v1/me").status_code == 200

    assert clerk_api.post("/api/staff/v1/auth/logout").status_code == 204

    assert clerk_api.get("/api/staff/v1/me").status_code == 401


def test_staff_me_needs_a_staff_token(api, member_api):
    assert api.get("/api/staff/v1/me").status_code == 401
    assert member_api.get("/api/staff/v1/me").status_code == 401
