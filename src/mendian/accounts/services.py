"""Every write of the accounts app: customer sign-in (SMS, WeChat), staff sign-in, MFA, staff management."""

import hmac
import logging
import math
import re
import secrets
from datetime import timedelta
from typing import Any, NamedTuple

import segno
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from mendian.accounts.errors import AccountLocked, NotConfigured, ProviderUnavailable
from mendian.accounts.models import AuthToken, Customer, SandboxSms, SmsCode, Staff, WechatSession
from mendian.accounts.net import rate_limit_subject
from mendian.accounts.ratelimit import Limit, limits_take
from mendian.accounts.selectors import staff_needs_mfa_enrolment
from mendian.accounts.sms import sms_backend
from mendian.accounts.tokens import customer_tokens_issue, staff_token_issue, token_revoke
from mendian.accounts.wechat import jscode2session, wechat_configured
from mendian.core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from mendian.core.pii import blind_index, mask_phone, normalize_phone
from mendian.core.scope import Actor, Role
from mendian.merchants.models import Merchant
from mendian.stores.models import Store

logger = logging.getLogger("mendian.accounts")

SMS_CODE_TTL = timedelta(minutes=5)
SMS_CODE_MAX_ATTEMPTS = 5
SMS_PURPOSE_LOGIN = "login"

SMS_SEND_PHONE_COOLDOWN = Limit(
    "sms_send:phone:cooldown",
    1,
    60,
    cooldown=True,
    message="A code was just sent to this number; wait a minute.",
)
SMS_SEND_PHONE_DAILY = Limit(
    "sms_send:phone:day", 10, 24 * 3600, message="Too many codes for this number today."
)
SMS_SEND_IP_HOURLY = Limit(
    "sms_send:ip:hour", 20, 3600, message="Too many codes requested from this network."
)
SMS_LOGIN_PHONE = Limit("sms_login:phone", 20, 3600, message="Too many sign-in attempts for this number.")
SMS_LOGIN_IP = Limit("sms_login:ip", 100, 3600, message="Too many sign-in attempts from this network.")
WECHAT_LOGIN_IP = Limit("wechat_login:ip", 60, 600, message="Too many sign-in attempts from this network.")
STAFF_LOGIN_IP = Limit("staff_login:ip", 30, 900, message="Too many sign-in attempts from this network.")
STAFF_LOGIN_USERNAME = Limit(
    "staff_login:user", 10, 900, message="Too many sign-in attempts for this account."
)

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
DISPLAY_NAME_MAX = 64
WECHAT_CODE_MAX = 128


