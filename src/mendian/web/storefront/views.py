"""The H5 storefront: thin views that parse the request, call the domain selectors/services, render.

Customers choose a brand (`?m=<code>` or the `mendian_merchant` cookie) when the mall hosts
several, find a store near them (geolocation, a district, or a keyword), and browse that store's
shelves. The store they last opened is remembered in the `mendian_store` cookie.
"""

import math
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mendian.accounts.models import Customer
from mendian.catalog.selectors import category_tree, store_product_detail, store_products
from mendian.core.errors import DomainError, Forbidden, NotFound, RateLimited, ValidationFailed
from mendian.core.geo import haversine_m
from mendian.merchants.selectors import merchant_context, merchants_active
from mendian.stores.schemas import navigation_links
from mendian.stores.selectors import (
    check_coordinates,
    store_public_get,
    store_upcoming_special_days,
    stores_nearest,
)
from mendian.web.storefront import presenters
from mendian.web.storefront.cartbar import cart_summary

STORE_COOKIE = "mendian_store"
MERCHANT_COOKIE = "mendian_merchant"
LOCATION_COOKIE = "mendian_loc"
LARGE_FONT_COOKIE = "mendian_large_font"
COOKIE_MAX_AGE = 180 * 24 * 3600
LOCATION_MAX_AGE = 24 * 3600

# Where the list is centred before we know where the customer is. A merchant may set its own
# city centre in its settings: {"city_centre": {"lat": …, "lng": …, "name": "…"}} (GCJ-02).
DEFAULT_CENTRE = {"lat": 30.5928, "lng": 114.3055, "name": "武汉市中心"}
NEAREST_LIMIT = 20
# How many stores around the city centre feed the district chips.
DISTRICT_SAMPLE = 300
PAGE_SIZE = 20
SORT_TABS = (("", "综合"), ("sales", "销量"), ("price", "价格"), ("new", "新品"))
MAX_QUERY_LENGTH = 50


# --- errors ----------------------------------------------------------------------------------------
def error_page(
    request, status: int, title: str, message: str = "", *, back_url: str = "", back_label: str = ""
):
    return render(
        request,
        "storefront/error.html",
        {
            "status": status,
            "title": title,
            "message": message,
            "back_url": back_url or reverse("storefront:home"),
            "back_label": back_label or _("返回首页"),
            "tab": "",
        },
        status=status,
    )


