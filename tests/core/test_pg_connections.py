"""How the server holds PostgreSQL connections: by default one per thread, kept from one request
to the next with its prepared statements; MENDIAN_DB_POOL=1 shares a pool instead (the test suite
itself runs with the pool, for its many-threaded concurrency tests)."""

import json
import os
import subprocess
import sys

import pytest
from django.core.signals import request_finished, request_started
from django.db import connection

SHOW = (
    "import json, django; django.setup(); from django.conf import settings; d = settings.DATABASES['default']; "
    "print(json.dumps({'pool': d['OPTIONS'].get('pool'), 'max_age': d['CONN_MAX_AGE'], "
    "'checks': d['CONN_HEALTH_CHECKS']}))"
)


def _database_settings(tmp_path, **env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MENDIAN_", "DJANGO_"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="mendian.config.settings",
        MENDIAN_TESTING="1",
        MENDIAN_DATA_DIR=str(tmp_path),
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused",
        **env,
    )
    result = subprocess.run([sys.executable, "-c", SHOW], env=clean, capture_output=True, text=True)  # noqa: S603
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.once
def test_servers_keep_a_connection_per_thread_by_default(tmp_path):
    assert _database_settings(tmp_path) == {"pool": None, "max_age": 600, "checks": False}
    assert _database_settings(tmp_path, MENDIAN_DB_HEALTH_CHECKS="1", MENDIAN_DB_CONN_MAX_AGE="60") == {
        "pool": None,
        "max_age": 60,
        "checks": True,
    }
    pooled = _database_settings(tmp_path, MENDIAN_DB_POOL="1", MENDIAN_DB_POOL_MAX="8")
    assert pooled["pool"] == {"min_size": 2, "max_size": 8, "timeout": 10} and pooled["max_age"] == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_threads_connection_and_its_prepared_statements_outlive_the_request():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    settings_dict = connection.settings_dict
    saved_options, saved_age = dict(settings_dict["OPTIONS"]), settings_dict["CONN_MAX_AGE"]
    connection.close()
    connection.close_pool()
    settings_dict["OPTIONS"].pop("pool", None)
    settings_dict["CONN_MAX_AGE"] = 600
    statement = "SELECT id FROM merchants_merchant WHERE id = %s"
    try:
        request_started.send(sender=None)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            first_backend = cursor.fetchone()[0]
            for number in range(3):
                cursor.execute(statement, [number])
        request_finished.send(sender=None)

        request_started.send(sender=None)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] == first_backend
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row[0] for row in cursor.fetchall()]
        request_finished.send(sender=None)
        assert "SELECT id FROM merchants_merchant WHERE id = $1" in prepared
    finally:
        connection.close()
        settings_dict["OPTIONS"].clear()
        settings_dict["OPTIONS"].update(saved_options)
        settings_dict["CONN_MAX_AGE"] = saved_age
