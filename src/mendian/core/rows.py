"""Model rows read and written with hand-written SQL, for the few hottest paths (a member's token,
placing and reading an order): the ORM's query compiler costs about a millisecond of Python per
statement, more than the statement itself. Values pass through the same converters as the ORM's
(the backend's and the fields' own `from_db_value`, e.g. decryption), and writes through the
fields' `pre_save` and `get_db_prep_save`, so a row reads and writes exactly as through the ORM.
Any SQL given here is ours: only placeholders carry values.
"""

from collections.abc import Iterable, Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import (
    BigIntegerField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    IntegerField,
    Model,
    PositiveBigIntegerField,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
    TextField,
    TimeField,
)


def _db():
    """The connection itself: `django.db.connection` is a proxy that looks the connection up on
    every attribute read, and fields read it many times per value."""
    return connections[DEFAULT_DB_ALIAS]


@cache
def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _select_list(model: type[Model], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def columns(model: type[Model], alias: str) -> str:
    """`alias.col, …` for every concrete field of `model`, in the order `instance` reads them."""
    return _select_list(model, alias)


@cache
def _nulls(model: type[Model]) -> str:
    return ", ".join(
        f"CAST(NULL AS {field.cast_db_type(connection)})" for field in model._meta.concrete_fields
    )


def nulls(model: type[Model]) -> str:
    """A typed NULL for every column of `columns(model, …)`: the padding of the other branches of
    a UNION (PostgreSQL types a UNION's columns pair by pair, from the left)."""
    return _nulls(model)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


@cache
def _converters(model: type[Model], vendor: str) -> tuple:
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if functions:
            found.append((index, tuple(functions), col))
    return tuple(found)


def instance(model: type[Model], row: Sequence, start: int = 0):
    """The `model` instance of `row[start:start + width(model)]` (selected with `columns`)."""
    db = _db()
    values = list(row[start : start + len(model._meta.concrete_fields)])
    for index, functions, col in _converters(model, db.vendor):
        value = values[index]
        for function in functions:
            value = function(value, col, db)
        values[index] = value
    obj = model(*values)
    obj._state.adding = False
    obj._state.db = db.alias
    return obj


def fetch(sql: str, params: Iterable) -> list[tuple]:
    with _db().cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


@cache
def _insert_shape(model: type[Model]) -> tuple[tuple, str]:
    fields = tuple(field for field in model._meta.concrete_fields if not field.primary_key)
    quote = connection.ops.quote_name
    head = f"INSERT INTO {table(model)} ({', '.join(quote(field.column) for field in fields)}) VALUES "  # noqa: S608
    return fields, head


_PLAIN_PRE_SAVE = frozenset({Field.pre_save, DateField.pre_save, DateTimeField.pre_save, TimeField.pre_save})


def _reads_attribute(field) -> bool:
    """Whether `field.pre_save(obj, True)` is just `getattr(obj, field.attname)`: Django's own
    `pre_save`, with no `auto_now(_add)` to fill."""
    return type(field).pre_save in _PLAIN_PRE_SAVE and not (
        getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    )


# Django's own integer fields: `get_db_prep_save` of an `int` is the backend's
# `adapt_integerfield_value` of it (their `get_prep_value` is `int(value)`).
_INTEGER_FIELDS = frozenset(
    {
        IntegerField,
        BigIntegerField,
        SmallIntegerField,
        PositiveIntegerField,
        PositiveBigIntegerField,
        PositiveSmallIntegerField,
    }
)


@cache
def _insert_plan(model: type[Model]) -> tuple:
    """Per field of `_insert_shape`: (attname if `pre_save` only reads it else None, the field,
    whether a `str` or None saves as itself: plain `CharField`/`TextField`, whose
    `get_db_prep_save` only casts lazy strings and non-strings, the internal type of an integer
    field of `_INTEGER_FIELDS` else None)."""
    fields, _ = _insert_shape(model)
    return tuple(
        (
            field.attname if _reads_attribute(field) else None,
            field,
            type(field) in (CharField, TextField),
            field.get_internal_type() if type(field) in _INTEGER_FIELDS else None,
        )
        for field in fields
    )


def _insert_params(model: type[Model], obj: Model, db) -> list:
    """`[field.get_db_prep_save(field.pre_save(obj, True), db) for field in fields]`, without the
    calls that cannot change a value."""
    params = []
    append = params.append
    adapt_integer = db.ops.adapt_integerfield_value
    for attname, field, text, integer_type in _insert_plan(model):
        saved = getattr(obj, attname) if attname is not None else field.pre_save(obj, True)
        if text and (saved is None or type(saved) is str):
            append(saved)
        elif integer_type is not None and type(saved) is int:
            append(adapt_integer(saved, integer_type))
        else:
            append(field.get_db_prep_save(saved, db))
    return params


def insert(objs: Sequence[Model]) -> None:
    """INSERTs unsaved instances of one model in one statement and sets their primary keys, as
    `bulk_create` does (no signals, `auto_now(_add)` filled by the fields' `pre_save`)."""
    if not objs:
        return
    db = _db()
    model = type(objs[0])
    fields, head = _insert_shape(model)
    params = []
    for obj in objs:
        params.extend(_insert_params(model, obj, db))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    pk = model._meta.pk
    sql = f"{head}{', '.join([row] * len(objs))} RETURNING {db.ops.quote_name(pk.column)}"
    # An error marks the enclosing transaction for rollback, as `Model.save` does.
    with transaction.mark_for_rollback_on_error(db.alias), db.cursor() as cursor:
        cursor.execute(sql, params)
        ids = cursor.fetchall()
    for obj, (pk_value,) in zip(objs, ids, strict=True):
        setattr(obj, pk.attname, pk_value)
        obj._state.adding = False
        obj._state.db = db.alias


def update(model: type[Model], pk, **values) -> int:
    """`model.objects.filter(pk=pk).update(**values)` for plain values (no expressions): the number
    of rows changed."""
    return update_where(model, {"pk": pk}, values)


@cache
def _field_converters(field) -> tuple:
    # Keyed by field alone: `connection` is the default alias, the only one `value` converts for.
    col = field.get_col(field.model._meta.db_table)
    return col, tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))


