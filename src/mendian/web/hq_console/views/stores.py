"""HQ: the dashboard and the stores (list, create, edit with hours, special days and photos)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from mendian.core.errors import DomainError, NotFound
from mendian.stores.hours import store_local_today, store_open_state
from mendian.stores.models import StoreStatus
from mendian.stores.selectors import store_get_for_actor, stores_for_actor
from mendian.stores.services import (
    special_day_delete,
    special_day_set,
    store_create,
    store_photo_add,
    store_photo_delete,
    store_update,
)
from mendian.web.auth import hq_view
from mendian.web.hq_console.common import add_domain_error, error_message, message_domain_error
from mendian.web.hq_console.context import current_merchant_id, platform_merchants, render_hq
from mendian.web.hq_console.forms import (
    COMMON_TIMEZONES,
    ImageUploadForm,
    SpecialDayForm,
    StoreForm,
    store_error_field,
)
from mendian.web.hq_console.hours import days_from_post, days_from_rows, days_with_error, default_days
from mendian.web.hq_console.selectors import catalog_counts, staff_counts, store_future_special_days

STORES_PER_PAGE = 20
DASHBOARD_STORES = 10


def store_rows(stores) -> list[dict]:
    """Stores (hours prefetched) with their open state now, for tables."""
    rows = []
    for store in stores:
        state = store_open_state(store)
        rows.append({"store": store, "state": state})
    return rows


@hq_view
def dashboard(request):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    stores = list(stores_for_actor(actor=actor, merchant_id=merchant_id))
    rows = store_rows(stores)
    counts = catalog_counts(actor=actor, merchant_id=merchant_id)
    staff = staff_counts(actor=actor, merchant_id=merchant_id)
    stats = {
        "stores_total": len(stores),
        "stores_open": sum(1 for row in rows if row["state"].is_open),
        "stores_paused": sum(1 for store in stores if store.status == StoreStatus.PAUSED),
        "products": counts["products"],
        "skus": counts["skus"],
        "staff": staff["total"],
        "store_staff": staff["store"],
    }
    # Closed-now and paused stores first: what an operator may want to look at.
    rows.sort(
        key=lambda row: (row["state"].is_open, row["store"].status == StoreStatus.OPEN, row["store"].pk)
    )
    return render_hq(
        request,
        "hq/dashboard.html",
        {"stats": stats, "rows": rows[:DASHBOARD_STORES], "more": len(rows) > DASHBOARD_STORES},
        nav="dashboard",
    )


@hq_view
def store_list(request):
    actor = request.actor
    q = request.GET.get("q", "").strip()[:50]
    status = request.GET.get("status", "")
    if status not in StoreStatus.values:
        status = ""
    qs = stores_for_actor(
        actor=actor, q=q or None, status=status or None, merchant_id=current_merchant_id(request)
    )
    page = Paginator(qs, STORES_PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render_hq(
        request,
        "hq/stores.html",
        {
            "rows": store_rows(page.object_list),
            "page": page,
            "q": q,
            "status": status,
            "statuses": StoreStatus.choices,
            "query": params.urlencode(),
        },
        nav="stores",
    )


def _store_form_context(request, *, form, days, store=None, special_form=None, photo_form=None) -> dict:
    context = {
        "form": form,
        "days": days,
        "store": store,
        "timezones": COMMON_TIMEZONES,
    }
    if store is not None:
        context.update(
            {
                "special_days": store_future_special_days(store=store),
                "special_form": special_form or SpecialDayForm(today=store_local_today(store)),
                "photo_form": photo_form or ImageUploadForm(),
                "photos": list(store.photos.all()),
                "state": store_open_state(store),
                "today": store_local_today(store),
            }
        )
    return context


@hq_view
def store_create_view(request):
    actor = request.actor
    merchants = platform_merchants(request)
    form = StoreForm(
        request.POST or None,
        merchants=merchants,
        initial={"merchant": current_merchant_id(request)} if merchants is not None else None,
    )
    days = default_days()
    if request.method == "POST":
        days, hours = days_from_post(request.POST)
        if form.is_valid() and hours is not None:
            try:
                store = store_create(actor=actor, data=form.store_data(hours))
            except DomainError as exc:
                add_domain_error(form, exc, store_error_field)
                if any(str(item.get("loc", [""])[0]) == "opening_hours" for item in exc.errors or []):
                    days_with_error(days, error_message(exc))
            else:
                messages.success(request, _("门店“%(name)s”已创建") % {"name": store.name})
                return redirect("hq:store_edit", store_id=store.pk)
    return render_hq(
        request, "hq/store_form.html", _store_form_context(request, form=form, days=days), nav="stores"
    )


def _store_or_404(request, store_id):
    return store_get_for_actor(actor=request.actor, store_id=store_id)


@hq_view
def store_edit(request, store_id):
    actor = request.actor
    try:
        store = _store_or_404(request, store_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="stores", status=404)
    form = StoreForm(request.POST or None, initial=StoreForm.initial_from(store))
    days = days_from_rows(store.opening_hours.all())
    if request.method == "POST":
        days, hours = days_from_post(request.POST)
        if form.is_valid() and hours is not None:
            try:
                store_update(actor=actor, store=store, data=form.store_data(hours))
            except DomainError as exc:
                add_domain_error(form, exc, store_error_field)
                if any(str(item.get("loc", [""])[0]) == "opening_hours" for item in exc.errors or []):
                    days_with_error(days, error_message(exc))
            else:
                messages.success(request, _("门店资料已保存"))
                return redirect("hq:store_edit", store_id=store.pk)
    return render_hq(
        request,
        "hq/store_form.html",
        _store_form_context(request, form=form, days=days, store=store),
        nav="stores",
    )


def _rerender_edit(request, store, **forms):
    form = StoreForm(initial=StoreForm.initial_from(store))
    days = days_from_rows(store.opening_hours.all())
    return render_hq(
        request,
        "hq/store_form.html",
        _store_form_context(request, form=form, days=days, store=store, **forms),
        nav="stores",
    )


@hq_view
def store_special_day_add(request, store_id):
    try:
        store = _store_or_404(request, store_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="stores", status=404)
    if request.method != "POST":
        return redirect(f"{reverse('hq:store_edit', args=[store.pk])}#special-days")
    form = SpecialDayForm(request.POST, today=store_local_today(store))
    if form.is_valid():
        try:
            special_day_set(actor=request.actor, store=store, **form.service_kwargs())
        except DomainError as exc:
            add_domain_error(
                form, exc, lambda loc: {"open": "opens", "close": "closes"}.get(loc[0]) if loc else None
            )
        else:
            messages.success(request, _("特殊营业日已保存"))
            return redirect(f"{reverse('hq:store_edit', args=[store.pk])}#special-days")
    return _rerender_edit(request, store, special_form=form)


@hq_view
def store_special_day_delete(request, store_id):
    try:
        store = _store_or_404(request, store_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="stores", status=404)
    if request.method != "POST":
        return redirect(f"{reverse('hq:store_edit', args=[store.pk])}#special-days")
    try:
        special_day_delete(actor=request.actor, store=store, date=request.POST.get("date", ""))
    except NotFound:
        messages.error(request, _("该特殊营业日不存在"))
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(request, _("特殊营业日已删除"))
    return redirect(f"{reverse('hq:store_edit', args=[store_id])}#special-days")


@hq_view
def store_photo_upload(request, store_id):
    try:
        store = _store_or_404(request, store_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="stores", status=404)
    if request.method != "POST":
        return redirect(f"{reverse('hq:store_edit', args=[store.pk])}#photos")
    form = ImageUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            with transaction.atomic():
                for upload in form.cleaned_data["images"]:
                    store_photo_add(actor=request.actor, store=store, upload=upload)
        except DomainError as exc:
            form.add_error("images", error_message(exc))
        else:
            messages.success(request, _("照片已上传"))
            return redirect(f"{reverse('hq:store_edit', args=[store.pk])}#photos")
    return _rerender_edit(request, store, photo_form=form)


@hq_view
def store_photo_remove(request, store_id, photo_id):
    try:
        store = _store_or_404(request, store_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="stores", status=404)
    if request.method != "POST":
        return redirect(f"{reverse('hq:store_edit', args=[store.pk])}#photos")
    try:
        store_photo_delete(actor=request.actor, store=store, photo_id=photo_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="stores", status=404)
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(request, _("照片已删除"))
    return redirect(f"{reverse('hq:store_edit', args=[store_id])}#photos")
