"""WeChat mini-program login: exchange the `wx.login` code for the user's openid (jscode2session).

The `session_key` it returns is a secret shared with WeChat: it is kept encrypted on the server and
never sent to the client nor written to a log.
"""

import logging
from dataclasses import dataclass, field

import httpx
from django.conf import settings

from mendian.accounts.errors import NotConfigured, ProviderUnavailable
from mendian.core.errors import DomainError, RateLimited, ValidationFailed

logger = logging.getLogger("mendian.wechat")

WECHAT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)

ERR_INVALID_CODE = 40029
ERR_CODE_USED = 40163
ERR_RATE_LIMITED = 45011
ERR_USER_BLOCKED = 40226


@dataclass(frozen=True)
class WechatIdentity:
    openid: str
    session_key: str = field(repr=False)
    unionid: str = ""


def wechat_configured() -> bool:
    config = settings.WECHAT_MINIAPP
    return bool(config.get("appid") and config.get("secret"))


def _error_for(errcode: int) -> DomainError:
    if errcode in (ERR_INVALID_CODE, ERR_CODE_USED):
        return ValidationFailed("The WeChat login code is invalid or expired.", code="invalid_code")
    if errcode == ERR_RATE_LIMITED:
        return RateLimited("WeChat is limiting logins; try again in a minute.", retry_after=60)
    if errcode == ERR_USER_BLOCKED:
        return DomainError("This WeChat user is blocked.", code="user_blocked", status=403)
    return ProviderUnavailable("WeChat login is unavailable; try again later.", code="wechat_unavailable")


def jscode2session(js_code: str) -> WechatIdentity:
    config = settings.WECHAT_MINIAPP
    if not wechat_configured():
        raise NotConfigured("WeChat login is not configured on this server.", code="wechat_not_configured")
    url = config["endpoint"].rstrip("/") + "/sns/jscode2session"
    params = {
        "appid": config["appid"],
        "secret": config["secret"],
        "js_code": js_code,
        "grant_type": "authorization_code",
    }
    try:
        with httpx.Client(timeout=WECHAT_TIMEOUT) as client:
            response = client.get(url, params=params)
        response.raise_for_status()
        payload = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("jscode2session failed: %s", type(exc).__name__)
        raise _error_for(-1) from exc
    if not isinstance(payload, dict):
        logger.warning("jscode2session answered a non-object")
        raise _error_for(-1)
    errcode = payload.get("errcode") or 0
    if errcode:
        try:
            errcode = int(errcode)
        except (TypeError, ValueError):
            errcode = -1
        logger.info("jscode2session refused: errcode %s", errcode)
        raise _error_for(errcode)
    openid, session_key = payload.get("openid"), payload.get("session_key")
    if not isinstance(openid, str) or not openid or not isinstance(session_key, str) or not session_key:
        logger.warning("jscode2session answered without openid or session_key")
        raise _error_for(-1)
    unionid = payload.get("unionid") if isinstance(payload.get("unionid"), str) else ""
    return WechatIdentity(openid=openid, session_key=session_key, unionid=unionid)
