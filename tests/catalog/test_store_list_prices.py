"""A store's list shows, filters and sorts on `price_from`: the lowest of the store's prices over a
product's active variants. It is denormalised (StoreProductPrice) by every price-changing service;
these tests check it against the prices computed from scratch after each kind of change."""

import random

from mendian.catalog import selectors, services
from mendian.catalog.models import Product, Sku, StoreProductPrice
from mendian.core.money import Money
from mendian.core.scope import Actor
from tests.catalog.helpers import money


def _listed_prices(store) -> dict[int, int]:
    page = selectors.store_products(store=store, limit=100)
    return {int(item["id"]): item["price_from"]["amount"] for item in page["items"]}


def _expected_prices(store) -> dict[int, int]:
    expected = {}
    for product in Product.objects.filter(merchant_id=store.merchant_id, is_active=True):
        skus = list(product.variants.filter(is_active=True))
        expected[product.pk] = min(selectors.sku_prices_at(store, skus).values())
    return expected


def test_raising_the_cheapest_variant_makes_another_the_cheapest(store, dairy, make_product):
    product = make_product(dairy, "牛奶", prices=(500, 800))
    cheap = product.variants.get(price=500)
    services.store_price_set(actor=Actor.system(), store=store, sku=cheap, price=Money(900))
    assert _listed_prices(store) == {product.pk: 800}
    services.store_price_clear(actor=Actor.system(), store=store, sku=cheap)
    assert _listed_prices(store) == {product.pk: 500}
    assert not StoreProductPrice.objects.exists()


def test_variant_changes_recompute_the_store_price(hq_api, store, other_store, dairy, make_product):
    product = make_product(
        dairy,
        "酸奶",
        variants=[
            {"sku_code": "Y-S", "specs": {"规格": "小"}, "price": money(500)},
            {"sku_code": "Y-L", "specs": {"规格": "大"}, "price": money(800)},
        ],
    )
    small = Sku.objects.get(sku_code="Y-S")
    services.store_price_set(actor=Actor.system(), store=store, sku=small, price=Money(450))
    assert _listed_prices(store) == {product.pk: 450}

    # The large one gets cheaper than the small one's store price.
    hq_api.patch(
        f"/api/hq/v1/products/{product.pk}",
        {
            "variants": [
                {"sku_code": "Y-S", "specs": {"规格": "小"}, "price": money(500)},
                {"sku_code": "Y-L", "specs": {"规格": "大"}, "price": money(300)},
            ]
        },
    )
    assert _listed_prices(store) == {product.pk: 300}
    assert _listed_prices(other_store) == {product.pk: 300}

    # The overridden variant is removed: its store price no longer counts.
    hq_api.patch(
        f"/api/hq/v1/products/{product.pk}",
        {"variants": [{"sku_code": "Y-L", "specs": {"规格": "大"}, "price": money(600)}]},
    )
    assert _listed_prices(store) == {product.pk: 600}
    assert not StoreProductPrice.objects.exists()

    # Brought back, its store price counts again.
    hq_api.patch(
        f"/api/hq/v1/products/{product.pk}",
        {
            "variants": [
                {"sku_code": "Y-S", "specs": {"规格": "小"}, "price": money(500)},
                {"sku_code": "Y-L", "specs": {"规格": "大"}, "price": money(600)},
            ]
        },
    )
    assert _listed_prices(store) == {product.pk: 450}


def test_random_price_changes_always_match_prices_computed_from_scratch(
    store, other_store, dairy, make_product
):
    rng = random.Random(7)
    actor = Actor.system()
    products = [
        make_product(dairy, f"商品{i}", prices=tuple(rng.randrange(100, 1000) for _ in range(3)))
        for i in range(4)
    ]
    skus = list(Sku.objects.all())
    for _ in range(40):
        action = rng.choice(["set", "set", "clear", "batch", "variants"])
        target_store = rng.choice([store, other_store])
        sku = rng.choice(skus)
        if action == "set":
            services.store_price_set(
                actor=actor, store=target_store, sku=sku, price=Money(rng.randrange(50, 1200))
            )
        elif action == "clear":
            services.store_price_clear(actor=actor, store=target_store, sku=sku)
        elif action == "batch":
            chosen = rng.sample(skus, 3)
            services.store_prices_apply(
                actor=actor,
                store=target_store,
                entries=[
                    {"sku_id": s.pk, "price": rng.choice([None, money(rng.randrange(50, 1200))])}
                    for s in chosen
                ],
            )
        else:
            product = rng.choice(products)
            variants = list(Sku.objects.filter(product=product).order_by("position"))
            kept = rng.sample(variants, rng.randint(1, len(variants)))
            services.product_update(
                actor=actor,
                product=product,
                data={
                    "variants": [
                        {"sku_code": v.sku_code, "specs": v.specs, "price": money(rng.randrange(100, 1000))}
                        for v in kept
                    ]
                },
            )
        for each in (store, other_store):
            assert _listed_prices(each) == _expected_prices(each)
