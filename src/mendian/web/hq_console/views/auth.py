"""Sign-in, sign-out, TOTP enrolment and the profile page. The sign-in view serves both consoles."""

from urllib.parse import parse_qs, urlencode, urlparse

import django_otp
import segno
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mendian.accounts.net import client_ip
from mendian.accounts.selectors import staff_mfa_enrolled, staff_needs_mfa_enrolment
from mendian.accounts.services import staff_authenticate, totp_enrol_begin, totp_enrol_confirm
from mendian.core.errors import DomainError, Unauthorized
from mendian.core.scope import Actor
from mendian.web.auth import console_login, console_logout, hq_session_view, hq_view, safe_next
from mendian.web.hq_console.common import error_message, styled
from mendian.web.hq_console.context import render_hq
from mendian.web.hq_console.forms import LoginForm, OtpForm
from mendian.web.hq_console.selectors import verified_totp_device

SESSION_ENROL_URL = "mfa_enrol_url"
CONSOLES = {
    "hq": {"home": "hq:dashboard", "login": "hq:login", "other_login": "store:login"},
    "store": {"home": "store:dashboard", "login": "store:login", "other_login": "hq:login"},
}


@never_cache
def login_view(request, console: str):
    """Username + password (+ the authenticator code for staff who enrolled one)."""
    urls = CONSOLES[console]
    if request.user.is_authenticated and request.method == "GET":
        actor = Actor.for_staff(request.user)
        if console == "store" or actor.is_hq:
            return redirect(safe_next(request, reverse(urls["home"])))
    form = LoginForm(request.POST or None)
    wrong_console = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        otp = "".join(data["otp"].split()) or None
        try:
            staff = staff_authenticate(
                username=data["username"], password=data["password"], otp=otp, ip=client_ip(request)
            )
        except Unauthorized as exc:
            if exc.code in ("otp_required", "invalid_otp"):
                form.add_error("otp", error_message(exc))
                form.add_error(None, _("出于安全考虑，请重新输入密码和动态验证码"))
            else:
                form.add_error(None, error_message(exc))
        except DomainError as exc:
            form.add_error(None, error_message(exc))
        else:
            if console == "hq" and not staff.is_hq:
                wrong_console = True
                form.add_error(None, _("该账号是门店账号，无权访问总部控制台，请从门店控制台登录"))
            else:
                console_login(request, staff, verified_totp_device(staff) if otp else None)
                home = reverse(urls["home"])
                target = safe_next(request, home)
                if staff.is_hq and staff_needs_mfa_enrolment(staff):
                    return redirect(f"{reverse('hq:mfa')}?{urlencode({'next': target})}")
                return redirect(target)
    styled(form)
    return render(
        request,
        "console/login.html",
        {
            "form": form,
            "console": console,
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "other_login_url": reverse(urls["other_login"]),
            "wrong_console": wrong_console,
        },
        status=200,
    )


def hq_login(request):
    return login_view(request, "hq")


def store_login(request):
    return login_view(request, "store")


@require_POST
def logout_view(request, console: str):
    console_logout(request)
    return redirect(CONSOLES[console]["login"])


def hq_logout(request):
    return logout_view(request, "hq")


def store_logout(request):
    return logout_view(request, "store")


def _secret_of(otpauth_url: str) -> str:
    secret = parse_qs(urlparse(otpauth_url).query).get("secret", [""])[0]
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@hq_session_view
def mfa_enrol(request):
    """Scan the QR code with an authenticator app, then confirm with a code from it."""
    staff = request.user
    target = safe_next(request, reverse("hq:dashboard"))
    enrolled = staff_mfa_enrolled(staff)
    form = OtpForm(request.POST or None)
    otpauth_url = request.session.get(SESSION_ENROL_URL)
    if request.method == "POST" and otpauth_url and not enrolled:
        if form.is_valid():
            try:
                device = totp_enrol_confirm(staff=staff, token=form.cleaned_data["token"])
            except DomainError as exc:
                form.add_error("token", error_message(exc))
            else:
                django_otp.login(request, device)
                request.session.pop(SESSION_ENROL_URL, None)
                messages.success(request, _("两步验证已启用，今后登录需要输入动态验证码"))
                return redirect(target)
    elif not enrolled:
        # A fresh secret on each visit (the service replaces any unconfirmed one).
        enrolment = totp_enrol_begin(staff=staff)
        otpauth_url = enrolment.otpauth_url
        request.session[SESSION_ENROL_URL] = otpauth_url
        form = OtpForm()
    qr_svg = ""
    if otpauth_url and not enrolled:
        qr_svg = mark_safe(segno.make(otpauth_url, error="m").svg_inline(scale=5, title="TOTP"))  # noqa: S308 - generated SVG
    styled(form)
    context = {
        "form": form,
        "enrolled": enrolled,
        "qr_svg": qr_svg,
        "secret": _secret_of(otpauth_url or "") if not enrolled else "",
        "next": target,
        "required": staff_needs_mfa_enrolment(staff),
    }
    if not request.user.is_verified() and staff_needs_mfa_enrolment(staff):
        # The full console is locked until the enrolment is done: a bare page without navigation.
        return render(request, "hq/mfa_required.html", context)
    return render_hq(request, "hq/mfa.html", context, nav="profile")


@hq_view
def profile(request):
    staff = request.user
    return render_hq(
        request,
        "hq/profile.html",
        {"staff": staff, "mfa_enrolled": staff_mfa_enrolled(staff), "verified": staff.is_verified()},
        nav="profile",
    )
