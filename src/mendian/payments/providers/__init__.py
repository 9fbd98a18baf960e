"""Provider registry: adapters by name; the enabled ones come from settings
(`PAYMENT_PROVIDERS`; `sandbox` is enabled only when `settings.SANDBOX`)."""

from django.conf import settings

from mendian.core.errors import ValidationFailed
from mendian.payments.providers.base import Provider


def _registry() -> dict[str, type[Provider]]:
    from mendian.payments.providers.sandbox import SandboxProvider

    return {SandboxProvider.name: SandboxProvider}


def enabled_providers() -> list[str]:
    names = [name for name in getattr(settings, "PAYMENT_PROVIDERS", ()) if name != "sandbox"]
    if getattr(settings, "SANDBOX", False):
        names.append("sandbox")
    known = _registry()
    return [name for name in names if name in known]


def provider_get(name: str) -> Provider:
    """The enabled adapter called `name`; `422 provider_unavailable` otherwise."""
    if not isinstance(name, str) or name not in enabled_providers():
        raise ValidationFailed(f"Payment provider {name!r} is not available.", code="provider_unavailable")
    return _registry()[name]()
