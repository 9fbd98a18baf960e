"""merchant_context(request): which brand a consumer request is for."""

import pytest
from django.test import RequestFactory

from mendian.core.errors import NotFound
from mendian.merchants.selectors import merchant_context

pytestmark = pytest.mark.django_db


def request_with(header: str | None):
    headers = {"X-Mendian-Merchant": header} if header is not None else {}
    return RequestFactory().get("/api/v1/stores", headers=headers)


def test_no_header_means_every_merchant(merchant):
    assert merchant_context(request_with(None)) is None
    assert merchant_context(request_with("  ")) is None


def test_header_names_the_merchant_case_insensitively(merchant):
    assert merchant_context(request_with("acme")) == merchant
    assert merchant_context(request_with(" ACME ")) == merchant


def test_unknown_and_inactive_codes_are_merchant_not_found(merchant, other_merchant):
    other_merchant.is_active = False
    other_merchant.save()
    for code in ("nobody", "rival", "acme'; drop table x"):
        with pytest.raises(NotFound) as error:
            merchant_context(request_with(code))
        assert error.value.code == "merchant_not_found"


def test_resolved_once_per_request(merchant, django_assert_num_queries):
    request = request_with("acme")
    with django_assert_num_queries(1):
        assert merchant_context(request) == merchant
        assert merchant_context(request) == merchant
