import pytest
from django.db import connection

from mendian.core.scope import Role
from mendian.integrations.models import ApiKey

pytestmark = pytest.mark.django_db

KEYS = "/api/hq/v1/api-keys"


def test_create_shows_the_secret_once_and_stores_it_encrypted(hq_api, merchant):
    reply = hq_api.post(KEYS, {"name": "门店 POS"})

    assert reply.status_code == 201
    body = reply.json()
    assert set(body) == {"id", "key", "secret", "name", "created_at", "merchant_id"}
    assert body["key"].startswith("mk_") and body["secret"].startswith("sk_")
    assert body["name"] == "门店 POS" and body["merchant_id"] == str(merchant.pk)
    api_key = ApiKey.objects.get(pk=int(body["id"]))
    assert api_key.secret == body["secret"]  # decrypts to the secret it showed
    assert api_key.created_by_id == hq_api.staff.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM integrations_apikey WHERE id = %s", [api_key.pk])
        stored = cursor.fetchone()[0]
    assert body["secret"] not in stored  # ciphertext at rest

    listed = hq_api.get(KEYS).json()
    assert listed["next_cursor"] is None
    assert [item["key"] for item in listed["items"]] == [body["key"]]
    assert "secret" not in listed["items"][0]
    assert body["secret"] not in hq_api.get(KEYS).content.decode()


def test_revoke_is_immediate_and_idempotent(hq_api):
    created = hq_api.post(KEYS, {"name": "ERP"}).json()

    first = hq_api.post(f"{KEYS}/{created['id']}/revoke")
    second = hq_api.post(f"{KEYS}/{created['id']}/revoke")

    assert first.status_code == second.status_code == 200
    assert first.json()["is_active"] is False and first.json()["revoked_at"] is not None
    assert second.json()["revoked_at"] == first.json()["revoked_at"]
    assert "secret" not in first.json()


def test_list_pages_with_a_cursor_in_few_queries(hq_api, django_assert_num_queries):
    for n in range(3):
        hq_api.post(KEYS, {"name": f"POS {n}"})
    hq_api.get(KEYS)  # warm the token lookup path
    with django_assert_num_queries(2):  # the token with its staff, the keys
        page = hq_api.get(KEYS, {"limit": 2}).json()
    assert [item["name"] for item in page["items"]] == ["POS 0", "POS 1"]
    rest = hq_api.get(KEYS, {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [item["name"] for item in rest["items"]] == ["POS 2"] and rest["next_cursor"] is None


def test_name_is_required_and_unknown_fields_are_refused(hq_api):
    assert hq_api.post(KEYS, {"name": ""}).status_code == 422
    reply = hq_api.post(KEYS, {"name": "POS", "secret": "mine"})
    assert reply.status_code == 422 and reply.json()["code"] == "validation_error"
    assert ApiKey.objects.count() == 0


def test_another_merchants_hq_cannot_see_or_revoke(hq_api, other_merchant, make_staff_api):
    created = hq_api.post(KEYS, {"name": "POS"}).json()
    rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, username="rival_hq")

    assert rival.get(KEYS).json()["items"] == []
    reply = rival.post(f"{KEYS}/{created['id']}/revoke")
    assert reply.status_code == 404 and reply.json()["code"] == "not_found"
    assert ApiKey.objects.get(pk=int(created["id"])).revoked_at is None


def test_a_merchant_admin_cannot_create_a_key_for_another_merchant(hq_api, other_merchant):
    reply = hq_api.post(KEYS, {"name": "POS", "merchant_id": str(other_merchant.pk)})
    assert reply.status_code == 404
    assert ApiKey.objects.count() == 0


def test_platform_admin_names_the_merchant(platform_api, merchant):
    assert platform_api.post(KEYS, {"name": "POS"}).status_code == 422
    reply = platform_api.post(KEYS, {"name": "POS", "merchant_id": str(merchant.pk)})
    assert reply.status_code == 201 and reply.json()["merchant_id"] == str(merchant.pk)
    assert platform_api.post(KEYS, {"name": "POS", "merchant_id": "999999"}).status_code == 404


@pytest.mark.parametrize("client_fixture", ["clerk_api", "manager_api"])
def test_store_staff_get_403_and_nothing_changes(request, client_fixture, hq_api):
    created = hq_api.post(KEYS, {"name": "POS"}).json()
    client = request.getfixturevalue(client_fixture)

    assert client.post(KEYS, {"name": "mine"}).status_code == 403
    assert client.get(KEYS).status_code == 403
    reply = client.post(f"{KEYS}/{created['id']}/revoke")
    assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_anonymous_gets_401(api):
    assert api.post(KEYS, {"name": "POS"}).status_code == 401
    assert ApiKey.objects.count() == 0
