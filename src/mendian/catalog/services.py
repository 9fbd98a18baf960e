"""Every catalog write: categories, products and their variants and photos, store prices and listings.

Each service checks the actor's capability and scope, validates everything before it writes, runs
in one transaction, keeps what is denormalised for the storefront in step (a product's `min_price`,
`search_document`, `tag_index` and cover photo; each store's `StoreProductPrice`), and bumps the
merchant's catalog version so cached store pages show the change at once.
"""

import base64
import binascii
import io
import re
from collections import defaultdict
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from mendian.catalog import search, shelf
from mendian.catalog.barcodes import barcode_check
from mendian.catalog.cache import catalog_version_bump
from mendian.catalog.images import ProcessedImage, process_image
from mendian.catalog.models import (
    Category,
    Product,
    ProductImage,
    Sku,
    StoreListing,
    StorePrice,
    StoreProductPrice,
)
from mendian.catalog.selectors import category_with_descendants, parse_id
from mendian.core.errors import Conflict, NotFound, ValidationFailed
from mendian.core.money import Money
from mendian.core.scope import Actor
from mendian.merchants.models import Merchant
from mendian.stores.models import Store

MAX_VARIANTS = 100
MAX_IMAGES = 15
MAX_TAGS = 20
MAX_SPECS = 6
MAX_BATCH = 500
# PositiveIntegerField's ceiling on every database: 21,474,836.47 yuan.
MAX_PRICE_FEN = 2_147_483_647
SKU_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


