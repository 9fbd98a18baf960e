"""Every catalog read. Consumer reads are scoped by the store (and so its merchant); staff reads by the Actor.

Replies are plain dicts in the API's shapes: ids as strings, money as `{amount, currency}`.
Each function runs a fixed number of queries whatever the page size.
"""

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

import orjson
from django.core.files.storage import FileSystemStorage, storages
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.encoding import filepath_to_uri

from mendian.catalog import cache as page_cache
from mendian.catalog import search, store_list
from mendian.catalog.models import Category, Product, ProductImage, Sku, StoreListing, StorePrice
from mendian.core.errors import NotFound, ValidationFailed
from mendian.core.money import money
from mendian.core.pagination import (
    clamp_limit,
    decode_cursor,
    decode_int_cursor,
    encode_cursor,
    invalid_cursor,
    newest_first_page,
)
from mendian.core.scope import Actor
from mendian.inventory.selectors import stock_available_for
from mendian.stores.models import Store

SORTS = ("sales", "price", "price_desc", "new")
MAX_QUERY_LENGTH = 50


# --- small shared helpers ---------------------------------------------------------------------
def parse_id(value, *, what: str = "object") -> int:
    """Ids are opaque strings to clients; anything that is not one of ours is simply not found."""
    if isinstance(value, bool):
        raise NotFound(f"No such {what}.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)
    else:
        raise NotFound(f"No such {what}.")
    if number < 1:
        raise NotFound(f"No such {what}.")
    return number


def _reference_id(value, *, field: str, code: str, what: str) -> int:
    """An id named inside a request (a filter or a body field): unknown ones are a 422, not a 404."""
    try:
        return parse_id(value, what=what)
    except NotFound as exc:
        raise ValidationFailed(
            f"No such {what}: {value!r}.",
            code=code,
            errors=[{"loc": field.split("."), "msg": f"unknown {what}"}],
        ) from exc


@lru_cache(maxsize=16384)
def _filesystem_url(base_url: str, name: str) -> str:
    # What FileSystemStorage.url() returns, remembered: lists render dozens per request, and a
    # stored file's name (and so its URL) never changes.
    return base_url + filepath_to_uri(name)


def _media_url(name: str | None) -> str | None:
    if not name:
        return None
    storage = storages["default"]
    if type(storage) is FileSystemStorage:
        return _filesystem_url(storage.base_url, name)
    return storage.url(name)


def _stock_for(store: Store, sku_ids: Iterable[int]) -> dict[int, int]:
    """Units available to sell per SKU at the store, live from inventory (one query); SKUs
    missing from the result have none."""
    return stock_available_for(store_id=store.pk, sku_ids=sku_ids)


# --- categories ----------------------------------------------------------------------------------
def _nest(rows: list[dict], node) -> list[dict]:
    """Rows (already ordered) into a forest; `node(row)` renders one row without its children."""
    rendered = {row["id"]: {**node(row), "children": []} for row in rows}
    roots = []
    for row in rows:
        parent = rendered.get(row["parent_id"]) if row["parent_id"] else None
        (parent["children"] if parent else roots).append(rendered[row["id"]])
    return roots


def category_tree(*, merchant_ids: list[int] | None = None) -> list[dict]:
    """The active categories as a tree `{id, name, icon, merchant_id, children}` (one query).

    `merchant_ids=None` means every active merchant (a multi-brand mall). A category whose parent
    is inactive is hidden with it.
    """
    categories = Category.objects.filter(is_active=True, merchant__is_active=True)
    if merchant_ids is not None:
        categories = categories.filter(merchant_id__in=merchant_ids)
    rows = list(
        categories.order_by("merchant_id", "position", "id").values(
            "id", "name", "icon", "parent_id", "merchant_id"
        )
    )
    active_ids = {row["id"] for row in rows}
    rows = [row for row in rows if row["parent_id"] is None or row["parent_id"] in active_ids]
    return _nest(
        rows,
        lambda row: {
            "id": str(row["id"]),
            "name": row["name"],
            "icon": row["icon"],
            "merchant_id": str(row["merchant_id"]),
        },
    )


def _categories_for_actor(actor: Actor, merchant_id: int | None = None) -> QuerySet:
    categories = actor.scope_merchants(Category.objects.all())
    if merchant_id is not None:
        categories = categories.filter(merchant_id=merchant_id)
    return categories


def category_tree_for_actor(*, actor: Actor, merchant_id: int | None = None) -> list[dict]:
    """HQ's view: every category in scope, active or not, with its product count (one query)."""
    rows = list(
        _categories_for_actor(actor, merchant_id)
        .annotate(product_count=Count("products"))
        .order_by("merchant_id", "position", "id")
        .values("id", "name", "icon", "parent_id", "merchant_id", "position", "is_active", "product_count")
    )
    return _nest(rows, _category_hq_row)


def _category_hq_row(row: dict) -> dict:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "icon": row["icon"],
        "parent_id": str(row["parent_id"]) if row["parent_id"] else None,
        "merchant_id": str(row["merchant_id"]),
        "position": row["position"],
        "is_active": row["is_active"],
        "product_count": row["product_count"],
    }


