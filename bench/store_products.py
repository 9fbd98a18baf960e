"""Benchmark: a store's product list, `GET /api/v1/stores/{id}/products?limit=20`.

Seeds PostgreSQL database `mendian_bench_catalog` (recreated each run unless --reuse) with one
merchant, two stores and 300 products of 1-3 variants with photos, some store price overrides and
delistings, and stock at both stores (about one variant in seven sold out), all written through the
catalog and inventory services. Then it starts the real server
(`mendian serve --no-worker`, MENDIAN_BENCH=1) and measures, three times each, median reported:

- baseline: the minimal Django JSON view (`/api/v1/bench/ping`) on the same server and middleware;
  the same view at `/bench/ping`, through the pages' whole middleware chain, is measured too and
  printed for comparison (BrowserOnlyMiddleware skips part of that chain for the storefront API);
- DB path:  pages 2+ (cursor pages are never cached) over every category and sort, so each request
            runs the selector's queries;
- cached:   one fixed first page (`?limit=20`), answered from the page cache.

Targets: cached >= 0.7x and DB path >= 0.3x the baseline's requests/s.

    .venv/bin/python bench/store_products.py [--seconds 10] [--connections 32] [--reuse]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
from multiprocessing import Process
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BIN_DIR,
    DEFAULT_PG,
    Server,
    baseline_path,
    bench_env,
    cpu_snapshot,
    describe_machine,
    ensure_database,
    format_table,
    load,
    median_result,
    setup_django,
)

DATABASE = "mendian_bench_catalog"
PRODUCTS = 300
TARGETS = {"DB path": 0.3, "cached": 0.7}
PAGE_PING = "pages' ping /bench/ping"

CATEGORIES = {
    "乳品": ["纯牛奶", "酸奶", "奶酪"],
    "饮料": ["矿泉水", "碳酸饮料", "果汁", "茶饮"],
    "零食": ["薯片", "饼干", "坚果", "巧克力"],
    "粮油": ["大米", "食用油", "面条"],
    "日化": ["洗发水", "牙膏", "纸巾"],
    "生鲜": ["水果", "蔬菜"],
}
BRANDS = [
    "蒙牛",
    "伊利",
    "光明",
    "农夫山泉",
    "可口可乐",
    "康师傅",
    "统一",
    "旺旺",
    "乐事",
    "德芙",
    "三只松鼠",
    "洽洽",
]
SIZES = ["小份", "标准装", "家庭装"]
TAGS = ["热卖", "新品", "早餐", "囤货", "特价"]


def recreate_database(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.path.lstrip("/")))
        )
    ensure_database(database_url)


def _photo(rng: random.Random) -> io.BytesIO:
    from PIL import Image

    buffer = io.BytesIO()
    color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    Image.new("RGB", (480, 480), color).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def seed(env: dict[str, str]) -> None:
    """One merchant, two stores, 300 products and their stock through the real services (runs in a
    child process)."""
    setup_django(env)
    from mendian.catalog import services
    from mendian.catalog.barcodes import ean13_complete
    from mendian.core.money import Money
    from mendian.core.scope import Actor
    from mendian.merchants.models import Merchant
    from mendian.stores.models import OpeningHours, Store

    rng = random.Random(20261122)  # noqa: S311 - repeatable demo data
    merchant = Merchant.objects.create(code="bench", name="压测便利")
    actor = Actor.system(merchant.pk)
    stores = []
    for index in range(2):
        store = Store.objects.create(
            merchant=merchant,
            code=f"b{index:03d}",
            name=f"压测门店{index}",
            address="江汉路1号",
            lat=30.58,
            lng=114.28,
        )
        OpeningHours.objects.bulk_create(
            OpeningHours(store=store, weekday=day, opens="00:00", closes="00:00") for day in range(7)
        )
        stores.append(store)
    leaves = []
    for position, (top, children) in enumerate(CATEGORIES.items()):
        parent = services.category_create(actor=actor, data={"name": top, "position": position})
        for child in children:
            leaves.append(services.category_create(actor=actor, data={"name": child, "parent_id": parent.pk}))
    for number in range(PRODUCTS):
        category = rng.choice(leaves)
        brand = rng.choice(BRANDS)
        sizes = rng.sample(SIZES, rng.randint(1, 3))
        base = rng.randrange(200, 9000)
        variants = [
            {
                "sku_code": f"B{number:04d}-{index}",
                "barcode": ean13_complete(f"69{number:06d}{index:04d}"),
                "specs": {"规格": size},
                "price": {"amount": base + index * 150, "currency": "CNY"},
            }
            for index, size in enumerate(sizes)
        ]
        product = services.product_create(
            actor=actor,
            data={
                "name": f"{brand} {category.name} {number:03d}",
                "category_id": category.pk,
                "subtitle": f"{brand}出品",
                "brand": brand,
                "tags": rng.sample(TAGS, rng.randint(0, 2)),
                "position": rng.randrange(5),
                "variants": variants,
            },
        )
        services.product_image_add(actor=actor, product=product, upload=_photo(rng))
        sku = product.variants.first()
        if number % 5 == 0:
            services.store_price_set(
                actor=actor, store=stores[0], sku=sku, price=Money(max(1, sku.price - 100), "CNY")
            )
        if number % 20 == 7:
            services.store_listing_set(actor=actor, store=stores[0], product=product, listed=False)
    from mendian.catalog.models import Product, Sku
    from mendian.inventory.services import stock_adjust

    # Live stock, as a store in service has it: most variants on the shelf, some sold out (缺货), so
    # every page's `available` is worked out from real stock levels.
    for sku in Sku.objects.filter(merchant=merchant).order_by("pk"):
        for store in stores:
            if rng.random() < 0.85:
                stock_adjust(actor=actor, store=store, sku=sku, delta=rng.randint(1, 60), reason="correction")

    Product.objects.filter(merchant=merchant).update(sales_count=0)
    for product in Product.objects.filter(merchant=merchant):
        Product.objects.filter(pk=product.pk).update(sales_count=rng.randrange(1000))
    print(f"seeded {PRODUCTS} products in {len(leaves)} categories; store id {stores[0].pk}", flush=True)


def analyze(database_url: str) -> None:
    """Fresh planner statistics, as autovacuum would have them on a database in service."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def bench_store_id(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT s.id FROM stores_store s JOIN merchants_merchant m ON m.id = s.merchant_id"
            " WHERE m.code = 'bench' AND s.code = 'b000'"
        ).fetchone()
    if row is None:
        raise SystemExit("the bench database is not seeded; run without --reuse")
    return row[0]


