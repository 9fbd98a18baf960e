"""Keeps `ShelfItem`, the per-store read model of the storefront's product list.

A store's list page is read from its shelf rows alone (`store_list`): one index range scan, each
row carrying its sort keys and its item's JSON. The list's rules live here, in `_sellable_sql`:
the merchant's active products not delisted at the store, priced by the store's
override (`StoreProductPrice`) else the base price, available when some active variant has stock
there. Every writer of those inputs refreshes the rows it touched, inside its own transaction:

- the catalog services (products, variants, photos, store prices, listings): `refresh`;
- inventory's change hook, when a variant sells out at a store or comes back: `refresh_availability`;
- a new store: `refresh(store_ids=[…])`; the periodic sales recount: `refresh(product_ids=…)`.

`rebuild` (the `mendian rebuild-shelves` command) recomputes everything, for data written around the
services (a restored backup, hand-written SQL). A refresh writes only rows that differ, so
repeating one is cheap and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from django.db import connection, transaction
from django.utils.encoding import filepath_to_uri

from mendian.catalog.cache import catalog_version_bump
from mendian.catalog.models import Product, ShelfItem, Sku, StoreListing, StoreProductPrice
from mendian.core.rows import table
from mendian.inventory.models import StockLevel
from mendian.merchants.models import Merchant
from mendian.stores.models import Store

# Bound parameters per statement stay under SQLite's limit.
_CHUNK = 500
_COLUMNS = ("category_id", "position", "sales_count", "price_from", "in_stock", "item")


def _stock_test(product: str, store: str) -> str:
    """SQL: some active variant of `product` can be bought at `store` now (two bound True/…)."""
    return (
        f"EXISTS (SELECT 1 FROM {table(Sku)} s JOIN {table(StockLevel)} sl ON sl.sku_id = s.id "  # noqa: S608
        f"WHERE s.product_id = {product} AND s.is_active = %s AND sl.store_id = {store} "
        "AND sl.on_hand > sl.reserved)"
    )


def _sellable_sql(*, product_count: int | None, store_count: int | None) -> str:
    """(store, product) pairs a merchant sells, with what a list item shows; optional id lists."""
    sql = (
        "SELECT st.id, p.id, p.category_id, p.position, p.sales_count, "  # noqa: S608
        "COALESCE(pp.price_from, p.min_price), "
        f"CASE WHEN {_stock_test('p.id', 'st.id')} THEN 1 ELSE 0 END, "
        "p.name, p.subtitle, p.brand, p.tag_index, p.cover_image, p.cover_thumbnail "
        f"FROM {table(Product)} p JOIN {table(Store)} st ON st.merchant_id = p.merchant_id "
        f"LEFT JOIN {table(StoreProductPrice)} pp ON pp.product_id = p.id AND pp.store_id = st.id "
        "WHERE p.merchant_id = %s AND p.is_active = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {table(StoreListing)} l "
        "WHERE l.product_id = p.id AND l.store_id = st.id AND l.is_listed = %s)"
    )
    if product_count is not None:
        sql += f" AND p.id IN ({', '.join(['%s'] * product_count)})"
    if store_count is not None:
        sql += f" AND st.id IN ({', '.join(['%s'] * store_count)})"
    return sql


_MARK = ShelfItem.MEDIA_MARK.encode()


def _photo_url(name: str) -> bytes:
    """A photo's URL in `item`: a JSON string of the media mark (raw: JSON would escape it) and the
    name URI-encoded as `FileSystemStorage.url` encodes it; the list query puts the storage's base
    URL in place of the mark."""
    return b'"' + _MARK + orjson.dumps(filepath_to_uri(name))[1:] if name else b"null"


def _item(
    *,
    product_id: int,
    name,
    subtitle,
    brand,
    tag_index,
    price_from: int,
    sales_count: int,
    currency,
    image,
    thumbnail,
) -> str:
    """A list item's JSON object without `available`, left open (see `ShelfItem.item`)."""
    card = orjson.dumps(
        {
            "id": str(product_id),
            "name": name,
            "subtitle": subtitle,
            "brand": brand,
            # tag_index ("|新品|热卖|") holds the tags in order, already text: no JSON to parse.
            "tags": tag_index[1:-1].split("|") if tag_index else [],
            "price_from": {"amount": int(price_from), "currency": currency},
            "sales_count": sales_count,
        }
    )
    return (card[:-1] + b',"image":' + _photo_url(image) + b',"thumbnail":' + _photo_url(thumbnail)).decode()


def _wanted_rows(merchant: Merchant, product_ids: list[int] | None, store_ids: list[int] | None) -> dict:
    """{(store_id, product_id): column values} of every sellable pair in scope."""
    wanted = {}
    product_chunks = (
        [None]
        if product_ids is None
        else [product_ids[i : i + _CHUNK] for i in range(0, len(product_ids), _CHUNK)]
    )
    with connection.cursor() as cursor:
        for chunk in product_chunks:
            sql = _sellable_sql(
                product_count=None if chunk is None else len(chunk),
                store_count=None if store_ids is None else len(store_ids),
            )
            cursor.execute(sql, [True, merchant.pk, True, False, *(chunk or ()), *(store_ids or ())])
            for row in cursor.fetchall():
                store_id, product_id, category_id, position, sales_count, price_from, in_stock = row[:7]
                name, subtitle, brand, tag_index, image, thumbnail = row[7:]
                wanted[(store_id, product_id)] = (
                    category_id,
                    position,
                    sales_count,
                    price_from,
                    bool(in_stock),
                    _item(
                        product_id=product_id,
                        name=name,
                        subtitle=subtitle,
                        brand=brand,
                        tag_index=tag_index,
                        price_from=price_from,
                        sales_count=sales_count,
                        currency=merchant.currency,
                        image=image,
                        thumbnail=thumbnail,
                    ),
                )
    return wanted


