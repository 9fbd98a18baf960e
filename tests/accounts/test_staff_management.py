"""HQ staff management: scope, roles, mass assignment, password rules, and nothing written on refusal."""

import pytest

from mendian.accounts.models import AuthToken, Staff
from mendian.accounts.tokens import staff_token_issue
from mendian.core.scope import Role
from tests.conftest import ApiClient
from tests.factories import StaffFactory, StoreFactory

STAFF = "/api/hq/v1/staff"
GOOD_PASSWORD = "Lantern-Otter-42"


@pytest.fixture
def rival_store(other_merchant):
    return StoreFactory(merchant=other_merchant, code="r001")


def _body(**overrides):
    return {"username": "newclerk", "password": GOOD_PASSWORD, "role": "store_clerk", **overrides}


def _staff_count() -> int:
    return Staff.objects.count()


def test_a_merchant_admin_creates_a_clerk_at_its_store(hq_api, store):
    response = hq_api.post(STAFF, _body(store_id=str(store.pk), display_name="小王"))

    assert response.status_code == 201, response.content
    created = Staff.objects.get(username="newclerk")
    assert response.json() == {
        "id": str(created.pk),
        "username": "newclerk",
        "display_name": "小王",
        "role": "store_clerk",
        "merchant_id": str(store.merchant_id),
        "store_id": str(store.pk),
        "is_active": True,
        "mfa_enabled": False,
        "locked": False,
        "last_login": None,
        "created_at": response.json()["created_at"],
    }
    assert created.check_password(GOOD_PASSWORD)
    assert (
        GOOD_PASSWORD not in response.content.decode() and created.password not in response.content.decode()
    )
    login = ApiClient().post("/api/staff/v1/auth/login", {"username": "newclerk", "password": GOOD_PASSWORD})
    assert login.status_code == 200


def test_a_merchant_admin_creates_another_merchant_admin_of_its_own_merchant(hq_api, merchant):
    response = hq_api.post(STAFF, _body(username="hq2", role="merchant_admin"))

    assert response.status_code == 201
    assert response.json()["merchant_id"] == str(merchant.pk) and response.json()["store_id"] is None


def test_a_store_of_another_merchant_is_404_and_nothing_is_created(hq_api, rival_store):
    before = _staff_count()

    response = hq_api.post(STAFF, _body(store_id=str(rival_store.pk)))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert _staff_count() == before


@pytest.mark.parametrize("merchant_field", ["own", "other"])
def test_a_merchant_admin_cannot_choose_the_merchant(hq_api, store, merchant, other_merchant, merchant_field):
    target = merchant if merchant_field == "own" else other_merchant
    before = _staff_count()

    response = hq_api.post(STAFF, _body(role="merchant_admin", merchant_id=str(target.pk)))

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "merchant_id"]
    assert _staff_count() == before


def test_a_merchant_admin_cannot_create_a_platform_admin(hq_api):
    before = _staff_count()

    response = hq_api.post(STAFF, _body(username="evil", role="platform_admin"))

    assert response.status_code == 403
    assert _staff_count() == before


@pytest.mark.parametrize("client_fixture", ["clerk_api", "manager_api", "member_api"])
def test_store_staff_and_members_cannot_manage_staff(request, client_fixture, store):
    client = request.getfixturevalue(client_fixture)
    before = _staff_count()

    created = client.post(STAFF, _body(store_id=str(store.pk)))
    listed = client.get(STAFF)

    expected = 401 if client_fixture == "member_api" else 403
    assert created.status_code == listed.status_code == expected
    assert _staff_count() == before


def test_anonymous_is_401(api, db):
    assert api.get(STAFF).status_code == 401
    assert api.post(STAFF, _body()).status_code == 401


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"role": "store_clerk"}, "store_required"),
        ({"role": "ceo"}, "invalid_role"),
        ({"role": "merchant_admin", "store_id": "STORE"}, "invalid_scope"),
        ({"username": "a b", "store_id": "STORE"}, "invalid_username"),
        ({"username": "x", "store_id": "STORE"}, "invalid_username"),
        ({"store_id": "not-a-number"}, "not_found"),
        ({"store_id": "999999"}, "not_found"),
    ],
)
def test_bad_staff_data_is_refused_with_a_stable_code(hq_api, store, overrides, code):
    if overrides.get("store_id") == "STORE":
        overrides["store_id"] = str(store.pk)
    before = _staff_count()

    response = hq_api.post(STAFF, _body(**overrides))

    assert response.status_code in (404, 422)
    assert response.json()["code"] == code
    assert _staff_count() == before


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901", ""])
def test_weak_passwords_are_422_with_the_reasons(hq_api, store, password):
    response = hq_api.post(STAFF, _body(store_id=str(store.pk), password=password))

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "weak_password"
    assert body["errors"] and all(
        error["loc"] == ["body", "password"] and error["msg"] for error in body["errors"]
    )
    assert not Staff.objects.filter(username="newclerk").exists()


