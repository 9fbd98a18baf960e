"""The store console's order work: the live queue, an order's page and its actions, pickup code
verification (核销) and refund approvals. Every write is one service call; every read a selector."""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.core.errors import DomainError, NotFound
from mendian.core.money import format_yuan
from mendian.orders.couriers import COURIERS, DEFAULT_ETA_MINUTES
from mendian.orders.models import REFUND_NOTE_MAX_LENGTH, FulfilmentType, OrderStatus
from mendian.orders.selectors import (
    QUEUE_STATUSES,
    order_get_for_actor,
    orders_for_actor,
    pickup_code_lookup,
    refund_request_get_for_actor,
    refund_requests_for_actor,
    store_queue_state,
)
from mendian.orders.services import (
    order_accept,
    order_cancel_by_staff,
    order_deliver,
    order_dispatch,
    order_ready,
    pickup_verify,
    refund_request_approve,
    refund_request_reject,
)
from mendian.web.auth import forbidden, store_view
from mendian.web.hq_console.common import error_message, message_domain_error
from mendian.web.store_console.views import render_store

S = OrderStatus
QUEUE_LIMIT = 100
LIST_LIMIT = 30
POLL_SECONDS = 5

# The board's columns, in the order work flows.
COLUMNS = [
    (S.PAID, gettext_lazy("新订单")),
    (S.PREPARING, gettext_lazy("备货中")),
    (S.READY_FOR_PICKUP, gettext_lazy("待自提")),
    (S.OUT_FOR_DELIVERY, gettext_lazy("配送中")),
]
# Tabs besides the board: (key, label, statuses, no_show).
LIST_TABS = {
    "done": (gettext_lazy("已完成"), "delivered,completed,refund_requested,refunded,refund_rejected", None),
    "cancelled": (gettext_lazy("已取消"), "cancelled", None),
    "noshow": (gettext_lazy("超时未取"), "ready_for_pickup", True),
}

# Service error codes of this console -> what the clerk reads.
ORDER_ERRORS = {
    "invalid_state_transition": gettext_lazy("订单状态已变化，无法执行该操作，请刷新后查看"),
    "order_not_ready": gettext_lazy("该订单还在备货，尚未备货完成，不能核销"),
    "refund_request_not_pending": gettext_lazy("该售后申请已处理过了"),
    "refunds_unavailable": gettext_lazy("退款服务暂不可用，请稍后再试"),
    "payment_not_found": gettext_lazy("找不到该订单的支付记录，无法退款，请联系总部"),
}


def _say(request, exc: DomainError) -> None:
    known = ORDER_ERRORS.get(exc.code)
    if known:
        messages.error(request, str(known))
    else:
        message_domain_error(request, exc)


def _queue_url(request, tab: str = "") -> str:
    url = reverse("store:orders") + request.store_query
    if tab:
        url += ("&" if request.store_query else "?") + f"tab={tab}"
    return url


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if target.startswith("/store/") and not target.startswith("//"):
        return redirect(target)
    return redirect(fallback)


def order_actions(order, actor) -> dict:
    """Which buttons an order shows (the service decides again)."""
    can = actor.can("orders.fulfil")
    pickup = order.fulfilment_type == FulfilmentType.PICKUP
    return {
        "accept": can and order.status == S.PAID,
        "ready": can and pickup and order.status == S.PREPARING,
        "dispatch": can and not pickup and order.status == S.PREPARING,
        "deliver": can and order.status == S.OUT_FOR_DELIVERY,
        "verify": actor.can("pickups.verify") and pickup and order.status == S.READY_FOR_PICKUP,
        "cancel": can
        and (
            order.status in (S.PENDING_PAYMENT, S.PAID)
            or (order.status == S.READY_FOR_PICKUP and order.no_show_at is not None)
        ),
    }


def _card(order, actor) -> dict:
    lines = list(order.lines.all())
    return {
        "order": order,
        "lines": lines,
        "units": sum(line.quantity for line in lines),
        "total": format_yuan(order.total),
        "actions": order_actions(order, actor),
    }


def _queue_context(request, tab: str, state: dict | None = None) -> dict:
    actor, store = request.actor, request.store
    state = state or store_queue_state(actor=actor, store=store)
    # Where a card's actions return: the queue page, also for cards the poll fragment renders.
    query = request.GET.copy()
    query.pop("v", None)
    context = {
        "back_url": reverse("store:orders") + (f"?{query.urlencode()}" if query else ""),
        "tab": tab,
        "version": state["version"],
        "counts": state["counts"],
        "new_count": state["counts"][S.PAID],
        "active_count": sum(state["counts"][status] for status in QUEUE_STATUSES),
        "poll_seconds": POLL_SECONDS,
        "tabs": [(key, label) for key, (label, _s, _n) in LIST_TABS.items()],
        "eta_default": DEFAULT_ETA_MINUTES,
    }
    if tab in LIST_TABS:
        _label, statuses, no_show = LIST_TABS[tab]
        orders, next_cursor = orders_for_actor(
            actor=actor, store_id=store.pk, status=statuses, no_show=no_show, limit=LIST_LIMIT
        )
        context["cards"] = [_card(order, actor) for order in orders]
        context["more"] = next_cursor is not None
    else:
        orders, next_cursor = orders_for_actor(
            actor=actor, store_id=store.pk, status=",".join(QUEUE_STATUSES), limit=QUEUE_LIMIT
        )
        # Oldest first inside a column: the order waiting longest is served first.
        by_status = {status: [] for status, _label in COLUMNS}
        for order in reversed(orders):
            by_status[order.status].append(_card(order, actor))
        context["columns"] = [
            {"status": status, "label": label, "cards": by_status[status], "count": state["counts"][status]}
            for status, label in COLUMNS
        ]
        context["more"] = next_cursor is not None
    return context


