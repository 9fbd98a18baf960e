"""The storefront's buying loop, first half: the cart and checkout.

- The cart is the signed-in customer's cart at the current store (the `mendian_store` cookie).
  Lines the store cannot sell now (delisted, out of stock, not enough) are marked, and the nearest
  stores holding everything are offered; switching moves the cart there.
- Checkout: pickup (a time inside opening hours after the preparation time, a contact who may
  collect for someone else) or delivery (a saved address within the radius). Every refusal of the
  quote is a form message; nothing is created. The form carries an idempotency key, so a
  double-submit places one order.
Orders and payment are in `storefront/orders.py`.
"""

import datetime as dt
import json
import time
import uuid
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mendian.catalog.selectors import store_product_detail
from mendian.checkout.models import MAX_LINE_QUANTITY
from mendian.checkout.pricing import PricingContext, price
from mendian.checkout.selectors import (
    CheckoutInput,
    addresses_for_customer,
    cart_read,
    checkout_quote,
    priced_line,
    skus_at_store,
    store_for_checkout,
)
from mendian.checkout.services import cart_clear, cart_line_set
from mendian.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from mendian.core.idempotency import HEADER, idempotent
from mendian.inventory.selectors import stock_available_for, stores_with_all_stock
from mendian.merchants.selectors import merchant_context
from mendian.orders.services import order_create
from mendian.stores.hours import format_hhmm, schedule_is_open, store_schedule
from mendian.stores.models import StoreStatus
from mendian.stores.selectors import store_public_get, stores_nearest
from mendian.web.storefront import presenters
from mendian.web.storefront.cartbar import cart_summary
from mendian.web.storefront.views import (
    STORE_COOKIE,
    _clean_text,
    _cookie_location,
    _current_store,
    _safe_next,
    _set_cookie,
    _signed_in_customer,
    friendly_errors,
)

# Pickup times are offered every quarter hour.
SLOT_MINUTES = 15
# Nearby stores offered when this one is short, and how far we look for them.
ALTERNATIVES = 3
ALTERNATIVES_RADIUS_KM = 20.0
# How long a double-submit waits for the first submit to finish before giving up.
IN_PROGRESS_WAIT_S = 5.0


# --- helpers -----------------------------------------------------------------------------------------
def login_redirect(request, next_url: str):
    """To the sign-in page, coming back to `next_url`; htmx follows with a full page load."""
    url = f"{reverse('storefront:me')}?{urlencode({'next': next_url})}"
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _toast(response, text: str, kind: str = "success"):
    response["HX-Trigger"] = json.dumps({"mendian:toast": {"text": text, "kind": kind}})
    return response


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _money(amount: int) -> dict:
    return presenters.price_parts(amount)


def _yuan(amount: int) -> str:
    return presenters.price_parts(amount)["yuan"]


def _radius_text(metres: int) -> str:
    return presenters.distance_text(metres)


# --- the cart bar (store and product pages) -----------------------------------------------------------
def _cartbar_response(request, customer, store, *, toast: str = "", kind: str = "success"):
    response = render(
        request,
        "storefront/_cartbar.html",
        {
            "cartbar": cart_summary(customer, store),
            "store": store,
            "over_buybar": request.POST.get("bar") == "buy",
        },
    )
    return _toast(response, toast, kind) if toast else response


