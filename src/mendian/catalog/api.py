"""Catalog endpoints: the storefront's (consumer), the store console's (staff) and HQ's. Thin: parse,
call one selector or service, render."""

from types import SimpleNamespace
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from ninja import File, Query, Router, Status, UploadedFile
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ValidationError as PydanticValidationError

from mendian.catalog import cache as page_cache
from mendian.catalog import schemas, selectors, services
from mendian.catalog.models import ProductImage
from mendian.core.errors import NotFound, ValidationFailed
from mendian.merchants.selectors import merchant_code, merchant_context
from mendian.stores.selectors import parse_store_id, store_for_staff, store_get_for_actor, store_public_get

consumer = Router(tags=["catalog"])
staff = Router(tags=["catalog"])
hq = Router(tags=["catalog"])

CACHEABLE_PARAMS = frozenset({"category", "sort", "limit"})
# (scope, raw query string) -> the page's cache key or None: a pure function of the two, so a
# cached page is found without parsing the query or hashing its canonical form again.
_BROWSE_KEYS: dict[tuple[str, str], str | None] = {}
_BROWSE_KEYS_MAX = 4096


def _json_bytes(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="application/json; charset=utf-8")


def _split_tags(tags: list[str] | None) -> list[str]:
    return [tag.strip() for value in tags or [] for tag in value.split(",") if tag.strip()]


# --- consumer ------------------------------------------------------------------------------------
@consumer.get("/categories", response=schemas.CategoryTree, summary="The category tree")
def categories(request):
    merchant = merchant_context(request)
    tree = selectors.category_tree(merchant_ids=[merchant.pk] if merchant else None)
    return {"items": tree, "next_cursor": None}


def _cacheable_browse_key(scope: str, query) -> str | None:
    """The cache key of a browsing first page (at most a category, a sort and a limit, each in its
    canonical spelling), else None. Only such pages are cached: they take nearly all the traffic,
    and their few combinations cannot flood the cache the way free-text filters could."""
    if not set(query) <= CACHEABLE_PARAMS or any(len(query.getlist(name)) != 1 for name in query):
        return None
    category, sort, limit = query.get("category"), query.get("sort"), query.get("limit")
    if category is not None and not (category.isascii() and category.isdigit() and category[0] != "0"):
        return None
    if sort is not None and sort not in selectors.SORTS:
        return None
    if limit is not None and not (
        limit.isascii() and limit.isdigit() and limit[0] != "0" and int(limit) <= 100
    ):
        return None
    return page_cache.page_cache_key(scope, {"category": category, "sort": sort, "limit": limit})


def _browse_key(scope: str, request) -> str | None:
    raw = request.META.get("QUERY_STRING", "")
    if raw.startswith("cursor=") or "&cursor=" in raw:
        # A later page, never cached: every one has a query string of its own, which would only
        # churn the memo, and the query need not be parsed to know.
        return None
    memo = (scope, raw)
    try:
        return _BROWSE_KEYS[memo]
    except KeyError:
        pass
    key = _cacheable_browse_key(scope, request.GET)
    if len(_BROWSE_KEYS) >= _BROWSE_KEYS_MAX:
        _BROWSE_KEYS.clear()
    _BROWSE_KEYS[memo] = key
    return key


# The query's integers as clients send them: plain digits, which pydantic reads as `int()` does.
_INT_PARAMS = ("price_min", "price_max", "limit")
_MAX_PLAIN_INT_DIGITS = 18