def _tab(request) -> str:
    tab = request.GET.get("tab", "")
    return tab if tab in LIST_TABS else ""


@store_view
def queue(request):
    tab = _tab(request)
    return render_store(request, "store/orders.html", _queue_context(request, tab), nav="orders")


@store_view
def queue_poll(request):
    """htmx polls this every few seconds: 204 (nothing to do) while the version it holds is current,
    else the queue re-rendered (with the nav badge out of band)."""
    state = store_queue_state(actor=request.actor, store=request.store)
    if request.GET.get("v") == state["version"]:
        return HttpResponse(status=204)
    tab = _tab(request)
    return render_store(request, "store/_queue.html", _queue_context(request, tab, state), nav="orders")


@store_view
def queue_badge(request):
    """The nav badge on every store console page: how many new orders wait to be accepted."""
    state = store_queue_state(actor=request.actor, store=request.store)
    return render(
        request,
        "store/_nav_badge.html",
        {"new_count": state["counts"][S.PAID], "sq": request.store_query},
    )


def _order_or_404(request, order_id):
    try:
        order = order_get_for_actor(actor=request.actor, order_id=order_id)
    except NotFound:
        raise Http404 from None
    if order.store_id != request.store.pk:
        raise Http404
    return order


@store_view
def order_detail(request, order_id):
    order = _order_or_404(request, order_id)
    events = list(order.events.all())
    refunds = list(order.refund_requests.all())
    for refund in refunds:
        refund.amount_yuan = format_yuan(refund.amount)
    return render_store(
        request,
        "store/order_detail.html",
        {
            "card": _card(order, request.actor),
            "order": order,
            "lines": [
                {"line": line, "unit": format_yuan(line.unit_price), "total": format_yuan(line.line_total)}
                for line in order.lines.all()
            ],
            "totals": {
                "subtotal": format_yuan(order.subtotal),
                "discount": format_yuan(order.discount_total),
                "delivery_fee": format_yuan(order.delivery_fee),
                "total": format_yuan(order.total),
                "refunded": format_yuan(order.refunded_amount),
            },
            "events": events,
            "refunds": refunds,
            "eta_default": DEFAULT_ETA_MINUTES,
            "couriers": list(COURIERS.values()),
            "can_refunds": request.actor.can("refunds.approve"),
        },
        nav="orders",
    )


ACTIONS = {
    "accept": (order_accept, gettext_lazy("已接单：%(number)s，请开始备货")),
    "ready": (order_ready, gettext_lazy("备货完成：%(number)s，已通知顾客到店取货")),
    "deliver": (order_deliver, gettext_lazy("已送达：%(number)s")),
}


@store_view
def order_action(request, order_id, action):
    """accept / ready / deliver / dispatch / cancel: one service call, then back where the clerk was."""
    fallback = _queue_url(request)
    if request.method != "POST":
        return redirect(fallback)
    order = _order_or_404(request, order_id)
    actor = request.actor
    try:
        if action in ACTIONS:
            service, said = ACTIONS[action]
            service(actor=actor, order_id=order.pk)
            messages.success(request, str(said) % {"number": order.number})
        elif action == "dispatch":
            raw = request.POST.get("eta_minutes", "").strip()
            try:
                eta = int(raw) if raw else None
            except ValueError:
                eta = -1
            if eta is not None and not 1 <= eta <= 24 * 60:
                messages.error(request, _("预计送达时间请填写 1–1440 分钟"))
                return _back(request, fallback)
            order_dispatch(
                actor=actor, order_id=order.pk, courier=request.POST.get("courier") or None, eta_minutes=eta
            )
            messages.success(request, _("已出发配送：%(number)s") % {"number": order.number})
        elif action == "cancel":
            reason = request.POST.get("reason", "").strip()
            if reason == "other":
                reason = request.POST.get("reason_text", "").strip()
            if not reason:
                messages.error(request, _("请填写取消原因"))
                return _back(request, fallback)
            order_cancel_by_staff(actor=actor, order_id=order.pk, reason=reason[:200])
            messages.success(
                request, _("订单 %(number)s 已取消，已付款项将原路退回") % {"number": order.number}
            )
        else:
            raise Http404
    except DomainError as exc:
        _say(request, exc)
    return _back(request, fallback)


