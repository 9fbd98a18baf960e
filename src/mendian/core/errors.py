"""Domain errors and their problem+json form (RFC 9457). Every API error carries a stable `code`."""

from http import HTTPStatus

from django.http import JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"


class DomainError(Exception):
    """An expected failure a client can act on. Services raise it; the API layer renders it."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str = "", *, code: str | None = None, status: int | None = None, errors=None):
        super().__init__(detail or code or self.code)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status
        self.errors = errors


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, detail: str = "", *, retry_after: int = 60, **kwargs):
        super().__init__(detail or "Too many requests, try again later.", **kwargs)
        self.retry_after = retry_after


def problem_response(
    status: int, code: str, detail: str = "", *, title: str | None = None, errors=None, headers=None
) -> JsonResponse:
    body = {
        "type": f"https://mendian.dev/problems/{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    response = JsonResponse(
        body, status=status, content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False}
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def domain_error_response(exc: DomainError) -> JsonResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return problem_response(exc.status, exc.code, exc.detail, errors=exc.errors, headers=headers)
