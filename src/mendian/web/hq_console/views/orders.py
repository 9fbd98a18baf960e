"""HQ: orders across the stores in scope (filters, totals, detail) and their CSV export."""

import csv
import datetime as dt
import io
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mendian.core.errors import DomainError, NotFound
from mendian.core.money import format_yuan
from mendian.core.pii import mask_phone, normalize_phone
from mendian.orders.models import FulfilmentType, Order, OrderEvent, OrderStatus
from mendian.orders.selectors import (
    formula_safe,
    order_get_for_actor,
    orders_export_chunks,
    orders_for_hq,
    sales_report,
)
from mendian.payments.models import Payment
from mendian.web.auth import hq_view
from mendian.web.hq_console.common import message_domain_error
from mendian.web.hq_console.context import current_merchant_id, render_hq
from mendian.web.hq_console.forms_ops import PROVIDER_LABELS, OrderFilterForm
from mendian.web.hq_console.selectors import customer_ids_for_phone, order_totals, store_options
from mendian.web.hq_console.views.payments import refund_failure_text

ORDERS_PER_PAGE = 25
TODAY_STORES = 6
EXPORT_CHUNK = 500
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
STATUS_TONES = {
    OrderStatus.PENDING_PAYMENT: "warn",
    OrderStatus.PAID: "info",
    OrderStatus.PREPARING: "info",
    OrderStatus.READY_FOR_PICKUP: "brand",
    OrderStatus.OUT_FOR_DELIVERY: "brand",
    OrderStatus.DELIVERED: "brand",
    OrderStatus.COMPLETED: "",
    OrderStatus.CANCELLED: "",
    OrderStatus.REFUND_REQUESTED: "danger",
    OrderStatus.REFUNDED: "",
    OrderStatus.REFUND_REJECTED: "warn",
}


class _BadFilter(Exception):
    pass


def _filtered_orders(request, stores):
    """The scoped order queryset for the page's filters, and the bound filter form."""
    form = OrderFilterForm(request.GET or None, stores=stores)
    if request.GET and not form.is_valid():
        raise _BadFilter(form)
    data = form.cleaned_data if request.GET else {}
    q = data.get("q") or ""
    phone = None
    if q:
        try:
            phone = normalize_phone(q)
        except ValueError:
            phone = None
    qs = orders_for_hq(
        actor=request.actor,
        store_id=data.get("store") or None,
        status=data.get("status") or None,
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        number=None if phone else (q or None),
        merchant_id=current_merchant_id(request),
    )
    if data.get("fulfilment"):
        qs = qs.filter(fulfilment_type=data["fulfilment"])
    if phone:
        qs = qs.filter(customer_id__in=customer_ids_for_phone(phone))
    return qs, form


def _today_by_store(request) -> dict | None:
    """Today's paid sales per store (the merchant's day); None for a platform admin across merchants."""
    merchant_id = current_merchant_id(request)
    if request.actor.is_platform and merchant_id is None:
        return None
    today = timezone.localdate()
    try:
        report = sales_report(actor=request.actor, date_from=today, date_to=today, merchant_id=merchant_id)
    except DomainError:
        return None
    stores = sorted(report["stores"], key=lambda row: -row["net"]["amount"])
    return {
        "net": format_yuan(report["totals"]["net"]["amount"]),
        "orders": report["totals"]["orders"],
        "stores": [
            {"name": row["store_name"], "orders": row["orders"], "net": format_yuan(row["net"]["amount"])}
            for row in stores[:TODAY_STORES]
        ],
        "more": max(0, len(stores) - TODAY_STORES),
    }


@hq_view
def order_list(request):
    actor = request.actor
    stores = store_options(actor=actor, merchant_id=current_merchant_id(request))
    try:
        qs, form = _filtered_orders(request, stores)
    except _BadFilter as bad:
        form = bad.args[0]
        qs = Order.objects.none()
    except DomainError as exc:
        message_domain_error(request, exc)
        form = OrderFilterForm(stores=stores)
        qs = Order.objects.none()
    totals = order_totals(qs)
    paginator = Paginator(
        qs.select_related("store", "merchant").annotate(items=Sum("lines__quantity")).order_by("-pk"),
        ORDERS_PER_PAGE,
    )
    paginator.count = totals["count"]  # counted with the sums already: no second COUNT query
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    rows = [
        {
            "order": order,
            "tone": STATUS_TONES.get(order.status, ""),
            "total": format_yuan(order.total),
            "refunded": format_yuan(order.refunded_amount),
        }
        for order in page.object_list
    ]
    for key in ("total", "paid", "refunded"):
        totals[f"{key}_yuan"] = format_yuan(totals[key])
    return render_hq(
        request,
        "hq/orders.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "totals": totals,
            "query": params.urlencode(),
            "filtered": any(value for key, value in request.GET.items() if key not in ("page", "merchant")),
            "today": _today_by_store(request),
        },
        nav="orders",
    )


