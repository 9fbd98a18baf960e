import logging
import uuid

from django.http import Http404

from mendian.core.errors import DomainError, domain_error_response, problem_response
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


class ApiErrorMiddleware:
    """Outside ninja's own handlers (URL misses, middleware errors), API paths still answer problem+json."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, DomainError):
            return domain_error_response(exception)
        if isinstance(exception, Http404):
            return problem_response(404, "not_found", "No such resource.")
        logger.exception("unhandled error on %s", request.path)
        return problem_response(500, "internal_error", "An unexpected error occurred; it has been logged.")
