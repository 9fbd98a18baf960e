"""Forms of HQ operations: the order filters, restock decisions, API keys, webhooks and the payment
provider accounts. They check what people type; the services check again and have the last word."""

import datetime as dt

from cryptography import x509
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.integrations.events import ALL_EVENTS, EVENT_TYPES
from mendian.orders.models import FulfilmentType, OrderStatus

MAX_RANGE_DAYS = 366
EVENT_LABELS = {
    "stock.low": gettext_lazy("库存不足（stock.low）"),
    "order.paid": gettext_lazy("订单已支付（order.paid）"),
    "order.ready": gettext_lazy("待自提（order.ready）"),
    "order.completed": gettext_lazy("订单完成（order.completed）"),
    "order.cancelled": gettext_lazy("订单取消（order.cancelled）"),
    "order.refunded": gettext_lazy("订单退款（order.refunded）"),
}


# --- orders --------------------------------------------------------------------------------------------
class OrderFilterForm(forms.Form):
    store = forms.ChoiceField(label=gettext_lazy("门店"), required=False)
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[("", gettext_lazy("全部状态")), *OrderStatus.choices],
    )
    fulfilment = forms.ChoiceField(
        label=gettext_lazy("履约方式"),
        required=False,
        choices=[("", gettext_lazy("全部方式")), *FulfilmentType.choices],
    )
    date_from = forms.DateField(
        label=gettext_lazy("下单日期从"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": gettext_lazy("日期格式应为 2026-03-15")},
    )
    date_to = forms.DateField(
        label=gettext_lazy("至"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": gettext_lazy("日期格式应为 2026-03-15")},
    )
    q = forms.CharField(
        label=gettext_lazy("订单号或手机号"),
        required=False,
        max_length=32,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("订单号（可只输开头）或完整手机号")}
        ),
    )

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("全部门店"))] + [
            (str(store.pk), f"{store.name}（{store.code}）") for store in stores
        ]

    def clean_q(self):
        return "".join(self.cleaned_data["q"].split())

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day and not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
                self.add_error(name, _("日期超出范围"))
        if start and end and end < start:
            self.add_error("date_to", _("结束日期不能早于开始日期"))
        return data


# --- restock -------------------------------------------------------------------------------------------
class RestockRejectForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("驳回原因"),
        max_length=200,
        error_messages={"required": gettext_lazy("请填写驳回原因，门店会看到它")},
    )


# --- integrations --------------------------------------------------------------------------------------
class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("名称"),
        max_length=100,
        help_text=gettext_lazy("便于识别，如“收银系统-光谷店”"),
        error_messages={"required": gettext_lazy("请填写名称")},
    )


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("接收地址"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://erp.example.com/mendian/webhook"}),
        error_messages={"required": gettext_lazy("请填写接收地址")},
    )
    description = forms.CharField(label=gettext_lazy("说明"), max_length=200, required=False)
    all_events = forms.BooleanField(
        label=gettext_lazy("订阅全部事件（包括以后新增的）"), required=False, initial=True
    )
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("订阅的事件"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(name, EVENT_LABELS.get(name, name)) for name in sorted(EVENT_TYPES)],
    )

    def clean(self):
        data = super().clean()
        if not data.get("all_events") and not data.get("event_types"):
            self.add_error("event_types", _("请至少选择一个事件，或订阅全部事件"))
        return data

    def service_event_types(self) -> list[str]:
        if self.cleaned_data.get("all_events"):
            return [ALL_EVENTS]
        return list(self.cleaned_data["event_types"])


# --- payment provider accounts ---------------------------------------------------------------------------
SECRET_HELP = gettext_lazy("只写不读：保存后不再显示。留空则保留原值")


class WriteOnlyTextarea(forms.Textarea):
    """A secret is never sent back to the browser, not even after a failed save."""

    def format_value(self, value):
        return None


def _pem_area(label, *, required=False, help_text="", secret=False):
    attrs = {"rows": 5, "spellcheck": "false", "class": "mono", "autocomplete": "off"}
    if secret:
        attrs["placeholder"] = "-----BEGIN PRIVATE KEY-----"
    return forms.CharField(
        label=label,
        required=required,
        strip=True,
        max_length=16000,
        help_text=help_text,
        widget=(WriteOnlyTextarea if secret else forms.Textarea)(attrs=attrs),
    )


