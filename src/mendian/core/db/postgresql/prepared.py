"""One statement run through libpq's own prepared-statement calls, beside psycopg's cursor.

For the few statements of the hottest reads (a store's product list while browsing): psycopg's
cursor spends, in Python, about as much CPU as the server spends running such a statement (its
query conversion, prepare bookkeeping, result checks and generators around each round trip).
psycopg exposes the libpq connection underneath for what it does not wrap (`Connection.pgconn`);
through it a page is one `PQexecPrepared` call and its values are read as bytes.

The caller keeps what Django's cursor gives: it runs `DatabaseWrapper` checks before and calls
this inside `wrap_database_errors`, so errors arrive as Django's. What psycopg's cursor would do
around the statement is done here: its lock, errors raised as psycopg's, and statements prepared
again when the server forgot them. It runs only outside transactions (see `usable`).

Statements are named by a hash of their text and prepared once per connection. A caller must
pass statements of a few shapes (values as parameters, never in the text); past
`MAX_PREPARED` names a connection runs further statements unprepared.
"""

import hashlib
import re
import weakref

from psycopg import OperationalError, errors, pq
from psycopg.pq.abc import PGresult

MAX_PREPARED = 256
_INVALID_STATEMENT_NAME = b"26000"  # the server does not know it (DEALLOCATE, DISCARD ALL)

# Django's SQL text (`%s` parameters, `%%` for a literal percent) -> (name, PostgreSQL's text).
_STATEMENTS: dict[str, tuple[bytes, bytes]] = {}
# psycopg connection -> names of the statements prepared on it. Gone with its connection.
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%[s%]")


def usable(raw) -> bool:
    """Whether `raw` (a psycopg connection) can run a statement here as its cursor would.

    Only outside a transaction, in autocommit (Django's default between `atomic` blocks). In
    one, psycopg may first have to begin it (`atomic` before its first statement), and the
    statement may have been dropped from under it: psycopg sends DEALLOCATE ALL after any
    ROLLBACK, ALTER or DROP, which forgets ours too, and a failed statement aborts the
    transaction where, outside one, it is simply prepared again. Nor when prepared statements are
    turned off (`MENDIAN_PG_PREPARE_THRESHOLD=none`, as for a pooler that cannot keep them).
    """
    return (
        raw.autocommit
        and raw.prepare_threshold is not None
        and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
    )


def _statement(sql: str) -> tuple[bytes, bytes]:
    statement = _STATEMENTS.get(sql)
    if statement is None:
        numbers = iter(range(1, 65536))
        text = _PLACEHOLDER.sub(lambda m: "%" if m[0] == "%%" else f"${next(numbers)}", sql)
        name = b"mendian_" + hashlib.blake2b(sql.encode(), digest_size=8).hexdigest().encode()
        statement = (name, text.encode())
        if len(_STATEMENTS) < 4 * MAX_PREPARED:
            _STATEMENTS[sql] = statement
    return statement


def _value(value) -> bytes | None:
    # In PostgreSQL's text format; the server infers each parameter's type from the statement.
    if value is None:
        return None
    if value is True:
        return b"t"
    if value is False:
        return b"f"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"cannot send {type(value).__name__} as a prepared statement's parameter")


def _raise_for(raw, result):
    if raw.pgconn.status != pq.ConnStatus.OK:
        # The connection broke (the server went away): psycopg's cursor raises this too.
        message = raw.pgconn.error_message.decode(errors="replace").strip()
        raise OperationalError(f"consuming input failed: {message}")
    raise errors.error_from_result(result, encoding=raw.info.encoding)


def fetch(raw, sql: str, params: list) -> PGresult:
    """Run `sql` with `params` (None, bool, int or str) prepared on `raw`; its rows' values are
    `result.get_value(row, column)`: bytes in PostgreSQL's text format, None for NULL."""
    name, text = _statement(sql)
    values = [_value(value) for value in params]
    with raw.lock:
        pgconn = raw.pgconn
        prepared = _PREPARED.get(raw)
        if prepared is None:
            prepared = _PREPARED[raw] = set()
        for _attempt in range(2):
            if name not in prepared:
                if len(prepared) >= MAX_PREPARED:
                    result = pgconn.exec_params(text, values)
                    if result.status != pq.ExecStatus.TUPLES_OK:
                        _raise_for(raw, result)
                    return result
                result = pgconn.prepare(name, text)
                if result.status != pq.ExecStatus.COMMAND_OK:
                    _raise_for(raw, result)
                prepared.add(name)
            result = pgconn.exec_prepared(name, values)
            if result.status == pq.ExecStatus.TUPLES_OK:
                return result
            if result.error_field(pq.DiagnosticField.SQLSTATE) != _INVALID_STATEMENT_NAME:
                _raise_for(raw, result)
            prepared.discard(name)
        _raise_for(raw, result)
