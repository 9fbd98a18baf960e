"""The hot path of the storefront: a store's first product page (browsing by category and sort;
searches and free-text filters are not cached), cached for a few seconds.

Every catalog write bumps its merchant's catalog version, and every change of stock that sells a
SKU out at a store or brings it back bumps that store's stock version (inventory's change hook);
a cached page remembers both versions it was built under and is ignored once either moved, so HQ
edits (a new price, a delisting) and 缺货 / back in stock show at once. Pages live
`CATALOG_PAGE_CACHE_SECONDS` (10 s): what is not versioned here — a store's status — may be that
stale at most.

Two layers:
- Django's default cache (Redis when `REDIS_URL` is set) holds the pages and the versions, shared
  by every process;
- with a shared cache, each process also keeps the pages it served in memory, and trusts the
  version it last read for `CATALOG_VERSION_CHECK_SECONDS` (0.1 s). A hit then costs no round
  trip, which is what lets a cached page answer nearly as fast as a static view. The process that
  made a write sees it at once; every other process within that tenth of a second. With
  process-local caches (LocMemCache: tests, a single-process server) the second layer would
  duplicate the first and is off.
"""

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from mendian.stores.models import Store

T = TypeVar("T")

DEFAULT_PAGE_CACHE_SECONDS = 10
DEFAULT_VERSION_CHECK_SECONDS = 0.1
# Version keys outlive every page entry by far; losing one (eviction) only costs a cache miss.
VERSION_CACHE_SECONDS = 7 * 24 * 3600
LOCAL_MAX_ENTRIES = 2048


def _now() -> float:
    return time.monotonic()


def _wall() -> float:
    return time.time()


def _page_ttl() -> float:
    return getattr(settings, "CATALOG_PAGE_CACHE_SECONDS", DEFAULT_PAGE_CACHE_SECONDS)


def _version_check_interval() -> float:
    return getattr(settings, "CATALOG_VERSION_CHECK_SECONDS", DEFAULT_VERSION_CHECK_SECONDS)


def local_layer_enabled() -> bool:
    return not isinstance(caches["default"], LocMemCache)


class _LocalCache:
    """A small least-recently-used map with expiry, shared by the threads of one process."""

    def __init__(self, max_entries: int):
        self._entries: OrderedDict[str, tuple[object, float]] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires_at = entry
            if expires_at <= _now():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (value, _now() + ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_local = _LocalCache(LOCAL_MAX_ENTRIES)
# merchant id -> (catalog version, monotonic time it was read from the shared cache)
_versions: dict[int, tuple[int | None, float]] = {}
# store id -> merchant id, learnt when a page is stored (a store never changes merchant): a miss in
# the local layer then fetches the page and its merchant's version in one round trip.
_merchant_of_store: dict[int, int] = {}
_MAX_KNOWN_STORES = 100_000


# store id -> (stock version, monotonic time it was read)
_stock_versions: dict[int, tuple[int | None, float]] = {}


def local_layer_clear() -> None:
    _local.clear()
    _versions.clear()
    _stock_versions.clear()


# --- versions ---------------------------------------------------------------------------------------
def _version_key(merchant_id: int) -> str:
    return f"catalog:version:{merchant_id}"


def _remember_version(merchant_id: int, version: int | None) -> None:
    _versions[merchant_id] = (version, _now())


def catalog_version(merchant_id: int) -> int:
    """The merchant's current version, read from the shared cache (created if missing)."""
    key = _version_key(merchant_id)
    version = cache.get(key)
    if version is None:
        # Start from the clock, not 0: after an eviction, a page tagged with an old small number
        # must not look current again.
        cache.add(key, time.time_ns(), VERSION_CACHE_SECONDS)
        version = cache.get(key)
    _remember_version(merchant_id, version)
    return version


def _recent_version(merchant_id: int) -> int | None:
    known = _versions.get(merchant_id)
    if known is not None and _now() - known[1] < _version_check_interval():
        return known[0]
    version = cache.get(_version_key(merchant_id))
    _remember_version(merchant_id, version)
    return version


def _bump(merchant_id: int) -> None:
    key = _version_key(merchant_id)
    try:
        version = cache.incr(key)
    except ValueError:
        version = time.time_ns()
        cache.set(key, version, VERSION_CACHE_SECONDS)
    _remember_version(merchant_id, version)


def _stock_version_key(store_id: int) -> str:
    return f"catalog:stock-version:{store_id}"


def _remember_stock_version(store_id: int, version: int | None) -> None:
    if len(_stock_versions) >= _MAX_KNOWN_STORES:
        _stock_versions.clear()
    _stock_versions[store_id] = (version, _now())


def _recent_stock_version(store_id: int) -> int | None:
    known = _stock_versions.get(store_id)
    if known is not None and _now() - known[1] < _version_check_interval():
        return known[0]
    version = cache.get(_stock_version_key(store_id))
    _remember_stock_version(store_id, version)
    return version


def page_version(merchant_id: int, store_id: int) -> tuple[int, int]:
    """The (catalog, stock) versions a store's page is built under, read in one round trip before
    its rows are read (missing ones are created from the clock, as `catalog_version` does)."""
    keys = {"catalog": _version_key(merchant_id), "stock": _stock_version_key(store_id)}
    found = cache.get_many(list(keys.values()))
    versions = {}
    for name, key in keys.items():
        version = found.get(key)
        if version is None:
            cache.add(key, time.time_ns(), VERSION_CACHE_SECONDS)
            version = cache.get(key)
        versions[name] = version
    _remember_version(merchant_id, versions["catalog"])
    _remember_stock_version(store_id, versions["stock"])
    return versions["catalog"], versions["stock"]


def _bump_stock(store_id: int) -> None:
    key = _stock_version_key(store_id)
    try:
        version = cache.incr(key)
    except ValueError:
        version = time.time_ns()
        cache.set(key, version, VERSION_CACHE_SECONDS)
    _remember_stock_version(store_id, version)


def stock_version_bump(store_id: int) -> None:
    """Invalidate the store's cached pages because a SKU sold out there or came back: now, and
    again once the transaction commits (see `catalog_version_bump`)."""
    _bump_stock(store_id)
    transaction.on_commit(lambda: _bump_stock(store_id))


def catalog_version_bump(merchant_id: int) -> None:
    """Invalidate the merchant's cached pages: now, and again once the transaction commits.

    The bump after commit is the one that guarantees freshness (a reader that saw the new version
    before the commit may have cached pre-commit rows under it); the immediate one makes the
    change visible to the writer's own next read and to code that runs inside one transaction.
    """
    _bump(merchant_id)
    transaction.on_commit(lambda: _bump(merchant_id))


# --- values derived from the catalog ------------------------------------------------------------------
DERIVED_CACHE_SECONDS = 60


def by_catalog_version(merchant_id: int, name: str, load: Callable[[], T]) -> T:
    """A value computed from the merchant's catalog (its category tree, say), reused until the
    next catalog write. The version is read before `load` runs, so a value is never filed under
    a version newer than the rows it was computed from."""
    local = local_layer_enabled()
    version = _recent_version(merchant_id) if local else cache.get(_version_key(merchant_id))
    if version is None:
        version = catalog_version(merchant_id)
    key = f"catalog:derived:{name}:{merchant_id}:{version}"
    if local and (value := _local.get(key)) is not None:
        return value
    value = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, DERIVED_CACHE_SECONDS)
    if local:
        _local.set(key, value, DERIVED_CACHE_SECONDS)
    return value


