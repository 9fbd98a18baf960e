"""Merchants: the consumer's brand list, HQ's own merchant, the platform's merchant admin."""

import pytest
from django.core.management import CommandError, call_command

from mendian.core.scope import Role
from mendian.merchants.models import Merchant
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db
HQ = "/api/hq/v1/merchants"


def row(merchant) -> tuple:
    merchant = Merchant.objects.get(pk=merchant.pk)
    return (merchant.name, merchant.brand_name, merchant.timezone, merchant.settings, merchant.is_active)


class TestConsumerList:
    def test_lists_active_merchants_by_display_name(self, api, merchant, other_merchant):
        MerchantFactory(code="gone", name="已下线", is_active=False)
        MerchantFactory(code="tea", name="茶饮有限公司", brand_name="一杯茶")
        body = api.get("/api/v1/merchants").json()
        assert body == {
            "items": [
                {"code": "acme", "name": "极客便利", "logo": None},
                {"code": "rival", "name": "对手超市", "logo": None},
                {"code": "tea", "name": "一杯茶", "logo": None},
            ],
            "next_cursor": None,
        }

    def test_pages_with_a_cursor(self, api, db):
        for n in range(5):
            MerchantFactory(code=f"m{n}")
        first = api.get("/api/v1/merchants", {"limit": 3}).json()
        rest = api.get("/api/v1/merchants", {"limit": 3, "cursor": first["next_cursor"]}).json()
        assert [m["code"] for m in first["items"] + rest["items"]] == [f"m{n}" for n in range(5)]
        assert rest["next_cursor"] is None
        assert api.get("/api/v1/merchants", {"limit": 500}).status_code == 422
        assert api.get("/api/v1/merchants", {"cursor": "junk"}).json()["code"] == "invalid_cursor"

    def test_query_count(self, api, db, django_assert_num_queries):
        for n in range(6):
            MerchantFactory(code=f"m{n}")
        with django_assert_num_queries(1):
            assert len(api.get("/api/v1/merchants").json()["items"]) == 6


class TestOwnMerchant:
    def test_hq_reads_its_merchant(self, hq_api, merchant):
        body = hq_api.get(f"{HQ}/me").json()
        assert (body["id"], body["code"], body["name"], body["timezone"], body["currency"]) == (
            str(merchant.pk),
            "acme",
            "极客便利",
            "Asia/Shanghai",
            "CNY",
        )

    def test_hq_edits_name_timezone_and_merges_settings(self, hq_api, merchant):
        Merchant.objects.filter(pk=merchant.pk).update(
            settings={"points": {"rate": 1, "expiry": 365}, "theme": "red"}
        )
        response = hq_api.patch(
            f"{HQ}/me",
            {
                "brand_name": "极客",
                "timezone": "Asia/Urumqi",
                "settings": {"points": {"rate": 2}, "theme": None},
            },
        )
        assert response.status_code == 200, response.content
        assert row(merchant) == (
            "极客便利",
            "极客",
            "Asia/Urumqi",
            {"points": {"rate": 2, "expiry": 365}},
            True,
        )
        assert response.json()["settings"] == {"points": {"rate": 2, "expiry": 365}}

    @pytest.mark.parametrize(
        "body",
        [
            {"timezone": "Asia/Wuhan"},
            {"name": ""},
            {"name": None},
            {"code": "newcode"},
            {"currency": "USD"},
            {"is_active": False},
            {"id": 3},
            {"settings": ["not", "an", "object"]},
            {"settings": {"blob": "x" * 70_000}},
        ],
    )
    def test_bad_edit_is_422_and_nothing_changes(self, hq_api, merchant, body):
        before = row(merchant)
        response = hq_api.patch(f"{HQ}/me", body)
        assert response.status_code == 422, response.content
        assert row(merchant) == before

    def test_broken_json_is_400(self, hq_api, merchant):
        response = hq_api.patch(f"{HQ}/me", "{oops")
        assert (response.status_code, response.json()["code"]) == (400, "invalid_json")

    def test_platform_admin_has_no_own_merchant(self, platform_api):
        assert platform_api.get(f"{HQ}/me").status_code == 404

    def test_store_staff_get_403(self, clerk_api, manager_api, merchant):
        before = row(merchant)
        for client in (clerk_api, manager_api):
            assert client.get(f"{HQ}/me").status_code == 403
            assert client.patch(f"{HQ}/me", {"name": "改"}).status_code == 403
        assert row(merchant) == before


