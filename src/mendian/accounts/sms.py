"""SMS gateways. `sms_backend()` picks one by `settings.SMS_BACKEND`: `sandbox` or `aliyun`.

A backend's `send_code(phone=..., code=...)` either delivers the message to the gateway or raises
`ProviderUnavailable(code="sms_send_failed")`; it never logs the phone in clear nor the code.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
from django.conf import settings

from mendian.accounts.errors import NotConfigured, ProviderUnavailable
from mendian.accounts.models import SandboxSms
from mendian.core.pii import blind_index, mask_phone

logger = logging.getLogger("mendian.sms")

SMS_TIMEOUT = httpx.Timeout(5.0, connect=3.0)


def sms_failed(
    detail: str = "The SMS gateway did not accept the message; try again later.",
) -> ProviderUnavailable:
    return ProviderUnavailable(detail, code="sms_send_failed")


class SandboxSmsBackend:
    """Keeps the message in the sandbox outbox (`GET /api/v1/dev/sms-outbox`) instead of sending it."""

    name = "sandbox"

    def send_code(self, *, phone: str, code: str) -> None:
        SandboxSms.objects.create(phone=phone, phone_hash=blind_index(phone), code=code)
        logger.info("sandbox sms recorded for %s", mask_phone(phone))


def aliyun_percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's RPC signature wants it: only A-Z a-z 0-9 - _ . ~ stay as they are."""
    return quote(value, safe="-_.~")


def aliyun_string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(
        f"{aliyun_percent_encode(key)}={aliyun_percent_encode(params[key])}" for key in sorted(params)
    )
    return f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"


def aliyun_signature(secret: str, method: str, params: dict[str, str]) -> str:
    """Aliyun RPC signature v1.0: base64(HMAC-SHA1(secret + "&", StringToSign))."""
    digest = hmac.new(
        f"{secret}&".encode(), aliyun_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsBackend:
    """Aliyun SMS (dysmsapi) `SendSms`, RPC style, signed with HMAC-SHA1, sent as a form POST.

    POST keeps the phone number out of URLs (and so out of proxy and client access logs).
    """

    name = "aliyun"
    api_version = "2017-05-25"

    def __init__(self, config: dict):
        required = ("access_key_id", "access_key_secret", "sign_name", "template_code")
        missing = [key for key in required if not config.get(key)]
        if missing:
            raise NotConfigured(
                "SMS sign-in is not configured on this server.",
                code="sms_not_configured",
            )
        self.endpoint = config.get("endpoint") or "https://dysmsapi.aliyuncs.com/"
        self.access_key_id = config["access_key_id"]
        self.access_key_secret = config["access_key_secret"]
        self.sign_name = config["sign_name"]
        self.template_code = config["template_code"]
        self.region_id = config.get("region_id") or "cn-hangzhou"

    def signed_params(self, *, phone: str, code: str, now: datetime | None = None, nonce: str | None = None):
        now = now or datetime.now(UTC)
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.region_id,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or secrets.token_hex(16),
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"code": code}, separators=(",", ":")),
            "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": self.api_version,
        }
        params["Signature"] = aliyun_signature(self.access_key_secret, "POST", params)
        return params

    def send_code(self, *, phone: str, code: str) -> None:
        params = self.signed_params(phone=phone, code=code)
        body = "&".join(f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in params.items())
        try:
            with httpx.Client(timeout=SMS_TIMEOUT) as client:
                response = client.post(
                    self.endpoint,
                    content=body.encode(),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": "application/json",
                    },
                )
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("aliyun sms to %s failed: %s", mask_phone(phone), type(exc).__name__)
            raise sms_failed() from exc
        result = payload.get("Code") if isinstance(payload, dict) else None
        if response.status_code != 200 or result != "OK":
            logger.warning(
                "aliyun sms to %s refused: http %s code %s request %s",
                mask_phone(phone),
                response.status_code,
                str(result)[:64],
                str(payload.get("RequestId", "") if isinstance(payload, dict) else "")[:64],
            )
            raise sms_failed()
        logger.info("aliyun sms sent to %s (biz %s)", mask_phone(phone), str(payload.get("BizId", ""))[:64])


def sms_backend():
    if settings.SMS_BACKEND == "sandbox":
        if not settings.SANDBOX:
            # A sandbox gateway in a real deployment would silently swallow every login code.
            raise NotConfigured("SMS sign-in is not configured on this server.", code="sms_not_configured")
        return SandboxSmsBackend()
    if settings.SMS_BACKEND == "aliyun":
        return AliyunSmsBackend(settings.SMS_ALIYUN)
    raise NotConfigured("SMS sign-in is not configured on this server.", code="sms_not_configured")
