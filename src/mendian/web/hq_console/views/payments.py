"""HQ: the merchant's WeChat Pay and Alipay accounts, and the refunds that went wrong at the provider.
Secrets are write-only: the page says which are set ("已设置") and never renders one back; a blank
secret field keeps the stored value."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mendian.core.errors import DomainError, NotFound
from mendian.core.money import format_yuan
from mendian.payments import selectors as payment_selectors
from mendian.payments import services as payment_services
from mendian.payments.accounts import PROVIDERS, provider_account_save, provider_accounts_for_merchant
from mendian.payments.models import RESOLUTION_NOTE_MAX_LENGTH, RefundResolution
from mendian.payments.providers.base import BankCard
from mendian.web.auth import forbidden, hq_view
from mendian.web.hq_console.common import error_message
from mendian.web.hq_console.context import current_merchant_id, render_hq
from mendian.web.hq_console.forms_ops import PROVIDER_FORMS, PROVIDER_LABELS

CAPABILITY = "payments.manage"
# Abnormal refunds shown on the page, the longest waiting first (the badge counts them all).
ABNORMAL_REFUNDS_SHOWN = 50
ABNORMAL_REASONS = {
    "WeChat Pay: ABNORMAL": gettext_lazy("微信支付无法退到顾客账户（如银行卡已注销）"),
}
# The debit cards of the banks most customers hold, by WeChat Pay's bank codes (its API takes any
# of its codes; the console offers these).
WECHAT_DEBIT_BANKS = (
    ("ICBC_DEBIT", gettext_lazy("工商银行")),
    ("ABC_DEBIT", gettext_lazy("农业银行")),
    ("BOC_DEBIT", gettext_lazy("中国银行")),
    ("CCB_DEBIT", gettext_lazy("建设银行")),
    ("COMM_DEBIT", gettext_lazy("交通银行")),
    ("PSBC_DEBIT", gettext_lazy("邮储银行")),
    ("CMB_DEBIT", gettext_lazy("招商银行")),
    ("CITIC_DEBIT", gettext_lazy("中信银行")),
    ("CEB_DEBIT", gettext_lazy("光大银行")),
    ("CMBC_DEBIT", gettext_lazy("民生银行")),
    ("CIB_DEBIT", gettext_lazy("兴业银行")),
    ("SPDB_DEBIT", gettext_lazy("浦发银行")),
    ("GDB_DEBIT", gettext_lazy("广发银行")),
    ("PAB_DEBIT", gettext_lazy("平安银行")),
    ("HXB_DEBIT", gettext_lazy("华夏银行")),
)
# What a refused card field means to the operator (the service's messages are the API's, in English).
CARD_PROBLEMS = {
    "bank_type": gettext_lazy("请选择开户银行"),
    "bank_account": gettext_lazy("银行卡号应为 10–32 位数字"),
    "real_name": gettext_lazy("请填写持卡人姓名（最多 50 字）"),
}
PROBLEMS = {
    "required": gettext_lazy("启用前必须填写"),
    "invalid_format": gettext_lazy("格式不正确"),
    "invalid_url": gettext_lazy("需为 https 地址，且不含用户名密码或 # 片段"),
    "invalid_pem": gettext_lazy("无法解析：请粘贴完整的 PEM（含 BEGIN/END 行），需为 2048 位以上 RSA 密钥"),
    "too_long": gettext_lazy("内容过长"),
    "unknown_key": gettext_lazy("不支持的配置项"),
    "invalid": gettext_lazy("格式不正确"),
}
FORMAT_HINTS = {
    "appid": gettext_lazy("格式不正确：应为 wx 开头的 18 位 AppID"),
    "mchid": gettext_lazy("格式不正确：商户号为 8–12 位数字"),
    "merchant_serial_no": gettext_lazy("格式不正确：应为证书序列号（十六进制字符）"),
    "public_key_id": gettext_lazy("格式不正确：应以 PUB_KEY_ID_ 开头"),
    "app_id": gettext_lazy("格式不正确：APPID 为数字"),
    "seller_id": gettext_lazy("格式不正确：应为 2088 开头的 16 位数字"),
    "apiv3_key": gettext_lazy("格式不正确：APIv3 密钥为 32 个字符"),
}
PEM_HINTS = (
    ("password", gettext_lazy("私钥设置了密码，请导出不带密码的私钥")),
    ("RSA", gettext_lazy("需为 RSA 密钥")),
    ("2048", gettext_lazy("密钥长度至少 2048 位")),
)
PROVIDER_HELP = {
    "wechatpay": gettext_lazy(
        "在微信支付商户平台获取：商户号、API 证书序列号与私钥、APIv3 密钥，以及微信支付公钥（或平台证书）。"
    ),
    "alipay": gettext_lazy("在支付宝开放平台的应用详情中获取：APPID、应用私钥与支付宝公钥（RSA2）。"),
}


def _label(provider: str, key: str) -> str:
    field = PROVIDER_FORMS[provider].base_fields.get(key)
    return str(field.label) if field else key


def _guard(request):
    if not request.actor.can(CAPABILITY):
        return forbidden(request, _("你的角色无权管理支付设置"), console="hq")
    return None


def refund_failure_text(refund) -> str:
    """What went wrong with a refund, for HQ: the provider's words (English, technical) only when
    unknown."""
    return str(ABNORMAL_REASONS.get(refund.failure, refund.failure))


def _abnormal_refunds(request, merchant_id) -> tuple[list[dict], int]:
    """(the longest-waiting abnormal refunds, how many there are in all)."""
    qs = payment_selectors.refunds_for_hq(actor=request.actor, status="abnormal", merchant_id=merchant_id)
    shown = [
        {
            "refund": refund,
            "order": refund.payment.order,
            "amount": format_yuan(refund.amount),
            "returned": refund.resolution == RefundResolution.MERCHANT_BANK_CARD,
            "wechatpay": refund.payment.provider == "wechatpay",
            "provider": PROVIDER_LABELS.get(refund.payment.provider, refund.payment.provider),
            "reason": refund_failure_text(refund),
        }
        for refund in qs.order_by("pk")[:ABNORMAL_REFUNDS_SHOWN]
    ]
    return shown, (len(shown) if len(shown) < ABNORMAL_REFUNDS_SHOWN else qs.count())


def _posted_card(request) -> BankCard:
    """The customer's debit card as typed: the number without the spaces people group it with."""
    return BankCard(
        bank_type=request.POST.get("bank_type", "").strip(),
        bank_account="".join(request.POST.get("bank_account", "").split()),
        real_name=request.POST.get("real_name", "").strip(),
    )


