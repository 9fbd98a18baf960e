"""The store console: the staff's own store (an HQ role picks one with `?store=<id>`)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from mendian.catalog.selectors import category_tree, product_get_for_actor, store_catalog_for_actor
from mendian.catalog.services import store_listing_set
from mendian.core.errors import DomainError, NotFound
from mendian.orders.selectors import store_queue_state
from mendian.stores.hours import store_local_today, store_open_state
from mendian.stores.models import StoreStatus
from mendian.stores.services import special_day_delete, special_day_set, store_set_hours, store_set_status
from mendian.web.auth import forbidden, safe_next, store_session_view, store_view
from mendian.web.hq_console.common import (
    add_domain_error,
    cursor_param,
    error_message,
    message_domain_error,
    page_links,
    styled,
    yuan,
)
from mendian.web.hq_console.forms import SpecialDayForm, category_choices
from mendian.web.hq_console.hours import WEEKDAY_LABELS, days_from_post, days_from_rows, days_with_error
from mendian.web.hq_console.selectors import store_future_special_days, store_options

PRODUCTS_PER_PAGE = 30


def render_store(request, template: str, context: dict | None = None, *, nav: str, status: int = 200):
    context = dict(context or {})
    for value in list(context.values()):
        if hasattr(value, "fields") and hasattr(value, "is_bound"):
            styled(value)
    store = request.store
    context.update(
        {
            "actor": request.actor,
            "store": store,
            "nav": nav,
            "sq": request.store_query,
            "can_settings": request.actor.can("store.settings"),
            "can_listings": request.actor.can("store.listings"),
            "can_refunds": request.actor.can("refunds.approve"),
        }
    )
    return render(request, template, context, status=status)


def _back(request, name: str, anchor: str = ""):
    return redirect(f"{reverse(name)}{request.store_query}{anchor}")


@store_session_view
def pick_store(request):
    """HQ roles: which store to open the console for."""
    actor = request.actor
    if actor.is_store_level:
        return redirect("store:dashboard")
    target = safe_next(request, reverse("store:dashboard"))
    if not target.startswith("/store/"):
        target = reverse("store:dashboard")
    q = request.GET.get("q", "").strip().lower()
    stores = store_options(actor=actor)
    if q:
        stores = [s for s in stores if q in s.name.lower() or q in s.code.lower()]
    links = [{"store": s, "url": f"{target}?{urlencode({'store': s.pk})}"} for s in stores]
    return render(request, "store/pick.html", {"links": links, "q": q, "actor": actor})


def _week(store) -> list[dict]:
    days = days_from_rows(store.opening_hours.all())
    today = store_local_today(store).weekday()
    return [
        {"day": day, "label": WEEKDAY_LABELS[day.weekday], "is_today": day.weekday == today} for day in days
    ]


def change_label(state, today) -> str:
    """When the open state next flips, in the store's own wall time: "今天 23:00", "明天 07:00"."""
    at = state.next_change_at
    if at is None:
        return ""
    clock = at.strftime("%H:%M")
    days = (at.date() - today).days
    if days == 0:
        return _("今天 %(time)s") % {"time": clock}
    if days == 1:
        return _("明天 %(time)s") % {"time": clock}
    return f"{at.month}-{at.day:02d} {clock}"


@store_view
def dashboard(request):
    store = request.store
    state = store_open_state(store)
    return render_store(
        request,
        "store/dashboard.html",
        {
            "state": state,
            "change_at": change_label(state, store_local_today(store)),
            "week": _week(store),
            "special_days": store_future_special_days(store=store)[:5],
            "today": store_local_today(store),
            "queue": store_queue_state(actor=request.actor, store=store)["counts"],
        },
        nav="dashboard",
    )


def _profile(request, *, days=None, special_form=None, status=200):
    store = request.store
    return render_store(
        request,
        "store/profile.html",
        {
            "state": store_open_state(store),
            "week": _week(store),
            "days": days if days is not None else days_from_rows(store.opening_hours.all()),
            "special_days": store_future_special_days(store=store),
            "special_form": special_form or SpecialDayForm(today=store_local_today(store)),
            "today": store_local_today(store),
        },
        nav="profile",
        status=status,
    )


