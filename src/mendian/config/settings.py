"""Settings from the environment (12-factor). Production-safe defaults; the demo relaxes only secrets."""

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent  # src/mendian
REPO_DIR = BASE_DIR.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("MENDIAN_DATA_DIR") or REPO_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("MENDIAN_DEBUG")
DEMO = env_bool("MENDIAN_DEMO")
SANDBOX = env_bool("MENDIAN_SANDBOX")
TESTING = env_bool("MENDIAN_TESTING")
# Secrets may be generated (and kept in the data directory) only where no real money or data flows.
RELAXED_SECRETS = DEBUG or DEMO or SANDBOX or TESTING
# `makemigrations` reads the models and nothing else: it runs without the secrets, on throwaway
# values that are never kept.
SCHEMA_ONLY = sys.argv[1:2] == ["makemigrations"]


def _generated_secret(filename: str, make) -> str:
    path = DATA_DIR / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and SCHEMA_ONLY:
    SECRET_KEY = secrets.token_urlsafe(50)
if not SECRET_KEY:
    if not RELAXED_SECRETS:
        raise ImproperlyConfigured(
            "SECRET_KEY is required (set MENDIAN_DEMO=1 or MENDIAN_SANDBOX=1 for a demo with a generated key)."
        )
    SECRET_KEY = _generated_secret("secret_key", lambda: secrets.token_urlsafe(50))

PII_KEYS = env_list("MENDIAN_PII_KEYS")
if not PII_KEYS and SCHEMA_ONLY:
    PII_KEYS = [Fernet.generate_key().decode()]
if not PII_KEYS:
    if not RELAXED_SECRETS:
        raise ImproperlyConfigured(
            "MENDIAN_PII_KEYS is required (generate one with `mendian generate-pii-key`)."
        )
    PII_KEYS = [_generated_secret("pii_key", lambda: Fernet.generate_key().decode())]
# The keyed hash that lets us find a phone without decrypting it. It is not rotated with the
# encryption keys (a rotation would need every lookup hash recomputed): set it once.
PII_HASH_KEY = os.environ.get("MENDIAN_PII_HASH_KEY") or f"pii-index:{SECRET_KEY}"

ALLOWED_HOSTS = env_list("MENDIAN_ALLOWED_HOSTS", "localhost,127.0.0.1")
TRUSTED_PROXIES = set(env_list("MENDIAN_TRUSTED_PROXIES"))
CSRF_TRUSTED_ORIGINS = env_list("MENDIAN_CSRF_TRUSTED_ORIGINS")
REQUIRE_MFA = env_bool("MENDIAN_REQUIRE_MFA")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ninja",
    "mendian.core",
    "mendian.merchants",
    "mendian.stores",
    "mendian.catalog",
    "mendian.accounts",
    "mendian.members",
    "mendian.inventory",
    "mendian.integrations",
    "mendian.checkout",
    "mendian.orders",
    "mendian.payments",
    "mendian.web",
]

MIDDLEWARE = [
    "mendian.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mendian.core.middleware.CSPMiddleware",
    "mendian.core.middleware.BrowserOnlyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mendian.core.middleware.ApiErrorMiddleware",
]
# Run by BrowserOnlyMiddleware in its place, for every request except TOKEN_API_PREFIXES.
BROWSER_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
# CsrfViewMiddleware runs inside BrowserOnlyMiddleware; core/checks.py checks it instead.
# models.W040: SQLite has no covering indexes; the shelf's INCLUDE columns are for PostgreSQL's
# index-only scans (catalog.models.ShelfItem), and SQLite builds those indexes without them.
SILENCED_SYSTEM_CHECKS = ["security.W003", "models.W040"]
# The storefront and open APIs: every caller signs each request (bearer token, API-key signature),
# none uses a session cookie, and their replies are not translated.
TOKEN_API_PREFIXES = ("/api/v1/", "/api/open/")

ROOT_URLCONF = "mendian.config.urls"
WSGI_APPLICATION = "mendian.config.wsgi.application"
AUTH_USER_MODEL = "accounts.Staff"
LOGIN_URL = "/hq/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mendian.web.context_processors.ui",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'mendian.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with the protocol's parameter limit declared (see the module).
    DATABASES["default"]["ENGINE"] = "mendian.core.db.postgresql"
    # Added to what DATABASE_URL's query string gave (sslmode, connect_timeout …), never instead.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if env_bool("MENDIAN_DB_POOL", default=False):
        # Django's own psycopg pool, for processes running more threads than they should hold
        # connections: one pool per process, sized for a 2-core box by default.
        _options["pool"] = {
            "min_size": int(os.environ.get("MENDIAN_DB_POOL_MIN", "2")),
            "max_size": int(os.environ.get("MENDIAN_DB_POOL_MAX", "16")),
            "timeout": 10,
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    else:
        # One connection per server thread (`mendian serve`: workers × threads), kept between
        # requests with its prepared statements: no pool checkout and return around every request
        # (about a tenth of a small API request's CPU). A connection that breaks (database restart)
        # fails the request using it and is then replaced; MENDIAN_DB_HEALTH_CHECKS=1 checks each
        # one before its first use in a request instead, at one round trip per request.
        DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("MENDIAN_DB_CONN_MAX_AGE", "600"))
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("MENDIAN_DB_HEALTH_CHECKS", default=False)
    if env_bool("MENDIAN_PG_SERVER_SIDE_BINDING", default=True):
        # psycopg sends the parameters apart from the SQL, and prepares a statement once it has run
        # `prepare_threshold` times on a connection; pooled connections keep their prepared
        # statements. Django's own default threshold is None: never prepare. Not 0 either: that
        # prepares every statement on its first run, and multi-statement SQL (migrations) cannot be.
        _threshold = os.environ.get("MENDIAN_PG_PREPARE_THRESHOLD", "2").strip().lower()
        if _threshold not in {"", "none"} and not (_threshold.isdigit() and int(_threshold) >= 1):
            raise ImproperlyConfigured(
                "MENDIAN_PG_PREPARE_THRESHOLD must be a whole number, at least 1 (or none)."
            )
        _options["server_side_binding"] = True
        _options["prepare_threshold"] = None if _threshold in {"", "none"} else int(_threshold)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "mendian.core.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("MENDIAN_CACHE_PREFIX", "mendian"),
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "mendian"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MENDIAN_MEDIA_ROOT") or DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING or not (STATIC_ROOT / "staticfiles.json").exists()
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MAX_IMAGE_UPLOAD_BYTES = int(os.environ.get("MENDIAN_MAX_IMAGE_BYTES", str(8 * 1024 * 1024)))

