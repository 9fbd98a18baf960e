"""ninja authenticators. Staff auth yields an Actor; member auth yields the Customer."""

from django.conf import settings
from ninja.security import HttpBearer
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from mendian.accounts.models import TokenKind
from mendian.accounts.tokens import token_resolve
from mendian.core.errors import Forbidden
from mendian.core.scope import Actor


def bearer_token(request) -> str:
    """The raw bearer token of the request, or ""."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


_RESOLVED_MEMBER = "_mendian_member"


def member_for_request(request, token: str | None = None):
    """The Customer of the request's access token (or of `token`), or None; looked up once per
    request and token, so a wrapper that needs the customer before ninja authenticates (e.g. the
    idempotency key's scope) does not cost a second lookup."""
    token = bearer_token(request) if token is None else token
    cached = getattr(request, _RESOLVED_MEMBER, None)
    if cached is not None and cached[0] == token:
        return cached[1]
    resolved = token_resolve(token, TokenKind.ACCESS) if token else None
    customer = resolved.customer if resolved is not None else None
    setattr(request, _RESOLVED_MEMBER, (token, customer))
    return customer


class MemberAuth(HttpBearer):
    """Consumer access token. `request.auth` is the Customer."""

    def authenticate(self, request, token):
        customer = member_for_request(request, token)
        if customer is None:
            return None
        request.customer = customer
        return customer


class OptionalMemberAuth(MemberAuth):
    """Public endpoints that show more (member prices) to a signed-in member."""

    def __call__(self, request):
        customer = None
        token = bearer_token(request)
        if token:
            customer = self.authenticate(request, token)
        request.customer = customer
        return customer or True


def _staff_actor(request) -> Actor | None:
    token = bearer_token(request)
    if token:
        resolved = token_resolve(token, TokenKind.STAFF)
        if resolved is None:
            return None
        staff = resolved.staff
    else:
        # Web sessions of the consoles (same-origin htmx calls); CSRF applies to these.
        staff = getattr(request, "user", None)
        if staff is None or not staff.is_authenticated:
            return None
        if settings.REQUIRE_MFA and staff.is_hq and not request.user.is_verified():
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf_failure = check_csrf(request)
            if csrf_failure:
                raise Forbidden("CSRF verification failed.", code="csrf_failed")
    request.staff = staff
    return Actor.for_staff(staff)


class StaffAuth(AuthBase):
    """Any staff role; `request.auth` is the Actor."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request):
        return _staff_actor(request)


class HqAuth(StaffAuth):
    """HQ roles only: store staff get 403, not 401."""

    def __call__(self, request):
        actor = _staff_actor(request)
        if actor is None:
            return None
        if not actor.can("hq.access"):
            raise Forbidden("This is for headquarters roles only.")
        return actor
