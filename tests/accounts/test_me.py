"""GET /me: the masked profile, and the membership of the request's merchant created on first use."""

from mendian.members.models import MemberLevel, Membership
from tests.factories import MerchantFactory


def test_me_is_masked_and_without_merchant_in_a_multi_brand_mall(
    member_api, customer, merchant, other_merchant
):
    response = member_api.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(customer.pk),
        "phone_masked": "138****5678",
        "nickname": "",
        "level": "regular",
        "merchant": None,
    }
    assert "13812345678" not in response.content.decode()
    assert Membership.objects.count() == 0


def test_me_creates_the_membership_of_the_merchant_context_once(
    member_api, customer, merchant, other_merchant
):
    headers = {"X-Mendian-Merchant": "acme"}

    first = member_api.get("/api/v1/me", headers=headers)
    second = member_api.get("/api/v1/me", headers=headers)

    assert first.status_code == second.status_code == 200
    assert first.json()["merchant"] == {"id": str(merchant.pk), "code": "acme", "name": "极客便利"}
    assert first.json()["level"] == "regular"
    membership = Membership.objects.get()
    assert (membership.customer_id, membership.merchant_id) == (customer.pk, merchant.pk)


def test_in_a_single_brand_deployment_the_only_merchant_is_the_context(member_api, merchant):
    response = member_api.get("/api/v1/me")

    assert response.json()["merchant"]["code"] == "acme"
    assert Membership.objects.filter(merchant=merchant).count() == 1


def test_me_and_login_show_the_level_at_that_merchant(member_api, api, customer, merchant, other_merchant):
    Membership.objects.create(customer=customer, merchant=merchant, level=MemberLevel.GOLD)
    Membership.objects.create(customer=customer, merchant=other_merchant, level=MemberLevel.SILVER)

    assert member_api.get("/api/v1/me", headers={"X-Mendian-Merchant": "acme"}).json()["level"] == "gold"
    assert member_api.get("/api/v1/me", headers={"X-Mendian-Merchant": "rival"}).json()["level"] == "silver"
    assert member_api.get("/api/v1/me").json()["level"] == "regular"

    api.post("/api/v1/auth/sms-code", {"phone": "13812345678"})
    code = api.get("/api/v1/dev/sms-outbox", {"phone": "13812345678"}).json()["items"][0]["code"]
    login = api.post(
        "/api/v1/auth/login", {"phone": "13812345678", "code": code}, headers={"X-Mendian-Merchant": "acme"}
    )
    assert login.json()["member"]["level"] == "gold"


def test_an_unknown_or_inactive_merchant_is_404_and_creates_nothing(member_api, merchant):
    MerchantFactory(code="closed", is_active=False)

    for code in ("nope", "closed"):
        response = member_api.get("/api/v1/me", headers={"X-Mendian-Merchant": code})
        assert response.status_code == 404
    assert Membership.objects.count() == 0


def test_me_needs_a_member_token(api, hq_api, db):
    assert api.get("/api/v1/me").status_code == 401
    assert hq_api.get("/api/v1/me").status_code == 401
