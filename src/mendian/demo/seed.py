"""Writes the demo chain through the domain services, so every derived column (search documents,
minimum prices, password hashes, encrypted phones, WebP images) is computed the way the product
computes it.

Idempotent: every object is found by its code (merchant code, store code, category name under its
parent, sku code, opening-stock event id, username, phone) and created only when missing; what
exists is left as it is, so a demo operator's own edits survive a restart. Two things are brought
back to the demo's promise on every run, because the walkthrough depends on them: one store is
closed *today* (today moves), and every demo login works with the demo password.

Where this module writes rows itself, it says why at the spot: product pictures (the catalog's
own `image_from_pil`, run in parallel), the starting `sales_count`, demo customers' nicknames,
and the two-letter `hq` login.
"""

import datetime as dt
import os
import random
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mendian.accounts import services as account_services
from mendian.accounts.models import Staff
from mendian.catalog import services as catalog_services
from mendian.catalog import shelf
from mendian.catalog.barcodes import ean13_complete
from mendian.catalog.images import ProcessedImage, image_from_pil
from mendian.catalog.models import Category, Product, ProductImage, Sku, StoreListing, StorePrice
from mendian.checkout.selectors import CheckoutInput
from mendian.checkout.services import address_create
from mendian.core.scope import Actor, Role
from mendian.demo import data
from mendian.demo.images import ProductArt, draw_product_image
from mendian.inventory.models import MovementSource, StockLevel, StockMovement
from mendian.inventory.services import stock_apply_pos_events, stock_thresholds_set
from mendian.members.services import membership_get_or_create
from mendian.merchants.models import Merchant
from mendian.merchants.services import merchant_create
from mendian.orders import services as order_services
from mendian.orders.models import FulfilmentType, Order, OrderStatus
from mendian.payments import services as payment_services
from mendian.stores import services as store_services
from mendian.stores.hours import store_local_today
from mendian.stores.models import SpecialDay, Store, StoreStatus

# GS1 assigns 690-699 to China; the demo's made-up manufacturers live there.
CHINA_GS1_PREFIX = "69"


# --- codes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedVariant:
    sku_code: str
    barcode: str
    specs: dict[str, str]
    price: int


@dataclass(frozen=True)
class PlannedProduct:
    """A product seed with its codes worked out and its category resolved."""

    seed: data.ProductSeed
    code: str  # <prefix><root><leaf><item>, e.g. XL020101
    root: data.RootCategory
    leaf: data.LeafCategory
    variants: tuple[PlannedVariant, ...]
    position: int

    @property
    def first_sku_code(self) -> str:
        return self.variants[0].sku_code


def demo_barcode(brand: str, root_no: int, leaf_no: int, item_no: int, variant_no: int) -> str:
    """A valid EAN-13 under the Chinese prefix: 69, three digits of the brand, then the product's
    place in the category tree. The place is unique within a merchant, so the barcode is too."""
    if not (root_no < 100 and leaf_no < 100 and item_no < 100 and variant_no < 10):
        raise ValueError("The demo barcode scheme has room for 99 categories, 99 items and 9 variants.")
    brand_digits = zlib.crc32(brand.encode()) % 1000
    return ean13_complete(
        f"{CHINA_GS1_PREFIX}{brand_digits:03d}{root_no:02d}{leaf_no:02d}{item_no:02d}{variant_no:d}"
    )


