"""The browser-only middleware runs for pages and the console-facing APIs, and is skipped for the
token-signed storefront and open APIs (no session, CSRF, language or messages machinery there)."""

import pytest
from django.test import Client, override_settings
from django.utils import translation

from mendian.accounts.models import Role
from mendian.core.checks import check_browser_csrf
from tests.factories import StaffFactory


@pytest.mark.django_db
def test_storefront_api_replies_skip_the_browser_machinery_but_keep_the_security_headers(client, store):
    client.cookies["sessionid"] = "whatever"
    response = client.get("/api/v1/categories", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Set-Cookie" not in response and not response.cookies
    vary = response.get("Vary", "")
    assert "Cookie" not in vary and "Accept-Language" not in vary
    assert "Content-Language" not in response
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Request-ID"]
    assert response["Content-Length"] == str(len(response.content))


@pytest.mark.django_db
def test_pages_still_get_sessions_and_the_visitors_language(client):
    response = client.get("/store/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert "Accept-Language" in response["Vary"]
    assert response.cookies["csrftoken"].value
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_a_language_a_browser_request_left_active_does_not_reach_the_token_apis(client, store):
    client.get("/store/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert translation.get_language() == "en"  # LocaleMiddleware leaves it active on the thread
    client.get("/api/v1/categories")
    assert translation.get_language() == "zh-hans"


@pytest.mark.django_db
def test_console_sessions_still_reach_the_staff_api_and_csrf_still_applies(store):
    manager = StaffFactory(username="mgr", role=Role.STORE_MANAGER, store=store)
    console = Client(enforce_csrf_checks=True)
    console.force_login(manager)
    assert console.get("/api/staff/v1/orders").status_code == 200
    refused = console.post("/api/staff/v1/orders/1/accept")
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"


@pytest.mark.django_db
def test_console_form_posts_without_the_csrf_token_are_refused(store):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/store/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403


def test_the_deploy_check_sees_csrf_inside_the_browser_middleware():
    with override_settings(CSRF_COOKIE_SECURE=True):
        assert check_browser_csrf(None) == []
    with override_settings(CSRF_COOKIE_SECURE=False, CSRF_USE_SESSIONS=False):
        assert [w.id for w in check_browser_csrf(None)] == ["security.W016"]
    from django.conf import settings

    without = [name for name in settings.BROWSER_MIDDLEWARE if "csrf" not in name]
    with override_settings(BROWSER_MIDDLEWARE=without, CSRF_COOKIE_SECURE=True):
        assert [w.id for w in check_browser_csrf(None)] == ["mendian.W001"]
