"""The provider interface every payment adapter implements, and the facts they hand back."""

import abc
import datetime as dt
from dataclasses import dataclass, field

from django.http import HttpResponse


class NotificationRejected(Exception):
    """A notification failed verification (signature, window, decryption, format): answer 4xx and
    change nothing."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ProviderError(Exception):
    """The provider could not be reached or refused a call; safe to retry later."""


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified notification that a payment succeeded (`kind="payment"`) or a refund settled
    (`kind="refund"`)."""

    notification_id: str
    event_type: str
    kind: str
    out_trade_no: str
    amount: int = 0
    transaction_id: str = ""
    paid_at: dt.datetime | None = None
    out_refund_no: str = ""
    refund_succeeded: bool = False
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """`state`: `paid`, `pending` (not paid: may be closed), `paying` (the customer is paying right
    now: leave it), `closed` or `failed`."""

    state: str
    amount: int = 0
    transaction_id: str = ""
    paid_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class RefundResult:
    """`state`: `succeeded`, `pending` (the provider reports later) or `failed`."""

    state: str
    provider_refund_id: str = ""
    failure: str = ""


class Provider(abc.ABC):
    name: str = ""

    def __init__(self, account=None):
        # The merchant's ProviderAccount (None for the sandbox, and for a notification until the
        # adapter has found the account it belongs to).
        self.account = account

    @abc.abstractmethod
    def create(self, payment) -> dict:
        """Opens the payment at the provider (idempotent by `payment.out_trade_no`); returns what
        to keep in `payment.provider_data`."""

    @abc.abstractmethod
    def client_params(self, payment, *, base_url: str) -> dict:
        """What the client needs to pay (the mini-program's wx.requestPayment fields, a URL …)."""

    @abc.abstractmethod
    def parse_notification(self, *, headers, body: bytes) -> PaymentEvent:
        """Verifies and parses a callback; raises `NotificationRejected`."""

    @abc.abstractmethod
    def query(self, payment) -> QueryResult:
        """The provider's view of the payment."""

    @abc.abstractmethod
    def close(self, payment) -> None:
        """Closes an unpaid payment; raises `ProviderError` when it cannot (e.g. paid meanwhile)."""

    @abc.abstractmethod
    def refund(self, refund) -> RefundResult:
        """Sends a refund (idempotent by `refund.out_refund_no`)."""

    def ack(self) -> HttpResponse:
        """The reply that tells the provider the notification was handled."""
        return HttpResponse(status=204)
