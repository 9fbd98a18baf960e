"""Per-store stock: levels, the append-only movement ledger, reservations, and the paperwork that
moves stock (stocktakes, transfers, restock requests) plus low-stock alerts.

Invariants live in the database: a level's CHECK constraints (0 ≤ reserved ≤ on_hand), one level
per (store, SKU), one movement per (store, source, source id), and triggers (see migration 0002)
that refuse UPDATE and DELETE of movement rows.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from mendian.catalog.models import Sku
from mendian.merchants.models import Merchant
from mendian.stores.models import Store


class StockLevel(models.Model):
    """What one store holds of one SKU. `available = on_hand - reserved`.

    Written only with conditional `UPDATE`s by the inventory services, each with a movement row in
    the same transaction, so `on_hand` and `reserved` always equal the sums of the ledger.
    """

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="stock_levels")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    # null: the merchant's default (Merchant.settings["low_stock_threshold"], else a built-in one).
    low_stock_threshold = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_id", "sku_id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="stock_level_unique_store_sku"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_level_on_hand_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_level_reserved_non_negative"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_level_reserved_within_on_hand"
            ),
        ]
        indexes = [models.Index(fields=["sku", "store"], name="stock_level_sku_store_idx")]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.sku_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementType(models.TextChoices):
    SALE = "sale", "销售"
    RETURN = "return", "退货"
    RECEIVE = "receive", "收货"
    COUNT = "count", "盘点"
    ADJUST = "adjust", "调整"
    TRANSFER_OUT = "transfer_out", "调出"
    TRANSFER_IN = "transfer_in", "调入"
    RESERVE = "reserve", "预占"
    RELEASE = "release", "释放"
    CONSUME = "consume", "出库"


class MovementSource(models.TextChoices):
    POS = "pos", "POS"
    ORDER = "order", "订单"
    STAFF = "staff", "员工"
    SYSTEM = "system", "系统"
    # Goods a customer brought back with an approved refund; source_id names the refund request.
    REFUND = "refund", "退款退货"


class AdjustReason(models.TextChoices):
    DAMAGED = "damaged", "损坏"
    EXPIRED = "expired", "过期"
    LOST = "lost", "丢失"
    FOUND = "found", "找回"
    CORRECTION = "correction", "更正"
    OTHER = "other", "其他"


class StockMovement(models.Model):
    """One change of one level. Append-only: the database refuses UPDATE and DELETE of these rows.

    Migrations: on SQLite, altering a column of this table rebuilds it and drops its triggers; such a
    migration must reinstall them (as 0002 installs them). test_ledger's immutability test fails if not.
    """

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=20, choices=MovementType.choices)
    delta_on_hand = models.BigIntegerField(default=0)
    delta_reserved = models.BigIntegerField(default=0)
    reference = models.CharField(max_length=64, blank=True, help_text="order number, TR12, ST3, RR7…")
    source = models.CharField(max_length=10, choices=MovementSource.choices)
    # Idempotency: a POS event id, or a document line ("transfer:12:out:5"). Unique per store and source.
    source_id = models.CharField(max_length=128, null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=20, blank=True)
    note = models.CharField(max_length=200, blank=True)
    # When it happened in the shop (a POS event's time; a count's "as of"); created_at is when recorded.
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "source", "source_id"],
                condition=Q(source_id__isnull=False),
                name="stock_movement_source_id_unique",
            ),
            models.CheckConstraint(
                condition=~Q(delta_on_hand=0) | ~Q(delta_reserved=0) | Q(type="count"),
                name="stock_movement_changes_something",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "sku", "occurred_at"], name="stock_movement_asof_idx"),
            models.Index(fields=["reference"], name="stock_movement_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.store_id}/{self.sku_id} {self.delta_on_hand:+}/{self.delta_reserved:+}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "预占中"
    RELEASED = "released", "已释放"
    CONSUMED = "consumed", "已出库"


class Reservation(models.Model):
    """Units held for an order (its number is the `reference`) until paid-and-fulfilled or released."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reference", "sku_id"]
        constraints = [
            models.UniqueConstraint(fields=["reference", "sku"], name="reservation_unique_reference_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive"),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="reservation_active_expiry_idx",
            ),
            models.Index(fields=["store", "sku", "status"], name="reservation_level_idx"),
        ]


class StockAlert(models.Model):
    """Open while a level's available stock is below its threshold; resolved when it recovers."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="+")
    threshold = models.PositiveIntegerField()
    available = models.BigIntegerField(help_text="available stock when the alert opened")
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "sku"],
                condition=Q(resolved_at__isnull=True),
                name="stock_alert_one_open_per_level",
            )
        ]


# --- stocktakes ------------------------------------------------------------------------------


class StocktakeStatus(models.TextChoices):
    OPEN = "open", "盘点中"
    COMMITTED = "committed", "已提交"
    CANCELLED = "cancelled", "已取消"


class Stocktake(models.Model):
    """A count sheet. Counts are "as of" `counted_at`: movements after it apply on top at commit."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="stocktakes")
    status = models.CharField(max_length=10, choices=StocktakeStatus.choices, default=StocktakeStatus.OPEN)
    counted_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def reference(self) -> str:
        return f"ST{self.pk}"


class StocktakeOutcome(models.TextChoices):
    PENDING = "", "待提交"
    APPLIED = "applied", "已调整"
    UNCHANGED = "unchanged", "无差异"
    NOT_COUNTED = "not_counted", "未盘点"
    SUPERSEDED = "superseded", "已被较新盘点取代"


class StocktakeLine(models.Model):
    stocktake = models.ForeignKey(Stocktake, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    expected = models.BigIntegerField(help_text="on hand per the ledger as of counted_at")
    counted = models.PositiveIntegerField(null=True, blank=True)
    delta = models.BigIntegerField(null=True, blank=True, help_text="the count movement written at commit")
    outcome = models.CharField(max_length=12, choices=StocktakeOutcome.choices, blank=True, default="")

    class Meta:
        ordering = ["sku_id"]
        constraints = [models.UniqueConstraint(fields=["stocktake", "sku"], name="stocktake_line_unique_sku")]


# --- transfers -------------------------------------------------------------------------------


class TransferStatus(models.TextChoices):
    CREATED = "created", "待发货"
    IN_TRANSIT = "in_transit", "在途"
    RECEIVED = "received", "已收货"
    CANCELLED = "cancelled", "已取消"


class Transfer(models.Model):
    """Stock moving between two stores of one merchant: created → in transit → received."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    from_store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="transfers_out")
    to_store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=12, choices=TransferStatus.choices, default=TransferStatus.CREATED)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(from_store=F("to_store")), name="transfer_between_two_stores")
        ]

    @property
    def reference(self) -> str:
        return f"TR{self.pk}"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["sku_id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "sku"], name="transfer_line_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"),
        ]


# --- restock requests (要货) ------------------------------------------------------------------


class RestockStatus(models.TextChoices):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已驳回"
    RECEIVED = "received", "已收货"


class RestockRequest(models.Model):
    """A store asks HQ for goods; HQ approves (possibly fewer) or rejects; the store receives."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="restock_requests")
    status = models.CharField(max_length=10, choices=RestockStatus.choices, default=RestockStatus.PENDING)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant", "status"], name="restock_merchant_status_idx")]

    @property
    def reference(self) -> str:
        return f"RR{self.pk}"


class RestockLine(models.Model):
    request = models.ForeignKey(RestockRequest, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(help_text="requested")
    approved_quantity = models.PositiveIntegerField(null=True, blank=True)
    received_quantity = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["sku_id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "sku"], name="restock_line_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="restock_line_quantity_positive"),
        ]