def test_a_taken_username_is_409_whatever_its_case(hq_api, store):
    assert hq_api.post(STAFF, _body(store_id=str(store.pk))).status_code == 201

    again = hq_api.post(STAFF, _body(username="NewClerk", store_id=str(store.pk)))

    assert again.status_code == 409
    assert again.json()["code"] == "username_taken"
    assert Staff.objects.filter(username__iexact="newclerk").count() == 1


@pytest.mark.parametrize("field", ["is_superuser", "failed_logins", "password_hash", "id"])
def test_unknown_fields_are_rejected_not_ignored(hq_api, store, field):
    response = hq_api.post(STAFF, {**_body(store_id=str(store.pk)), field: 1})

    assert response.status_code == 422
    assert not Staff.objects.filter(username="newclerk").exists()


def test_a_platform_admin_names_the_merchant(platform_api, merchant, store, other_merchant, rival_store):
    admin = platform_api.post(
        STAFF, _body(username="acme-hq", role="merchant_admin", merchant_id=str(merchant.pk))
    )
    no_merchant = platform_api.post(STAFF, _body(username="nobody", role="merchant_admin"))
    mismatch = platform_api.post(
        STAFF, _body(username="mixed", store_id=str(rival_store.pk), merchant_id=str(merchant.pk))
    )
    clerk = platform_api.post(STAFF, _body(username="rivalclerk", store_id=str(rival_store.pk)))
    root = platform_api.post(STAFF, _body(username="root2", role="platform_admin"))

    assert admin.status_code == 201 and admin.json()["merchant_id"] == str(merchant.pk)
    assert (no_merchant.status_code, no_merchant.json()["code"]) == (422, "merchant_required")
    assert (mismatch.status_code, mismatch.json()["code"]) == (422, "invalid_scope")
    assert clerk.status_code == 201 and clerk.json()["merchant_id"] == str(other_merchant.pk)
    assert root.status_code == 201 and root.json()["merchant_id"] is None
    assert platform_api.post(STAFF, _body(username="x9", merchant_id="424242")).status_code == 404


def test_the_list_shows_only_the_merchants_staff(
    hq_api, platform_api, store, rival_store, django_assert_max_num_queries
):
    StaffFactory.create_batch(5, role=Role.STORE_CLERK, store=store)
    StaffFactory(username="rivalclerk", role=Role.STORE_CLERK, store=rival_store)

    with django_assert_max_num_queries(4):
        response = hq_api.get(STAFF)

    usernames = {item["username"] for item in response.json()["items"]}
    assert "rivalclerk" not in usernames and "platform" not in usernames
    assert "hq_admin" in usernames and len(usernames) == 6
    everything = {item["username"] for item in platform_api.get(STAFF, {"limit": 100}).json()["items"]}
    assert {"rivalclerk", "platform", "hq_admin"} <= everything


