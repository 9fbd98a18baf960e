import pytest

from mendian.core.errors import NotFound
from mendian.members.models import MemberLevel, Membership
from mendian.members.selectors import member_level, membership_get, membership_merchant
from mendian.members.services import membership_get_or_create
from tests.factories import MerchantFactory


def test_membership_is_created_once_per_merchant(customer, merchant, other_merchant):
    first, created = membership_get_or_create(customer=customer, merchant=merchant)
    again, created_again = membership_get_or_create(customer=customer, merchant=merchant)
    elsewhere, _ = membership_get_or_create(customer=customer, merchant=other_merchant)

    assert (created, created_again) == (True, False)
    assert first.pk == again.pk != elsewhere.pk
    assert first.level == MemberLevel.REGULAR
    assert Membership.objects.filter(customer=customer).count() == 2


def test_an_inactive_merchant_gets_no_members(customer):
    closed = MerchantFactory(code="closed", is_active=False)

    with pytest.raises(NotFound):
        membership_get_or_create(customer=customer, merchant=closed)

    assert Membership.objects.count() == 0


def test_member_level_defaults_to_regular(customer, merchant):
    assert member_level(customer=customer, merchant=None) == "regular"
    assert member_level(customer=customer, merchant=merchant) == "regular"
    assert membership_get(customer=customer, merchant=merchant) is None
    Membership.objects.create(customer=customer, merchant=merchant, level=MemberLevel.DIAMOND)

    assert member_level(customer=customer, merchant=merchant) == "diamond"


def test_membership_merchant_is_the_context_or_the_only_merchant(db):
    assert membership_merchant(None) is None
    only = MerchantFactory(code="only")
    assert membership_merchant(None) == only
    second = MerchantFactory(code="second")
    assert membership_merchant(None) is None
    assert membership_merchant(second) == second
