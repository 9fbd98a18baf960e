"""Helpers both consoles share: money in yuan, service errors on forms, pagination, the merchant switch."""

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.contrib import messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.accounts.errors import AccountLocked
from mendian.core.errors import DomainError, RateLimited
from mendian.core.money import format_yuan

# Stable service error codes -> what the console says (the service's own detail is English).
ERROR_MESSAGES = {
    "store_code_taken": gettext_lazy("该门店编码已被使用，请换一个"),
    "store_closed_permanently": gettext_lazy("该门店已永久停业，需由总部在门店资料中重新启用"),
    "photo_limit_reached": gettext_lazy("门店照片已达上限"),
    "invalid_image": gettext_lazy("文件不是可用的图片（支持 JPEG、PNG、WebP、GIF）"),
    "image_too_large": gettext_lazy("图片太大，请压缩后再上传"),
    "too_many_images": gettext_lazy("商品图片已达上限"),
    "sku_code_taken": gettext_lazy("SKU 编码已被其他商品使用"),
    "barcode_taken": gettext_lazy("条形码已被其他 SKU 使用"),
    "invalid_barcode": gettext_lazy("条形码无效：需为 13 位 EAN-13（或 8 位 EAN-8）且校验位正确"),
    "duplicate_specs": gettext_lazy("有两个规格完全相同的 SKU"),
    "variants_required": gettext_lazy("商品至少需要一个 SKU"),
    "currency_mismatch": gettext_lazy("价格币种与商户不一致"),
    "unknown_category": gettext_lazy("分类不存在"),
    "category_name_taken": gettext_lazy("同一级下已有同名分类"),
    "category_cycle": gettext_lazy("不能把分类移动到它自己或它的子分类下"),
    "category_not_empty": gettext_lazy("该分类下还有子分类或商品，请先移走或删除它们"),
    "username_taken": gettext_lazy("该用户名已被使用"),
    "invalid_username": gettext_lazy("用户名为 3–64 位字母、数字或 . _ - @，以字母或数字开头"),
    "weak_password": gettext_lazy("密码强度不足：至少 8 位，不能是常见密码或纯数字，且不能与用户名相近"),
    "cannot_modify_self": gettext_lazy("不能修改自己的角色、门店或启用状态"),
    "store_required": gettext_lazy("门店角色必须选择所属门店"),
    "merchant_required": gettext_lazy("总部管理员必须选择所属商户"),
    "invalid_scope": gettext_lazy("角色与所属商户/门店不匹配"),
    "invalid_role": gettext_lazy("角色无效"),
    "merchant_code_taken": gettext_lazy("该商户编码已被使用"),
    "invalid_otp": gettext_lazy("动态验证码错误，请重新输入"),
    "otp_required": gettext_lazy("请输入身份验证器 App 中的 6 位动态验证码"),
    "invalid_credentials": gettext_lazy("用户名或密码错误"),
    "enrolment_not_started": gettext_lazy("设置已过期，请重新扫描二维码"),
    "forbidden": gettext_lazy("你的角色无权执行此操作"),
    "not_found": gettext_lazy("对象不存在或不在你的管理范围内"),
}

# Where an error without a `loc` belongs when the form has that field.
CODE_FIELDS = {
    "store_code_taken": "code",
    "merchant_code_taken": "code",
    "username_taken": "username",
    "invalid_username": "username",
    "weak_password": "password",
    "category_name_taken": "name",
    "category_cycle": "parent",
    "unknown_category": "category",
    "invalid_image": "images",
    "image_too_large": "images",
    "too_many_images": "images",
    "photo_limit_reached": "images",
}


def error_message(exc: DomainError) -> str:
    """A sentence for people: the console's words for a known code, else the service's detail."""
    if isinstance(exc, AccountLocked):
        minutes = max(1, -(-exc.retry_after // 60))
        return _("登录失败次数过多，账号已锁定，请 %(minutes)s 分钟后再试") % {"minutes": minutes}
    if isinstance(exc, RateLimited):
        return _("操作过于频繁，请稍后再试")
    known = ERROR_MESSAGES.get(exc.code)
    if known:
        return str(known)
    return exc.detail or exc.code


def add_domain_error(form: forms.Form, exc: DomainError, field_for=None, *, default_field=None) -> None:
    """Shows a service error on the form: next to the field its `loc` names, else above the form.

    `field_for(loc) -> str | None` maps a service location (["body", "price"]) to a form field.
    Known codes get the console's sentence; per-field details of unknown codes keep the service's.
    """
    placed = False
    known = ERROR_MESSAGES.get(exc.code)
    for item in exc.errors or []:
        loc = [str(part) for part in item.get("loc", []) if part != "body"]
        field = field_for(loc) if field_for else (loc[0] if loc else None)
        if field and field in form.fields:
            message = str(known) if known else item.get("msg") or error_message(exc)
            if message not in form.errors.get(field, []):
                form.add_error(field, message)
            placed = True
    if not placed:
        field = CODE_FIELDS.get(exc.code)
        if field not in form.fields:
            field = default_field if default_field in form.fields else None
        form.add_error(field, error_message(exc))


def message_domain_error(request, exc: DomainError) -> None:
    messages.error(request, error_message(exc))


# --- money ------------------------------------------------------------------------------------------
def fen_to_yuan(amount: int | None) -> Decimal | None:
    if amount is None:
        return None
    return (Decimal(int(amount)) / 100).quantize(Decimal("0.01"))


def yuan_to_fen(value: Decimal | None) -> int | None:
    if value is None:
        return None
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def yuan(amount) -> str:
    """A Money dict or fen -> '12.90'."""
    if isinstance(amount, dict):
        amount = amount.get("amount")
    return format_yuan(amount or 0)


class YuanField(forms.DecimalField):
    """Yuan with at most two decimals, 0 to 21,474,836.47 (the fen column's ceiling)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 10)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_value", Decimal("21474836.47"))
        kwargs.setdefault(
            "widget", forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"})
        )
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": gettext_lazy("请输入金额，如 12.50"),
                "max_decimal_places": gettext_lazy("金额最多两位小数"),
                "max_digits": gettext_lazy("金额过大"),
                "max_whole_digits": gettext_lazy("金额过大"),
                "min_value": gettext_lazy("金额不能为负数"),
                "max_value": gettext_lazy("金额过大"),
            },
        )
        super().__init__(**kwargs)


def styled(form: forms.Form) -> forms.Form:
    """Puts the design system's classes on every widget (and marks invalid ones)."""
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
            continue
        if isinstance(widget, forms.HiddenInput | forms.FileInput):
            continue
        classes = widget.attrs.get("class", "")
        if "input" not in classes.split():
            widget.attrs["class"] = f"{classes} input".strip()
        if form.is_bound and name in form.errors:
            widget.attrs["class"] += " invalid"
            widget.attrs["aria-invalid"] = "true"
    return form


# --- cursor pages ------------------------------------------------------------------------------------
def cursor_param(request) -> str | None:
    cursor = request.GET.get("cursor") or None
    if cursor is not None and len(cursor) > 500:
        return None
    return cursor


def page_links(request, next_cursor: str | None) -> dict:
    """Links for a cursor-paged list: the first page and the next one, other filters kept."""
    params = request.GET.copy()
    params.pop("cursor", None)
    first = params.urlencode()
    next_url = None
    if next_cursor:
        params["cursor"] = next_cursor
        next_url = "?" + params.urlencode()
    return {
        "first_url": "?" + first if first else "?",
        "next_url": next_url,
        "is_first": not request.GET.get("cursor"),
    }
