"""Who may open the consoles. One decorator per console; views get `request.actor` (and the store).

- `/hq/` pages need an HQ role (`actor.can("hq.access")`); anyone else signed in gets a 403 page
  and never a byte of HQ data. With `settings.REQUIRE_MFA`, an HQ role must have verified a TOTP
  device in this session: without a device it is sent to the enrolment page first.
- `/store/` pages need a store role (its own store) or an HQ role naming a store of its scope with
  `?store=<id>` (without one it is shown a store picker).
- Anonymous visitors are sent to the console's sign-in page with `?next=`.
"""

from functools import wraps
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache

from mendian.core.errors import NotFound
from mendian.core.scope import Actor

HQ_FORBIDDEN = gettext_noop("无权访问总部控制台")
STORE_FORBIDDEN = gettext_noop("无权访问门店控制台")


def safe_next(request, fallback: str) -> str:
    """The `next` parameter when it points into this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _to_login(request, login_name: str):
    query = urlencode({"next": request.get_full_path()})
    return redirect(f"{reverse(login_name)}?{query}")


def console_login(request, staff, device=None) -> None:
    """Starts a console session; `device` is the TOTP device that verified this sign-in, if any."""
    auth_login(request, staff, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        django_otp.login(request, device)


def console_logout(request) -> None:
    auth_logout(request)


def mfa_missing(request) -> bool:
    """An HQ role that must prove a second factor (REQUIRE_MFA) and has not in this session."""
    user = request.user
    return bool(settings.REQUIRE_MFA and user.is_hq and not user.is_verified())


def _second_factor(request, login_name: str):
    """Where an HQ role without a verified second factor goes: enrolment, or (when it already has a
    device, e.g. it enrolled in another browser) a fresh sign-in with the code."""
    from mendian.accounts.selectors import staff_mfa_enrolled

    query = urlencode({"next": request.get_full_path()})
    if staff_mfa_enrolled(request.user):
        console_logout(request)
        messages.info(request, _("请使用动态验证码重新登录"))
        return redirect(f"{reverse(login_name)}?{query}")
    return redirect(f"{reverse('hq:mfa')}?{query}")


def forbidden(request, message: str, *, console: str):
    return render(
        request,
        "console/forbidden.html",
        {"message": message, "console": console},
        status=403,
    )


def hq_view(view):
    """HQ console pages: signed-in HQ role (and MFA when required); sets `request.actor`."""

    @wraps(view)
    @never_cache
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return _to_login(request, "hq:login")
        actor = Actor.for_staff(user)
        if not actor.can("hq.access"):
            return forbidden(request, _(HQ_FORBIDDEN), console="hq")
        if mfa_missing(request):
            return _second_factor(request, "hq:login")
        request.actor = actor
        return view(request, *args, **kwargs)

    wrapper.console = "hq"
    return wrapper


def hq_session_view(view):
    """Pages an HQ role reaches before its second factor is set up (the enrolment page)."""

    @wraps(view)
    @never_cache
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return _to_login(request, "hq:login")
        actor = Actor.for_staff(user)
        if not actor.can("hq.access"):
            return forbidden(request, _(HQ_FORBIDDEN), console="hq")
        request.actor = actor
        return view(request, *args, **kwargs)

    wrapper.console = "hq"
    return wrapper


def store_view(view):
    """Store console pages: sets `request.actor` and `request.store` (with hours prefetched).

    Store roles act on their own store. HQ roles pick one with `?store=<id>` (only stores of their
    scope: another merchant's id is a 404); without it they see the store picker.
    """
    from mendian.stores.selectors import store_get_for_actor

    @wraps(view)
    @never_cache
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return _to_login(request, "store:login")
        actor = Actor.for_staff(user)
        if not actor.can("store.read"):
            return forbidden(request, _(STORE_FORBIDDEN), console="store")
        if actor.is_hq and mfa_missing(request):
            return _second_factor(request, "store:login")
        if actor.is_store_level:
            store_id = actor.store_id
        else:
            store_id = request.GET.get("store") or request.POST.get("store") or ""
            if not store_id:
                return redirect(f"{reverse('store:pick')}?{urlencode({'next': request.path})}")
        try:
            store = store_get_for_actor(actor=actor, store_id=store_id)
        except NotFound:
            return render(request, "errors/404.html", status=404)
        request.actor = actor
        request.store = store
        # Links inside the store console keep an HQ visitor's store choice.
        request.store_query = "" if actor.is_store_level else f"?store={store.pk}"
        return view(request, *args, **kwargs)

    wrapper.console = "store"
    return wrapper


def store_session_view(view):
    """Store console pages that need a signed-in staff member but no store (the HQ store picker)."""

    @wraps(view)
    @never_cache
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return _to_login(request, "store:login")
        actor = Actor.for_staff(user)
        if not actor.can("store.read"):
            return forbidden(request, _(STORE_FORBIDDEN), console="store")
        if actor.is_hq and mfa_missing(request):
            return _second_factor(request, "store:login")
        request.actor = actor
        return view(request, *args, **kwargs)

    wrapper.console = "store"
    return wrapper
