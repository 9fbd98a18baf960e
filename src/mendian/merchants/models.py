from django.core.validators import RegexValidator
from django.db import models

CODE_VALIDATOR = RegexValidator(r"^[a-z0-9][a-z0-9_-]{1,39}$", "Use 2-40 lowercase letters, digits, - or _.")


class Merchant(models.Model):
    """A brand: the tenant. Stores, catalog, members and campaigns all belong to exactly one."""

    code = models.CharField(max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=100)
    brand_name = models.CharField(max_length=100, blank=True)
    logo = models.ImageField(upload_to="merchants/", blank=True)
    currency = models.CharField(max_length=3, default="CNY")
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.brand_name or self.name