class TestPlatform:
    def test_platform_creates_lists_and_deactivates(self, platform_api, api, merchant):
        response = platform_api.post(HQ, {"code": "tea", "name": "茶饮", "timezone": "Asia/Hong_Kong"})
        assert response.status_code == 201, response.content
        created = Merchant.objects.get(code="tea")
        assert (created.timezone, created.currency, created.is_active) == ("Asia/Hong_Kong", "CNY", True)
        assert [m["code"] for m in platform_api.get(HQ).json()["items"]] == ["acme", "tea"]
        assert platform_api.get(HQ, {"q": "茶"}).json()["items"][0]["id"] == str(created.pk)
        response = platform_api.patch(f"{HQ}/{created.pk}", {"is_active": False})
        assert response.json()["is_active"] is False
        assert [m["code"] for m in api.get("/api/v1/merchants").json()["items"]] == ["acme"]
        assert [m["code"] for m in platform_api.get(HQ, {"is_active": "false"}).json()["items"]] == ["tea"]

    def test_duplicate_code_is_409(self, platform_api, merchant):
        response = platform_api.post(HQ, {"code": "acme", "name": "又一个"})
        assert (response.status_code, response.json()["code"]) == (409, "merchant_code_taken")
        assert Merchant.objects.filter(code="acme").count() == 1

    @pytest.mark.parametrize(
        "body",
        [
            {"code": "Has Caps", "name": "x"},
            {"code": "a", "name": "x"},
            {"code": "ok-code"},
            {"code": "ok-code", "name": ""},
            {"code": "ok-code", "name": "x", "timezone": "Moon/Base"},
            {"code": "ok-code", "name": "x", "currency": "rmb"},
            {"code": "ok-code", "name": "x", "id": 9},
        ],
    )
    def test_bad_create_is_422(self, platform_api, db, body):
        response = platform_api.post(HQ, body)
        assert response.status_code == 422, response.content
        assert not Merchant.objects.exists()

    def test_merchant_admin_gets_403_on_platform_endpoints(self, hq_api, merchant, other_merchant):
        before = row(other_merchant)
        assert hq_api.post(HQ, {"code": "sneaky", "name": "x"}).status_code == 403
        assert hq_api.get(HQ).status_code == 403
        assert hq_api.get(f"{HQ}/{other_merchant.pk}").status_code == 403
        assert hq_api.patch(f"{HQ}/{other_merchant.pk}", {"name": "hacked"}).status_code == 403
        assert hq_api.patch(f"{HQ}/{merchant.pk}", {"is_active": False}).status_code == 403
        assert not Merchant.objects.filter(code="sneaky").exists()
        assert row(other_merchant) == before
        assert Merchant.objects.get(pk=merchant.pk).is_active is True

    @pytest.mark.parametrize("merchant_id", ["abc", "0", "999999", "9" * 40])
    def test_unknown_ids_are_404(self, platform_api, merchant, merchant_id):
        assert platform_api.get(f"{HQ}/{merchant_id}").status_code == 404
        assert platform_api.patch(f"{HQ}/{merchant_id}", {"name": "x"}).status_code == 404

    def test_no_token_is_401(self, api, merchant):
        assert api.get(f"{HQ}/me").status_code == 401

    def test_another_merchants_admin_cannot_read_through_me(self, make_staff_api, merchant, other_merchant):
        rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None)
        assert rival.get(f"{HQ}/me").json()["code"] == "rival"


class TestCommand:
    def test_createmerchant(self, db, capsys):
        call_command("createmerchant", "--code", "tea", "--name", "茶饮")
        assert Merchant.objects.get(code="tea").name == "茶饮"
        assert "Merchant tea created" in capsys.readouterr().out
        with pytest.raises(CommandError, match="merchant_code_taken"):
            call_command("createmerchant", "--code", "tea", "--name", "again")
        with pytest.raises(CommandError, match="validation_error"):
            call_command("createmerchant", "--code", "Bad!", "--name", "x")
        assert Merchant.objects.count() == 1


def test_openapi_documents_the_merchant_endpoints(api, db):
    paths = api.get("/api/hq/v1/openapi.json").json()["paths"]
    expected = {"/api/hq/v1/merchants/me", "/api/hq/v1/merchants", "/api/hq/v1/merchants/{merchant_id}"}
    assert expected <= set(paths)
    assert "/api/v1/merchants" in api.get("/api/v1/openapi.json").json()["paths"]