def friendly_errors(view):
    """Domain errors become a storefront page a customer understands, never a 500 or JSON."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            if exc.code == "merchant_not_found":
                return error_page(request, 404, _("品牌不存在"), _("这个品牌不存在或已下线。"))
            return error_page(request, 404, _("没有找到"), _("您要找的门店或商品不存在，或已下架。"))
        except ValidationFailed:
            return error_page(request, 400, _("链接有误"), _("页面参数无法识别，请返回重新选择。"))
        except RateLimited:
            return error_page(request, 429, _("操作太频繁"), _("请稍后再试。"))

    return wrapper


# --- request helpers ---------------------------------------------------------------------------------
def _clean_text(value: str | None, limit: int = MAX_QUERY_LENGTH) -> str:
    return " ".join((value or "").split())[:limit]


def _parse_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _query_location(request) -> tuple[tuple[float, float] | None, bool]:
    """((lat, lng) in GCJ-02, or None; whether the request carried coordinates we could not use)."""
    raw_lat, raw_lng = request.GET.get("lat"), request.GET.get("lng")
    if raw_lat in (None, "") and raw_lng in (None, ""):
        return None, False
    lat, lng = _parse_float(raw_lat), _parse_float(raw_lng)
    coord_type = (request.GET.get("coord_type") or "gcj02").lower()
    if lat is None or lng is None:
        return None, True
    try:
        return check_coordinates(lat, lng, coord_type=coord_type), False
    except ValidationFailed:
        return None, True


def _cookie_location(request) -> tuple[float, float] | None:
    raw = request.COOKIES.get(LOCATION_COOKIE, "")
    lat_text, _sep, lng_text = raw.partition(",")
    lat, lng = _parse_float(lat_text), _parse_float(lng_text)
    if lat is None or lng is None:
        return None
    try:
        return check_coordinates(lat, lng)
    except ValidationFailed:
        return None


def _set_cookie(response, name: str, value: str, max_age: int = COOKIE_MAX_AGE):
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE
    )


class Brand:
    """Which merchant the pages are for. A brand's own H5 is pinned by its `X-Mendian-Merchant`
    header; in a multi-brand mall the customer picks one (or all) with `?m=` or the cookie."""

    def __init__(self, request):
        self.pinned = merchant_context(request)
        self.merchants = [] if self.pinned else list(merchants_active())
        self.cookie_value = None
        if self.pinned:
            self.merchant = self.pinned
            return
        by_code = {merchant.code: merchant for merchant in self.merchants}
        if len(self.merchants) == 1:
            self.merchant = self.merchants[0]
            return
        if "m" in request.GET:
            code = _clean_text(request.GET.get("m"), 40).lower()
            if code and code not in by_code:
                raise NotFound("No such merchant.", code="merchant_not_found")
            self.merchant = by_code.get(code)
            self.cookie_value = code
        else:
            self.merchant = by_code.get(request.COOKIES.get(MERCHANT_COOKIE, ""))

    @property
    def switcher(self) -> list:
        return self.merchants if len(self.merchants) > 1 else []

    @property
    def title(self) -> str:
        return self.merchant.display_name if self.merchant else _("门店商城")

    def remember(self, response) -> None:
        if self.cookie_value is None:
            return
        if self.cookie_value:
            _set_cookie(response, MERCHANT_COOKIE, self.cookie_value)
        else:
            response.delete_cookie(MERCHANT_COOKIE)


def _current_store(request, merchant=None):
    """The store remembered in the cookie, when it still exists for this brand context."""
    raw = request.COOKIES.get(STORE_COOKIE, "")
    if not raw:
        return None
    try:
        return store_public_get(store_id=raw, merchant=merchant)
    except (NotFound, ValidationFailed):
        return None


def _centre(merchant) -> dict:
    custom = (merchant.settings or {}).get("city_centre") if merchant is not None else None
    if isinstance(custom, dict):
        lat, lng = _parse_float(custom.get("lat")), _parse_float(custom.get("lng"))
        if lat is not None and lng is not None and -90 <= lat <= 90 and -180 <= lng <= 180:
            return {"lat": lat, "lng": lng, "name": str(custom.get("name") or _("市中心"))}
    return {"lat": DEFAULT_CENTRE["lat"], "lng": DEFAULT_CENTRE["lng"], "name": _(DEFAULT_CENTRE["name"])}


def _districts(hits) -> list[dict]:
    """District chips from the stores around the city centre: each centred on its stores' average."""
    groups: dict[str, list] = {}
    for hit in hits:
        name = (hit.store.district or "").strip()
        if name:
            groups.setdefault(name, []).append(hit.store)
    districts = [
        {
            "name": name,
            "lat": sum(store.lat for store in stores) / len(stores),
            "lng": sum(store.lng for store in stores) / len(stores),
            "count": len(stores),
        }
        for name, stores in groups.items()
    ]
    districts.sort(key=lambda d: (-d["count"], d["name"]))
    return districts


