"""HQ: staff and roles, and (platform administrators) the merchants."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from mendian.accounts.selectors import (
    merchant_for_staff_assignment,
    staff_get_for_actor,
    staff_list_for_actor,
    store_for_staff_assignment,
)
from mendian.accounts.services import staff_create, staff_update
from mendian.core.errors import DomainError, NotFound
from mendian.core.scope import Role
from mendian.merchants.services import merchant_create
from mendian.web.auth import forbidden, hq_view
from mendian.web.hq_console.common import add_domain_error, cursor_param, error_message, page_links
from mendian.web.hq_console.context import current_merchant_id, platform_merchants, render_hq
from mendian.web.hq_console.forms import (
    COMMON_TIMEZONES,
    ROLE_LABELS,
    MerchantForm,
    PasswordResetForm,
    StaffForm,
    staff_error_field,
)
from mendian.web.hq_console.selectors import store_names, store_options

STAFF_PER_PAGE = 50


@hq_view
def staff_list(request):
    actor = request.actor
    role = request.GET.get("role", "")
    if role not in Role.ALL:
        role = ""
    active = request.GET.get("active", "")
    is_active = {"1": True, "0": False}.get(active)
    store_id = request.GET.get("store", "") or None
    merchant_id = current_merchant_id(request)
    try:
        page = staff_list_for_actor(
            actor=actor,
            role=role or None,
            store_id=store_id,
            is_active=is_active,
            limit=STAFF_PER_PAGE,
            cursor=cursor_param(request),
        )
    except DomainError as exc:
        messages.error(request, error_message(exc))
        page = {"items": [], "next_cursor": None}
    items = page["items"]
    if actor.is_platform and merchant_id is not None:
        items = [staff for staff in items if staff.merchant_id == merchant_id]
    stores = store_names(actor=actor, store_ids=[staff.store_id for staff in items])
    merchants = {m.pk: m for m in platform_merchants(request) or []}
    rows = [
        {
            "staff": staff,
            "store": stores.get(staff.store_id),
            "merchant": merchants.get(staff.merchant_id),
            "role_label": ROLE_LABELS.get(staff.role, staff.role),
        }
        for staff in items
    ]
    return render_hq(
        request,
        "hq/staff.html",
        {
            "rows": rows,
            "pages": page_links(request, page["next_cursor"]),
            "role": role,
            "active": active,
            "roles": Role.CHOICES,
            "store_filter": store_id or "",
            "store_choices": store_options(actor=actor, merchant_id=merchant_id),
            "now": timezone.now(),
        },
        nav="staff",
    )


def _staff_form(request, *, editing=None, data=None, initial=None):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    if editing is not None and editing.merchant_id:
        merchant_id = editing.merchant_id if actor.is_platform else merchant_id
    return StaffForm(
        data,
        actor=actor,
        stores=store_options(actor=actor, merchant_id=merchant_id),
        merchants=platform_merchants(request),
        editing=editing,
        initial=initial,
    )


def _resolve_scope(request, form) -> tuple[object, object] | None:
    """(store, merchant) objects for the chosen role; None after putting an error on the form."""
    actor = request.actor
    data = form.cleaned_data
    role = data["role"]
    store = merchant = None
    try:
        if role in Role.STORE:
            store = store_for_staff_assignment(actor=actor, store_id=data["store"])
        if role == Role.MERCHANT_ADMIN and actor.is_platform:
            merchant = merchant_for_staff_assignment(actor=actor, merchant_id=data.get("merchant"))
    except NotFound:
        form.add_error("store" if role in Role.STORE else "merchant", _("请选择你管理范围内的门店或商户"))
        return None
    except DomainError as exc:
        add_domain_error(form, exc, staff_error_field)
        return None
    return store, merchant


@hq_view
def staff_create_view(request):
    actor = request.actor
    form = _staff_form(
        request,
        data=request.POST or None,
        initial={"role": Role.STORE_CLERK, "merchant": str(current_merchant_id(request) or "")},
    )
    if request.method == "POST" and form.is_valid():
        scope = _resolve_scope(request, form)
        if scope is not None:
            store, merchant = scope
            data = form.cleaned_data
            try:
                staff = staff_create(
                    actor=actor,
                    username=data["username"],
                    password=data["password"],
                    role=data["role"],
                    store=store,
                    merchant=merchant,
                    display_name=data["display_name"],
                )
            except DomainError as exc:
                add_domain_error(form, exc, staff_error_field, default_field="username")
            else:
                messages.success(request, _("员工 %(name)s 已创建") % {"name": staff.username})
                return redirect("hq:staff")
    return render_hq(
        request,
        "hq/staff_form.html",
        {"form": form, "editing": None, "timezones": COMMON_TIMEZONES},
        nav="staff",
    )


def _staff_initial(staff) -> dict:
    return {
        "username": staff.username,
        "display_name": staff.display_name,
        "role": staff.role,
        "merchant": str(staff.merchant_id or ""),
        "store": str(staff.store_id or ""),
        "is_active": staff.is_active,
    }


@hq_view
def staff_edit(request, staff_id):
    actor = request.actor
    try:
        staff = staff_get_for_actor(actor=actor, staff_id=staff_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="staff", status=404)
    form = _staff_form(request, editing=staff, data=request.POST or None, initial=_staff_initial(staff))
    password_form = PasswordResetForm()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {"display_name": data["display_name"]}
        if staff.pk != actor.staff_id:
            scope = _resolve_scope(request, form)
            if scope is not None:
                store, merchant = scope
                changes.update({"role": data["role"], "store": store, "is_active": data["is_active"]})
                if actor.is_platform:
                    changes["merchant"] = merchant
        else:
            scope = ()
        if scope is not None:
            try:
                staff_update(actor=actor, staff=staff, **changes)
            except DomainError as exc:
                add_domain_error(form, exc, staff_error_field)
            else:
                messages.success(request, _("员工资料已保存"))
                return redirect("hq:staff_edit", staff_id=staff.pk)
    return render_hq(
        request,
        "hq/staff_form.html",
        {"form": form, "editing": staff, "password_form": password_form},
        nav="staff",
    )


@hq_view
def staff_password(request, staff_id):
    actor = request.actor
    try:
        staff = staff_get_for_actor(actor=actor, staff_id=staff_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="staff", status=404)
    if request.method != "POST":
        return redirect("hq:staff_edit", staff_id=staff.pk)
    password_form = PasswordResetForm(request.POST)
    if password_form.is_valid():
        try:
            staff_update(actor=actor, staff=staff, password=password_form.cleaned_data["new_password"])
        except DomainError as exc:
            add_domain_error(password_form, exc, lambda loc: "new_password", default_field="new_password")
        else:
            messages.success(
                request, _("已重置 %(name)s 的密码，请通过安全渠道告知本人") % {"name": staff.username}
            )
            return redirect("hq:staff_edit", staff_id=staff.pk)
    form = _staff_form(request, editing=staff, initial=_staff_initial(staff))
    return render_hq(
        request,
        "hq/staff_form.html",
        {"form": form, "editing": staff, "password_form": password_form},
        nav="staff",
    )


@hq_view
def merchant_list(request):
    actor = request.actor
    if not actor.can("merchants.manage"):
        return forbidden(request, _("只有平台管理员可以管理商户"), console="hq")
    form = MerchantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            merchant = merchant_create(
                actor=actor,
                code=data["code"],
                name=data["name"],
                brand_name=data["brand_name"],
                timezone=data["timezone"],
            )
        except DomainError as exc:
            add_domain_error(form, exc, default_field="code")
        else:
            messages.success(request, _("商户“%(name)s”已创建") % {"name": merchant.name})
            return redirect(f"{request.path}?merchant={merchant.pk}")
    return render_hq(
        request,
        "hq/merchants.html",
        {"form": form, "merchants": platform_merchants(request), "timezones": COMMON_TIMEZONES},
        nav="merchants",
    )