def plan_products(merchant_seed: data.MerchantSeed) -> list[PlannedProduct]:
    """Sku codes and barcodes from each product's place: root and leaf category number and its
    position among that leaf's products. Appending a product to a leaf never renumbers another."""
    leaves = {
        leaf.name: (root_no, root, leaf_no, leaf)
        for root_no, root in enumerate(merchant_seed.categories, start=1)
        for leaf_no, leaf in enumerate(root.children, start=1)
    }
    items_in_leaf: Counter[str] = Counter()
    planned = []
    for position, seed in enumerate(merchant_seed.products):
        if seed.category not in leaves:
            raise ValueError(f"{seed.name}: unknown category {seed.category}")
        root_no, root, leaf_no, leaf = leaves[seed.category]
        items_in_leaf[seed.category] += 1
        item_no = items_in_leaf[seed.category]
        code = f"{merchant_seed.sku_prefix}{root_no:02d}{leaf_no:02d}{item_no:02d}"
        variants = tuple(
            PlannedVariant(
                sku_code=f"{code}-{variant_no:02d}",
                barcode=demo_barcode(seed.brand, root_no, leaf_no, item_no, variant_no),
                specs=dict(variant.specs),
                price=variant.price,
            )
            for variant_no, variant in enumerate(seed.variants, start=1)
        )
        planned.append(PlannedProduct(seed, code, root, leaf, variants, position))
    return planned


def demo_sales_count(planned: PlannedProduct) -> int:
    """Units sold so far, stable per product: best sellers in the thousands, new lines in the tens."""
    rng = random.Random(zlib.crc32(planned.code.encode()))  # noqa: S311 - demo numbers, not secrets
    tags = set(planned.seed.tags)
    if "热销" in tags:
        return rng.randint(3000, 15000)
    if "新品" in tags:
        return rng.randint(20, 400)
    if tags & {"本地特产", "本地品牌"}:
        return rng.randint(800, 5000)
    return rng.randint(60, 2500)


def product_description(planned: PlannedProduct, merchant_seed: data.MerchantSeed) -> str:
    seed = planned.seed
    options = "、".join(" ".join(variant.specs.values()) for variant in planned.variants)
    lead = f"{seed.subtitle}。" if seed.subtitle else ""
    return (
        f"{lead}{seed.brand}{seed.name}，可选：{options}。"
        f"{merchant_seed.brand_name}门店有售，支持到店自提，部分门店提供配送到家。"
    )


def product_art(planned: PlannedProduct) -> ProductArt:
    seed = planned.seed
    return ProductArt(
        name=seed.name,
        brand=seed.brand,
        brand_latin=data.BRAND_LATIN.get(seed.brand, planned.code),
        code=planned.code,
        caption=seed.subtitle or (seed.tags[0] if seed.tags else planned.root.name),
        shape=planned.leaf.shape,
        colour=seed.colour or planned.root.colour,
    )


def processed_picture(art: ProductArt) -> ProcessedImage:
    """The drawn picture through the catalog's image pipeline (no database access: thread-safe)."""
    return image_from_pil(draw_product_image(art))


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def next_occurrence(month: int, day: int, today: dt.date) -> dt.date:
    """This year's date when it is still ahead (or today), else next year's."""
    this_year = dt.date(today.year, month, day)
    return this_year if this_year >= today else dt.date(today.year + 1, month, day)


def spec_label(specs: dict[str, str]) -> str:
    """How the data module names a variant: its spec values joined by a space."""
    return " ".join(specs.values())


def opening_stock(store_code: str, variant: PlannedVariant) -> int:
    """Units on the shelf when the demo opens, stable per store and SKU: dear goods by the few,
    drinks by the case; about one in twenty-five sold out and one in twenty running low, so the
    storefront shows 缺货 and the consoles show low-stock alerts."""
    rng = random.Random(zlib.crc32(f"{store_code}:{variant.sku_code}".encode()))  # noqa: S311 - demo numbers
    roll = rng.random()
    if roll < 0.04:
        return 0
    if roll < 0.09:
        return rng.randint(1, 3)
    if variant.price >= 10000:
        return rng.randint(3, 10)
    if variant.price >= 3000:
        return rng.randint(8, 30)
    return rng.randint(15, 90)


def sold_out_history(store_code: str, variant: PlannedVariant) -> int:
    """Units a sold-out SKU was received in and then sold, so its level exists at zero with a
    ledger behind it (the consoles list it as out of stock, the storefront shows 缺货)."""
    rng = random.Random(zlib.crc32(f"sold-out:{store_code}:{variant.sku_code}".encode()))  # noqa: S311
    return rng.randint(3, 12)


