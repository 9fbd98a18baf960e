"""The rows of a store's product list, as one hand-written SQL statement.

This is the storefront's hottest read. Built with the ORM (filtered joins, subqueries, optional
filters and a keyset condition) it spent four times longer compiling the query in Python than
PostgreSQL spent running it (bench/store_products.py), so the statement is written here once.
Photos come from the product's denormalised cover and store prices from StoreProductPrice, both
kept by the services, so one indexed pass answers a page. It is plain SQL that SQLite and
PostgreSQL both run: booleans are bound as parameters, LIKE patterns are escaped, and both sides
of every LIKE are already lower-cased and NFKC-normalised (see `search`), so LIKE's case rules,
which differ between the two, never matter.

Filters are validated by the caller (`selectors.store_products`); this module only assembles SQL
from them: table names come from the models' metadata and every value is bound as a parameter
(hence the `noqa: S608` on the f-strings).

On PostgreSQL the statements of browsing (a category, a sort, a cursor: nearly all the traffic, and
at most a few dozen shapes) are prepared once per connection (`PREPARE`, then `EXECUTE` with the
values): planning the joins cost PostgreSQL three times more CPU than running them, and a prepared
statement is planned once (PostgreSQL keeps a generic plan when it is no worse than the custom
ones). Searches and free-text filters, whose shapes have no bound, run as plain statements; so
does everything on SQLite. Django's connections bind values on the client, so psycopg's own
statement preparation cannot be used, unless server-side binding is switched on
(MENDIAN_PG_SERVER_SIDE_BINDING): then psycopg prepares and this module does not.
"""

import itertools
import weakref
from dataclasses import dataclass, field
from functools import cache

from django.db import connection

from mendian.catalog.models import Product, Sku, StoreListing, StoreProductPrice
from mendian.inventory.models import StockLevel

# The store's price of a product: its row in StoreProductPrice when some variant has a store price,
# else the product's lowest base price.
PRICE = "COALESCE(pp.price_from, p.min_price)"

# sort -> (SQL expression, descending). Every order ends with p.id DESC, so it is total.
KEYSETS: dict[str, tuple[str | None, bool]] = {
    "default": ("p.position", False),
    "sales": ("p.sales_count", True),
    "price": (PRICE, False),
    "price_desc": (PRICE, True),
    "new": (None, True),
}
# The row key each sort's cursor carries.
KEY_COLUMNS = {
    "default": "position",
    "sales": "sales_count",
    "price": "price_from",
    "price_desc": "price_from",
}


@cache
def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# SQL text -> its prepared statement's name (per process), and per psycopg connection the names
# prepared on it. A statement outlives transactions and rollbacks; it lives as long as its session.
_statement_names: dict[str, str] = {}
_statement_numbers = itertools.count(1)
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Browsing has 5 sorts x category or not x cursor or not x in stock or not = 40 shapes. Each prepared
# statement holds ~170 KiB in every backend that ran it; the cap keeps that bounded whatever comes.
MAX_STATEMENTS = 48


def _preparing_here() -> bool:
    # With server-side binding (MENDIAN_PG_SERVER_SIDE_BINDING) psycopg prepares statements itself,
    # and EXECUTE could not take the values as parameters.
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict["OPTIONS"].get("server_side_binding") is not True
    )


def _run(cursor, sql: str, params: list, *, preparable: bool) -> list[tuple]:
    if not (preparable and _preparing_here()):
        cursor.execute(sql, params)
        return cursor.fetchall()
    name = _statement_names.get(sql)
    if name is None:
        if len(_statement_names) >= MAX_STATEMENTS:
            cursor.execute(sql, params)
            return cursor.fetchall()
        name = _statement_names.setdefault(sql, f"mendian_store_list_{next(_statement_numbers)}")
    raw = connection.connection
    prepared = _prepared_on.get(raw)
    if prepared is None:
        prepared = _prepared_on[raw] = set()
    if name not in prepared:
        numbers = itertools.count(1)
        text = "".join(
            part if index == 0 else f"${next(numbers)}{part}" for index, part in enumerate(sql.split("%s"))
        )
        # On the connection itself: preparing is not one of the request's queries (and happens
        # once per connection and shape, so query counts stay what they were).
        with connection.wrap_database_errors:
            raw.execute(f"PREPARE {name} AS {text}").close()
        prepared.add(name)
    cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
    return cursor.fetchall()


