"""Carts (one per customer and store) and a customer's saved delivery addresses.

Invariants live in the database: one cart per (customer, store), one line per (cart, SKU) with
1 ≤ quantity ≤ 99, and coordinates in range. Addresses hold personal data encrypted at rest.
"""

from django.db import models
from django.db.models import Q

from mendian.accounts.models import Customer
from mendian.catalog.models import Sku
from mendian.core.pii import EncryptedTextField, mask_phone
from mendian.stores.models import Store

MAX_LINE_QUANTITY = 99


class Cart(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="carts")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "store"], name="cart_unique_customer_store")
        ]
        indexes = [models.Index(fields=["customer", "-updated_at"], name="cart_customer_recent_idx")]


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveSmallIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="cart_line_unique_sku"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_LINE_QUANTITY), name="cart_line_quantity_range"
            ),
        ]


class Address(models.Model):
    """A saved delivery address. Contact name, phone and the address text are Fernet-encrypted;
    coordinates are GCJ-02 (what the store radius is measured in)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    contact_name = EncryptedTextField()
    phone = EncryptedTextField()
    address = EncryptedTextField()
    district = models.CharField(max_length=50, blank=True)
    lat = models.FloatField()
    lng = models.FloatField()
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(lat__gte=-90, lat__lte=90), name="address_lat_range"),
            models.CheckConstraint(condition=Q(lng__gte=-180, lng__lte=180), name="address_lng_range"),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_default=True), name="address_one_default_per_customer"
            ),
        ]

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)