OPENING_STOCK_EVENT = "demo-opening:"  # + sku code: one POS receipt per store and SKU
SOLD_OUT_EVENT = "demo-sold-out:"  # + sku code: the sale that emptied the shelf
POS_BATCH = 1000

# Low-stock thresholds HQ has set: (store code, product name, threshold). Best sellers at the
# flagship, so its console shows a few alerts beside those of the merchant default.
DEMO_THRESHOLDS = (
    ("jianghan-lu", "农夫山泉饮用天然水", 30),
    ("jianghan-lu", "蔡林记热干面", 15),
    ("jianghan-lu", "周黑鸭锁鲜鸭脖", 12),
    ("jianghan-lu", "汉口二厂汽水", 25),
    ("hankou-station", "农夫山泉饮用天然水", 40),
)

# The demo's orders, at the flagship store (open around the clock): (note, fulfilment, customer
# phone, how far it has gone). Found again by their note, so a second run places none.
DEMO_ORDER_STORE = "jianghan-lu"
DEMO_ORDERS = (
    ("演示订单·待备货自提单", "pickup", "13800000001", "paid"),
    ("演示订单·待自提单", "pickup", "13800000002", "ready_for_pickup"),
    ("演示订单·已完成自提单", "pickup", "13800000001", "completed"),
    ("演示订单·配送中外卖单", "delivery", "13800000002", "out_for_delivery"),
)


# --- the run ------------------------------------------------------------------------------------------


@dataclass
class SeedReport:
    # What this run wrote, by kind in the singular ("store", "SKU"…).
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    today: dt.date | None = None
    closed_today: list[Store] = field(default_factory=list)
    paused: list[Store] = field(default_factory=list)
    merchants: dict[str, Merchant] = field(default_factory=dict)
    elapsed_seconds: float = 0.0


@dataclass
class SeededMerchant:
    """One merchant as this run found or created it."""

    seed: data.MerchantSeed
    merchant: Merchant
    actor: Actor
    stores: dict[str, Store]
    planned: list[PlannedProduct]
    products: dict[str, Product]  # by product code


