"""HQ staff and roles (and merchants, for platform administrators)."""

import pytest

from mendian.accounts.models import Staff
from mendian.core.scope import Role
from mendian.merchants.models import Merchant
from tests.factories import StaffFactory


def _staff_post(**overrides):
    data = {
        "username": "newclerk",
        "display_name": "新店员",
        "role": Role.STORE_CLERK,
        "store": "",
        "password": "plum-harbour-77",
    }
    data.update(overrides)
    return data


def test_staff_list_shows_own_merchant_only(hq, hq_admin, clerk, manager, rival):
    response = hq.get("/hq/staff/")

    body = response.content.decode()
    assert "clerk" in body and "manager" in body and "boss" in body
    assert "rival_clerk" not in body
    assert "江汉路店" in body  # the clerk's store


def test_staff_list_filters_by_role_and_store(hq, clerk, manager, merchant, other_store):
    StaffFactory(username="wc_clerk", role=Role.STORE_CLERK, store=other_store)

    clerks = hq.get("/hq/staff/", {"role": Role.STORE_CLERK}).content.decode()
    assert "wc_clerk" in clerks and ">manager<" not in clerks

    at_store = hq.get("/hq/staff/", {"store": other_store.pk}).content.decode()
    assert "wc_clerk" in at_store and ">clerk<" not in at_store


def test_create_a_store_clerk(hq, store):
    response = hq.post("/hq/staff/new/", _staff_post(store=str(store.pk)))

    assert response.status_code == 302
    staff = Staff.objects.get(username="newclerk")
    assert (staff.role, staff.store_id, staff.merchant_id, staff.display_name) == (
        Role.STORE_CLERK,
        store.pk,
        store.merchant_id,
        "新店员",
    )
    assert staff.check_password("plum-harbour-77")


def test_a_store_role_needs_a_store(hq, store):
    response = hq.post("/hq/staff/new/", _staff_post())

    assert "门店角色必须选择所属门店" in response.content.decode()
    assert not Staff.objects.filter(username="newclerk").exists()


def test_weak_password_is_refused(hq, store):
    response = hq.post("/hq/staff/new/", _staff_post(store=str(store.pk), password="12345678"))

    body = response.content.decode()
    assert "密码强度不足" in body and 'id="id_password_errors"' in body
    assert not Staff.objects.filter(username="newclerk").exists()


def test_taken_username_is_refused(hq, store, clerk):
    response = hq.post("/hq/staff/new/", _staff_post(store=str(store.pk), username="clerk"))

    assert "该用户名已被使用" in response.content.decode()
    assert Staff.objects.filter(username="clerk").count() == 1


def test_another_merchants_store_cannot_be_assigned(hq, rival):
    response = hq.post("/hq/staff/new/", _staff_post(store=str(rival["store"].pk)))

    assert response.status_code == 200
    assert not Staff.objects.filter(username="newclerk").exists()


def test_merchant_admin_cannot_grant_platform_admin(hq):
    response = hq.post("/hq/staff/new/", _staff_post(role=Role.PLATFORM_ADMIN))

    assert 'id="id_role_errors"' in response.content.decode()
    assert not Staff.objects.filter(username="newclerk").exists()


def test_edit_role_store_and_active(hq, clerk, other_store):
    response = hq.post(
        f"/hq/staff/{clerk.pk}/",
        {"display_name": "张店长", "role": Role.STORE_MANAGER, "store": str(other_store.pk)},
    )

    assert response.status_code == 302
    clerk.refresh_from_db()
    assert (clerk.role, clerk.store_id, clerk.display_name, clerk.is_active) == (
        Role.STORE_MANAGER,
        other_store.pk,
        "张店长",
        False,  # the box was not ticked
    )


def test_promote_to_merchant_admin(hq, clerk, merchant):
    hq.post(f"/hq/staff/{clerk.pk}/", {"display_name": "", "role": Role.MERCHANT_ADMIN, "is_active": "on"})

    clerk.refresh_from_db()
    assert (clerk.role, clerk.store_id, clerk.merchant_id) == (Role.MERCHANT_ADMIN, None, merchant.pk)


def test_own_account_only_changes_the_name(hq, hq_admin, store):
    page = hq.get(f"/hq/staff/{hq_admin.pk}/").content.decode()
    assert "这是你自己的账号" in page

    response = hq.post(
        f"/hq/staff/{hq_admin.pk}/",
        {"display_name": "王大总", "role": Role.STORE_CLERK, "store": str(store.pk)},
    )

    assert response.status_code == 302
    hq_admin.refresh_from_db()
    assert (hq_admin.display_name, hq_admin.role, hq_admin.is_active) == ("王大总", Role.MERCHANT_ADMIN, True)


def test_reset_password(hq, clerk):
    weak = hq.post(f"/hq/staff/{clerk.pk}/password/", {"new_password": "password"})
    assert "密码强度不足" in weak.content.decode()

    ok = hq.post(f"/hq/staff/{clerk.pk}/password/", {"new_password": "lantern-orchid-42"})
    assert ok.status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password("lantern-orchid-42")


def test_platform_admin_creates_a_merchant_and_its_admin(platform, db):
    duplicate = Merchant.objects.create(code="taken", name="已有")
    taken = platform.post(
        "/hq/merchants/", {"code": duplicate.code, "name": "x", "timezone": "Asia/Shanghai"}
    )
    assert "该商户编码已被使用" in taken.content.decode()

    response = platform.post(
        "/hq/merchants/",
        {"code": "newbrand", "name": "新品牌", "brand_name": "", "timezone": "Asia/Shanghai"},
    )
    merchant = Merchant.objects.get(code="newbrand")
    assert response.status_code == 302
    # Switched to the new merchant at once.
    assert platform.get(response["Location"]).context["current_merchant_id"] == merchant.pk

    missing = platform.post("/hq/staff/new/", _staff_post(role=Role.MERCHANT_ADMIN, username="nb_admin"))
    assert "总部管理员必须选择所属商户" in missing.content.decode()
    created = platform.post(
        "/hq/staff/new/",
        _staff_post(role=Role.MERCHANT_ADMIN, username="nb_admin", merchant=str(merchant.pk)),
    )
    assert created.status_code == 302
    assert Staff.objects.get(username="nb_admin").merchant == merchant


@pytest.mark.parametrize("code", ["Bad Code", "a"])
def test_merchant_code_is_checked(platform, code):
    response = platform.post("/hq/merchants/", {"code": code, "name": "x", "timezone": "Asia/Shanghai"})

    assert 'id="id_code_errors"' in response.content.decode()


def test_platform_sees_every_merchants_staff(platform, clerk, rival):
    body = platform.get("/hq/staff/").content.decode()

    assert "clerk" in body and "rival_clerk" in body