def category_get_for_actor(*, actor: Actor, category_id) -> Category:
    pk = parse_id(category_id, what="category")
    try:
        return _categories_for_actor(actor).get(pk=pk)
    except Category.DoesNotExist as exc:
        raise NotFound("No such category.") from exc


def category_read(*, category: Category) -> dict:
    row = (
        Category.objects.filter(pk=category.pk)
        .annotate(product_count=Count("products"))
        .values("id", "name", "icon", "parent_id", "merchant_id", "position", "is_active", "product_count")
        .get()
    )
    return _category_hq_row(row)


def _category_parents(merchant_id: int) -> dict[int, int | None]:
    """{category id: parent id} of every category of the merchant (one query)."""
    return dict(Category.objects.filter(merchant_id=merchant_id).values_list("id", "parent_id"))


def _children(parents: dict[int, int | None]) -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id in parents.items():
        children[parent_id].append(pk)
    return children


def _descendants(children: dict[int | None, list[int]], category_id: int) -> list[int]:
    """The category and every category below it."""
    found, frontier = [], [category_id]
    while frontier:
        current = frontier.pop()
        if current in found:
            continue
        found.append(current)
        frontier.extend(children[current])
    return found


def _category_subtrees(merchant_id: int) -> dict[int, list[int]]:
    """{category id: it and every category below it} for every category of the merchant."""
    parents = _category_parents(merchant_id)
    children = _children(parents)
    return {pk: _descendants(children, pk) for pk in parents}


def category_with_descendants(*, merchant_id: int, category_id: int) -> list[int] | None:
    """The category and every category below it (one query), or None when it is not the merchant's."""
    parents = _category_parents(merchant_id)
    if category_id not in parents:
        return None
    return _descendants(_children(parents), category_id)


def _category_filter_ids(merchant_id: int, category_id) -> list[int]:
    """A list filter's categories: the tree comes from the cache, valid until the next catalog write."""
    pk = _reference_id(category_id, field="query.category", code="unknown_category", what="category")
    subtrees = page_cache.by_catalog_version(
        merchant_id, "category-subtrees", lambda: _category_subtrees(merchant_id)
    )
    ids = subtrees.get(pk)
    if ids is None:
        raise ValidationFailed(
            "No such category.",
            code="unknown_category",
            errors=[{"loc": ["query", "category"], "msg": "unknown category"}],
        )
    return ids


# --- search --------------------------------------------------------------------------------------
def _query_text(q: str | None) -> str:
    """The search text, trimmed; `422 query_too_long` past MAX_QUERY_LENGTH characters."""
    q = (q or "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise ValidationFailed(
            f"The search text is longer than {MAX_QUERY_LENGTH} characters.",
            code="query_too_long",
            errors=[{"loc": ["query", "q"], "msg": "too long"}],
        )
    return q


