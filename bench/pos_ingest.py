"""POS stock-event ingestion over the signed open API, against the real server.

    .venv/bin/python bench/pos_ingest.py [--repeats 3] [--clients 2] [--redis-url URL] [--database-url URL]

A fresh PostgreSQL database `mendian_bench_pos` (dropped and recreated each run): one merchant,
50 stores × 200 SKUs. First every level is seeded through the API (10,000 `receive` events), then
each repeat sends 10,000 new signed events (sales, returns, receipts, transfers, counts) in batches
of 1000 over HTTP to `mendian serve --no-worker`, `--clients` batches in flight at a time. Each
batch carries the events of the stores one POS hub syncs (5 stores per batch), as chain POS
systems do. Reported: events/s (median of the repeats), per-batch p50/p99, the baseline view's
req/s in the same run, the client's CPU, the server's peak RSS; then a re-send of one batch (all
duplicates), and the invariants (no level negative, on_hand = the sum of the ledger).
Goal: ≥ 2,000 events/s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import (  # noqa: E402
    DEFAULT_PG,
    Server,
    baseline_path,
    bench_env,
    cpu_capacity_rps,
    cpu_snapshot,
    describe_machine,
    load,
    percentile,
    setup_django,
)

DATABASE = "mendian_bench_pos"
STORES, SKUS = 50, 200
EVENTS, BATCH = 10_000, 1000
STORES_PER_BATCH = 5
SEED_QUANTITY = 1000


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def recreate_database(database_url: str) -> None:
    """A clean database per run: stock movements are append-only, so old runs cannot be deleted."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def seed() -> tuple[str, str, list[str], list[str]]:
    """The chain: returns (key id, secret, store codes, SKU codes)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from mendian.catalog.models import Category, Product, Sku
    from mendian.core.scope import Actor
    from mendian.integrations.services import api_key_create
    from mendian.merchants.models import Merchant
    from mendian.stores.models import Store

    merchant = Merchant.objects.create(code="benchpos", name="POS 基准")
    Store.objects.bulk_create(
        Store(
            merchant=merchant,
            code=f"s{n:03d}",
            name=f"门店{n}",
            address=f"江汉路{n}号",
            lat=30.58 + n / 1000,
            lng=114.28 + n / 1000,
        )
        for n in range(STORES)
    )
    category = Category.objects.create(merchant=merchant, name="饮料")
    products = Product.objects.bulk_create(
        Product(merchant=merchant, category=category, name=f"商品{n}", min_price=500) for n in range(SKUS)
    )
    Sku.objects.bulk_create(
        Sku(product=product, merchant=merchant, sku_code=f"SKU{n:05d}", barcode=f"69{n:011d}", price=500)
        for n, product in enumerate(products)
    )
    api_key, secret = api_key_create(actor=Actor.system(merchant.pk), name="bench POS")
    return api_key.key_id, secret, [f"s{n:03d}" for n in range(STORES)], [f"SKU{n:05d}" for n in range(SKUS)]


def batches_of(events: list[dict]) -> list[list[dict]]:
    return [events[i : i + BATCH] for i in range(0, len(events), BATCH)]


def seed_events(stores: list[str], skus: list[str]) -> list[list[dict]]:
    at = "2026-03-01T08:00:00+08:00"
    events = [
        {
            "event_id": f"seed-{store}-{sku}",
            "store_code": store,
            "sku_code": sku,
            "type": "receive",
            "quantity": SEED_QUANTITY,
            "occurred_at": at,
        }
        for store in stores
        for sku in skus
    ]
    return batches_of(events)


def mixed_events(run: int, stores: list[str], skus: list[str], rng: random.Random) -> list[list[dict]]:
    """10 batches; batch b holds 1000 events of stores 5b … 5b+4 (a POS hub's stores)."""
    kinds = (
        ["sale"] * 80
        + ["return"] * 5
        + ["receive"] * 8
        + ["transfer_out"] * 3
        + ["transfer_in"] * 3
        + ["count"]
    )
    batches = []
    for b in range(EVENTS // BATCH):
        hub = stores[(b * STORES_PER_BATCH) % len(stores) :][:STORES_PER_BATCH]
        batch = []
        for n in range(BATCH):
            kind = rng.choice(kinds)
            sku = rng.randrange(len(skus))
            # Half name the SKU by code, half by barcode, as tills do.
            names_sku = {"sku_code": skus[sku]} if n % 2 else {"barcode": f"69{sku:011d}"}
            batch.append(
                {
                    "event_id": f"r{run}-b{b}-{n}",
                    "store_code": rng.choice(hub),
                    **names_sku,
                    "type": kind,
                    "quantity": rng.randint(200, 400) if kind == "count" else rng.randint(1, 3),
                    "occurred_at": f"2026-03-01T{10 + run:02d}:{n // 60 % 60:02d}:{n % 60:02d}+08:00",
                }
            )
        batches.append(batch)
    return batches


class PosClient:
    def __init__(self, base_url: str, key_id: str, secret: str):
        from mendian.integrations import signing

        self.signing = signing
        self.base_url, self.key_id, self.secret = base_url, key_id, secret
        self.local = threading.local()

    def _client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(base_url=self.base_url, timeout=120)
        return self.local.client

    def post_batch(self, events: list[dict]) -> tuple[float, dict]:
        path = "/api/open/v1/stock-events"
        body = json.dumps({"events": events}, separators=(",", ":")).encode()
        started = time.perf_counter()
        headers = self.signing.signed_headers(
            key_id=self.key_id, secret=self.secret, method="POST", path=path, body=body
        )
        reply = self._client().post(
            path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        elapsed = time.perf_counter() - started
        if reply.status_code != 200:
            raise RuntimeError(f"batch refused: {reply.status_code} {reply.text[:500]}")
        return elapsed, reply.json()


def send(client: PosClient, batches: list[list[dict]], clients: int) -> tuple[float, list[float], dict]:
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    codes: dict[str, int] = {}
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(client.post_batch, batches))
    wall = time.perf_counter() - started
    for _, reply in results:
        totals["accepted"] += reply["accepted"]
        totals["duplicates"] += reply["duplicates"]
        totals["rejected"] += len(reply["rejected"])
        for item in reply["rejected"]:
            codes[item["code"]] = codes.get(item["code"], 0) + 1
    totals["rejected_codes"] = codes
    return wall, [elapsed for elapsed, _ in results], totals


def check_invariants() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE l.on_hand < 0 OR l.reserved < 0 OR l.reserved > l.on_hand),
                   count(*) FILTER (WHERE l.on_hand <> COALESCE(m.total, 0)),
                   count(*), (SELECT count(*) FROM inventory_stockmovement)
            FROM inventory_stocklevel l
            LEFT JOIN (SELECT store_id, sku_id, SUM(delta_on_hand) AS total
                       FROM inventory_stockmovement GROUP BY store_id, sku_id) m
              ON m.store_id = l.store_id AND m.sku_id = l.sku_id
            """
        )
        bad_range, bad_sum, levels, movements = cursor.fetchone()
    return (
        f"{levels} levels, {movements} movements; out of range: {bad_range}; on_hand ≠ ledger sum: {bad_sum}"
        + ("  OK" if bad_range == 0 == bad_sum else "  BROKEN")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=DEFAULT_PG + DATABASE, help="dropped and recreated on every run"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2, help="batches in flight at once")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--redis-url", default="", help="REDIS_URL for the server (nonces in Redis); empty: DB"
    )
    args = parser.parse_args()

    database_url = args.database_url
    recreate_database(database_url)
    data_dir = Path(tempfile.mkdtemp(prefix="mendian-bench-pos-"))
    env = bench_env(database_url, data_dir)
    env["REDIS_URL"] = args.redis_url
    env["CELERY_BROKER_URL"] = "memory://"  # no worker here; kicks must not spool to disk
    setup_django(env)
    key_id, secret, stores, skus = seed()
    rng = random.Random(20260301)  # noqa: S311 - reproducible load, not security

    print(f"# POS ingest — {describe_machine()}")
    print(
        f"# {STORES} stores × {SKUS} SKUs; {EVENTS} events per repeat in batches of {BATCH}; "
        f"{args.clients} in flight; server: {args.workers} workers; nonces in {'Redis' if args.redis_url else 'PostgreSQL'}"
    )
    with Server(env, workers=args.workers) as server:
        client = PosClient(server.base_url, key_id, secret)
        usage_before = resource.getrusage(resource.RUSAGE_SELF)
        wall, latencies, totals = send(client, seed_events(stores, skus), args.clients)
        print(
            f"seed (10,000 receive events, creates every level): {EVENTS / wall:,.0f} events/s, "
            f"batch p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms; "
            f"{totals}"
        )

        runs = []
        server.prioritise()
        cpu_before = cpu_snapshot(server, database_name(database_url))
        with server.peak_rss() as peak:
            for run in range(args.repeats):
                batches = mixed_events(run, stores, skus, rng)
                wall, latencies, totals = send(client, batches, args.clients)
                runs.append((EVENTS / wall, latencies, totals, wall))
                print(
                    f"run {run + 1}: {EVENTS / wall:,.0f} events/s in {wall:.2f} s; batch p50 "
                    f"{percentile(latencies, 0.5) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms; "
                    f"accepted {totals['accepted']}, duplicates {totals['duplicates']}, rejected "
                    f"{totals['rejected']} {totals['rejected_codes']}"
                )
            rss = peak()
        cpu_after = cpu_snapshot(server, database_name(database_url))
        app_cpu, pg_cpu = (cpu_after[0] - cpu_before[0]), (cpu_after[1] - cpu_before[1])
        cpu_ms_per_event = (app_cpu + pg_cpu) / (args.repeats * EVENTS) * 1000
        usage_after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (usage_after.ru_utime + usage_after.ru_stime) - (
            usage_before.ru_utime + usage_before.ru_stime
        )

        replay_batch = mixed_events(0, stores, skus, random.Random(20260301))[0]
        elapsed, reply = client.post_batch(replay_batch)
        print(
            f"re-send of a seen batch: {reply['duplicates']} duplicates, {reply['accepted']} accepted, "
            f"{elapsed * 1000:.0f} ms ({BATCH / elapsed:,.0f} events/s)"
        )

        base = load(
            server,
            "baseline " + baseline_path(server),
            [baseline_path(server)],
            seconds=5,
            connections=16,
            threads=2,
            client_processes=4,
        )
        print(f"baseline view in the same run: {base.rps:,.0f} req/s, p50 {base.p50_ms:.2f} ms")

    rates = sorted(runs, key=lambda r: r[0])
    median_rate, median_latencies, _, _ = rates[len(rates) // 2]
    all_latencies = [lat for run in runs for lat in run[1]]
    print()
    print(
        f"RESULT events/s (median of {len(runs)}): {median_rate:,.0f}   "
        f"[runs: {', '.join(f'{r[0]:,.0f}' for r in runs)}]   goal ≥ 2,000: "
        f"{'met' if median_rate >= 2000 else 'NOT met'}"
    )
    print(
        f"RESULT per-batch latency (1000 events), all runs: p50 {percentile(all_latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(all_latencies, 0.99) * 1000:.0f} ms; median run: p50 "
        f"{percentile(median_latencies, 0.5) * 1000:.0f} ms, p99 {percentile(median_latencies, 0.99) * 1000:.0f} ms"
    )
    print(
        f"RESULT client CPU {client_cpu:.1f} s for {len(runs) * EVENTS:,} events; server peak RSS {rss:.0f} MiB"
    )
    print(
        f"RESULT CPU per event: server {app_cpu / (args.repeats * EVENTS) * 1000:.3f} + PostgreSQL "
        f"{pg_cpu / (args.repeats * EVENTS) * 1000:.3f} = {cpu_ms_per_event:.3f} ms; on {os.cpu_count()} cores "
        f"with nothing else running: {cpu_capacity_rps(cpu_ms_per_event):,.0f} events/s"
    )
    print(f"RESULT invariants: {check_invariants()}")


if __name__ == "__main__":
    main()