def _plain_int(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= _MAX_PLAIN_INT_DIGITS


def _query_fields(request) -> dict:
    """The query's StoreProductsQuery fields as `request.GET` has them: each one's last value, every
    value of `tags`. An ASCII query string (what clients send: the rest is percent-encoded) is read
    by `parse_qsl` itself, as QueryDict does but without building one."""
    fields = schemas.StoreProductsQuery.model_fields
    raw = request.META.get("QUERY_STRING", "")
    max_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if (
        "GET" in request.__dict__
        or request.encoding is not None
        or not raw.isascii()
        or (max_fields is not None and raw.count("&") >= max_fields)
    ):
        data = {name: request.GET[name] for name in fields if name in request.GET}
        if "tags" in request.GET:
            data["tags"] = request.GET.getlist("tags")
        return data
    data, tags = {}, []
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if name in fields:
            data[name] = value
            if name == "tags":
                tags.append(value)
    if tags:
        data["tags"] = tags
    return data


_QUERY_DEFAULTS = {
    name: field.get_default(call_default_factory=True)
    for name, field in schemas.StoreProductsQuery.model_fields.items()
}


def _store_products_query(request) -> schemas.StoreProductsQuery | SimpleNamespace:
    data = _query_fields(request)
    if "tags" in data:
        data["tags"] = _split_tags(data["tags"])
    if all(_plain_int(data[name]) for name in _INT_PARAMS if name in data):
        # Nothing left for the model to check (every other field is any text): skip validating.
        for name in _INT_PARAMS:
            if name in data:
                data[name] = int(data[name])
        # What model_construct would build (every field, defaults for the absent), as a plain
        # object: the handler only reads its attributes.
        return SimpleNamespace(**{**_QUERY_DEFAULTS, **data})
    try:
        return schemas.StoreProductsQuery.model_validate(data)
    except PydanticValidationError as exc:
        raise NinjaValidationError(
            [{"loc": ["query", *error["loc"]], "msg": error["msg"]} for error in exc.errors()]
        ) from exc


@consumer.get(
    "/stores/{store_id}/products",
    response=schemas.ProductPage,
    summary="A store's products",
    openapi_extra={"parameters": schemas.openapi_query_parameters(schemas.StoreProductsQuery)},
)
def store_products(request, store_id: str):
    # The storefront's hottest request. Its query is parsed here, after the cache lookup, so a
    # cached first page costs no parsing at all (only pages of validated queries are cached).
    pk = parse_store_id(store_id)
    scope = f"{pk}:{merchant_code(request)}"
    key = _browse_key(scope, request)
    if key is not None:
        body = page_cache.page_get(key, store_id=pk)
        if body is not None:
            return _json_bytes(body)
    query = _store_products_query(request)
    store = page_cache.public_store(
        scope, lambda: store_public_get(store_id=pk, merchant=merchant_context(request))
    )
    version = page_cache.page_version(store.merchant_id, store.pk) if key else None
    body = selectors.store_products_json(
        store=store,
        category_id=query.category,
        q=query.q,
        barcode=query.barcode,
        sort=query.sort,
        price_min=query.price_min,
        price_max=query.price_max,
        brand=query.brand,
        tags=query.tags,
        limit=query.limit,
        cursor=query.cursor,
    )
    if key is not None:
        page_cache.page_set(key, store_id=pk, merchant_id=store.merchant_id, version=version, body=body)
    return _json_bytes(body)


@csrf_exempt
def store_products_direct(request, store_id: str):
    """`store_products`, routed by Django straight to the handler (config/urls.py) ahead of the
    consumer API's route for the same path, which stays for the OpenAPI document.

    Ninja's per-request work (finding the operation, a provisional response, validating the path
    parameter into a model) cost about a tenth of a page read from the database, and this handler
    parses its own path and query. Errors go through the consumer API's own handlers and other
    methods get the 405 ninja gives (which ApiErrorMiddleware turns into problem+json for both),
    so every reply is what the ninja route would give.
    """
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"], content=b"Method not allowed")
    try:
        return store_products(request, store_id)
    except Exception as exc:  # handed to the API's exception handlers, as ninja does
        from mendian.config.api import consumer_api

        return consumer_api.on_exception(request, exc)


@consumer.get(
    "/stores/{store_id}/products/{product_id}",
    response=schemas.ProductAtStore,
    summary="A product at a store",
)
def store_product(request, store_id: str, product_id: str):
    store = store_public_get(store_id=store_id, merchant=merchant_context(request))
    return selectors.store_product_detail(store=store, product_id=product_id)


@consumer.get("/skus/lookup", response=schemas.SkuAtStore, summary="Find a variant by its barcode at a store")
def sku_lookup(request, barcode: str, store_id: str):
    store = store_public_get(store_id=store_id, merchant=merchant_context(request))
    return selectors.sku_lookup_at(store=store, barcode=barcode)


# --- HQ: categories ------------------------------------------------------------------------------
def _merchant_param(merchant_id: str | None) -> int | None:
    """Platform admins name the merchant they work on; everyone else works on their own."""
    if merchant_id in (None, ""):
        return None
    try:
        return selectors.parse_id(merchant_id, what="merchant")
    except NotFound as exc:
        raise ValidationFailed(
            "No such merchant.",
            code="unknown_merchant",
            errors=[{"loc": ["query", "merchant_id"], "msg": "unknown merchant"}],
        ) from exc


@hq.post("/categories", response={201: schemas.CategoryRead}, summary="Create a category")
def category_create(request, payload: schemas.CategoryCreate, merchant_id: str | None = None):
    category = services.category_create(
        actor=request.auth, data=payload.model_dump(), merchant_id=_merchant_param(merchant_id)
    )
    return Status(201, selectors.category_read(category=category))


@hq.get("/categories", response=schemas.CategoryHqTree, summary="Every category, as a tree")
def category_list(request, merchant_id: str | None = None):
    tree = selectors.category_tree_for_actor(actor=request.auth, merchant_id=_merchant_param(merchant_id))
    return {"items": tree, "next_cursor": None}


@hq.get("/categories/{category_id}", response=schemas.CategoryRead)
def category_get(request, category_id: str):
    category = selectors.category_get_for_actor(actor=request.auth, category_id=category_id)
    return selectors.category_read(category=category)


@hq.patch("/categories/{category_id}", response=schemas.CategoryRead)
def category_update(request, category_id: str, payload: schemas.CategoryUpdate):
    category = selectors.category_get_for_actor(actor=request.auth, category_id=category_id)
    category = services.category_update(
        actor=request.auth, category=category, data=payload.model_dump(exclude_unset=True)
    )
    return selectors.category_read(category=category)


@hq.delete("/categories/{category_id}", response={204: None})
def category_delete(request, category_id: str):
    category = selectors.category_get_for_actor(actor=request.auth, category_id=category_id)
    services.category_delete(actor=request.auth, category=category)
    return Status(204, None)


# --- HQ: products --------------------------------------------------------------------------------
@hq.post("/products", response={201: schemas.ProductRead}, summary="Create a product with its variants")
def product_create(request, payload: schemas.ProductCreate):
    product = services.product_create(actor=request.auth, data=payload.model_dump())
    return Status(201, selectors.product_read(product=product))


@hq.get("/products", response=schemas.ProductReadPage, summary="Products, newest first")
def product_list(
    request,
    q: str | None = None,
    category: str | None = None,
    status: str | None = Query(None, description="active or inactive"),
    merchant_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
):
    return selectors.products_for_actor(
        actor=request.auth,
        q=q,
        category_id=category,
        status=status,
        merchant_id=merchant_id,
        limit=limit,
        cursor=cursor,
    )


@hq.get("/products/{product_id}", response=schemas.ProductRead)
def product_get(request, product_id: str):
    product = selectors.product_get_for_actor(actor=request.auth, product_id=product_id)
    return selectors.product_read(product=product)


@hq.patch("/products/{product_id}", response=schemas.ProductRead)
def product_update(request, product_id: str, payload: schemas.ProductUpdate):
    product = selectors.product_get_for_actor(actor=request.auth, product_id=product_id)
    product = services.product_update(
        actor=request.auth, product=product, data=payload.model_dump(exclude_unset=True)
    )
    return selectors.product_read(product=product)


@hq.post("/products/{product_id}/images", response={201: schemas.HqImageRead}, summary="Upload a photo")
def product_image_add(request, product_id: str, file: File[UploadedFile]):
    product = selectors.product_get_for_actor(actor=request.auth, product_id=product_id)
    image = services.product_image_add(actor=request.auth, product=product, upload=file)
    return Status(201, {**selectors.image_row(image), "position": image.position})


def _image_of(product, image_id: str) -> ProductImage:
    pk = selectors.parse_id(image_id, what="image")
    try:
        return ProductImage.objects.get(pk=pk, product=product)
    except ProductImage.DoesNotExist as exc:
        raise NotFound("No such image.") from exc


@hq.delete("/products/{product_id}/images/{image_id}", response={204: None})
def product_image_remove(request, product_id: str, image_id: str):
    product = selectors.product_get_for_actor(actor=request.auth, product_id=product_id)
    services.product_image_remove(actor=request.auth, image=_image_of(product, image_id))
    return Status(204, None)


@hq.put("/products/{product_id}/images", response=schemas.HqImagePage, summary="Reorder the photos")
def product_image_reorder(request, product_id: str, payload: schemas.ImageOrder):
    product = selectors.product_get_for_actor(actor=request.auth, product_id=product_id)
    images = services.product_image_reorder(actor=request.auth, product=product, image_ids=payload.image_ids)
    return {"items": [{**selectors.image_row(image), "position": image.position} for image in images]}


# --- HQ: store prices and listings ---------------------------------------------------------------
@hq.get("/stores/{store_id}/prices", response=schemas.StorePricePage, summary="A store's price overrides")
def store_prices(request, store_id: str, limit: int | None = None, cursor: str | None = None):
    store = store_get_for_actor(actor=request.auth, store_id=store_id)
    return selectors.store_prices(store=store, limit=limit, cursor=cursor)


@hq.put("/stores/{store_id}/prices", response=schemas.StorePricePage, summary="Set or clear store prices")
def store_prices_put(request, store_id: str, payload: schemas.StorePricesPut):
    store = store_get_for_actor(actor=request.auth, store_id=store_id)
    sku_ids = services.store_prices_apply(
        actor=request.auth, store=store, entries=payload.model_dump()["prices"]
    )
    return {"items": selectors.store_prices_of(store=store, sku_ids=sku_ids), "next_cursor": None}


@hq.get(
    "/stores/{store_id}/listings", response=schemas.StoreListingPage, summary="A store's listing exceptions"
)
def store_listings(request, store_id: str, limit: int | None = None, cursor: str | None = None):
    store = store_get_for_actor(actor=request.auth, store_id=store_id)
    return selectors.store_listings(store=store, limit=limit, cursor=cursor)


def _listings_put(request, store_id: str, payload: schemas.StoreListingsPut):
    store = store_get_for_actor(actor=request.auth, store_id=store_id)
    product_ids = services.store_listings_apply(
        actor=request.auth, store=store, entries=payload.model_dump()["listings"]
    )
    return {"items": selectors.store_listings_of(store=store, product_ids=product_ids), "next_cursor": None}


hq.put("/stores/{store_id}/listings", response=schemas.StoreListingPage, summary="List or delist products")(
    _listings_put
)


# --- staff (store console) ---------------------------------------------------------------------
@staff.get("/products", response=schemas.StoreCatalogPage, summary="The store's catalog with its prices")
def staff_products(
    request,
    store_id: str | None = None,
    q: str | None = None,
    category: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
):
    actor = request.auth
    store = store_for_staff(actor=actor, store_id=store_id)
    return selectors.store_catalog_for_actor(
        actor=actor, store=store, q=q, category_id=category, limit=limit, cursor=cursor
    )


staff.put(
    "/stores/{store_id}/listings",
    response=schemas.StoreListingPage,
    summary="List or delist products at one's own store (store managers)",
)(_listings_put)
