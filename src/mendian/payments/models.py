"""Payments of orders, the provider notifications seen, and refunds.

The database is the arbiter: `out_trade_no` and the public id are UNIQUE; one payment per order and
provider (a retried payment reuses its `out_trade_no`); a notification id is UNIQUE per provider
(dedupe); `0 ≤ refunded_amount ≤ amount` is a CHECK and `refunded_amount` (pending, abnormal and
succeeded refunds) is raised only by a conditional UPDATE, so refunds can never exceed what was paid.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from mendian.core.pii import EncryptedTextField
from mendian.orders.models import Order


def new_public_id() -> str:
    return "pay_" + secrets.token_urlsafe(18)  # 24 url-safe characters, 144 random bits


def new_reference() -> str:
    return secrets.token_hex(16)  # 32 characters: within WeChat's and Alipay's limits


class PaymentStatus(models.TextChoices):
    CREATED = "created", "已创建"
    PENDING = "pending", "待支付"
    PAID = "paid", "已支付"
    CLOSED = "closed", "已关闭"
    FAILED = "failed", "支付失败"
    PARTIALLY_REFUNDED = "partially_refunded", "部分退款"
    REFUNDED = "refunded", "已退款"


# A payment still waiting for the customer.
OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.PENDING)


class Payment(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=20)
    out_trade_no = models.CharField(max_length=32, unique=True, default=new_reference)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATED)
    provider_transaction_id = models.CharField(max_length=64, blank=True)
    # What the provider needs kept between calls (e.g. a prepay id; the sandbox gateway's state).
    provider_data = models.JSONField(default=dict, blank=True)
    # Pending, abnormal and succeeded refunds (money owed or paid back); raised only by a
    # conditional UPDATE.
    refunded_amount = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "provider"], name="payment_one_per_order_provider"),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("amount")),
                name="payment_refunds_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_created_idx")]

    def __str__(self) -> str:
        return self.public_id


class NotificationOutcome(models.TextChoices):
    PAID = "paid", "已入账"
    PAID_AFTER_CANCEL = "paid_after_cancel", "已支付但订单已取消，已退款"
    ALREADY_PAID = "already_paid", "重复（已支付）"
    REFUND = "refund", "退款结果"
    IGNORED = "ignored", "忽略"


class PaymentNotification(models.Model):
    """A verified provider notification, stored once: a repeat of its id is acknowledged and ignored."""

    provider = models.CharField(max_length=20)
    notification_id = models.CharField(max_length=128)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="notifications", null=True)
    event_type = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=20, choices=NotificationOutcome.choices)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "notification_id"], name="payment_notification_unique"
            ),
        ]


# How HQ paid an abnormal refund's customer (e.g. "门店现金退还"), at most this long.
RESOLUTION_NOTE_MAX_LENGTH = 200


class RefundStatus(models.TextChoices):
    PENDING = "pending", "退款中"
    SUCCEEDED = "succeeded", "已退款"
    FAILED = "failed", "退款失败"
    # The provider accepted the refund but could not pay it out (WeChat Pay's ABNORMAL: the
    # buyer's card was cancelled …). The money is still owed: the amount stays held and HQ acts.
    ABNORMAL = "abnormal", "退款异常"


class RefundResolution(models.TextChoices):
    """How HQ settled (or last tried to settle) an abnormal refund."""

    # WeChat Pay pays the money to a debit card the customer named; its result comes as for any
    # refund (and may be abnormal again).
    USER_BANK_CARD = "user_bank_card", "退至顾客银行卡"
    # WeChat Pay returned the money to the merchant's settlement bank account; the customer is
    # still owed it until HQ pays them another way (`offline`).
    MERCHANT_BANK_CARD = "merchant_bank_card", "退回商户结算银行账户"
    OFFLINE = "offline", "已线下退款"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(max_length=64, unique=True, default=new_reference)
    amount = models.BigIntegerField()
    # The orders app's refund request; null for a refund of money that arrived after a cancellation.
    refund_request_id = models.BigIntegerField(null=True, blank=True, unique=True)
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    provider_refund_id = models.CharField(max_length=64, blank=True)
    failure = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    abnormal_at = models.DateTimeField(null=True, blank=True)
    # When reconciliation last asked the provider about it.
    checked_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=20, choices=RefundResolution.choices, blank=True)
    resolution_note = models.CharField(max_length=RESOLUTION_NOTE_MAX_LENGTH, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=RefundStatus.values), name="refund_status_valid"),
            models.CheckConstraint(
                condition=Q(resolution__in=["", *RefundResolution.values]), name="refund_resolution_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "-id"], name="refund_status_idx")]


class ProviderAccount(models.Model):
    """A merchant's account at a real provider (WeChat Pay, Alipay). `config` holds what is not
    secret (appid, mchid, serials, gateway URL, platform certificates or public key); `secrets`
    holds a JSON object of keys (merchant private key, APIv3 key …), encrypted at rest."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="payment_accounts"
    )
    provider = models.CharField(max_length=20)
    enabled = models.BooleanField(default=False)
    config = models.JSONField(default=dict, blank=True)
    secrets = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["merchant_id", "provider"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "provider"], name="provider_account_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}@{self.merchant_id}"

    def secret_values(self) -> dict:
        import json

        return json.loads(self.secrets) if self.secrets else {}

    def set_secret_values(self, values: dict) -> None:
        import json

        self.secrets = json.dumps(values, ensure_ascii=False, sort_keys=True)
