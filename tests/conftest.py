from types import SimpleNamespace

import pytest
from django.test import Client

from mendian.accounts import ratelimit
from mendian.accounts.tokens import customer_tokens_issue, staff_token_issue
from mendian.core.scope import Role
from tests.factories import CustomerFactory, MerchantFactory, StaffFactory, StoreFactory


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def merchant(db):
    return MerchantFactory(code="acme", name="极客便利")


@pytest.fixture
def other_merchant(db):
    return MerchantFactory(code="rival", name="对手超市")


@pytest.fixture
def store(merchant):
    return StoreFactory(merchant=merchant, code="jh001", name="江汉路店")


@pytest.fixture
def other_store(merchant):
    return StoreFactory(merchant=merchant, code="wc002", name="武昌店", lat=30.5440, lng=114.3160)


class ApiClient(Client):
    """A test client that speaks JSON and carries a bearer token."""

    def __init__(self, token: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.token = token

    def _headers(self, headers):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, path, data=None, headers=None, **kw):
        return super().get(path, data, headers=self._headers(headers), **kw)

    def delete(self, path, data=None, headers=None, **kw):
        return super().delete(
            path, data, content_type="application/json", headers=self._headers(headers), **kw
        )

    def post(self, path, data=None, headers=None, content_type="application/json", **kw):
        return super().post(path, data, content_type=content_type, headers=self._headers(headers), **kw)

    def put(self, path, data=None, headers=None, **kw):
        return super().put(path, data, content_type="application/json", headers=self._headers(headers), **kw)

    def patch(self, path, data=None, headers=None, **kw):
        return super().patch(
            path, data, content_type="application/json", headers=self._headers(headers), **kw
        )


@pytest.fixture
def api():
    return ApiClient()


@pytest.fixture
def customer(db):
    return CustomerFactory(phone="13812345678")


@pytest.fixture
def member_api(customer):
    return ApiClient(customer_tokens_issue(customer=customer)["access_token"])


def _staff_api(**kwargs):
    staff = StaffFactory(**kwargs)
    client = ApiClient(staff_token_issue(staff=staff)["access_token"])
    client.staff = staff
    return client


@pytest.fixture
def hq_api(merchant):
    return _staff_api(role=Role.MERCHANT_ADMIN, merchant=merchant, store=None, username="hq_admin")


@pytest.fixture
def platform_api(db):
    return _staff_api(role=Role.PLATFORM_ADMIN, merchant=None, store=None, username="platform")


@pytest.fixture
def clerk_api(store):
    return _staff_api(role=Role.STORE_CLERK, store=store, username="clerk")


@pytest.fixture
def manager_api(store):
    return _staff_api(role=Role.STORE_MANAGER, store=store, username="manager")


@pytest.fixture
def make_staff_api(db):
    return _staff_api


@pytest.fixture(autouse=True)
def _still_ratelimit_clock(monkeypatch):
    """Holds the rate limiter's clock still, so a test's calls never straddle the edge of a fixed
    window (past it the count starts again and the call a test expects refused goes through; a
    pickup test crossed a minute's edge so in CI). No test waits for a window or a cooldown to pass."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
