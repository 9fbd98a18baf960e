"""A page of a store's product list, as one hand-written SQL statement over its shelf.

This is the storefront's hottest read. It reads `ShelfItem` (kept by `catalog.shelf`): each row
holds a product's sort keys, store price, availability and its item's JSON, so a browsing page
(a category, a sort, a cursor) is one index range scan of one table (index-only on PostgreSQL:
the order indexes include what a page reads) and the page's body is the rows' JSON joined, with no
per-item Python. Filters on what the shelf does not hold (search
words, SKU codes and barcodes, brand, tags) join the product row. Built with the ORM the
statement spent longer compiling in Python than PostgreSQL spent running it
(bench/store_products.py), so it is written here once. It is plain SQL that SQLite and PostgreSQL
both run: booleans are bound as parameters, LIKE patterns are escaped, and both sides of every
LIKE are already lower-cased and NFKC-normalised (see `search`), so LIKE's case rules, which differ
between the two, never matter.

Filters are validated by the caller (`selectors.store_products`); this module only assembles SQL
from them: table names come from the models' metadata and every value is bound as a parameter
(hence the `noqa: S608` on the f-strings).

The statement's text depends only on the query's shape (a category subtree is one array
parameter), so on PostgreSQL the few shapes of browsing (no search, brand or tags) are each
prepared once per connection and run through libpq directly (`core.db.postgresql.prepared`); the
rest are prepared by psycopg once run twice (server-side binding, see `config/settings.py`).
"""

import weakref
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connection, connections

from mendian.catalog.models import Product, ShelfItem, Sku
from mendian.core.db.postgresql import prepared
from mendian.core.rows import table

# sort -> (shelf column, descending). Every order ends with the product id descending, so it is total.
KEYSETS: dict[str, tuple[str | None, bool]] = {
    "default": ("sh.position", False),
    "sales": ("sh.sales_count", True),
    "price": ("sh.price_from", False),
    "price_desc": ("sh.price_from", True),
    "new": (None, True),
}
# A row of `product_rows`, by position: the sort's key (None for `new` and relevance), the product
# id and the item's JSON object.
KEY, ID, ITEM_JSON = range(3)

# The item's JSON: the shelf's open item with the media base URL (a parameter, JSON-escaped) put in
# place of its mark, then its availability.
_ITEM = (
    "replace(sh.item, %s, %s)"
    " || CASE WHEN sh.in_stock THEN ',\"available\":true}' ELSE ',\"available\":false}' END"
)


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

    def need_product_row(self) -> bool:
        return bool(self.search_tokens or self.search_exact or self.barcode or self.brand or self.tags)


