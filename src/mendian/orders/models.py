"""Orders, their lines and events, and after-sales refund requests.

The database is the arbiter: the order number is UNIQUE; a pickup code is unique per store among
the orders still waiting to be collected (partial UNIQUE); `0 ≤ refunded_amount ≤ paid_amount` is a
CHECK, so concurrent refunds can never give back more than was paid; one refund request per order
may be pending at a time. `status` is written only by `orders.services.order_transition`.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from mendian.accounts.models import Customer
from mendian.catalog.models import Sku
from mendian.core.pii import EncryptedTextField, mask_phone
from mendian.merchants.models import Merchant
from mendian.stores.models import Store


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "待支付"
    PAID = "paid", "已支付"
    PREPARING = "preparing", "备货中"
    READY_FOR_PICKUP = "ready_for_pickup", "待自提"
    OUT_FOR_DELIVERY = "out_for_delivery", "配送中"
    DELIVERED = "delivered", "已送达"
    COMPLETED = "completed", "已完成"
    CANCELLED = "cancelled", "已取消"
    REFUND_REQUESTED = "refund_requested", "售后中"
    REFUNDED = "refunded", "已退款"
    REFUND_REJECTED = "refund_rejected", "售后已驳回"


S = OrderStatus

# The state machine. Anything not listed here is `409 invalid_state_transition`.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.PREPARING, S.CANCELLED}),
    S.PREPARING: frozenset({S.READY_FOR_PICKUP, S.OUT_FOR_DELIVERY}),
    # Cancelling a ready order is the no-show policy (staff, once the order is flagged no-show).
    S.READY_FOR_PICKUP: frozenset({S.COMPLETED, S.CANCELLED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.REFUND_REQUESTED}),
    S.COMPLETED: frozenset({S.REFUND_REQUESTED}),
    S.REFUND_REQUESTED: frozenset({S.REFUNDED, S.REFUND_REJECTED}),
    # After a partial refund or a rejection, other units may still be claimed (policy permitting).
    S.REFUNDED: frozenset({S.REFUND_REQUESTED}),
    S.REFUND_REJECTED: frozenset({S.REFUND_REQUESTED}),
    S.CANCELLED: frozenset(),
}

# Orders whose pickup code is live: paid and not yet collected or cancelled.
PICKUP_ACTIVE_STATUSES = (S.PAID, S.PREPARING, S.READY_FOR_PICKUP)
# Paid or later: what sales reports count.
PAID_STATUSES = tuple(s for s in S.values if s not in (S.PENDING_PAYMENT,))


class FulfilmentType(models.TextChoices):
    PICKUP = "pickup", "到店自提"
    DELIVERY = "delivery", "配送"


class Order(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="orders")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    number = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    fulfilment_type = models.CharField(max_length=10, choices=FulfilmentType.choices)
    currency = models.CharField(max_length=3, default="CNY")
    # Amounts in minor units (fen), as quoted when the order was placed.
    subtotal = models.BigIntegerField()
    discount_total = models.BigIntegerField(default=0)
    delivery_fee = models.BigIntegerField(default=0)
    points_used = models.BigIntegerField(default=0)
    total = models.BigIntegerField()
    discounts = models.JSONField(default=list, blank=True, help_text="[{source, label, amount}]")
    paid_amount = models.BigIntegerField(default=0)
    # Refunds approved (committed to the customer); raised only by a conditional UPDATE.
    refunded_amount = models.BigIntegerField(default=0)
    pay_deadline = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_id = models.CharField(max_length=64, blank=True)
    payment_provider = models.CharField(max_length=20, blank=True)
    # Fulfilment.
    pickup_code = models.CharField(max_length=12, null=True, blank=True)
    pickup_at = models.DateTimeField(null=True, blank=True, help_text="requested; null: as soon as ready")
    contact_name = EncryptedTextField(blank=True, default="")
    contact_phone = EncryptedTextField(blank=True, default="")
    delivery_address = EncryptedTextField(blank=True, default="")
    delivery_district = models.CharField(max_length=50, blank=True)
    delivery_lat = models.FloatField(null=True, blank=True)
    delivery_lng = models.FloatField(null=True, blank=True)
    delivery_distance_m = models.PositiveIntegerField(null=True, blank=True)
    courier = models.CharField(max_length=20, blank=True)
    courier_tracking = models.CharField(max_length=64, blank=True)
    delivery_eta = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    # Milestones.
    accepted_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True, help_text="flagged: not collected in time")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(
                condition=Q(fulfilment_type__in=FulfilmentType.values), name="order_fulfilment_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, discount_total__gte=0, delivery_fee__gte=0, total__gte=0),
                name="order_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(refunded_amount__gte=0), name="order_paid_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("paid_amount")), name="order_refunds_within_paid"
            ),
            models.UniqueConstraint(
                fields=["store", "pickup_code"],
                condition=Q(pickup_code__isnull=False, status__in=PICKUP_ACTIVE_STATUSES),
                name="order_pickup_code_unique_while_active",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-id"], name="order_customer_recent_idx"),
            models.Index(fields=["store", "status", "-id"], name="order_store_status_idx"),
            models.Index(fields=["merchant", "-id"], name="order_merchant_recent_idx"),
            models.Index(fields=["store", "updated_at"], name="order_store_updated_idx"),
            models.Index(
                fields=["pay_deadline"],
                condition=Q(status="pending_payment"),
                name="order_pending_deadline_idx",
            ),
            models.Index(fields=["status", "delivered_at"], name="order_status_delivered_idx"),
            models.Index(fields=["status", "ready_at"], name="order_status_ready_idx"),
            models.Index(fields=["merchant", "paid_at"], name="order_merchant_paid_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def contact_phone_masked(self) -> str:
        return mask_phone(self.contact_phone)

    @property
    def net_paid(self) -> int:
        return self.paid_amount - self.refunded_amount


class OrderLine(models.Model):
    """A snapshot of what was bought: name, specs and price as they were, with its share of discounts."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    product_id = models.BigIntegerField()
    sku_code = models.CharField(max_length=64)
    name = models.CharField(max_length=120)
    specs = models.JSONField(default=dict, blank=True)
    image = models.CharField(max_length=255, blank=True)
    unit_price = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    line_total = models.BigIntegerField()
    discount_allocated = models.BigIntegerField(default=0)
    allocations = models.JSONField(default=list, blank=True, help_text="[{source, amount}]")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(discount_allocated__gte=0, discount_allocated__lte=F("line_total")),
                name="order_line_discount_within_total",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_non_negative"),
        ]

    @property
    def net_total(self) -> int:
        return self.line_total - self.discount_allocated


