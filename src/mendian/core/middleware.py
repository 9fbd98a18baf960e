import http.client
import logging
import uuid

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import Http404
from django.utils import translation
from django.utils.module_loading import import_string

from mendian.core.errors import PROBLEM_CONTENT_TYPE, DomainError, domain_error_response, problem_response
from mendian.core.logging import request_id_var

logger = logging.getLogger("mendian.request")

API_PREFIX = "/api/"


class RequestIdMiddleware:
    """Gives every request an id (taken from a sane X-Request-ID, else new) and echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = (
            incoming if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        )
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class BrowserOnlyMiddleware:
    """Runs `settings.BROWSER_MIDDLEWARE` (sessions, CSRF, staff sign-in, language, messages, htmx…)
    in this place of the chain, except for `settings.TOKEN_API_PREFIXES`: the storefront and open
    APIs, whose callers prove who they are on every request with a token or a signature, never a
    cookie, and whose replies are not translated. Those requests skip what they cannot use (about a
    third of a small request's time); the staff and HQ APIs, which the consoles call with their
    web session, keep it all.

    The inner middleware hooks (`process_view`, `process_exception`, `process_template_response`)
    run in the order Django's handler would give them, for browser requests only.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.token_prefixes = tuple(settings.TOKEN_API_PREFIXES)
        self.view_hooks, self.template_hooks, self.exception_hooks = [], [], []
        handler = get_response
        # As django.core.handlers.base.BaseHandler.load_middleware builds its chain.
        for path in reversed(settings.BROWSER_MIDDLEWARE):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self.view_hooks.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self.template_hooks.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self.exception_hooks.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self.browser_chain = handler

    def _is_token_api(self, request) -> bool:
        return request.path_info.startswith(self.token_prefixes)

    def __call__(self, request):
        if self._is_token_api(request):
            # A thread keeps the language a browser request activated: these replies are in the
            # default language, as with the full chain and no Accept-Language.
            if translation.get_language() != settings.LANGUAGE_CODE:
                translation.activate(settings.LANGUAGE_CODE)
            response = self.get_response(request)
            # What CommonMiddleware would add on the way out (its other work is for browsers).
            if not response.streaming and not response.has_header("Content-Length"):
                response.headers["Content-Length"] = str(len(response.content))
            return response
        return self.browser_chain(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if self._is_token_api(request):
            return None
        for hook in self.view_hooks:
            response = hook(request, view_func, view_args, view_kwargs)
            if response is not None:
                return response
        return None

    def process_template_response(self, request, response):
        if not self._is_token_api(request):
            for hook in self.template_hooks:
                response = hook(request, response)
        return response

    def process_exception(self, request, exception):
        if self._is_token_api(request):
            return None
        for hook in self.exception_hooks:
            response = hook(request, exception)
            if response is not None:
                return response
        return None


class ApiErrorMiddleware:
    """Outside ninja's own handlers (URL misses, middleware errors, a method the path does not
    take), API paths still answer problem+json."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.path.startswith(API_PREFIX)
            and response.get("Content-Type") != PROBLEM_CONTENT_TYPE
        ):
            # Ninja and Django answer an unsupported method with a bare text/html 405.
            return problem_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here.",
                headers={"Allow": response.get("Allow", "")},
            )
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, DomainError):
            return domain_error_response(exception)
        if isinstance(exception, Http404):
            return problem_response(404, "not_found", "No such resource.")
        logger.exception("unhandled error on %s", request.path)
        return problem_response(500, "internal_error", "An unexpected error occurred; it has been logged.")


_CSP_OVERRIDES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware, with the settings' policy built once per process.

    django-csp rebuilds the header from the settings on every response (a dict copy, a sort and a
    join per directive: about a fifth of a bare JSON view's time). Only a nonce or a view's own
    `@csp_update`/`@csp_replace` changes the policy; those responses still take the original path.
    """

    _default: tuple[str, str] | None = None

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _CSP_OVERRIDES
        ):
            return super().process_response(request, response)
        if (
            response.status_code in (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)
            and settings.DEBUG
        ):
            return response
        if CSPMiddleware._default is None:
            CSPMiddleware._default = (build_policy(), build_policy(report_only=True))
        policy, report_only = CSPMiddleware._default
        for header, value, exempt, setting in (
            (HEADER, policy, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, report_only, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            if not value or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = value
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


@receiver(setting_changed)
def _csp_settings_changed(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        CSPMiddleware._default = None
