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
    # A refund event's result: `succeeded`, `failed`, `abnormal` or `returned` (see `RefundResult`).
    refund_state: str = ""
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
    """`state`: `succeeded`; `pending` (the provider reports later); `failed` (final: nothing was
    paid back, the amount may be refunded anew); `abnormal` (accepted, but the provider could not
    pay it out, e.g. the buyer's bank card was cancelled: the money is still owed and the merchant
    must act); `returned` (the provider paid it back to the merchant's own account, as the merchant
    asked: still owed to the buyer); `not_found` (a query only: the provider has no refund by this
    number, so sending it again with the same number cannot pay twice)."""

    state: str
    provider_refund_id: str = ""
    failure: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class BankCard:
    """A debit card the customer names for an abnormal refund: `bank_type` is WeChat Pay's bank
    code (e.g. `ICBC_DEBIT`). Personal data: sent to the provider encrypted, never kept or logged."""

    bank_type: str
    bank_account: str
    real_name: str

    def __repr__(self) -> str:  # never show the number or the name in a traceback or a log
        return f"<BankCard {self.bank_type}>"


class AbnormalRefundUnsupported(Exception):
    """The provider has no API to settle an abnormal refund (HQ settles it offline)."""


class AbnormalRefundRefused(Exception):
    """The provider refused to settle an abnormal refund (e.g. it is no longer abnormal there)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


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

    @abc.abstractmethod
    def refund_query(self, refund) -> RefundResult:
        """The provider's view of a refund sent earlier, by `refund.out_refund_no`: any state, and
        `not_found` when the provider never received it."""

    def refund_abnormal_apply(
        self, refund, *, method: str, bank_card: BankCard | None = None
    ) -> RefundResult:
        """Asks the provider to pay out an abnormal refund another way (`method`: WeChat Pay's
        `user_bank_card`, to `bank_card`, or `merchant_bank_card`). `AbnormalRefundRefused` when the
        provider says no."""
        raise AbnormalRefundUnsupported(self.name)

    def ack(self) -> HttpResponse:
        """The reply that tells the provider the notification was handled."""
        return HttpResponse(status=204)
