"""The per-store shelf (`catalog.shelf`), which the storefront's product list reads: every write
through the services leaves it as a full recompute would, a new store sells the catalogue at once,
rows written around the services are repaired by `mendian rebuild-shelves`, and concurrent writers
(two orders selling out a product's last variants, a relisting as it sells out) leave it sold out."""

import threading
import time

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test import override_settings

from mendian.catalog import services, shelf
from mendian.catalog.apps import _fill_empty_shelves
from mendian.catalog.models import Product, ShelfItem
from mendian.core.scope import Actor
from mendian.inventory import services as stock
from mendian.stores import services as store_services
from tests.catalog.helpers import money
from tests.catalog.test_live_stock import give
from tests.factories import CategoryFactory


def _page(api, store, **params) -> dict:
    response = api.get(f"/api/v1/stores/{store.pk}/products", params)
    assert response.status_code == 200, response.content
    return response.json()


def _names(api, store, **params) -> list[str]:
    return [item["name"] for item in _page(api, store, **params)["items"]]


def _in_step(merchant) -> None:
    """The shelf says what a recompute from the catalog would: nothing left to write."""
    assert shelf.refresh(merchant_id=merchant.pk) == 0


def test_every_catalog_and_stock_write_keeps_the_shelf_in_step(
    api, merchant, store, other_store, dairy, make_product, png_bytes
):
    hq = Actor.system(merchant.pk)
    milk = make_product(dairy, "牛奶", prices=(500, 900), tags=["早餐"])
    yogurt = make_product(dairy, "酸奶", prices=(700,))
    _in_step(merchant)
    cheap, dear = milk.variants.order_by("price")

    services.store_price_set(actor=hq, store=store, sku=dear, price=money(300))
    _in_step(merchant)
    assert [i["price_from"]["amount"] for i in _page(api, store)["items"]] == [700, 300]
    assert [i["price_from"]["amount"] for i in _page(api, other_store)["items"]] == [700, 500]
    services.store_prices_apply(
        actor=hq, store=other_store, entries=[{"sku_id": cheap.pk, "price": money(450)}]
    )
    services.store_price_clear(actor=hq, store=store, sku=dear)
    _in_step(merchant)

    services.store_listing_set(actor=hq, store=store, product=yogurt, listed=False)
    _in_step(merchant)
    assert _names(api, store) == ["牛奶"]
    services.store_listings_apply(actor=hq, store=store, entries=[{"product_id": yogurt.pk, "listed": True}])
    _in_step(merchant)
    assert _names(api, store) == ["酸奶", "牛奶"]

    cheese = CategoryFactory(merchant=merchant, name="奶酪")
    services.product_update(
        actor=hq,
        product=milk,
        data={"name": "鲜牛奶", "tags": ["热卖"], "category_id": cheese.pk, "position": 9, "brand": "光明"},
    )
    _in_step(merchant)
    assert _names(api, store, category=cheese.pk) == ["鲜牛奶"]
    # The cheaper variant, no longer named, is retired: the dearer one's price is what is left.
    services.product_update(
        actor=hq,
        product=milk,
        data={"variants": [{"sku_code": dear.sku_code, "specs": dear.specs, "price": money(900)}]},
    )
    _in_step(merchant)
    assert _page(api, store, category=cheese.pk)["items"][0]["price_from"]["amount"] == 900

    photo = services.product_image_add(actor=hq, product=milk, upload=_upload(png_bytes()))
    second = services.product_image_add(actor=hq, product=milk, upload=_upload(png_bytes(color=(0, 0, 255))))
    _in_step(merchant)
    services.product_image_reorder(actor=hq, product=milk, image_ids=[second.pk, photo.pk])
    _in_step(merchant)
    services.product_image_remove(actor=hq, image=second)
    _in_step(merchant)
    item = _page(api, store, category=cheese.pk)["items"][0]
    assert (
        item["image"] == f"/media/{photo.image.name}"
        and item["thumbnail"] == f"/media/{photo.thumbnail.name}"
    )

    give(store, dear, 2)
    _in_step(merchant)
    stock.stock_reserve(store=store, lines=[(dear.pk, 2)], reference="26120300000001")
    _in_step(merchant)
    assert _page(api, store, category=cheese.pk)["items"][0]["available"] is False
    stock.stock_release(reference="26120300000001")
    _in_step(merchant)
    assert _page(api, store, category=cheese.pk)["items"][0]["available"] is True

    services.product_update(actor=hq, product=yogurt, data={"is_active": False})
    _in_step(merchant)
    assert _names(api, store) == ["鲜牛奶"]
    assert not ShelfItem.objects.filter(product=yogurt).exists()


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("photo.png", data, content_type="image/png")