@hq_view
def order_detail(request, order_id):
    actor = request.actor
    try:
        order = order_get_for_actor(actor=actor, order_id=order_id, capability="hq.access")
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="orders", status=404)
    payments = list(Payment.objects.filter(order=order).prefetch_related("refunds").order_by("pk"))
    events = list(OrderEvent.objects.filter(order=order).select_related("staff").order_by("at", "pk"))
    y = format_yuan
    amounts = [
        (_("商品金额"), y(order.subtotal)),
        (_("优惠"), "-" + y(order.discount_total) if order.discount_total else y(0)),
        (_("配送费"), y(order.delivery_fee)),
        (_("订单金额"), y(order.total)),
        (_("已支付"), y(order.paid_amount)),
        (_("已退款"), y(order.refunded_amount)),
    ]
    lines = [
        {
            "line": line,
            "unit": y(line.unit_price),
            "total": y(line.line_total),
            "discount": y(line.discount_allocated),
            "net": y(line.net_total),
        }
        for line in order.lines.all()
    ]
    payment_rows = [
        {
            "payment": payment,
            "provider": PROVIDER_LABELS.get(payment.provider, payment.provider),
            "amount": y(payment.amount),
            "refunds": [
                {
                    "refund": refund,
                    "amount": y(refund.amount),
                    "failure": refund_failure_text(refund),
                }
                for refund in payment.refunds.all()
            ],
        }
        for payment in payments
    ]
    refund_rows = [{"request": rr, "amount": y(rr.amount)} for rr in order.refund_requests.all()]
    return render_hq(
        request,
        "hq/order_detail.html",
        {
            "order": order,
            "store": order.store,
            "amounts": amounts,
            "lines": lines,
            "payments": payment_rows,
            "events": events,
            "refund_requests": refund_rows,
            "tone": STATUS_TONES.get(order.status, ""),
            "phone": order.contact_phone_masked,
        },
        nav="orders",
    )


# --- CSV export ----------------------------------------------------------------------------------------
EXPORT_HEADER = (
    gettext_noop("订单号"),
    gettext_noop("下单时间"),
    gettext_noop("门店编码"),
    gettext_noop("门店"),
    gettext_noop("状态"),
    gettext_noop("履约方式"),
    gettext_noop("件数"),
    gettext_noop("商品金额"),
    gettext_noop("优惠"),
    gettext_noop("配送费"),
    gettext_noop("订单金额"),
    gettext_noop("已支付"),
    gettext_noop("已退款"),
    gettext_noop("币种"),
    gettext_noop("支付时间"),
    gettext_noop("完成时间"),
    gettext_noop("取消时间"),
    gettext_noop("联系电话"),
)


def csv_cell(value) -> str:
    """A cell as text, local times, formula-safe."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return formula_safe(str(value))


def export_rows(qs, *, chunk_size: int = EXPORT_CHUNK) -> Iterator[str]:
    """The CSV text of `qs`, header first (with a BOM so Excel reads UTF-8), in yuan with Chinese
    labels; phones masked."""
    statuses = dict(OrderStatus.choices)
    fulfilment = dict(FulfilmentType.choices)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_(title) for title in EXPORT_HEADER])
    yield "\ufeff" + buffer.getvalue()
    for chunk in orders_export_chunks(qs, extra=("contact_phone",), chunk_size=chunk_size):
        buffer.seek(0)
        buffer.truncate()
        for row in chunk:
            (number, created, code, name, status, ftype, items, *amounts) = row
            subtotal, discount, fee, total, paid, refunded, currency, paid_at, done_at, cancel_at, phone = (
                amounts
            )
            writer.writerow(
                [
                    csv_cell(value)
                    for value in (
                        number,
                        created,
                        code,
                        name,
                        statuses.get(status, status),
                        fulfilment.get(ftype, ftype),
                        items or 0,
                        format_yuan(subtotal),
                        format_yuan(discount),
                        format_yuan(fee),
                        format_yuan(total),
                        format_yuan(paid),
                        format_yuan(refunded),
                        currency,
                        paid_at,
                        done_at,
                        cancel_at,
                        mask_phone(phone or ""),
                    )
                ]
            )
        yield buffer.getvalue()


@hq_view
def order_export(request):
    actor = request.actor
    stores = store_options(actor=actor, merchant_id=current_merchant_id(request))
    try:
        qs, _form = _filtered_orders(request, stores)
    except (_BadFilter, DomainError):
        qs = Order.objects.none()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        export_rows(qs, chunk_size=EXPORT_CHUNK), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    return response
