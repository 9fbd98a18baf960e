"""schemathesis over the checkout and order endpoints of the three OpenAPI documents, signed in:
whatever the input, no 5xx (reliability.md scenario 20)."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings

from mendian.accounts.tokens import customer_tokens_issue, staff_token_issue
from tests.factories import CustomerFactory, StaffFactory

OURS = ("/orders", "/cart", "/checkout", "/addresses", "/refund-requests", "/pickups", "/reports")


def _token(kind, store, merchant) -> str:
    if kind == "member":
        return customer_tokens_issue(customer=CustomerFactory())["access_token"]
    if kind == "staff":
        return staff_token_issue(staff=StaffFactory(role="store_manager", store=store))["access_token"]
    return staff_token_issue(staff=StaffFactory(role="merchant_admin", merchant=merchant, store=None))[
        "access_token"
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ("/api/v1/openapi.json", "member"),
        ("/api/staff/v1/openapi.json", "staff"),
        ("/api/hq/v1/openapi.json", "hq"),
    ],
)
def test_no_input_makes_our_endpoints_fail(document, kind, stocked, water, merchant):
    token = _token(kind, stocked, merchant)
    schema = schemathesis.openapi.from_wsgi(document, get_wsgi_application())
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not any(part in operation.path for part in OURS):
            continue

        _fuzz(operation, token, failures)
    assert failures == []


def _fuzz(operation, token: str, failures: list) -> None:
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def call(case):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call()
        if response.status_code >= 500:
            failures.append((operation.method, operation.path, case.query, case.body, response.text[:200]))

    call()
