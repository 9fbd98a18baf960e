from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q

from mendian.core.pii import EncryptedTextField, mask_phone
from mendian.core.scope import Role
from mendian.merchants.models import Merchant
from mendian.stores.models import Store


class StaffManager(BaseUserManager):
    def get_by_natural_key(self, username):
        return self.get(username=username)


class Staff(AbstractBaseUser):
    """HQ and store staff. Customers are not users of this model (see Customer)."""

    username = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=64, blank=True)
    role = models.CharField(max_length=20, choices=Role.CHOICES)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="staff")
    is_active = models.BooleanField(default=True)
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StaffManager()
    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "staff"
        constraints = [
            # The role decides which scope columns must be set: the DB refuses a clerk without a store.
            models.CheckConstraint(
                condition=(
                    Q(role=Role.PLATFORM_ADMIN, merchant__isnull=True, store__isnull=True)
                    | Q(role=Role.MERCHANT_ADMIN, merchant__isnull=False, store__isnull=True)
                    | Q(role__in=Role.STORE, merchant__isnull=False, store__isnull=False)
                ),
                name="staff_scope_matches_role",
            )
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_hq(self) -> bool:
        return self.role in Role.HQ

    # Django admin/permission shims (the consoles use Actor capabilities, not Django perms).
    @property
    def is_staff(self) -> bool:
        return False

    @property
    def is_superuser(self) -> bool:
        return False


class Customer(models.Model):
    """A person who shops. One per phone (or WeChat identity) across the platform."""

    phone = EncryptedTextField(blank=True, default="")
    phone_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The openid is personal data too: encrypted, looked up by its keyed hash.
    wechat_openid = EncryptedTextField(blank=True, default="")
    wechat_openid_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    nickname = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"customer {self.pk}"

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class WechatSession(models.Model):
    """The mini-program session_key. It never leaves the server."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="wechat_session")
    session_key = EncryptedTextField()
    unionid_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class TokenKind(models.TextChoices):
    ACCESS = "access"
    REFRESH = "refresh"
    STAFF = "staff"


class AuthToken(models.Model):
    """Opaque bearer tokens, stored as SHA-256 of the token: a DB leak does not leak sessions."""

    kind = models.CharField(max_length=10, choices=TokenKind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens"
    )
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens")
    # Access and refresh tokens issued together share a family; reusing a spent refresh token revokes it.
    family = models.CharField(max_length=32, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(customer__isnull=False, staff__isnull=True)
                | Q(customer__isnull=True, staff__isnull=False),
                name="token_has_one_owner",
            )
        ]


class SmsCode(models.Model):
    """A login code. Only its hash is kept; it works once, for a few minutes, for a few tries."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=20, default="login")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class SandboxSms(models.Model):
    """The sandbox SMS outbox (MENDIAN_SANDBOX=1 only): what a real gateway would have sent."""

    phone = EncryptedTextField()
    phone_hash = models.CharField(max_length=64, db_index=True)
    code = models.CharField(max_length=10)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