class ProviderAccountForm(forms.Form):
    """Base: `config_fields` and `secret_fields` are the service's keys, one form field each."""

    provider = ""
    config_fields: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()

    enabled = forms.BooleanField(label=gettext_lazy("启用（顾客可使用此方式付款）"), required=False)

    def __init__(self, *args, secrets_set=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.secrets_set = frozenset(secrets_set)
        for name in self.secret_fields:
            field = self.fields[name]
            field.required = False
            if name in self.secrets_set:
                field.widget.attrs["placeholder"] = _("已设置（留空保持不变）")

    @classmethod
    def initial_from(cls, view) -> dict:
        initial = {"enabled": view.enabled}
        for name in cls.config_fields:
            initial[name] = view.config.get(name, "")
        return initial

    def service_config(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in self.config_fields}

    def service_secrets(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in self.secret_fields}


def _split_certificates(text: str) -> list[str]:
    marker = "-----END CERTIFICATE-----"
    parts = [part.strip() for part in text.split(marker)]
    return [part + "\n" + marker + "\n" for part in parts if part]


class WechatPayForm(ProviderAccountForm):
    provider = "wechatpay"
    config_fields = (
        "appid",
        "mchid",
        "merchant_serial_no",
        "api_base",
        "notify_url",
        "public_key_id",
        "public_key",
        "platform_certificates",
    )
    secret_fields = ("private_key", "apiv3_key")

    appid = forms.CharField(
        label=gettext_lazy("AppID"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("小程序的 AppID（wx 开头 18 位），顾客登录用的同一个"),
    )
    mchid = forms.CharField(label=gettext_lazy("商户号（mchid）"), max_length=20, required=False)
    merchant_serial_no = forms.CharField(
        label=gettext_lazy("商户 API 证书序列号"), max_length=64, required=False
    )
    api_base = forms.CharField(
        label=gettext_lazy("API 地址"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("留空使用 https://api.mch.weixin.qq.com"),
    )
    notify_url = forms.CharField(
        label=gettext_lazy("回调地址"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("留空自动使用本站的 /api/v1/payments/notify/wechatpay；需为公网 https"),
    )
    public_key_id = forms.CharField(
        label=gettext_lazy("微信支付公钥 ID"),
        max_length=80,
        required=False,
        help_text=gettext_lazy("PUB_KEY_ID_ 开头（公钥模式，推荐）"),
    )
    public_key = _pem_area(gettext_lazy("微信支付公钥（PEM）"))
    platform_certificates = _pem_area(
        gettext_lazy("微信支付平台证书（PEM，可多个）"),
        help_text=gettext_lazy("平台证书模式：粘贴一个或多个证书，序列号自动识别。迁移期间可与公钥同时配置"),
    )
    private_key = _pem_area(
        gettext_lazy("商户 API 私钥（apiclient_key.pem）"), help_text=SECRET_HELP, secret=True
    )
    apiv3_key = forms.CharField(
        label=gettext_lazy("APIv3 密钥"),
        max_length=64,
        required=False,
        help_text=SECRET_HELP,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )

    @classmethod
    def initial_from(cls, view) -> dict:
        initial = super().initial_from(view)
        certificates = view.config.get("platform_certificates") or {}
        initial["platform_certificates"] = "".join(certificates.values())
        return initial

    def clean_platform_certificates(self):
        text = self.cleaned_data["platform_certificates"]
        if not text:
            return {}
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise forms.ValidationError(_("请粘贴以 -----BEGIN CERTIFICATE----- 开头的平台证书"))
        found = {}
        for pem in _split_certificates(text):
            try:
                cert = x509.load_pem_x509_certificate(pem.encode())
            except ValueError:
                raise forms.ValidationError(_("无法解析的证书，请检查是否完整复制")) from None
            found[format(cert.serial_number, "X")] = pem
        return found

    def service_config(self) -> dict:
        config = super().service_config()
        config["platform_certificates"] = self.cleaned_data.get("platform_certificates") or {}
        return config


class AlipayForm(ProviderAccountForm):
    provider = "alipay"
    config_fields = ("app_id", "seller_id", "gateway", "notify_url", "alipay_public_key")
    secret_fields = ("app_private_key",)

    app_id = forms.CharField(label=gettext_lazy("应用 APPID"), max_length=32, required=False)
    seller_id = forms.CharField(
        label=gettext_lazy("卖家 PID"),
        max_length=16,
        required=False,
        help_text=gettext_lazy("2088 开头 16 位，可选：用于核对回调中的收款方"),
    )
    gateway = forms.CharField(
        label=gettext_lazy("网关地址"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("留空使用正式环境 https://openapi.alipay.com/gateway.do"),
    )
    notify_url = forms.CharField(
        label=gettext_lazy("回调地址"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("留空自动使用本站的 /api/v1/payments/notify/alipay；需为公网 https"),
    )
    alipay_public_key = _pem_area(
        gettext_lazy("支付宝公钥"), help_text=gettext_lazy("PEM 或开放平台显示的一行 Base64 均可")
    )
    app_private_key = _pem_area(gettext_lazy("应用私钥"), help_text=SECRET_HELP, secret=True)


PROVIDER_FORMS = {"wechatpay": WechatPayForm, "alipay": AlipayForm}
PROVIDER_LABELS = {"wechatpay": gettext_lazy("微信支付"), "alipay": gettext_lazy("支付宝")}
