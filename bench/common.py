"""Shared benchmark helpers: a PostgreSQL database, the real server, load, and the report.

The server is `mendian serve --no-worker` (granian, WSGI, the real settings) on a free loopback
port. Load comes from `wrk` when installed (one Python client saturates near 3k requests/s), else
from several Python client processes. Every figure is compared with the baseline view
(`/api/v1/bench/ping` when MENDIAN_BENCH=1 mounts it, else `/healthz`), measured in the same run;
each measurement is repeated and the median reported, with the client's CPU time and the
server's peak RSS.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from multiprocessing import Process, Queue
from pathlib import Path
from urllib.parse import urlsplit

REPO_DIR = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/"
WRK = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
# BENCH_NICE=-10 (root only) runs the benchmark, its load clients, the server and this database's
# PostgreSQL backends at that niceness: on a machine shared with other work, the figures then
# approach those of a dedicated machine. The default (0) measures the machine as it is.
NICE = int(os.environ.get("BENCH_NICE", "0") or 0)


def renice(pids) -> None:
    """Sets the BENCH_NICE niceness on these processes (no-op when it is 0)."""
    if not NICE:
        return
    for pid in pids:
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, NICE)


def postgres_backends(database: str) -> set[int]:
    """The PostgreSQL backend processes serving `database` (by their process title)."""
    return {
        pid
        for pid, (_, command) in _processes().items()
        if command.startswith("postgres:") and f" {database} " in command
    }


def prioritise_database(database: str) -> None:
    """This process (hence the clients it starts) and the database's backends at BENCH_NICE."""
    renice([os.getpid(), *postgres_backends(database)])


# --- environment and database ---------------------------------------------------------------


def bench_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """Production-like settings (DEBUG off, so no query log) with throwaway secrets."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "mendian.config.settings",
            "DATABASE_URL": database_url,
            "MENDIAN_DATA_DIR": str(data_dir),
            "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "MENDIAN_PII_KEYS": env.get("MENDIAN_PII_KEYS")
            or base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "MENDIAN_HTTPS": "0",
            "MENDIAN_BENCH": "1",
            "MENDIAN_LOG_LEVEL": "WARNING",
            "MENDIAN_RATELIMIT": "0",
        }
    )
    env.pop("MENDIAN_DEBUG", None)
    return env


def ensure_database(database_url: str) -> None:
    """Creates the PostgreSQL database named in the URL if it does not exist."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- measurements ---------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class LoadResult:
    name: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    client_cpu_s: float
    server_peak_rss_mb: float = 0.0