class _Unset:
    """A keyword default meaning "not given", so that `None` can mean "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


# --- customers -----------------------------------------------------------------------------------------


def _normalized_phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValueError as exc:
        raise ValidationFailed(
            "Enter a mainland China mobile number.",
            code="invalid_phone",
            errors=[{"loc": ["body", "phone"], "msg": "not a mainland China mobile number"}],
        ) from exc


def sms_codes_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete login codes (and sandbox messages) that expired more than `older_than` ago; returns how many."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        codes, _ = SmsCode.objects.filter(expires_at__lt=cutoff).delete()
        messages, _ = SandboxSms.objects.filter(sent_at__lt=cutoff - SMS_CODE_TTL).delete()
    return codes + messages


def _sms_code_hash(phone_hash: str, code: str) -> str:
    return blind_index(f"{phone_hash}:{code}", purpose="sms_code")


def sms_code_send(*, phone: str, ip: str) -> None:
    """Send a 6-digit login code. Limits: one a minute and ten a day per phone, twenty an hour per IP.

    The gateway is called before anything is stored: if it fails, no code row exists and the rate-limit
    units are given back, so the customer can simply try again.
    """
    phone = _normalized_phone(phone)
    phone_hash = blind_index(phone)
    backend = sms_backend()
    taken = limits_take(
        (SMS_SEND_PHONE_COOLDOWN, phone_hash),
        (SMS_SEND_PHONE_DAILY, phone_hash),
        (SMS_SEND_IP_HOURLY, rate_limit_subject(ip)),
    )
    code = f"{secrets.randbelow(10**6):06d}"
    try:
        backend.send_code(phone=phone, code=code)
    except ProviderUnavailable:
        taken.release()
        raise
    with transaction.atomic():
        SmsCode.objects.create(
            phone_hash=phone_hash,
            code_hash=_sms_code_hash(phone_hash, code),
            purpose=SMS_PURPOSE_LOGIN,
            expires_at=timezone.now() + SMS_CODE_TTL,
        )


class _CodeCheck(NamedTuple):
    problem: str | None
    costs_a_try: bool = False


def _sms_code_check(sms: SmsCode | None, code: str, now) -> _CodeCheck:
    """Whether `code` signs in; if not, why (a sentence for the client) and whether it used up a try."""
    if sms is None or sms.used_at is not None:
        return _CodeCheck("No valid code for this number; request a new one.")
    if sms.expires_at <= now:
        return _CodeCheck("The code has expired; request a new one.")
    if sms.attempts >= SMS_CODE_MAX_ATTEMPTS:
        return _CodeCheck("Too many wrong codes; request a new one.")
    if not hmac.compare_digest(sms.code_hash, _sms_code_hash(sms.phone_hash, code)):
        return _CodeCheck("The code is wrong.", costs_a_try=True)
    return _CodeCheck(None)


def _customer_for_phone(*, phone: str, phone_hash: str) -> tuple[Customer, bool]:
    customer = Customer.objects.filter(phone_hash=phone_hash).first()
    if customer is not None:
        return customer, False
    try:
        with transaction.atomic():
            return Customer.objects.create(phone=phone, phone_hash=phone_hash), True
    except IntegrityError:  # a concurrent first sign-in with the same phone won
        return Customer.objects.get(phone_hash=phone_hash), False


def _check_customer_active(customer: Customer) -> None:
    if not customer.is_active:
        raise Forbidden("This account is disabled.", code="account_disabled")


def customer_get_or_create(*, phone: str) -> tuple[Customer, bool]:
    """The customer with this phone, created on first sight (phone encrypted, found by its blind index)."""
    phone = _normalized_phone(phone)
    with transaction.atomic():
        return _customer_for_phone(phone=phone, phone_hash=blind_index(phone))


def customer_login_with_sms(*, phone: str, code: str, ip: str) -> tuple[Customer, dict]:
    """Check the latest code sent to `phone`; sign in (creating the customer on first login).

    Only the newest code counts, once, within five minutes and five tries. A wrong code uses up a try
    even though the call fails, so the attempt counter is written before the error is raised.
    """
    phone = _normalized_phone(phone)
    phone_hash = blind_index(phone)
    limits_take((SMS_LOGIN_PHONE, phone_hash), (SMS_LOGIN_IP, rate_limit_subject(ip)))
    code = (code or "").strip()
    now = timezone.now()
    with transaction.atomic():
        sms = (
            SmsCode.objects.select_for_update()
            .filter(phone_hash=phone_hash, purpose=SMS_PURPOSE_LOGIN)
            .order_by("-created_at", "-id")
            .first()
        )
        check = _sms_code_check(sms, code, now)
        if check.problem is None:
            customer, created = _customer_for_phone(phone=phone, phone_hash=phone_hash)
            _check_customer_active(customer)
            SmsCode.objects.filter(phone_hash=phone_hash, used_at__isnull=True).update(used_at=now)
            Customer.objects.filter(pk=customer.pk).update(last_login_at=now)
            customer.last_login_at = now
            tokens = customer_tokens_issue(customer=customer)
        elif check.costs_a_try:
            SmsCode.objects.filter(pk=sms.pk).update(attempts=F("attempts") + 1)
    if check.problem is not None:
        raise ValidationFailed(check.problem, code="invalid_code")
    logger.info(
        "customer %s signed in by sms (%s)%s", customer.pk, mask_phone(phone), " [new]" if created else ""
    )
    return customer, tokens


def customer_login_with_wechat(*, code: str, ip: str) -> tuple[Customer, dict]:
    """Exchange a `wx.login` code for the openid; sign in the customer with that openid (created on first)."""
    if not wechat_configured():
        raise NotConfigured("WeChat login is not configured on this server.", code="wechat_not_configured")
    code = (code or "").strip()
    if not code or len(code) > WECHAT_CODE_MAX:
        raise ValidationFailed("The WeChat login code is invalid or expired.", code="invalid_code")
    limits_take((WECHAT_LOGIN_IP, rate_limit_subject(ip)))
    identity = jscode2session(code)
    openid_hash = blind_index(identity.openid, purpose="wechat_openid")
    unionid_hash = blind_index(identity.unionid, purpose="wechat_unionid") if identity.unionid else ""
    now = timezone.now()
    with transaction.atomic():
        customer = Customer.objects.filter(wechat_openid_hash=openid_hash).first()
        created = False
        if customer is None:
            try:
                with transaction.atomic():
                    customer = Customer.objects.create(
                        wechat_openid=identity.openid, wechat_openid_hash=openid_hash
                    )
                    created = True
            except IntegrityError:
                customer = Customer.objects.get(wechat_openid_hash=openid_hash)
        _check_customer_active(customer)
        WechatSession.objects.update_or_create(
            customer=customer, defaults={"session_key": identity.session_key, "unionid_hash": unionid_hash}
        )
        Customer.objects.filter(pk=customer.pk).update(last_login_at=now)
        customer.last_login_at = now
        tokens = customer_tokens_issue(customer=customer)
    logger.info("customer %s signed in by wechat%s", customer.pk, " [new]" if created else "")
    return customer, tokens


def customer_logout(*, access_token: str) -> None:
    """The token's family (this access token and its refresh token) stops working."""
    with transaction.atomic():
        token_revoke(raw=access_token)


