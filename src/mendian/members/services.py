"""Writes of memberships."""

from django.db import IntegrityError, transaction

from mendian.accounts.models import Customer
from mendian.core.errors import NotFound
from mendian.members.models import Membership
from mendian.merchants.models import Merchant


def membership_get_or_create(*, customer: Customer, merchant: Merchant) -> tuple[Membership, bool]:
    """The customer's membership at `merchant`, created (level regular) on first use there.

    Safe under concurrency: the (merchant, customer) UNIQUE constraint decides, and the loser of a race
    reads the winner's row.
    """
    if not merchant.is_active:
        raise NotFound("No such merchant.")
    existing = Membership.objects.filter(customer=customer, merchant=merchant).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Membership.objects.create(customer=customer, merchant=merchant), True
    except IntegrityError:
        return Membership.objects.get(customer=customer, merchant=merchant), False
