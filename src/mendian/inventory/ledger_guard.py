"""The append-only guard of the movement ledger (installed by migration 0002), seen from the app.

SQLite has no TRUNCATE: wiping a database is `DELETE FROM` every table, which the ledger's delete
trigger refuses. `flush_with_ledger_guard_lifted` lets a whole-database flush through: it drops the
trigger and recreates it in the flush's own transaction, so no other connection ever sees the
ledger unguarded. PostgreSQL flushes with TRUNCATE, which row triggers do not see.
"""

from contextlib import contextmanager

from django.db import connections, transaction

SQLITE_DELETE_TRIGGER = "inventory_movement_no_delete"
SQLITE_CREATE_DELETE_TRIGGER = f"""
    CREATE TRIGGER {SQLITE_DELETE_TRIGGER} BEFORE DELETE ON inventory_stockmovement
    BEGIN SELECT RAISE(ABORT, 'stock movements are append-only (DELETE refused)'); END
"""


def _sqlite_has_delete_trigger(cursor) -> bool:
    cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [SQLITE_DELETE_TRIGGER]
    )
    return cursor.fetchone() is not None


@contextmanager
def flush_with_ledger_guard_lifted(using: str):
    """While active, `connection.ops.execute_sql_flush` runs with the SQLite delete trigger lifted."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    original = connection.ops.execute_sql_flush

    def execute_sql_flush(sql_list):
        with transaction.atomic(using=using), connection.cursor() as cursor:
            guarded = _sqlite_has_delete_trigger(cursor)
            if guarded:
                cursor.execute(f"DROP TRIGGER {SQLITE_DELETE_TRIGGER}")
            original(sql_list)
            if guarded:
                cursor.execute(SQLITE_CREATE_DELETE_TRIGGER)

    connection.ops.execute_sql_flush = execute_sql_flush
    try:
        yield
    finally:
        del connection.ops.execute_sql_flush
