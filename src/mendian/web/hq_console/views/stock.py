"""HQ: the store × SKU stock matrix and the stores' restock requests (要货) to approve or reject."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from mendian.catalog.selectors import category_tree
from mendian.core.errors import DomainError, NotFound
from mendian.inventory.models import RestockStatus
from mendian.inventory.selectors import restock_request_get_for_actor, restock_requests_for_actor
from mendian.inventory.services import restock_request_approve, restock_request_reject
from mendian.merchants.models import Merchant
from mendian.stores.models import StoreStatus
from mendian.web.auth import hq_view
from mendian.web.hq_console.common import error_message, message_domain_error
from mendian.web.hq_console.context import current_merchant_id, render_hq
from mendian.web.hq_console.forms import category_choices
from mendian.web.hq_console.forms_ops import RestockRejectForm
from mendian.web.hq_console.selectors import (
    category_with_descendants,
    stock_matrix_cells,
    stock_matrix_skus,
    store_options,
)

SKUS_PER_PAGE = 30
REQUESTS_PER_PAGE = 15
MAX_QUANTITY = 1_000_000


@hq_view
def stock_matrix(request):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    if merchant_id is None:
        return render_hq(request, "hq/stock.html", {"need_merchant": True}, nav="stock")
    merchant = Merchant.objects.get(pk=merchant_id)
    stores = [
        s for s in store_options(actor=actor, merchant_id=merchant_id) if s.status != StoreStatus.CLOSED
    ]
    q = request.GET.get("q", "").strip()[:100]
    low_only = request.GET.get("low") == "1"
    category_ids = None
    category = request.GET.get("category", "")
    if category:
        category_ids = (
            category_with_descendants(merchant_id=merchant_id, category_id=int(category))
            if category.isdigit() and len(category) < 19
            else []
        )
    store_ids = [store.pk for store in stores]
    skus = stock_matrix_skus(
        actor=actor,
        merchant=merchant,
        store_ids=store_ids,
        category_ids=category_ids,
        q=q,
        low_only=low_only,
    )
    page = Paginator(skus, SKUS_PER_PAGE).get_page(request.GET.get("page"))
    sku_list = list(page.object_list)
    cells = stock_matrix_cells(merchant=merchant, sku_ids=[sku.pk for sku in sku_list], store_ids=store_ids)
    rows = []
    for sku in sku_list:
        row_cells = [cells.get((sku.pk, store_id)) for store_id in store_ids]
        rows.append(
            {
                "sku": sku,
                "cells": row_cells,
                "total": sum(cell["available"] for cell in row_cells if cell),
                "low_count": sum(1 for cell in row_cells if cell and cell["low"]),
            }
        )
    params = request.GET.copy()
    params.pop("page", None)
    categories = category_choices(category_tree(merchant_ids=[merchant_id]))
    return render_hq(
        request,
        "hq/stock.html",
        {
            "stores": stores,
            "rows": rows,
            "page": page,
            "q": q,
            "low_only": low_only,
            "category": category,
            "categories": categories,
            "query": params.urlencode(),
        },
        nav="stock",
    )


# --- restock requests ----------------------------------------------------------------------------------
def _restock_queryset(request, *, store_id, status):
    qs = restock_requests_for_actor(actor=request.actor, store_id=store_id or None, status=status or None)
    merchant_id = current_merchant_id(request)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    return qs.select_related("store", "created_by", "decided_by")


@hq_view
def restock_list(request):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    stores = store_options(actor=actor, merchant_id=merchant_id)
    status = request.GET.get("status", RestockStatus.PENDING)
    if status not in RestockStatus.values and status != "all":
        status = RestockStatus.PENDING
    store_id = request.GET.get("store", "")
    try:
        qs = _restock_queryset(request, store_id=store_id, status="" if status == "all" else status)
    except DomainError as exc:
        message_domain_error(request, exc)
        return redirect("hq:restock")
    page = Paginator(qs, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    pending_count = _restock_queryset(request, store_id="", status=RestockStatus.PENDING).count()
    params = request.GET.copy()
    params.pop("page", None)
    return render_hq(
        request,
        "hq/restock.html",
        {
            "page": page,
            "requests": list(page.object_list),
            "status": status,
            "statuses": [(RestockStatus.PENDING, _("待审批")), ("all", _("全部"))]
            + [(value, label) for value, label in RestockStatus.choices if value != RestockStatus.PENDING],
            "stores": stores,
            "store_id": store_id,
            "pending_count": pending_count,
            "query": params.urlencode(),
            "reject_form": RestockRejectForm(),
        },
        nav="restock",
    )


def _back(request) -> str:
    target = request.POST.get("back", "")
    base = reverse("hq:restock")
    return target if target.startswith(base) else base


def _approved_lines(request, restock) -> tuple[list[tuple[int, int]] | None, str | None]:
    lines = []
    for line in restock.lines.all():
        raw = request.POST.get(f"qty-{line.sku_id}", "").strip()
        if raw == "":
            continue
        if not raw.isdigit() or int(raw) > MAX_QUANTITY:
            return None, _("批准数量需为 0 到 1000000 的整数（%(sku)s）") % {"sku": line.sku.sku_code}
        lines.append((line.sku_id, int(raw)))
    return lines, None


@hq_view
def restock_approve(request, request_id):
    if request.method != "POST":
        return redirect("hq:restock")
    try:
        restock = restock_request_get_for_actor(actor=request.actor, request_id=request_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="restock", status=404)
    lines, problem = _approved_lines(request, restock)
    if problem:
        messages.error(request, problem)
        return redirect(_back(request))
    try:
        restock_request_approve(
            actor=request.actor, request=restock, lines=lines, note=request.POST.get("note", "")[:200]
        )
    except DomainError as exc:
        if exc.code == "validation_error" and any(
            item.get("msg") == "nothing approved" for item in exc.errors or []
        ):
            messages.error(request, _("至少批准一件商品；若全部不供货请驳回"))
        elif exc.code == "invalid_state_transition":
            messages.error(request, _("该要货单已处理过，请刷新"))
        else:
            messages.error(request, error_message(exc))
    else:
        messages.success(
            request,
            _("已批准 %(ref)s（%(store)s）") % {"ref": restock.reference, "store": restock.store.name},
        )
    return redirect(_back(request))


@hq_view
def restock_reject(request, request_id):
    if request.method != "POST":
        return redirect("hq:restock")
    try:
        restock = restock_request_get_for_actor(actor=request.actor, request_id=request_id)
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="restock", status=404)
    form = RestockRejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("note", [])))
        return redirect(_back(request))
    try:
        restock_request_reject(actor=request.actor, request=restock, note=form.cleaned_data["note"])
    except DomainError as exc:
        if exc.code == "invalid_state_transition":
            messages.error(request, _("该要货单已处理过，请刷新"))
        else:
            messages.error(request, error_message(exc))
    else:
        messages.success(request, _("已驳回 %(ref)s") % {"ref": restock.reference})
    return redirect(_back(request))