def test_a_new_store_sells_the_whole_catalogue_at_once(api, merchant, store, dairy, make_product):
    make_product(dairy, "牛奶")
    make_product(dairy, "酸奶")
    new = store_services.store_create(
        actor=Actor.system(merchant.pk),
        data={
            "code": "new01",
            "name": "新店",
            "address": "解放大道1号",
            "lat": 30.6,
            "lng": 114.3,
            "opening_hours": [{"weekday": day, "open": "00:00", "close": "00:00"} for day in range(7)],
        },
    )
    assert _names(api, new) == ["酸奶", "牛奶"]
    assert all(item["available"] is False for item in _page(api, new)["items"])


def test_item_text_survives_json_special_characters(api, store, dairy, make_product):
    name = '“双引号” "quoted"\u2028back\\slash </script> 🥛'
    make_product(dairy, name, subtitle="tab\there", tags=["新品"])
    (item,) = _page(api, store)["items"]
    assert item["name"] == name and item["subtitle"] == "tab\there" and item["tags"] == ["新品"]


def test_photo_urls_follow_the_media_url_of_the_day(api, merchant, store, dairy, make_product, png_bytes):
    milk = make_product(dairy, "牛奶")
    photo = services.product_image_add(
        actor=Actor.system(merchant.pk), product=milk, upload=_upload(png_bytes())
    )
    with override_settings(MEDIA_URL="https://cdn.example.com/m/"):
        (item,) = _page(api, store, sort="new", limit=5)["items"]
    assert item["image"] == f"https://cdn.example.com/m/{photo.image.name}"


def test_rows_written_around_the_services_are_repaired_by_the_command(
    api, merchant, store, dairy, make_product
):
    milk = make_product(dairy, "牛奶")
    Product.objects.filter(pk=milk.pk).update(name="改名", sales_count=7)  # a hand-written SQL fix
    assert _names(api, store, sort="new") == ["牛奶"]

    out = _run("rebuild_shelves", "--merchant", merchant.code)
    assert f"{merchant.code}: 1 shelf rows written or removed" in out
    assert _names(api, store, sort="new") == ["改名"]
    assert _page(api, store, sort="new")["items"][0]["sales_count"] == 7
    assert "0 shelf rows" in _run("rebuild_shelves")

    with pytest.raises(CommandError, match="No merchant with code 'nobody'"):
        _run("rebuild_shelves", "--merchant", "nobody")


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_an_emptied_shelf_is_filled_after_migrating(api, store, dairy, make_product):
    make_product(dairy, "牛奶")
    ShelfItem.objects.all().delete()  # a migration that changed the item's JSON empties the table
    assert _names(api, store, sort="new") == []
    _fill_empty_shelves(sender=apps.get_app_config("catalog"), using="default")
    assert _names(api, store, sort="new") == ["牛奶"]


def _second_while_first_is_open(first, second) -> None:
    """Runs `first()` in a transaction kept open until `second()`, in another thread and
    connection, has started and had half a second to block on a lock or to read past it."""
    first_done, second_started = threading.Event(), threading.Event()
    errors = []

    def run(work, before=None, after=None):
        try:
            if before:
                before()
            work()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()
            if after:
                after()

    def first_in_open_transaction():
        with transaction.atomic():
            first()
            first_done.set()
            second_started.wait(10)
            time.sleep(0.5)

    threads = [
        threading.Thread(target=run, args=(first_in_open_transaction,), kwargs={"after": first_done.set}),
        threading.Thread(
            target=run, args=(second,), kwargs={"before": lambda: (first_done.wait(10), second_started.set())}
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and not any(thread.is_alive() for thread in threads)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_orders_selling_out_a_products_last_variants_at_once_leave_it_sold_out(
    api, store, dairy, make_product
):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (set DATABASE_URL)")
    milk = make_product(dairy, "牛奶", prices=(500, 900))
    small, large = milk.variants.order_by("pk")
    give(store, small, 1)
    give(store, large, 1)
    assert _page(api, store)["items"][0]["available"] is True

    _second_while_first_is_open(
        lambda: stock.stock_reserve(store=store, lines=[(small.pk, 1)], reference="26120300000011"),
        lambda: stock.stock_reserve(store=store, lines=[(large.pk, 1)], reference="26120300000012"),
    )
    # Without the product's lock the second order read stock before the first committed, saw
    # `small` still there and wrote "in stock" last.
    assert _page(api, store)["items"][0]["available"] is False
    assert shelf.refresh(merchant_id=store.merchant_id) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_product_relisted_as_it_sells_out_is_added_sold_out(api, store, dairy, make_product):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (set DATABASE_URL)")
    milk = make_product(dairy, "牛奶")
    sku = milk.variants.get()
    give(store, sku, 1)
    hq = Actor.system(store.merchant_id)
    services.store_listing_set(actor=hq, store=store, product=milk, listed=False)

    _second_while_first_is_open(
        lambda: stock.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="26120300000021"),
        lambda: services.store_listing_set(actor=hq, store=store, product=milk, listed=True),
    )
    # There was no shelf row to lock: without the product's lock the relisting read stock before
    # the order committed and added the row "in stock".
    assert _page(api, store)["items"][0]["available"] is False
    assert shelf.refresh(merchant_id=store.merchant_id) == 0
