"""Benchmark: the checkout hot path and the complete order — `POST /api/v1/checkout/quote`,
`POST /api/v1/orders` (3 lines, stock reserved, with an Idempotency-Key), `GET /api/v1/orders/{id}`
and the whole flow order → sandbox payment → notify → paid — against the real server.

Seeds PostgreSQL database `mendian_bench_orders` (recreated each run) with one merchant, one store
open all day, 30 SKUs with a million units each (through the inventory service) and 64 members with
access tokens. Then it starts `mendian serve --no-worker` (MENDIAN_BENCH=1, MENDIAN_SANDBOX=1) and
measures, `--runs` times each, median reported. The baseline and the flow are driven by `wrk`
(`--connections`, one wrk thread per keep-alive connection, each its own member; the flow is a
LuaJIT script), which takes a small fraction of the CPU Python clients would take from the
server's two cores; quote, order and detail by Python client processes (`--client-processes`;
`--client python` drives everything that way):

- baseline: the minimal Django JSON view (`/api/v1/bench/ping`) on the same server and middleware;
- quote:    the pricing pipeline and every check, no writes;
- order:    a 3-line pickup order (about 20 queries with its Idempotency-Key; one guarded stock UPDATE);
- detail:   a member reading one of their orders;
- flow:     one complete order per iteration, four requests: create the order, start a sandbox
            payment (`POST /api/v1/orders/{id}/payments`), pay on the sandbox gateway's page
            (`POST /sandbox-pay/{payment_id}/confirm`, which signs the notification and passes it
            through the same notify path as a provider's callback), read the order back `paid`.
            Its figure is complete orders/s (target >= 100) and the latency of a whole order.

Besides requests/s and p50/p99 it prints the CPU that the server's processes and this database's
PostgreSQL backends spent per request, and the rate that CPU would allow on this machine's cores
with nothing else running. Afterwards every level must still equal its ledger (`mendian
check-stock`) and the number of orders in the database must equal the 201s counted by the clients
(plus at most the order requests still unanswered when wrk stopped).

    .venv/bin/python bench/order_flow.py [--seconds 10] [--connections 16] [--client-processes 8]
        [--runs 3] [--scenarios quote,order,detail,flow] [--client wrk|python]
        [--database-url postgres://…/mendian_bench_orders] [--redis-url redis://…/4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Process, Queue
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BIN_DIR,
    DEFAULT_PG,
    WRK,
    LoadResult,
    Server,
    baseline_path,
    bench_env,
    cpu_capacity_rps,
    cpu_snapshot,
    describe_machine,
    ensure_database,
    format_table,
    median_result,
    percentile,
    run_wrk,
    setup_django,
)

DATABASE = "mendian_bench_orders"
FLOW = "flow: order→pay→notify→paid"
TARGET_ORDERS_PER_S = 100
SKUS = 30
MEMBERS = 64
UNITS = 1_000_000


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


def seed(env: dict[str, str], out: Queue) -> None:
    """Merchant, store, SKUs with stock, members with tokens (runs in a child process)."""
    setup_django(env)
    from mendian.accounts.models import Customer
    from mendian.accounts.tokens import customer_tokens_issue
    from mendian.catalog.models import Category, Product, Sku
    from mendian.core.pii import blind_index
    from mendian.core.scope import Actor
    from mendian.inventory.services import stock_adjust
    from mendian.merchants.models import Merchant
    from mendian.stores.models import OpeningHours, Store

    merchant = Merchant.objects.create(code="bench", name="压测便利")
    store = Store.objects.create(
        merchant=merchant, code="b000", name="压测门店", address="江汉路1号", lat=30.58, lng=114.28
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(store=store, weekday=day, opens="00:00", closes="00:00") for day in range(7)
    )
    category = Category.objects.create(merchant=merchant, name="饮料")
    actor = Actor.system(merchant.pk)
    sku_ids = []
    for number in range(SKUS):
        product = Product.objects.create(
            merchant=merchant, category=category, name=f"商品{number:02d}", min_price=300
        )
        sku = Sku.objects.create(
            product=product, merchant=merchant, sku_code=f"B{number:03d}", price=300 + number * 10
        )
        stock_adjust(actor=actor, store=store, sku=sku, delta=UNITS, reason="found")
        sku_ids.append(sku.pk)
    tokens = []
    for number in range(MEMBERS):
        phone = f"139{number:08d}"
        customer = Customer.objects.create(phone=phone, phone_hash=blind_index(phone))
        tokens.append(customer_tokens_issue(customer=customer)["access_token"])
    out.put({"store_id": store.pk, "sku_ids": sku_ids, "tokens": tokens})


def _body(world: dict, rng: random.Random) -> bytes:
    lines = [{"sku_id": str(sku), "quantity": rng.randint(1, 3)} for sku in rng.sample(world["sku_ids"], 3)]
    body = {"store_id": str(world["store_id"]), "lines": lines, "fulfilment": {"type": "pickup"}}
    return json.dumps(body).encode()


def _flow(connection, world: dict, token: str, rng: random.Random, key: str) -> tuple[bool, bool]:
    """One complete order over HTTP, as a customer and the sandbox gateway make it: create the
    order, start a sandbox payment, pay on the gateway's page (which sends the signed notification
    through the notify path), then read the order back: (order created, order read back paid)."""
    auth = {"Accept": "application/json", "Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body: bytes | None = None, extra: dict | None = None):
        headers = {**auth, **(extra or {})}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()

    status, payload = call("POST", "/api/v1/orders", _body(world, rng), {"Idempotency-Key": key})
    if status != 201:
        return False, False
    order_id = json.loads(payload)["id"]
    status, payload = call(
        "POST",
        f"/api/v1/orders/{order_id}/payments",
        b'{"provider": "sandbox"}',
        {"Idempotency-Key": key + "p"},
    )
    if status != 201:
        return True, False
    payment_id = json.loads(payload)["payment_id"]
    status, _ = call("POST", f"/sandbox-pay/{payment_id}/confirm")
    if status != 200:
        return True, False
    status, payload = call("GET", f"/api/v1/orders/{order_id}")
    return True, status == 200 and json.loads(payload)["status"] == "paid"


def _client(base_url: str, scenario: str, world: dict, seconds: float, worker: int, results: Queue) -> None:
    """One keep-alive connection; members `worker, worker + n, …` take turns. For the `flow`
    scenario a latency is a whole order (four requests) and `created` counts orders seen paid."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    rng = random.Random(worker)  # noqa: S311 - load shape, not security
    tokens = world["tokens"][worker :: world["processes"]] or world["tokens"]
    order_ids: dict[str, list[str]] = {token: [] for token in tokens}
    latencies, errors, created, index = [], 0, 0, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        token = tokens[index % len(tokens)]
        index += 1
        if scenario == "flow":
            started = time.perf_counter()
            made = paid = False
            try:
                made, paid = _flow(
                    connection, world, token, rng, f"flow-{worker}-{index}-{time.monotonic_ns()}"
                )
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            latencies.append(time.perf_counter() - started)
            created += made
            errors += not paid
            continue
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        method, path, body, expect = "GET", world["baseline"], None, 200
        if scenario == "quote":
            method, path, body = "POST", "/api/v1/checkout/quote", _body(world, rng)
        elif scenario == "order":
            method, path, body, expect = "POST", "/api/v1/orders", _body(world, rng), 201
            headers["Idempotency-Key"] = f"bench-{worker}-{index}-{time.monotonic_ns()}"
        elif scenario == "detail":
            mine = world["orders"].get(token) or []
            if mine:
                path = f"/api/v1/orders/{rng.choice(mine)}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            if response.status != expect:
                errors += 1
            elif scenario == "order":
                created += 1
                order_ids[token].append(json.loads(payload)["id"])
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        latencies.append(time.perf_counter() - started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((latencies, errors, usage.ru_utime + usage.ru_stime, created, order_ids))


_WRK_FLOW = """
-- One complete order per iteration, four requests, on one connection per wrk thread (so a
-- thread's state is its connection's): create the order, start a sandbox payment, pay on the
-- gateway's page, read the order back paid. Per-order latency from CLOCK_MONOTONIC (LuaJIT ffi).
local TOKENS = {%(tokens)s}
local SKUS = {%(skus)s}
local STORE, RUN = %(store)s, %(run)s
local threads, count = {}, 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  thread:set("token", TOKENS[(count - 1) %% #TOKENS + 1])
  table.insert(threads, thread)
end

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } mendian_timespec;
int clock_gettime(int clk_id, mendian_timespec *tp);
]]
local ts = ffi.new("mendian_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

function init(args)
  math.randomseed(tid * 7919)
  step, n, created, refused, paid, errors, lat = 1, 0, 0, 0, 0, 0, {}
  auth = "Bearer " .. token
end

local function post(path, body, key)
  local headers = {["Authorization"] = auth, ["Accept"] = "application/json"}
  if body then headers["Content-Type"] = "application/json" end
  if key then headers["Idempotency-Key"] = key end
  return wrk.format("POST", path, headers, body or "")
end

function request()
  if step == 1 then
    n = n + 1
    started = now_us()
    local picked, lines = {}, {}
    while #lines < 3 do
      local sku = SKUS[math.random(#SKUS)]
      if not picked[sku] then
        picked[sku] = true
        lines[#lines + 1] = string.format('{"sku_id":"%%s","quantity":%%d}', sku, math.random(1, 3))
      end
    end
    local body = string.format('{"store_id":"%%s","lines":[%%s],"fulfilment":{"type":"pickup"}}',
      STORE, table.concat(lines, ","))
    return post("/api/v1/orders", body, string.format("wrk-%%s-%%d-%%d", RUN, tid, n))
  elseif step == 2 then
    return post("/api/v1/orders/" .. order_id .. "/payments", '{"provider":"sandbox"}',
      string.format("wrk-%%s-%%d-%%d-p", RUN, tid, n))
  elseif step == 3 then
    return post("/sandbox-pay/" .. payment_id .. "/confirm")
  end
  return wrk.format("GET", "/api/v1/orders/" .. order_id, {["Authorization"] = auth, ["Accept"] = "application/json"})
end

function response(status, headers, body)
  if step == 1 then
    if status == 201 then created = created + 1 else refused = refused + 1 end
  end
  if step == 1 and status == 201 then
    order_id = body:match('"id":%%s*"([^"]+)"')
    step = order_id and 2 or 1
    if not order_id then errors = errors + 1 end
  elseif step == 2 and status == 201 then
    payment_id = body:match('"payment_id":%%s*"([^"]+)"')
    step = payment_id and 3 or 1
    if not payment_id then errors = errors + 1 end
  elseif step == 3 and status == 200 then
    step = 4
  elseif step == 4 and status == 200 and body:match('"status":%%s*"([^"]+)"') == "paid" then
    paid = paid + 1
    lat[#lat + 1] = now_us() - started
    step = 1
  else
    errors, step = errors + 1, 1
  end
end

function done(summary, latency, requests)
  local created_all, paid_all, errors_all, in_flight, all = 0, 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    created_all = created_all + thread:get("created")
    -- An order request still unanswered when wrk stopped may have been created: counted apart.
    in_flight = in_flight + thread:get("n") - thread:get("created") - thread:get("refused")
    paid_all = paid_all + thread:get("paid")
    errors_all = errors_all + thread:get("errors")
    for _, value in ipairs(thread:get("lat")) do all[#all + 1] = value end
  end
  table.sort(all)
  local function pct(f) if #all == 0 then return 0 end return all[math.max(1, math.ceil(#all * f))] end
  io.write(string.format('\\nWRK_FLOW {"created": %%d, "in_flight": %%d, "paid": %%d, "errors": %%d, '
    .. '"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d}\\n', created_all, in_flight,
    paid_all, errors_all, summary.requests, summary.duration, pct(0.5), pct(0.99)))
end
"""


def run_wrk_flow(server: Server, world: dict, *, seconds: int, connections: int) -> tuple[LoadResult, int]:
    """The flow driven by wrk (C + LuaJIT: a small fraction of the Python clients' CPU on the
    same cores): (result per complete order, orders created)."""
    script_text = _WRK_FLOW % {
        "tokens": ", ".join(json.dumps(token) for token in world["tokens"]),
        "skus": ", ".join(json.dumps(str(sku)) for sku in world["sku_ids"]),
        "store": json.dumps(str(world["store_id"])),
        "run": json.dumps(f"{time.time_ns():x}"),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    try:
        command = [WRK, f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
        command += ["-s", script.name, server.base_url + "/"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        os.unlink(script.name)
    line = next((ln for ln in output.splitlines() if ln.startswith("WRK_FLOW ")), None)
    if os.waitstatus_to_exitcode(status) != 0 or line is None:
        raise RuntimeError(f"wrk failed:\n{output}")
    data = json.loads(line.removeprefix("WRK_FLOW "))
    elapsed = data["duration_us"] / 1e6
    result = LoadResult(
        name=FLOW,
        requests=data["paid"] + data["errors"],
        seconds=elapsed,
        rps=data["paid"] / elapsed,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"],
        client_cpu_s=usage.ru_utime + usage.ru_stime,
    )
    result.in_flight = data["in_flight"]
    return result, data["created"]


def run(server: Server, name: str, scenario: str, world: dict, *, seconds: int, processes: int):
    if WRK and world.get("client") == "wrk" and scenario in ("baseline", "flow"):
        return _run_with_wrk(server, name, scenario, world, seconds=seconds, connections=world["connections"])
    results: Queue = Queue()
    world = {**world, "processes": processes}
    workers = [
        Process(target=_client, args=(server.base_url, scenario, world, seconds, n, results))
        for n in range(processes)
    ]
    database = urlsplit(world["database_url"]).path.lstrip("/")
    server.prioritise()
    app_before, pg_before = cpu_snapshot(server, database)
    with server.peak_rss() as peak:
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        gathered = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
    app_after, pg_after = cpu_snapshot(server, database)
    latencies = [latency for batch, *_ in gathered for latency in batch]
    result = LoadResult(
        name=name,
        requests=len(latencies),
        seconds=elapsed,
        rps=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        errors=sum(g[1] for g in gathered),
        client_cpu_s=sum(g[2] for g in gathered),
        server_peak_rss_mb=peak(),
    )
    # CPU of the server's processes and of this database's PostgreSQL backends per request (per
    # complete order for the flow): what other work on a shared machine does not inflate.
    result.cpu_ms = ((app_after - app_before) + (pg_after - pg_before)) / max(1, len(latencies)) * 1000
    orders: dict[str, list[str]] = {}
    for *_, by_token in gathered:
        for token, ids in by_token.items():
            orders.setdefault(token, []).extend(ids)
    return result, sum(g[3] for g in gathered), orders


def _run_with_wrk(server: Server, name: str, scenario: str, world: dict, *, seconds: int, connections: int):
    database = urlsplit(world["database_url"]).path.lstrip("/")
    server.prioritise()
    app_before, pg_before = cpu_snapshot(server, database)
    created = 0
    with server.peak_rss() as peak:
        if scenario == "flow":
            result, created = run_wrk_flow(server, world, seconds=seconds, connections=connections)
        else:
            result = run_wrk(
                name,
                server.base_url,
                [world["baseline"]],
                seconds=seconds,
                connections=connections,
                threads=2,
            )
    app_after, pg_after = cpu_snapshot(server, database)
    result.name, result.server_peak_rss_mb = name, peak()
    done = result.requests - (result.errors if scenario == "flow" else 0)
    result.cpu_ms = ((app_after - app_before) + (pg_after - pg_before)) / max(1, done) * 1000
    return result, created, {}


def count_orders(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]


def analyze(database_url: str) -> None:
    """Refresh the planner's statistics, as autovacuum would on a production server (the
    benchmark's PostgreSQL may run with autovacuum off; the tables grow from nothing during a run,
    and plans chosen for empty tables can cost more with every order)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_PG + DATABASE)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--client-processes", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--threads", type=int, default=8, help="blocking threads per worker")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (one wrk thread each)")
    parser.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk",
        help="load generator for the baseline and the flow (wrk when installed; python: client processes)",
    )
    parser.add_argument(
        "--scenarios",
        default="quote,order,detail,flow",
        help="comma-separated subset of quote,order,detail,flow (the baseline always runs)",
    )
    parser.add_argument(
        "--redis-url", default="", help="REDIS_URL for the server (cache and broker; flushed); empty: none"
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="mendian-bench-orders-"))
    env = bench_env(args.database_url, data_dir)
    # The sandbox gateway is the payment provider; no Celery worker runs, so after-commit kicks
    # go to Redis when given, else to an in-memory broker (not to spool files in the data dir).
    env["MENDIAN_SANDBOX"] = "1"
    env["REDIS_URL"] = args.redis_url
    env["CELERY_BROKER_URL"] = args.redis_url or "memory://"
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    recreate_database(args.database_url)
    subprocess.run([str(BIN_DIR / "mendian"), "migrate", "--verbosity", "0"], env=env, check=True)  # noqa: S603
    seeded: Queue = Queue()
    child = Process(target=seed, args=(env, seeded))
    child.start()
    world = seeded.get(timeout=600)
    child.join()
    if child.exitcode != 0:
        raise SystemExit("seeding failed")
    analyze(args.database_url)
    world["orders"] = {}
    world["database_url"] = args.database_url
    world["client"] = args.client
    world["connections"] = args.connections

    created_total = in_flight_total = 0
    with Server(env, workers=args.workers, threads=args.threads) as server:
        world["baseline"] = baseline_path(server)
        print(describe_machine())
        scenarios = [
            ("baseline " + world["baseline"], "baseline"),
            ("quote", "quote"),
            ("order", "order"),
            ("detail", "detail"),
            (FLOW, "flow"),
        ]
        wanted = {"baseline", *args.scenarios.split(",")}
        scenarios = [(name, scenario) for name, scenario in scenarios if scenario in wanted]
        runs: dict[str, list[LoadResult]] = {name: [] for name, _ in scenarios}
        cpu_ms: dict[str, list[float]] = {name: [] for name, _ in scenarios}
        for name, scenario in scenarios:  # warm up (orders made here count too)
            warm, created, orders = run(
                server, name, scenario, world, seconds=2, processes=args.client_processes
            )
            created_total += created
            in_flight_total += getattr(warm, "in_flight", 0)
            for token, ids in orders.items():
                world["orders"].setdefault(token, []).extend(ids)
        analyze(args.database_url)
        for number in range(args.runs):
            for name, scenario in scenarios:
                result, created, orders = run(
                    server, name, scenario, world, seconds=args.seconds, processes=args.client_processes
                )
                created_total += created
                in_flight_total += getattr(result, "in_flight", 0)
                for token, ids in orders.items():
                    world["orders"].setdefault(token, []).extend(ids)
                runs[name].append(result)
                cpu_ms[name].append(result.cpu_ms)
                print(
                    f"run {number + 1} {name:<22} {result.rps:>8.1f} req/s  p50 {result.p50_ms:.2f} ms  "
                    f"p99 {result.p99_ms:.2f} ms  errors {result.errors}  "
                    f"server + PostgreSQL CPU {result.cpu_ms:.2f} ms/request",
                    flush=True,
                )
            analyze(args.database_url)

    medians = [median_result(results) for results in runs.values()]
    print()
    clients = f"{args.client_processes} client processes"
    if WRK and args.client == "wrk":
        clients = f"baseline and flow: wrk, {args.connections} connections; others: {clients}"
    print(f"median of {args.runs} runs, {args.seconds} s each, {clients}")
    print(format_table(medians, medians[0]))
    print()
    print("CPU per request (server processes + PostgreSQL backends), median of the runs, and what it")
    print(f"would allow on {os.cpu_count()} cores with nothing else running:")
    for name, samples in cpu_ms.items():
        median_ms = statistics.median(samples)
        print(f"  {name:<32} {median_ms:8.2f} ms  -> {cpu_capacity_rps(median_ms):8.1f} /s")
    flow = medians[-1]
    if flow.name == FLOW:
        paid_per_s = (flow.requests - flow.errors) / flow.seconds
        print(
            f"complete orders (create → sandbox pay → notify → read back paid): {paid_per_s:.1f} orders/s, "
            f"p50 {flow.p50_ms:.1f} ms, p99 {flow.p99_ms:.1f} ms per order (4 requests); "
            f"{paid_per_s / medians[0].rps:.3f}x the baseline's requests/s, "
            f"{4 * paid_per_s / medians[0].rps:.3f}x counting requests; target >= {TARGET_ORDERS_PER_S} orders/s: "
            f"{'met' if paid_per_s >= TARGET_ORDERS_PER_S else 'NOT met'}"
        )
    in_database = count_orders(args.database_url)
    check = subprocess.run(  # noqa: S603
        [str(BIN_DIR / "mendian"), "check-stock"], env=env, capture_output=True, text=True
    )
    print(
        f"orders created (201s): {created_total}; orders in the database: {in_database}"
        + (
            f" (order requests unanswered when the load stopped: {in_flight_total})"
            if in_flight_total
            else ""
        )
    )
    print(f"check-stock: {check.stdout.strip() or check.stderr.strip()}")
    counted = created_total <= in_database <= created_total + in_flight_total
    failed = check.returncode != 0 or not counted or any(r.errors for r in medians)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
