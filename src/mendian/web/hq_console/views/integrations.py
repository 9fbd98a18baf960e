"""HQ: open-API keys and webhook endpoints with their delivery log.

A new key's secret and a new (or rotated) webhook signing secret are rendered once, in the reply to
the POST that made them, and never stored anywhere the console could show them again."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from mendian.core.errors import DomainError, NotFound
from mendian.integrations.events import ALL_EVENTS
from mendian.integrations.models import DeliveryStatus
from mendian.integrations.selectors import (
    api_key_get_for_actor,
    api_keys_for_actor,
    webhook_deliveries_for_endpoint,
    webhook_delivery_get_for_actor,
    webhook_endpoint_get_for_actor,
    webhook_endpoints_for_actor,
)
from mendian.integrations.services import (
    MAX_WEBHOOKS_PER_MERCHANT,
    api_key_create,
    api_key_revoke,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_update,
)
from mendian.web.auth import hq_view
from mendian.web.hq_console.common import add_domain_error, cursor_param, message_domain_error, page_links
from mendian.web.hq_console.context import current_merchant_id, render_hq
from mendian.web.hq_console.forms_ops import ApiKeyForm, WebhookForm

KEYS_PER_PAGE = 50
DELIVERIES_PER_PAGE = 30


def _not_found(request, nav):
    return render_hq(request, "console/not_found.html", {}, nav=nav, status=404)


def _in_merchant(request, rows):
    """A platform admin who switched to a merchant sees that merchant's rows only."""
    merchant_id = current_merchant_id(request)
    if merchant_id is None:
        return rows
    return [row for row in rows if row.merchant_id == merchant_id]


# --- API keys ------------------------------------------------------------------------------------------
def _api_keys_page(request, *, form=None, created=None, status=200):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    page = api_keys_for_actor(actor=actor, limit=KEYS_PER_PAGE, cursor=cursor_param(request))
    keys = _in_merchant(request, page["items"])
    return render_hq(
        request,
        "hq/api_keys.html",
        {
            "keys": keys,
            "pages": page_links(request, page["next_cursor"]),
            "form": form or ApiKeyForm(),
            "created": created,
            "need_merchant": actor.is_platform and merchant_id is None,
        },
        nav="api_keys",
        status=status,
    )


@hq_view
def api_keys(request):
    if request.method != "POST":
        return _api_keys_page(request)
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            api_key, secret = api_key_create(
                actor=request.actor, name=form.cleaned_data["name"], merchant_id=current_merchant_id(request)
            )
        except DomainError as exc:
            add_domain_error(form, exc, default_field="name")
        else:
            return _api_keys_page(request, created={"key": api_key, "secret": secret})
    return _api_keys_page(request, form=form, status=422)


@hq_view
def api_key_revoke_view(request, api_key_id):
    if request.method != "POST":
        return redirect("hq:api_keys")
    try:
        api_key = api_key_get_for_actor(actor=request.actor, api_key_id=api_key_id)
    except NotFound:
        return _not_found(request, "api_keys")
    try:
        api_key_revoke(actor=request.actor, api_key=api_key)
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(
            request, _("密钥“%(name)s”已吊销，使用它的请求将立即被拒绝") % {"name": api_key.name}
        )
    return redirect("hq:api_keys")


# --- webhooks ------------------------------------------------------------------------------------------
def _events_label(event_types) -> list[str]:
    if ALL_EVENTS in event_types:
        return [_("全部事件")]
    return [str(name) for name in event_types]


def _webhooks_page(request, *, form=None, created=None, status=200):
    actor = request.actor
    merchant_id = current_merchant_id(request)
    page = webhook_endpoints_for_actor(actor=actor, limit=MAX_WEBHOOKS_PER_MERCHANT * 5)
    endpoints = [
        {"endpoint": endpoint, "events": _events_label(endpoint.event_types)}
        for endpoint in _in_merchant(request, page["items"])
    ]
    return render_hq(
        request,
        "hq/webhooks.html",
        {
            "endpoints": endpoints,
            "form": form or WebhookForm(),
            "created": created,
            "need_merchant": actor.is_platform and merchant_id is None,
            "max_webhooks": MAX_WEBHOOKS_PER_MERCHANT,
        },
        nav="webhooks",
        status=status,
    )


def _url_field(loc):
    return (
        {"url": "url", "event_types": "event_types", "description": "description"}.get(loc[0])
        if loc
        else None
    )