@friendly_errors
@require_POST
def cart_add(request):
    """Adds one SKU (or a product's only SKU) to the cart at a store. htmx gets the refreshed cart
    bar and a toast; without JavaScript the customer goes back where they were."""
    store = store_public_get(store_id=request.POST.get("store_id", ""), merchant=merchant_context(request))
    back = _safe_next(request, reverse("storefront:store", args=[store.pk]))
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, back)
    sku_id = _clean_text(request.POST.get("sku_id"), 20)
    product_id = _clean_text(request.POST.get("product_id"), 20)
    if not sku_id and product_id:
        detail = store_product_detail(store=store, product_id=product_id)
        if len(detail["variants"]) != 1:
            # Several specs: the customer chooses one on the product page.
            url = reverse("storefront:product", args=[store.pk, product_id])
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return HttpResponseRedirect(url)
        sku_id = detail["variants"][0]["sku_id"]
    quantity = max(1, min(_int(request.POST.get("quantity"), 1) or 1, MAX_LINE_QUANTITY))
    error = ""
    pk = _int(sku_id)
    if pk is None or pk < 1:
        raise NotFound("No such SKU.")
    in_cart = {
        int(line["sku_id"]): line["quantity"] for line in cart_read(customer=customer, store=store)["lines"]
    }
    wanted = in_cart.get(pk, 0) + quantity
    available = stock_available_for(store_id=store.pk, sku_ids=[pk]).get(pk, 0)
    if available <= 0:
        error = _("该商品本店暂无库存")
    elif wanted > available:
        error = _("库存不足，本店仅剩 %(n)s 件") % {"n": available}
    elif wanted > MAX_LINE_QUANTITY:
        error = _("每件商品最多买 %(n)s 件") % {"n": MAX_LINE_QUANTITY}
    else:
        try:
            cart_line_set(customer=customer, store=store, sku_id=pk, quantity=wanted)
        except Conflict:
            error = _("该商品本店暂不销售")
        except ValidationFailed as exc:
            error = _("购物车最多放 50 种商品") if exc.code == "cart_full" else _("数量有误")
    if request.POST.get("then") == "checkout" and not error:
        url = reverse("storefront:checkout")
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
    if request.htmx:
        return _cartbar_response(
            request, customer, store, toast=error or _("已加入购物车"), kind="error" if error else "success"
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("已加入购物车"))
    return HttpResponseRedirect(back)


# --- the cart page ------------------------------------------------------------------------------------
def _line_state(line: dict) -> tuple[str, str]:
    if not line["sold_here"]:
        return "gone", _("本店已不再销售")
    if line["stock_available"] <= 0:
        return "none", _("本店暂无库存")
    if line["stock_available"] < line["quantity"]:
        return "short", _("库存不足，仅剩 %(n)s 件") % {"n": line["stock_available"]}
    return "ok", ""


def _price_preview(customer, store, lines: list[dict]) -> dict | None:
    """The pricing pipeline over the lines that can be bought now (before a fulfilment is chosen:
    no delivery fee yet), for the cart's explanation. One query."""
    wanted = {int(line["sku_id"]): line["quantity"] for line in lines}
    if not wanted:
        return None
    skus = skus_at_store(store=store, sku_ids=list(wanted))
    ctx = price(
        PricingContext(
            currency=store.merchant.currency,
            lines=[priced_line(skus[pk], quantity) for pk, quantity in wanted.items()],
            fulfilment_type="pickup",
            delivery=None,
            customer_id=customer.pk,
            merchant_id=store.merchant_id,
            store_id=store.pk,
        )
    )
    return {
        "subtotal": _money(ctx.subtotal),
        "discounts": [{"label": d.label, "amount": _money(d.amount)} for d in ctx.discounts],
        "discount_total": _money(ctx.discount_total),
        "total": _money(ctx.goods_payable),
    }


def alternatives(store, wanted: dict[int, int], point: tuple[float, float] | None) -> list[dict]:
    """The nearest other open stores of the brand that hold every line of `wanted`."""
    if not wanted:
        return []
    holding = stores_with_all_stock(merchant_id=store.merchant_id, wanted=wanted) - {store.pk}
    if not holding:
        return []
    lat, lng = point or (store.lat, store.lng)
    hits = stores_nearest(
        lat=lat, lng=lng, radius_km=ALTERNATIVES_RADIUS_KM, merchant=store.merchant, open_now=None, limit=100
    )
    found = []
    for hit in hits:
        if hit.store.pk in holding and hit.store.status == StoreStatus.OPEN:
            found.append(presenters.store_card(hit.store, distance_m=hit.distance_m))
        if len(found) >= ALTERNATIVES:
            break
    return found


