"""The hand-written reads on the order path answer what the ORM queries they replace answer:
`skus_at_store` as `_skus_at(store)`, `store_for_checkout` as
`stores_with_schedule(_public_stores(merchant))`. A rule added to the ORM query and not to its copy fails here."""

import datetime as dt

import pytest
from django.utils import timezone

from mendian.catalog.models import ProductImage, StoreListing, StorePrice
from mendian.checkout.selectors import _skus_at, skus_at_store, store_for_checkout
from mendian.core.errors import NotFound
from mendian.merchants.models import Merchant
from mendian.stores.hours import schedule_is_open, store_schedule
from mendian.stores.models import OpeningHours, SpecialDay, StoreStatus
from mendian.stores.selectors import _public_stores, stores_with_schedule
from tests.factories import ProductFactory, SkuFactory, StoreFactory

pytestmark = pytest.mark.django_db

SKU_FACTS = ("pk", "sku_code", "price", "is_active", "store_price", "delisted", "thumbnail_name")


def facts(sku) -> tuple:
    return (*(getattr(sku, name) for name in SKU_FACTS), sku.product.name, sku.product.is_active)


def test_skus_at_store_reads_what_the_orm_query_reads(merchant, store, other_store):
    plain = SkuFactory(product=ProductFactory(merchant=merchant, name="纯净水"), sku_code="P1", price=200)
    priced = SkuFactory(product=ProductFactory(merchant=merchant, name="可乐"), sku_code="P2", price=300)
    StorePrice.objects.create(store=store, sku=priced, price=280)
    StorePrice.objects.create(store=other_store, sku=priced, price=260)
    delisted = SkuFactory(product=ProductFactory(merchant=merchant, name="薯片"), sku_code="P3")
    StoreListing.objects.create(store=store, product=delisted.product, is_listed=False)
    StoreListing.objects.create(store=other_store, product=plain.product, is_listed=False)
    pictured = SkuFactory(product=ProductFactory(merchant=merchant, name="面包"), sku_code="P4")
    for position, name in ((2, "b"), (1, "a"), (1, "c")):
        ProductImage.objects.create(
            product=pictured.product, image=f"p/{name}.webp", thumbnail=f"t/{name}.webp", position=position
        )
    inactive = SkuFactory(
        product=ProductFactory(merchant=merchant, name="旧品", is_active=False), sku_code="P5"
    )
    skus = [plain, priced, delisted, pictured, inactive]

    for at in (store, other_store):
        by_hand = skus_at_store(store=at, sku_ids=[s.pk for s in skus], require_sellable=False)
        by_orm = {sku.pk: sku for sku in _skus_at(at).filter(pk__in=[s.pk for s in skus])}
        assert {pk: facts(sku) for pk, sku in by_hand.items()} == {
            pk: facts(sku) for pk, sku in by_orm.items()
        }
    assert skus_at_store(store=store, sku_ids=[pictured.pk], require_sellable=False)[
        pictured.pk
    ].thumbnail_name == ("t/a.webp")


def test_store_for_checkout_sees_the_stores_customers_see_with_their_schedule(
    merchant, other_merchant, store
):
    OpeningHours.objects.create(store=store, weekday=0, opens=dt.time(8), closes=dt.time(22))
    OpeningHours.objects.create(store=store, weekday=4, opens=dt.time(22), closes=dt.time(2))
    today = timezone.now().date()
    SpecialDay.objects.create(store=store, date=today + dt.timedelta(days=1), closed=True, note="盘点")
    SpecialDay.objects.create(
        store=store, date=today + dt.timedelta(days=3), opens=dt.time(10), closes=dt.time(12), note="短营业"
    )
    SpecialDay.objects.create(store=store, date=today - dt.timedelta(days=30), closed=True)  # long past
    paused = StoreFactory(merchant=merchant, code="p01", status=StoreStatus.PAUSED)
    closed = StoreFactory(merchant=merchant, code="c01", status=StoreStatus.CLOSED)
    theirs = StoreFactory(merchant=other_merchant, code="o01")
    gone = StoreFactory(merchant=other_merchant, code="o02")
    Merchant.objects.filter(pk=other_merchant.pk).update(is_active=False)

    for target in (store, paused, closed, theirs, gone):
        for audience in (None, merchant):
            expected = stores_with_schedule(_public_stores(audience)).filter(pk=target.pk).first()
            if expected is None:
                with pytest.raises(NotFound):
                    store_for_checkout(store_id=target.pk, merchant=audience)
                continue
            found = store_for_checkout(store_id=target.pk, merchant=audience)
            assert (found.pk, found.merchant.pk, found.status) == (
                expected.pk,
                expected.merchant.pk,
                expected.status,
            )
            assert store_schedule(found) == store_schedule(expected)
            for hours in range(0, 24 * 7, 5):
                at = timezone.now() + dt.timedelta(hours=hours)
                assert schedule_is_open(store_schedule(found), at) == schedule_is_open(
                    store_schedule(expected), at
                )
