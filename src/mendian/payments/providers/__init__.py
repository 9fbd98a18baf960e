"""Provider registry. `sandbox` is enabled only when `settings.SANDBOX`; a real provider
(`wechatpay`, `alipay`) is enabled for a merchant that has an enabled `ProviderAccount` for it.

Adapters are built per call: `Provider(account)`. Outbound calls (create, query, close, refund)
use the account of the payment's merchant; a notification carries no merchant, so the adapter is
built without one and finds the account from what the notification identifies (WeChat Pay's
`Wechatpay-Serial`, Alipay's `app_id`)."""

from importlib import import_module

from django.conf import settings

from mendian.core.errors import ValidationFailed
from mendian.payments.providers.base import Provider


def _registry() -> dict[str, type[Provider]]:
    from mendian.payments.providers.sandbox import SandboxProvider

    registry: dict[str, type[Provider]] = {SandboxProvider.name: SandboxProvider}
    # Adapters backed by a ProviderAccount register below, one line each.
    registry["wechatpay"] = import_module("mendian.payments.providers.wechatpay").WechatPayProvider
    registry["alipay"] = import_module("mendian.payments.providers.alipay").AlipayProvider
    return registry


def _account(name: str, merchant_id):
    from mendian.payments.models import ProviderAccount

    return ProviderAccount.objects.filter(merchant_id=merchant_id, provider=name, enabled=True).first()


def enabled_providers(merchant_id=None) -> list[str]:
    """The providers a customer of `merchant_id` may pay with (sandbox last)."""
    from mendian.payments.models import ProviderAccount

    known = _registry()
    names: list[str] = []
    if merchant_id is not None:
        names = list(
            ProviderAccount.objects.filter(merchant_id=merchant_id, enabled=True, provider__in=known)
            .exclude(provider="sandbox")
            .order_by("provider")
            .values_list("provider", flat=True)
        )
    if getattr(settings, "SANDBOX", False):
        names.append("sandbox")
    return names


def provider_get(name: str, *, merchant_id=None) -> Provider:
    """The adapter called `name`, for `merchant_id`'s account when given; `422
    provider_unavailable` when it is unknown or not enabled."""
    known = _registry()
    if not isinstance(name, str) or name not in known:
        raise ValidationFailed(f"Payment provider {name!r} is not available.", code="provider_unavailable")
    if name == "sandbox":
        if not getattr(settings, "SANDBOX", False):
            raise ValidationFailed(
                "Payment provider 'sandbox' is not available.", code="provider_unavailable"
            )
        return known[name]()
    account = None
    if merchant_id is not None:
        account = _account(name, merchant_id)
        if account is None:
            raise ValidationFailed(
                f"Payment provider {name!r} is not available.", code="provider_unavailable"
            )
    return known[name](account)


def provider_for_payment(payment) -> Provider:
    """The adapter for an existing payment: its merchant's account, even if since disabled (a
    refund or query of money already taken must still go through)."""
    known = _registry()
    if payment.provider == "sandbox":
        return known["sandbox"]()
    from mendian.payments.models import ProviderAccount

    account = ProviderAccount.objects.filter(
        merchant_id=payment.order.merchant_id, provider=payment.provider
    ).first()
    if payment.provider not in known or account is None:
        raise ValidationFailed(
            f"Payment provider {payment.provider!r} is not configured.", code="provider_unavailable"
        )
    return known[payment.provider](account)