# Security headers. Plain-HTTP local serving is allowed; behind TLS set MENDIAN_HTTPS=1.
HTTPS = env_bool("MENDIAN_HTTPS", default=not (DEBUG or DEMO or SANDBOX or TESTING))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("MENDIAN_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}
# The API docs pages (swagger) run inline scripts; they get their own relaxed policy in config/urls.

OTP_TOTP_ISSUER = "Mendian"

# Celery: Redis/RabbitMQ when configured; otherwise kombu's filesystem transport in the data dir,
# so one machine runs web + worker + beat with no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _spool = DATA_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_spool / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_spool / "queue"),
        "data_folder_out": str(_spool / "queue"),
        "processed_folder": str(_spool / "processed"),
        # The exchange tables (kombu's default is ./control, under whatever directory it runs in).
        "control_folder": str(_spool / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("MENDIAN_CELERY_EAGER", default=TESTING)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# SMS and login providers.
SMS_BACKEND = os.environ.get("MENDIAN_SMS_BACKEND") or ("sandbox" if SANDBOX else "aliyun")
SMS_ALIYUN = {
    "endpoint": os.environ.get("MENDIAN_SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
    "access_key_id": os.environ.get("MENDIAN_SMS_ALIYUN_KEY_ID", ""),
    "access_key_secret": os.environ.get("MENDIAN_SMS_ALIYUN_KEY_SECRET", ""),
    "sign_name": os.environ.get("MENDIAN_SMS_ALIYUN_SIGN_NAME", ""),
    "template_code": os.environ.get("MENDIAN_SMS_ALIYUN_TEMPLATE", ""),
}
WECHAT_MINIAPP = {
    "endpoint": os.environ.get("MENDIAN_WECHAT_API_BASE", "https://api.weixin.qq.com"),
    "appid": os.environ.get("MENDIAN_WECHAT_APPID", ""),
    "secret": os.environ.get("MENDIAN_WECHAT_SECRET", ""),
}
ACCESS_TOKEN_TTL = int(os.environ.get("MENDIAN_ACCESS_TOKEN_TTL", "7200"))
REFRESH_TOKEN_TTL = int(os.environ.get("MENDIAN_REFRESH_TOKEN_TTL", str(30 * 24 * 3600)))
STAFF_TOKEN_TTL = int(os.environ.get("MENDIAN_STAFF_TOKEN_TTL", str(12 * 3600)))
STAFF_LOCKOUT_THRESHOLD = 5
STAFF_LOCKOUT_MINUTES = 15
RATELIMIT_ENABLE = env_bool("MENDIAN_RATELIMIT", default=True)

LOG_LEVEL = os.environ.get("MENDIAN_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "mendian.core.logging.RequestIdFilter"},
        "mask_pii": {"()": "mendian.core.logging.MaskPiiFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "mask_pii"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "jieba": {"level": "WARNING"},
        # httpx logs full URLs at INFO, and some provider URLs carry secrets.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "core.heartbeat", "schedule": 60.0},
    "accounts-sms-codes-purge": {"task": "accounts.sms_codes_purge", "schedule": 3600.0},
    # Outbox fan-out and webhook sending; both are also kicked right after the commits that need them.
    "integrations-dispatch-outbox": {"task": "integrations.dispatch_outbox", "schedule": 5.0},
    "integrations-deliver-webhooks": {"task": "integrations.deliver_webhooks", "schedule": 10.0},
    "integrations-purge-api-nonces": {"task": "integrations.purge_api_nonces", "schedule": 300.0},
    "integrations-purge-webhook-history": {"task": "integrations.purge_webhook_history", "schedule": 86400.0},
    # Unpaid orders past their deadline are cancelled (stock returned); reads also do it lazily.
    "orders-expire-unpaid": {"task": "orders.expire_unpaid", "schedule": 60.0},
    "orders-autocomplete-delivered": {"task": "orders.autocomplete_delivered", "schedule": 600.0},
    "orders-flag-no-shows": {"task": "orders.flag_no_shows", "schedule": 600.0},
    # The safety net for stock reservations nobody released (orders release their own on expiry).
    "inventory-release-expired-reservations": {
        "task": "inventory.release_expired_reservations",
        "schedule": 300.0,
    },
    # 销量 for the storefront's sales sort, recounted from orders (the order path never counts them).
    "catalog-refresh-sales-counts": {"task": "catalog.refresh_sales_counts", "schedule": 600.0},
    # Open payments past their order's deadline are settled by asking the provider (lost callbacks).
    "payments-reconcile-pending": {"task": "payments.reconcile_pending", "schedule": 120.0},
}
