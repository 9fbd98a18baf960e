"""MENDIAN_PG_SERVER_SIDE_BINDING: psycopg binds parameters on the server and prepares hot
statements, which the connection pool keeps from one checkout to the next."""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "o = s.DATABASES['default']['OPTIONS']; "
    "print(json.dumps({k: o.get(k, 'unset') for k in ('server_side_binding', 'prepare_threshold', 'sslmode')}))"
)


def run_probe(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MENDIAN_", "DATABASE_URL"))}
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "mendian.config.settings",
            "MENDIAN_DATA_DIR": str(tmp_path),
            "MENDIAN_DEMO": "1",
            # Only parsed: settings do not connect.
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        },
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, timeout=60
    )


def pg_options(tmp_path, **env) -> dict:
    result = run_probe(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.once
def test_server_side_binding_is_on_unless_turned_off(tmp_path):
    assert pg_options(tmp_path) == {"server_side_binding": True, "prepare_threshold": 2, "sslmode": "unset"}
    assert pg_options(tmp_path, MENDIAN_PG_SERVER_SIDE_BINDING="0") == {
        "server_side_binding": "unset",
        "prepare_threshold": "unset",
        "sslmode": "unset",
    }
    assert pg_options(tmp_path, MENDIAN_PG_SERVER_SIDE_BINDING="1", MENDIAN_PG_PREPARE_THRESHOLD="none") == {
        "server_side_binding": True,
        "prepare_threshold": None,
        "sslmode": "unset",
    }
    # Preparing on the first run breaks multi-statement SQL such as some migrations.
    for bad in ("0", "two", "-1"):
        refused = run_probe(tmp_path, MENDIAN_PG_SERVER_SIDE_BINDING="1", MENDIAN_PG_PREPARE_THRESHOLD=bad)
        assert refused.returncode != 0
        assert "MENDIAN_PG_PREPARE_THRESHOLD must be a whole number, at least 1" in refused.stderr


@pytest.mark.once
def test_the_database_urls_own_options_are_kept(tmp_path):
    options = pg_options(
        tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused?sslmode=require&connect_timeout=5"
    )
    assert options == {"server_side_binding": True, "prepare_threshold": 2, "sslmode": "require"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prepared_statements_survive_the_return_to_the_pool():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements need PostgreSQL (set DATABASE_URL)")
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    connection.close()
    connection.close_pool()
    options.update(server_side_binding=True, prepare_threshold=2, pool={"min_size": 1, "max_size": 1})
    statement = "SELECT id FROM merchants_merchant WHERE id = %s"
    try:
        with connection.cursor() as cursor:
            for number in range(4):
                cursor.execute(statement, [number])
        raw = connection.connection
        connection.close()  # back to the pool, as at the end of every request
        with connection.cursor() as cursor:
            assert connection.connection is raw
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row[0] for row in cursor.fetchall()]
        assert prepared == ["SELECT id FROM merchants_merchant WHERE id = $1"]
    finally:
        connection.close()
        connection.close_pool()
        options.clear()
        options.update(saved)


@pytest.mark.django_db
def test_bulk_writes_and_reads_beyond_the_protocols_parameter_limit_are_split():
    if connection.vendor != "postgresql":
        pytest.skip("the 65,535-parameter limit is PostgreSQL's (set DATABASE_URL)")
    from mendian.catalog.models import Category
    from tests.factories import MerchantFactory

    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    merchant = MerchantFactory()
    count = 65_535 // 6 + 100  # a category inserts 6 columns: one statement would carry 66,138
    Category.objects.bulk_create(Category(merchant=merchant, name=f"分类{n}") for n in range(count))

    ids = list(Category.objects.filter(merchant=merchant).values_list("pk", flat=True))
    assert len(ids) == count
    missing = list(range(10**9, 10**9 + 60_000))
    assert len(Category.objects.in_bulk(ids + missing)) == count


@pytest.mark.django_db
def test_a_bulk_update_of_two_fields_beyond_the_parameter_limit_is_split():
    if connection.vendor != "postgresql":
        pytest.skip("the 65,535-parameter limit is PostgreSQL's (set DATABASE_URL)")
    from mendian.catalog.models import Category
    from tests.factories import MerchantFactory

    merchant = MerchantFactory()
    # Two fields bind 5 values per object (WHEN pk THEN value, twice, and the key): 13,200 objects
    # carry 66,000, over the limit, in batches sized for 4 values per object.
    count = 13_200
    categories = Category.objects.bulk_create(
        Category(merchant=merchant, name=f"分类{n}") for n in range(count)
    )
    for number, category in enumerate(categories):
        category.name, category.position = f"改{number}", number + 1
    Category.objects.bulk_update(categories, ["name", "position"])
    assert Category.objects.filter(merchant=merchant, name__startswith="改", position__gt=0).count() == count