# --- validation helpers ------------------------------------------------------------------------
def _invalid(detail: str, loc: list, *, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(detail, code=code, errors=[{"loc": loc, "msg": detail}])


def _text(value, loc: list, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(f"{loc[-1]} must be text.", loc)
    value = value.strip()
    if required and not value:
        raise _invalid(f"{loc[-1]} is required.", loc)
    if len(value) > max_length:
        raise _invalid(f"{loc[-1]} is longer than {max_length} characters.", loc)
    return value


def _position(value, loc: list) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        raise _invalid("position must be an integer from 0 to 1000000.", loc)
    return value


def _tags(value, loc: list) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise _invalid("tags must be a list of text.", loc)
    tags: dict[str, None] = {}
    for index, tag in enumerate(value):
        tag = _text(tag, [*loc, index], max_length=20, required=True)
        if "|" in tag:
            raise _invalid("A tag cannot contain '|'.", [*loc, index])
        tags.setdefault(tag, None)
    if len(tags) > MAX_TAGS:
        raise _invalid(f"At most {MAX_TAGS} tags.", loc)
    return list(tags)


def _tag_index(tags: list[str]) -> str:
    return f"|{'|'.join(tags)}|" if tags else ""


def _price_fen(price, merchant: Merchant, loc: list) -> int:
    """A Money (dataclass, schema or dict) in the merchant's currency, as integer fen."""
    if isinstance(price, dict):
        amount, currency = price.get("amount"), price.get("currency", merchant.currency)
    else:
        amount, currency = getattr(price, "amount", None), getattr(price, "currency", None)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise _invalid("price.amount must be an integer number of fen.", [*loc, "amount"])
    if amount < 0:
        raise _invalid("A price cannot be negative.", [*loc, "amount"])
    if amount > MAX_PRICE_FEN:
        raise _invalid(f"A price is at most {MAX_PRICE_FEN} fen.", [*loc, "amount"])
    if currency != merchant.currency:
        raise _invalid(
            f"Prices of this merchant are in {merchant.currency}, not {currency}.",
            [*loc, "currency"],
            code="currency_mismatch",
        )
    return amount


def _specs(value, loc: list) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid("specs must be an object of name: value.", loc)
    if len(value) > MAX_SPECS:
        raise _invalid(f"At most {MAX_SPECS} specs per variant.", loc)
    specs = {}
    for name, spec_value in value.items():
        name = _text(name, [*loc, str(name)], max_length=20, required=True)
        if isinstance(spec_value, int | float) and not isinstance(spec_value, bool):
            spec_value = str(spec_value)
        specs[name] = _text(spec_value, [*loc, name], max_length=40, required=True)
    return specs


def _clean_variants(variants, merchant: Merchant) -> list[dict]:
    loc = ["body", "variants"]
    if not isinstance(variants, list | tuple) or not variants:
        raise _invalid("A product needs at least one variant.", loc, code="variants_required")
    if len(variants) > MAX_VARIANTS:
        raise _invalid(f"At most {MAX_VARIANTS} variants per product.", loc)
    cleaned, codes, barcodes, spec_sets = [], set(), set(), set()
    for index, raw in enumerate(variants):
        here = [*loc, index]
        if not isinstance(raw, dict):
            raise _invalid("Each variant is an object.", here)
        sku_code = _text(raw.get("sku_code"), [*here, "sku_code"], max_length=64, required=True)
        if not SKU_CODE_RE.match(sku_code):
            raise _invalid(
                "sku_code is letters, digits, '.', '_', '/' or '-', starting with a letter or digit.",
                [*here, "sku_code"],
            )
        barcode = raw.get("barcode")
        barcode = None if barcode in (None, "") else barcode_check(barcode, loc=[*here, "barcode"])
        specs = _specs(raw.get("specs"), [*here, "specs"])
        if "price" not in raw or raw["price"] is None:
            raise _invalid("Each variant needs a price.", [*here, "price"])
        price = _price_fen(raw["price"], merchant, [*here, "price"])
        if sku_code in codes:
            raise Conflict(f"sku_code {sku_code} appears twice in this request.", code="sku_code_taken")
        if barcode and barcode in barcodes:
            raise Conflict(f"barcode {barcode} appears twice in this request.", code="barcode_taken")
        spec_key = tuple(sorted(specs.items()))
        if spec_key in spec_sets:
            raise _invalid("Two variants have the same specs.", [*here, "specs"], code="duplicate_specs")
        codes.add(sku_code)
        spec_sets.add(spec_key)
        if barcode:
            barcodes.add(barcode)
        cleaned.append(
            {"sku_code": sku_code, "barcode": barcode, "specs": specs, "price": price, "position": index}
        )
    return cleaned


def _check_codes_free(merchant_id: int, variants: list[dict], product: Product | None = None) -> None:
    """sku_code and barcode are unique per merchant; a product's own variants keep theirs."""
    codes = [variant["sku_code"] for variant in variants]
    taken = Sku.objects.filter(merchant_id=merchant_id, sku_code__in=codes)
    if product is not None:
        taken = taken.exclude(product=product)
    clash = taken.values_list("sku_code", flat=True).first()
    if clash:
        raise Conflict(f"sku_code {clash} is already used by another product.", code="sku_code_taken")
    wanted = {variant["barcode"]: variant["sku_code"] for variant in variants if variant["barcode"]}
    for barcode, sku_code in Sku.objects.filter(merchant_id=merchant_id, barcode__in=wanted).values_list(
        "barcode", "sku_code"
    ):
        if product is None or wanted[barcode] != sku_code:
            raise Conflict(f"barcode {barcode} is already used by SKU {sku_code}.", code="barcode_taken")


def _integrity_conflict(exc: IntegrityError) -> Conflict:
    """A unique constraint lost a race with a concurrent write: the same answer the pre-check gives."""
    message = str(exc).lower()
    if "barcode" in message:
        return Conflict("A barcode in this request is already used.", code="barcode_taken")
    if "sku_code" in message:
        return Conflict("A sku_code in this request is already used.", code="sku_code_taken")
    if "category" in message:
        return Conflict("A category of that name already exists there.", code="category_name_taken")
    return Conflict("This change conflicts with existing data.")


def _category_in_scope(actor: Actor, category_id, loc: list, *, merchant_id: int | None = None) -> Category:
    try:
        pk = parse_id(category_id, what="category")
        categories = actor.scope_merchants(Category.objects.select_related("merchant"))
        if merchant_id is not None:
            categories = categories.filter(merchant_id=merchant_id)
        return categories.get(pk=pk)
    except (NotFound, Category.DoesNotExist) as exc:
        raise _invalid("No such category.", loc, code="unknown_category") from exc


# --- photos on disk --------------------------------------------------------------------------------
def _decode_inline_image(value, loc: list) -> ProcessedImage:
    """`images` in a product body: base64, optionally as a data: URL."""
    if not isinstance(value, str):
        raise _invalid("Each image is a base64 string or a data: URL.", loc, code="invalid_image")
    payload = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid("The image is not valid base64.", loc, code="invalid_image") from exc
    return process_image(io.BytesIO(raw))


def _save_images(
    product: Product, processed: Iterable[ProcessedImage], first_position: int, saved: list
) -> list:
    images = []
    for offset, item in enumerate(processed):
        image = ProductImage(
            product=product, width=item.width, height=item.height, position=first_position + offset
        )
        image.image.save(item.image.name, item.image, save=False)
        saved.append(image.image.name)
        image.thumbnail.save(item.thumbnail.name, item.thumbnail, save=False)
        saved.append(image.thumbnail.name)
        image.save()
        images.append(image)
    return images


def _refresh_cover(product: Product) -> None:
    """The product's cover: its first photo by position (denormalised for lists)."""
    first = (
        ProductImage.objects.filter(product_id=product.pk)
        .order_by("position", "pk")
        .values_list("image", "thumbnail")
        .first()
    )
    product.cover_image, product.cover_thumbnail = first or ("", "")
    Product.objects.filter(pk=product.pk).update(
        cover_image=product.cover_image, cover_thumbnail=product.cover_thumbnail, updated_at=timezone.now()
    )


def _delete_files(names: Iterable[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


# --- denormalised columns -----------------------------------------------------------------------
def _refresh_product(product: Product, *, categories_by_id: dict | None = None) -> None:
    """min_price, search_document and tag_index from the product's current rows (not saved here)."""
    variants = [variant for variant in product.variants.all() if variant.is_active]
    product.min_price = min((variant.price for variant in variants), default=0)
    category = categories_by_id[product.category_id] if categories_by_id else product.category
    product.search_document = search.product_document(
        product,
        category_names=search.category_path_names(category, categories_by_id),
        sku_codes=[variant.sku_code for variant in variants],
    )
    product.tag_index = _tag_index(list(product.tags or []))


def _refresh_store_price_summaries(
    *, product_ids: Iterable[int], store_ids: Iterable[int] | None = None
) -> None:
    """Recompute `StoreProductPrice` for these products (at these stores, or wherever they have
    store prices): the lowest of each active variant's store price, else its base price.

    Callers hold the products' row locks, so concurrent writes to one product's prices serialise.
    """
    product_ids = list(product_ids)
    skus = list(
        Sku.objects.filter(product_id__in=product_ids, is_active=True).values_list(
            "pk", "product_id", "price"
        )
    )
    overrides = StorePrice.objects.filter(sku__product_id__in=product_ids)
    summaries = StoreProductPrice.objects.filter(product_id__in=product_ids)
    if store_ids is not None:
        store_ids = list(store_ids)
        overrides = overrides.filter(store_id__in=store_ids)
        summaries = summaries.filter(store_id__in=store_ids)
    base_price = {sku_id: price for sku_id, _, price in skus}
    product_of = {sku_id: product_id for sku_id, product_id, _ in skus}
    skus_of: dict[int, list[int]] = defaultdict(list)
    for sku_id, product_id, _ in skus:
        skus_of[product_id].append(sku_id)
    # (store, product) -> {sku: store price}, active variants only: overrides on inactive variants
    # do not count, so such a product sells from its base `min_price` again.
    overridden: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for store_id, sku_id, price in overrides.values_list("store_id", "sku_id", "price"):
        if sku_id in product_of:
            overridden[(store_id, product_of[sku_id])][sku_id] = price
    wanted = {
        (store_id, product_id): min(prices.get(sku_id, base_price[sku_id]) for sku_id in skus_of[product_id])
        for (store_id, product_id), prices in overridden.items()
    }
    existing = {(row.store_id, row.product_id): row for row in summaries}
    stale = [row.pk for key, row in existing.items() if key not in wanted]
    if stale:
        StoreProductPrice.objects.filter(pk__in=stale).delete()
    changed = []
    for key, price in wanted.items():
        row = existing.get(key)
        if row is not None and row.price_from != price:
            row.price_from = price
            changed.append(row)
    if changed:
        StoreProductPrice.objects.bulk_update(changed, ["price_from"])
    StoreProductPrice.objects.bulk_create(
        StoreProductPrice(store_id=store_id, product_id=product_id, price_from=price)
        for (store_id, product_id), price in wanted.items()
        if (store_id, product_id) not in existing
    )


def _refresh_documents_under(category: Category) -> None:
    """A renamed or moved category changes the search words of every product below it."""
    categories_by_id = Category.objects.filter(merchant_id=category.merchant_id).in_bulk()
    subtree = category_with_descendants(merchant_id=category.merchant_id, category_id=category.pk) or []
    products = list(Product.objects.filter(category_id__in=subtree).prefetch_related("variants"))
    for product in products:
        _refresh_product(product, categories_by_id=categories_by_id)
    Product.objects.bulk_update(products, ["search_document"], batch_size=200)


# --- categories --------------------------------------------------------------------------------
def category_create(*, actor: Actor, data: dict, merchant_id: int | None = None) -> Category:
    """`data`: name, parent_id?, icon?, position?. A root category lands in the actor's merchant
    (a platform admin names one with `merchant_id`); a child in its parent's."""
    actor.require("catalog.manage")
    name = _text(data.get("name"), ["body", "name"], max_length=50, required=True)
    icon = _text(data.get("icon"), ["body", "icon"], max_length=16)
    position = _position(data.get("position"), ["body", "position"])
    parent = None
    if data.get("parent_id") not in (None, ""):
        parent = _category_in_scope(actor, data["parent_id"], ["body", "parent_id"])
        merchant_id = parent.merchant_id
    else:
        merchant_id = actor.effective_merchant_id(merchant_id)
        actor.check_merchant(merchant_id)
        if not Merchant.objects.filter(pk=merchant_id).exists():
            raise NotFound("No such merchant.")
    if Category.objects.filter(merchant_id=merchant_id, parent=parent, name=name).exists():
        raise Conflict(f"A category named {name} already exists there.", code="category_name_taken")
    try:
        with transaction.atomic():
            category = Category.objects.create(
                merchant_id=merchant_id, parent=parent, name=name, icon=icon, position=position
            )
            catalog_version_bump(merchant_id)
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from exc
    return category


def _would_cycle(category: Category, new_parent: Category) -> bool:
    below = category_with_descendants(merchant_id=category.merchant_id, category_id=category.pk) or []
    return new_parent.pk in below


def category_update(*, actor: Actor, category: Category, data: dict) -> Category:
    """PATCH: only the keys present in `data` change (name, icon, position, parent_id; null = root)."""
    actor.require("catalog.manage")
    actor.check_merchant(category.merchant_id)
    renamed_or_moved = False
    if "name" in data:
        name = _text(data["name"], ["body", "name"], max_length=50, required=True)
        renamed_or_moved |= name != category.name
        category.name = name
    if "icon" in data:
        category.icon = _text(data["icon"], ["body", "icon"], max_length=16)
    if "position" in data:
        category.position = _position(data["position"], ["body", "position"])
    if "parent_id" in data:
        parent = None
        if data["parent_id"] not in (None, ""):
            parent = _category_in_scope(
                actor, data["parent_id"], ["body", "parent_id"], merchant_id=category.merchant_id
            )
            if _would_cycle(category, parent):
                raise _invalid(
                    "A category cannot be placed under itself or its own subcategory.",
                    ["body", "parent_id"],
                    code="category_cycle",
                )
        renamed_or_moved |= (parent.pk if parent else None) != category.parent_id
        category.parent = parent
    if (
        Category.objects.filter(
            merchant_id=category.merchant_id, parent_id=category.parent_id, name=category.name
        )
        .exclude(pk=category.pk)
        .exists()
    ):
        raise Conflict(f"A category named {category.name} already exists there.", code="category_name_taken")
    try:
        with transaction.atomic():
            category.save()
            if renamed_or_moved:
                _refresh_documents_under(category)
            catalog_version_bump(category.merchant_id)
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from exc
    return category


def category_delete(*, actor: Actor, category: Category) -> None:
    actor.require("catalog.manage")
    actor.check_merchant(category.merchant_id)
    with transaction.atomic():
        locked = Category.objects.select_for_update().get(pk=category.pk)
        if locked.children.exists() or locked.products.exists():
            raise Conflict("Move or delete its subcategories and products first.", code="category_not_empty")
        locked.delete()
        catalog_version_bump(category.merchant_id)


# --- products ----------------------------------------------------------------------------------
def _product_fields(data: dict, *, partial: bool) -> dict:
    """The plain fields present in `data`, validated."""
    fields = {}
    specs = {
        "name": lambda v: _text(v, ["body", "name"], max_length=120, required=True),
        "subtitle": lambda v: _text(v, ["body", "subtitle"], max_length=200),
        "description": lambda v: _text(v, ["body", "description"], max_length=20000),
        "brand": lambda v: _text(v, ["body", "brand"], max_length=60),
        "tags": lambda v: _tags(v, ["body", "tags"]),
        "position": lambda v: _position(v, ["body", "position"]),
    }
    for key, clean in specs.items():
        if key in data:
            fields[key] = clean(data[key])
        elif not partial and key == "name":
            fields[key] = clean(None)
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise _invalid("is_active must be true or false.", ["body", "is_active"])
        fields["is_active"] = data["is_active"]
    return fields


def product_create(*, actor: Actor, data: dict) -> Product:
    """`data`: name, category_id, variants [{sku_code, barcode?, specs, price}], and optionally
    subtitle, description, brand, tags, position, is_active, images (base64 or data: URLs).
    The product belongs to its category's merchant."""
    actor.require("catalog.manage")
    if data.get("category_id") in (None, ""):
        raise _invalid("category_id is required.", ["body", "category_id"])
    fields = _product_fields(data, partial=False)
    category = _category_in_scope(actor, data["category_id"], ["body", "category_id"])
    merchant = category.merchant
    variants = _clean_variants(data.get("variants"), merchant)
    raw_images = data.get("images") or []
    if not isinstance(raw_images, list) or len(raw_images) > MAX_IMAGES:
        raise _invalid(f"images is a list of at most {MAX_IMAGES} images.", ["body", "images"])
    processed = [_decode_inline_image(value, ["body", "images", i]) for i, value in enumerate(raw_images)]
    _check_codes_free(merchant.pk, variants)

    saved_files: list[str] = []
    try:
        with transaction.atomic():
            product = Product(merchant=merchant, category=category, **fields)
            product.min_price = min(variant["price"] for variant in variants)
            product.tag_index = _tag_index(product.tags or [])
            product.search_document = search.product_document(
                product, sku_codes=[variant["sku_code"] for variant in variants]
            )
            product.save()
            Sku.objects.bulk_create(
                Sku(product=product, merchant=merchant, **variant) for variant in variants
            )
            if processed:
                _save_images(product, processed, 0, saved_files)
                _refresh_cover(product)
            shelf.refresh(merchant_id=merchant.pk, product_ids=[product.pk])
            catalog_version_bump(merchant.pk)
    except IntegrityError as exc:
        _delete_files(saved_files)
        raise _integrity_conflict(exc) from exc
    except BaseException:
        _delete_files(saved_files)
        raise
    return product


def _apply_variants(product: Product, variants: list[dict]) -> None:
    """Upsert by sku_code; variants not named any more are deactivated (orders keep pointing at them)."""
    existing = {sku.sku_code: sku for sku in Sku.objects.select_for_update().filter(product=product)}
    requested = {variant["sku_code"] for variant in variants}
    to_update, to_create = [], []
    for sku_code, sku in existing.items():
        if sku_code not in requested and sku.is_active:
            sku.is_active = False
            to_update.append(sku)
    for variant in variants:
        sku = existing.get(variant["sku_code"])
        if sku is None:
            to_create.append(Sku(product=product, merchant_id=product.merchant_id, **variant))
            continue
        for key in ("barcode", "specs", "price", "position"):
            setattr(sku, key, variant[key])
        sku.is_active = True
        to_update.append(sku)
    if to_update:
        Sku.objects.bulk_update(to_update, ["barcode", "specs", "price", "position", "is_active"])
    if to_create:
        Sku.objects.bulk_create(to_create)


def product_update(*, actor: Actor, product: Product, data: dict) -> Product:
    """PATCH: only the keys present in `data` change. `variants`, when given, is the full list."""
    actor.require("catalog.manage")
    actor.check_merchant(product.merchant_id)
    merchant = Merchant.objects.get(pk=product.merchant_id)
    fields = _product_fields(data, partial=True)
    category = None
    if "category_id" in data:
        category = _category_in_scope(
            actor, data["category_id"], ["body", "category_id"], merchant_id=product.merchant_id
        )
    variants = None
    if "variants" in data:
        variants = _clean_variants(data["variants"], merchant)
        _check_codes_free(merchant.pk, variants, product=product)
    try:
        with transaction.atomic():
            product = Product.objects.select_for_update().get(pk=product.pk)
            for key, value in fields.items():
                setattr(product, key, value)
            if category is not None:
                product.category = category
            if variants is not None:
                _apply_variants(product, variants)
                _refresh_store_price_summaries(product_ids=[product.pk])
            _refresh_product(product)
            product.save()
            shelf.refresh(merchant_id=product.merchant_id, product_ids=[product.pk])
            catalog_version_bump(product.merchant_id)
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from exc
    return product


# --- product photos --------------------------------------------------------------------------------
def product_image_add(*, actor: Actor, product: Product, upload) -> ProductImage:
    """Verify and convert an uploaded photo (see `images.process_image`) and append it."""
    actor.require("catalog.manage")
    actor.check_merchant(product.merchant_id)
    return product_image_add_processed(actor=actor, product=product, processed=process_image(upload))


def product_image_add_processed(*, actor: Actor, product: Product, processed: ProcessedImage) -> ProductImage:
    """Append a photo already converted by `images.process_image` or `images.image_from_pil`
    (generated pictures, such as the demo's)."""
    actor.require("catalog.manage")
    actor.check_merchant(product.merchant_id)
    saved_files: list[str] = []
    try:
        with transaction.atomic():
            locked = Product.objects.select_for_update().get(pk=product.pk)
            if locked.images.count() >= MAX_IMAGES:
                raise Conflict(f"A product has at most {MAX_IMAGES} photos.", code="too_many_images")
            last = locked.images.aggregate(last=Max("position"))["last"]
            (image,) = _save_images(locked, [processed], 0 if last is None else last + 1, saved_files)
            _refresh_cover(locked)
            shelf.refresh(merchant_id=product.merchant_id, product_ids=[product.pk])
            catalog_version_bump(product.merchant_id)
    except BaseException:
        _delete_files(saved_files)
        raise
    return image


def product_image_remove(*, actor: Actor, image: ProductImage) -> None:
    actor.require("catalog.manage")
    product = Product.objects.get(pk=image.product_id)
    actor.check_merchant(product.merchant_id)
    files = [image.image.name, image.thumbnail.name]
    with transaction.atomic():
        image.delete()
        _refresh_cover(product)
        shelf.refresh(merchant_id=product.merchant_id, product_ids=[product.pk])
        catalog_version_bump(product.merchant_id)
        transaction.on_commit(lambda: _delete_files(files))


def product_image_reorder(*, actor: Actor, product: Product, image_ids: list) -> list[ProductImage]:
    """`image_ids` must name each of the product's photos exactly once, in the new order."""
    actor.require("catalog.manage")
    actor.check_merchant(product.merchant_id)
    with transaction.atomic():
        images = {
            image.pk: image for image in ProductImage.objects.select_for_update().filter(product=product)
        }
        wanted = [str(value) for value in image_ids]
        if sorted(wanted) != sorted(str(pk) for pk in images) or len(set(wanted)) != len(wanted):
            raise _invalid(
                "image_ids must list each of the product's photos exactly once.",
                ["body", "image_ids"],
                code="invalid_image_order",
            )
        ordered = [images[int(pk)] for pk in wanted]
        for position, image in enumerate(ordered):
            image.position = position
        ProductImage.objects.bulk_update(ordered, ["position"])
        _refresh_cover(product)
        shelf.refresh(merchant_id=product.merchant_id, product_ids=[product.pk])
        catalog_version_bump(product.merchant_id)
    return ordered


# --- store prices ----------------------------------------------------------------------------------
def _check_store_write(actor: Actor, store: Store, capability: str) -> None:
    actor.require(capability)
    actor.check_store(store)


def _lock_products(product_ids: Iterable[int]) -> None:
    """Row locks in primary-key order: writers of one product's prices take turns, never deadlock."""
    list(
        Product.objects.select_for_update().filter(pk__in=list(product_ids)).order_by("pk").values_list("pk")
    )


def store_price_set(*, actor: Actor, store: Store, sku: Sku, price: Money) -> StorePrice:
    """The store sells `sku` at `price` instead of the base price."""
    _check_store_write(actor, store, "prices.manage")
    if sku.merchant_id != store.merchant_id:
        raise NotFound("No such SKU.")
    amount = _price_fen(price, store.merchant, ["body", "price"])
    with transaction.atomic():
        _lock_products([sku.product_id])
        store_price, _ = StorePrice.objects.update_or_create(store=store, sku=sku, defaults={"price": amount})
        _refresh_store_price_summaries(product_ids=[sku.product_id], store_ids=[store.pk])
        shelf.refresh(merchant_id=store.merchant_id, product_ids=[sku.product_id], store_ids=[store.pk])
        catalog_version_bump(store.merchant_id)
    return store_price


def store_price_clear(*, actor: Actor, store: Store, sku: Sku) -> None:
    """Back to the base price at this store."""
    _check_store_write(actor, store, "prices.manage")
    if sku.merchant_id != store.merchant_id:
        raise NotFound("No such SKU.")
    with transaction.atomic():
        _lock_products([sku.product_id])
        StorePrice.objects.filter(store=store, sku=sku).delete()
        _refresh_store_price_summaries(product_ids=[sku.product_id], store_ids=[store.pk])
        shelf.refresh(merchant_id=store.merchant_id, product_ids=[sku.product_id], store_ids=[store.pk])
        catalog_version_bump(store.merchant_id)


def _batch(entries, loc: list) -> list:
    if not isinstance(entries, list | tuple) or not entries:
        raise _invalid("Send at least one entry.", loc)
    if len(entries) > MAX_BATCH:
        raise _invalid(f"At most {MAX_BATCH} entries per request.", loc)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _invalid("Each entry is an object.", [*loc, index])
    return list(entries)


def _batch_ids(entries: list, key: str, loc: list, what: str) -> list[int]:
    ids = []
    for index, entry in enumerate(entries):
        try:
            ids.append(parse_id(entry.get(key), what=what))
        except NotFound as exc:
            raise _invalid(f"No such {what}.", [*loc, index, key], code=f"unknown_{what}") from exc
    if len(set(ids)) != len(ids):
        raise _invalid(f"A {what} appears twice.", loc, code=f"duplicate_{what}")
    return ids


def store_prices_apply(*, actor: Actor, store: Store, entries: list[dict]) -> list[int]:
    """Several overrides at once, all or nothing: `[{sku_id, price: Money | None}]` (None clears).
    Returns the SKU ids in request order."""
    _check_store_write(actor, store, "prices.manage")
    loc = ["body", "prices"]
    entries = _batch(entries, loc)
    sku_ids = _batch_ids(entries, "sku_id", loc, "sku")
    product_of = dict(
        Sku.objects.filter(pk__in=sku_ids, merchant_id=store.merchant_id).values_list("pk", "product_id")
    )
    for index, pk in enumerate(sku_ids):
        if pk not in product_of:
            raise _invalid("No such SKU.", [*loc, index, "sku_id"], code="unknown_sku")
    amounts = {}
    for index, (pk, entry) in enumerate(zip(sku_ids, entries, strict=True)):
        price = entry.get("price")
        amounts[pk] = None if price is None else _price_fen(price, store.merchant, [*loc, index, "price"])
    with transaction.atomic():
        product_ids = sorted(set(product_of.values()))
        _lock_products(product_ids)
        cleared = [pk for pk, amount in amounts.items() if amount is None]
        if cleared:
            StorePrice.objects.filter(store=store, sku_id__in=cleared).delete()
        existing = {
            row.sku_id: row
            for row in StorePrice.objects.select_for_update().filter(store=store, sku_id__in=amounts)
        }
        changed, created = [], []
        now = timezone.now()
        for pk, amount in amounts.items():
            if amount is None:
                continue
            if pk in existing:
                existing[pk].price = amount
                existing[pk].updated_at = now
                changed.append(existing[pk])
            else:
                created.append(StorePrice(store=store, sku_id=pk, price=amount))
        if changed:
            StorePrice.objects.bulk_update(changed, ["price", "updated_at"])
        if created:
            StorePrice.objects.bulk_create(created)
        _refresh_store_price_summaries(product_ids=product_ids, store_ids=[store.pk])
        shelf.refresh(merchant_id=store.merchant_id, product_ids=product_ids, store_ids=[store.pk])
        catalog_version_bump(store.merchant_id)
    return sku_ids


# --- store listings --------------------------------------------------------------------------------
def store_listing_set(*, actor: Actor, store: Store, product: Product, listed: bool) -> StoreListing:
    """Take a product off one store's shelves (`listed=False`) or put it back. Store managers may do
    this at their own store; HQ at any of its merchant's."""
    _check_store_write(actor, store, "store.listings")
    if product.merchant_id != store.merchant_id:
        raise NotFound("No such product.")
    if not isinstance(listed, bool):
        raise _invalid("listed must be true or false.", ["body", "listed"])
    with transaction.atomic():
        listing, _ = StoreListing.objects.update_or_create(
            store=store, product=product, defaults={"is_listed": listed}
        )
        shelf.refresh(merchant_id=store.merchant_id, product_ids=[product.pk], store_ids=[store.pk])
        catalog_version_bump(store.merchant_id)
    return listing


def store_listings_apply(*, actor: Actor, store: Store, entries: list[dict]) -> list[int]:
    """Several listings at once, all or nothing: `[{product_id, listed}]`. Returns the product ids."""
    _check_store_write(actor, store, "store.listings")
    loc = ["body", "listings"]
    entries = _batch(entries, loc)
    product_ids = _batch_ids(entries, "product_id", loc, "product")
    known = set(
        Product.objects.filter(pk__in=product_ids, merchant_id=store.merchant_id).values_list("pk", flat=True)
    )
    wanted = {}
    for index, (pk, entry) in enumerate(zip(product_ids, entries, strict=True)):
        if pk not in known:
            raise _invalid("No such product.", [*loc, index, "product_id"], code="unknown_product")
        if not isinstance(entry.get("listed"), bool):
            raise _invalid("listed must be true or false.", [*loc, index, "listed"])
        wanted[pk] = entry["listed"]
    with transaction.atomic():
        existing = {
            row.product_id: row
            for row in StoreListing.objects.select_for_update().filter(store=store, product_id__in=wanted)
        }
        changed = []
        now = timezone.now()
        for pk, row in existing.items():
            row.is_listed = wanted[pk]
            row.updated_at = now
            changed.append(row)
        if changed:
            StoreListing.objects.bulk_update(changed, ["is_listed", "updated_at"])
        StoreListing.objects.bulk_create(
            StoreListing(store=store, product_id=pk, is_listed=listed)
            for pk, listed in wanted.items()
            if pk not in existing
        )
        shelf.refresh(merchant_id=store.merchant_id, product_ids=product_ids, store_ids=[store.pk])
        catalog_version_bump(store.merchant_id)
    return product_ids