def _search_condition(q: str) -> Q | None:
    """Products matching every word of `q`, or having a SKU whose code or barcode is exactly `q`."""
    q = _query_text(q)
    if not q:
        return None
    exact_code = Exists(
        Sku.objects.filter(product=OuterRef("pk"), is_active=True).filter(Q(sku_code=q) | Q(barcode=q))
    )
    tokens = search.tokenize(q)
    if not tokens:
        return Q(exact_code)
    return Q(exact_code) | search.document_filter(tokens)


def _scanned_barcode(barcode: str) -> str:
    """A barcode to look up: any GTIN length a scanner reads (8 to 14 digits); the check digit is
    not verified here, an unknown code simply matches nothing."""
    barcode = (barcode or "").strip()
    if not (barcode.isascii() and barcode.isdigit() and 8 <= len(barcode) <= 14):
        raise ValidationFailed(
            "A barcode is 8 to 14 digits.",
            code="invalid_barcode",
            errors=[{"loc": ["query", "barcode"], "msg": "invalid barcode"}],
        )
    return barcode


# --- store prices ------------------------------------------------------------------------------
def sku_prices_at(store: Store, skus: Iterable[Sku]) -> dict[int, int]:
    """{sku_id: price in fen} at the store: its override where it has one, else the base price."""
    skus = list(skus)
    overrides = dict(
        StorePrice.objects.filter(store_id=store.pk, sku_id__in=[sku.pk for sku in skus]).values_list(
            "sku_id", "price"
        )
    )
    return {sku.pk: overrides.get(sku.pk, sku.price) for sku in skus}


def _sellable_products(store: Store) -> QuerySet:
    """Products a customer can see at `store`: the merchant's, active, not delisted there."""
    return (
        Product.objects.filter(merchant_id=store.merchant_id, is_active=True)
        .annotate(
            listing_here=FilteredRelation("store_listings", condition=Q(store_listings__store_id=store.pk))
        )
        .filter(Q(listing_here__is_listed__isnull=True) | Q(listing_here__is_listed=True))
    )


# --- keyset pagination ---------------------------------------------------------------------------
def _newest_first_page(qs: QuerySet, *, limit: int, cursor: str | None) -> tuple[list, str | None]:
    """Keyset pages by descending id (ids grow with creation); cursors say `new`."""
    return newest_first_page(qs, limit=limit, cursor=cursor, tag="new")


# --- the store's product list ----------------------------------------------------------------------
def _media_base_json() -> str:
    """The media storage's base URL, escaped for a JSON string: list items' photo URLs are this
    followed by the shelf's URI-encoded file names, which is what `FileSystemStorage.url` builds
    (the storage `config/settings.py` configures; a storage whose URLs are not its base URL and
    the name, signed ones say, would need the list to ask it per photo)."""
    return orjson.dumps(storages["default"].base_url).decode()[1:-1]