@hq_view
def webhooks(request):
    if request.method != "POST":
        return _webhooks_page(request)
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            endpoint, secret = webhook_endpoint_create(
                actor=request.actor,
                url=form.cleaned_data["url"],
                event_types=form.service_event_types(),
                description=form.cleaned_data["description"],
                merchant_id=current_merchant_id(request),
            )
        except DomainError as exc:
            if exc.code == "webhook_limit_reached":
                form.add_error(
                    None, _("每个商户最多 %(n)s 个 Webhook 地址") % {"n": MAX_WEBHOOKS_PER_MERCHANT}
                )
            elif exc.code == "invalid_webhook_url":
                form.add_error("url", _("地址需为 http(s) 网址：有主机名，不含空格、用户名密码或 # 片段"))
            else:
                add_domain_error(form, exc, _url_field, default_field="url")
        else:
            return _webhooks_page(request, created={"endpoint": endpoint, "secret": secret})
    return _webhooks_page(request, form=form, status=422)


def _endpoint_or_none(request, endpoint_id):
    try:
        return webhook_endpoint_get_for_actor(actor=request.actor, endpoint_id=endpoint_id)
    except NotFound:
        return None


@hq_view
def webhook_detail(request, endpoint_id):
    endpoint = _endpoint_or_none(request, endpoint_id)
    if endpoint is None:
        return _not_found(request, "webhooks")
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    try:
        page = webhook_deliveries_for_endpoint(
            actor=request.actor,
            endpoint=endpoint,
            status=status or None,
            limit=DELIVERIES_PER_PAGE,
            cursor=cursor_param(request),
        )
    except DomainError as exc:
        message_domain_error(request, exc)
        return redirect("hq:webhook_detail", endpoint_id=endpoint.pk)
    return render_hq(
        request,
        "hq/webhook_detail.html",
        {
            "endpoint": endpoint,
            "events": _events_label(endpoint.event_types),
            "deliveries": page["items"],
            "pages": page_links(request, page["next_cursor"]),
            "status": status,
            "statuses": DeliveryStatus.values,
            "rotated": None,
        },
        nav="webhooks",
    )


@hq_view
def webhook_toggle(request, endpoint_id):
    if request.method != "POST":
        return redirect("hq:webhooks")
    endpoint = _endpoint_or_none(request, endpoint_id)
    if endpoint is None:
        return _not_found(request, "webhooks")
    enable = request.POST.get("enable") == "1"
    try:
        webhook_endpoint_update(actor=request.actor, endpoint=endpoint, is_active=enable)
    except DomainError as exc:
        message_domain_error(request, exc)
    else:
        messages.success(request, _("已启用，新的事件会推送到该地址") if enable else _("已停用，不再推送"))
    return redirect("hq:webhook_detail", endpoint_id=endpoint.pk)


@hq_view
def webhook_rotate(request, endpoint_id):
    if request.method != "POST":
        return redirect("hq:webhooks")
    endpoint = _endpoint_or_none(request, endpoint_id)
    if endpoint is None:
        return _not_found(request, "webhooks")
    try:
        endpoint, secret = webhook_endpoint_update(actor=request.actor, endpoint=endpoint, rotate_secret=True)
    except DomainError as exc:
        message_domain_error(request, exc)
        return redirect("hq:webhook_detail", endpoint_id=endpoint.pk)
    page = webhook_deliveries_for_endpoint(actor=request.actor, endpoint=endpoint, limit=DELIVERIES_PER_PAGE)
    return render_hq(
        request,
        "hq/webhook_detail.html",
        {
            "endpoint": endpoint,
            "events": _events_label(endpoint.event_types),
            "deliveries": page["items"],
            "pages": page_links(request, page["next_cursor"]),
            "status": "",
            "statuses": DeliveryStatus.values,
            "rotated": secret,
        },
        nav="webhooks",
    )


@hq_view
def delivery_replay(request, delivery_id):
    if request.method != "POST":
        return redirect("hq:webhooks")
    try:
        delivery = webhook_delivery_get_for_actor(actor=request.actor, delivery_id=delivery_id)
    except NotFound:
        return _not_found(request, "webhooks")
    try:
        webhook_delivery_replay(actor=request.actor, delivery=delivery)
    except DomainError as exc:
        if exc.code == "webhook_inactive":
            messages.error(request, _("该地址已停用，请先启用再重发"))
        else:
            message_domain_error(request, exc)
    else:
        messages.success(request, _("已安排立即重发（投递 ID 不变，接收方可据此去重）"))
    return redirect("hq:webhook_detail", endpoint_id=delivery.endpoint_id)