def _cart_context(request, customer, store) -> dict:
    cart = cart_read(customer=customer, store=store)
    lines, buyable, problems = [], [], []
    for line in cart["lines"]:
        state, note = _line_state(line)
        limit = min(MAX_LINE_QUANTITY, line["stock_available"]) if line["sold_here"] else 0
        lines.append(
            {
                **line,
                "state": state,
                "note": note,
                "unit": _money(line["unit_price"]["amount"]),
                "total": _money(line["line_total"]["amount"]),
                "specs_text": " / ".join(str(v) for v in (line["specs"] or {}).values()),
                "can_add": line["quantity"] < limit,
                "url": reverse("storefront:product", args=[store.pk, line["product_id"]]),
            }
        )
        if state == "ok":
            buyable.append(line)
        else:
            problems.append(line)
    others = []
    if problems:
        wanted = {int(line["sku_id"]): line["quantity"] for line in cart["lines"]}
        others = alternatives(store, wanted, _cookie_location(request))
    return {
        "tab": "cart",
        "store": store,
        "status": presenters.store_status(store),
        "lines": lines,
        "count": cart["item_count"],
        "problems": len(problems),
        "all_ok": bool(lines) and not problems,
        "preview": _price_preview(customer, store, buyable),
        "alternatives": others,
        "shop_url": reverse("storefront:store", args=[store.pk]),
    }


@friendly_errors
def cart(request):
    store = _current_store(request, merchant_context(request))
    customer = _signed_in_customer(request)
    shop_url = reverse("storefront:store", args=[store.pk]) if store else reverse("storefront:home")
    if customer is None or store is None:
        context = {"tab": "cart", "store": store, "shop_url": shop_url, "customer": customer, "lines": []}
        return render(request, "storefront/cart.html", context)
    context = _cart_context(request, customer, store)
    context["customer"] = customer
    return render(request, "storefront/cart.html", context)


@friendly_errors
@require_POST
def cart_set(request):
    """The cart page's steppers and remove buttons: sets one line's quantity (0 removes it)."""
    store = store_public_get(store_id=request.POST.get("store_id", ""), merchant=merchant_context(request))
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:cart"))
    quantity = _int(request.POST.get("quantity"))
    error = ""
    if quantity is None or not 0 <= quantity <= MAX_LINE_QUANTITY:
        error = _("数量有误")
    else:
        try:
            cart_line_set(
                customer=customer, store=store, sku_id=request.POST.get("sku_id", ""), quantity=quantity
            )
        except Conflict:
            error = _("该商品本店暂不销售，只能删除")
        except ValidationFailed:
            error = _("数量有误")
    if request.htmx:
        context = _cart_context(request, customer, store)
        response = render(request, "storefront/_cart_main.html", context)
        if not context["lines"]:
            response["HX-Refresh"] = "true"  # the empty cart is a different page
        return _toast(response, error, "error") if error else response
    if error:
        messages.error(request, error)
    return HttpResponseRedirect(reverse("storefront:cart"))


@friendly_errors
@require_POST
def cart_switch(request):
    """Moves the cart to another store of the brand (the one that has everything) and makes it the
    current store. Lines that store cannot sell stay behind, and the customer is told."""
    merchant = merchant_context(request)
    current = _current_store(request, merchant)
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:cart"))
    target = store_public_get(store_id=request.POST.get("store_id", ""), merchant=merchant)
    response = HttpResponseRedirect(reverse("storefront:cart"))
    _set_cookie(response, STORE_COOKIE, str(target.pk))
    if current is None or current.pk == target.pk:
        return response
    if current.merchant_id != target.merchant_id:
        raise NotFound("No such store.")
    left = 0
    for line in cart_read(customer=customer, store=current)["lines"]:
        try:
            cart_line_set(customer=customer, store=target, sku_id=line["sku_id"], quantity=line["quantity"])
        except DomainError:
            left += 1
    cart_clear(customer=customer, store=current)
    if left:
        messages.info(
            request, _("已切换到 %(name)s，%(n)s 件商品该店不售") % {"name": target.name, "n": left}
        )
    else:
        messages.success(request, _("已切换到 %(name)s，购物车商品已一起带过去") % {"name": target.name})
    return response