def _list_cursor(cursor: str | None, sort: str) -> tuple | int | None:
    """A keyset cursor's (key, id) or (id,), or a relevance cursor's offset."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    ints = values[1:]
    if (
        not values
        or values[0] != sort
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in ints)
    ):
        raise invalid_cursor()
    if sort == "relevance":
        if len(ints) != 1 or ints[0] < 0:
            raise invalid_cursor()
        return ints[0]
    if len(ints) != (1 if store_list.KEYSETS[sort][0] is None else 2):
        raise invalid_cursor()
    return tuple(ints)


def _store_products_page(
    *,
    store: Store,
    category_id=None,
    q: str | None = None,
    barcode: str | None = None,
    sort: str | None = None,
    price_min: int | None = None,
    price_max: int | None = None,
    brand: str | None = None,
    tags: Iterable[str] | None = None,
    limit: int | None = 20,
    cursor: str | None = None,
    in_stock: bool = False,
) -> tuple[list[str], str | None]:
    """The page's items as JSON texts, and the next page's cursor (see `store_products`)."""
    limit = clamp_limit(limit)
    if sort is not None and sort not in SORTS:
        raise ValidationFailed(
            f"sort must be one of {', '.join(SORTS)}.",
            errors=[{"loc": ["query", "sort"], "msg": "unknown sort"}],
        )
    for name, bound in (("price_min", price_min), ("price_max", price_max)):
        if bound is not None and bound < 0:
            raise ValidationFailed(
                f"{name} cannot be negative.", errors=[{"loc": ["query", name], "msg": "negative"}]
            )
    q = _query_text(q)
    filters = store_list.ListFilters(
        category_ids=_category_filter_ids(store.merchant_id, category_id)
        if category_id not in (None, "")
        else None,
        search_tokens=search.tokenize(q) if q else [],
        search_exact=q or None,
        barcode=_scanned_barcode(barcode) if barcode else None,
        brand=(brand or "").strip() or None,
        tags=[tag.strip() for tag in tags or () if tag.strip()],
        price_min=price_min,
        price_max=price_max,
        in_stock=bool(in_stock),
    )
    by_relevance = sort is None and bool(q)
    sort_name = "relevance" if by_relevance else sort or "default"
    position = _list_cursor(cursor, sort_name)
    rows = store_list.product_rows(
        store_id=store.pk,
        media_base=_media_base_json(),
        filters=filters,
        sort=sort_name,
        after=None if by_relevance else position,
        relevance_to=search.normalize(q) if by_relevance else None,
        offset=(position or 0) if by_relevance else 0,
        limit=limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        key, product_id, _ = rows[-1]
        if by_relevance:
            next_cursor = encode_cursor([sort_name, (position or 0) + limit])
        elif store_list.KEYSETS[sort_name][0] is not None:
            next_cursor = encode_cursor([sort_name, key, product_id])
        else:
            next_cursor = encode_cursor([sort_name, product_id])
    return [row[store_list.ITEM_JSON] for row in rows], next_cursor


def store_products(*, store: Store, **query) -> dict:
    """One page of what `store` sells: `{items, next_cursor}`, read from the store's shelf (one
    query, live stock included; the category tree of a category filter comes from the cache).

    Query: category_id, q, barcode, sort, price_min, price_max, brand, tags, limit, cursor,
    in_stock. `available` says whether some active variant can be bought at the store now;
    `in_stock` keeps only such products.

    Prices are the store's (its override, else the base price); `price_from` is the lowest over
    the active variants. Without `sort` the order is relevance for a search, else HQ's shelf order.
    """
    items, next_cursor = _store_products_page(store=store, **query)
    return {"items": [orjson.loads(item) for item in items], "next_cursor": next_cursor}


def store_products_json(*, store: Store, **query) -> bytes:
    """`store_products` as the API's JSON body, joined from the shelf's item texts unparsed."""
    items, next_cursor = _store_products_page(store=store, **query)
    return b'{"items":[' + ",".join(items).encode() + b'],"next_cursor":' + orjson.dumps(next_cursor) + b"}"


# --- one product at a store --------------------------------------------------------------------
def _variants_at(store: Store) -> QuerySet:
    return (
        Sku.objects.filter(is_active=True)
        .annotate(here=FilteredRelation("store_prices", condition=Q(store_prices__store_id=store.pk)))
        .annotate(store_price=F("here__price"), price_here=Coalesce(F("here__price"), F("price")))
        .order_by("position", "pk")
    )


# The order shoppers expect the spec rows in. PostgreSQL's jsonb does not keep the key order a
# product was entered with, so the order cannot come from the stored dict.
SPEC_ORDER = (
    "颜色",
    "颜色分类",
    "款式",
    "尺码",
    "尺寸",
    "规格",
    "型号",
    "容量",
    "重量",
    "口味",
    "包装",
    "套餐",
)


def spec_sort_key(name: str) -> tuple[int, str]:
    return (SPEC_ORDER.index(name) if name in SPEC_ORDER else len(SPEC_ORDER), name)


def spec_options(variants: Iterable[Sku]) -> dict[str, list[str]]:
    """{"颜色": ["红", "蓝"], …}: the specs in `SPEC_ORDER` (others after, by name), each spec's
    values in the order the variants (by position) first use them."""
    options: dict[str, dict[str, None]] = {}
    for variant in variants:
        for name, value in (variant.specs or {}).items():
            options.setdefault(name, {}).setdefault(str(value), None)
    return {name: list(options[name]) for name in sorted(options, key=spec_sort_key)}


def image_row(image: ProductImage) -> dict:
    return {
        "id": str(image.pk),
        "url": _media_url(image.image.name),
        "thumbnail": _media_url(image.thumbnail.name),
        "width": image.width,
        "height": image.height,
    }


def store_product_detail(*, store: Store, product_id) -> dict:
    """A product as sold at `store` (four queries, the variants' live stock last); `404 not_found`
    when it is not sold there."""
    pk = parse_id(product_id, what="product")
    products = (
        _sellable_products(store)
        .select_related("category")
        .prefetch_related(
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk")),
            Prefetch("variants", queryset=_variants_at(store), to_attr="variants_here"),
        )
    )
    try:
        product = products.get(pk=pk)
    except Product.DoesNotExist as exc:
        raise NotFound("No such product at this store.") from exc
    variants = product.variants_here
    stock = _stock_for(store, [variant.pk for variant in variants])
    currency = store.merchant.currency
    images = [image_row(image) for image in product.images.all()]
    return {
        "id": str(product.pk),
        "name": product.name,
        "subtitle": product.subtitle,
        "description": product.description,
        "brand": product.brand,
        "tags": list(product.tags or []),
        "category": {"id": str(product.category_id), "name": product.category.name},
        "images": images,
        "image": images[0]["url"] if images else None,
        "price_from": money(min(v.price_here for v in variants), currency) if variants else None,
        "available": any(stock.get(v.pk, 0) > 0 for v in variants),
        "sales_count": product.sales_count,
        "variants": [
            {
                "sku_id": str(variant.pk),
                "sku_code": variant.sku_code,
                "barcode": variant.barcode,
                "specs": variant.specs or {},
                "price": money(variant.price_here, currency),
                "stock_available": stock.get(variant.pk, 0),
            }
            for variant in variants
        ],
        "spec_options": spec_options(variants),
    }


def sku_lookup_at(*, store: Store, barcode: str) -> dict:
    """The variant a scanned barcode names, as sold at `store` (one query)."""
    barcode = _scanned_barcode(barcode)
    try:
        variant = (
            _variants_at(store)
            .filter(barcode=barcode, merchant_id=store.merchant_id)
            .filter(product__in=_sellable_products(store))
            .select_related("product")
            .get()
        )
    except Sku.DoesNotExist as exc:
        raise NotFound("No product with this barcode at this store.") from exc
    stock = _stock_for(store, [variant.pk])
    return {
        "sku_id": str(variant.pk),
        "sku_code": variant.sku_code,
        "barcode": variant.barcode,
        "specs": variant.specs or {},
        "price": money(variant.price_here, store.merchant.currency),
        "stock_available": stock.get(variant.pk, 0),
        "product": {
            "id": str(variant.product_id),
            "name": variant.product.name,
            "image": _media_url(variant.product.cover_image),
            "thumbnail": _media_url(variant.product.cover_thumbnail),
        },
    }


# --- HQ: products in the actor's scope --------------------------------------------------------------
def _hq_products(actor: Actor) -> QuerySet:
    return actor.scope_merchants(Product.objects.all())


def product_get_for_actor(*, actor: Actor, product_id) -> Product:
    pk = parse_id(product_id, what="product")
    try:
        return _hq_products(actor).select_related("merchant").get(pk=pk)
    except Product.DoesNotExist as exc:
        raise NotFound("No such product.") from exc


def _with_hq_relations(products: QuerySet) -> QuerySet:
    return products.select_related("category", "merchant").prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk")),
        Prefetch("variants", queryset=Sku.objects.order_by("-is_active", "position", "pk")),
    )


def _product_hq_row(product: Product) -> dict:
    currency = product.merchant.currency
    return {
        "id": str(product.pk),
        "merchant_id": str(product.merchant_id),
        "name": product.name,
        "subtitle": product.subtitle,
        "description": product.description,
        "brand": product.brand,
        "tags": list(product.tags or []),
        "category_id": str(product.category_id),
        "category": {"id": str(product.category_id), "name": product.category.name},
        "is_active": product.is_active,
        "position": product.position,
        "sales_count": product.sales_count,
        "min_price": money(product.min_price, currency),
        "images": [{**image_row(image), "position": image.position} for image in product.images.all()],
        "variants": [
            {
                "sku_id": str(variant.pk),
                "sku_code": variant.sku_code,
                "barcode": variant.barcode,
                "specs": variant.specs or {},
                "price": money(variant.price, currency),
                "is_active": variant.is_active,
                "position": variant.position,
            }
            for variant in product.variants.all()
        ],
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def product_read(*, product: Product) -> dict:
    """HQ's full view of one product (four queries)."""
    return _product_hq_row(_with_hq_relations(Product.objects.filter(pk=product.pk)).get())


def products_for_actor(
    *,
    actor: Actor,
    q: str | None = None,
    category_id=None,
    status: str | None = None,
    merchant_id=None,
    limit: int | None = 20,
    cursor: str | None = None,
) -> dict:
    """HQ's product list, newest first: `{items, next_cursor}` (four queries, five with a category)."""
    limit = clamp_limit(limit)
    products = _hq_products(actor)
    if merchant_id not in (None, ""):
        products = products.filter(
            merchant_id=_reference_id(
                merchant_id, field="query.merchant_id", code="unknown_merchant", what="merchant"
            )
        )
    if status not in (None, ""):
        if status not in ("active", "inactive"):
            raise ValidationFailed(
                "status must be active or inactive.",
                errors=[{"loc": ["query", "status"], "msg": "unknown status"}],
            )
        products = products.filter(is_active=status == "active")
    if category_id not in (None, ""):
        pk = _reference_id(category_id, field="query.category", code="unknown_category", what="category")
        try:
            category = actor.scope_merchants(Category.objects.all()).get(pk=pk)
        except Category.DoesNotExist as exc:
            raise ValidationFailed(
                "No such category.",
                code="unknown_category",
                errors=[{"loc": ["query", "category"], "msg": "unknown category"}],
            ) from exc
        ids = category_with_descendants(merchant_id=category.merchant_id, category_id=category.pk)
        products = products.filter(category_id__in=ids)
    condition = _search_condition(q) if q else None
    if condition is not None:
        products = products.filter(condition)
    rows, next_cursor = _newest_first_page(_with_hq_relations(products), limit=limit, cursor=cursor)
    return {"items": [_product_hq_row(row) for row in rows], "next_cursor": next_cursor}


# --- store prices and listings (HQ) --------------------------------------------------------------
def _price_row(sku: Sku, *, base_currency: str, store_price: int | None) -> dict:
    return {
        "sku_id": str(sku.pk),
        "sku_code": sku.sku_code,
        "product_id": str(sku.product_id),
        "product_name": sku.product.name,
        "specs": sku.specs or {},
        "base_price": money(sku.price, base_currency),
        "price": money(store_price if store_price is not None else sku.price, base_currency),
        "overridden": store_price is not None,
    }


def store_prices(*, store: Store, limit: int | None = 20, cursor: str | None = None) -> dict:
    """The store's price overrides, newest SKU first (one query)."""
    limit = clamp_limit(limit)
    values = decode_int_cursor(cursor)
    overrides = StorePrice.objects.filter(store_id=store.pk).select_related("sku__product")
    if values is not None:
        overrides = overrides.filter(sku_id__lt=values[0])
    rows = list(overrides.order_by("-sku_id")[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].sku_id]) if len(rows) > limit else None
    currency = store.merchant.currency
    return {
        "items": [_price_row(row.sku, base_currency=currency, store_price=row.price) for row in rows[:limit]],
        "next_cursor": next_cursor,
    }