def value(field, raw):
    """`raw`, a column of `field` as the database returned it, as the ORM would give it."""
    col, functions = _field_converters(field)
    if functions:
        db = _db()
        for function in functions:
            raw = function(raw, col, db)
    return raw


@cache
def _update_where_sql(
    model: type[Model], names: tuple[str, ...], keys: tuple[str, ...]
) -> tuple[tuple, tuple, str]:
    meta = model._meta
    fields = tuple(meta.get_field(name) for name in names)
    tests = tuple(meta.pk if key == "pk" else meta.get_field(key) for key in keys)
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    conditions = " AND ".join(f"{quote(field.column)} = %s" for field in tests)
    return fields, tests, f"UPDATE {table(model)} SET {assignments} WHERE {conditions}"  # noqa: S608


def update_where(model: type[Model], where: dict, values: dict) -> int:
    """`model.objects.filter(**where).update(**values)` for plain values and `where` of equalities
    to non-null values (`pk` or field names): the number of rows changed. An error marks the
    enclosing transaction for rollback, as the ORM's `update` does."""
    db = _db()
    fields, tests, sql = _update_where_sql(model, tuple(values), tuple(where))
    params = [field.get_db_prep_save(value, db) for field, value in zip(fields, values.values(), strict=True)]
    for field, value in zip(tests, where.values(), strict=True):
        if value is None:
            raise ValueError(f"update_where cannot test {field.name} against NULL")
        params.append(field.get_db_prep_value(value, db))
    with transaction.mark_for_rollback_on_error(db.alias), db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
