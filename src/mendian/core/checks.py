"""System checks for what Django's own checks cannot see."""

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.core.checks.security import csrf

CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
BROWSER_ONLY = "mendian.core.middleware.BrowserOnlyMiddleware"


@register(Tags.security, deploy=True)
def check_browser_csrf(app_configs, **kwargs):
    """Django's CSRF checks look for its middleware in MIDDLEWARE (security.W003, silenced); ours
    runs inside BrowserOnlyMiddleware, so the same checks are made here against that list."""
    if CSRF_MIDDLEWARE not in settings.BROWSER_MIDDLEWARE or BROWSER_ONLY not in settings.MIDDLEWARE:
        return [
            Warning(
                "CsrfViewMiddleware does not run: it must be in BROWSER_MIDDLEWARE, and "
                f"{BROWSER_ONLY} in MIDDLEWARE.",
                id="mendian.W001",
            )
        ]
    if not settings.CSRF_USE_SESSIONS and not settings.CSRF_COOKIE_SECURE:
        return [csrf.W016]
    return []