def store_prices_of(*, store: Store, sku_ids: list[int]) -> list[dict]:
    """Price rows for the given SKUs at the store, in the given order (one query)."""
    skus = {
        sku.pk: sku
        for sku in Sku.objects.filter(pk__in=sku_ids)
        .select_related("product")
        .annotate(here=FilteredRelation("store_prices", condition=Q(store_prices__store_id=store.pk)))
        .annotate(store_price=F("here__price"))
    }
    currency = store.merchant.currency
    return [
        _price_row(skus[pk], base_currency=currency, store_price=skus[pk].store_price)
        for pk in sku_ids
        if pk in skus
    ]


def _listing_row(listing: StoreListing) -> dict:
    return {
        "product_id": str(listing.product_id),
        "product_name": listing.product.name,
        "listed": listing.is_listed,
        "updated_at": listing.updated_at,
    }


def store_listings(*, store: Store, limit: int | None = 20, cursor: str | None = None) -> dict:
    """The store's listing exceptions (products taken off or explicitly put on its shelves; one query)."""
    limit = clamp_limit(limit)
    values = decode_int_cursor(cursor)
    listings = StoreListing.objects.filter(store_id=store.pk).select_related("product")
    if values is not None:
        listings = listings.filter(product_id__lt=values[0])
    rows = list(listings.order_by("-product_id")[: limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].product_id]) if len(rows) > limit else None
    return {"items": [_listing_row(row) for row in rows[:limit]], "next_cursor": next_cursor}


