"""Statements run through libpq's prepared-statement calls (`core.db.postgresql.prepared`) answer
as psycopg's cursor would: the same rows, errors as psycopg's (Django's inside its wrapper), and a
statement the server forgot prepared again."""

import psycopg
import pytest
from django.db import connection, transaction
from django.db import utils as django_db_utils
from psycopg import pq

from mendian.core.db.postgresql import prepared

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="libpq is PostgreSQL's"),
    # Outside a test's transaction: the runner is only used in autocommit, as between requests.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _nothing_prepared(transactional_db):
    # The suite's pooled connections outlive a test: start each with none of ours prepared.
    _deallocate_ours()
    prepared._PREPARED.pop(_raw(), None)


def _deallocate_ours():
    for name in _ours_on_server():
        _raw().pgconn.exec_(f"DEALLOCATE {name}".encode())


def _raw():
    connection.ensure_connection()
    return connection.connection


def _values(result) -> list[tuple]:
    return [
        tuple(result.get_value(row, column) for column in range(result.nfields))
        for row in range(result.ntuples)
    ]


def _ours_on_server() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'mendian\\_%%'")
        return {row[0] for row in cursor.fetchall()}


SQL = "SELECT %s::int + 1, %s::text || '%%', %s::boolean, %s::text IS NULL"


def test_parameters_are_sent_and_rows_read_as_text():
    result = prepared.fetch(_raw(), SQL, [41, "五十%", True, None])
    assert _values(result) == [(b"42", "五十%%".encode(), b"t", b"t")]
    result = prepared.fetch(_raw(), SQL, [-1, "", False, "x"])
    assert _values(result) == [(b"0", b"%", b"f", b"f")]


def test_a_statement_is_prepared_once_per_connection():
    name, text = prepared._statement(SQL)
    assert text == b"SELECT $1::int + 1, $2::text || '%', $3::boolean, $4::text IS NULL"
    for value in range(3):
        prepared.fetch(_raw(), SQL, [value, "", True, None])
    assert _ours_on_server() == {name.decode()}
    assert prepared._PREPARED[_raw()] == {name}


@pytest.mark.parametrize("value", [1.5, b"bytes", [1, 2]])
def test_a_parameter_of_another_type_is_refused_before_anything_is_sent(value):
    with pytest.raises(TypeError, match="prepared statement's parameter"):
        prepared.fetch(_raw(), SQL, [value, "", True, None])
    assert _ours_on_server() == set()


@pytest.mark.parametrize(
    "forget",
    [
        _deallocate_ours,
        # psycopg clears the server's prepared statements (ours with its own) after a ROLLBACK.
        lambda: _rolled_back_atomic_then_a_query(),
    ],
    ids=["deallocated", "after a rollback"],
)
def test_a_statement_the_server_forgot_is_prepared_again(forget):
    assert _values(prepared.fetch(_raw(), SQL, [1, "a", True, None]))[0][0] == b"2"
    forget()
    assert _ours_on_server() == set()
    assert _values(prepared.fetch(_raw(), SQL, [2, "a", True, None]))[0][0] == b"3"
    assert len(_ours_on_server()) == 1


def _rolled_back_atomic_then_a_query():
    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        raise RuntimeError
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_errors_are_psycopgs_and_djangos_inside_its_wrapper():
    with pytest.raises(psycopg.errors.UndefinedColumn):
        prepared.fetch(_raw(), "SELECT no_such_column FROM catalog_shelfitem", [])
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        prepared.fetch(_raw(), SQL, [1, "", "maybe", None])
    with pytest.raises(django_db_utils.DataError), connection.wrap_database_errors:
        prepared.fetch(_raw(), SQL, [1, "", "maybe", None])
    # A failed statement leaves the connection as it was: idle, and the next one runs.
    assert _raw().pgconn.transaction_status == pq.TransactionStatus.IDLE
    assert _values(prepared.fetch(_raw(), SQL, [1, "", True, None]))[0][0] == b"2"


def test_a_connection_the_server_closed_raises_operational_error_and_is_replaced():
    prepared.fetch(_raw(), SQL, [1, "", True, None])
    pid = _raw().info.backend_pid
    with psycopg.connect(_raw().info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(django_db_utils.OperationalError), connection.wrap_database_errors:
        prepared.fetch(_raw(), SQL, [1, "", True, None])
    # What Django does at the end of the request: the broken connection is closed.
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is None
    assert _values(prepared.fetch(_raw(), SQL, [1, "", True, None]))[0][0] == b"2"
    assert _raw().info.backend_pid != pid


def test_past_the_cap_statements_run_unprepared(monkeypatch):
    monkeypatch.setattr(prepared, "MAX_PREPARED", 1)
    prepared.fetch(_raw(), "SELECT %s::int", [1])
    result = prepared.fetch(_raw(), SQL, [5, "", True, None])
    assert _values(result)[0][0] == b"6"
    assert _ours_on_server() == {prepared._statement("SELECT %s::int")[0].decode()}


def test_only_outside_a_transaction_with_prepared_statements_on():
    raw = _raw()
    assert prepared.usable(raw)
    with transaction.atomic():
        assert not prepared.usable(raw)  # psycopg has yet to begin it
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert not prepared.usable(raw)
    assert prepared.usable(raw)
    threshold = raw.prepare_threshold
    try:
        raw.prepare_threshold = None
        assert not prepared.usable(raw)
    finally:
        raw.prepare_threshold = threshold
