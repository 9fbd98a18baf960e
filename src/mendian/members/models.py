from django.db import models

from mendian.accounts.models import Customer
from mendian.merchants.models import Merchant


class MemberLevel(models.TextChoices):
    REGULAR = "regular", "普通会员"
    SILVER = "silver", "银卡会员"
    GOLD = "gold", "金卡会员"
    DIAMOND = "diamond", "钻石会员"


class Membership(models.Model):
    """A customer's membership of one merchant, created on first use there."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="memberships")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="memberships")
    level = models.CharField(max_length=20, choices=MemberLevel.choices, default=MemberLevel.REGULAR)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "customer"], name="membership_unique")]