def store_listings_of(*, store: Store, product_ids: list[int]) -> list[dict]:
    """Listing rows for the given products at the store, in the given order (one query)."""
    rows = {
        row.product_id: row
        for row in StoreListing.objects.filter(store_id=store.pk, product_id__in=product_ids).select_related(
            "product"
        )
    }
    return [_listing_row(rows[pk]) for pk in product_ids if pk in rows]


# --- the store console's catalog ---------------------------------------------------------------------
def store_catalog_for_actor(
    *,
    actor: Actor,
    store: Store,
    q: str | None = None,
    category_id=None,
    limit: int | None = 20,
    cursor: str | None = None,
) -> dict:
    """Every active product of the store's merchant with the store's prices and whether it is on
    sale there (delisted ones too, so a manager can put them back) and each variant's live stock.
    Four queries."""
    actor.require("catalog.read")
    actor.check_store(store)
    limit = clamp_limit(limit)
    products = (
        Product.objects.filter(merchant_id=store.merchant_id, is_active=True)
        .select_related("category")
        .annotate(
            listed_here=Coalesce(
                Subquery(
                    StoreListing.objects.filter(store_id=store.pk, product=OuterRef("pk")).values(
                        "is_listed"
                    )[:1]
                ),
                Value(True),
            ),
        )
        .prefetch_related(Prefetch("variants", queryset=_variants_at(store), to_attr="variants_here"))
    )
    if category_id not in (None, ""):
        products = products.filter(category_id__in=_category_filter_ids(store.merchant_id, category_id))
    condition = _search_condition(q) if q else None
    if condition is not None:
        products = products.filter(condition)
    rows, next_cursor = _newest_first_page(products, limit=limit, cursor=cursor)
    stock = _stock_for(store, [variant.pk for row in rows for variant in row.variants_here])
    currency = store.merchant.currency
    return {
        "items": [
            {
                "id": str(row.pk),
                "name": row.name,
                "thumbnail": _media_url(row.cover_thumbnail),
                "category": {"id": str(row.category_id), "name": row.category.name},
                "listed": row.listed_here,
                "variants": [
                    {
                        "sku_id": str(variant.pk),
                        "sku_code": variant.sku_code,
                        "barcode": variant.barcode,
                        "specs": variant.specs or {},
                        "base_price": money(variant.price, currency),
                        "price": money(variant.price_here, currency),
                        "overridden": variant.store_price is not None,
                        "stock_available": stock.get(variant.pk, 0),
                    }
                    for variant in row.variants_here
                ],
            }
            for row in rows
        ],
        "next_cursor": next_cursor,
    }
