"""Consumer tokens: refresh rotation, reuse detection, sign-out, revoked and expired tokens."""

from datetime import timedelta

from django.utils import timezone

from mendian.accounts.models import AuthToken, TokenKind
from mendian.accounts.tokens import customer_tokens_issue
from tests.conftest import ApiClient

REFRESH = "/api/v1/auth/refresh"


def _me(token: str):
    return ApiClient(token).get("/api/v1/me")


def test_refresh_rotates_both_tokens(api, customer):
    first = customer_tokens_issue(customer=customer)

    response = api.post(REFRESH, {"refresh_token": first["refresh_token"]})

    assert response.status_code == 200
    second = response.json()
    assert second["member"] == {"id": str(customer.pk), "phone_masked": "138****5678", "level": "regular"}
    assert {second["access_token"], second["refresh_token"]}.isdisjoint(
        {first["access_token"], first["refresh_token"]}
    )
    assert _me(second["access_token"]).status_code == 200
    assert _me(first["access_token"]).status_code == 401  # the old pair's access token went with it


def test_a_reused_refresh_token_revokes_the_whole_family(api, customer):
    first = customer_tokens_issue(customer=customer)
    second = api.post(REFRESH, {"refresh_token": first["refresh_token"]}).json()

    reuse = api.post(REFRESH, {"refresh_token": first["refresh_token"]})

    assert reuse.status_code == 401
    assert reuse.json()["code"] == "unauthorized"
    # Whoever held the stolen token and whoever held the new pair must both sign in again.
    assert _me(second["access_token"]).status_code == 401
    assert api.post(REFRESH, {"refresh_token": second["refresh_token"]}).status_code == 401
    assert AuthToken.objects.filter(customer=customer, revoked_at__isnull=True).count() == 0


def test_the_reuse_revocation_does_not_touch_other_sessions(api, customer):
    other_device = customer_tokens_issue(customer=customer)
    first = customer_tokens_issue(customer=customer)
    api.post(REFRESH, {"refresh_token": first["refresh_token"]})

    api.post(REFRESH, {"refresh_token": first["refresh_token"]})

    assert _me(other_device["access_token"]).status_code == 200


def test_bad_refresh_tokens_are_401(api, customer):
    tokens = customer_tokens_issue(customer=customer)
    for bad in ("", "mdr_nope", tokens["access_token"], "x" * 100):
        response = api.post(REFRESH, {"refresh_token": bad})
        assert response.status_code in (401, 422), bad
    assert api.post(REFRESH, {"refresh_token": "mdr_nope"}).json()["code"] == "unauthorized"
    AuthToken.objects.filter(kind=TokenKind.REFRESH).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.post(REFRESH, {"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_logout_revokes_access_and_refresh(api, customer):
    tokens = customer_tokens_issue(customer=customer)

    response = ApiClient(tokens["access_token"]).post("/api/v1/auth/logout")

    assert response.status_code == 204
    assert _me(tokens["access_token"]).status_code == 401
    assert api.post(REFRESH, {"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_logout_needs_a_token(api, db):
    response = api.post("/api/v1/auth/logout")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_expired_revoked_and_foreign_tokens_are_401(customer, make_staff_api, store):
    tokens = customer_tokens_issue(customer=customer)
    staff_client = make_staff_api(role="store_clerk", store=store)
    assert _me(staff_client.token).status_code == 401
    assert _me(tokens["refresh_token"]).status_code == 401
    assert _me("mda_" + "A" * 43).status_code == 401
    AuthToken.objects.filter(kind=TokenKind.ACCESS).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _me(tokens["access_token"]).status_code == 401


def test_a_disabled_customer_token_stops_working(customer):
    tokens = customer_tokens_issue(customer=customer)
    customer.is_active = False
    customer.save(update_fields=["is_active"])

    assert _me(tokens["access_token"]).status_code == 401
    assert ApiClient().post(REFRESH, {"refresh_token": tokens["refresh_token"]}).status_code == 401