# --- pickup verification (核销) -------------------------------------------------------------------


def _pickup_error(request, exc: DomainError, code: str) -> str:
    if exc.code == "pickup_code_invalid":
        found = pickup_code_lookup(actor=request.actor, store=request.store, code=code)
        if "used" in found:
            used = found["used"]
            return _("该取货码已核销过（订单 %(number)s，%(at)s），请勿重复交货") % {
                "number": used.number,
                "at": used.completed_at.astimezone(request.store_zone).strftime("%m-%d %H:%M"),
            }
        if found.get("other_store"):
            return _("这是本品牌其他门店的取货码，请让顾客到下单的门店取货")
        return _("取货码无效：本店没有使用该取货码的待自提订单，请核对后重新输入")
    if exc.code == "order_not_ready":
        return str(ORDER_ERRORS["order_not_ready"])
    return error_message(exc)


@store_view
def pickup(request):
    """Type (or scan) the customer's code: the ready order is handed over and completed once."""
    request.store_zone = ZoneInfo(request.store.tz_name)
    actor, store = request.actor, request.store
    context = {"code": "", "error": "", "done": None}
    if request.method == "POST":
        code = request.POST.get("code", "").strip()
        context["code"] = code
        if not code:
            context["error"] = _("请输入取货码")
        else:
            try:
                order = pickup_verify(actor=actor, store=store, code=code)
            except DomainError as exc:
                context["error"] = _pickup_error(request, exc, code)
                if exc.code == "order_not_ready":
                    context["not_ready"] = True
            else:
                messages.success(
                    request, _("核销成功：订单 %(number)s，请按清单交货") % {"number": order.number}
                )
                url = reverse("store:pickup") + request.store_query
                url += ("&" if request.store_query else "?") + f"done={order.pk}"
                return redirect(url)
        status = 200 if not context["error"] else 422
        return render_store(request, "store/pickup.html", context, nav="pickup", status=status)
    done = request.GET.get("done", "")
    if done:
        try:
            order = order_get_for_actor(actor=actor, order_id=done)
        except (NotFound, DomainError):
            order = None
        if order is not None and order.store_id == store.pk:
            context["done"] = _card(order, actor)
    return render_store(request, "store/pickup.html", context, nav="pickup")


# --- refund approvals ------------------------------------------------------------------------------


@store_view
def refunds(request):
    actor, store = request.actor, request.store
    if not actor.can("refunds.approve"):
        return forbidden(request, _("只有店长可以审核售后退款"), console="store")
    show = request.GET.get("show", "pending")
    status = "pending" if show == "pending" else "approved,rejected,refunded"
    rows, _next = refund_requests_for_actor(actor=actor, store_id=store.pk, status=status, limit=LIST_LIMIT)
    items = [
        {
            "request": row,
            "amount": format_yuan(row.amount),
            "lines": [
                {"line": rl.order_line, "quantity": rl.quantity, "amount": format_yuan(rl.amount)}
                for rl in row.lines.all()
            ],
        }
        for row in rows
    ]
    return render_store(
        request,
        "store/refunds.html",
        {"items": items, "show": show, "note_max": REFUND_NOTE_MAX_LENGTH},
        nav="refunds",
    )


@store_view
def refund_decide(request, request_id, decision):
    fallback = reverse("store:refunds") + request.store_query
    if request.method != "POST":
        return redirect(fallback)
    actor = request.actor
    if not actor.can("refunds.approve"):
        return forbidden(request, _("只有店长可以审核售后退款"), console="store")
    try:
        refund = refund_request_get_for_actor(actor=actor, request_id=request_id)
        if refund.order.store_id != request.store.pk:
            raise Http404
        if decision == "approve":
            note = request.POST.get("note", "").strip()
            if len(note) > REFUND_NOTE_MAX_LENGTH:
                messages.error(request, _("备注最多 %(max)s 个字") % {"max": REFUND_NOTE_MAX_LENGTH})
                return redirect(fallback)
            refund_request_approve(
                actor=actor, request_id=refund.pk, restock=request.POST.get("restock") == "1", note=note
            )
            messages.success(
                request,
                _("已同意退款 ¥%(amount)s（订单 %(number)s），款项将原路退回")
                % {"amount": format_yuan(refund.amount), "number": refund.order.number},
            )
        elif decision == "reject":
            reason = request.POST.get("reason", "").strip()
            if not reason:
                messages.error(request, _("驳回时请填写原因，顾客会看到它"))
                return redirect(fallback)
            refund_request_reject(actor=actor, request_id=refund.pk, reason=reason[:200])
            messages.success(request, _("已驳回订单 %(number)s 的售后申请") % {"number": refund.order.number})
        else:
            raise Http404
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        _say(request, exc)
    return redirect(fallback)
