"""Idempotency-Key for POSTs that create orders, payments, refunds and stock events.

Same key + same body (and path) → the first reply, same status and body. Same key + another body →
409 idempotency_key_reused. A repeat while the first is still running → 409
idempotency_request_in_progress. A 5xx is not kept, so a retry after an outage runs once more.
"""

import functools
import hashlib
from contextlib import nullcontext

from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone

from mendian.core import rows
from mendian.core.errors import Conflict, DomainError, ValidationFailed, domain_error_response
from mendian.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.get_full_path().encode())
    digest.update(b"\n")
    digest.update(request.body or b"")
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.status_code,
        content_type=record.content_type or "application/json",
    )
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(scope_of):
    """Decorate a view (request first) whose reply must be replayable. `scope_of(request)` names the
    client (e.g. "customer:12"), so keys of different clients never collide.

    With ninja, apply it through `ninja.decorators.decorate_view` and have the view return an
    HttpResponse (the exact bytes are what gets replayed)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if not key:
                return view(request, *args, **kwargs)
            if len(key) > MAX_KEY_LENGTH or not key.isprintable():
                raise ValidationFailed(
                    "Idempotency-Key must be at most 255 printable characters.",
                    code="invalid_idempotency_key",
                )
            scope = scope_of(request)
            request_hash = _request_hash(request)
            try:
                record = IdempotencyRecord(
                    scope=scope,
                    key=key,
                    method=request.method,
                    path=request.path[:255],
                    request_hash=request_hash,
                )
                # Outside a transaction the INSERT commits by itself (one round trip fewer); inside
                # one, a savepoint keeps that transaction usable after a conflict.
                with transaction.atomic() if connection.in_atomic_block else nullcontext():
                    rows.insert([record])
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
                if existing is None:  # released by a failed first attempt in between
                    return wrapper(request, *args, **kwargs)
                if existing.request_hash != request_hash:
                    raise Conflict(
                        "This Idempotency-Key was used with another request.", code="idempotency_key_reused"
                    ) from None
                if existing.status_code is None:
                    raise Conflict(
                        "A request with this Idempotency-Key is still being processed.",
                        code="idempotency_request_in_progress",
                    ) from None
                return _replay(existing)

            try:
                response = view(request, *args, **kwargs)
            except DomainError as exc:
                # An expected refusal (409 out_of_stock, 422 …) is a stable reply: keep it.
                response = domain_error_response(exc)
            except Exception:
                # Errors that are not a stable reply (crashes, outages): free the key for a retry.
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
                raise
            if response.status_code >= 500:
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
                return response
            rows.update(
                IdempotencyRecord,
                record.pk,
                status_code=response.status_code,
                response_body=response.content,
                content_type=response.get("Content-Type", "application/json"),
                completed_at=timezone.now(),
            )
            return response

        return wrapper

    return decorate
