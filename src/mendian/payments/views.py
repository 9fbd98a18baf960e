"""The sandbox gateway's hosted pay page (`/sandbox-pay/{payment_id}/confirm`, outside /api): no
login and no CSRF token — the unguessable payment id is the capability."""

from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mendian.core.errors import DomainError
from mendian.core.money import format_yuan
from mendian.payments import services


def _page(request, payment, *, state: str, message: str = "", status: int = 200):
    order = payment.order if payment is not None else None
    context = {
        "payment": payment,
        "order": order,
        "amount": format_yuan(payment.amount) if payment is not None else "",
        "state": state,
        "message": message,
        "return_url": _return_url(request),
    }
    return render(request, "payments/sandbox_confirm.html", context, status=status)


def _return_url(request) -> str:
    """Where the merchant asked to bring the customer back (`?return=`, same host only)."""
    target = request.GET.get("return", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return ""


@csrf_exempt
@require_http_methods(["GET", "POST"])
def sandbox_confirm(request, payment_id: str):
    if request.method == "GET":
        try:
            payment = services.sandbox_payment_get(payment_id=payment_id)
        except DomainError:
            return _missing(request)
        state = "paid" if payment.status not in ("created", "pending") else "open"
        return _page(request, payment, state=state)
    try:
        outcome, payment = services.sandbox_pay(payment_id=payment_id)
    except DomainError as exc:
        try:
            payment = services.sandbox_payment_get(payment_id=payment_id)
        except DomainError:
            return _missing(request)
        return _page(request, payment, state="error", message=exc.detail or exc.code, status=exc.status)
    # The page shows only what paying does not change (amount, order number, store).
    message = "订单已取消，款项将原路退回。" if outcome == "paid_after_cancel" else ""
    return _page(request, payment, state="paid", message=message)


def _missing(request):
    return _page(request, None, state="missing", message="找不到这笔支付。", status=404)