# --- pages ------------------------------------------------------------------------------------------
@friendly_errors
def home(request):
    brand = Brand(request)
    merchant = brand.merchant
    centre = _centre(merchant)
    q = _clean_text(request.GET.get("q"))
    district_name = _clean_text(request.GET.get("district"), 50)
    located, bad_location = _query_location(request)
    geo_denied = request.GET.get("geo") == "denied"
    force_centre = request.GET.get("centre") == "1"

    # One sweep around the city centre gives both the district chips and, when we know nothing
    # better, the list itself.
    around_centre = stores_nearest(
        lat=centre["lat"], lng=centre["lng"], merchant=merchant, limit=DISTRICT_SAMPLE
    )
    districts = _districts(around_centre)
    district = next((d for d in districts if d["name"] == district_name), None)

    skip_cookie = located or district or bad_location or geo_denied or force_centre
    remembered = None if skip_cookie else _cookie_location(request)
    if located:
        mode, point = "located", located
    elif district:
        mode, point = "district", (district["lat"], district["lng"])
    elif remembered:
        mode, point = "remembered", remembered
    else:
        mode, point = "centre", (centre["lat"], centre["lng"])

    if mode == "centre" and not q:
        hits = around_centre[:NEAREST_LIMIT]
    else:
        hits = stores_nearest(lat=point[0], lng=point[1], q=q or None, merchant=merchant, limit=NEAREST_LIMIT)

    current = _current_store(request, merchant)
    current_card = None
    if current is not None:
        distance = haversine_m(point[0], point[1], current.lat, current.lng) if mode != "centre" else None
        current_card = presenters.store_card(current, distance_m=distance)

    context = {
        "tab": "home",
        "brand": brand,
        "mode": mode,
        "centre": centre,
        "district": district,
        "districts": districts,
        "q": q,
        "point": {"lat": f"{point[0]:.6f}", "lng": f"{point[1]:.6f}"},
        "bad_location": bad_location,
        "geo_denied": geo_denied,
        "stores": [presenters.store_card(hit.store, distance_m=hit.distance_m) for hit in hits],
        "current": current_card,
    }
    response = render(request, "storefront/home.html", context, status=400 if bad_location else 200)
    brand.remember(response)
    if located:
        _set_cookie(response, LOCATION_COOKIE, f"{located[0]:.5f},{located[1]:.5f}", LOCATION_MAX_AGE)
    return response


def _sort_param(request) -> str:
    sort = request.GET.get("sort", "")
    return sort if sort in {"sales", "price", "price_desc", "new"} else ""


def _product_cards(page: dict, store) -> list[dict]:
    cards = []
    for item in page["items"]:
        price = item.get("price_from")
        cards.append(
            {
                "id": item["id"],
                "name": item["name"],
                "subtitle": item.get("subtitle") or "",
                "image": item.get("thumbnail") or item.get("image"),
                "price": presenters.price_parts(price["amount"]) if price else None,
                "available": item.get("available", False),
                "url": reverse("storefront:product", args=[store.pk, item["id"]]),
            }
        )
    return cards


def _page_url(path: str, params: dict) -> str:
    clean = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(clean)}" if clean else path