# --- staff sign-in -------------------------------------------------------------------------------------


def _invalid_credentials() -> Unauthorized:
    return Unauthorized("Wrong username or password.", code="invalid_credentials")


def _lockout_seconds() -> int:
    return settings.STAFF_LOCKOUT_MINUTES * 60


def _staff_login_failed(staff: Staff, now) -> bool:
    """Count one failure; the threshold-th in a row locks the account. True when this one locked it.

    One UPDATE decides, so concurrent failures can neither be lost nor lock twice.
    """
    reaches_threshold = When(failed_logins__gte=settings.STAFF_LOCKOUT_THRESHOLD - 1, then=Value(0))
    lock_until = now + timedelta(seconds=_lockout_seconds())
    with transaction.atomic():
        Staff.objects.filter(pk=staff.pk).update(
            failed_logins=Case(reaches_threshold, default=F("failed_logins") + 1),
            locked_until=Case(
                When(
                    failed_logins__gte=settings.STAFF_LOCKOUT_THRESHOLD - 1,
                    then=Value(lock_until, output_field=DateTimeField()),
                ),
                default=F("locked_until"),
            ),
        )
        return Staff.objects.filter(pk=staff.pk, locked_until=lock_until).exists()


def _locked_error(seconds: int) -> AccountLocked:
    return AccountLocked(
        f"Too many failed sign-ins; the account is locked for {math.ceil(seconds / 60)} minutes.",
        retry_after=max(1, seconds),
    )


def staff_authenticate(*, username: str, password: str, otp: str | None = None, ip: str) -> Staff:
    """Check password (Argon2), lockout and TOTP. Returns the staff member; raises on any failure.

    - unknown usernames cost a full password hash too, so timing does not tell which names exist;
    - `STAFF_LOCKOUT_THRESHOLD` consecutive failures (wrong password or wrong one-time code) lock the
      account for `STAFF_LOCKOUT_MINUTES`: `423 account_locked`;
    - with a confirmed TOTP device, `otp` is needed: `401 otp_required` without it, `401 invalid_otp`
      when wrong.
    """
    username = (username or "").strip()
    limits_take(
        (STAFF_LOGIN_IP, rate_limit_subject(ip)),
        (STAFF_LOGIN_USERNAME, blind_index(username.lower(), purpose="staff_username")),
    )
    now = timezone.now()
    staff = Staff.objects.filter(username=username).first() if username else None
    if staff is None:
        Staff().set_password(password or "")
        raise _invalid_credentials()
    if staff.locked_until is not None and staff.locked_until > now:
        raise _locked_error(math.ceil((staff.locked_until - now).total_seconds()))
    password_ok = staff.check_password(password or "")
    if not password_ok:
        if _staff_login_failed(staff, now):
            logger.warning("staff %s locked out after failed sign-ins", staff.pk)
            raise _locked_error(_lockout_seconds())
        raise _invalid_credentials()
    if not staff.is_active:
        raise _invalid_credentials()
    devices = list(TOTPDevice.objects.devices_for_user(staff, confirmed=True))
    if devices:
        if not otp:
            raise Unauthorized("Enter the code from your authenticator app.", code="otp_required")
        if not any(device.verify_token(otp.strip()) for device in devices):
            if _staff_login_failed(staff, now):
                raise _locked_error(_lockout_seconds())
            raise Unauthorized("The authenticator code is wrong.", code="invalid_otp")
    with transaction.atomic():
        Staff.objects.filter(pk=staff.pk).update(failed_logins=0, locked_until=None, last_login=now)
    staff.failed_logins, staff.locked_until, staff.last_login = 0, None, now
    return staff


