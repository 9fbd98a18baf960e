from django.db import models
from django.db.models import F, Q

from mendian.merchants.models import Merchant
from mendian.stores.models import Store


class Category(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="categories")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    name = models.CharField(max_length=50)
    icon = models.CharField(max_length=16, blank=True, help_text="An emoji shown in the category grid.")
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "parent", "name"], name="category_name_unique_in_parent"
            ),
            models.UniqueConstraint(
                fields=["merchant", "name"],
                condition=Q(parent__isnull=True),
                name="root_category_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """The SPU: what a customer picks. Its variants (SKUs) are what is priced, stocked and sold."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=120)
    subtitle = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=60, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # "|新品|热卖|": the tags in a form every database can filter on exactly (JSON containment is
    # not portable to SQLite). Kept in step with `tags` by the catalog services.
    tag_index = models.TextField(blank=True, default="")
    # Lower-cased name, brand, tags, category and codes, segmented for Chinese: what search matches.
    search_document = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    # Shelf order chosen by HQ: the default order of a store's list (lower first, then newest).
    position = models.PositiveIntegerField(default=0)
    # Denormalised from orders (units sold across stores) for the "sales" sort.
    sales_count = models.PositiveIntegerField(default=0)
    min_price = models.PositiveIntegerField(
        default=0, help_text="fen; the lowest active variant's base price"
    )
    # The first photo's files (storage names), denormalised by the photo services so lists need
    # no per-product lookup. Blank: no photo.
    cover_image = models.CharField(max_length=255, blank=True, default="")
    cover_thumbnail = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "is_active", "category"], name="product_merchant_cat_idx"),
            # The store list's orders (see store_list.KEYSETS), so a page is read in index order.
            models.Index(
                fields=["merchant", "is_active", "-sales_count", "-id"], name="product_sales_order_idx"
            ),
            models.Index(fields=["merchant", "is_active", "position", "-id"], name="product_shelf_order_idx"),
            models.Index(fields=["merchant", "is_active", "-id"], name="product_newest_order_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/%Y/%m/", help_text="WebP, longest side at most 1600 px")
    thumbnail = models.ImageField(upload_to="products/%Y/%m/", help_text="WebP, 400 px square")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class Sku(models.Model):
    """A variant: spec values (颜色/尺码/规格…), codes and the base price in fen."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="skus")
    sku_code = models.CharField(max_length=64)
    barcode = models.CharField(max_length=14, null=True, blank=True)
    specs = models.JSONField(default=dict, blank=True)
    price = models.PositiveIntegerField(help_text="fen")
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku_code"], name="sku_code_unique_per_merchant"),
            models.UniqueConstraint(
                fields=["merchant", "barcode"],
                condition=Q(barcode__isnull=False),
                name="barcode_unique_per_merchant",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="sku_price_non_negative"),
        ]

    def __str__(self) -> str:
        return self.sku_code


class StoreListing(models.Model):
    """An exception to "sold everywhere": a product HQ took off (or put back on) one store's shelves."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="listings")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="store_listings")
    is_listed = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="listing_unique_store_product")
        ]


class StorePrice(models.Model):
    """A store's own price for a variant, replacing the base price there."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="prices")
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="store_prices")
    price = models.PositiveIntegerField(help_text="fen")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="store_price_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="store_price_non_negative"),
        ]


class StoreProductPrice(models.Model):
    """A product's lowest price at one store where some of its variants have a store price.

    Denormalised from `StorePrice` and the variants by the catalog services (in the same
    transaction as the change), so a store's list can filter and sort on its own prices with a
    join instead of a per-product subquery. Products without a row sell from `Product.min_price`.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="store_price_summaries")
    price_from = models.PositiveIntegerField(help_text="fen")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="store_product_price_unique"),
            models.CheckConstraint(condition=Q(price_from__gte=0), name="store_product_price_non_negative"),
        ]


# What a browsing page reads besides an order index's keys: the category and price filters,
# availability and the item. The ascending orders' indexes hold the id negated, so they also
# include the id itself; the price orders have the price as a key.
_SHELF_PAGE = ["category", "price_from", "in_stock", "item"]
_SHELF_PRICED_PAGE = ["category", "in_stock", "item"]


class ShelfItem(models.Model):
    """One product as a store's product list shows it: the storefront's per-store read model.

    Kept by `catalog.shelf` from the catalog, store prices, listings and live stock, in the same
    transaction as each change, so a list page is one index range scan over the store's rows
    instead of joins and stock probes per product. A row exists exactly where the product is sold:
    active, and not delisted at the store.

    `item` is the list item's JSON object without `available`, left open (no closing brace); its
    photo URLs start with `MEDIA_MARK` where the storage's base URL goes. The list query puts the
    current base URL there and appends `available` from `in_stock`, so neither a change of media URL
    nor of stock rewrites it.

    On PostgreSQL the order indexes carry every column a browsing page reads (INCLUDE), so a page
    is an index-only scan: no heap page is visited while the table's visibility map is current,
    which autovacuum keeps it, tuned tighter for this table (migration 0007).
    """

    # No index of its own: every index here starts with the store.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="shelf_items")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    sales_count = models.PositiveIntegerField()
    price_from = models.PositiveIntegerField(help_text="fen; the lowest active variant's price here")
    in_stock = models.BooleanField(help_text="some active variant can be bought here now")
    item = models.TextField()

    # Stands where the media base URL goes in `item`: JSON text never holds a raw control character.
    MEDIA_MARK = "\x01"

    # SQLite has no covering indexes and builds these without INCLUDE (SILENCED_SYSTEM_CHECKS).
    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "product"], name="shelf_item_unique")]
        indexes = [
            # Orders with the key ascending hold the id negated (ids descend within a key): a page
            # after (key, id) is then one row comparison bounding the scan (`catalog.store_list`).
            models.Index(
                F("store"),
                F("position"),
                F("product") * -1,
                name="shelf_default_order_idx",
                include=["product", *_SHELF_PAGE],
            ),
            models.Index(
                F("store"),
                F("price_from"),
                F("product") * -1,
                name="shelf_price_order_idx",
                include=["product", *_SHELF_PRICED_PAGE],
            ),
            models.Index(
                fields=["store", "-price_from", "-product"],
                name="shelf_price_desc_order_idx",
                include=_SHELF_PRICED_PAGE,
            ),
            models.Index(
                fields=["store", "-sales_count", "-product"],
                name="shelf_sales_order_idx",
                include=_SHELF_PAGE,
            ),
            models.Index(
                fields=["store", "-product"],
                name="shelf_new_order_idx",
                include=_SHELF_PAGE,
            ),
        ]
