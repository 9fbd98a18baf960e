"""The store console's stock work: levels (low-stock filter, search), adjustments, thresholds (store
managers and HQ roles), stocktakes, transfers between stores and restock requests (要货)."""

import uuid

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.core.errors import DomainError, NotFound
from mendian.inventory.models import AdjustReason, StocktakeStatus, TransferStatus
from mendian.inventory.selectors import (
    restock_request_get_for_actor,
    restock_requests_for_actor,
    sku_for_store,
    stock_levels,
    stocktake_get_for_actor,
    stocktake_lines,
    stocktakes_for_actor,
    store_of_merchant,
    store_sku_options,
    transfer_destinations,
    transfer_get_for_actor,
    transfers_for_actor,
)
from mendian.inventory.services import (
    restock_request_create,
    restock_request_receive,
    stock_adjust,
    stock_thresholds_set,
    stocktake_cancel,
    stocktake_commit,
    stocktake_record_counts,
    stocktake_start,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from mendian.web.auth import forbidden, store_view
from mendian.web.hq_console.common import cursor_param, error_message, message_domain_error, page_links
from mendian.web.store_console.views import render_store

STOCK_PER_PAGE = 50
DOCS_PER_PAGE = 30
FORM_LINES = 6

STOCK_ERRORS = {
    "insufficient_stock": gettext_lazy("库存不足：扣减后会低于零或低于已被订单预占的数量"),
    "invalid_state_transition": gettext_lazy("单据状态已变化，无法执行该操作"),
}


def _say(request, exc: DomainError) -> None:
    known = STOCK_ERRORS.get(exc.code)
    if known:
        detail = exc.detail if exc.code == "insufficient_stock" else ""
        messages.error(request, f"{known}{('（' + detail + '）') if detail else ''}")
    else:
        message_domain_error(request, exc)


def _url(request, name: str, *args, **query) -> str:
    url = reverse(name, args=args) + request.store_query
    extra = "&".join(f"{key}={value}" for key, value in query.items() if value not in (None, ""))
    if extra:
        url += ("&" if "?" in url else "?") + extra
    return url


def _int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _lines_from_post(post) -> tuple[list[tuple[int, int]], list[str]]:
    """`sku` / `qty` pairs of a lines form (blank rows skipped) and what is wrong with them."""
    lines, problems = [], []
    for sku, qty in zip(post.getlist("sku"), post.getlist("qty"), strict=False):
        if not sku and not qty.strip():
            continue
        quantity = _int(qty)
        if not sku:
            problems.append(_("有一行没有选择商品"))
        elif quantity is None or quantity < 1:
            problems.append(_("数量须为正整数"))
        else:
            lines.append((_int(sku), quantity))
    if not lines and not problems:
        problems.append(_("请至少填写一行商品和数量"))
    seen = set()
    for sku_id, _qty in lines:
        if sku_id in seen:
            problems.append(_("同一商品请只填写一行"))
            break
        seen.add(sku_id)
    return lines, problems


# --- levels ----------------------------------------------------------------------------------------


@store_view
def stock(request):
    actor, store = request.actor, request.store
    q = request.GET.get("q", "").strip()[:100]
    low = request.GET.get("low") == "1"
    try:
        page = stock_levels(
            actor=actor,
            store_id=store.pk,
            low_only=low,
            q=q or None,
            limit=STOCK_PER_PAGE,
            cursor=cursor_param(request),
        )
    except DomainError as exc:
        message_domain_error(request, exc)
        page = {"items": [], "next_cursor": None}
    return render_store(
        request,
        "store/stock.html",
        {
            "items": page["items"],
            "pages": page_links(request, page["next_cursor"]),
            "q": q,
            "low": low,
            "reasons": AdjustReason.choices,
            "nonce": uuid.uuid4().hex,
            "can_adjust": actor.can("stock.adjust"),
            "can_threshold": actor.can("store.settings"),
            "back": request.get_full_path(),
        },
        nav="stock",
    )


def _back_to(request, fallback: str):
    target = request.POST.get("next", "")
    if target.startswith("/store/") and not target.startswith("//"):
        return redirect(target)
    return redirect(fallback)


@store_view
def stock_adjust_view(request):
    fallback = _url(request, "store:stock")
    if request.method != "POST":
        return redirect(fallback)
    actor, store = request.actor, request.store
    delta = _int(request.POST.get("delta"))
    reason = request.POST.get("reason", "")
    if delta is None or delta == 0:
        messages.error(request, _("调整数量须为非零整数（正数加库存，负数减库存）"))
        return _back_to(request, fallback)
    if reason not in AdjustReason.values:
        messages.error(request, _("请选择调整原因"))
        return _back_to(request, fallback)
    try:
        sku = sku_for_store(store=store, sku_id=request.POST.get("sku_id"))
        level = stock_adjust(
            actor=actor,
            store=store,
            sku=sku,
            delta=delta,
            reason=reason,
            note=request.POST.get("note", "").strip()[:200],
            # The form's nonce: a double submit applies once.
            source_id=(request.POST.get("nonce") or "")[:64] or None,
        )
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        _say(request, exc)
    else:
        messages.success(
            request,
            _("“%(name)s”库存已调整 %(delta)+d，现有 %(on_hand)s")
            % {"name": sku.product.name, "delta": delta, "on_hand": level.on_hand},
        )
    return _back_to(request, fallback)


@store_view
def stock_threshold_view(request):
    fallback = _url(request, "store:stock")
    if request.method != "POST":
        return redirect(fallback)
    actor, store = request.actor, request.store
    if not actor.can("store.settings"):
        return forbidden(request, _("只有店长可以设置低库存阈值"), console="store")
    raw = request.POST.get("threshold", "").strip()
    threshold = None if raw == "" else _int(raw, -1)
    if threshold is not None and threshold < 0:
        messages.error(request, _("阈值须为不小于 0 的整数，留空则使用商户默认值"))
        return _back_to(request, fallback)
    try:
        sku = sku_for_store(store=store, sku_id=request.POST.get("sku_id"))
        stock_thresholds_set(actor=actor, store=store, items=[{"sku_id": sku.pk, "threshold": threshold}])
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        _say(request, exc)
    else:
        messages.success(request, _("“%(name)s”的低库存阈值已保存") % {"name": sku.product.name})
    return _back_to(request, fallback)


# --- stocktakes ------------------------------------------------------------------------------------


@store_view
def stocktakes(request):
    actor, store = request.actor, request.store
    rows = list(stocktakes_for_actor(actor=actor, store_id=store.pk)[:DOCS_PER_PAGE])
    return render_store(
        request,
        "store/stocktakes.html",
        {"rows": rows, "can_stocktake": actor.can("stock.stocktake")},
        nav="stocktakes",
    )


@store_view
def stocktake_new(request):
    fallback = _url(request, "store:stocktakes")
    if request.method != "POST":
        return redirect(fallback)
    actor = request.actor
    if not actor.can("stock.stocktake"):
        return forbidden(request, _("只有店长可以发起盘点"), console="store")
    try:
        sheet = stocktake_start(
            actor=actor, store=request.store, note=request.POST.get("note", "").strip()[:200]
        )
    except DomainError as exc:
        _say(request, exc)
        return redirect(fallback)
    messages.success(request, _("盘点单 %(ref)s 已创建，请逐项填写实盘数量") % {"ref": sheet.reference})
    return redirect(_url(request, "store:stocktake", sheet.pk))


def _stocktake_or_404(request, stocktake_id):
    try:
        sheet = stocktake_get_for_actor(actor=request.actor, stocktake_id=stocktake_id)
    except NotFound:
        raise Http404 from None
    if sheet.store_id != request.store.pk:
        raise Http404
    return sheet


@store_view
def stocktake(request, stocktake_id):
    sheet = _stocktake_or_404(request, stocktake_id)
    lines = stocktake_lines(sheet)
    rows = []
    for line in lines:
        variance = None if line.counted is None else line.counted - line.expected
        rows.append({"line": line, "variance": variance})
    counted = sum(1 for row in rows if row["variance"] is not None)
    return render_store(
        request,
        "store/stocktake.html",
        {
            "sheet": sheet,
            "rows": rows,
            "counted": counted,
            "differing": sum(1 for row in rows if row["variance"]),
            "is_open": sheet.status == StocktakeStatus.OPEN,
            "can_stocktake": request.actor.can("stock.stocktake"),
        },
        nav="stocktakes",
    )


@store_view
def stocktake_save(request, stocktake_id):
    """Saves the counts typed in; `commit` applies them, `cancel` drops the sheet."""
    sheet = _stocktake_or_404(request, stocktake_id)
    here = _url(request, "store:stocktake", sheet.pk)
    if request.method != "POST":
        return redirect(here)
    actor = request.actor
    if not actor.can("stock.stocktake"):
        return forbidden(request, _("只有店长可以盘点"), console="store")
    action = request.POST.get("action", "save")
    try:
        if action == "cancel":
            stocktake_cancel(actor=actor, stocktake=sheet)
            messages.success(request, _("盘点单 %(ref)s 已作废") % {"ref": sheet.reference})
            return redirect(here)
        counts, bad = [], []
        for key, raw in request.POST.items():
            if not key.startswith("count-"):
                continue
            sku_id = _int(key.removeprefix("count-"))
            raw = raw.strip()
            value = None if raw == "" else _int(raw, -1)
            if sku_id is None or (value is not None and value < 0):
                bad.append(raw)
                continue
            counts.append((sku_id, value))
        if bad:
            messages.error(
                request, _("实盘数量须为不小于 0 的整数：%(values)s") % {"values": "、".join(bad[:5])}
            )
            return redirect(here)
        if counts:
            stocktake_record_counts(actor=actor, stocktake=sheet, counts=counts)
        if action == "commit":
            stocktake_commit(actor=actor, stocktake=sheet)
            messages.success(request, _("盘点单 %(ref)s 已提交，库存已按实盘调整") % {"ref": sheet.reference})
        else:
            messages.success(request, _("实盘数量已保存"))
    except DomainError as exc:
        _say(request, exc)
    return redirect(here)


# --- transfers -------------------------------------------------------------------------------------


def _transfer_rows(transfers, store):
    rows = []
    for transfer in transfers:
        outgoing = transfer.from_store_id == store.pk
        rows.append(
            {
                "t": transfer,
                "outgoing": outgoing,
                "other": transfer.to_store if outgoing else transfer.from_store,
                "lines": list(transfer.lines.all()),
                "can_ship": outgoing and transfer.status == TransferStatus.CREATED,
                "can_receive": not outgoing and transfer.status == TransferStatus.IN_TRANSIT,
                "can_cancel": transfer.status == TransferStatus.CREATED,
            }
        )
    return rows


@store_view
def transfers(request):
    actor, store = request.actor, request.store
    rows = _transfer_rows(transfers_for_actor(actor=actor, store_id=store.pk)[:DOCS_PER_PAGE], store)
    can_transfer = actor.can("stock.transfer")
    return render_store(
        request,
        "store/transfers.html",
        {
            "incoming": [row for row in rows if not row["outgoing"]],
            "outgoing": [row for row in rows if row["outgoing"]],
            "can_transfer": can_transfer,
            "destinations": transfer_destinations(actor=actor, store=store) if can_transfer else [],
            "sku_options": store_sku_options(actor=actor, store=store, in_stock_only=True)
            if can_transfer
            else [],
            "form_lines": range(FORM_LINES),
        },
        nav="transfers",
    )


@store_view
def transfer_new(request):
    fallback = _url(request, "store:transfers")
    if request.method != "POST":
        return redirect(fallback)
    actor, store = request.actor, request.store
    if not actor.can("stock.transfer"):
        return forbidden(request, _("只有店长可以发起调拨"), console="store")
    lines, problems = _lines_from_post(request.POST)
    to_id = request.POST.get("to_store", "")
    if not to_id:
        problems.insert(0, _("请选择调入门店"))
    if problems:
        for problem in problems:
            messages.error(request, problem)
        return redirect(fallback)
    try:
        to_store = store_of_merchant(actor=actor, store_id=to_id)
        transfer = transfer_create(
            actor=actor,
            from_store=store,
            to_store=to_store,
            lines=lines,
            note=request.POST.get("note", "").strip()[:200],
        )
    except DomainError as exc:
        _say(request, exc)
        return redirect(fallback)
    messages.success(
        request,
        _("调拨单 %(ref)s 已创建（调往 %(store)s），货物出库时请点“发货”")
        % {"ref": transfer.reference, "store": to_store.name},
    )
    return redirect(fallback)


@store_view
def transfer_action(request, transfer_id, action):
    fallback = _url(request, "store:transfers")
    if request.method != "POST":
        return redirect(fallback)
    actor, store = request.actor, request.store
    try:
        transfer = transfer_get_for_actor(actor=actor, transfer_id=transfer_id)
    except NotFound:
        raise Http404 from None
    if store.pk not in (transfer.from_store_id, transfer.to_store_id):
        raise Http404
    if not actor.can("stock.transfer"):
        return forbidden(request, _("只有店长可以处理调拨单"), console="store")
    services = {
        "ship": (transfer_ship, _("调拨单 %(ref)s 已发货，库存已扣减")),
        "receive": (transfer_receive, _("调拨单 %(ref)s 已收货，库存已增加")),
        "cancel": (transfer_cancel, _("调拨单 %(ref)s 已取消")),
    }
    if action not in services:
        raise Http404
    service, said = services[action]
    try:
        service(actor=actor, transfer=transfer)
    except DomainError as exc:
        _say(request, exc)
    else:
        messages.success(request, said % {"ref": transfer.reference})
    return redirect(fallback)


# --- restock requests (要货) ------------------------------------------------------------------------


@store_view
def restock(request):
    actor, store = request.actor, request.store
    rows = list(restock_requests_for_actor(actor=actor, store_id=store.pk)[:DOCS_PER_PAGE])
    can_request = actor.can("stock.transfer")
    return render_store(
        request,
        "store/restock.html",
        {
            "rows": rows,
            "can_request": can_request,
            "sku_options": store_sku_options(actor=actor, store=store) if can_request else [],
            "form_lines": range(FORM_LINES),
        },
        nav="restock",
    )


@store_view
def restock_new(request):
    fallback = _url(request, "store:restock")
    if request.method != "POST":
        return redirect(fallback)
    actor, store = request.actor, request.store
    if not actor.can("stock.transfer"):
        return forbidden(request, _("只有店长可以提交要货申请"), console="store")
    lines, problems = _lines_from_post(request.POST)
    if problems:
        for problem in problems:
            messages.error(request, problem)
        return redirect(fallback)
    try:
        created = restock_request_create(
            actor=actor, store=store, lines=lines, note=request.POST.get("note", "").strip()[:200]
        )
    except DomainError as exc:
        _say(request, exc)
        return redirect(fallback)
    messages.success(request, _("要货申请 %(ref)s 已提交，等待总部审批") % {"ref": created.reference})
    return redirect(fallback)


@store_view
def restock_receive(request, request_id):
    fallback = _url(request, "store:restock")
    if request.method != "POST":
        return redirect(fallback)
    actor, store = request.actor, request.store
    try:
        found = restock_request_get_for_actor(actor=actor, request_id=request_id)
    except NotFound:
        raise Http404 from None
    if found.store_id != store.pk:
        raise Http404
    if not actor.can("stock.transfer"):
        return forbidden(request, _("只有店长可以收货入库"), console="store")
    try:
        restock_request_receive(actor=actor, request=found)
    except DomainError as exc:
        messages.error(request, error_message(exc))
    else:
        messages.success(request, _("要货单 %(ref)s 已收货入库") % {"ref": found.reference})
    return redirect(fallback)
