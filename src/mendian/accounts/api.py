"""Sign-in and profile endpoints. Thin: parse, call one service or selector, shape the reply."""

from django.conf import settings
from django.contrib.auth import logout as session_logout
from django.utils import timezone
from ninja import Router, Status

from mendian.accounts import selectors, services
from mendian.accounts.auth import MemberAuth, bearer_token
from mendian.accounts.models import Customer, Staff
from mendian.accounts.net import client_ip
from mendian.accounts.schemas import (
    MemberTokens,
    MeRead,
    SmsCodeCreate,
    SmsLogin,
    SmsOutboxRead,
    StaffCreate,
    StaffList,
    StaffLogin,
    StaffRead,
    StaffToken,
    StaffUpdate,
    TokenRefresh,
    WechatLogin,
)
from mendian.accounts.tokens import customer_tokens_refresh
from mendian.core.errors import NotFound
from mendian.members.selectors import member_level, membership_merchant
from mendian.members.services import membership_get_or_create
from mendian.merchants.selectors import merchant_context

consumer = Router(tags=["auth"])
staff = Router(tags=["auth"])
hq = Router(tags=["staff"])


def _id(value) -> str | None:
    return None if value is None else str(value)


def _member_tokens(customer: Customer, tokens: dict, merchant) -> dict:
    return {
        **tokens,
        "member": {
            "id": str(customer.pk),
            "phone_masked": customer.phone_masked,
            "level": member_level(customer=customer, merchant=merchant),
        },
    }


# --- consumer ------------------------------------------------------------------------------------------


@consumer.post("/auth/sms-code", response={204: None}, summary="Send a login code by SMS")
def sms_code_create(request, data: SmsCodeCreate):
    services.sms_code_send(phone=data.phone, ip=client_ip(request))
    return Status(204, None)


@consumer.post("/auth/login", response=MemberTokens, summary="Sign in with phone and SMS code")
def login_with_sms(request, data: SmsLogin):
    merchant = membership_merchant(merchant_context(request))
    customer, tokens = services.customer_login_with_sms(
        phone=data.phone, code=data.code, ip=client_ip(request)
    )
    return _member_tokens(customer, tokens, merchant)


@consumer.post("/auth/wechat", response=MemberTokens, summary="Sign in with a wx.login code")
def login_with_wechat(request, data: WechatLogin):
    merchant = membership_merchant(merchant_context(request))
    customer, tokens = services.customer_login_with_wechat(code=data.code, ip=client_ip(request))
    return _member_tokens(customer, tokens, merchant)


@consumer.post("/auth/refresh", response=MemberTokens, summary="Trade a refresh token for a new pair")
def tokens_refresh(request, data: TokenRefresh):
    merchant = membership_merchant(merchant_context(request))
    customer, tokens = customer_tokens_refresh(refresh_token=data.refresh_token)
    return _member_tokens(customer, tokens, merchant)


@consumer.post(
    "/auth/logout", response={204: None}, auth=MemberAuth(), summary="Sign out (revokes the tokens)"
)
def logout(request):
    services.customer_logout(access_token=bearer_token(request))
    return Status(204, None)


@consumer.get("/me", response=MeRead, auth=MemberAuth(), summary="The signed-in member (masked)")
def me(request):
    customer: Customer = request.auth
    merchant = membership_merchant(merchant_context(request))
    level = "regular"
    if merchant is not None:
        membership, _ = membership_get_or_create(customer=customer, merchant=merchant)
        level = membership.level
    return {
        "id": str(customer.pk),
        "phone_masked": customer.phone_masked,
        "nickname": customer.nickname,
        "level": level,
        "merchant": None
        if merchant is None
        else {"id": str(merchant.pk), "code": merchant.code, "name": merchant.display_name},
    }


@consumer.get("/dev/sms-outbox", response=SmsOutboxRead, summary="Sandbox only: the SMS a gateway would send")
def sms_outbox(request, phone: str = ""):
    if not settings.SANDBOX:
        raise NotFound("No such resource.")
    phone = selectors.sandbox_phone(phone)
    return {
        "items": [
            {"phone": phone, "code": sms.code, "sent_at": sms.sent_at}
            for sms in selectors.sandbox_sms_outbox(phone=phone)
        ]
    }


