"""ninja schemas of sign-in, the member profile and staff. Ids are strings; no secret ever goes out."""

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from mendian.core.scope import Role


class StrictBody(Schema):
    """Request bodies refuse unknown fields: `role` or `merchant_id` cannot ride along unnoticed."""

    model_config = ConfigDict(extra="forbid")


class SmsCodeCreate(StrictBody):
    phone: str = Field(..., max_length=32)


class SmsLogin(StrictBody):
    phone: str = Field(..., max_length=32)
    code: str = Field(..., max_length=16)


class WechatLogin(StrictBody):
    code: str = Field(..., min_length=1, max_length=128)


class TokenRefresh(StrictBody):
    refresh_token: str = Field(..., max_length=100)


class MemberBrief(Schema):
    id: str
    phone_masked: str
    level: str


class MemberTokens(Schema):
    access_token: str
    refresh_token: str
    expires_in: int
    member: MemberBrief


class MerchantBrief(Schema):
    id: str
    code: str
    name: str


class MeRead(Schema):
    id: str
    phone_masked: str
    nickname: str
    level: str
    merchant: MerchantBrief | None = None


class SmsOutboxItem(Schema):
    phone: str
    code: str
    sent_at: datetime


class SmsOutboxRead(Schema):
    items: list[SmsOutboxItem]


class StaffLogin(StrictBody):
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=256)
    otp: str | None = Field(None, max_length=16)


class StaffBrief(Schema):
    id: str
    role: str
    merchant_id: str | None
    store_id: str | None = None


class StaffToken(Schema):
    access_token: str
    expires_in: int
    staff: StaffBrief


class StaffRead(Schema):
    id: str
    username: str
    display_name: str
    role: str
    merchant_id: str | None
    store_id: str | None
    is_active: bool
    mfa_enabled: bool
    locked: bool
    last_login: datetime | None
    created_at: datetime


class StaffList(Schema):
    items: list[StaffRead]
    next_cursor: str | None


class StaffCreate(StrictBody):
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=256)
    role: str = Field(..., description=", ".join(Role.ALL))
    display_name: str = Field("", max_length=64)
    store_id: str | int | None = Field(None, description="Required for store roles.")
    merchant_id: str | int | None = Field(None, description="Platform administrators only.")


class StaffUpdate(StrictBody):
    role: str | None = None
    store_id: str | int | None = None
    merchant_id: str | int | None = Field(None, description="Platform administrators only.")
    is_active: bool | None = None
    password: str | None = Field(None, max_length=256, description="Resets the password; ends all sessions.")
    display_name: str | None = Field(None, max_length=64)
