"""The movement ledger is append-only at the database level: UPDATE and DELETE of a row fail.

PostgreSQL: a row trigger raising `restrict_violation`. TRUNCATE (a whole-database wipe, as the
test runner's flush does) fires no row triggers and stays possible.
SQLite: BEFORE UPDATE / BEFORE DELETE triggers with RAISE(ABORT). SQLite has no TRUNCATE, so the
app's `flush` command (inventory/management/commands/flush.py) lifts the delete trigger inside the
flush's own transaction and puts it back before it commits.
"""

from django.db import migrations

TABLE = "inventory_stockmovement"
MESSAGE = "stock movements are append-only"

PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION inventory_movement_immutable() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER inventory_movement_immutable BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION inventory_movement_immutable()
    """,
]
PG_REMOVE = [
    f"DROP TRIGGER IF EXISTS inventory_movement_immutable ON {TABLE}",
    "DROP FUNCTION IF EXISTS inventory_movement_immutable()",
]
SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER inventory_movement_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE refused)'); END
    """,
    f"""
    CREATE TRIGGER inventory_movement_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE} (DELETE refused)'); END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS inventory_movement_no_update",
    "DROP TRIGGER IF EXISTS inventory_movement_no_delete",
]


def _run(schema_editor, statements_by_vendor):
    for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql, params=None)


def forwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_INSTALL, "sqlite": SQLITE_INSTALL})


def backwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_REMOVE, "sqlite": SQLITE_REMOVE})


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