class DemoSeeder:
    """One run of the seed. `draw_images=False` skips product pictures (tests of everything else)."""

    def __init__(self, *, draw_images: bool = True):
        self.platform = Actor.system()
        self.draw_images = draw_images
        self.report = SeedReport()

    def run(self) -> SeedReport:
        started = time.perf_counter()
        with transaction.atomic():
            seeded = [self.merchant_with_catalog(merchant_seed) for merchant_seed in data.MERCHANTS]
            # Pictures are drawn and encoded in worker threads while this thread writes the opening
            # stock, so the two biggest jobs of a first run overlap instead of queueing.
            with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 1))) as pool:
                try:
                    pictures = (
                        [self.start_pictures(pool, item) for item in seeded] if self.draw_images else []
                    )
                    for item in seeded:
                        self.opening_stock(item)
                    for item, pending in zip(seeded, pictures, strict=False):
                        self.store_pictures(item, *pending)
                except BaseException:
                    # A failure or Ctrl-C: do not draw the rest of the pictures before stopping.
                    pool.shutdown(cancel_futures=True)
                    raise
            fresh = next(item for item in seeded if item.seed.code == data.FRESH.code)
            self.thresholds(fresh)
            self.staff()
            self.customers()
            self.orders(fresh)
        codes = [merchant_seed.code for merchant_seed in data.MERCHANTS]
        self.report.paused = list(Store.objects.filter(merchant__code__in=codes, status=StoreStatus.PAUSED))
        self.report.elapsed_seconds = time.perf_counter() - started
        return self.report

    def merchant_with_catalog(self, merchant_seed: data.MerchantSeed) -> SeededMerchant:
        merchant = self.merchant(merchant_seed)
        self.report.merchants[merchant_seed.code] = merchant
        actor = Actor.system(merchant_id=merchant.pk)
        stores = self.stores(merchant, merchant_seed, actor)
        self.special_days(merchant_seed, stores, actor)
        categories = self.categories(merchant, merchant_seed, actor)
        planned = plan_products(merchant_seed)
        products = self.products(merchant, merchant_seed, planned, categories, actor)
        item = SeededMerchant(merchant_seed, merchant, actor, stores, planned, products)
        self.store_prices(item)
        self.delistings(item)
        return item

    # merchants and stores -------------------------------------------------------------------------
    def merchant(self, seed: data.MerchantSeed) -> Merchant:
        merchant = Merchant.objects.filter(code=seed.code).first()
        if merchant is not None:
            return merchant
        self.report.created["merchant"] += 1
        return merchant_create(
            actor=self.platform,
            code=seed.code,
            name=seed.name,
            brand_name=seed.brand_name,
            timezone="Asia/Shanghai",
            currency="CNY",
            settings=dict(seed.settings),
        )

    def stores(self, merchant: Merchant, seed: data.MerchantSeed, actor: Actor) -> dict[str, Store]:
        existing = {
            store.code: store for store in Store.objects.filter(merchant=merchant).select_related("merchant")
        }
        stores = {}
        for store_seed in seed.stores:
            store = existing.get(store_seed.code)
            if store is None:
                store = store_services.store_create(actor=actor, data=self.store_data(store_seed, merchant))
                self.report.created["store"] += 1
            stores[store_seed.code] = store
        return stores

    @staticmethod
    def store_data(seed: data.StoreSeed, merchant: Merchant) -> dict:
        """The HQ API's store shape."""
        body = {
            "code": seed.code,
            "name": seed.name,
            "city": data.CITY,
            "district": seed.district,
            "address": f"{data.CITY}{seed.district}{seed.address}",
            "lat": seed.lat,
            "lng": seed.lng,
            "phone": seed.phone,
            "intro": seed.intro,
            "opening_hours": [
                {"weekday": weekday, "open": opens, "close": closes}
                for weekday, opens, closes in data.WEEKLY_HOURS[seed.hours]
            ],
            "pickup_enabled": True,
            "pickup_prep_minutes": seed.prep_minutes,
            "delivery_enabled": seed.delivery is not None,
        }
        if seed.delivery is not None:
            body["delivery"] = {
                "radius_m": seed.delivery.radius_m,
                "fee": money(seed.delivery.fee, merchant.currency),
                "free_over": money(seed.delivery.free_over, merchant.currency),
                "min_order": money(seed.delivery.min_order, merchant.currency),
            }
        if seed.paused:
            body["status"] = StoreStatus.PAUSED
        return body

    def special_days(self, seed: data.MerchantSeed, stores: dict[str, Store], actor: Actor) -> None:
        """Today's holiday closure (moved to the new today on a later run) and the yearly days of
        extended hours (their next occurrence)."""
        if seed.closed_today_store is not None:
            closed_store = stores[seed.closed_today_store]
            today = store_local_today(closed_store)
            self.report.today = today
            self.report.closed_today.append(closed_store)
            if not SpecialDay.objects.filter(store=closed_store, date=today, closed=True).exists():
                store_services.special_day_set(
                    actor=actor, store=closed_store, date=today, closed=True, note=data.CLOSED_TODAY_NOTE
                )
                self.report.created["holiday closure"] += 1
        for extended in seed.extended_hours:
            store = stores[extended.store_code]
            day = next_occurrence(extended.month, extended.day, store_local_today(store))
            if SpecialDay.objects.filter(store=store, date=day).exists():
                continue
            store_services.special_day_set(
                actor=actor,
                store=store,
                date=day,
                closed=False,
                opens=extended.opens,
                closes=extended.closes,
                note=extended.note,
            )
            self.report.created["day of extended hours"] += 1

    # catalog -------------------------------------------------------------------------------------------
    def categories(self, merchant: Merchant, seed: data.MerchantSeed, actor: Actor) -> dict[str, Category]:
        """Every category of the tree by name (names are unique within the demo's trees)."""
        existing = {(c.parent_id, c.name): c for c in Category.objects.filter(merchant=merchant)}
        by_name: dict[str, Category] = {}

        def ensure(name: str, icon: str, position: int, parent: Category | None) -> Category:
            category = existing.get((parent.pk if parent else None, name))
            if category is None:
                body = {"name": name, "icon": icon, "position": position}
                if parent is not None:
                    body["parent_id"] = parent.pk
                category = catalog_services.category_create(actor=actor, data=body, merchant_id=merchant.pk)
                self.report.created["category"] += 1
            return category

        for root_position, root in enumerate(seed.categories):
            root_category = ensure(root.name, root.icon, root_position, None)
            by_name[root.name] = root_category
            for leaf_position, leaf in enumerate(root.children):
                by_name[leaf.name] = ensure(leaf.name, leaf.icon, leaf_position, root_category)
        return by_name

    def products(
        self,
        merchant: Merchant,
        seed: data.MerchantSeed,
        planned: list[PlannedProduct],
        categories: dict[str, Category],
        actor: Actor,
    ) -> dict[str, Product]:
        """Products by code; an existing product is found by its first sku code."""
        first_codes = [item.first_sku_code for item in planned]
        existing = {
            sku.sku_code: sku.product
            for sku in Sku.objects.filter(merchant=merchant, sku_code__in=first_codes).select_related(
                "product"
            )
        }
        products = {}
        for item in planned:
            product = existing.get(item.first_sku_code)
            if product is None:
                body = self.product_data(item, seed, merchant, categories[item.seed.category])
                product = catalog_services.product_create(actor=actor, data=body)
                # Units sold come from orders; the demo starts with a history, so it sets the
                # denormalised counter once, when it creates the product.
                Product.objects.filter(pk=product.pk).update(sales_count=demo_sales_count(item))
                shelf.refresh(merchant_id=merchant.pk, product_ids=[product.pk])
                self.report.created["product"] += 1
                self.report.created["SKU"] += len(item.variants)
            products[item.code] = product
        return products

    @staticmethod
    def product_data(
        item: PlannedProduct, seed: data.MerchantSeed, merchant: Merchant, category: Category
    ) -> dict:
        """The HQ API's product shape."""
        return {
            "name": item.seed.name,
            "category_id": category.pk,
            "subtitle": item.seed.subtitle,
            "description": product_description(item, seed),
            "brand": item.seed.brand,
            "tags": list(item.seed.tags),
            "position": item.position,
            "variants": [
                {
                    "sku_code": variant.sku_code,
                    "barcode": variant.barcode,
                    "specs": variant.specs,
                    "price": money(variant.price, merchant.currency),
                }
                for variant in item.variants
            ],
        }

    def store_prices(self, item: SeededMerchant) -> None:
        if not item.seed.store_prices:
            return
        sku_codes = {
            (planned.seed.name, spec_label(variant.specs)): variant.sku_code
            for planned in item.planned
            for variant in planned.variants
        }
        skus = {
            sku.sku_code: sku
            for sku in Sku.objects.filter(merchant=item.merchant, sku_code__in=sku_codes.values())
        }
        overridden = set(
            StorePrice.objects.filter(store__in=item.stores.values()).values_list("store_id", "sku__sku_code")
        )
        for override in item.seed.store_prices:
            store = item.stores[override.store_code]
            sku = skus[sku_codes[(override.product_name, override.spec)]]
            if (store.pk, sku.sku_code) in overridden:
                continue
            catalog_services.store_price_set(
                actor=item.actor, store=store, sku=sku, price=money(override.price, item.merchant.currency)
            )
            self.report.created["store price"] += 1

    def delistings(self, item: SeededMerchant) -> None:
        by_name = {planned.seed.name: item.products[planned.code] for planned in item.planned}
        decided = set(
            StoreListing.objects.filter(store__in=item.stores.values()).values_list("store_id", "product_id")
        )
        for delisting in item.seed.delistings:
            store, product = item.stores[delisting.store_code], by_name[delisting.product_name]
            if (store.pk, product.pk) in decided:
                continue
            catalog_services.store_listing_set(actor=item.actor, store=store, product=product, listed=False)
            self.report.created["delisting"] += 1

    # pictures --------------------------------------------------------------------------------------------
    def start_pictures(
        self, pool: ThreadPoolExecutor, item: SeededMerchant
    ) -> tuple[list[PlannedProduct], Iterator[ProcessedImage]]:
        """Queues a drawn picture for every product that has none yet. Each goes through the
        catalog's own image pipeline (`image_from_pil`: a WebP display image and a square
        thumbnail) in a worker thread: its WebP encoding is most of the seed's time and releases
        the GIL. `product_image_add` would encode one picture at a time, after a PNG round trip."""
        with_pictures = set(
            ProductImage.objects.filter(product__in=item.products.values()).values_list(
                "product_id", flat=True
            )
        )
        missing = [planned for planned in item.planned if item.products[planned.code].pk not in with_pictures]
        return missing, pool.map(processed_picture, [product_art(planned) for planned in missing])

    def store_pictures(
        self, item: SeededMerchant, missing: list[PlannedProduct], converted: Iterator[ProcessedImage]
    ) -> None:
        """Files and rows on this thread, which owns the database connection, through the catalog's
        own service: it sets the product's cover (the lists' picture) and moves the catalog version."""
        for planned, processed in zip(missing, converted, strict=True):
            catalog_services.product_image_add_processed(
                actor=item.actor, product=item.products[planned.code], processed=processed
            )
            self.report.created["product image"] += 1

    # stock ------------------------------------------------------------------------------------------------
    def opening_stock(self, item: SeededMerchant) -> None:
        """A POS receipt per store and SKU, through the inventory's POS service: each is a ledger
        movement keyed by its event id, so a repeat is a duplicate and changes nothing. Receipts
        already recorded are not even sent again. Delisted products get none at that store."""
        delisted = {(d.store_code, d.product_name) for d in item.seed.delistings}
        received = set(
            StockMovement.objects.filter(store__in=item.stores.values(), source=MovementSource.POS)
            .filter(Q(source_id__startswith=OPENING_STOCK_EVENT) | Q(source_id__startswith=SOLD_OUT_EVENT))
            .values_list("store_id", "source_id")
        )
        now = timezone.now()
        occurred_at = now.isoformat()
        # A sold-out SKU was received this morning and sold out an hour ago.
        received_at = (now - dt.timedelta(hours=3)).isoformat()
        sold_at = (now - dt.timedelta(hours=1)).isoformat()
        events = []
        for store_code, store in item.stores.items():
            for planned in item.planned:
                if (store_code, planned.seed.name) in delisted:
                    continue
                for variant in planned.variants:
                    event_id = f"{OPENING_STOCK_EVENT}{variant.sku_code}"
                    if (store.pk, event_id) in received:
                        continue
                    base = {"store_code": store_code, "sku_code": variant.sku_code}
                    quantity = opening_stock(store_code, variant)
                    if quantity:
                        events.append(
                            {
                                **base,
                                "event_id": event_id,
                                "type": "receive",
                                "quantity": quantity,
                                "occurred_at": occurred_at,
                            }
                        )
                        continue
                    quantity = sold_out_history(store_code, variant)
                    events += [
                        {
                            **base,
                            "event_id": event_id,
                            "type": "receive",
                            "quantity": quantity,
                            "occurred_at": received_at,
                        },
                        {
                            **base,
                            "event_id": f"{SOLD_OUT_EVENT}{variant.sku_code}",
                            "type": "sale",
                            "quantity": quantity,
                            "occurred_at": sold_at,
                        },
                    ]
        for start in range(0, len(events), POS_BATCH):
            results = stock_apply_pos_events(merchant=item.merchant, events=events[start : start + POS_BATCH])
            refused = [result for result in results if result["status"] == "rejected"]
            if refused:
                raise RuntimeError(f"The inventory refused opening stock: {refused[:3]}")
            self.report.created["opening stock receipt"] += sum(r["status"] == "accepted" for r in results)

    def thresholds(self, item: SeededMerchant) -> None:
        """HQ's own thresholds on a few best sellers (levels that have none set yet)."""
        by_name = {planned.seed.name: item.products[planned.code] for planned in item.planned}
        wanted = {
            (item.stores[store_code].pk, sku.pk): threshold
            for store_code, name, threshold in DEMO_THRESHOLDS
            for sku in by_name[name].variants.all()
        }
        already = set(
            StockLevel.objects.filter(
                store__in=item.stores.values(),
                sku__product__in=by_name.values(),
                low_stock_threshold__isnull=False,
            ).values_list("store_id", "sku_id")
        )
        items = [
            {"store_id": store_id, "sku_id": sku_id, "threshold": threshold}
            for (store_id, sku_id), threshold in sorted(wanted.items())
            if (store_id, sku_id) not in already
        ]
        if items:
            stock_thresholds_set(actor=item.actor, items=items)
            self.report.created["low-stock threshold"] += len(items)

    # orders ------------------------------------------------------------------------------------------
    def orders(self, item: SeededMerchant) -> None:
        """A few orders at the flagship, placed, paid and moved on through the real services, so the
        store console's queue, the pickup counter and HQ's order list have something on first start."""
        store = item.stores[DEMO_ORDER_STORE]
        placed = set(
            Order.objects.filter(store=store, note__in=[note for note, *_ in DEMO_ORDERS]).values_list(
                "note", flat=True
            )
        )
        if all(note in placed for note, *_ in DEMO_ORDERS):
            return
        staff = Staff.objects.get(username="manager-jh")
        actor = Actor.for_staff(staff)
        candidates = self.order_candidates(store)
        for index, (note, fulfilment, phone, target) in enumerate(DEMO_ORDERS):
            if note in placed:
                continue
            customer, _ = account_services.customer_get_or_create(phone=phone)
            lines = candidates[index * 3 : index * 3 + 3]
            body = CheckoutInput(
                lines=[(sku_id, 2) for sku_id, _ in lines],
                fulfilment_type=fulfilment,
                store_id=store.pk,
                contact_name=data.DEMO_CUSTOMER_NICKNAMES[phone],
                contact_phone=phone,
                note=note,
            )
            if fulfilment == FulfilmentType.DELIVERY:
                body.address_id = self.delivery_address(customer, store, phone).pk
            order = order_services.order_create(customer=customer, merchant=item.merchant, data=body)
            self.pay(order, customer)
            self.report.created["order"] += 1
            if target == OrderStatus.PAID:
                continue
            order_services.order_accept(actor=actor, order_id=order.pk)
            if fulfilment == FulfilmentType.DELIVERY:
                order_services.order_dispatch(actor=actor, order_id=order.pk, courier="store", eta_minutes=30)
                continue
            order_services.order_ready(actor=actor, order_id=order.pk)
            if target == OrderStatus.READY_FOR_PICKUP:
                continue
            code = Order.objects.values_list("pickup_code", flat=True).get(pk=order.pk)
            order_services.pickup_verify(actor=actor, store=store, code=code)

    @staticmethod
    def order_candidates(store: Store) -> list[tuple[int, int]]:
        """(SKU id, price) of everyday goods the store has plenty of, in a stable order."""
        return list(
            StockLevel.objects.filter(
                store=store,
                on_hand__gte=F("reserved") + 10,
                sku__is_active=True,
                sku__price__range=(500, 3000),
                sku__product__is_active=True,
            )
            .exclude(sku__product__store_listings__store=store, sku__product__store_listings__is_listed=False)
            .order_by("sku__sku_code")
            .values_list("sku_id", "sku__price")[: len(DEMO_ORDERS) * 3]
        )

    @staticmethod
    def delivery_address(customer, store: Store, phone: str):
        """A flat a few hundred metres from the store, inside its delivery area."""
        return address_create(
            customer=customer,
            data={
                "contact_name": data.DEMO_CUSTOMER_NICKNAMES[phone],
                "phone": phone,
                "district": store.district,
                "address": f"{store.district}江汉路步行街附近·前进四路88号3栋1单元502",
                "lat": round(float(store.lat) + 0.004, 6),
                "lng": round(float(store.lng) + 0.003, 6),
            },
        )

    @staticmethod
    def pay(order: Order, customer) -> None:
        """The sandbox's pay page and its signed notification where the sandbox is on (demo
        servers), else the payment confirmation the payments app would make."""
        if settings.SANDBOX:
            payment, _ = payment_services.payment_create(
                customer=customer, order_id=order.pk, provider="sandbox", base_url="http://127.0.0.1:8000"
            )
            payment_services.sandbox_confirm(payment_id=payment.public_id)
        else:
            order_services.order_mark_paid(
                order_id=order.pk,
                payment_id=f"demo-{order.number}",
                amount=order.total,
                provider="offline",
                paid_at=timezone.now(),
            )
        status = Order.objects.values_list("status", flat=True).get(pk=order.pk)
        if status != OrderStatus.PAID:
            raise RuntimeError(f"The demo order {order.number} was not paid: {status}")

    # people ----------------------------------------------------------------------------------------------
    def staff(self) -> None:
        """Creates the demo accounts; an existing one that cannot log in with the demo password
        (changed, locked, deactivated, moved) is put back."""
        usernames = [seed.username for seed in data.STAFF]
        existing = {staff.username: staff for staff in Staff.objects.filter(username__in=usernames)}
        # Argon2 takes a core for a third of a second per check and releases the GIL: check in
        # parallel. The bare hasher function never writes (a model's check_password may rehash).
        with ThreadPoolExecutor(max_workers=max(2, min(6, os.cpu_count() or 1))) as pool:
            accounts = list(existing.values())
            usable = dict(
                zip(
                    [staff.username for staff in accounts],
                    pool.map(lambda staff: check_password(data.DEMO_PASSWORD, staff.password), accounts),
                    strict=True,
                )
            )
        for seed in data.STAFF:
            merchant = self.report.merchants[seed.merchant_code] if seed.merchant_code else None
            store = (
                Store.objects.select_related("merchant").get(merchant=merchant, code=seed.store_code)
                if seed.store_code
                else None
            )
            staff = existing.get(seed.username)
            if staff is None:
                self.create_staff(seed, merchant, store)
                self.report.created["staff account"] += 1
                continue
            changes = {}
            if (
                staff.role != seed.role
                or staff.merchant_id != (merchant.pk if merchant else None)
                or staff.store_id != (store.pk if store else None)
            ):
                changes.update(role=seed.role, store=store, merchant=merchant)
            locked = staff.locked_until is not None and staff.locked_until > timezone.now()
            if not staff.is_active or locked or not usable[staff.username]:
                changes.update(password=data.DEMO_PASSWORD, is_active=True)
            if changes:
                account_services.staff_update(actor=self.platform, staff=staff, **changes)
                self.report.updated["staff login restored"] += 1

    def create_staff(self, seed: data.StaffSeed, merchant: Merchant | None, store: Store | None) -> Staff:
        return account_services.staff_create(
            actor=self.platform,
            username=seed.username,
            password=data.DEMO_PASSWORD,
            role=seed.role,
            store=store,
            merchant=merchant if seed.role == Role.MERCHANT_ADMIN else None,
            display_name=seed.display_name,
        )

    def customers(self) -> None:
        """The demo customers, members of the main chain."""
        fresh = self.report.merchants[data.FRESH.code]
        for phone in data.DEMO_CUSTOMER_PHONES:
            customer, created = account_services.customer_get_or_create(phone=phone)
            if created:
                customer.nickname = data.DEMO_CUSTOMER_NICKNAMES[phone]
                customer.save(update_fields=["nickname"])
                self.report.created["customer"] += 1
            _, joined = membership_get_or_create(customer=customer, merchant=fresh)
            if joined:
                self.report.created["membership"] += 1


def seed_demo(*, draw_images: bool = True) -> SeedReport:
    return DemoSeeder(draw_images=draw_images).run()
