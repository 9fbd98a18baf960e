"""The CSP middleware builds the settings' policy once and otherwise behaves as django-csp's."""

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE, SELF
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCspMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from mendian.core.middleware import CSPMiddleware


def _respond(middleware_class, *, prepare=None, use_nonce=False, path="/"):
    request = RequestFactory().get(path)

    def view(request):
        response = HttpResponse("ok")
        if use_nonce:
            response.content = str(request.csp_nonce).encode()
        if prepare:
            prepare(response)
        return response

    response = middleware_class(view)(request)
    return request, response


def test_the_default_policy_is_django_csps():
    _, ours = _respond(CSPMiddleware)
    _, theirs = _respond(DjangoCspMiddleware)
    assert ours[HEADER] == theirs[HEADER]
    assert "frame-ancestors 'none'" in ours[HEADER]
    assert HEADER_REPORT_ONLY not in ours


@override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"script-src": [SELF, NONCE]}})
def test_a_nonce_goes_into_that_responses_header_only():
    _, with_nonce = _respond(CSPMiddleware, use_nonce=True)
    nonce = with_nonce.content.decode()
    assert f"script-src 'self' 'nonce-{nonce}'" in with_nonce[HEADER]
    _, plain = _respond(CSPMiddleware)
    assert "script-src 'self'" in plain[HEADER] and "nonce-" not in plain[HEADER]


def test_view_overrides_and_exemptions_are_honoured():
    def update(response):
        response._csp_update = {"img-src": ["https://cdn.example.com"]}

    _, updated = _respond(CSPMiddleware, prepare=update)
    assert "https://cdn.example.com" in updated[HEADER]
    _, exempt = _respond(CSPMiddleware, prepare=lambda response: setattr(response, "_csp_exempt", True))
    assert HEADER not in exempt
    _, preset = _respond(
        CSPMiddleware, prepare=lambda response: response.__setitem__(HEADER, "default-src *")
    )
    assert preset[HEADER] == "default-src *"


def test_a_nonce_asked_for_after_the_header_is_an_error():
    request, _ = _respond(CSPMiddleware)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_changed_settings_are_picked_up():
    _respond(CSPMiddleware)
    with override_settings(
        CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}},
        CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"default-src": ["'self'"]}},
    ):
        _, response = _respond(CSPMiddleware)
        assert response[HEADER] == "default-src 'none'"
        assert response[HEADER_REPORT_ONLY] == "default-src 'self'"  # built with the new settings
    _, response = _respond(CSPMiddleware)
    assert "frame-ancestors 'none'" in response[HEADER]
