"""The store list's page cache: versioned pages in the shared cache, and (with a shared cache such
as Redis) a per-process layer that trusts the last version it read for a tenth of a second."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from mendian.catalog import cache as page_cache
from mendian.catalog import shelf
from mendian.catalog.models import Product
from mendian.stores.models import StoreStatus


@pytest.fixture
def local_layer(monkeypatch):
    """The per-process layer as it runs with Redis (the test settings use LocMemCache)."""
    monkeypatch.setattr(page_cache, "local_layer_enabled", lambda: True)


def _names(api, store):
    response = api.get(f"/api/v1/stores/{store.pk}/products")
    assert response.status_code == 200
    return [item["name"] for item in response.json()["items"]]


def _write_from_another_process(product, name):
    """A write another server process made: the row, its shelf and the shared version move, this
    process's memory does not."""
    Product.objects.filter(pk=product.pk).update(name=name)
    shelf.refresh(merchant_id=product.merchant_id, product_ids=[product.pk])
    cache.incr(f"catalog:version:{product.merchant_id}")


def test_hits_are_served_from_memory_without_the_shared_cache(
    api, store, dairy, make_product, local_layer, clock, django_assert_num_queries
):
    make_product(dairy, "牛奶")
    assert _names(api, store) == ["牛奶"]
    cache.clear()  # the shared cache is gone (or unreachable): this process still answers...
    with django_assert_num_queries(0):
        assert _names(api, store) == ["牛奶"]


def test_another_processs_write_shows_within_the_version_check_interval(
    api, store, dairy, make_product, local_layer, clock
):
    milk = make_product(dairy, "牛奶")
    assert _names(api, store) == ["牛奶"]
    _write_from_another_process(milk, "鲜牛奶")
    assert _names(api, store) == ["牛奶"]  # the version read 0 s ago is trusted
    clock.advance(0.2)
    assert _names(api, store) == ["鲜牛奶"]


def test_own_writes_show_at_once(api, hq_api, store, dairy, make_product, local_layer, clock):
    milk = make_product(dairy, "牛奶")
    assert _names(api, store) == ["牛奶"]
    assert hq_api.patch(f"/api/hq/v1/products/{milk.pk}", {"name": "鲜牛奶"}).status_code == 200
    assert _names(api, store) == ["鲜牛奶"]


def test_pages_expire_after_their_ttl_even_in_memory(api, store, dairy, make_product, local_layer, clock):
    milk = make_product(dairy, "牛奶")
    assert _names(api, store) == ["牛奶"]
    Product.objects.filter(pk=milk.pk).update(name="改名不升版本")  # no version bump at all
    shelf.refresh(merchant_id=milk.merchant_id, product_ids=[milk.pk])
    clock.advance(5)
    assert _names(api, store) == ["牛奶"]
    clock.advance(6)
    cache.clear()  # the shared cache's own TTL has passed too
    assert _names(api, store) == ["改名不升版本"]


def test_a_page_copied_into_memory_keeps_its_original_expiry(
    api, store, dairy, make_product, local_layer, clock
):
    milk = make_product(dairy, "牛奶")
    assert _names(api, store) == ["牛奶"]  # built and shared at t=0
    page_cache.local_layer_clear()  # a second process, which finds the page in the shared cache
    clock.advance(8)
    assert _names(api, store) == ["牛奶"]
    Product.objects.filter(pk=milk.pk).update(name="新名")
    shelf.refresh(merchant_id=milk.merchant_id, product_ids=[milk.pk])
    clock.advance(3)  # t=11: past the page's 10 s although this process copied it at t=8
    cache.clear()
    assert _names(api, store) == ["新名"]


def test_closed_store_stops_answering_after_the_ttl(api, store, dairy, make_product, local_layer, clock):
    make_product(dairy, "牛奶")
    assert _names(api, store) == ["牛奶"]
    store.status = StoreStatus.CLOSED
    store.save()
    clock.advance(11)
    cache.clear()
    assert api.get(f"/api/v1/stores/{store.pk}/products").status_code == 404


def test_local_layer_evicts_the_least_recently_used():
    local = page_cache._LocalCache(max_entries=2)
    local.set("a", 1, 10)
    local.set("b", 2, 10)
    assert local.get("a") == 1  # "b" is now the least recently used
    local.set("c", 3, 10)
    assert (local.get("a"), local.get("b"), local.get("c")) == (1, None, 3)


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_local_layer_is_off_with_a_process_local_cache():
    assert page_cache.local_layer_enabled() is False


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
)
def test_local_layer_is_on_with_a_shared_cache():
    assert page_cache.local_layer_enabled() is True
