"""Production-safe defaults: checked in a fresh interpreter with a clean environment."""

import json
import os
import subprocess
import sys

import pytest

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'hsts': s.SECURE_HSTS_SECONDS, 'secure_cookie': s.SESSION_COOKIE_SECURE, "
    "'ssl_redirect': s.SECURE_SSL_REDIRECT, 'broker': s.CELERY_BROKER_URL, 'cache': s.CACHES['default']['BACKEND'], "
    "'db': s.DATABASES['default']['ENGINE']}))"
)


def run_settings(tmp_path, *, script=PROBE, cwd=None, data_dir=None, **env):
    """`script` in a fresh interpreter on the production settings, with none of this machine's
    Mendian environment: only `env`, and `data_dir` (else `tmp_path`) as the data directory."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MENDIAN_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CELERY_"))
    }
    clean.update(
        {"DJANGO_SETTINGS_MODULE": "mendian.config.settings", "MENDIAN_DATA_DIR": str(data_dir or tmp_path)},
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", script], env=clean, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.once
def test_secret_key_is_required_outside_the_demo(tmp_path):
    result = run_settings(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


@pytest.mark.once
def test_pii_keys_are_required_outside_the_demo(tmp_path):
    result = run_settings(tmp_path, SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "MENDIAN_PII_KEYS is required" in result.stderr


@pytest.mark.once
def test_migrations_are_checked_without_any_secret_and_none_is_kept(tmp_path):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MENDIAN_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CELERY_"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "mendian.config.settings", "MENDIAN_DATA_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemigrations", "--check", "--dry-run"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "pii_key").exists()
    # Anything else still refuses to start without them.
    assert run_settings(tmp_path).returncode != 0


@pytest.mark.once
def test_production_defaults_are_safe(tmp_path):
    from cryptography.fernet import Fernet

    result = run_settings(tmp_path, SECRET_KEY="x" * 50, MENDIAN_PII_KEYS=Fernet.generate_key().decode())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["debug"] is False
    assert values["hsts"] >= 31536000
    assert values["secure_cookie"] is True
    assert values["ssl_redirect"] is True


@pytest.mark.once
def test_demo_runs_on_embedded_defaults_with_generated_secrets(tmp_path):
    result = run_settings(tmp_path, MENDIAN_DEMO="1")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == values | {
        "debug": False,
        "broker": "filesystem://",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "db": "django.db.backends.sqlite3",
    }
    assert (tmp_path / "secret_key").exists() and (tmp_path / "pii_key").exists()
    # The generated secrets are kept: a second start uses the same ones (sessions and data survive).
    first = (tmp_path / "secret_key").read_text()
    assert run_settings(tmp_path, MENDIAN_DEMO="1").returncode == 0
    assert (tmp_path / "secret_key").read_text() == first


@pytest.mark.django_db
def test_security_headers_on_pages_and_api(client):
    response = client.get("/healthz")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


@pytest.mark.once
def test_the_embedded_broker_keeps_its_files_in_the_data_dir(tmp_path):
    # kombu's filesystem transport writes its exchange tables to ./control unless told otherwise:
    # running `mendian` from a checkout (or any directory) must not litter it.
    cwd, data = tmp_path / "cwd", tmp_path / "data"
    cwd.mkdir()
    script = (
        "import django; django.setup(); from mendian.config.celery import app; "
        "app.send_task('payments.reconcile_pending')"
    )
    result = run_settings(tmp_path, script=script, cwd=cwd, data_dir=data, MENDIAN_DEMO="1")
    assert result.returncode == 0, result.stderr
    assert list(cwd.iterdir()) == []
    assert (data / "broker" / "control" / "celery.exchange").exists()
    assert len(list((data / "broker" / "queue").iterdir())) == 1
