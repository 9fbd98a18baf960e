"""The storefront's buying loop, second half: paying, the order list and the order page (status
timeline, pay-deadline countdown, pickup code and QR, delivery progress, cancel, confirm receipt)
and after-sales refund requests. Customers see only their own orders: anyone else's is a 404."""

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from mendian.checkout.selectors import media_url
from mendian.core.errors import DomainError, NotFound
from mendian.merchants.selectors import merchant_context
from mendian.orders.models import PICKUP_ACTIVE_STATUSES, OrderStatus, RefundKind, RefundStatus
from mendian.orders.selectors import order_for_customer, orders_for_customer, pickup_qr_svg
from mendian.orders.services import (
    REFUNDABLE_STATUSES,
    order_cancel_by_customer,
    order_confirm_received,
    refund_request_create,
)
from mendian.payments.providers import enabled_providers
from mendian.payments.services import payment_create
from mendian.stores.hours import format_hhmm
from mendian.web.storefront import presenters
from mendian.web.storefront.buying import login_redirect
from mendian.web.storefront.views import _clean_text, _signed_in_customer, friendly_errors

S = OrderStatus
PAGE_SIZE = 10

STATUS_TEXT = {
    S.PENDING_PAYMENT: gettext_lazy("待支付"),
    S.PAID: gettext_lazy("已支付"),
    S.PREPARING: gettext_lazy("备货中"),
    S.READY_FOR_PICKUP: gettext_lazy("待自提"),
    S.OUT_FOR_DELIVERY: gettext_lazy("配送中"),
    S.DELIVERED: gettext_lazy("已送达"),
    S.COMPLETED: gettext_lazy("已完成"),
    S.CANCELLED: gettext_lazy("已取消"),
    S.REFUND_REQUESTED: gettext_lazy("售后中"),
    S.REFUNDED: gettext_lazy("已退款"),
    S.REFUND_REJECTED: gettext_lazy("售后已驳回"),
}
REFUND_STATUS_TEXT = {
    RefundStatus.PENDING: gettext_lazy("待商家审核"),
    RefundStatus.APPROVED: gettext_lazy("商家已同意，退款中"),
    RefundStatus.REJECTED: gettext_lazy("商家已驳回"),
    RefundStatus.REFUNDED: gettext_lazy("已退款"),
}
REFUND_KIND_TEXT = {
    RefundKind.AFTER_SALE: gettext_lazy("售后退款"),
    RefundKind.CANCELLATION: gettext_lazy("取消退款"),
}
# The list's tabs: key, label, the statuses they show.
TABS = (
    ("all", gettext_lazy("全部"), ""),
    ("pending", gettext_lazy("待支付"), "pending_payment"),
    ("active", gettext_lazy("进行中"), "paid,preparing,ready_for_pickup,out_for_delivery,delivered"),
    ("done", gettext_lazy("已完成"), "completed"),
    ("aftersale", gettext_lazy("售后"), "refund_requested,refunded,refund_rejected"),
)
PICKUP_STEPS = (S.PENDING_PAYMENT, S.PAID, S.PREPARING, S.READY_FOR_PICKUP, S.COMPLETED)
DELIVERY_STEPS = (S.PENDING_PAYMENT, S.PAID, S.PREPARING, S.OUT_FOR_DELIVERY, S.DELIVERED, S.COMPLETED)
PROVIDERS = {
    "wechatpay": {"label": gettext_lazy("微信支付"), "icon": "💚"},
    "alipay": {"label": gettext_lazy("支付宝"), "icon": "💙"},
    "sandbox": {"label": gettext_lazy("沙箱支付（演示，不扣款）"), "icon": "🧪"},
}
REFUND_REASONS = (
    gettext_lazy("商品有质量问题"),
    gettext_lazy("商品与描述不符"),
    gettext_lazy("少件、漏发"),
    gettext_lazy("不想要了"),
    gettext_lazy("其他"),
)
# Keys of a provider's client_params that send the customer to a hosted pay page.
REDIRECT_KEYS = ("confirm_url", "h5_url", "mweb_url", "pay_url", "url")


# --- presentation --------------------------------------------------------------------------------------
def _zone(order) -> ZoneInfo:
    # `store.tz_name` would read the store's merchant again; the order's is already loaded.
    return ZoneInfo(order.store.timezone or order.merchant.timezone)


def _when(moment: dt.datetime | None, tz: ZoneInfo, *, with_date: bool = True) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    today = timezone.now().astimezone(tz).date()
    clock = format_hhmm(local.time())
    if not with_date:
        return clock
    if local.date() == today:
        return _("今天 %(time)s") % {"time": clock}
    if local.date() == today + dt.timedelta(days=1):
        return _("明天 %(time)s") % {"time": clock}
    return f"{local:%m-%d} {clock}"


