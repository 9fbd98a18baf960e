"""Errors of sign-in and staff management that the shared `core.errors` family does not name."""

from mendian.core.errors import DomainError, RateLimited


class AccountLocked(RateLimited):
    """Too many failed sign-ins: the account waits. A RateLimited, so the reply carries Retry-After."""

    status = 423
    code = "account_locked"


class ProviderUnavailable(DomainError):
    """An outside service (SMS gateway, WeChat) failed or answered an error: nothing was changed here."""

    status = 502
    code = "provider_unavailable"


class NotConfigured(DomainError):
    """The feature needs settings this deployment does not have."""

    status = 503
    code = "not_configured"