def product_rows(
    *,
    store_id: int,
    media_base: str,
    filters: ListFilters,
    sort: str,
    after: tuple | None,
    relevance_to: str | None,
    offset: int,
    limit: int,
) -> list[tuple]:
    """Up to `limit` rows in list order: (sort key, product id, item JSON text). `media_base` is
    the media storage's base URL, already escaped for a JSON string.

    Keyset sorts continue `after` the (key, id) of the previous page's last row; relevance order
    (name matches `relevance_to` first, then sales, then newest) pages by `offset`.
    """
    sku = table(Sku)
    joins_product = filters.need_product_row() or relevance_to is not None
    params: list = [ShelfItem.MEDIA_MARK, media_base, store_id]
    where = ["sh.store_id = %s"]

    if filters.category_ids is not None:
        if connection.vendor == "postgresql":
            # One array parameter: subtrees of every size share one prepared statement. It is sent
            # as the array's text ('{3,7,9}'), which PostgreSQL parses: psycopg's list adaptation
            # is Python code that cost more per page than the rest of the parameters together.
            where.append("sh.category_id = ANY(%s::bigint[])")
            params.append("{" + ",".join(str(int(pk)) for pk in filters.category_ids) + "}")
        else:
            where.append(f"sh.category_id IN ({', '.join(['%s'] * len(filters.category_ids))})")
            params += filters.category_ids
    if filters.search_tokens or filters.search_exact:
        alternatives = []
        if filters.search_exact:
            alternatives.append(
                f"EXISTS (SELECT 1 FROM {sku} s WHERE s.product_id = sh.product_id AND s.is_active = %s "  # noqa: S608
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
            f"EXISTS (SELECT 1 FROM {sku} s WHERE s.product_id = sh.product_id AND s.is_active = %s AND s.barcode = %s)"  # noqa: S608
        )
        params += [True, filters.barcode]
    if filters.brand:
        where.append("p.brand = %s")
        params.append(filters.brand)
    for tag in filters.tags:
        where.append("p.tag_index LIKE %s ESCAPE '\\'")
        params.append(like_pattern(f"|{tag}|"))
    if filters.in_stock:
        where.append("sh.in_stock = %s")
        params.append(True)
    if filters.price_min is not None:
        where.append("sh.price_from >= %s")
        params.append(filters.price_min)
    if filters.price_max is not None:
        where.append("sh.price_from <= %s")
        params.append(filters.price_max)

    # Only relevance order pages by OFFSET. The keyset sorts' statements have none: PostgreSQL costs
    # the generic plan of a statement with `OFFSET $n` as if a tenth of the rows were skipped, which
    # made it keep re-planning the shelf order on every execution (a custom plan looked cheaper).
    page = "LIMIT %s"
    page_params: list = [limit]
    key = "NULL"
    if relevance_to is not None:
        order = (
            "CASE WHEN LOWER(p.name) LIKE %s ESCAPE '\\' THEN 1 ELSE 0 END DESC, "
            "sh.sales_count DESC, sh.product_id DESC"
        )
        order_params = [like_pattern(relevance_to.lower())]
        page = "LIMIT %s OFFSET %s"
        page_params.append(offset)
    else:
        expression, descending = KEYSETS[sort]
        order_params = []
        if expression is None:
            order = "sh.product_id DESC"
            if after is not None:
                where.append("sh.product_id < %s")
                params.append(after[-1])
        elif descending:
            key = expression
            order = f"{expression} DESC, sh.product_id DESC"
            if after is not None:
                where.append(f"({expression}, sh.product_id) < (%s, %s)")
                params += [after[0], after[1]]
        else:
            # A key ascending with ids descending: the index orders by the negated id, so that
            # "after (key, id)" is one row comparison, which bounds the index scan; `key > x OR
            # (key = x AND id < y)` would be a filter read over every row before the cursor.
            key = expression
            order = f"{expression} ASC, sh.product_id * -1 ASC"
            if after is not None:
                where.append(f"({expression}, sh.product_id * -1) > (%s, %s)")
                params += [after[0], -after[1]]

    source = f"{table(ShelfItem)} sh"
    if joins_product:
        source += f" JOIN {table(Product)} p ON p.id = sh.product_id"
    sql = (
        f"SELECT {key}, sh.product_id, {_ITEM} FROM {source} "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY {order} {page}"
    )
    return _fetch_all(sql, [*params, *order_params, *page_params], browsing=not joins_product)


# One psycopg cursor per connection for the list's statements, kept between requests: a cursor
# is cheap, but not free on a request this small. Gone with its connection.
_LIST_CURSORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fetch_all(sql: str, params: list, *, browsing: bool = False) -> list[tuple]:
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.…` looks the connection up again
    if db.vendor == "postgresql" and not (db.queries_logged or db.execute_wrappers):
        # What Django's cursor wrapper adds to psycopg's cursor is the query log and the execute
        # wrappers; with neither in use, psycopg's own saves a few percent of a page's CPU (the
        # statement is the same and prepared the same way; the same checks run before it and
        # errors are translated the same way).
        db.close_if_health_check_failed()
        db.ensure_connection()
        db.validate_no_broken_transaction()
        with db.wrap_database_errors:
            raw = db.connection
            if browsing and prepared.usable(raw):
                # The few shapes of browsing, run through libpq itself (see `prepared`).
                result = prepared.fetch(raw, sql, params)
                get = result.get_value
                return [
                    (
                        None if (key := get(row, KEY)) is None else int(key),
                        int(get(row, ID)),
                        get(row, ITEM_JSON).decode(),
                    )
                    for row in range(result.ntuples)
                ]
            cursor = _LIST_CURSORS.get(raw)
            if cursor is None:
                cursor = _LIST_CURSORS[raw] = raw.cursor()
            return cursor.execute(sql, params).fetchall()
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
