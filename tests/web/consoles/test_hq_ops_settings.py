"""HQ console: API keys, webhooks with their delivery log, and the payment provider settings.
Secrets are shown once (keys, webhook signing secrets) or never (payment keys)."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mendian.core.scope import Actor, Role
from mendian.integrations.models import (
    ApiKey,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from mendian.integrations.outbox import outbox_emit
from mendian.integrations.services import api_key_create, outbox_dispatch, webhook_endpoint_create
from mendian.payments.models import ProviderAccount
from tests.factories import StaffFactory
from tests.web.consoles.conftest import signed_in


@pytest.fixture
def rival_admin(other_merchant):
    return signed_in(StaffFactory(username="rival_boss", role=Role.MERCHANT_ADMIN, merchant=other_merchant))


# --- API keys --------------------------------------------------------------------------------------------


def test_issue_a_key_shows_the_secret_once(hq, merchant):
    response = hq.post("/hq/integrations/api-keys/", {"name": "收银系统-光谷店"})
    html = response.content.decode()

    key = ApiKey.objects.get(merchant=merchant)
    assert response.status_code == 200
    assert key.secret in html and key.key_id in html and "data-copy" in html
    assert "离开本页后将无法再次查看" in html
    again = hq.get("/hq/integrations/api-keys/").content.decode()
    assert "收银系统-光谷店" in again and key.key_id in again
    assert key.secret not in again


def test_key_name_is_required(hq):
    response = hq.post("/hq/integrations/api-keys/", {"name": " "})
    assert response.status_code == 422
    assert "请填写名称" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoke_a_key(hq, merchant):
    key, _secret = api_key_create(actor=Actor.system(merchant.pk), name="ERP")
    response = hq.post(f"/hq/integrations/api-keys/{key.pk}/revoke/", follow=True)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "已吊销" in response.content.decode()


def test_another_merchants_keys_are_invisible(rival_admin, merchant):
    key, secret = api_key_create(actor=Actor.system(merchant.pk), name="ERP 对接")
    html = rival_admin.get("/hq/integrations/api-keys/").content.decode()
    assert key.key_id not in html and "ERP 对接" not in html
    assert rival_admin.post(f"/hq/integrations/api-keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


# --- webhooks --------------------------------------------------------------------------------------------


@pytest.fixture
def endpoint(merchant):
    endpoint, _secret = webhook_endpoint_create(
        actor=Actor.system(merchant.pk), url="https://erp.example.com/hook", event_types=["order.paid"]
    )
    return endpoint


@pytest.fixture
def deliveries(merchant, endpoint):
    """Two deliveries to the endpoint: one failed after attempts, one delivered."""
    with transaction.atomic():
        for n in range(2):
            outbox_emit(merchant_id=merchant.pk, event_type="order.paid", payload={"order_id": str(n)})
    outbox_dispatch()
    failed, delivered = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk")
    WebhookDelivery.objects.filter(pk=failed.pk).update(
        status=DeliveryStatus.FAILED,
        attempts=9,
        last_status_code=500,
        last_error="HTTP 500",
        next_attempt_at=None,
    )
    WebhookAttempt.objects.create(
        delivery=failed, number=1, attempted_at=failed.created_at, status_code=500, response_excerpt="oops"
    )
    WebhookDelivery.objects.filter(pk=delivered.pk).update(
        status=DeliveryStatus.DELIVERED, attempts=1, last_status_code=204
    )
    return {"failed": failed, "delivered": delivered}


def test_create_a_webhook_shows_its_secret_once(hq, merchant):
    response = hq.post(
        "/hq/integrations/webhooks/",
        {
            "url": "https://erp.example.com/mendian",
            "description": "ERP",
            "event_types": ["order.paid", "stock.low"],
        },
    )
    endpoint = WebhookEndpoint.objects.get(merchant=merchant)
    assert endpoint.event_types == ["order.paid", "stock.low"]
    assert endpoint.secret in response.content.decode()
    listing = hq.get("/hq/integrations/webhooks/").content.decode()
    assert "https://erp.example.com/mendian" in listing and endpoint.secret not in listing
    detail = hq.get(f"/hq/integrations/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret not in detail


def test_webhook_form_errors(hq):
    response = hq.post("/hq/integrations/webhooks/", {"url": "ftp://x.example.com/", "all_events": "on"})
    assert response.status_code == 422
    assert "地址需为 http(s) 网址" in response.content.decode()
    response = hq.post("/hq/integrations/webhooks/", {"url": "https://x.example.com/"})
    assert "请至少选择一个事件" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_delivery_log_and_replay(hq, endpoint, deliveries, monkeypatch, django_capture_on_commit_callbacks):
    html = hq.get(f"/hq/integrations/webhooks/{endpoint.pk}/").content.decode()
    assert "已放弃" in html and "已送达" in html and ">500<" in html and "oops" in html

    kicks = []
    monkeypatch.setattr("mendian.integrations.services._kick_sender", lambda: kicks.append(1))
    with django_capture_on_commit_callbacks(execute=True):
        response = hq.post(f"/hq/integrations/deliveries/{deliveries['failed'].pk}/replay/", follow=True)
    assert "已安排立即重发" in response.content.decode()
    failed = WebhookDelivery.objects.get(pk=deliveries["failed"].pk)
    assert failed.status == DeliveryStatus.PENDING and failed.failures_in_row == 0
    assert failed.next_attempt_at <= timezone.now()
    assert kicks == [1]

    delivered_only = hq.get(
        f"/hq/integrations/webhooks/{endpoint.pk}/", {"status": "delivered"}
    ).content.decode()
    assert f'data-delivery="{deliveries["delivered"].pk}"' in delivered_only
    assert f'data-delivery="{deliveries["failed"].pk}"' not in delivered_only


def test_disable_and_rotate(hq, endpoint):
    hq.post(f"/hq/integrations/webhooks/{endpoint.pk}/toggle/", {"enable": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    old = endpoint.secret
    response = hq.post(f"/hq/integrations/webhooks/{endpoint.pk}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()


def test_replay_of_a_disabled_endpoint_is_explained(hq, endpoint, deliveries):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    response = hq.post(f"/hq/integrations/deliveries/{deliveries['failed'].pk}/replay/", follow=True)
    assert "请先启用再重发" in response.content.decode()


def test_another_merchants_webhooks_are_404(rival_admin, endpoint, deliveries):
    assert "erp.example.com/hook" not in rival_admin.get("/hq/integrations/webhooks/").content.decode()
    assert rival_admin.get(f"/hq/integrations/webhooks/{endpoint.pk}/").status_code == 404
    assert (
        rival_admin.post(f"/hq/integrations/webhooks/{endpoint.pk}/toggle/", {"enable": "0"}).status_code
        == 404
    )
    assert rival_admin.post(f"/hq/integrations/webhooks/{endpoint.pk}/rotate/").status_code == 404
    assert (
        rival_admin.post(f"/hq/integrations/deliveries/{deliveries['failed'].pk}/replay/").status_code == 404
    )
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_delivery_log_queries_do_not_grow(hq, merchant, endpoint, deliveries):
    url = f"/hq/integrations/webhooks/{endpoint.pk}/"
    hq.get(url)
    with CaptureQueriesContext(connection) as few:
        hq.get(url)
    with transaction.atomic():
        for n in range(6):
            outbox_emit(merchant_id=merchant.pk, event_type="order.paid", payload={"n": n})
    outbox_dispatch()
    with CaptureQueriesContext(connection) as many:
        hq.get(url)
    assert len(few) == len(many) <= 16


# --- payment settings ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def wechat_post(public, private="", apiv3="", **overrides) -> dict:
    return {
        "enabled": "on",
        "appid": "wx8888888888888888",
        "mchid": "1900000109",
        "merchant_serial_no": "444F4864EA9B34415AC3C9F7E7E4B5C3C1F2B1A0",
        "public_key_id": "PUB_KEY_ID_0114232134912410000000000000",
        "public_key": public,
        "private_key": private,
        "apiv3_key": apiv3,
        **overrides,
    }


def test_wechatpay_settings_save_and_secrets_never_come_back(hq, merchant, keypair):
    private, public = keypair
    apiv3 = "0123456789abcdefghijABCDEFGHIJ+-"
    response = hq.post("/hq/payments/wechatpay/", wechat_post(public, private, apiv3))
    assert response.status_code == 302

    account = ProviderAccount.objects.get(merchant=merchant, provider="wechatpay")
    assert account.enabled and account.secret_values()["apiv3_key"] == apiv3
    body = private.split("\n")[1]
    for url in ("/hq/payments/", "/hq/payments/wechatpay/"):
        html = hq.get(url).content.decode()
        assert apiv3 not in html and body not in html and "PRIVATE KEY-----\n" not in html
        assert "已设置" in html
    assert "1900000109" in hq.get("/hq/payments/wechatpay/").content.decode()

    # Blank secrets keep the stored ones.
    hq.post("/hq/payments/wechatpay/", wechat_post(public, mchid="1900000110"))
    account.refresh_from_db()
    assert account.config["mchid"] == "1900000110"
    assert account.secret_values()["private_key"].strip() == private.strip()


def test_bad_pem_is_a_form_error_and_typed_secrets_are_not_echoed(hq, merchant, keypair):
    _private, public = keypair
    response = hq.post(
        "/hq/payments/wechatpay/",
        wechat_post(public, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "x" * 32),
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "无法解析" in html
    assert "AAAA" not in html and "x" * 32 not in html
    assert not ProviderAccount.objects.exists()


def test_enabling_an_incomplete_account_names_the_missing_fields(hq, keypair):
    response = hq.post("/hq/payments/alipay/", {"enabled": "on", "app_id": "2021000000000001"})
    html = response.content.decode()
    assert response.status_code == 422
    assert html.count("启用前必须填写") == 2  # alipay_public_key, app_private_key
    assert not ProviderAccount.objects.exists()


def test_alipay_settings(hq, merchant, keypair):
    private, public = keypair
    response = hq.post(
        "/hq/payments/alipay/",
        {
            "enabled": "on",
            "app_id": "2021000000000001",
            "gateway": "https://openapi.alipay.com/gateway.do",
            "alipay_public_key": public,
            "app_private_key": private,
        },
    )
    assert response.status_code == 302
    assert ProviderAccount.objects.get(merchant=merchant, provider="alipay").enabled
    assert "已启用" in hq.get("/hq/payments/").content.decode()


def test_platform_admin_configures_a_chosen_merchant(platform, merchant, keypair):
    assert "请先选择一个商户" in platform.get("/hq/payments/").content.decode()
    platform.get("/hq/payments/", {"merchant": merchant.pk})
    response = platform.post("/hq/payments/alipay/", {"app_id": "2021000000000009"})
    assert response.status_code == 302
    assert ProviderAccount.objects.get(provider="alipay").merchant_id == merchant.pk


def test_payment_settings_stay_per_merchant(rival_admin, hq, merchant, other_merchant, keypair):
    hq.post("/hq/payments/alipay/", {"app_id": "2021000000000001"})
    assert "2021000000000001" not in rival_admin.get("/hq/payments/").content.decode()
    response = rival_admin.post("/hq/payments/alipay/", {"app_id": "2021000000000001"})
    assert "该账号已被其他商户使用" in response.content.decode()
    assert not ProviderAccount.objects.filter(merchant=other_merchant).exists()
    assert hq.get("/hq/payments/paypal/").status_code == 404


# --- who may open these pages ----------------------------------------------------------------------------

PAGES = [
    "/hq/integrations/api-keys/",
    "/hq/integrations/webhooks/",
    "/hq/payments/",
    "/hq/payments/wechatpay/",
]


@pytest.mark.parametrize("path", PAGES)
def test_store_roles_cannot_open_settings(path, store):
    for role in (Role.STORE_MANAGER, Role.STORE_CLERK):
        client = signed_in(StaffFactory(username=f"{role}-s", role=role, store=store))
        assert client.get(path).status_code == 403
        assert client.post(path, {"name": "x", "app_id": "2021000000000001"}).status_code == 403
    assert not ApiKey.objects.exists() and not ProviderAccount.objects.exists()
