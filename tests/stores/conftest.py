import datetime as dt
import math

import pytest

from mendian.core.geo import EARTH_RADIUS_M
from tests.factories import StoreFactory

# Central Wuhan (GCJ-02), where the shared fixtures' stores stand.
ORIGIN_LAT, ORIGIN_LNG = 30.5801, 114.2865
CLOSED_ALL_WEEK: list = []
NINE_TO_NINE = [(day, dt.time(9), dt.time(21)) for day in range(7)]


def north_of_origin(metres: float) -> float:
    """The latitude `metres` due north of the origin (haversine distance exactly `metres`)."""
    return ORIGIN_LAT + math.degrees(metres / EARTH_RADIUS_M)


@pytest.fixture
def store_at(merchant):
    """A store of `merchant` at a distance due north of the origin."""

    def make(metres: float, **kwargs):
        kwargs.setdefault("merchant", merchant)
        return StoreFactory(lat=north_of_origin(metres), lng=ORIGIN_LNG, **kwargs)

    return make