# --- checkout -----------------------------------------------------------------------------------------
def pickup_slots(store, now: dt.datetime) -> list[dict]:
    """Pickup times every quarter hour from the preparation time on, to the end of tomorrow
    (store-local), inside opening hours: the rules `checkout_quote` enforces."""
    tz = ZoneInfo(store.tz_name)
    schedule = store_schedule(store)
    local_now = now.astimezone(tz)
    earliest = (now + dt.timedelta(minutes=store.pickup_prep_minutes)).astimezone(tz)
    start = earliest.replace(second=0, microsecond=0)
    start += dt.timedelta(minutes=(-start.minute) % SLOT_MINUTES)
    if start < earliest:
        start += dt.timedelta(minutes=SLOT_MINUTES)
    latest = dt.datetime.combine(local_now.date() + dt.timedelta(days=2), dt.time(0, 0), tz)
    slots = []
    moment = start
    while moment < latest:
        if schedule_is_open(schedule, moment):
            day = _("今天") if moment.date() == local_now.date() else _("明天")
            slots.append(
                {
                    "value": moment.astimezone(dt.UTC).isoformat(),
                    "label": f"{day} {format_hhmm(moment.time())}",
                    "day": day,
                }
            )
        moment = (moment.astimezone(dt.UTC) + dt.timedelta(minutes=SLOT_MINUTES)).astimezone(tz)
    return slots


def _slot_groups(slots: list[dict]) -> list[dict]:
    groups: list[dict] = []
    for slot in slots:
        if not groups or groups[-1]["day"] != slot["day"]:
            groups.append({"day": slot["day"], "slots": []})
        groups[-1]["slots"].append(slot)
    return groups


def checkout_error_text(exc: DomainError, store, lines: list[dict]) -> str:
    """What the customer reads when the quote refuses the order (Chinese msgids, English in .po)."""
    code = exc.code
    if code == "outside_delivery_area":
        return _("该地址不在 %(store)s 的配送范围内（%(radius)s 以内）。请换一个地址，或选择到店自提。") % {
            "store": store.name,
            "radius": _radius_text(store.delivery_radius_m),
        }
    if code == "below_minimum_order":
        return _("配送订单满 ¥%(min)s 起送，再选购一些吧，或选择到店自提。") % {
            "min": _yuan(store.delivery_min_order)
        }
    if code == "store_closed":
        if store.status != StoreStatus.OPEN:
            return _("%(store)s 暂停营业，暂时不能下单。") % {"store": store.name}
        return _("%(store)s 现在休息中，暂不接单。自提订单可以预约营业时间内的取货时间。") % {
            "store": store.name
        }
    if code == "out_of_stock":
        short = [line["name"] for line in lines if line["stock_available"] < line["quantity"]]
        names = "、".join(short) if short else _("部分商品")
        return _("库存不足：%(names)s。请调整数量，或切换到有货的门店。") % {"names": names}
    if code == "not_sold_here":
        return _("部分商品本店已不再销售，请回到购物车删除。")
    if code == "invalid_pickup_time":
        return _("这个取货时间不可选（需在营业时间内、备货时间之后），请重新选择。")
    if code == "pickup_unavailable":
        return _("本店暂不支持到店自提。")
    if code == "delivery_unavailable":
        return _("本店暂不支持配送。")
    if code == "invalid_phone":
        return _("请输入正确的手机号")
    if code == "address_not_found":
        return _("请选择一个收货地址")
    if code in ("coupon_not_found", "insufficient_points"):
        return _("优惠券或积分不可用")
    if code == "idempotency_key_reused":
        return _("订单信息已变化，请确认后重新提交。")
    if code == "idempotency_request_in_progress":
        return _("订单正在提交，请稍候刷新。")
    return _("下单失败，请稍后再试。")