def _hint(order) -> str:
    pickup = order.fulfilment_type == "pickup"
    status = order.status
    if status == S.PENDING_PAYMENT:
        return _("请在支付截止前完成支付，超时订单将自动取消")
    if status == S.PAID:
        return _("已支付，等待门店接单")
    if status == S.PREPARING:
        return _("门店正在备货，备好后凭取货码到店自提") if pickup else _("门店正在备货，备好后安排配送")
    if status == S.READY_FOR_PICKUP:
        return _("商品已备好，请凭取货码到店自提")
    if status == S.OUT_FOR_DELIVERY:
        return _("骑手正在配送中")
    if status == S.DELIVERED:
        return _("商品已送达，确认无误后可确认收货")
    if status == S.COMPLETED:
        return _("订单已完成，感谢您的光临")
    if status == S.CANCELLED:
        return _("订单已取消") + (_("，已付款项将原路退回") if order.paid_amount else "")
    if status == S.REFUND_REQUESTED:
        return _("售后申请已提交，等待商家审核")
    if status == S.REFUNDED:
        return _("退款已原路退回")
    if status == S.REFUND_REJECTED:
        return _("商家驳回了售后申请")
    return ""


def _events(order, tz: ZoneInfo) -> list[dict]:
    """What happened, newest first (from the order's events)."""
    rows = [
        {"label": STATUS_TEXT.get(event.status, event.status), "at": _when(event.at, tz)}
        for event in order.events.all()
    ]
    return list(reversed(rows))


def _progress(order) -> list[dict]:
    """The steps of a pickup or delivery order, done / current / to come; none once it left the
    usual path (cancelled, after-sales)."""
    steps = PICKUP_STEPS if order.fulfilment_type == "pickup" else DELIVERY_STEPS
    if order.status not in steps:
        return []
    index = steps.index(order.status)
    return [
        {"label": STATUS_TEXT[step], "state": "done" if i < index else ("current" if i == index else "todo")}
        for i, step in enumerate(steps)
    ]


def _line_out(line) -> dict:
    return {
        "id": str(line.pk),
        "name": line.name,
        "specs_text": " / ".join(str(v) for v in (line.specs or {}).values()),
        "image": media_url(line.image) or "",
        "quantity": line.quantity,
        "unit": presenters.price_parts(line.unit_price),
        "total": presenters.price_parts(line.line_total),
    }


def order_card(order) -> dict:
    """What the order list shows of one order (lines and store already loaded)."""
    lines = list(order.lines.all())
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "status_text": STATUS_TEXT.get(order.status, order.status),
        "store": order.store.name,
        "pickup": order.fulfilment_type == "pickup",
        "images": [media_url(line.image) or "" for line in lines[:4]],
        "names": "、".join(line.name for line in lines[:2]) + ("…" if len(lines) > 2 else ""),
        "count": sum(line.quantity for line in lines),
        "total": presenters.price_parts(order.total),
        "created": _when(order.created_at, _zone(order)),
        "url": reverse("storefront:order", args=[order.pk]),
        "pay_url": reverse("storefront:order_pay", args=[order.pk]),
        "has_code": bool(order.pickup_code) and order.status in PICKUP_ACTIVE_STATUSES,
    }


def _refund_out(request_row, lines_by_id: dict) -> dict:
    return {
        "id": request_row.pk,
        "kind": REFUND_KIND_TEXT.get(request_row.kind, request_row.kind),
        "status": request_row.status,
        "status_text": REFUND_STATUS_TEXT.get(request_row.status, request_row.status),
        "amount": presenters.price_parts(request_row.amount),
        "reason": request_row.reason,
        "reject_reason": request_row.reject_reason,
        "decision_note": request_row.decision_note,
        "whole": request_row.whole_order,
        "lines": [
            {
                "name": lines_by_id[rl.order_line_id].name if rl.order_line_id in lines_by_id else "",
                "quantity": rl.quantity,
            }
            for rl in request_row.lines.all()
        ],
        "created": request_row.created_at,
    }


