"""A merchant's accounts at the real payment providers (WeChat Pay, Alipay): what HQ may read back
and the one write that saves them.

`config` holds what is not secret and may be shown again; `secrets` (encrypted at rest) are
write-only: readers learn only which of them are set. A secret left blank keeps the stored value,
so an operator can change the mchid without pasting the private key again. Every PEM is parsed
with `cryptography` before it is stored: a key that cannot be loaded would otherwise surface only
when the first customer tries to pay.
"""

import base64
import binascii
import re
import textwrap
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction

from mendian.core.errors import Conflict, NotFound, ValidationFailed
from mendian.core.scope import Actor
from mendian.merchants.models import Merchant
from mendian.payments.models import ProviderAccount

CAPABILITY = "payments.manage"
WECHATPAY = "wechatpay"
ALIPAY = "alipay"
MAX_TEXT = 200
MAX_PEM = 16_000
MAX_CERTIFICATES = 10


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    config_keys: tuple[str, ...]
    secret_keys: tuple[str, ...]
    # Needed before the account may be enabled (config or secret keys).
    required: tuple[str, ...]
    # What the account is known by at the provider: no two merchants may share it, or a
    # notification (which names only this) could not be routed to one merchant.
    identity: str


PROVIDERS: dict[str, ProviderSpec] = {
    WECHATPAY: ProviderSpec(
        name=WECHATPAY,
        config_keys=(
            "appid",
            "mchid",
            "merchant_serial_no",
            "api_base",
            "notify_url",
            "platform_certificates",
            "public_key_id",
            "public_key",
        ),
        secret_keys=("private_key", "apiv3_key"),
        required=("appid", "mchid", "merchant_serial_no", "private_key", "apiv3_key"),
        identity="mchid",
    ),
    ALIPAY: ProviderSpec(
        name=ALIPAY,
        config_keys=("app_id", "seller_id", "gateway", "notify_url", "alipay_public_key"),
        secret_keys=("app_private_key",),
        required=("app_id", "alipay_public_key", "app_private_key"),
        identity="app_id",
    ),
}

_PATTERNS = {
    "appid": re.compile(r"^wx[0-9a-zA-Z]{16}$"),
    "mchid": re.compile(r"^\d{8,12}$"),
    "merchant_serial_no": re.compile(r"^[0-9A-Fa-f]{8,64}$"),
    "public_key_id": re.compile(r"^PUB_KEY_ID_[0-9A-Za-z_]{4,64}$"),
    "app_id": re.compile(r"^\d{10,32}$"),
    "seller_id": re.compile(r"^2088\d{12}$"),
    "certificate_serial": re.compile(r"^[0-9A-Fa-f]{8,64}$"),
}
_URL_KEYS = ("api_base", "notify_url", "gateway")