def staff_login(*, username: str, password: str, otp: str | None = None, ip: str) -> tuple[Staff, dict]:
    """The staff API's sign-in: authenticate, insist on MFA enrolment where required, issue a token."""
    staff = staff_authenticate(username=username, password=password, otp=otp, ip=ip)
    if staff_needs_mfa_enrolment(staff):
        raise Forbidden(
            "Set up an authenticator app in the HQ console before using the API.",
            code="mfa_enrolment_required",
        )
    with transaction.atomic():
        token = staff_token_issue(staff=staff)
    return staff, token


def staff_logout(*, token: str) -> None:
    with transaction.atomic():
        token_revoke(raw=token)


class TotpEnrolment(NamedTuple):
    device: TOTPDevice
    otpauth_url: str
    qr_svg: str


def totp_enrol_begin(*, staff: Staff) -> TotpEnrolment:
    """A new, unconfirmed TOTP device (replacing any unconfirmed one) with its otpauth URL and QR code."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=staff, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=staff, name="Mendian", confirmed=False)
    url = device.config_url
    qr_svg = segno.make(url, error="m").svg_inline(scale=4, title="TOTP")
    return TotpEnrolment(device=device, otpauth_url=url, qr_svg=qr_svg)


def totp_enrol_confirm(*, staff: Staff, token: str) -> TOTPDevice:
    """Confirm the pending device with a code from the app; from then on sign-in needs a code."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=staff, confirmed=False).order_by("-id").first()
        )
        if device is None:
            raise Conflict("Start the authenticator set-up first.", code="enrolment_not_started")
        verified = device.verify_token((token or "").strip())
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
    if not verified:
        raise ValidationFailed("The authenticator code is wrong.", code="invalid_otp")
    return device


# --- staff management ----------------------------------------------------------------------------------


def _field_error(field: str, detail: str, code: str) -> ValidationFailed:
    return ValidationFailed(detail, code=code, errors=[{"loc": ["body", field], "msg": detail}])


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise _field_error(
            "username",
            "Use 3-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit.",
            "invalid_username",
        )
    return username


def _check_display_name(display_name: str) -> str:
    display_name = (display_name or "").strip()
    if len(display_name) > DISPLAY_NAME_MAX:
        raise _field_error("display_name", f"At most {DISPLAY_NAME_MAX} characters.", "validation_error")
    return display_name


def _check_password_strength(password: str, staff: Staff) -> None:
    try:
        validate_password(password or "", user=staff)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "The password is too weak.",
            code="weak_password",
            errors=[{"loc": ["body", "password"], "msg": str(message)} for message in exc.messages],
        ) from exc


def _check_merchant_given_by_platform(actor: Actor, merchant: Merchant | None) -> None:
    if merchant is not None and not actor.is_platform:
        raise _field_error(
            "merchant_id", "Only platform administrators choose the merchant.", "validation_error"
        )


def _staff_scope(
    *, actor: Actor, role: str, merchant_id: int | None, store: Store | None, merchant_explicit: bool
) -> tuple[int | None, Store | None]:
    """The (merchant_id, store) a staff member of `role` gets, checked against what `actor` may grant."""
    if role not in Role.ALL:
        raise _field_error("role", f"Role must be one of {', '.join(Role.ALL)}.", "invalid_role")
    if role == Role.PLATFORM_ADMIN:
        if not actor.is_platform:
            raise Forbidden("Only platform administrators can grant the platform administrator role.")
        if store is not None or (merchant_explicit and merchant_id is not None):
            raise _field_error(
                "role", "A platform administrator belongs to no merchant or store.", "invalid_scope"
            )
        return None, None
    if role in Role.HQ:
        if store is not None:
            raise _field_error("store_id", "A merchant administrator has no store.", "invalid_scope")
        if merchant_id is None:
            raise _field_error(
                "merchant_id", "Name the merchant this administrator belongs to.", "merchant_required"
            )
        actor.check_merchant(merchant_id)
        return merchant_id, None
    if store is None:
        raise _field_error("store_id", "Store roles need a store.", "store_required")
    actor.check_store(store)
    if merchant_explicit and merchant_id is not None and store.merchant_id != merchant_id:
        raise _field_error("store_id", "The store belongs to another merchant.", "invalid_scope")
    return store.merchant_id, store


