from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from mendian.merchants.models import CODE_VALIDATOR, Merchant


class StoreStatus(models.TextChoices):
    OPEN = "open", "营业中"
    PAUSED = "paused", "暂停营业"
    CLOSED = "closed", "已停业"


class Store(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="stores")
    code = models.CharField(max_length=40, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=100)
    city = models.CharField(max_length=50, blank=True)
    district = models.CharField(max_length=50, blank=True)
    address = models.CharField(max_length=255)
    # GCJ-02 degrees. Plain indexed floats: the nearest-store search prefilters on a bounding box.
    lat = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    lng = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    phone = models.CharField(max_length=30, blank=True)
    intro = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=StoreStatus.choices, default=StoreStatus.OPEN)
    timezone = models.CharField(max_length=64, blank=True, help_text="Blank: the merchant's time zone.")
    pickup_enabled = models.BooleanField(default=True)
    delivery_enabled = models.BooleanField(default=False)
    delivery_radius_m = models.PositiveIntegerField(default=3000)
    delivery_fee = models.PositiveIntegerField(default=0, help_text="fen")
    delivery_free_over = models.PositiveIntegerField(null=True, blank=True, help_text="fen; null: never free")
    delivery_min_order = models.PositiveIntegerField(default=0, help_text="fen")
    pickup_prep_minutes = models.PositiveIntegerField(default=15)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="store_code_unique_per_merchant"),
            models.CheckConstraint(condition=Q(lat__gte=-90, lat__lte=90), name="store_lat_range"),
            models.CheckConstraint(condition=Q(lng__gte=-180, lng__lte=180), name="store_lng_range"),
        ]
        indexes = [models.Index(fields=["lat", "lng"], name="store_lat_lng_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def tz_name(self) -> str:
        return self.timezone or self.merchant.timezone


class OpeningHours(models.Model):
    """A weekly span. `closes` before `opens` runs past midnight; equal means open all day."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)], help_text="Monday 0")
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="opening_hours_weekday_range")
        ]


class SpecialDay(models.Model):
    """A date that overrides the weekly hours: closed (holiday) or other hours (extended)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="special_days")
    date = models.DateField()
    closed = models.BooleanField(default=False)
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date", "opens"]
        constraints = [
            models.UniqueConstraint(fields=["store", "date"], name="special_day_unique_per_store_date"),
            models.CheckConstraint(
                condition=Q(closed=True) | (Q(opens__isnull=False) & Q(closes__isnull=False)),
                name="special_day_hours_or_closed",
            ),
        ]


class StorePhoto(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="stores/%Y/%m/")
    thumbnail = models.ImageField(upload_to="stores/%Y/%m/", blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