def like_pattern(fragment: str) -> str:
    """`%fragment%` with LIKE's wildcards in the fragment taken literally (ESCAPE '\\')."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class ListFilters:
    category_ids: list[int] | None = None
    search_tokens: list[str] = field(default_factory=list)
    search_exact: str | None = None  # a SKU code or barcode the whole query may equal
    barcode: str | None = None
    brand: str | None = None
    tags: list[str] = field(default_factory=list)
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool = False  # only products with an active variant available at the store


def product_rows(
    *,
    store_id: int,
    merchant_id: int,
    filters: ListFilters,
    sort: str,
    after: tuple | None,
    relevance_to: str | None,
    offset: int,
    limit: int,
) -> list[dict]:
    """Up to `limit` rows in list order.

    Keyset sorts continue `after` the (key, id) of the previous page's last row; relevance order
    (name matches `relevance_to` first, then sales, then newest) pages by `offset`.
    """
    sku = _table(Sku)
    # Whether some active variant can be bought at the store now: live stock, in the same statement.
    in_stock = (
        f"EXISTS (SELECT 1 FROM {sku} s JOIN {_table(StockLevel)} sl ON sl.sku_id = s.id "  # noqa: S608
        "WHERE s.product_id = p.id AND s.is_active = %s AND sl.store_id = %s AND sl.on_hand > sl.reserved)"
    )
    select = (
        f"SELECT p.id, p.name, p.subtitle, p.brand, p.tag_index, p.sales_count, p.position, {PRICE}, "  # noqa: S608
        f"p.cover_image, p.cover_thumbnail, {in_stock} "
        f"FROM {_table(Product)} p "
        f"LEFT JOIN {_table(StoreProductPrice)} pp ON pp.product_id = p.id AND pp.store_id = %s"
    )
    params: list = [True, store_id, store_id]
    where = [
        "p.merchant_id = %s",
        "p.is_active = %s",
        f"NOT EXISTS (SELECT 1 FROM {_table(StoreListing)} l "  # noqa: S608
        "WHERE l.product_id = p.id AND l.store_id = %s AND l.is_listed = %s)",
    ]
    params += [merchant_id, True, store_id, False]

    if filters.category_ids is not None:
        if connection.vendor == "postgresql":
            # One array parameter: subtrees of every size share one prepared statement.
            where.append("p.category_id = ANY(%s)")
            params.append(list(filters.category_ids))
        else:
            where.append(f"p.category_id IN ({', '.join(['%s'] * len(filters.category_ids))})")
            params += filters.category_ids
    if filters.search_tokens or filters.search_exact:
        alternatives = []
        if filters.search_exact:
            alternatives.append(
                f"EXISTS (SELECT 1 FROM {sku} s WHERE s.product_id = p.id AND s.is_active = %s "  # noqa: S608
                "AND (s.sku_code = %s OR s.barcode = %s))"
            )
            params += [True, filters.search_exact, filters.search_exact]
        if filters.search_tokens:
            alternatives.append(
                "("
                + " AND ".join(["p.search_document LIKE %s ESCAPE '\\'"] * len(filters.search_tokens))
                + ")"
            )
            params += [like_pattern(token) for token in filters.search_tokens]
        where.append("(" + " OR ".join(alternatives) + ")")
    if filters.barcode:
        where.append(
            f"EXISTS (SELECT 1 FROM {sku} s WHERE s.product_id = p.id AND s.is_active = %s AND s.barcode = %s)"  # noqa: S608
        )
        params += [True, filters.barcode]
    if filters.brand:
        where.append("p.brand = %s")
        params.append(filters.brand)
    for tag in filters.tags:
        where.append("p.tag_index LIKE %s ESCAPE '\\'")
        params.append(like_pattern(f"|{tag}|"))
    if filters.in_stock:
        where.append(in_stock)
        params += [True, store_id]
    if filters.price_min is not None:
        where.append(f"{PRICE} >= %s")
        params.append(filters.price_min)
    if filters.price_max is not None:
        where.append(f"{PRICE} <= %s")
        params.append(filters.price_max)

    if relevance_to is not None:
        order = "CASE WHEN LOWER(p.name) LIKE %s ESCAPE '\\' THEN 1 ELSE 0 END DESC, p.sales_count DESC, p.id DESC"
        order_params = [like_pattern(relevance_to.lower())]
    else:
        expression, descending = KEYSETS[sort]
        if expression is None:
            order, order_params = "p.id DESC", []
            if after is not None:
                where.append("p.id < %s")
                params.append(after[-1])
        else:
            direction = "DESC" if descending else "ASC"
            order, order_params = f"{expression} {direction}, p.id DESC", []
            if after is not None:
                beyond = "<" if descending else ">"
                where.append(f"({expression} {beyond} %s OR ({expression} = %s AND p.id < %s))")
                params += [after[0], after[0], after[1]]

    sql = f"{select} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s OFFSET %s"
    preparable = relevance_to is None and not (
        filters.search_tokens
        or filters.search_exact
        or filters.barcode
        or filters.brand
        or filters.tags
        or filters.price_min is not None
        or filters.price_max is not None
    )
    with connection.cursor() as cursor:
        values = _run(cursor, sql, [*params, *order_params, limit, offset], preparable=preparable)
    # tag_index ("|新品|热卖|") holds the tags in order, already text: no JSON to parse per row.
    return [
        {
            "id": id_,
            "name": name,
            "subtitle": subtitle,
            "brand": brand,
            "tags": tag_index[1:-1].split("|") if tag_index else [],
            "sales_count": sales_count,
            "position": position,
            "price_from": price_from,
            "image": image,
            "thumbnail": thumbnail,
            "available": bool(available),
        }
        for id_, name, subtitle, brand, tag_index, sales_count, position, price_from, image, thumbnail, available in values
    ]
