"""`stores_nearest` called directly: the SQL prefilter, the exact circle, paging, validation."""

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from mendian.core.errors import ValidationFailed
from mendian.core.geo import EARTH_RADIUS_M, haversine_m
from mendian.stores import selectors
from mendian.stores.selectors import prefilter_box, stores_nearest
from tests.factories import StoreFactory
from tests.stores.conftest import ORIGIN_LAT, ORIGIN_LNG

pytestmark = pytest.mark.django_db


def prefilter_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"stores_store"."lat" >=' in q["sql"]]


def test_prefilter_is_a_box_in_sql_reading_only_coordinates(store_at):
    near = store_at(1000)
    StoreFactory(merchant=near.merchant, lat=39.9, lng=116.4)  # Beijing: outside the box
    with CaptureQueriesContext(connection) as queries:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10)
    assert [hit.store.pk for hit in hits] == [near.pk]
    prefilters = prefilter_queries(queries)
    assert prefilters and all('"stores_store"."lng" <=' in sql for sql in prefilters)
    selected = prefilters[0].split(" FROM ")[0]
    assert "name" not in selected and "address" not in selected
    # The page's full rows are fetched by id, only for the hits (the Beijing store never is).
    assert any(f"IN ({near.pk})" in q["sql"] for q in queries.captured_queries)


def test_sparse_stores_take_one_prefilter_query(store_at):
    stores = [store_at(metres) for metres in (9_500, 500, 3_000)]
    with CaptureQueriesContext(connection) as queries:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=20)
    assert [hit.store.pk for hit in hits] == [stores[1].pk, stores[2].pk, stores[0].pk]
    assert len(prefilter_queries(queries)) == 1


def test_a_dense_box_is_narrowed_to_a_circle_holding_the_page(store_at, monkeypatch):
    monkeypatch.setattr(selectors, "DENSE_BOX_ROWS", 10)
    close = [store_at(metres) for metres in range(100, 2600, 100)]
    far = store_at(9_500)
    measured: list[list[int]] = []
    within = selectors._within

    def recording_within(rows, **kwargs):
        rows = list(rows)
        measured.append([row[0] for row in rows])
        return within(rows, **kwargs)

    monkeypatch.setattr(selectors, "_within", recording_within)
    with CaptureQueriesContext(connection) as queries:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=2)
    assert [hit.store.pk for hit in hits] == [close[0].pk, close[1].pk]
    capped, narrowed = prefilter_queries(queries)
    assert "OVER ()" in capped and "GROUP BY" not in capped and capped.endswith("LIMIT 10")
    assert "LIMIT" not in narrowed
    # 26 stores in the 10 km box: a 2-store page at that density needs about 4.4 km, where the 25
    # close stores are; the one 9.5 km away is never measured.
    assert len(measured) == 1 and sorted(measured[0]) == sorted(store.pk for store in close)
    assert far.pk not in measured[0]


def test_a_dense_box_with_the_stores_far_away_is_read_whole(store_at, monkeypatch):
    monkeypatch.setattr(selectors, "DENSE_BOX_ROWS", 10)
    far = [store_at(metres) for metres in range(9_000, 9_600, 50)]
    near = store_at(500)
    with CaptureQueriesContext(connection) as queries:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=2)
    assert [(hit.store.pk, round(hit.distance_m)) for hit in hits] == [(near.pk, 500), (far[0].pk, 9_000)]
    assert len(prefilter_queries(queries)) == 3


def test_paging_past_the_near_search_still_ranks_exactly(store_at):
    stores = [store_at(metres) for metres in (2900, 2950, 3100, 3200, 100)]
    hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=2, offset=2)
    assert [hit.store.pk for hit in hits] == [stores[1].pk, stores[2].pk]


def test_offset_and_limit(store_at):
    stores = [store_at(metres) for metres in (100, 200, 300, 400)]
    hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, limit=2, offset=1)
    assert [hit.store.pk for hit in hits] == [stores[1].pk, stores[2].pk]
    assert [round(hit.distance_m) for hit in hits] == [200, 300]
    assert stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, offset=10) == []


def test_merchant_argument_narrows(store_at, other_merchant):
    own = store_at(100)
    store_at(50, merchant=other_merchant)
    hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, merchant=own.merchant)
    assert [hit.store.pk for hit in hits] == [own.pk]


def test_hits_report_whether_open(store_at):
    store_at(100, hours=[])
    store_at(200)
    assert [hit.is_open for hit in stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG)] == [False, True]


def test_across_the_antimeridian(merchant):
    east = StoreFactory(merchant=merchant, lat=-17.0, lng=179.99)
    west = StoreFactory(merchant=merchant, lat=-17.0, lng=-179.99)
    StoreFactory(merchant=merchant, lat=-17.0, lng=0.0)
    hits = stores_nearest(lat=-17.0, lng=179.999, radius_km=10)
    assert [hit.store.pk for hit in hits] == [east.pk, west.pk]
    assert hits[1].distance_m == pytest.approx(haversine_m(-17.0, 179.999, -17.0, -179.99))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lat": 91, "lng": 0},
        {"lat": 0, "lng": -181},
        {"lat": math.nan, "lng": 0},
        {"lat": "30", "lng": 114},
        {"lat": 30, "lng": 114, "radius_km": 0},
        {"lat": 30, "lng": 114, "radius_km": 500.01},
        {"lat": 30, "lng": 114, "radius_km": math.inf},
        {"lat": 30, "lng": 114, "service": "both"},
        {"lat": 30, "lng": 114, "limit": 0},
        {"lat": 30, "lng": 114, "offset": -1},
    ],
)
def test_invalid_search_is_refused(db, kwargs):
    with pytest.raises(ValidationFailed):
        stores_nearest(**kwargs)


@given(
    lat=st.floats(min_value=-70, max_value=70, allow_nan=False),
    lng=st.floats(min_value=-179, max_value=179, allow_nan=False),
    radius_km=st.floats(min_value=0.001, max_value=500, allow_nan=False),
    bearing=st.floats(min_value=0, max_value=2 * math.pi, allow_nan=False),
    fraction=st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_prefilter_box_holds_the_whole_circle(lat, lng, radius_km, bearing, fraction):
    """No store within the radius can be dropped by the prefilter, up to 500 km below 70°."""
    min_lat, max_lat, min_lng, max_lng = prefilter_box(lat, lng, radius_km * 1000)
    angular = radius_km * 1000 * fraction / EARTH_RADIUS_M
    p1, l1 = math.radians(lat), math.radians(lng)
    p2 = math.asin(math.sin(p1) * math.cos(angular) + math.cos(p1) * math.sin(angular) * math.cos(bearing))
    l2 = l1 + math.atan2(
        math.sin(bearing) * math.sin(angular) * math.cos(p1), math.cos(angular) - math.sin(p1) * math.sin(p2)
    )
    assert min_lat <= math.degrees(p2) <= max_lat
    assert min_lng <= math.degrees(l2) <= max_lng


def test_prefilter_box_at_the_worst_bearing_for_500_km():
    """Due east at the circle's widest longitude, where an unpadded r/cos(lat) box falls short."""
    lat, radius_m = 53.0, 500_000
    exact_half_width = math.degrees(
        math.asin(math.sin(radius_m / EARTH_RADIUS_M) / math.cos(math.radians(lat)))
    )
    min_lat, max_lat, min_lng, max_lng = prefilter_box(lat, 120.0, radius_m)
    assert max_lng - 120.0 >= exact_half_width
    assert max_lng - 120.0 < exact_half_width * 1.02
