"""Reads of memberships. A customer's membership belongs to one merchant."""

from mendian.accounts.models import Customer
from mendian.members.models import MemberLevel, Membership
from mendian.merchants.models import Merchant


def membership_get(*, customer: Customer, merchant: Merchant) -> Membership | None:
    return Membership.objects.filter(customer=customer, merchant=merchant).first()


def member_level(*, customer: Customer, merchant: Merchant | None) -> str:
    """The level at `merchant`; without a merchant, or before the first visit there, `regular`."""
    if merchant is None:
        return MemberLevel.REGULAR.value
    level = (
        Membership.objects.filter(customer=customer, merchant=merchant)
        .values_list("level", flat=True)
        .first()
    )
    return level or MemberLevel.REGULAR.value


def membership_merchant(context: Merchant | None) -> Merchant | None:
    """The merchant whose membership a consumer request concerns: the request's merchant context, or,
    without one, the deployment's only active merchant. None in a multi-brand mall without context."""
    if context is not None:
        return context
    only = list(Merchant.objects.filter(is_active=True).order_by("pk")[:2])
    return only[0] if len(only) == 1 else None
