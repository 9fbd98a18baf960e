from urllib.parse import parse_qs, urlsplit

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from mendian.accounts.services import staff_authenticate, totp_enrol_begin, totp_enrol_confirm
from mendian.core.errors import DomainError
from mendian.core.scope import Role
from tests.factories import StaffFactory


@pytest.fixture
def boss(merchant):
    return StaffFactory(username="boss", role=Role.MERCHANT_ADMIN, merchant=merchant)


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key):06d}"


def test_enrolment_gives_an_otpauth_url_and_a_qr_code(boss):
    device, url, svg = totp_enrol_begin(staff=boss)

    parts = urlsplit(url)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/Mendian%3Aboss"
    query = parse_qs(parts.query)
    assert query["issuer"] == ["Mendian"] and query["digits"] == ["6"] and query["period"] == ["30"]
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert device.confirmed is False


def test_confirming_with_a_right_code_turns_on_the_second_factor(boss):
    device, _, _ = totp_enrol_begin(staff=boss)

    confirmed = totp_enrol_confirm(staff=boss, token=_code(device))

    assert confirmed.pk == device.pk and confirmed.confirmed is True
    with pytest.raises(DomainError) as missing:
        staff_authenticate(username="boss", password="correct-horse-9", ip="10.0.0.1")
    assert missing.value.code == "otp_required"


def test_a_wrong_code_leaves_the_device_unconfirmed(boss, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device, _, _ = totp_enrol_begin(staff=boss)

    with pytest.raises(DomainError) as caught:
        totp_enrol_confirm(staff=boss, token=f"{(int(_code(device)) + 1) % 10**6:06d}")

    assert (caught.value.status, caught.value.code) == (422, "invalid_otp")
    device.refresh_from_db()
    assert device.confirmed is False
    assert staff_authenticate(username="boss", password="correct-horse-9", ip="10.0.0.1").pk == boss.pk


def test_starting_again_replaces_the_pending_device(boss):
    first, _, _ = totp_enrol_begin(staff=boss)
    second, _, _ = totp_enrol_begin(staff=boss)

    assert list(TOTPDevice.objects.filter(user=boss).values_list("pk", flat=True)) == [second.pk]
    assert first.key != second.key


def test_confirming_without_starting_is_409(boss):
    with pytest.raises(DomainError) as caught:
        totp_enrol_confirm(staff=boss, token="123456")

    assert (caught.value.status, caught.value.code) == (409, "enrolment_not_started")
