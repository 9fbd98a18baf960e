"""The open API's authenticator: HMAC-signed requests (see `signing`). `request.auth` is the ApiKey,
its merchant joined; every endpoint of `/api/open/v1` goes through it."""

import contextlib

from django.core.exceptions import RequestDataTooBig
from django.utils.encoding import escape_uri_path
from ninja.security.base import AuthBase

from mendian.core.errors import DomainError
from mendian.integrations import services, signing
from mendian.integrations.models import ApiKey


def request_target(request) -> str:
    """PATH as the client sent it: `/api/open/v1/...` plus `?query` when there is one.

    The query is the raw QUERY_STRING, byte for byte (`get_full_path()` would re-escape some
    characters a client may legally send unescaped, such as `|`). The path comes decoded from the
    WSGI server and is re-escaped as Django does; the open API's paths (route names, store and SKU
    codes) are plain ASCII, so that is what was sent."""
    query = request.META.get("QUERY_STRING", "")
    if query and not query.isascii():
        # WSGI hands bytes over as latin-1; recover the UTF-8 text the client actually sent.
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            query = query.encode("latin-1").decode("utf-8")
    path = escape_uri_path(request.path_info)  # from /api/open/v1, whatever SCRIPT_NAME a proxy adds
    return f"{path}?{query}" if query else path


class SignedRequestAuth(AuthBase):
    """X-Mendian-Key / -Timestamp / -Nonce / -Signature. Failures raise 401 with the contract's codes
    (`invalid_signature`, `timestamp_out_of_window`, `nonce_reused`)."""

    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = signing.KEY_HEADER
    openapi_description = (
        "HMAC-SHA256 signed request: send X-Mendian-Key, X-Mendian-Timestamp (unix seconds, ±300 s), "
        "X-Mendian-Nonce (unique for 10 minutes) and X-Mendian-Signature = hex HMAC-SHA256 of "
        "METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nhex(sha256(body)) keyed with the key's secret."
    )

    def __call__(self, request) -> ApiKey:
        headers = request.headers
        try:
            body = request.body
        except RequestDataTooBig:
            raise DomainError(
                "The request body is too large.", code="payload_too_large", status=413
            ) from None
        api_key = services.api_request_verify(
            key_id=headers.get(signing.KEY_HEADER),
            timestamp=headers.get(signing.TIMESTAMP_HEADER),
            nonce=headers.get(signing.NONCE_HEADER),
            signature=headers.get(signing.SIGNATURE_HEADER),
            method=request.method,
            path=request_target(request),
            body=body,
        )
        request.api_key = api_key
        return api_key