def staff_create(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    store: Store | None = None,
    merchant: Merchant | None = None,
    display_name: str = "",
) -> Staff:
    """A new staff member within the actor's scope.

    A merchant administrator creates staff of its own merchant only (never a platform administrator) and
    cannot pick the merchant; store roles need a store of that merchant; store roles cannot manage staff.
    """
    actor.require("staff.manage")
    _check_merchant_given_by_platform(actor, merchant)
    # Without an explicit merchant, staff land in the actor's own (none for a platform administrator).
    merchant_id = merchant.pk if merchant is not None else actor.merchant_id
    merchant_id, store = _staff_scope(
        actor=actor, role=role, merchant_id=merchant_id, store=store, merchant_explicit=merchant is not None
    )
    username = _check_username(username)
    staff = Staff(
        username=username,
        display_name=_check_display_name(display_name),
        role=role,
        merchant_id=merchant_id,
        store=store,
    )
    _check_password_strength(password, staff)
    staff.set_password(password)
    if Staff.objects.filter(username__iexact=username).exists():
        raise Conflict("That username is taken.", code="username_taken")
    try:
        with transaction.atomic():
            staff.save()
    except IntegrityError as exc:
        if Staff.objects.filter(username__iexact=username).exists():
            raise Conflict("That username is taken.", code="username_taken") from exc
        raise
    logger.info("staff %s (%s) created by %s", staff.pk, role, actor.label or actor.staff_id)
    return staff


def _check_staff_in_scope(actor: Actor, staff: Staff) -> None:
    if staff.role == Role.PLATFORM_ADMIN and not actor.is_platform:
        raise NotFound("No such staff member.")
    if staff.merchant_id is not None:
        actor.check_merchant(staff.merchant_id)
    if actor.is_store_level and staff.store_id != actor.store_id:
        raise NotFound("No such staff member.")


def staff_update(
    *,
    actor: Actor,
    staff: Staff,
    role: str = UNSET,
    store: Store | None = UNSET,
    merchant: Merchant | None = UNSET,
    is_active: bool = UNSET,
    password: str = UNSET,
    display_name: str = UNSET,
) -> Staff:
    """Change role, store, merchant (platform only), active flag, display name, or reset the password.

    Arguments left out stay as they are. Staff cannot change their own role, scope or active flag (no
    accidental self-lockout of the last administrator). A password reset or a deactivation ends every
    session of that staff member.
    """
    actor.require("staff.manage")
    _check_staff_in_scope(actor, staff)
    changes_scope = role is not UNSET or store is not UNSET or merchant is not UNSET
    if staff.pk == actor.staff_id and (changes_scope or is_active is not UNSET):
        raise ValidationFailed("You cannot change your own role, store or status.", code="cannot_modify_self")
    if merchant is not UNSET:
        _check_merchant_given_by_platform(actor, merchant)
    fields: list[str] = []
    if changes_scope:
        new_role = staff.role if role is UNSET else role
        # A store role keeps its store unless told otherwise; HQ roles have none.
        new_store = store if store is not UNSET else (staff.store if new_role in Role.STORE else None)
        if merchant is not UNSET and merchant is not None:
            merchant_id, explicit = merchant.pk, True
        elif merchant is not UNSET:  # an explicit null: only a platform administrator has none
            merchant_id, explicit = None, True
        else:
            merchant_id, explicit = staff.merchant_id, False
        merchant_id, new_store = _staff_scope(
            actor=actor, role=new_role, merchant_id=merchant_id, store=new_store, merchant_explicit=explicit
        )
        staff.role, staff.merchant_id, staff.store = new_role, merchant_id, new_store
        fields += ["role", "merchant", "store"]
    if display_name is not UNSET:
        staff.display_name = _check_display_name(display_name)
        fields.append("display_name")
    ends_sessions = False
    if password is not UNSET:
        _check_password_strength(password, staff)
        staff.set_password(password)
        staff.failed_logins, staff.locked_until = 0, None
        fields += ["password", "failed_logins", "locked_until"]
        ends_sessions = True
    if is_active is not UNSET:
        staff.is_active = bool(is_active)
        fields.append("is_active")
        ends_sessions = ends_sessions or not staff.is_active
    if not fields:
        return staff
    with transaction.atomic():
        staff.save(update_fields=fields)
        if ends_sessions:
            AuthToken.objects.filter(staff=staff, revoked_at__isnull=True).update(revoked_at=timezone.now())
    logger.info(
        "staff %s updated (%s) by %s", staff.pk, ",".join(sorted(set(fields))), actor.label or actor.staff_id
    )
    return staff


def staff_deactivate(*, actor: Actor, staff: Staff) -> Staff:
    return staff_update(actor=actor, staff=staff, is_active=False)