def median_result(runs: list[LoadResult]) -> LoadResult:
    """The run with the median throughput, its peak RSS replaced by the peak over every run."""
    chosen = sorted(runs, key=lambda run: run.rps)[len(runs) // 2]
    return LoadResult(**{**asdict(chosen), "server_peak_rss_mb": max(run.server_peak_rss_mb for run in runs)})


# --- the server -----------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_rss_mb(root_pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    children = _children_map()
    total_kb, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


class Server:
    """`mendian serve --no-worker` on a free port, in its own process group."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 8):
        self.env, self.workers, self.threads = env, workers, threads
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        command = [
            str(BIN_DIR / "mendian"),
            "serve",
            "--no-worker",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
            command, env=self.env, stdout=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError("the server did not become healthy within 300 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def prioritise(self) -> None:
        """BENCH_NICE for this process (and the load clients it starts), the server's processes and
        the PostgreSQL backends of its database; called before each measurement, as the pool may
        have opened new connections."""
        if not NICE:
            return
        children = _children_map()
        tree, stack = [], [self.process.pid]
        while stack:
            pid = stack.pop()
            tree.append(pid)
            stack.extend(children.get(pid, []))
        renice(tree)
        prioritise_database(urlsplit(self.env["DATABASE_URL"]).path.lstrip("/"))

    def rss_mb(self) -> float:
        return tree_rss_mb(self.process.pid) if self.process else 0.0

    @contextmanager
    def peak_rss(self) -> Iterator[Callable[[], float]]:
        """Samples the server's tree RSS every 200 ms while the block runs."""
        peak = [self.rss_mb()]
        stop = threading.Event()

        def sample():
            while not stop.wait(0.2):
                peak[0] = max(peak[0], self.rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield lambda: peak[0]
        finally:
            stop.set()
            sampler.join()

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.base_url}{path}", headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def _cpu_seconds(pids: set[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            found[int(entry.name)] = (ppid, command)
    return found


def cpu_snapshot(server: Server, database: str) -> tuple[float, float]:
    """CPU seconds used so far by the server's process tree and by the database's PostgreSQL
    backends: divided by the requests served, a cost per request that other load on a shared
    machine does not distort the way it distorts requests per second."""
    processes = _processes()
    tree, frontier = set(), [server.process.pid]
    while frontier:
        pid = frontier.pop()
        tree.add(pid)
        frontier.extend(child for child, (ppid, _) in processes.items() if ppid == pid)
    backends = {
        pid
        for pid, (_, command) in processes.items()
        if command.startswith("postgres:") and database in command
    }
    return _cpu_seconds(tree), _cpu_seconds(backends)


def cpu_capacity_rps(cpu_ms_per_request: float, cores: int | None = None) -> float:
    """Requests/s the server and PostgreSQL could serve on this machine's cores if nothing else
    ran: the figure a shared, busy machine cannot show directly."""
    return (cores or os.cpu_count() or 1) * 1000 / cpu_ms_per_request if cpu_ms_per_request else float("nan")


def baseline_path(server: Server) -> str:
    """The minimal view under the storefront API's prefix, so it runs the same middleware as the
    API endpoints every bench measures (see core/bench_views.py)."""
    status, _ = server.get("/api/v1/bench/ping")
    return "/api/v1/bench/ping" if status == 200 else "/healthz"


# --- load -----------------------------------------------------------------------------------

_WRK_SCRIPT = """
local paths = {%(paths)s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Accept"] = "application/json"})
end
done = function(summary, latency, requests)
  io.write(string.format('\\nWRK_JSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout))
end
"""


def run_wrk(
    name: str, base_url: str, paths: list[str], *, seconds: int, connections: int, threads: int
) -> LoadResult:
    """One wrk run cycling through `paths`; client CPU from the wrk process's own rusage."""
    lua_paths = ", ".join(json.dumps(path) for path in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % {"paths": lua_paths})
    try:
        command = [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            base_url + paths[0],
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        os.unlink(script.name)
    line = next((ln for ln in output.splitlines() if ln.startswith("WRK_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    elapsed = data["duration_us"] / 1e6
    return LoadResult(
        name=name,
        requests=data["requests"],
        seconds=elapsed,
        rps=data["requests"] / elapsed,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"],
        client_cpu_s=usage.ru_utime + usage.ru_stime,
    )


def _python_client(base_url: str, paths: list[str], seconds: float, offset: int, results: Queue) -> None:
    import http.client
    import resource

    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    latencies, errors, index = [], 0, offset
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        path = paths[index % len(paths)]
        index += 1
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Accept": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        latencies.append(time.perf_counter() - started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((latencies, errors, usage.ru_utime + usage.ru_stime))


def run_python_clients(
    name: str, base_url: str, paths: list[str], *, seconds: int, processes: int
) -> LoadResult:
    """Several client processes with keep-alive connections (when wrk is not installed)."""
    results: Queue = Queue()
    workers = [
        Process(target=_python_client, args=(base_url, paths, seconds, n * 7919, results))
        for n in range(processes)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    gathered = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    latencies = [latency for batch, _, _ in gathered for latency in batch]
    return LoadResult(
        name=name,
        requests=len(latencies),
        seconds=elapsed,
        rps=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        errors=sum(errors for _, errors, _ in gathered),
        client_cpu_s=sum(cpu for _, _, cpu in gathered),
    )


def load(
    server: Server,
    name: str,
    paths: list[str],
    *,
    seconds: int,
    connections: int,
    threads: int,
    client_processes: int,
) -> LoadResult:
    server.prioritise()
    with server.peak_rss() as peak:
        if WRK:
            result = run_wrk(
                name, server.base_url, paths, seconds=seconds, connections=connections, threads=threads
            )
        else:
            result = run_python_clients(
                name, server.base_url, paths, seconds=seconds, processes=client_processes
            )
    result.server_peak_rss_mb = peak()
    return result


# --- report ---------------------------------------------------------------------------------


def format_table(rows: list[LoadResult], baseline: LoadResult) -> str:
    header = (
        f"{'endpoint':<34} {'req/s':>9} {'vs base':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'client CPU s':>12} {'server RSS MiB':>14}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.name:<34} {row.rps:>9.0f} {row.rps / baseline.rps:>7.0%} {row.p50_ms:>8.2f} "
            f"{row.p99_ms:>8.2f} {row.errors:>7d} {row.client_cpu_s:>12.1f} {row.server_peak_rss_mb:>14.0f}"
        )
    return "\n".join(lines)


def load_average() -> str:
    """Other work on the machine skews every figure: printed beside them."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def cpu_reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop: how fast a core runs Python right now. Shared
    or oversubscribed cores run it slower, and every CPU-per-request figure of the same run is
    inflated by the same factor."""
    started = time.process_time()
    total = 0
    for number in range(3_000_000):
        total += number * number
    return (time.process_time() - started) * 1000


def describe_machine() -> str:
    cpus = os.cpu_count()
    model = ""
    with suppress(OSError, StopIteration):
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    load_client = f"wrk ({WRK})" if WRK else "Python client processes"
    memory = ""
    with suppress(OSError, StopIteration):
        kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    priority = f"; BENCH_NICE={NICE}" if NICE else ""
    return (
        f"{cpus} CPUs {model}{memory}; Python {sys.version.split()[0]}; load from {load_client}{priority}; "
        f"reference loop {cpu_reference_ms():.0f} ms CPU"
    )


def summary_of(samples_s: list[float]) -> dict[str, float]:
    return {
        "calls": len(samples_s),
        "p10_ms": percentile(samples_s, 0.10) * 1000,
        "p50_ms": percentile(samples_s, 0.50) * 1000,
        "p99_ms": percentile(samples_s, 0.99) * 1000,
        "mean_ms": statistics.fmean(samples_s) * 1000,
        "calls_per_s": len(samples_s) / sum(samples_s),
    }
