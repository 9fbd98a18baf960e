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

The statement's text depends only on the query's shape (a category subtree is one array
parameter), so on PostgreSQL the few shapes of browsing are each prepared once per pooled
connection by psycopg (server-side binding, see `config/settings.py`): planning the joins cost
PostgreSQL more CPU than running them.
"""

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
# A row of `product_rows`, by position (the SELECT list below).
(ID, NAME, SUBTITLE, BRAND, TAG_INDEX, SALES_COUNT, POSITION, PRICE_FROM, IMAGE, THUMBNAIL, AVAILABLE) = (
    range(11)
)
# The row key each sort's cursor carries.
KEY_COLUMNS = {
    "default": POSITION,
    "sales": SALES_COUNT,
    "price": PRICE_FROM,
    "price_desc": PRICE_FROM,
}


@cache
def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


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
) -> list[tuple]:
    """Up to `limit` rows in list order, as tuples in the order of the constants above (ID …
    AVAILABLE; `tag_index` is the stored "|tag|tag|" text, `available` 0 or 1).

    Keyset sorts continue `after` the (key, id) of the previous page's last row; relevance order
    (name matches `relevance_to` first, then sales, then newest) pages by `offset`.
    """
    sku = _table(Sku)
    # Whether some active variant can be bought at the store now: live stock, in the same statement.
    # As a filter it is an EXISTS; as the `available` column a scalar subquery, which PostgreSQL runs
    # once per row of the page, after the sort and the limit, probing two indexes (as an EXISTS its
    # generic plan could instead hash every in-stock variant of the store for each page, which costs
    # as much as the store's whole catalogue).
    stock_test = (
        f"FROM {sku} s JOIN {_table(StockLevel)} sl ON sl.sku_id = s.id "
        "WHERE s.product_id = p.id AND s.is_active = %s AND sl.store_id = %s AND sl.on_hand > sl.reserved"
    )
    in_stock = f"EXISTS (SELECT 1 {stock_test})"
    available = f"COALESCE((SELECT 1 {stock_test} LIMIT 1), 0)"
    select = (
        f"SELECT p.id, p.name, p.subtitle, p.brand, p.tag_index, p.sales_count, p.position, {PRICE}, "  # noqa: S608
        f"p.cover_image, p.cover_thumbnail, {available} "
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
            # One array parameter: subtrees of every size share one prepared statement. It is sent
            # as the array's text ('{3,7,9}'), which PostgreSQL parses: psycopg's list adaptation
            # is Python code that cost more per page than the rest of the parameters together.
            where.append("p.category_id = ANY(%s::bigint[])")
            params.append("{" + ",".join(str(int(pk)) for pk in filters.category_ids) + "}")
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

    # Only relevance order pages by OFFSET. The keyset sorts' statements have none: PostgreSQL costs
    # the generic plan of a statement with `OFFSET $n` as if a tenth of the rows were skipped, which
    # made it keep re-planning the shelf order on every execution (a custom plan looked cheaper).
    page = "LIMIT %s"
    page_params: list = [limit]
    if relevance_to is not None:
        order = "CASE WHEN LOWER(p.name) LIKE %s ESCAPE '\\' THEN 1 ELSE 0 END DESC, p.sales_count DESC, p.id DESC"
        order_params = [like_pattern(relevance_to.lower())]
        page = "LIMIT %s OFFSET %s"
        page_params.append(offset)
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

    sql = f"{select} WHERE {' AND '.join(where)} ORDER BY {order} {page}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *order_params, *page_params])
        return cursor.fetchall()
