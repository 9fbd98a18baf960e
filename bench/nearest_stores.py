"""Nearest-store search on 10,000 stores: the query in-process, and GET /api/v1/stores over HTTP.

    .venv/bin/python bench/nearest_stores.py [--database-url postgres://postgres@127.0.0.1:5432/mendian_bench]

Creates (or reuses) the PostgreSQL database, seeds one merchant with 10,000 stores bulk-inserted
(spread over eastern China, with a dense cluster around Wuhan 30.59, 114.30 and smaller ones in
other cities), EXPLAINs the search statement (its bounding-box prefilter on the indexed columns), then measures:
1. `stores_nearest(radius_km=10, limit=20)` called directly at random points in the Wuhan
   cluster (all of its queries and the opening-hours evaluation of the page): p10/p50/p99,
   calls/s and the Python CPU time per call (steadier than wall time on a busy machine), and
   the CPU time of its PostgreSQL backend per call;
2. `GET /api/v1/stores?lat&lng&radius_km=10&limit=20` against `mendian serve --no-worker`, beside
   the baseline view, with wrk; repeated, median reported, with the client's CPU and the server's
   peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - the bench directory is not a package
    DEFAULT_PG,
    Server,
    _cpu_seconds,
    baseline_path,
    bench_env,
    cpu_capacity_rps,
    cpu_snapshot,
    describe_machine,
    ensure_database,
    format_table,
    load,
    load_average,
    median_result,
    renice,
    setup_django,
    summary_of,
)

SEED_VERSION = 1
MERCHANT_CODE = "bench"
WUHAN = (30.59, 114.30)
# (centre, share of the stores, spread in degrees): Wuhan dense, other cities lighter, the rest
# anywhere in eastern China.
CLUSTERS = [
    (WUHAN, 0.30, 0.07),
    ((39.91, 116.40), 0.10, 0.12),  # Beijing
    ((31.23, 121.47), 0.10, 0.12),  # Shanghai
    ((23.13, 113.26), 0.08, 0.10),  # Guangzhou
    ((30.66, 104.07), 0.07, 0.10),  # Chengdu
]
COUNTRY = ((21.0, 45.0), (100.0, 122.0))
T = dt.time


def _point(rng: random.Random) -> tuple[float, float]:
    pick = rng.random()
    for (lat, lng), share, spread in CLUSTERS:
        if pick < share:
            return lat + rng.gauss(0, spread), lng + rng.gauss(0, spread * 1.15)
        pick -= share
    return rng.uniform(*COUNTRY[0]), rng.uniform(*COUNTRY[1])


def _hours(rng: random.Random) -> list[tuple[int, T, T]]:
    kind = rng.random()
    if kind < 0.15:
        return [(day, T(0), T(0)) for day in range(7)]
    if kind < 0.30:
        return [(day, T(7), T(23)) for day in range(5)] + [(day, T(9), T(2)) for day in (4, 5)]
    if kind < 0.35:
        return [(day, T(9), T(12)) for day in range(6)] + [(day, T(14), T(20)) for day in range(6)]
    return [(day, T(9), T(21)) for day in range(7)]


def seed(count: int) -> tuple[int, bool]:
    """The bench merchant's stores; rebuilt only when the count or the seed version differs."""
    from django.db import connection, transaction

    from mendian.core.scope import Actor
    from mendian.merchants.models import Merchant
    from mendian.merchants.services import merchant_create
    from mendian.stores.models import OpeningHours, Store, StoreStatus

    merchant = Merchant.objects.filter(code=MERCHANT_CODE).first()
    if merchant is None:
        merchant = merchant_create(actor=Actor.system(), code=MERCHANT_CODE, name="压测连锁")
    marker = {"bench_seed": SEED_VERSION, "stores": count}
    if merchant.settings.get("bench") == marker and Store.objects.filter(merchant=merchant).count() == count:
        return merchant.pk, False

    rng = random.Random(20250301)  # noqa: S311 - reproducible test data
    with transaction.atomic():
        OpeningHours.objects.filter(store__merchant=merchant).delete()
        Store.objects.filter(merchant=merchant).delete()
        stores = []
        for n in range(count):
            lat, lng = _point(rng)
            status = StoreStatus.PAUSED if rng.random() < 0.03 else StoreStatus.OPEN
            if rng.random() < 0.02:
                status = StoreStatus.CLOSED
            stores.append(
                Store(
                    merchant=merchant,
                    code=f"b{n:05d}",
                    name=f"压测门店{n:05d}",
                    city="",
                    address=f"测试路{n}号",
                    lat=min(max(lat, -90), 90),
                    lng=min(max(lng, -180), 180),
                    status=status,
                    pickup_enabled=True,
                    delivery_enabled=rng.random() < 0.6,
                    delivery_radius_m=rng.choice([2000, 3000, 5000]),
                )
            )
        Store.objects.bulk_create(stores, batch_size=2000)
        hours = [
            OpeningHours(store=store, weekday=day, opens=opens, closes=closes)
            for store in stores
            for day, opens, closes in _hours(rng)
        ]
        OpeningHours.objects.bulk_create(hours, batch_size=5000)
        merchant.settings = {**merchant.settings, "bench": marker}
        merchant.save(update_fields=["settings", "updated_at"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stores_store")
        cursor.execute("ANALYZE stores_openinghours")
    return merchant.pk, True


def random_points(count: int, rng: random.Random) -> list[tuple[float, float]]:
    """Customers in Wuhan: mostly the dense centre, some towards the edges."""
    return [(WUHAN[0] + rng.gauss(0, 0.05), WUHAN[1] + rng.gauss(0, 0.06)) for _ in range(count)]


def explain_search() -> str:
    """EXPLAIN ANALYZE of the statement `stores_nearest` runs: the ranked page (id, distance)."""
    from django.db import connection

    from mendian.stores.selectors import stores_nearest_sql

    sql, params = stores_nearest_sql(lat=WUHAN[0], lng=WUHAN[1], radius_m=10_000, limit=20)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure_direct(calls: int, rng: random.Random) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mendian.stores.selectors import stores_nearest, stores_nearest_sql

    points = random_points(calls, rng)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = {cursor.fetchone()[0]}
        renice([os.getpid(), *backend])
    for lat, lng in points[:200]:  # warm up the connection, caches and the plan
        stores_nearest(lat=lat, lng=lng, radius_km=10, limit=20)
    samples, full_samples, hits, full_rows, cpu_s, pg_cpu_s = [], [], 0, 0, 0.0, 0.0
    for lat, lng in points:
        pg_started = _cpu_seconds(backend)  # clock ticks: exact summed over many calls
        started, cpu_started = time.perf_counter(), time.process_time()
        found = stores_nearest(lat=lat, lng=lng, radius_km=10, limit=20)
        samples.append(time.perf_counter() - started)
        cpu_s += time.process_time() - cpu_started
        pg_cpu_s += _cpu_seconds(backend) - pg_started
        hits += len(found)
        started = time.perf_counter()
        sql, params = stores_nearest_sql(lat=lat, lng=lng, radius_m=10_000)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            full_rows += len(cursor.fetchall())
        full_samples.append(time.perf_counter() - started)
    queries = 0
    for lat, lng in points[:100]:
        with CaptureQueriesContext(connection) as captured:
            stores_nearest(lat=lat, lng=lng, radius_km=10, limit=20)
        queries += len(captured.captured_queries)
    return {
        "stores_nearest": summary_of(samples),
        "python_cpu_ms_per_call": cpu_s / len(points) * 1000,
        "postgres_cpu_ms_per_call": pg_cpu_s / len(points) * 1000,
        "queries_per_call": queries / min(100, len(points)),
        "whole_10km_radius_ranked": summary_of(full_samples),
        "stores_in_10km": full_rows / len(points),
        "stores_returned": hits / len(points),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=f"{DEFAULT_PG}mendian_bench")
    parser.add_argument("--stores", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=2_000, help="direct stores_nearest calls")
    parser.add_argument("--seconds", type=int, default=10, help="per HTTP run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--client-processes", type=int, default=4, help="without wrk")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    ensure_database(args.database_url)
    data_dir = Path(tempfile.mkdtemp(prefix="mendian-bench-"))
    env = bench_env(args.database_url, data_dir)
    setup_django(env)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    merchant_id, seeded = seed(args.stores)
    print(f"machine: {describe_machine()}; {load_average()}")
    print(
        f"database: {args.database_url} — {args.stores} stores "
        f"({'seeded in %.1f s' % (time.perf_counter() - started) if seeded else 'reused'})"
    )
    print("\nEXPLAIN ANALYZE of the search statement (Wuhan centre, 10 km, 20 stores):")
    print(explain_search())

    rng = random.Random(7)  # noqa: S311
    direct = measure_direct(args.calls, rng)
    nearest = direct["stores_nearest"]
    full = direct["whole_10km_radius_ranked"]
    print(
        f"\nstores_nearest(radius_km=10, limit=20), {nearest['calls']} calls in-process ({load_average()}): "
        f"p10 {nearest['p10_ms']:.2f} ms, p50 {nearest['p50_ms']:.2f} ms, p99 {nearest['p99_ms']:.2f} ms, "
        f"mean {nearest['mean_ms']:.2f} ms, {nearest['calls_per_s']:.0f} calls/s (one thread), "
        f"{direct['python_cpu_ms_per_call']:.2f} ms of Python CPU per call "
        f"(+ {direct['postgres_cpu_ms_per_call']:.2f} ms of its PostgreSQL backend); "
        f"{direct['stores_returned']:.1f} stores returned, {direct['queries_per_call']:.1f} queries per call"
    )
    print(
        f"  for comparison, ranking every store within 10 km ({direct['stores_in_10km']:.0f} stores, "
        f"what open_now searches rank): p50 {full['p50_ms']:.2f} ms, p99 {full['p99_ms']:.2f} ms"
    )
    print(f"  target p99 < 20 ms: {'met' if nearest['p99_ms'] < 20 else 'NOT met'}")
    print(
        f"  peak RSS of this (benchmark) process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    report = {"stores": args.stores, "direct": direct}

    if not args.skip_http:
        from django.db import connections

        connections.close_all()
        paths = [
            f"/api/v1/stores?lat={lat:.5f}&lng={lng:.5f}&radius_km=10&limit=20"
            for lat, lng in random_points(500, random.Random(11))  # noqa: S311
        ]
        with Server(env, workers=args.workers) as server:
            base = baseline_path(server)
            status, body = server.get(paths[0])
            if status != 200 or len(json.loads(body)["items"]) != 20:
                raise SystemExit(f"sanity check failed: {status} {body[:300]!r}")
            print(f"\nserver: mendian serve --no-worker --workers {args.workers} on {server.base_url}")
            print(f"baseline: {base}; idle server RSS {server.rss_mb():.0f} MiB")
            options = {
                "seconds": args.seconds,
                "connections": args.connections,
                "threads": args.threads,
                "client_processes": args.client_processes,
            }
            load(server, "warm-up", paths, **{**options, "seconds": 3})
            runs: dict[str, list] = {"baseline": [], "nearest": []}
            cpu_ms: dict[str, list[float]] = {"baseline": [], "nearest": []}
            database = urlsplit(args.database_url).path.lstrip("/")
            for _ in range(args.repeat):
                for name, label, targets in (
                    ("baseline", f"baseline {base}", [base]),
                    ("nearest", "GET /api/v1/stores (10 km, 20)", paths),
                ):
                    before = cpu_snapshot(server, database)
                    result = load(server, label, targets, **options)
                    after = cpu_snapshot(server, database)
                    runs[name].append(result)
                    cpu_ms[name].append(
                        (after[0] - before[0] + after[1] - before[1]) / result.requests * 1000
                    )
        results = {name: median_result(batch) for name, batch in runs.items()}
        print(
            f"\nHTTP, {args.connections} connections, {args.seconds} s per run, median of {args.repeat} runs "
            f"({load_average()} at the end):"
        )
        print(format_table([results["baseline"], results["nearest"]], results["baseline"]))
        print("CPU per request (server processes + PostgreSQL backends), median of the runs:")
        for name, samples in cpu_ms.items():
            median_ms = statistics.median(samples)
            print(
                f"  {name:<10} {median_ms:.3f} ms -> {cpu_capacity_rps(median_ms):,.0f} requests/s on "
                f"{os.cpu_count()} cores with nothing else running"
            )
        report["http_cpu_ms"] = {name: statistics.median(samples) for name, samples in cpu_ms.items()}
        report["http"] = {name: vars(result) for name, result in results.items()}
        report["http_runs"] = {name: [vars(run) for run in batch] for name, batch in runs.items()}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