@friendly_errors
def store_page(request, store_id):
    scope = merchant_context(request)
    store = store_public_get(store_id=store_id, merchant=scope)
    sort = _sort_param(request)
    q = _clean_text(request.GET.get("q"))
    category_id = _clean_text(request.GET.get("c"), 20)
    cursor = request.GET.get("cursor") or None
    tree = category_tree(merchant_ids=[store.merchant_id])
    if category_id and not any(node["id"] == category_id for node in _flatten(tree)):
        raise NotFound("No such category.")
    page = store_products(
        store=store,
        category_id=category_id or None,
        q=q or None,
        sort=sort or None,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    path = reverse("storefront:store", args=[store.pk])
    base_params = {"c": category_id, "q": q, "sort": sort}
    more_url = _page_url(path, {**base_params, "cursor": page["next_cursor"]}) if page["next_cursor"] else ""
    products = _product_cards(page, store)
    if request.htmx and cursor:
        return render(
            request,
            "storefront/_product_page.html",
            {"products": products, "more_url": more_url, "oob": True, "has_items": True, "store": store},
        )

    location = _cookie_location(request)
    distance = haversine_m(location[0], location[1], store.lat, store.lng) if location else None
    sort_tabs = []
    for key, label in SORT_TABS:
        target = key
        if key == "price" and sort == "price":
            target = "price_desc"
        active = sort == key or (key == "price" and sort == "price_desc")
        arrow = ""
        if key == "price":
            arrow = "↓" if sort == "price_desc" else ("↑" if sort == "price" else "")
        sort_tabs.append(
            {
                "label": _(label),
                "arrow": arrow,
                "active": active,
                "url": _page_url(path, {**base_params, "sort": target}),
            }
        )
    chips = [
        {
            "id": "",
            "name": _("全部"),
            "url": _page_url(path, {"q": q, "sort": sort}),
            "active": not category_id,
        }
    ]
    chips += [
        {
            "id": node["id"],
            "name": node["name"],
            "url": _page_url(path, {"c": node["id"], "q": q, "sort": sort}),
            "active": node["id"] == category_id
            or any(child["id"] == category_id for child in _flatten(node["children"])),
        }
        for node in tree
    ]
    photos = [photo.image.url for photo in store.photos.all() if photo.image]
    context = {
        "tab": "",
        "store": store,
        "card": presenters.store_card(store, distance_m=distance),
        "nav": navigation_links(store),
        "special_days": [
            {"date": day.date, "hours": presenters.special_day_hours(day), "note": day.note}
            for day in store_upcoming_special_days(store)[:3]
        ],
        "delivery": {
            "radius": presenters.distance_text(store.delivery_radius_m),
            "fee": presenters.price_parts(store.delivery_fee),
            "free_over": presenters.price_parts(store.delivery_free_over),
            "min_order": presenters.price_parts(store.delivery_min_order),
        },
        "photos": photos,
        "chips": chips,
        "sort_tabs": sort_tabs,
        "q": q,
        "sort": sort,
        "category_id": category_id,
        "products": products,
        "more_url": more_url,
        "has_items": bool(products),
        "filtered": bool(q or category_id),
        "clear_url": path,
    }
    context["cartbar"] = cart_summary(_signed_in_customer(request), store)
    response = render(request, "storefront/store.html", context)
    _set_cookie(response, STORE_COOKIE, str(store.pk))
    return response


def _flatten(nodes):
    for node in nodes:
        yield node
        yield from _flatten(node.get("children") or [])


def _no_store(request, tab: str, title: str):
    return render(request, "storefront/no_store.html", {"tab": tab, "title": title})


@friendly_errors
def categories(request):
    store = _current_store(request, merchant_context(request))
    if store is None:
        return _no_store(request, "categories", _("分类"))
    tree = category_tree(merchant_ids=[store.merchant_id])
    selected_id = _clean_text(request.GET.get("c"), 20)
    sub_id = _clean_text(request.GET.get("sub"), 20)
    top = next((node for node in tree if node["id"] == selected_id), None)
    if selected_id and top is None:
        raise NotFound("No such category.")
    top = top or (tree[0] if tree else None)
    sub = None
    if top is not None and sub_id:
        sub = next((node for node in _flatten(top["children"]) if node["id"] == sub_id), None)
        if sub is None:
            raise NotFound("No such category.")
    path = reverse("storefront:categories")
    products, more_url = [], ""
    if top is not None:
        cursor = request.GET.get("cursor") or None
        page = store_products(store=store, category_id=(sub or top)["id"], limit=PAGE_SIZE, cursor=cursor)
        products = _product_cards(page, store)
        if page["next_cursor"]:
            more_url = _page_url(
                path, {"c": top["id"], "sub": sub["id"] if sub else "", "cursor": page["next_cursor"]}
            )
        if request.htmx and cursor:
            return render(
                request,
                "storefront/_product_page.html",
                {"products": products, "more_url": more_url, "oob": True, "has_items": True, "store": store},
            )
    context = {
        "tab": "categories",
        "store": store,
        "tree": tree,
        "top": top,
        "sub": sub,
        "products": products,
        "more_url": more_url,
        "has_items": bool(products),
        "cartbar": cart_summary(_signed_in_customer(request), store),
    }
    return render(request, "storefront/categories.html", context)


def _suggestions(store, tree) -> list[str]:
    """Hot words for an empty search: tags of the store's best sellers, then category names."""
    words: list[str] = []
    best = store_products(store=store, sort="sales", limit=12)
    for item in best["items"]:
        for tag in item.get("tags") or []:
            if tag and tag not in words:
                words.append(tag)
    for node in _flatten(tree):
        if node["name"] not in words:
            words.append(node["name"])
    return words[:12]


@friendly_errors
def search(request):
    store = _current_store(request, merchant_context(request))
    if store is None:
        return _no_store(request, "", _("搜索"))
    q = _clean_text(request.GET.get("q"))
    cursor = request.GET.get("cursor") or None
    path = reverse("storefront:search")
    products, more_url, suggestions = [], "", []
    if q:
        page = store_products(store=store, q=q, limit=PAGE_SIZE, cursor=cursor)
        products = _product_cards(page, store)
        if page["next_cursor"]:
            more_url = _page_url(path, {"q": q, "cursor": page["next_cursor"]})
        if request.htmx and cursor:
            return render(
                request,
                "storefront/_product_page.html",
                {"products": products, "more_url": more_url, "oob": True, "has_items": True, "store": store},
            )
    if not products:
        suggestions = _suggestions(store, category_tree(merchant_ids=[store.merchant_id]))
    context = {
        "tab": "",
        "store": store,
        "q": q,
        "products": products,
        "more_url": more_url,
        "has_items": bool(products),
        "suggestions": suggestions,
        "cartbar": cart_summary(_signed_in_customer(request), store),
    }
    return render(request, "storefront/search.html", context)


def _variant_data(detail: dict) -> dict:
    variants = []
    for variant in detail["variants"]:
        member = variant.get("member_price")
        stock = variant.get("stock_available")
        variants.append(
            {
                "sku_id": variant["sku_id"],
                "sku_code": variant["sku_code"],
                "specs": {str(k): str(v) for k, v in (variant.get("specs") or {}).items()},
                "price_yuan": presenters.price_parts(variant["price"]["amount"])["yuan"],
                "member_price_yuan": presenters.price_parts(member["amount"])["yuan"] if member else None,
                "stock_available": stock,
            }
        )
    options = detail.get("spec_options") or {}
    return {
        "dimensions": [{"name": name, "values": values} for name, values in options.items()],
        "variants": variants,
    }


def _initial_variant(detail: dict, wanted: str):
    variants = detail["variants"]
    if not variants:
        return None
    by_id = {variant["sku_id"]: variant for variant in variants}
    if wanted in by_id:
        return by_id[wanted]
    in_stock = [variant for variant in variants if (variant.get("stock_available") or 0) > 0]
    return (in_stock or variants)[0]


@friendly_errors
def product_page(request, store_id, product_id):
    store = store_public_get(store_id=store_id, merchant=merchant_context(request))
    detail = store_product_detail(store=store, product_id=product_id)
    selected = _initial_variant(detail, request.GET.get("sku", ""))
    data = _variant_data(detail)
    data["selected"] = selected["sku_id"] if selected else None
    data["text"] = {
        "no_stock": _("暂无库存"),
        "stock": _("库存 %s 件"),
        "choose": _("请选择"),
        "no_combination": _("该组合无货"),
        "cart_soon": "",
    }
    dimensions = [
        {
            "name": dim["name"],
            "options": [
                {
                    "value": value,
                    "pressed": bool(selected) and str(selected["specs"].get(dim["name"])) == value,
                }
                for value in dim["values"]
            ],
        }
        for dim in data["dimensions"]
    ]
    single = len(detail["variants"]) == 1 and all(len(dim["values"]) <= 1 for dim in data["dimensions"])
    stock = (selected or {}).get("stock_available") or 0
    member = (selected or {}).get("member_price")
    response = render(
        request,
        "storefront/product.html",
        {
            "tab": "",
            "store": store,
            "status": presenters.store_status(store),
            "product": detail,
            "images": detail["images"],
            "selected": selected,
            "price": presenters.price_parts(selected["price"]["amount"]) if selected else None,
            "member_price": presenters.price_parts(member["amount"]) if member else None,
            "stock": stock,
            "dimensions": dimensions,
            "single": single,
            "chosen": " / ".join(str(v) for v in (selected or {}).get("specs", {}).values()),
            "variant_data": data,
            "cartbar": cart_summary(_signed_in_customer(request), store),
        },
    )
    _set_cookie(response, STORE_COOKIE, str(store.pk))
    return response


# --- me: sign-in by SMS code, language, large font ---------------------------------------------------
def customer_session_get(*, customer_id) -> Customer | None:
    """The signed-in customer, if still active. accounts.selectors has no customer read yet, so
    this one read (never a write) lives here until it does."""
    if not isinstance(customer_id, int) or customer_id < 1:
        return None
    return Customer.objects.filter(pk=customer_id, is_active=True).first()


def _signed_in_customer(request):
    customer_id = request.session.get("customer_id")
    if not customer_id:
        return None
    customer = customer_session_get(customer_id=customer_id)
    if customer is None:
        request.session.pop("customer_id", None)
    return customer


@friendly_errors
@require_http_methods(["GET", "POST"])
def me(request):
    from mendian.accounts.net import client_ip
    from mendian.accounts.services import customer_login_with_sms, sms_code_send
    from mendian.core.pii import normalize_phone

    customer = _signed_in_customer(request)
    form = {"phone": "", "code": "", "sent": False, "error": "", "countdown": 0}
    if request.method == "POST" and customer is None:
        action = request.POST.get("action")
        raw_phone = _clean_text(request.POST.get("phone"), 20)
        form["phone"] = raw_phone
        try:
            phone = normalize_phone(raw_phone)
        except ValueError:
            form["error"] = _("请输入正确的手机号")
            phone = None
        if phone and action == "send":
            try:
                sms_code_send(phone=phone, ip=client_ip(request))
                form["sent"], form["countdown"] = True, 60
            except RateLimited:
                form["error"] = _("发送太频繁，请稍后再试")
            except DomainError:
                form["error"] = _("短信发送失败，请稍后再试")
        elif phone and action == "login":
            code = _clean_text(request.POST.get("code"), 10)
            form["code"], form["sent"] = code, True
            try:
                customer, _tokens = customer_login_with_sms(phone=phone, code=code, ip=client_ip(request))
            except RateLimited:
                form["error"] = _("尝试次数过多，请稍后再试")
            except Forbidden:
                form["error"] = _("该账号已停用，请联系客服")
            except DomainError:
                form["error"] = _("验证码错误或已过期")
            else:
                request.session.cycle_key()
                request.session["customer_id"] = customer.pk
                return HttpResponseRedirect(_safe_next(request, reverse("storefront:me")))
    level = None
    brand = Brand(request)
    if customer is not None:
        from mendian.members.models import MemberLevel
        from mendian.members.selectors import member_level

        level = MemberLevel(member_level(customer=customer, merchant=brand.merchant)).label
    context = {
        "tab": "me",
        "customer": customer,
        "phone_masked": customer.phone_masked if customer else "",
        "level": _(level) if level else "",
        "brand": brand,
        "form": form,
        "sandbox": settings.SANDBOX,
        "next": reverse("storefront:me"),
        "after_login": _safe_next(request, ""),
    }
    status = 400 if form["error"] else 200
    return render(request, "storefront/me.html", context, status=status)


@require_POST
def sign_out(request):
    request.session.flush()
    return HttpResponseRedirect(reverse("storefront:me"))


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_POST
def large_font(request):
    response = HttpResponseRedirect(_safe_next(request, reverse("storefront:me")))
    if request.POST.get("on") == "1":
        _set_cookie(response, LARGE_FONT_COOKIE, "1")
    else:
        response.delete_cookie(LARGE_FONT_COOKIE)
    return response