# --- stores -------------------------------------------------------------------------------------
def _remaining_ttl(built_at: float) -> float:
    """What is left of an entry's lifetime, so copying it into the local layer never extends it."""
    return _page_ttl() - (_wall() - built_at)


def public_store(scope: str, load: Callable[[], Store]) -> Store:
    """The store a list request names, as `load` (stores.selectors.store_public_get) resolves it,
    remembered for the page TTL: a store closing or a merchant deactivated shows on its lists
    within those few seconds, like every other unversioned fact here. Not-found is not cached."""
    key = f"catalog:store:{scope}"
    local = local_layer_enabled()
    if local and (store := _local.get(key)) is not None:
        return store
    entry = cache.get(key)
    if entry is None:
        entry = (load(), _wall())
        cache.set(key, entry, _page_ttl())
    store, built_at = entry
    if local:
        _local.set(key, store, _remaining_ttl(built_at))
    return store


# --- pages --------------------------------------------------------------------------------------
def page_cache_key(scope: str, params: dict) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, ensure_ascii=True).encode()).hexdigest()
    return f"catalog:page:{scope}:{digest[:32]}"


def page_get(key: str, *, store_id: int) -> bytes | None:
    """The cached body, if it was built under its merchant's current catalog version and its
    store's current stock version."""
    local = local_layer_enabled()
    if local:
        entry = _local.get(key)
        if entry is not None:
            merchant_id, version, body, _ = entry
            if (_recent_version(merchant_id), _recent_stock_version(store_id)) == version:
                return body
    merchant_id = _merchant_of_store.get(store_id)
    if merchant_id is None:
        return None
    version_key, stock_key = _version_key(merchant_id), _stock_version_key(store_id)
    found = cache.get_many([key, version_key, stock_key])
    current = (found.get(version_key), found.get(stock_key))
    _remember_version(merchant_id, current[0])
    _remember_stock_version(store_id, current[1])
    entry = found.get(key)
    if entry is None:
        return None
    entry_merchant_id, version, body, built_at = entry
    if entry_merchant_id != merchant_id or current != version:
        return None
    if local:
        _local.set(key, entry, _remaining_ttl(built_at))
    return body


def page_set(key: str, *, store_id: int, merchant_id: int, version, body: bytes) -> None:
    """Store a body built from data read *after* `version` was read: `page_version`'s pair. A
    bare catalog version (an older caller) is paired with the store's stock version as it is now,
    which can only be late by the moment between reading the rows and storing the page."""
    if not isinstance(version, tuple):
        version = (version, _recent_stock_version(store_id))
    if len(_merchant_of_store) >= _MAX_KNOWN_STORES:
        _merchant_of_store.clear()
    _merchant_of_store[store_id] = merchant_id
    entry = (merchant_id, tuple(version), body, _wall())
    cache.set(key, entry, _page_ttl())
    if local_layer_enabled():
        _local.set(key, entry, _page_ttl())
