"""Settings for the test suite: the real settings with test-only relaxations."""

import os
import tempfile

os.environ.setdefault("MENDIAN_TESTING", "1")
os.environ.setdefault("MENDIAN_SANDBOX", "1")
os.environ.setdefault("MENDIAN_DATA_DIR", tempfile.mkdtemp(prefix="mendian-test-"))
# The concurrency tests run up to 200 threads in one process, where a server runs a fixed few:
# they share a pool instead of opening a connection each (PostgreSQL allows 100 by default).
# tests/core/test_pg_connections.py covers the per-thread connections servers use.
os.environ.setdefault("MENDIAN_DB_POOL", "1")


def _redis_url_for_this_worker(url: str, worker: str) -> str:
    """Each pytest-xdist worker gets its own Redis database (the given one, then one below it per
    worker): the tests clear the cache between tests, and a FLUSHDB by one worker must not wipe the
    rate-limit counters or nonces another worker's test is counting on."""
    if not url or not worker.startswith("gw"):
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    db = (base - int(worker[2:])) % 16
    return urlunsplit(parts._replace(path=f"/{db}"))


os.environ["REDIS_URL"] = _redis_url_for_this_worker(
    os.environ.get("REDIS_URL", ""), os.environ.get("PYTEST_XDIST_WORKER", "")
)

from mendian.config.settings import *  # noqa: E402,F403
from mendian.config.settings import DATA_DIR  # noqa: E402

MEDIA_ROOT = DATA_DIR / "media"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
