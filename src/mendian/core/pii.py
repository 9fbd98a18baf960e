"""Personal data at rest: Fernet encryption with rotatable keys, a keyed hash to look values up, masks."""

import hashlib
import hmac
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.PII_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("PII ciphertext cannot be decrypted with any configured key") from exc


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (a no-op in meaning, a change in bytes)."""
    return fernet().rotate(token.encode()).decode()


def blind_index(value: str, *, purpose: str = "phone") -> str:
    key = f"{settings.PII_HASH_KEY}:{purpose}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def normalize_phone(raw: str) -> str:
    """Mainland mobile numbers: strip spaces, dashes and a +86/0086 prefix. Raises ValueError."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
            break
    if not PHONE_RE.match(digits):
        raise ValueError("not a mainland China mobile number")
    return digits


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * len(phone)


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python sees plaintext. Never filter on it: use a blind-index column."""

    description = "Encrypted text (Fernet, rotatable keys)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def encrypted_fields():
    """Every (model, field) pair holding ciphertext, for key rotation and dump scans."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field
