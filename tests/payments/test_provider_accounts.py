"""Saving a merchant's WeChat Pay / Alipay account: who may, what is checked, what is kept secret."""

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.db import connection

from mendian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mendian.core.scope import Actor, Role
from mendian.payments.accounts import provider_account_save, provider_accounts_for_merchant
from mendian.payments.models import ProviderAccount


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def private_pem(rsa_key) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def public_pem(rsa_key) -> str:
    return (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def certificate_pem(rsa_key) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rsa_key.public_key())
        .serial_number(0x5157F09EFDC096DE15EBE81A47057A72)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(rsa_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def admin(merchant) -> Actor:
    return Actor(role=Role.MERCHANT_ADMIN, merchant_id=merchant.pk, staff_id=None, label="boss")


def wechat_config(public_pem, **overrides) -> dict:
    return {
        "appid": "wx8888888888888888",
        "mchid": "1900000109",
        "merchant_serial_no": "444F4864EA9B34415AC3C9F7E7E4B5C3C1F2B1A0",
        "public_key_id": "PUB_KEY_ID_0114232134912410000000000000",
        "public_key": public_pem,
        **overrides,
    }


def test_merchant_admin_saves_wechatpay_and_secrets_stay_write_only(merchant, public_pem, private_pem):
    view = provider_account_save(
        actor=admin(merchant),
        merchant_id=merchant.pk,
        provider="wechatpay",
        enabled=True,
        config=wechat_config(public_pem),
        secrets={"private_key": private_pem, "apiv3_key": "a" * 32},
    )

    assert view.enabled and view.complete
    assert view.secrets_set == {"private_key", "apiv3_key"}
    assert "private_key" not in view.config
    account = ProviderAccount.objects.get(merchant=merchant, provider="wechatpay")
    assert account.config["mchid"] == "1900000109"
    assert account.secret_values()["apiv3_key"] == "a" * 32
    # Encrypted at rest: the raw column does not contain the key.
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM payments_provideraccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert "a" * 32 not in stored and "PRIVATE KEY" not in stored

    # Blank secrets keep the stored ones; config changes apply.
    view = provider_account_save(
        actor=admin(merchant),
        merchant_id=merchant.pk,
        provider="wechatpay",
        enabled=True,
        config=wechat_config(public_pem, mchid="1900000110"),
        secrets={"private_key": "", "apiv3_key": None},
    )
    account.refresh_from_db()
    assert account.config["mchid"] == "1900000110"
    assert account.secret_values() == {"private_key": private_pem, "apiv3_key": "a" * 32}
    assert view.complete


def test_platform_certificates_instead_of_public_key(merchant, certificate_pem, private_pem):
    config = wechat_config("", public_key_id="", platform_certificates={"5157f09efdc096de": certificate_pem})
    provider_account_save(
        actor=admin(merchant),
        merchant_id=merchant.pk,
        provider="wechatpay",
        enabled=True,
        config=config,
        secrets={"private_key": private_pem, "apiv3_key": "b" * 32},
    )
    account = ProviderAccount.objects.get(merchant=merchant, provider="wechatpay")
    assert list(account.config["platform_certificates"]) == ["5157F09EFDC096DE"]
    assert "public_key" not in account.config


def codes(exc) -> dict:
    return {tuple(item["loc"]): item["type"] for item in exc.value.errors}


def test_bad_pem_and_formats_are_refused_together(merchant, public_pem):
    with pytest.raises(ValidationFailed) as exc:
        provider_account_save(
            actor=admin(merchant),
            merchant_id=merchant.pk,
            provider="wechatpay",
            enabled=False,
            config=wechat_config(
                "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----", mchid="19x"
            ),
            secrets={"private_key": "hello", "apiv3_key": "short"},
        )
    assert exc.value.code == "invalid_payment_config"
    assert codes(exc) == {
        ("config", "mchid"): "invalid_format",
        ("config", "public_key"): "invalid_pem",
        ("secrets", "private_key"): "invalid_pem",
        ("secrets", "apiv3_key"): "invalid_format",
    }
    assert not ProviderAccount.objects.exists()


def test_weak_or_non_rsa_keys_and_encrypted_keys_are_refused(merchant):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused on purpose
    encrypted = small.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(ValidationFailed) as exc:
        provider_account_save(
            actor=admin(merchant),
            merchant_id=merchant.pk,
            provider="alipay",
            enabled=False,
            config={"app_id": "2021000000000001", "alipay_public_key": ec_public.decode()},
            secrets={"app_private_key": encrypted.decode()},
        )
    assert codes(exc) == {
        ("config", "alipay_public_key"): "invalid_pem",
        ("secrets", "app_private_key"): "invalid_pem",
    }
    messages = " ".join(item["msg"] for item in exc.value.errors)
    assert "RSA" in messages and "password" in messages


def test_enabling_needs_every_required_field(merchant, public_pem):
    with pytest.raises(ValidationFailed) as exc:
        provider_account_save(
            actor=admin(merchant),
            merchant_id=merchant.pk,
            provider="wechatpay",
            enabled=True,
            config={"appid": "wx8888888888888888", "mchid": "1900000109"},
            secrets={},
        )
    assert codes(exc) == {
        ("config", "merchant_serial_no"): "required",
        ("secrets", "private_key"): "required",
        ("secrets", "apiv3_key"): "required",
        ("config", "public_key"): "required",
    }
    # The same draft may be saved disabled.
    view = provider_account_save(
        actor=admin(merchant),
        merchant_id=merchant.pk,
        provider="wechatpay",
        enabled=False,
        config={"appid": "wx8888888888888888", "mchid": "1900000109"},
        secrets={},
    )
    assert not view.enabled and not view.complete


def test_public_key_id_needs_its_key(merchant):
    with pytest.raises(ValidationFailed) as exc:
        provider_account_save(
            actor=admin(merchant),
            merchant_id=merchant.pk,
            provider="wechatpay",
            enabled=False,
            config={"public_key_id": "PUB_KEY_ID_0114232134912410000000000000"},
            secrets={},
        )
    assert codes(exc) == {("config", "public_key"): "required"}


def test_alipay_accepts_bare_base64_keys_and_normalises_them(merchant, rsa_key):
    public_der = rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pkcs1 = rsa_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    import base64

    view = provider_account_save(
        actor=admin(merchant),
        merchant_id=merchant.pk,
        provider="alipay",
        enabled=True,
        config={
            "app_id": "2021000000000001",
            "seller_id": "2088000000000001",
            "gateway": "https://openapi.alipay.com/gateway.do",
            "alipay_public_key": base64.b64encode(public_der).decode(),
        },
        secrets={"app_private_key": base64.b64encode(private_pkcs1).decode()},
    )
    assert view.complete
    account = ProviderAccount.objects.get(merchant=merchant, provider="alipay")
    assert account.config["alipay_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert account.secret_values()["app_private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    serialization.load_pem_private_key(account.secret_values()["app_private_key"].encode(), None)


def test_urls_must_be_https_and_unknown_keys_are_refused(merchant):
    with pytest.raises(ValidationFailed) as exc:
        provider_account_save(
            actor=admin(merchant),
            merchant_id=merchant.pk,
            provider="alipay",
            enabled=False,
            config={"gateway": "http://openapi.alipay.com/gateway.do", "sign_type": "RSA"},
            secrets={"private_key": "x"},
        )
    assert codes(exc) == {
        ("config", "sign_type"): "unknown_key",
        ("config", "gateway"): "invalid_url",
        ("secrets", "private_key"): "unknown_key",
    }


def test_unknown_provider(merchant):
    with pytest.raises(ValidationFailed) as exc:
        provider_account_save(
            actor=admin(merchant),
            merchant_id=merchant.pk,
            provider="paypal",
            enabled=False,
            config={},
            secrets={},
        )
    assert exc.value.code == "unknown_provider"


def test_store_roles_cannot_and_other_merchants_are_not_found(merchant, other_merchant, store):
    for role in (Role.STORE_MANAGER, Role.STORE_CLERK):
        actor = Actor(role=role, merchant_id=merchant.pk, store_id=store.pk)
        with pytest.raises(Forbidden):
            provider_account_save(
                actor=actor, merchant_id=merchant.pk, provider="alipay", enabled=False, config={}, secrets={}
            )
        with pytest.raises(Forbidden):
            provider_accounts_for_merchant(actor=actor, merchant_id=merchant.pk)
    with pytest.raises(NotFound):
        provider_account_save(
            actor=admin(merchant),
            merchant_id=other_merchant.pk,
            provider="alipay",
            enabled=False,
            config={},
            secrets={},
        )
    with pytest.raises(NotFound):
        provider_accounts_for_merchant(actor=admin(merchant), merchant_id=other_merchant.pk)
    assert not ProviderAccount.objects.exists()


def test_platform_admin_names_the_merchant(merchant):
    platform = Actor(role=Role.PLATFORM_ADMIN)
    with pytest.raises(ValidationFailed) as exc:
        provider_account_save(
            actor=platform, merchant_id=None, provider="alipay", enabled=False, config={}, secrets={}
        )
    assert exc.value.code == "merchant_required"
    provider_account_save(
        actor=platform,
        merchant_id=merchant.pk,
        provider="alipay",
        enabled=False,
        config={"app_id": "2021000000000001"},
        secrets={},
    )
    views = provider_accounts_for_merchant(actor=platform, merchant_id=merchant.pk)
    assert views["alipay"].exists and views["alipay"].config == {"app_id": "2021000000000001"}
    assert not views["wechatpay"].exists
    with pytest.raises(NotFound):
        provider_accounts_for_merchant(actor=platform, merchant_id=999999)


def test_two_merchants_cannot_share_an_account(merchant, other_merchant):
    provider_account_save(
        actor=admin(merchant),
        merchant_id=merchant.pk,
        provider="alipay",
        enabled=False,
        config={"app_id": "2021000000000001"},
        secrets={},
    )
    with pytest.raises(Conflict) as exc:
        provider_account_save(
            actor=admin(other_merchant),
            merchant_id=other_merchant.pk,
            provider="alipay",
            enabled=False,
            config={"app_id": "2021000000000001"},
            secrets={},
        )
    assert exc.value.code == "provider_account_taken"
