"""Real concurrency (PostgreSQL): a login code signs in once; failed sign-ins are all counted."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection, connections

from mendian.accounts.models import AuthToken, Customer, SmsCode, Staff
from mendian.accounts.services import customer_login_with_sms, sms_code_send, staff_authenticate
from mendian.core.errors import DomainError
from mendian.core.scope import Role
from tests.accounts.conftest import outbox_codes
from tests.factories import StaffFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _in_threads(count: int, call) -> list:
    barrier = threading.Barrier(count)

    def run(n):
        barrier.wait()
        try:
            return call(n)
        except DomainError as exc:
            return exc.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")


def test_one_code_submitted_ten_times_at_once_signs_in_once():
    sms_code_send(phone="13812345678", ip="10.0.0.1")
    code = outbox_codes("13812345678")[0]

    results = _in_threads(
        10, lambda n: customer_login_with_sms(phone="13812345678", code=code, ip=f"10.0.1.{n}")[0].pk
    )

    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1
    assert results.count("invalid_code") == 9
    assert Customer.objects.count() == 1
    assert AuthToken.objects.count() == 2
    assert SmsCode.objects.get().used_at is not None


def test_concurrent_wrong_passwords_are_all_counted_and_lock_once():
    staff = StaffFactory(username="target", role=Role.PLATFORM_ADMIN)
    threshold = settings.STAFF_LOCKOUT_THRESHOLD

    results = _in_threads(
        threshold, lambda n: staff_authenticate(username="target", password=f"wrong-{n}", ip=f"10.0.2.{n}")
    )

    assert sorted(results) == sorted(["invalid_credentials"] * (threshold - 1) + ["account_locked"])
    staff = Staff.objects.get(pk=staff.pk)
    assert staff.locked_until is not None and staff.failed_logins == 0
