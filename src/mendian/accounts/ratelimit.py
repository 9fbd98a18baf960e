"""Rate limits on Django's cache: Redis when REDIS_URL is set (atomic INCR), local memory otherwise.

Two shapes:
- a fixed window (`Limit(limit=10, period=86400)`): at most `limit` accepted calls per aligned window;
- a cooldown (`Limit(limit=1, period=60, cooldown=True)`): one call, then silence for `period` seconds
  measured from that call (a fixed window would let two sends through a second apart at its edge).

`limits_take` takes one unit from every limit or from none: a call refused by one limit gives back
what it took from the others, so a refused call never eats into another budget.
"""

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from mendian.core.errors import DomainError, RateLimited

logger = logging.getLogger("mendian.ratelimit")

_PREFIX = "rl:"
_EXPIRY_SLACK = 5


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    period: int
    cooldown: bool = False
    message: str = "Too many requests, try again later."


@dataclass
class Taken:
    """What a successful `limits_take` holds; `release()` gives it back (e.g. the SMS was not sent)."""

    keys: list[tuple[Limit, str]] = field(default_factory=list)

    def release(self) -> None:
        for limit, key in reversed(self.keys):
            try:
                if limit.cooldown:
                    cache.delete(key)
                else:
                    cache.decr(key)
            except ValueError:  # the window ended meanwhile: nothing left to give back
                pass
            except Exception:
                logger.warning("rate limit release failed for %s", limit.name, exc_info=True)
        self.keys.clear()


def _cooldown_take(limit: Limit, subject: str, now: float) -> tuple[str, int | None]:
    key = f"{_PREFIX}{limit.name}:{subject}"
    deadline = now + limit.period
    if cache.add(key, deadline, timeout=limit.period):
        return key, None
    held = cache.get(key)
    wait = math.ceil(float(held) - now) if held is not None else 1
    return key, max(1, min(wait, limit.period))


def _window_take(limit: Limit, subject: str, now: float) -> tuple[str, int | None]:
    window_start = int(now) - int(now) % limit.period
    key = f"{_PREFIX}{limit.name}:{subject}:{window_start}"
    cache.add(key, 0, timeout=limit.period + _EXPIRY_SLACK)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this call opens a fresh window
        cache.add(key, 1, timeout=limit.period + _EXPIRY_SLACK)
        count = 1
    if count <= limit.limit:
        return key, None
    with contextlib.suppress(ValueError):
        cache.decr(key)
    return key, max(1, window_start + limit.period - math.floor(now))


def limits_take(*checks: tuple[Limit, str]) -> Taken:
    """Take one unit of each `(limit, subject)`; raise RateLimited (with Retry-After) if any is spent.

    Subjects must not be personal data in clear: callers pass a blind index for phones and usernames.
    """
    taken = Taken()
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return taken
    now = time.time()
    try:
        for limit, subject in checks:
            take = _cooldown_take if limit.cooldown else _window_take
            key, retry_after = take(limit, subject, now)
            if retry_after is not None:
                taken.release()
                raise RateLimited(limit.message, retry_after=retry_after)
            taken.keys.append((limit, key))
    except DomainError:
        raise
    except Exception as exc:
        # The limiter's store is down: refuse cleanly rather than let a login storm through.
        logger.error("rate limiter unavailable: %s", type(exc).__name__)
        taken.release()
        raise DomainError(
            "Sign-in is temporarily unavailable, try again shortly.",
            code="temporarily_unavailable",
            status=503,
        ) from exc
    return taken