def _lock_products(products) -> None:
    """Row locks on these products, in key order, taken by every shelf writer before it reads what
    the rows should say, in a statement that starts after the locks and so sees every change
    committed by a writer that held them. Stock writers take them after their stock levels.

    Two orders selling out different variants of one product would otherwise each compute its
    availability from a snapshot without the other's change, and the later write would say "in
    stock" with nothing left; a product relisted at a store as it sells out there could be added
    "in stock". NO KEY UPDATE, so order lines referencing the products (KEY SHARE) do not wait."""
    if connection.features.has_select_for_update:
        list(products.select_for_update(no_key=True).order_by("pk").values_list("pk"))


def refresh(
    *, merchant_id: int, product_ids: Iterable[int] | None = None, store_ids: Iterable[int] | None = None
) -> int:
    """Recompute the shelf rows of these products (all the merchant's when None) at these stores
    (all its stores when None): add, rewrite or remove each row as the catalog now says. Returns
    how many rows were written or removed."""
    product_ids = None if product_ids is None else sorted(set(product_ids))
    store_ids = None if store_ids is None else sorted(set(store_ids))
    if product_ids == [] or store_ids == []:
        return 0
    merchant = Merchant.objects.only("currency").get(pk=merchant_id)
    with transaction.atomic():
        if product_ids is not None:
            existing_rows = ShelfItem.objects.filter(product_id__in=product_ids)
        else:
            existing_rows = ShelfItem.objects.filter(
                store_id__in=Store.objects.filter(merchant_id=merchant_id).values("pk")
            )
        if store_ids is not None:
            existing_rows = existing_rows.filter(store_id__in=store_ids)
        # Lock first, then read what the rows should say: a statement that starts after the locks
        # sees every change committed by a writer that held them.
        products = Product.objects.filter(merchant_id=merchant_id)
        if product_ids is not None:
            products = products.filter(pk__in=product_ids)
        _lock_products(products)
        existing = {
            (row[0], row[1]): (row[2], row[3:])
            for row in existing_rows.values_list("store_id", "product_id", "pk", *_COLUMNS)
        }
        wanted = _wanted_rows(merchant, product_ids, store_ids)
        stale = sorted(pk for key, (pk, _) in existing.items() if key not in wanted)
        for start in range(0, len(stale), _CHUNK):
            ShelfItem.objects.filter(pk__in=stale[start : start + _CHUNK]).delete()
        changed = [
            ShelfItem(store_id=store_id, product_id=product_id, **dict(zip(_COLUMNS, values, strict=True)))
            for (store_id, product_id), values in sorted(wanted.items())
            if (store_id, product_id) not in existing or existing[(store_id, product_id)][1] != values
        ]
        if changed:
            ShelfItem.objects.bulk_create(
                changed,
                batch_size=_CHUNK // len(_COLUMNS),
                update_conflicts=True,
                unique_fields=["store", "product"],
                update_fields=list(_COLUMNS),
            )
    return len(stale) + len(changed)


def refresh_availability(pairs: Iterable[tuple[int, int]]) -> None:
    """After stock moved, inside the writer's transaction: (store_id, sku_id) pairs whose variant
    sold out or came back there. Sets each affected shelf row's `in_stock` from live stock, after
    locking the products (see `_lock_products`)."""
    pairs = set(pairs)
    if not pairs:
        return
    product_of = dict(
        Sku.objects.filter(pk__in={sku_id for _, sku_id in pairs}).values_list("pk", "product_id")
    )
    rows = sorted({(store_id, product_of[sku_id]) for store_id, sku_id in pairs if sku_id in product_of})
    _lock_products(Product.objects.filter(pk__in={product_id for _, product_id in rows}))
    shelf = table(ShelfItem)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK // 2):
            chunk = rows[start : start + _CHUNK // 2]
            keys = [value for row in chunk for value in row]
            these = f"(store_id, product_id) IN ({', '.join(['(%s, %s)'] * len(chunk))})"
            cursor.execute(
                f"UPDATE {shelf} SET in_stock = "  # noqa: S608
                f"CASE WHEN {_stock_test(f'{shelf}.product_id', f'{shelf}.store_id')} THEN %s ELSE %s END "
                f"WHERE {these}",
                [True, True, False, *keys],
            )


def rebuild(*, merchant_id: int | None = None) -> list[tuple[str, int]]:
    """Every shelf row recomputed, one merchant's or every merchant's, and their cached list pages
    dropped: (merchant code, rows written or removed) per merchant."""
    merchants = Merchant.objects.order_by("pk").values_list("pk", "code")
    if merchant_id is not None:
        merchants = merchants.filter(pk=merchant_id)
    written = []
    for pk, code in merchants:
        written.append((code, refresh(merchant_id=pk)))
        catalog_version_bump(pk)
    return written