class EventActor(models.TextChoices):
    CUSTOMER = "customer", "顾客"
    STAFF = "staff", "员工"
    SYSTEM = "system", "系统"
    PAYMENT = "payment", "支付"


class OrderEvent(models.Model):
    """One row per status change, written in the transaction of the change."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    from_status = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField()
    actor_type = models.CharField(max_length=10, choices=EventActor.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]


class RefundKind(models.TextChoices):
    AFTER_SALE = "after_sale", "售后退款"
    CANCELLATION = "cancellation", "取消退款"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已同意，退款中"
    REJECTED = "rejected", "已驳回"
    REFUNDED = "refunded", "已退款"


REFUND_NOTE_MAX_LENGTH = 200


class RefundRequest(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refund_requests")
    kind = models.CharField(max_length=12, choices=RefundKind.choices, default=RefundKind.AFTER_SALE)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    amount = models.BigIntegerField()
    reason = models.CharField(max_length=200)
    whole_order = models.BooleanField(default=True)
    restock = models.BooleanField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=200, blank=True)
    # What the store tells the customer when it approves (商家备注); optional.
    decision_note = models.CharField(max_length=REFUND_NOTE_MAX_LENGTH, blank=True, default="")
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_request_amount_positive"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="pending"), name="refund_request_one_pending_per_order"
            ),
        ]
        indexes = [models.Index(fields=["status", "-id"], name="refund_request_status_idx")]


class RefundRequestLine(models.Model):
    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_line_quantity_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_line_amount_non_negative"),
            models.UniqueConstraint(fields=["request", "order_line"], name="refund_line_unique_per_request"),
        ]