class _KeyedRequest:
    """The request as `core.idempotency` sees it: the form's hidden key stands for the header and
    the form's fields (not the raw body, which a multipart form no longer has) for the body."""

    def __init__(self, request, key: str):
        self._request = request
        self.headers = {HEADER: key}
        fields = sorted((k, v) for k, v in request.POST.lists() if k != "csrfmiddlewaretoken")
        self.body = urlencode(fields, doseq=True).encode()

    def __getattr__(self, name):
        return getattr(self._request, name)


class _Refused(DomainError):
    """A refusal replayed from the idempotency record (the first submit's answer)."""


def place_order_once(request, *, customer, merchant, data: CheckoutInput, key: str) -> str:
    """`order_create` behind the shared Idempotency-Key machinery, keyed by the form's key: a
    double-submit gets the first submit's order (or its refusal). Returns the order id."""

    @idempotent(lambda _request: f"customer:{customer.pk}")
    def run(_request):
        order = order_create(customer=customer, merchant=merchant, data=data)
        return JsonResponse({"id": str(order.pk)}, status=201)

    deadline = time.monotonic() + IN_PROGRESS_WAIT_S
    while True:
        try:
            response = run(_KeyedRequest(request, key))
            break
        except Conflict as exc:
            if exc.code != "idempotency_request_in_progress" or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    body = json.loads(response.content)
    if response.status_code == 201:
        return body["id"]
    raise _Refused(body.get("detail", ""), code=body.get("code"), status=response.status_code)


def _checkout_form(request, store, customer, addresses, slots, open_now: bool) -> dict:
    source = request.POST if request.method == "POST" else request.GET
    kind = source.get("type")
    if kind not in ("pickup", "delivery"):
        kind = "pickup" if store.pickup_enabled or not store.delivery_enabled else "delivery"
    default_slot = "asap" if open_now else (slots[0]["value"] if slots else "")
    address_ids = [str(a.pk) for a in addresses]
    address_id = source.get("address", "")
    if address_id not in address_ids:
        address_id = address_ids[0] if address_ids else ""
    # The member's own name and phone until the customer types someone else's.
    name = (
        _clean_text(source.get("contact_name"), 30) if "contact_name" in source else customer.nickname or ""
    )
    phone = (
        _clean_text(source.get("contact_phone"), 20) if "contact_phone" in source else customer.phone or ""
    )
    return {
        "type": kind,
        "pickup_at": source.get("pickup_at") or default_slot,
        "contact_name": name,
        "contact_phone": phone,
        "address": address_id,
        "note": _clean_text(source.get("note"), 200),
        "key": uuid.uuid4().hex,
    }


def _checkout_input(form: dict, lines: list[dict], store) -> CheckoutInput:
    pickup_at = None
    if form["type"] == "pickup" and form["pickup_at"] not in ("", "asap"):
        try:
            pickup_at = dt.datetime.fromisoformat(form["pickup_at"])
        except ValueError:
            raise ValidationFailed("pickup_at is not a time.", code="invalid_pickup_time") from None
        if pickup_at.tzinfo is None:
            raise ValidationFailed("pickup_at has no zone.", code="invalid_pickup_time")
    pickup = form["type"] == "pickup"
    return CheckoutInput(
        lines=[(line["sku_id"], line["quantity"]) for line in lines],
        fulfilment_type=form["type"],
        store_id=store.pk,
        address_id=None if pickup else (form["address"] or None),
        pickup_at=pickup_at,
        contact_name=form["contact_name"] if pickup else None,
        contact_phone=form["contact_phone"] if pickup else None,
        note=form["note"],
    )


def _quote_out(quote) -> dict:
    ctx = quote.ctx
    return {
        "subtotal": _money(ctx.subtotal),
        "discounts": [{"label": d.label, "amount": _money(d.amount)} for d in ctx.discounts],
        "delivery_fee": _money(ctx.delivery_fee),
        "delivery_fee_waived": ctx.delivery_fee_waived,
        "total": _money(ctx.total),
        "distance": presenters.distance_text(quote.distance_m) if quote.distance_m is not None else "",
    }