def db_path_urls(server: Server, store_id: int) -> list[str]:
    """Cursor pages (2nd onwards) of every top category and sort: never served from the cache."""
    status, body = server.get("/api/v1/categories")
    assert status == 200, body
    categories = [None] + [node["id"] for node in json.loads(body)["items"]]
    urls = []
    for category in categories:
        for sort in (None, "sales", "price", "new"):
            params = {
                "limit": 20,
                **({"category": category} if category else {}),
                **({"sort": sort} if sort else {}),
            }
            cursor = None
            for _ in range(15):
                query = urlencode({**params, **({"cursor": cursor} if cursor else {})})
                path = f"/api/v1/stores/{store_id}/products?{query}"
                status, body = server.get(path)
                assert status == 200, body
                if cursor:
                    urls.append(path)
                cursor = json.loads(body)["next_cursor"]
                if not cursor:
                    break
    random.Random(1).shuffle(urls)
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_PG + DATABASE)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--client-processes", type=int, default=4, help="without wrk")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="mendian-bench-catalog-"))
    env = bench_env(args.database_url, data_dir)
    env["REDIS_URL"] = args.redis_url
    if not args.reuse:
        recreate_database(args.database_url)
    subprocess.run([str(BIN_DIR / "mendian"), "migrate", "--verbosity", "0"], env=env, check=True)  # noqa: S603
    if not args.reuse:
        child = Process(target=seed, args=(env,))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit("seeding failed")
        analyze(args.database_url)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    store_id = bench_store_id(args.database_url)

    with Server(env) as server:
        cached_path = f"/api/v1/stores/{store_id}/products?limit=20"
        db_paths = db_path_urls(server, store_id)
        base = baseline_path(server)
        status, body = server.get(cached_path)
        assert status == 200 and len(json.loads(body)["items"]) == 20, body
        # The same minimal view through the pages' whole middleware chain, for comparison only.
        scenarios = [
            ("baseline " + base, [base]),
            (PAGE_PING, ["/bench/ping"]),
            ("DB path", db_paths),
            ("cached", [cached_path]),
        ]
        print(describe_machine())
        print(f"store {store_id}: {len(db_paths)} distinct DB-path URLs; cached URL {cached_path}")
        for name, paths in scenarios:  # warm every worker and connection pool
            load(
                server,
                name,
                paths,
                seconds=2,
                connections=args.connections,
                threads=args.threads,
                client_processes=args.client_processes,
            )
        runs: dict[str, list] = {name: [] for name, _ in scenarios}
        cpu_per_request: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in scenarios}
        database = urlsplit(args.database_url).path.lstrip("/")
        for run in range(args.runs):
            for name, paths in scenarios:
                app_before, pg_before = cpu_snapshot(server, database)
                result = load(
                    server,
                    name,
                    paths,
                    seconds=args.seconds,
                    connections=args.connections,
                    threads=args.threads,
                    client_processes=args.client_processes,
                )
                app_after, pg_after = cpu_snapshot(server, database)
                runs[name].append(result)
                app_ms = (app_after - app_before) / result.requests * 1000
                pg_ms = (pg_after - pg_before) / result.requests * 1000
                cpu_per_request[name].append((app_ms, pg_ms))
                print(
                    f"run {run + 1} {name:<22} {result.rps:>8.0f} req/s  p50 {result.p50_ms:.2f} ms  "
                    f"p99 {result.p99_ms:.2f} ms  errors {result.errors}  "
                    f"server CPU {app_ms:.3f} + PostgreSQL {pg_ms:.3f} ms/request",
                    flush=True,
                )

    medians = [median_result(results) for results in runs.values()]
    baseline = medians[0]
    print()
    print(f"median of {args.runs} runs, {args.seconds} s each, {args.connections} connections")
    print(format_table(medians, baseline))
    cpu = {
        name: statistics.median(app + pg for app, pg in samples) for name, samples in cpu_per_request.items()
    }
    print()
    print("CPU per request (server processes + PostgreSQL backends), median of the runs:")
    for name, samples in cpu_per_request.items():
        app = statistics.median(app for app, _ in samples)
        pg = statistics.median(pg for _, pg in samples)
        print(
            f"  {name:<24} {app:.3f} + {pg:.3f} = {cpu[name]:.3f} ms  ({cpu[medians[0].name] / cpu[name]:.2f}x baseline)"
        )
    print()
    failed = []
    page_ping = next(result for result in medians if result.name == PAGE_PING)
    for result in medians:
        if result.name not in TARGETS:
            continue
        ratio = result.rps / baseline.rps
        verdict = "ok" if ratio >= TARGETS[result.name] else "BELOW TARGET"
        print(
            f"{result.name}: {ratio:.2f}x baseline requests/s, {cpu[medians[0].name] / cpu[result.name]:.2f}x by CPU "
            f"(target >= {TARGETS[result.name]}x) {verdict}"
        )
        if ratio < TARGETS[result.name]:
            failed.append(result.name)
    print(
        "for comparison, against the minimal view through the pages' middleware chain (/bench/ping): "
        + ", ".join(
            f"{result.name} {result.rps / page_ping.rps:.2f}x requests/s, "
            f"{cpu[PAGE_PING] / cpu[result.name]:.2f}x by CPU"
            for result in medians
            if result.name in TARGETS
        )
    )
    if any(result.errors for result in medians):
        failed.append("errors")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