# --- staff ---------------------------------------------------------------------------------------------


@staff.post("/auth/login", response=StaffToken, auth=None, summary="Staff sign-in (password, TOTP)")
def staff_login(request, data: StaffLogin):
    member, token = services.staff_login(
        username=data.username, password=data.password, otp=data.otp, ip=client_ip(request)
    )
    return {
        **token,
        "staff": {
            "id": str(member.pk),
            "role": member.role,
            "merchant_id": _id(member.merchant_id),
            "store_id": _id(member.store_id),
        },
    }


@staff.post("/auth/logout", response={204: None}, summary="Sign out")
def staff_logout(request):
    token = bearer_token(request)
    if token:
        services.staff_logout(token=token)
    else:
        session_logout(request)
    return Status(204, None)


def _staff_read(member: Staff, *, mfa_enabled: bool | None = None) -> dict:
    if mfa_enabled is None:
        mfa_enabled = getattr(member, "mfa_enabled", None)
    if mfa_enabled is None:
        mfa_enabled = selectors.staff_mfa_enrolled(member)
    return {
        "id": str(member.pk),
        "username": member.username,
        "display_name": member.display_name,
        "role": member.role,
        "merchant_id": _id(member.merchant_id),
        "store_id": _id(member.store_id),
        "is_active": member.is_active,
        "mfa_enabled": mfa_enabled,
        "locked": bool(member.locked_until and member.locked_until > timezone.now()),
        "last_login": member.last_login,
        "created_at": member.created_at,
    }


@staff.get("/me", response=StaffRead, summary="The signed-in staff member")
def staff_me(request):
    return _staff_read(request.staff)


# --- HQ: staff management ------------------------------------------------------------------------------


@hq.get("/staff", response=StaffList, summary="Staff in your scope")
def staff_list(
    request,
    role: str | None = None,
    store_id: str | None = None,
    is_active: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
):
    page = selectors.staff_list_for_actor(
        actor=request.auth, role=role, store_id=store_id, is_active=is_active, limit=limit, cursor=cursor
    )
    return {"items": [_staff_read(member) for member in page["items"]], "next_cursor": page["next_cursor"]}


@hq.get("/staff/{staff_id}", response=StaffRead, summary="One staff member")
def staff_get(request, staff_id: str):
    return _staff_read(selectors.staff_get_for_actor(actor=request.auth, staff_id=staff_id))


@hq.post("/staff", response={201: StaffRead}, summary="Create a staff member")
def staff_create(request, data: StaffCreate):
    actor = request.auth
    merchant = (
        selectors.merchant_for_staff_assignment(actor=actor, merchant_id=data.merchant_id)
        if data.merchant_id is not None
        else None
    )
    store = (
        selectors.store_for_staff_assignment(actor=actor, store_id=data.store_id)
        if data.store_id is not None
        else None
    )
    member = services.staff_create(
        actor=actor,
        username=data.username,
        password=data.password,
        role=data.role,
        store=store,
        merchant=merchant,
        display_name=data.display_name,
    )
    return Status(201, _staff_read(member, mfa_enabled=False))


@hq.patch("/staff/{staff_id}", response=StaffRead, summary="Change role, store, status or password")
def staff_update(request, staff_id: str, data: StaffUpdate):
    actor = request.auth
    member = selectors.staff_get_for_actor(actor=actor, staff_id=staff_id)
    given = data.model_dump(exclude_unset=True)
    changes = {
        key: given[key]
        for key in ("role", "is_active", "password", "display_name")
        if given.get(key) is not None
    }
    if "merchant_id" in given:
        changes["merchant"] = (
            selectors.merchant_for_staff_assignment(actor=actor, merchant_id=given["merchant_id"])
            if given["merchant_id"] is not None or not actor.is_platform
            else None
        )
    if "store_id" in given:
        changes["store"] = (
            selectors.store_for_staff_assignment(actor=actor, store_id=given["store_id"])
            if given["store_id"] is not None
            else None
        )
    member = services.staff_update(actor=actor, staff=member, **changes)
    return _staff_read(member)