@friendly_errors
@require_http_methods(["GET", "POST"])
def checkout(request):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:checkout"))
    merchant = merchant_context(request)
    current = _current_store(request, merchant)
    if current is None:
        return HttpResponseRedirect(reverse("storefront:cart"))
    now = timezone.now()
    store = store_for_checkout(store_id=current.pk, merchant=merchant, at=now)
    cart_data = cart_read(customer=customer, store=store)
    lines = cart_data["lines"]
    key = _clean_text(request.POST.get("key"), 64) if request.method == "POST" else ""
    if not lines and key:
        # A second tap on 提交订单 after the first emptied the cart: the first's order.
        try:
            data = CheckoutInput(lines=[], fulfilment_type="pickup", store_id=store.pk)
            order_id = place_order_once(request, customer=customer, merchant=merchant, data=data, key=key)
            return HttpResponseRedirect(reverse("storefront:order_pay", args=[order_id]))
        except DomainError:
            pass
    if not lines:
        messages.info(request, _("购物车是空的，先去选购吧"))
        return HttpResponseRedirect(reverse("storefront:cart"))
    addresses = addresses_for_customer(customer=customer)
    slots = pickup_slots(store, now) if store.pickup_enabled else []
    open_now = store.status == StoreStatus.OPEN and schedule_is_open(store_schedule(store), now)
    form = _checkout_form(request, store, customer, addresses, slots, open_now)
    error, error_code, field_errors, quote = "", "", {}, None
    status = 200

    if form["type"] == "pickup" and request.method == "POST":
        if not form["contact_name"]:
            field_errors["contact_name"] = _("请填写取货人姓名")
        if not form["contact_phone"]:
            field_errors["contact_phone"] = _("请填写取货人手机号")
    if form["type"] == "delivery" and not form["address"]:
        field_errors["address"] = _("请先添加一个收货地址")

    if field_errors:
        status = 400 if request.method == "POST" else 200
    else:
        try:
            data = _checkout_input(form, lines, store)
            if request.method == "POST":
                if not key:
                    raise ValidationFailed("The form has no key.", code="stale_form")
                order_id = place_order_once(request, customer=customer, merchant=merchant, data=data, key=key)
                return HttpResponseRedirect(reverse("storefront:order_pay", args=[order_id]))
            quote = _quote_out(checkout_quote(customer=customer, merchant=merchant, data=data, now=now))
        except DomainError as exc:
            error_code = exc.code
            error = checkout_error_text(exc, store, lines)
            if exc.code == "invalid_phone":
                field_errors["contact_phone"] = error
            status = exc.status if request.method == "POST" else 200

    others = []
    if error_code in ("out_of_stock", "not_sold_here"):
        wanted = {int(line["sku_id"]): line["quantity"] for line in lines}
        others = alternatives(store, wanted, _cookie_location(request))
    context = {
        "tab": "",
        "store": store,
        "status": presenters.store_status(store),
        "form": form,
        "lines": [
            {
                **line,
                "total": _money(line["line_total"]["amount"]),
                "specs_text": " / ".join(str(v) for v in (line["specs"] or {}).values()),
            }
            for line in lines
        ],
        "count": cart_data["item_count"],
        "subtotal": _money(cart_data["subtotal"]["amount"]),
        "addresses": [
            {
                "id": str(a.pk),
                "name": a.contact_name,
                "phone": a.phone_masked,
                "text": a.address,
                "district": a.district,
                "is_default": a.is_default,
            }
            for a in addresses
        ],
        "slot_groups": _slot_groups(slots),
        "open_now": open_now,
        "quote": quote,
        "error": error,
        "error_code": error_code,
        "field_errors": field_errors,
        "alternatives": others,
        "delivery": {
            "radius": _radius_text(store.delivery_radius_m),
            "fee": _money(store.delivery_fee),
            "free_over": _money(store.delivery_free_over) if store.delivery_free_over else None,
            "min_order": _money(store.delivery_min_order),
        },
        "address_url": reverse("storefront:address_new"),
    }
    return render(request, "storefront/checkout.html", context, status=status)