def _refund_resolve(request):
    """HQ settles an abnormal refund from the list (`refund_abnormal_resolve`). The card of
    `user_bank_card` is passed on and never rendered back: the page redirects either way."""
    method = request.POST.get("method", "")
    try:
        payment_services.refund_abnormal_resolve(
            actor=request.actor,
            refund_id=request.POST.get("refund_id", ""),
            method=method,
            note=request.POST.get("note", ""),
            bank_card=_posted_card(request) if method == RefundResolution.USER_BANK_CARD else None,
        )
    except DomainError as exc:
        fields = [str((error.get("loc") or [""])[-1]) for error in exc.errors or ()]
        card_problems = [str(CARD_PROBLEMS[field]) for field in fields if field in CARD_PROBLEMS]
        if "note" in fields and not request.POST.get("note", "").strip():
            messages.error(request, _("请填写线下退款的方式（如：门店现金退还、银行转账）"))
        elif card_problems:
            messages.error(request, "；".join(card_problems))
        else:
            messages.error(request, error_message(exc))
    else:
        if method == RefundResolution.OFFLINE:
            messages.success(request, _("已记录线下退款，订单的退款已完成"))
        elif method == RefundResolution.USER_BANK_CARD:
            messages.success(
                request, _("已请微信支付退到顾客的银行卡；到账后退款自动完成，如再失败会重新出现在这里")
            )
        else:
            messages.success(
                request, _("微信支付将把款项退回商户结算银行账户；请线下退给顾客后，再标记为已线下退款")
            )
    return redirect("hq:payments")