@store_view
def profile(request):
    return _profile(request)


@store_view
def store_status(request):
    """Pause or resume taking orders (managers; the button asks for confirmation first)."""
    if request.method != "POST":
        return _back(request, "store:profile")
    wanted = request.POST.get("status", "")
    if wanted not in (StoreStatus.OPEN, StoreStatus.PAUSED):
        messages.error(request, _("未知的门店状态"))
        return _back(request, "store:profile")
    try:
        store_set_status(actor=request.actor, store=request.store, status=wanted)
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(
            request, _("门店已暂停营业") if wanted == StoreStatus.PAUSED else _("门店已恢复营业")
        )
    return _back(request, "store:profile")


@store_view
def store_hours(request):
    if request.method != "POST":
        return _back(request, "store:profile", "#hours")
    if not request.actor.can("store.settings"):
        return forbidden(request, _("只有店长可以修改营业时间"), console="store")
    days, hours = days_from_post(request.POST)
    if hours is not None:
        try:
            store_set_hours(actor=request.actor, store=request.store, hours=hours)
        except DomainError as exc:
            days_with_error(days, error_message(exc))
        else:
            messages.success(request, _("营业时间已保存"))
            return _back(request, "store:profile", "#hours")
    return _profile(request, days=days)


@store_view
def special_day_add(request):
    if request.method != "POST":
        return _back(request, "store:profile", "#special-days")
    store = request.store
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
            return _back(request, "store:profile", "#special-days")
    return _profile(request, special_form=form)


@store_view
def special_day_remove(request):
    if request.method != "POST":
        return _back(request, "store:profile", "#special-days")
    try:
        special_day_delete(actor=request.actor, store=request.store, date=request.POST.get("date", ""))
    except NotFound:
        messages.error(request, _("该特殊营业日不存在"))
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(request, _("特殊营业日已删除"))
    return _back(request, "store:profile", "#special-days")


@store_view
def products(request):
    actor, store = request.actor, request.store
    q = request.GET.get("q", "").strip()
    category = request.GET.get("category", "")
    try:
        page = store_catalog_for_actor(
            actor=actor,
            store=store,
            q=q or None,
            category_id=category or None,
            limit=PRODUCTS_PER_PAGE,
            cursor=cursor_param(request),
        )
    except DomainError as exc:
        message_domain_error(request, exc)
        page = {"items": [], "next_cursor": None}
    rows = []
    for item in page["items"]:
        prices = [variant["price"]["amount"] for variant in item["variants"]]
        rows.append(
            {
                "item": item,
                "price_low": yuan(min(prices)) if prices else None,
                "price_high": yuan(max(prices)) if prices else None,
                "variants": [
                    {"variant": v, "price": yuan(v["price"]), "base": yuan(v["base_price"])}
                    for v in item["variants"]
                ],
            }
        )
    return render_store(
        request,
        "store/products.html",
        {
            "rows": rows,
            "pages": page_links(request, page["next_cursor"]),
            "q": q,
            "category": category,
            "category_options": category_choices(category_tree(merchant_ids=[store.merchant_id])),
        },
        nav="products",
    )


@store_view
def product_listing(request, product_id):
    """List or delist one product at this store (managers)."""
    if request.method != "POST":
        return _back(request, "store:products")
    back = request.POST.get("back", "")
    target = (
        back if back.startswith("/store/products/") else f"{reverse('store:products')}{request.store_query}"
    )
    listed = request.POST.get("listed") == "1"
    try:
        product = product_get_for_actor(actor=request.actor, product_id=product_id)
        store_listing_set(actor=request.actor, store=request.store, product=product, listed=listed)
    except NotFound:
        messages.error(request, _("商品不存在"))
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(
            request,
            _("“%(name)s”已在本店上架") % {"name": product.name}
            if listed
            else _("“%(name)s”已在本店下架，顾客将看不到它") % {"name": product.name},
        )
    return redirect(target)
