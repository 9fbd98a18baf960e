"""Opaque bearer tokens: issue, resolve, refresh (with reuse detection), revoke."""

import hashlib
import secrets
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from mendian.accounts.models import AuthToken, Customer, Staff, TokenKind
from mendian.core import rows
from mendian.core.errors import Unauthorized

_PREFIX = {TokenKind.ACCESS: "mda_", TokenKind.REFRESH: "mdr_", TokenKind.STAFF: "mds_"}


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new(kind: str, ttl: int, family: str, **owner) -> tuple[str, AuthToken]:
    raw = _PREFIX[kind] + secrets.token_urlsafe(32)
    token = AuthToken.objects.create(
        kind=kind,
        token_hash=_hash(raw),
        family=family,
        expires_at=timezone.now() + timedelta(seconds=ttl),
        **owner,
    )
    return raw, token


def customer_tokens_issue(*, customer: Customer, family: str | None = None) -> dict:
    family = family or secrets.token_hex(16)
    access, _ = _new(TokenKind.ACCESS, settings.ACCESS_TOKEN_TTL, family, customer=customer)
    refresh, _ = _new(TokenKind.REFRESH, settings.REFRESH_TOKEN_TTL, family, customer=customer)
    return {"access_token": access, "refresh_token": refresh, "expires_in": settings.ACCESS_TOKEN_TTL}


def staff_token_issue(*, staff: Staff) -> dict:
    raw, _ = _new(TokenKind.STAFF, settings.STAFF_TOKEN_TTL, secrets.token_hex(16), staff=staff)
    return {"access_token": raw, "expires_in": settings.STAFF_TOKEN_TTL}


@cache
def _resolve_sql(owner: type[Customer] | type[Staff]) -> str:
    fk = "staff_id" if owner is Staff else "customer_id"
    return (
        f"SELECT {rows.columns(AuthToken, 't')}, {rows.columns(owner, 'o')} "  # noqa: S608 - no values
        f"FROM {rows.table(AuthToken)} t JOIN {rows.table(owner)} o ON o.id = t.{fk} "
        "WHERE t.token_hash = %s AND t.kind = %s AND t.revoked_at IS NULL AND t.expires_at > %s"
    )


def token_resolve(raw: str, kind: str) -> AuthToken | None:
    """The live token row (with its owner joined) or None. Hand-written SQL: every authenticated
    request runs it."""
    if not raw or not raw.startswith(_PREFIX[kind]) or len(raw) > 100:
        return None
    owner_model = Staff if kind == TokenKind.STAFF else Customer
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    found = rows.fetch(_resolve_sql(owner_model), [_hash(raw), kind, now])
    if not found:
        return None
    token = rows.instance(AuthToken, found[0])
    owner = rows.instance(owner_model, found[0], rows.width(AuthToken))
    if not owner.is_active:
        return None
    if owner_model is Staff:
        token.staff = owner
    else:
        token.customer = owner
    return token


def customer_tokens_refresh(*, refresh_token: str) -> tuple[Customer, dict]:
    """Rotate: the refresh token is spent; presenting a spent one revokes its whole family (theft).

    The family's revocation is committed before the error is raised: an exception inside the
    transaction would roll it back and leave the thief's tokens alive.
    """
    if (
        not refresh_token
        or not refresh_token.startswith(_PREFIX[TokenKind.REFRESH])
        or len(refresh_token) > 100
    ):
        raise Unauthorized("The refresh token is not valid.")
    reused = False
    with transaction.atomic():
        token = (
            # Lock the token row only: PostgreSQL refuses FOR UPDATE on the nullable side of the join.
            AuthToken.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(token_hash=_hash(refresh_token), kind=TokenKind.REFRESH)
            .first()
        )
        now = timezone.now()
        if token is None or token.revoked_at or token.expires_at <= now or not token.customer.is_active:
            raise Unauthorized("The refresh token is not valid.")
        if token.used_at is not None:
            AuthToken.objects.filter(family=token.family, revoked_at__isnull=True).update(revoked_at=now)
            reused = True
        else:
            token.used_at = now
            token.save(update_fields=["used_at"])
            # The access tokens of the old pair go too: one live pair per family.
            AuthToken.objects.filter(
                family=token.family, kind=TokenKind.ACCESS, revoked_at__isnull=True
            ).update(revoked_at=now)
            tokens = customer_tokens_issue(customer=token.customer, family=token.family)
    if reused:
        raise Unauthorized("The refresh token was already used; please sign in again.")
    return token.customer, tokens


def token_revoke(*, raw: str) -> None:
    """Sign-out: the token's whole family (access and refresh) stops working."""
    token = AuthToken.objects.filter(token_hash=_hash(raw)).first()
    if token:
        AuthToken.objects.filter(family=token.family, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