class _Errors:
    """Collects every problem of one save, so a form can show them all at once."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, where: str, key: str, kind: str, msg: str) -> None:
        self.items.append({"loc": [where, key], "type": kind, "msg": msg})

    def has(self, key: str) -> bool:
        return any(item["loc"][1] == key for item in self.items)

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise ValidationFailed(
                f"{first['loc'][0]}.{first['loc'][1]}: {first['msg']}",
                code="invalid_payment_config",
                errors=self.items,
            )


# --- PEM -----------------------------------------------------------------------------------------------


def _pem_body(text: str, label: str) -> bytes:
    """PEM as given, or a bare base64 body (how Alipay's tools print keys) wrapped in `label`."""
    text = text.strip().replace("\r\n", "\n")
    if "-----BEGIN" in text:
        return (text + "\n").encode("ascii", "strict")
    compact = re.sub(r"\s+", "", text)
    base64.b64decode(compact, validate=True)
    return f"-----BEGIN {label}-----\n{textwrap.fill(compact, 64)}\n-----END {label}-----\n".encode()


def _rsa_only(key, what: str) -> None:
    if not isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        raise ValueError(f"{what} must be an RSA key")
    if key.key_size < 2048:
        raise ValueError(f"{what} must be at least 2048 bits")


def parse_public_pem(text: str) -> str:
    """A PEM public key or X.509 certificate (RSA, ≥ 2048 bits), normalised; ValueError otherwise."""
    try:
        data = _pem_body(text, "PUBLIC KEY")
        if b"CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        raise ValueError("not a PEM public key or certificate") from exc
    _rsa_only(key, "the public key")
    return data.decode()


def parse_private_pem(text: str) -> str:
    """An unencrypted PEM RSA private key (PKCS#8 or PKCS#1), normalised; ValueError otherwise."""
    try:
        data = _pem_body(text, "PRIVATE KEY")
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except ValueError:
            if b"BEGIN PRIVATE KEY" not in data or "-----BEGIN" in text:
                raise
            # A bare body may be PKCS#1 (Alipay's "RSA2 key" tool offers both formats).
            data = data.replace(b"BEGIN PRIVATE KEY", b"BEGIN RSA PRIVATE KEY").replace(
                b"END PRIVATE KEY", b"END RSA PRIVATE KEY"
            )
            key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise ValueError("the private key is protected by a password") from exc
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise ValueError("not a PEM private key") from exc
    _rsa_only(key, "the private key")
    return data.decode()


# --- field checks --------------------------------------------------------------------------------------


def _text(value, *, where: str, key: str, errors: _Errors, max_length: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(where, key, "invalid", "must be text")
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.add(where, key, "too_long", f"at most {max_length} characters")
        return ""
    return value


def _check_url(value: str, key: str, errors: _Errors) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password or parts.fragment:
        errors.add("config", key, "invalid_url", "must be an https URL without credentials or fragment")
        return ""
    return value


def _check_certificates(value, errors: _Errors) -> dict:
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict) or len(value) > MAX_CERTIFICATES:
        errors.add(
            "config", "platform_certificates", "invalid", f"must map up to {MAX_CERTIFICATES} serials to PEM"
        )
        return {}
    out = {}
    for serial, pem in value.items():
        serial = str(serial).strip()
        if not _PATTERNS["certificate_serial"].match(serial):
            errors.add(
                "config", "platform_certificates", "invalid", f"serial {serial[:40]!r} is not hexadecimal"
            )
            continue
        if not isinstance(pem, str) or len(pem) > MAX_PEM:
            errors.add("config", "platform_certificates", "invalid_pem", f"{serial}: not a PEM")
            continue
        try:
            out[serial.upper()] = parse_public_pem(pem)
        except ValueError as exc:
            errors.add("config", "platform_certificates", "invalid_pem", f"{serial}: {exc}")
    return out


def _clean_config(spec: ProviderSpec, config, errors: _Errors) -> dict:
    if config is None:
        config = {}
    if not isinstance(config, dict):
        errors.add("config", "*", "invalid", "must be an object")
        return {}
    for key in sorted(set(config) - set(spec.config_keys)):
        errors.add("config", str(key), "unknown_key", "not a setting of this provider")
    out: dict = {}
    for key in spec.config_keys:
        raw = config.get(key)
        if key == "platform_certificates":
            certificates = _check_certificates(raw, errors)
            if certificates:
                out[key] = certificates
            continue
        if key in ("public_key", "alipay_public_key"):
            text = _text(raw, where="config", key=key, errors=errors, max_length=MAX_PEM)
            if text:
                try:
                    out[key] = parse_public_pem(text)
                except ValueError as exc:
                    errors.add("config", key, "invalid_pem", str(exc))
            continue
        text = _text(raw, where="config", key=key, errors=errors)
        if not text:
            continue
        if key in _URL_KEYS:
            text = _check_url(text, key, errors)
        elif key in _PATTERNS and not _PATTERNS[key].match(text):
            errors.add("config", key, "invalid_format", "has the wrong format")
            continue
        if text:
            out[key] = text
    if spec.name == WECHATPAY and ("public_key_id" in out) != ("public_key" in out):
        missing = "public_key" if "public_key_id" in out else "public_key_id"
        if not errors.has(missing):
            errors.add("config", missing, "required", "public_key_id and public_key go together")
    return out


def _clean_secrets(spec: ProviderSpec, secrets, errors: _Errors) -> dict:
    """The secrets to change: blank values are left out (they keep what is stored)."""
    if secrets is None:
        secrets = {}
    if not isinstance(secrets, dict):
        errors.add("secrets", "*", "invalid", "must be an object")
        return {}
    for key in sorted(set(secrets) - set(spec.secret_keys)):
        errors.add("secrets", str(key), "unknown_key", "not a secret of this provider")
    out: dict = {}
    for key in spec.secret_keys:
        text = _text(secrets.get(key), where="secrets", key=key, errors=errors, max_length=MAX_PEM)
        if not text:
            continue
        if key in ("private_key", "app_private_key"):
            try:
                out[key] = parse_private_pem(text)
            except ValueError as exc:
                errors.add("secrets", key, "invalid_pem", str(exc))
        elif key == "apiv3_key":
            if len(text) != 32 or not text.isascii() or not text.isprintable():
                errors.add("secrets", key, "invalid_format", "must be 32 ASCII characters")
            else:
                out[key] = text
    return out


# --- reads and the write -------------------------------------------------------------------------------


def _merchant_for(actor: Actor, merchant_id) -> Merchant:
    if merchant_id in (None, ""):
        raise ValidationFailed(
            "merchant_id is required.",
            code="merchant_required",
            errors=[{"loc": ["merchant_id"], "msg": "required"}],
        )
    try:
        pk = int(merchant_id)
    except (TypeError, ValueError):
        raise NotFound("No such merchant.") from None
    actor.check_merchant(pk)
    merchant = Merchant.objects.filter(pk=pk).first()
    if merchant is None:
        raise NotFound("No such merchant.")
    return merchant


def _spec(provider) -> ProviderSpec:
    spec = PROVIDERS.get(provider) if isinstance(provider, str) else None
    if spec is None:
        raise ValidationFailed(
            f"Unknown payment provider {provider!r}; one of: {', '.join(PROVIDERS)}.",
            code="unknown_provider",
            errors=[{"loc": ["provider"], "msg": "unknown provider"}],
        )
    return spec


@dataclass(frozen=True)
class AccountView:
    """What HQ may see of an account: never a secret, only whether each one is set."""

    provider: str
    exists: bool
    enabled: bool
    config: dict
    secrets_set: frozenset[str]
    complete: bool
    updated_at: object = None


def _view(spec: ProviderSpec, account: ProviderAccount | None) -> AccountView:
    if account is None:
        return AccountView(spec.name, False, False, {}, frozenset(), False)
    config = dict(account.config or {})
    secrets_set = frozenset(k for k, v in account.secret_values().items() if v and k in spec.secret_keys)
    present = set(config) | secrets_set
    complete = all(key in present for key in spec.required) and (
        spec.name != WECHATPAY or bool(config.get("platform_certificates") or config.get("public_key"))
    )
    return AccountView(spec.name, True, account.enabled, config, secrets_set, complete, account.updated_at)


def provider_accounts_for_merchant(*, actor: Actor, merchant_id) -> dict[str, AccountView]:
    """{provider: AccountView} for every supported provider of one merchant (one query)."""
    actor.require(CAPABILITY)
    merchant = _merchant_for(actor, merchant_id)
    accounts = {
        account.provider: account
        for account in ProviderAccount.objects.filter(merchant=merchant, provider__in=list(PROVIDERS))
    }
    return {name: _view(spec, accounts.get(name)) for name, spec in PROVIDERS.items()}


def provider_account_save(
    *, actor: Actor, merchant_id, provider: str, enabled: bool, config: dict, secrets: dict
) -> AccountView:
    """Create or replace a merchant's account at `provider`.

    `config` replaces the stored config (keys left out or blank are removed); `secrets` changes only
    the secrets it gives a value (blank keeps the stored one). An enabled account must be complete:
    WeChat Pay needs appid, mchid, merchant_serial_no, private_key, apiv3_key and the platform's
    certificate(s) or public key; Alipay app_id, alipay_public_key and app_private_key.

    Errors: `403 forbidden` (role), `404 not_found` (another merchant), `422 unknown_provider`,
    `422 invalid_payment_config` (each problem in `errors` with `loc` ["config"|"secrets", key] and
    `type`: required, invalid_format, invalid_url, invalid_pem, unknown_key, too_long),
    `409 provider_account_taken` (another merchant's account has the same mchid / app_id).
    """
    actor.require(CAPABILITY)
    spec = _spec(provider)
    merchant = _merchant_for(actor, merchant_id)
    errors = _Errors()
    clean_config = _clean_config(spec, config, errors)
    new_secrets = _clean_secrets(spec, secrets, errors)
    errors.raise_if_any()
    with transaction.atomic():
        account = (
            ProviderAccount.objects.select_for_update().filter(merchant=merchant, provider=spec.name).first()
        )
        stored = account.secret_values() if account else {}
        merged = {key: value for key, value in {**stored, **new_secrets}.items() if key in spec.secret_keys}
        if enabled:
            present = set(clean_config) | {key for key, value in merged.items() if value}
            for key in spec.required:
                if key not in present:
                    errors.add(
                        "secrets" if key in spec.secret_keys else "config", key, "required", "required"
                    )
            if spec.name == WECHATPAY and not (
                clean_config.get("platform_certificates") or clean_config.get("public_key")
            ):
                errors.add(
                    "config",
                    "public_key",
                    "required",
                    "give WeChat Pay's public key (with its id) or its platform certificate(s)",
                )
            errors.raise_if_any()
        identity = clean_config.get(spec.identity)
        if identity:
            taken = (
                ProviderAccount.objects.filter(provider=spec.name, **{f"config__{spec.identity}": identity})
                .exclude(merchant=merchant)
                .exists()
            )
            if taken:
                raise Conflict(
                    f"Another merchant's {spec.name} account already uses this {spec.identity}.",
                    code="provider_account_taken",
                    errors=[{"loc": ["config", spec.identity], "msg": "used by another merchant"}],
                )
        if account is None:
            account = ProviderAccount(merchant=merchant, provider=spec.name)
        account.enabled = bool(enabled)
        account.config = clean_config
        account.set_secret_values(merged)
        account.save()
    return _view(spec, account)