# --- list ------------------------------------------------------------------------------------------------
@friendly_errors
def order_list(request):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:orders"))
    tab = request.GET.get("tab", "all")
    tabs = {key: (label, statuses) for key, label, statuses in TABS}
    if tab not in tabs:
        tab = "all"
    cursor = request.GET.get("cursor") or None
    rows, next_cursor = orders_for_customer(
        customer=customer,
        merchant=merchant_context(request),
        status=tabs[tab][1] or None,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    path = reverse("storefront:orders")
    more_url = f"{path}?{urlencode({'tab': tab, 'cursor': next_cursor})}" if next_cursor else ""
    context = {
        "tab": "orders",
        "orders": [order_card(order) for order in rows],
        "more_url": more_url,
    }
    if request.htmx and cursor:
        return render(request, "storefront/_order_page.html", context)
    context["tabs"] = [
        {"key": key, "label": label, "active": key == tab, "url": f"{path}?tab={key}"}
        for key, label, _s in TABS
    ]
    context["current_tab"] = tab
    return render(request, "storefront/orders.html", context)


# --- detail ----------------------------------------------------------------------------------------------
@friendly_errors
def order_detail(request, order_id):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:order", args=[order_id]))
    order = order_for_customer(customer=customer, order_id=order_id, merchant=merchant_context(request))
    tz = _zone(order)
    lines = list(order.lines.all())
    lines_by_id = {line.pk: line for line in lines}
    code_live = bool(order.pickup_code) and order.status in PICKUP_ACTIVE_STATUSES
    refunds = [_refund_out(row, lines_by_id) for row in order.refund_requests.all()]
    for refund in refunds:
        refund["created"] = _when(refund["created"], tz)
    context = {
        "tab": "",
        "order": order,
        "store": order.store,
        "status_text": STATUS_TEXT.get(order.status, order.status),
        "hint": _hint(order),
        "pending": order.status == S.PENDING_PAYMENT,
        "deadline": order.pay_deadline.isoformat(),
        "deadline_text": _when(order.pay_deadline, tz),
        "code": order.pickup_code if code_live else "",
        # segno's SVG of our own digits: markup we generate, not user input.
        "qr": mark_safe(pickup_qr_svg(order)) if code_live else "",  # noqa: S308
        "pickup_at": _when(order.pickup_at, tz) if order.pickup_at else "",
        "eta": _when(order.delivery_eta, tz) if order.delivery_eta else "",
        "dispatched": _when(order.dispatched_at, tz) if order.dispatched_at else "",
        "events": _events(order, tz),
        "progress": _progress(order),
        "lines": [_line_out(line) for line in lines],
        "amounts": {
            "subtotal": presenters.price_parts(order.subtotal),
            "discounts": [
                {"label": d.get("label", ""), "amount": presenters.price_parts(d.get("amount", 0))}
                for d in (order.discounts or [])
            ],
            "delivery_fee": presenters.price_parts(order.delivery_fee),
            "total": presenters.price_parts(order.total),
            "paid": presenters.price_parts(order.paid_amount) if order.paid_amount else None,
            "refunded": presenters.price_parts(order.refunded_amount) if order.refunded_amount else None,
        },
        "created": _when(order.created_at, tz),
        "paid_at": _when(order.paid_at, tz) if order.paid_at else "",
        "can_cancel": order.status in (S.PENDING_PAYMENT, S.PAID),
        "can_confirm": order.status == S.DELIVERED,
        "can_refund": order.status in REFUNDABLE_STATUSES and order.paid_amount > order.refunded_amount,
        "refunds": refunds,
        "status_class": _status_class(order.status),
    }
    return render(request, "storefront/order.html", context)


def _status_class(status: str) -> str:
    if status == S.PENDING_PAYMENT:
        return "warn"
    if status in (S.CANCELLED, S.REFUND_REJECTED):
        return "muted"
    if status in (S.REFUND_REQUESTED, S.REFUNDED):
        return "info"
    return "ok"


@friendly_errors
@require_POST
def order_cancel(request, order_id):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:order", args=[order_id]))
    reason = _clean_text(request.POST.get("reason"), 200)
    try:
        order = order_cancel_by_customer(customer=customer, order_id=order_id, reason=reason)
    except NotFound:
        raise
    except DomainError:
        messages.error(request, _("订单已在处理中，不能取消了。如有问题请联系门店。"))
    else:
        if order.paid_amount:
            messages.success(request, _("订单已取消，款项将原路退回"))
        else:
            messages.success(request, _("订单已取消"))
    return HttpResponseRedirect(reverse("storefront:order", args=[order_id]))


@friendly_errors
@require_POST
def order_confirm(request, order_id):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:order", args=[order_id]))
    try:
        order_confirm_received(customer=customer, order_id=order_id)
    except NotFound:
        raise
    except DomainError:
        messages.error(request, _("订单状态已变化，请刷新后再试"))
    else:
        messages.success(request, _("已确认收货"))
    return HttpResponseRedirect(reverse("storefront:order", args=[order_id]))


# --- paying ------------------------------------------------------------------------------------------------
@friendly_errors
@require_http_methods(["GET", "POST"])
def order_pay(request, order_id):
    """Choose how to pay a pending order; the provider's hosted page then takes over (the sandbox's
    brings the customer back to the order page)."""
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:order_pay", args=[order_id]))
    order = order_for_customer(customer=customer, order_id=order_id, merchant=merchant_context(request))
    order_url = reverse("storefront:order", args=[order.pk])
    if order.status != S.PENDING_PAYMENT:
        if order.status == S.CANCELLED:
            messages.error(request, _("订单已超时取消，请重新下单"))
        return HttpResponseRedirect(order_url)
    names = enabled_providers(order.merchant_id)
    providers = [{"name": name, **PROVIDERS.get(name, {"label": name, "icon": "💳"})} for name in names]
    error = ""
    status = 200
    chosen = request.POST.get("provider") or (names[0] if names else "")
    if request.method == "POST":
        try:
            _payment, params = payment_create(
                customer=customer,
                order_id=order.pk,
                provider=chosen,
                base_url=request.build_absolute_uri("/"),
            )
        except DomainError as exc:
            if exc.code == "provider_unavailable":
                error = _("这种支付方式暂不可用，请换一种")
            else:
                error = _("订单状态已变化，请返回订单查看")
            status = exc.status
        else:
            target = next((params[key] for key in REDIRECT_KEYS if isinstance(params.get(key), str)), "")
            if target:
                back = request.build_absolute_uri(order_url)
                joiner = "&" if "?" in target else "?"
                return HttpResponseRedirect(f"{target}{joiner}{urlencode({'return': back})}")
            error = _("请在微信或支付宝中打开本页完成支付")
            status = 400
    tz = _zone(order)
    context = {
        "tab": "",
        "order": order,
        "total": presenters.price_parts(order.total),
        "providers": providers,
        "chosen": chosen,
        "error": error,
        "deadline": order.pay_deadline.isoformat(),
        "deadline_text": _when(order.pay_deadline, tz),
        "order_url": order_url,
    }
    return render(request, "storefront/pay.html", context, status=status)


# --- after-sales -------------------------------------------------------------------------------------------
@friendly_errors
@require_http_methods(["GET", "POST"])
def refund_new(request, order_id):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:refund_new", args=[order_id]))
    order = order_for_customer(customer=customer, order_id=order_id, merchant=merchant_context(request))
    order_url = reverse("storefront:order", args=[order.pk])
    lines = list(order.lines.all())
    claimed: dict[int, int] = {}
    for row in order.refund_requests.all():
        if row.status in (RefundStatus.PENDING, RefundStatus.APPROVED, RefundStatus.REFUNDED):
            for refund_line in row.lines.all():
                claimed[refund_line.order_line_id] = (
                    claimed.get(refund_line.order_line_id, 0) + refund_line.quantity
                )
    choices = [
        {**_line_out(line), "left": line.quantity - claimed.get(line.pk, 0), "picked": 0} for line in lines
    ]
    form = {"scope": "whole", "reason": "", "detail": ""}
    error = ""
    status = 200
    if order.status not in REFUNDABLE_STATUSES and order.status != S.REFUND_REQUESTED:
        messages.error(request, _("这个订单现在不能申请售后"))
        return HttpResponseRedirect(order_url)
    if request.method == "POST":
        form = {
            "scope": "lines" if request.POST.get("scope") == "lines" else "whole",
            "reason": _clean_text(request.POST.get("reason"), 40),
            "detail": _clean_text(request.POST.get("detail"), 150),
        }
        picked = []
        for choice in choices:
            qty = request.POST.get(f"qty_{choice['id']}", "0")
            try:
                qty = max(0, int(qty))
            except ValueError:
                qty = 0
            choice["picked"] = qty
            if qty:
                picked.append((choice["id"], qty))
        reason = "；".join(part for part in (form["reason"], form["detail"]) if part)
        if not form["reason"]:
            error = _("请选择退款原因")
        elif form["scope"] == "lines" and not picked:
            error = _("请选择要退的商品和数量")
        else:
            try:
                refund_request_create(
                    customer=customer,
                    order_id=order.pk,
                    lines=picked if form["scope"] == "lines" else None,
                    reason=reason,
                )
            except NotFound:
                raise
            except DomainError as exc:
                error = _refund_error_text(exc)
                status = exc.status
            else:
                messages.success(request, _("售后申请已提交，请等待商家审核"))
                return HttpResponseRedirect(order_url)
        if error and status == 200:
            status = 400
    context = {
        "tab": "",
        "order": order,
        "lines": choices,
        "form": form,
        "reasons": REFUND_REASONS,
        "error": error,
        "order_url": order_url,
        "paid": presenters.price_parts(order.paid_amount - order.refunded_amount),
    }
    return render(request, "storefront/refund.html", context, status=status)


def _refund_error_text(exc: DomainError) -> str:
    return {
        "refund_in_progress": _("已有一个售后申请在处理中，请等待商家审核"),
        "refund_not_allowed": _("这个订单现在不能申请售后"),
        "refund_window_closed": _("已超过售后期限"),
        "refund_limit_reached": _("这个订单的售后申请次数已用完"),
        "already_refunded": _("所选商品已经退过款了"),
        "unknown_order_line": _("请选择要退的商品和数量"),
    }.get(exc.code, _("提交失败，请检查后重试"))
