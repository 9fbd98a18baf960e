"""IANA time zone names, checked against the zone database (the `tzdata` package where needed)."""

from functools import lru_cache
from zoneinfo import available_timezones


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: object) -> bool:
    return isinstance(name, str) and name in _known_zones()