@hq_view
def payment_settings(request):
    denied = _guard(request)
    if denied:
        return denied
    if request.method == "POST":
        return _refund_resolve(request)
    merchant_id = current_merchant_id(request)
    if merchant_id is None:
        return render_hq(request, "hq/payments.html", {"need_merchant": True}, nav="payments")
    views = provider_accounts_for_merchant(actor=request.actor, merchant_id=merchant_id)
    cards = [
        {
            "provider": name,
            "label": PROVIDER_LABELS[name],
            "help": PROVIDER_HELP[name],
            "view": views[name],
            "config": [
                (_label(name, key), value)
                for key, value in views[name].config.items()
                if key not in ("platform_certificates", "public_key", "alipay_public_key")
            ],
            "secrets": [
                (_label(name, key), key in views[name].secrets_set) for key in PROVIDERS[name].secret_keys
            ],
        }
        for name in PROVIDERS
    ]
    abnormal_refunds, abnormal_count = _abnormal_refunds(request, merchant_id)
    context = {
        "cards": cards,
        "abnormal_refunds": abnormal_refunds,
        "abnormal_count": abnormal_count,
        "note_max": RESOLUTION_NOTE_MAX_LENGTH,
        "debit_banks": WECHAT_DEBIT_BANKS,
    }
    return render_hq(request, "hq/payments.html", context, nav="payments")


def _place_errors(form, exc: DomainError) -> None:
    placed = False
    for item in exc.errors or []:
        loc = item.get("loc") or []
        field = str(loc[-1]) if loc else ""
        if field in form.fields:
            kind, detail = item.get("type"), item.get("msg") or ""
            message = str(PROBLEMS.get(kind, detail or error_message(exc)))
            if kind == "invalid_format" and field in FORMAT_HINTS:
                message = str(FORMAT_HINTS[field])
            elif kind == "invalid_pem":
                message = next((str(hint) for word, hint in PEM_HINTS if word in detail), message)
            if message not in form.errors.get(field, []):
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error_message(exc))


@hq_view
def payment_provider_edit(request, provider):
    denied = _guard(request)
    if denied:
        return denied
    form_class = PROVIDER_FORMS.get(provider)
    if form_class is None:
        return render_hq(request, "console/not_found.html", {}, nav="payments", status=404)
    merchant_id = current_merchant_id(request)
    if merchant_id is None:
        return render_hq(request, "hq/payments.html", {"need_merchant": True}, nav="payments")
    try:
        view = provider_accounts_for_merchant(actor=request.actor, merchant_id=merchant_id)[provider]
    except NotFound:
        return render_hq(request, "console/not_found.html", {}, nav="payments", status=404)
    form = form_class(
        request.POST or None, initial=form_class.initial_from(view), secrets_set=view.secrets_set
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                provider_account_save(
                    actor=request.actor,
                    merchant_id=merchant_id,
                    provider=provider,
                    enabled=form.cleaned_data["enabled"],
                    config=form.service_config(),
                    secrets=form.service_secrets(),
                )
            except DomainError as exc:
                if exc.code == "provider_account_taken":
                    field = PROVIDERS[provider].identity
                    form.add_error(field, _("该账号已被其他商户使用"))
                else:
                    _place_errors(form, exc)
            else:
                messages.success(
                    request, _("%(provider)s 设置已保存") % {"provider": PROVIDER_LABELS[provider]}
                )
                return redirect("hq:payment_provider", provider=provider)
        status = 422
    secret_rows = [
        {"field": form[name], "is_set": name in view.secrets_set} for name in form_class.secret_fields
    ]
    config_rows = [form[name] for name in form_class.config_fields]
    return render_hq(
        request,
        "hq/payment_form.html",
        {
            "form": form,
            "provider": provider,
            "label": PROVIDER_LABELS[provider],
            "help": PROVIDER_HELP[provider],
            "view": view,
            "config_rows": config_rows,
            "secret_rows": secret_rows,
            "certificate_serials": sorted((view.config.get("platform_certificates") or {}).keys()),
        },
        nav="payments",
        status=status,
    )
