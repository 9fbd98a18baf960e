"""The customer's saved delivery addresses: add (from checkout or the address book), edit, delete
and choose the default. Writes go through `checkout.services`, which owns the rules (at most 20,
one default, encrypted contact fields)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from mendian.checkout.selectors import address_get, addresses_for_customer
from mendian.checkout.services import address_create, address_delete, address_update
from mendian.core.errors import Conflict, ValidationFailed
from mendian.web.storefront.buying import login_redirect
from mendian.web.storefront.views import _clean_text, _parse_float, _signed_in_customer, friendly_errors

_FIELD_TEXT = {
    "contact_name": gettext_lazy("请填写收货人（30 字以内）"),
    "phone": gettext_lazy("请输入正确的手机号"),
    "address": gettext_lazy("请填写详细地址（200 字以内）"),
    "district": gettext_lazy("区县最多 50 字"),
    "lat": gettext_lazy("请点击“定位”获取收货位置"),
    "lng": gettext_lazy("请点击“定位”获取收货位置"),
}

# Where a form returns to: the checkout (the default, it is where addresses are first needed) or
# the address book under 我的.
_FROM_BOOK = "book"


def _back_url(source: str) -> str:
    if source == _FROM_BOOK:
        return reverse("storefront:addresses")
    return reverse("storefront:checkout") + "?type=delivery"


def _source(request) -> str:
    return _FROM_BOOK if (request.GET.get("from") or request.POST.get("from")) == _FROM_BOOK else "checkout"


def _posted_form(post) -> dict:
    return {
        "contact_name": _clean_text(post.get("contact_name"), 60),
        "phone": _clean_text(post.get("phone"), 20),
        "address": _clean_text(post.get("address"), 400),
        "district": _clean_text(post.get("district"), 100),
        "lat": _clean_text(post.get("lat"), 30),
        "lng": _clean_text(post.get("lng"), 30),
        "coord_type": "wgs84" if post.get("coord_type") == "wgs84" else "gcj02",
        "is_default": post.get("is_default") == "1",
    }


def _service_data(form: dict) -> dict:
    data = {
        "contact_name": form["contact_name"],
        "phone": form["phone"],
        "address": form["address"],
        "district": form["district"],
        "lat": _parse_float(form["lat"]),
        "lng": _parse_float(form["lng"]),
        "coord_type": form["coord_type"],
    }
    # Only ever *made* default here: un-choosing the default would leave none; another address
    # becomes the default by being chosen itself.
    if form["is_default"]:
        data["is_default"] = True
    return data


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    errors = {}
    for item in exc.errors or []:
        key = str((item.get("loc") or [""])[0])
        if key in _FIELD_TEXT:
            errors["location" if key in ("lat", "lng") else key] = str(_FIELD_TEXT[key])
    return errors


def _render_form(request, *, form, errors, error, status, source, address=None):
    context = {
        "tab": "",
        "form": form,
        "errors": errors,
        "error": error,
        "editing": address is not None,
        "address_id": address.pk if address is not None else None,
        "was_default": bool(address is not None and address.is_default),
        "source": source,
        "back_url": _back_url(source),
    }
    return render(request, "storefront/address_form.html", context, status=status)


@friendly_errors
@require_http_methods(["GET", "POST"])
def address_new(request):
    source = _source(request)
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, request.get_full_path())
    form = {
        "contact_name": customer.nickname or "",
        "phone": customer.phone or "",
        "address": "",
        "district": "",
        "lat": "",
        "lng": "",
        "coord_type": "wgs84",
        "is_default": False,
    }
    errors: dict[str, str] = {}
    error, status = "", 200
    if request.method == "POST":
        form = _posted_form(request.POST)
        try:
            address = address_create(customer=customer, data=_service_data(form))
        except ValidationFailed as exc:
            errors, error, status = _field_errors(exc), _("请检查标红的内容"), 400
        except Conflict:
            error, status = _("最多保存 20 个地址，请先删除不用的地址"), 409
        else:
            messages.success(request, _("地址已保存"))
            if source == _FROM_BOOK:
                return HttpResponseRedirect(reverse("storefront:addresses"))
            query = urlencode({"type": "delivery", "address": address.pk})
            return HttpResponseRedirect(f"{reverse('storefront:checkout')}?{query}")
    return _render_form(request, form=form, errors=errors, error=error, status=status, source=source)


@friendly_errors
@require_http_methods(["GET", "POST"])
def address_edit(request, address_id: str):
    source = _source(request)
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, request.get_full_path())
    address = address_get(customer=customer, address_id=address_id)
    form = {
        "contact_name": address.contact_name,
        "phone": address.phone,
        "address": address.address,
        "district": address.district,
        "lat": f"{address.lat:.6f}",
        "lng": f"{address.lng:.6f}",
        "coord_type": "gcj02",
        "is_default": address.is_default,
    }
    errors: dict[str, str] = {}
    error, status = "", 200
    if request.method == "POST":
        form = _posted_form(request.POST)
        try:
            address_update(customer=customer, address_id=address.pk, data=_service_data(form))
        except ValidationFailed as exc:
            errors, error, status = _field_errors(exc), _("请检查标红的内容"), 400
        else:
            messages.success(request, _("地址已更新"))
            return HttpResponseRedirect(_back_url(source))
    return _render_form(
        request, form=form, errors=errors, error=error, status=status, source=source, address=address
    )


@friendly_errors
@require_http_methods(["GET"])
def address_book(request):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:addresses"))
    addresses = [
        {
            "id": a.pk,
            "name": a.contact_name,
            "phone": a.phone_masked,
            "text": a.address,
            "district": a.district,
            "is_default": a.is_default,
        }
        for a in addresses_for_customer(customer=customer)
    ]
    context = {"tab": "me", "addresses": addresses, "from_book": _FROM_BOOK}
    return render(request, "storefront/addresses.html", context)


@friendly_errors
@require_POST
def address_remove(request, address_id: str):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:addresses"))
    address_delete(customer=customer, address_id=address_id)
    messages.success(request, _("地址已删除"))
    return HttpResponseRedirect(reverse("storefront:addresses"))


@friendly_errors
@require_POST
def address_make_default(request, address_id: str):
    customer = _signed_in_customer(request)
    if customer is None:
        return login_redirect(request, reverse("storefront:addresses"))
    address_update(customer=customer, address_id=address_id, data={"is_default": True})
    messages.success(request, _("已设为默认地址"))
    return HttpResponseRedirect(reverse("storefront:addresses"))