def test_the_list_pages_with_a_cursor_and_filters(hq_api, store, other_store):
    StaffFactory.create_batch(3, role=Role.STORE_CLERK, store=store)
    StaffFactory(role=Role.STORE_MANAGER, store=other_store)

    first = hq_api.get(STAFF, {"limit": 2}).json()
    second = hq_api.get(STAFF, {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = hq_api.get(STAFF, {"limit": 2, "cursor": second["next_cursor"]}).json()

    ids = [item["id"] for page in (first, second, third) for item in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    assert [i["role"] for i in hq_api.get(STAFF, {"role": "store_manager"}).json()["items"]] == [
        "store_manager"
    ]
    assert len(hq_api.get(STAFF, {"store_id": str(store.pk)}).json()["items"]) == 3
    assert hq_api.get(STAFF, {"cursor": "forged"}).json()["code"] == "invalid_cursor"
    assert hq_api.get(STAFF, {"limit": 101}).status_code == 422


def test_one_staff_member_is_404_outside_the_scope(hq_api, platform_api, store, rival_store):
    own = StaffFactory(role=Role.STORE_CLERK, store=store)
    rival = StaffFactory(role=Role.STORE_CLERK, store=rival_store)

    assert hq_api.get(f"{STAFF}/{own.pk}").json()["id"] == str(own.pk)
    assert hq_api.get(f"{STAFF}/{rival.pk}").status_code == 404
    assert hq_api.get(f"{STAFF}/{platform_api.staff.pk}").status_code == 404
    assert hq_api.get(f"{STAFF}/nope").status_code == 404


def test_patch_moves_a_clerk_and_promotes_it(hq_api, store, other_store):
    clerk = StaffFactory(role=Role.STORE_CLERK, store=store)

    moved = hq_api.patch(f"{STAFF}/{clerk.pk}", {"store_id": str(other_store.pk), "display_name": "阿明"})
    promoted = hq_api.patch(f"{STAFF}/{clerk.pk}", {"role": "store_manager"})
    to_hq = hq_api.patch(f"{STAFF}/{clerk.pk}", {"role": "merchant_admin"})

    assert moved.status_code == 200 and moved.json()["store_id"] == str(other_store.pk)
    assert moved.json()["display_name"] == "阿明"
    assert promoted.json()["role"] == "store_manager" and promoted.json()["store_id"] == str(other_store.pk)
    assert to_hq.json()["role"] == "merchant_admin" and to_hq.json()["store_id"] is None
    clerk.refresh_from_db()
    assert (clerk.role, clerk.store_id) == ("merchant_admin", None)


def test_patch_refuses_mass_assignment_and_changes_nothing(hq_api, store, rival_store, other_merchant):
    clerk = StaffFactory(role=Role.STORE_CLERK, store=store)

    attempts = [
        hq_api.patch(f"{STAFF}/{clerk.pk}", {"merchant_id": str(other_merchant.pk)}),
        hq_api.patch(f"{STAFF}/{clerk.pk}", {"merchant_id": None}),
        hq_api.patch(f"{STAFF}/{clerk.pk}", {"role": "platform_admin"}),
        hq_api.patch(f"{STAFF}/{clerk.pk}", {"store_id": str(rival_store.pk)}),
        hq_api.patch(f"{STAFF}/{clerk.pk}", {"failed_logins": 0}),
        hq_api.patch(f"{STAFF}/{clerk.pk}", {"role": "store_clerk", "store_id": None}),
    ]

    assert [r.status_code for r in attempts] == [422, 422, 403, 404, 422, 422]
    fresh = Staff.objects.get(pk=clerk.pk)
    assert (fresh.role, fresh.merchant_id, fresh.store_id) == (clerk.role, clerk.merchant_id, clerk.store_id)


def test_patch_of_another_merchants_staff_is_404_and_changes_nothing(hq_api, rival_store):
    rival = StaffFactory(role=Role.STORE_CLERK, store=rival_store)

    response = hq_api.patch(f"{STAFF}/{rival.pk}", {"is_active": False, "password": GOOD_PASSWORD})

    assert response.status_code == 404
    rival.refresh_from_db()
    assert rival.is_active is True and not rival.check_password(GOOD_PASSWORD)


def test_admins_cannot_demote_or_disable_themselves(hq_api):
    me = hq_api.staff

    for change in ({"role": "store_clerk"}, {"is_active": False}):
        response = hq_api.patch(f"{STAFF}/{me.pk}", change)
        assert response.status_code == 422 and response.json()["code"] == "cannot_modify_self"
    me.refresh_from_db()
    assert me.is_active and me.role == "merchant_admin"


def test_deactivation_ends_every_session(hq_api, store):
    clerk = StaffFactory(role=Role.STORE_CLERK, store=store)
    client = ApiClient(staff_token_issue(staff=clerk)["access_token"])
    assert client.get("/api/staff/v1/me").status_code == 200

    response = hq_api.patch(f"{STAFF}/{clerk.pk}", {"is_active": False})

    assert response.status_code == 200 and response.json()["is_active"] is False
    assert client.get("/api/staff/v1/me").status_code == 401
    assert AuthToken.objects.filter(staff=clerk, revoked_at__isnull=True).count() == 0


def test_a_password_reset_ends_sessions_and_unlocks(hq_api, store):
    from django.utils import timezone

    clerk = StaffFactory(role=Role.STORE_CLERK, store=store)
    Staff.objects.filter(pk=clerk.pk).update(
        failed_logins=3, locked_until=timezone.now() + timezone.timedelta(minutes=5)
    )
    client = ApiClient(staff_token_issue(staff=clerk)["access_token"])

    weak = hq_api.patch(f"{STAFF}/{clerk.pk}", {"password": "123"})
    reset = hq_api.patch(f"{STAFF}/{clerk.pk}", {"password": GOOD_PASSWORD})

    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    assert reset.status_code == 200 and reset.json()["locked"] is False
    assert GOOD_PASSWORD not in reset.content.decode()
    assert client.get("/api/staff/v1/me").status_code == 401
    login = ApiClient().post(
        "/api/staff/v1/auth/login", {"username": clerk.username, "password": GOOD_PASSWORD}
    )
    assert login.status_code == 200


def test_a_platform_admin_can_move_staff_between_merchants(platform_api, store, rival_store, other_merchant):
    admin = StaffFactory(role=Role.MERCHANT_ADMIN, merchant=store.merchant)

    moved = platform_api.patch(f"{STAFF}/{admin.pk}", {"merchant_id": str(other_merchant.pk)})
    to_store = platform_api.patch(
        f"{STAFF}/{admin.pk}", {"role": "store_clerk", "store_id": str(rival_store.pk)}
    )

    assert moved.status_code == 200 and moved.json()["merchant_id"] == str(other_merchant.pk)
    assert to_store.json()["store_id"] == str(rival_store.pk)
