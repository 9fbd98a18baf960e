"""Console forms: they parse and check what people type (in Chinese), then hand the services their
own input shapes. The services check again and have the last word."""

import datetime as dt
import re

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.catalog.barcodes import barcode_is_valid
from mendian.core.scope import Role
from mendian.stores.hours import is_valid_timezone
from mendian.stores.models import StoreStatus
from mendian.stores.services import MAX_DELIVERY_RADIUS_M, MAX_PREP_MINUTES
from mendian.web.hq_console.common import YuanField, fen_to_yuan, yuan_to_fen

CODE_RE = r"^[a-z0-9][a-z0-9_-]{1,39}$"
CODE_HELP = gettext_lazy("2–40 位小写字母、数字、- 或 _，创建后用于 POS/ERP 对接")
code_validator = RegexValidator(CODE_RE, gettext_lazy("编码为 2–40 位小写字母、数字、- 或 _"))
SKU_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
COMMON_TIMEZONES = (
    "Asia/Shanghai",
    "Asia/Urumqi",
    "Asia/Hong_Kong",
    "Asia/Macau",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Bangkok",
)
COORD_TYPES = (
    ("gcj02", gettext_lazy("GCJ-02（微信 / 高德 / 腾讯地图坐标）")),
    ("wgs84", gettext_lazy("WGS-84（GPS 原始坐标，保存时转换）")),
)


class LoginForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("用户名"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}
        ),
    )
    password = forms.CharField(
        label=gettext_lazy("密码"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp = forms.CharField(
        label=gettext_lazy("动态验证码"),
        required=False,
        max_length=10,
        help_text=gettext_lazy("已绑定身份验证器的账号填写 App 中的 6 位数字"),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


class OtpForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("6 位动态验证码"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self):
        token = re.sub(r"\s", "", self.cleaned_data["token"])
        if not token.isdigit() or len(token) != 6:
            raise forms.ValidationError(_("请输入 6 位数字"))
        return token


# --- stores ---------------------------------------------------------------------------------------
class StoreForm(forms.Form):
    merchant = forms.TypedChoiceField(label=gettext_lazy("所属商户"), coerce=int, required=False)
    code = forms.CharField(
        label=gettext_lazy("门店编码"), max_length=40, validators=[code_validator], help_text=CODE_HELP
    )
    name = forms.CharField(label=gettext_lazy("门店名称"), max_length=100)
    status = forms.ChoiceField(label=gettext_lazy("状态"), choices=StoreStatus.choices, initial="open")
    city = forms.CharField(label=gettext_lazy("城市"), max_length=50, required=False)
    district = forms.CharField(label=gettext_lazy("区县"), max_length=50, required=False)
    address = forms.CharField(label=gettext_lazy("详细地址"), max_length=255)
    phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=30, required=False)
    coord_type = forms.ChoiceField(label=gettext_lazy("坐标系"), choices=COORD_TYPES, initial="gcj02")
    lat = forms.FloatField(
        label=gettext_lazy("纬度"),
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        error_messages={
            "invalid": gettext_lazy("请输入数字纬度，如 30.5801"),
            "min_value": gettext_lazy("纬度应在 -90 到 90 之间"),
            "max_value": gettext_lazy("纬度应在 -90 到 90 之间"),
        },
    )
    lng = forms.FloatField(
        label=gettext_lazy("经度"),
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        error_messages={
            "invalid": gettext_lazy("请输入数字经度，如 114.2865"),
            "min_value": gettext_lazy("经度应在 -180 到 180 之间"),
            "max_value": gettext_lazy("经度应在 -180 到 180 之间"),
        },
    )
    timezone = forms.CharField(
        label=gettext_lazy("时区"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("留空则使用商户时区"),
        widget=forms.TextInput(attrs={"list": "timezones", "placeholder": "Asia/Shanghai"}),
    )
    intro = forms.CharField(
        label=gettext_lazy("门店介绍"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    pickup_enabled = forms.BooleanField(label=gettext_lazy("支持到店自提"), required=False, initial=True)
    pickup_prep_minutes = forms.IntegerField(
        label=gettext_lazy("备货时间（分钟）"), min_value=0, max_value=MAX_PREP_MINUTES, initial=15
    )
    delivery_enabled = forms.BooleanField(label=gettext_lazy("支持配送"), required=False)
    delivery_radius_m = forms.IntegerField(
        label=gettext_lazy("配送半径（米）"), min_value=0, max_value=MAX_DELIVERY_RADIUS_M, initial=3000
    )
    delivery_fee = YuanField(label=gettext_lazy("配送费（元）"), initial="0.00")
    delivery_min_order = YuanField(label=gettext_lazy("起送金额（元）"), initial="0.00")
    delivery_free_over = YuanField(
        label=gettext_lazy("满额免配送费（元）"), required=False, help_text=gettext_lazy("留空表示不免配送费")
    )

    def __init__(self, *args, merchants=None, **kwargs):
        super().__init__(*args, **kwargs)
        if merchants is None:
            del self.fields["merchant"]
        else:
            self.fields["merchant"].required = True
            self.fields["merchant"].choices = [("", _("请选择商户"))] + [(m.pk, m.name) for m in merchants]

    @classmethod
    def initial_from(cls, store) -> dict:
        return {
            "code": store.code,
            "name": store.name,
            "status": store.status,
            "city": store.city,
            "district": store.district,
            "address": store.address,
            "phone": store.phone,
            "coord_type": "gcj02",
            "lat": store.lat,
            "lng": store.lng,
            "timezone": store.timezone,
            "intro": store.intro,
            "pickup_enabled": store.pickup_enabled,
            "pickup_prep_minutes": store.pickup_prep_minutes,
            "delivery_enabled": store.delivery_enabled,
            "delivery_radius_m": store.delivery_radius_m,
            "delivery_fee": fen_to_yuan(store.delivery_fee),
            "delivery_min_order": fen_to_yuan(store.delivery_min_order),
            "delivery_free_over": fen_to_yuan(store.delivery_free_over),
        }

    def clean_code(self):
        return self.cleaned_data["code"].strip()

    def clean_timezone(self):
        zone = self.cleaned_data["timezone"].strip()
        if zone and not is_valid_timezone(zone):
            raise forms.ValidationError(_("请填写 IANA 时区名，如 Asia/Shanghai"))
        return zone

    def store_data(self, opening_hours: list[dict]) -> dict:
        """The store API's shape (money in fen) for `store_create` / `store_update`."""
        data = self.cleaned_data
        payload = {
            key: data[key]
            for key in (
                "code",
                "name",
                "status",
                "city",
                "district",
                "address",
                "phone",
                "intro",
                "timezone",
                "lat",
                "lng",
                "coord_type",
                "pickup_enabled",
                "delivery_enabled",
                "pickup_prep_minutes",
            )
        }
        payload["delivery"] = {
            "radius_m": data["delivery_radius_m"],
            "fee": {"amount": yuan_to_fen(data["delivery_fee"])},
            "min_order": {"amount": yuan_to_fen(data["delivery_min_order"])},
            "free_over": (
                None
                if data["delivery_free_over"] is None
                else {"amount": yuan_to_fen(data["delivery_free_over"])}
            ),
        }
        payload["opening_hours"] = opening_hours
        if "merchant" in self.fields:
            payload["merchant_id"] = data["merchant"]
        return payload


def store_error_field(loc: list[str]) -> str | None:
    """Where a store service error belongs on StoreForm."""
    if not loc:
        return None
    if loc[0] == "delivery" and len(loc) > 1:
        return f"delivery_{loc[1]}"
    if loc[0] == "merchant_id":
        return "merchant"
    return loc[0]


class SpecialDayForm(forms.Form):
    KIND_CHOICES = (("closed", gettext_lazy("全天休息")), ("hours", gettext_lazy("特殊营业时间")))

    date = forms.DateField(
        label=gettext_lazy("日期"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": gettext_lazy("请选择日期")},
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"), choices=KIND_CHOICES, initial="closed", widget=forms.RadioSelect
    )
    opens = forms.TimeField(
        label=gettext_lazy("开始"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    closes = forms.TimeField(
        label=gettext_lazy("结束"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    note = forms.CharField(
        label=gettext_lazy("说明"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：春节休息、国庆延长营业")}),
    )

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_date(self):
        day = self.cleaned_data["date"]
        if self.today and day < self.today:
            raise forms.ValidationError(_("不能设置已过去的日期"))
        return day

    def clean(self):
        data = super().clean()
        if data.get("kind") == "hours":
            if not data.get("opens"):
                self.add_error("opens", _("请填写开始时间"))
            if not data.get("closes"):
                self.add_error("closes", _("请填写结束时间"))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        closed = data["kind"] == "closed"
        return {
            "date": data["date"],
            "closed": closed,
            "opens": None if closed else data["opens"].strftime("%H:%M"),
            "closes": None if closed else data["closes"].strftime("%H:%M"),
            "note": data["note"].strip(),
        }


# --- categories ---------------------------------------------------------------------------------------
class CategoryForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("分类名称"), max_length=50)
    parent = forms.ChoiceField(label=gettext_lazy("上级分类"), required=False)
    icon = forms.CharField(
        label=gettext_lazy("图标"),
        max_length=16,
        required=False,
        help_text=gettext_lazy("一个 emoji，显示在分类宫格中"),
        widget=forms.TextInput(attrs={"placeholder": "🥤"}),
    )
    position = forms.IntegerField(label=gettext_lazy("排序"), min_value=0, max_value=1_000_000, initial=0)

    def __init__(self, *args, parent_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", _("（顶级分类）")), *parent_choices]

    def category_data(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "parent_id": data["parent"] or None,
            "icon": data["icon"].strip(),
            "position": data["position"],
        }


def category_error_field(loc: list[str]) -> str | None:
    if not loc:
        return None
    return {"parent_id": "parent"}.get(loc[0], loc[0])


def category_choices(tree: list[dict], *, exclude_id: str | None = None, prefix: str = "") -> list:
    """A category tree as indented select options; `exclude_id` leaves out a subtree (no cycles)."""
    options = []
    for node in tree:
        if node["id"] == exclude_id:
            continue
        options.append((node["id"], f"{prefix}{node['name']}"))
        options.extend(category_choices(node["children"], exclude_id=exclude_id, prefix=prefix + "　"))
    return options


# --- products -----------------------------------------------------------------------------------------
SPEC_SLOTS = 3


class ProductForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("商品名称"), max_length=120)
    category = forms.ChoiceField(label=gettext_lazy("分类"))
    subtitle = forms.CharField(label=gettext_lazy("副标题"), max_length=200, required=False)
    brand = forms.CharField(label=gettext_lazy("品牌"), max_length=60, required=False)
    tags = forms.CharField(
        label=gettext_lazy("标签"),
        max_length=400,
        required=False,
        help_text=gettext_lazy("用逗号或空格分隔，如：新品, 热卖"),
    )
    description = forms.CharField(
        label=gettext_lazy("商品描述"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    is_active = forms.BooleanField(label=gettext_lazy("上架销售"), required=False, initial=True)
    spec_1 = forms.CharField(label=gettext_lazy("规格名 1"), max_length=20, required=False)
    spec_2 = forms.CharField(label=gettext_lazy("规格名 2"), max_length=20, required=False)
    spec_3 = forms.CharField(label=gettext_lazy("规格名 3"), max_length=20, required=False)

    def __init__(self, *args, category_options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("请选择分类")), *category_options]
        for slot in range(1, SPEC_SLOTS + 1):
            self.fields[f"spec_{slot}"].widget.attrs.update(
                {
                    "placeholder": [_("如：颜色"), _("如：尺码"), _("如：口味")][slot - 1],
                    "data-spec-name": slot,
                }
            )

    def clean_tags(self):
        raw = self.cleaned_data["tags"]
        tags = [tag for tag in re.split(r"[,，、\s]+", raw) if tag]
        if len(tags) > 20:
            raise forms.ValidationError(_("最多 20 个标签"))
        if any(len(tag) > 20 for tag in tags):
            raise forms.ValidationError(_("每个标签最多 20 个字"))
        return list(dict.fromkeys(tags))

    def clean(self):
        data = super().clean()
        names = [(data.get(f"spec_{slot}") or "").strip() for slot in range(1, SPEC_SLOTS + 1)]
        filled = [name for name in names if name]
        if len(filled) != len(set(filled)):
            raise forms.ValidationError(_("规格名不能重复"))
        return data

    def spec_names(self) -> list[str]:
        return [(self.cleaned_data.get(f"spec_{slot}") or "").strip() for slot in range(1, SPEC_SLOTS + 1)]

    @classmethod
    def initial_from(cls, product: dict) -> dict:
        names = spec_names_of(product["variants"])
        initial = {
            "name": product["name"],
            "category": product["category_id"],
            "subtitle": product["subtitle"],
            "brand": product["brand"],
            "tags": ", ".join(product["tags"]),
            "description": product["description"],
            "is_active": product["is_active"],
        }
        for slot, name in enumerate(names, start=1):
            initial[f"spec_{slot}"] = name
        return initial


def spec_names_of(variants: list[dict]) -> list[str]:
    """The spec names the variants use, in first-use order (at most SPEC_SLOTS shown)."""
    names: dict[str, None] = {}
    for variant in variants:
        for name in variant.get("specs") or {}:
            names.setdefault(name, None)
    return list(names)[:SPEC_SLOTS]


class VariantForm(forms.Form):
    sku_id = forms.CharField(required=False, widget=forms.HiddenInput)
    value_1 = forms.CharField(max_length=40, required=False)
    value_2 = forms.CharField(max_length=40, required=False)
    value_3 = forms.CharField(max_length=40, required=False)
    sku_code = forms.CharField(
        max_length=64, required=False, widget=forms.TextInput(attrs={"autocapitalize": "none"})
    )
    barcode = forms.CharField(
        max_length=14, required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    price = YuanField(required=False)

    def clean_sku_code(self):
        code = self.cleaned_data["sku_code"].strip()
        if code and not SKU_CODE_RE.match(code):
            raise forms.ValidationError(_("SKU 编码为字母、数字或 . _ / -，以字母或数字开头"))
        return code

    def clean_barcode(self):
        code = self.cleaned_data["barcode"].strip()
        if code and not barcode_is_valid(code):
            raise forms.ValidationError(_("条形码无效：需为 13 位 EAN-13（或 8 位 EAN-8）且校验位正确"))
        return code

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not any(
            (data.get(key) or "") if key != "price" else data.get("price") is not None
            for key in ("value_1", "value_2", "value_3", "sku_code", "barcode", "price")
        )


class BaseVariantFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        spec_names = self.spec_names or []
        seen_codes, seen_specs, count = set(), set(), 0
        for form in self.forms:
            if form.is_blank():
                continue
            count += 1
            data = dict(form.cleaned_data)
            sku_code, price = data.get("sku_code", ""), data.get("price")
            values = tuple((data.get(f"value_{slot}") or "").strip() for slot in range(1, SPEC_SLOTS + 1))
            if not sku_code:
                form.add_error("sku_code", _("请填写 SKU 编码"))
            elif sku_code in seen_codes:
                form.add_error("sku_code", _("SKU 编码重复"))
            if price is None:
                form.add_error("price", _("请填写价格"))
            for slot, (name, value) in enumerate(zip(spec_names, values, strict=False), start=1):
                if name and not value:
                    form.add_error(f"value_{slot}", _("请填写“%(name)s”") % {"name": name})
                if not name and value:
                    form.add_error(f"value_{slot}", _("请先填写对应的规格名"))
            if values in seen_specs:
                form.add_error(None, _("两个 SKU 的规格完全相同"))
            seen_codes.add(sku_code)
            seen_specs.add(values)
        if count == 0:
            raise forms.ValidationError(_("商品至少需要一个 SKU（规格、编码和价格）"))

    def variants(self) -> list[dict]:
        """The service's `variants` list (price in fen)."""
        spec_names = self.spec_names or []
        result = []
        for form in self.forms:
            if form.is_blank():
                continue
            data = form.cleaned_data
            specs = {}
            for slot, name in enumerate(spec_names, start=1):
                if name:
                    specs[name] = data[f"value_{slot}"].strip()
            result.append(
                {
                    "sku_code": data["sku_code"],
                    "barcode": data["barcode"] or None,
                    "specs": specs,
                    "price": {"amount": yuan_to_fen(data["price"])},
                }
            )
        return result


VariantFormSet = forms.formset_factory(
    VariantForm, formset=BaseVariantFormSet, extra=0, min_num=1, max_num=100, absolute_max=100
)


def variant_initial(variants: list[dict], spec_names: list[str]) -> list[dict]:
    rows = []
    for variant in variants:
        if not variant.get("is_active", True):
            continue
        row = {
            "sku_id": variant["sku_id"],
            "sku_code": variant["sku_code"],
            "barcode": variant["barcode"] or "",
            "price": fen_to_yuan(variant["price"]["amount"]),
        }
        for slot, name in enumerate(spec_names, start=1):
            row[f"value_{slot}"] = (variant["specs"] or {}).get(name, "")
        rows.append(row)
    return rows


def variant_error_index(loc: list[str]) -> tuple[int | None, str | None]:
    """["variants", 2, "barcode"] -> (2, "barcode")."""
    if len(loc) >= 2 and loc[0] == "variants" and str(loc[1]).isdigit():
        field = loc[2] if len(loc) > 2 else None
        return int(loc[1]), {"specs": None, "price": "price"}.get(field, field)
    return None, None


class ImagesField(forms.FileField):
    """Several image files from one `<input type=file multiple>`."""

    class Widget(forms.ClearableFileInput):
        allow_multiple_selected = True

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            self.Widget(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif", "multiple": True}),
        )
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(ImagesField, self).clean(item, initial) for item in files]


class ImageUploadForm(forms.Form):
    images = ImagesField(label=gettext_lazy("上传图片"))

    def clean_images(self):
        files = self.cleaned_data["images"]
        if not files:
            raise forms.ValidationError(_("请选择图片"))
        if len(files) > 15:
            raise forms.ValidationError(_("一次最多上传 15 张图片"))
        return files


# --- per-store listings and prices --------------------------------------------------------------------
def parse_yuan(raw: str):
    """A price box: '' -> None (base price); '12.5' -> 1250; anything else -> ValueError."""
    raw = (raw or "").strip().replace("¥", "").replace("，", ",").replace(",", "")
    if not raw:
        return None
    field = YuanField()
    try:
        return yuan_to_fen(field.clean(raw))
    except forms.ValidationError as exc:
        raise ValueError(exc.messages[0]) from exc


# --- staff ----------------------------------------------------------------------------------------------
ROLE_LABELS = dict(Role.CHOICES)


class StaffForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("用户名"),
        max_length=64,
        help_text=gettext_lazy("登录用，3–64 位字母、数字或 . _ - @"),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off"}),
    )
    display_name = forms.CharField(label=gettext_lazy("姓名"), max_length=64, required=False)
    role = forms.ChoiceField(label=gettext_lazy("角色"))
    merchant = forms.ChoiceField(label=gettext_lazy("所属商户"), required=False)
    store = forms.ChoiceField(label=gettext_lazy("所属门店"), required=False)
    password = forms.CharField(
        label=gettext_lazy("初始密码"),
        strip=False,
        max_length=128,
        help_text=gettext_lazy("至少 8 位，不能是常见密码或纯数字"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    is_active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)

    def __init__(self, *args, actor, stores, merchants=None, editing=None, **kwargs):
        super().__init__(*args, **kwargs)
        roles = [(Role.MERCHANT_ADMIN, ROLE_LABELS[Role.MERCHANT_ADMIN])]
        if actor.is_platform:
            roles.insert(0, (Role.PLATFORM_ADMIN, ROLE_LABELS[Role.PLATFORM_ADMIN]))
        roles += [
            (Role.STORE_MANAGER, ROLE_LABELS[Role.STORE_MANAGER]),
            (Role.STORE_CLERK, ROLE_LABELS[Role.STORE_CLERK]),
        ]
        self.fields["role"].choices = roles
        self.fields["role"].widget.attrs["data-role-select"] = "1"
        self.fields["store"].choices = [("", _("请选择门店"))] + [
            (str(store.pk), f"{store.name}（{store.code}）") for store in stores
        ]
        if merchants is None:
            del self.fields["merchant"]
        else:
            self.fields["merchant"].choices = [("", _("请选择商户"))] + [
                (str(m.pk), m.name) for m in merchants
            ]
        self.editing = editing
        if editing is not None:
            del self.fields["password"]
            self.fields["username"].disabled = True
            self.fields["username"].help_text = ""
            if editing.pk == actor.staff_id:
                for name in ("role", "merchant", "store", "is_active"):
                    if name in self.fields:
                        self.fields[name].disabled = True
        else:
            del self.fields["is_active"]

    def clean(self):
        data = super().clean()
        role = data.get("role")
        if role in Role.STORE and not data.get("store"):
            self.add_error("store", _("门店角色必须选择所属门店"))
        if role == Role.MERCHANT_ADMIN and "merchant" in self.fields and not data.get("merchant"):
            self.add_error("merchant", _("总部管理员必须选择所属商户"))
        return data


def staff_error_field(loc: list[str]) -> str | None:
    if not loc:
        return None
    return {"store_id": "store", "merchant_id": "merchant"}.get(loc[0], loc[0])


class PasswordResetForm(forms.Form):
    new_password = forms.CharField(
        label=gettext_lazy("新密码"),
        strip=False,
        max_length=128,
        help_text=gettext_lazy("至少 8 位，不能是常见密码或纯数字；重置后该员工的登录会话全部失效"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class MerchantForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("商户编码"), max_length=40, validators=[code_validator], help_text=CODE_HELP
    )
    name = forms.CharField(label=gettext_lazy("商户名称"), max_length=100)
    brand_name = forms.CharField(label=gettext_lazy("品牌名"), max_length=100, required=False)
    timezone = forms.CharField(
        label=gettext_lazy("时区"),
        max_length=64,
        initial="Asia/Shanghai",
        widget=forms.TextInput(attrs={"list": "timezones"}),
    )

    def clean_timezone(self):
        zone = self.cleaned_data["timezone"].strip()
        if not is_valid_timezone(zone):
            raise forms.ValidationError(_("请填写 IANA 时区名，如 Asia/Shanghai"))
        return zone
