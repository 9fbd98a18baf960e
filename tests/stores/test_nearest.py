"""`stores_nearest` called directly: the SQL prefilter and ranking, the exact circle, paging, validation."""

import datetime as dt
import math
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from mendian.core.errors import ValidationFailed
from mendian.core.geo import EARTH_RADIUS_M, haversine_m
from mendian.stores import selectors
from mendian.stores.hours import store_hours_rows, store_open_state, store_special_day_rows
from mendian.stores.models import SpecialDay, Store
from mendian.stores.selectors import prefilter_box, stores_nearest, stores_with_schedule
from tests.factories import StoreFactory
from tests.stores.conftest import ORIGIN_LAT, ORIGIN_LNG

pytestmark = pytest.mark.django_db


def prefilter_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"stores_store"."lat" >=' in q["sql"]]


def box_select(sql: str) -> str:
    """The select list of the box subquery: what is read for every store in the box."""
    return sql.split('FROM (SELECT "stores_store"."id"', 1)[1].split(' FROM "stores_store"', 1)[0]


def test_one_statement_ranks_the_box_on_coordinates_and_returns_the_page(store_at):
    near = store_at(1000)
    StoreFactory(merchant=near.merchant, lat=39.9, lng=116.4)  # Beijing: outside the box
    with CaptureQueriesContext(connection) as queries:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=20, offset=0)
    assert [hit.store.pk for hit in hits] == [near.pk]
    (prefilter,) = prefilter_queries(queries)
    # The box on the indexed columns, the distance, the order and the page, all in the database.
    assert '"stores_store"."lng" >=' in prefilter and '"stores_store"."lng" <=' in prefilter
    assert 'ORDER BY "distance", "id" LIMIT' in prefilter
    # For every store of the box only the id, the delivery radius and the distance are read.
    selected = box_select(prefilter)
    assert "name" not in selected and "address" not in selected
    assert len(queries.captured_queries) == 3  # the page, its merchant, its hours and special days


def test_the_box_prefilter_uses_the_coordinates_index(store_at):
    store_at(1000)
    sql, params = selectors.stores_nearest_sql(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_m=10_000, limit=20)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned whole
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "store_lat_lng_idx" in plan


def test_sparse_stores_are_ranked_by_distance_in_one_statement(store_at):
    stores = [store_at(metres) for metres in (9_500, 500, 3_000)]
    with CaptureQueriesContext(connection) as queries:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=20)
    assert [hit.store.pk for hit in hits] == [stores[1].pk, stores[2].pk, stores[0].pk]
    assert len(prefilter_queries(queries)) == 1


def test_a_dense_box_is_ranked_and_cut_to_the_page_in_the_database(store_at):
    close = [store_at(metres) for metres in range(100, 2600, 100)]
    store_at(9_500)
    with CaptureQueriesContext(connection) as queries:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=2, offset=1)
    assert [hit.store.pk for hit in hits] == [close[1].pk, close[2].pk]
    (prefilter,) = prefilter_queries(queries)
    assert "LIMIT 2 OFFSET 1)" in prefilter  # the page is cut before its full rows are read
    assert len(queries.captured_queries) == 3


def test_a_dense_box_with_the_stores_far_away_ranks_them_all(store_at):
    far = [store_at(metres) for metres in range(9_000, 9_600, 50)]
    near = store_at(500)
    hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=2)
    assert [(hit.store.pk, round(hit.distance_m)) for hit in hits] == [(near.pk, 500), (far[0].pk, 9_000)]


def test_the_quarter_radius_circle_answers_only_when_it_holds_the_whole_page(store_at):
    """With a 10 km radius a page is first looked for within 2.5 km; with fewer stores there than
    offset + limit, the whole radius is ranked. Both give the exact nearest."""
    stores = [store_at(metres) for metres in (100, 200, 2_400, 3_000, 9_000)]
    pks = [store.pk for store in stores]
    for limit, offset in [(2, 0), (3, 0), (4, 0), (2, 2), (1, 3), (20, 0), (2, 4)]:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_km=10, limit=limit, offset=offset)
        assert [hit.store.pk for hit in hits] == pks[offset : offset + limit], (limit, offset)
    sql, params = selectors.stores_nearest_sql(lat=ORIGIN_LAT, lng=ORIGIN_LNG, radius_m=10_000, limit=20)
    near_box, whole_box = sql.split('"stores_store"."lat" >= ')[1:]
    assert near_box.index("LIMIT") < near_box.index("UNION ALL")  # the small circle, cut to the page
    assert 2_500.0 in params and 10_000 in params


def test_distances_and_ranking_are_those_of_haversine_m_to_the_bit(merchant):
    """The database computes the distance with the same operations as `core.geo.haversine_m`: the
    same values, hence the same order, the same ties (by id) and the same radius test."""
    rng = random.Random(5)
    stores = [
        StoreFactory(
            merchant=merchant,
            lat=ORIGIN_LAT + rng.uniform(-0.08, 0.08),
            lng=ORIGIN_LNG + rng.uniform(-0.09, 0.09),
        )
        for _ in range(40)
    ]
    twin = StoreFactory(merchant=merchant, lat=stores[0].lat, lng=stores[0].lng)
    for lat, lng in [(ORIGIN_LAT, ORIGIN_LNG), (ORIGIN_LAT + 0.031, ORIGIN_LNG - 0.017)]:
        expected = sorted(
            (haversine_m(lat, lng, store.lat, store.lng), store.pk)
            for store in [*stores, twin]
            if haversine_m(lat, lng, store.lat, store.lng) <= 8_000
        )
        hits = stores_nearest(lat=lat, lng=lng, radius_km=8, limit=100)
        assert [(hit.distance_m, hit.store.pk) for hit in hits] == expected
        assert [
            (hit.distance_m, hit.store.pk)
            for hit in stores_nearest(lat=lat, lng=lng, radius_km=8, limit=5, offset=3)
        ] == expected[3:8]


def test_keyword_wildcards_are_literal(store_at):
    juice = store_at(100, name="100%果汁店")
    store_at(200, name="普通店")
    under = store_at(300, name="A_B店")
    assert [hit.store.pk for hit in stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, q="%")] == [juice.pk]
    assert [hit.store.pk for hit in stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, q="_")] == [under.pk]
    assert [hit.store.pk for hit in stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, q="a_b")] == [under.pk]


def test_the_page_carries_what_stores_with_schedule_would(store_at, other_merchant):
    """Hours and special days as light rows, in the same order and window, the merchant once per
    merchant: everything `stores.hours`, the schemas and the storefront read."""
    moment = dt.datetime(2026, 3, 4, 5, 0, tzinfo=dt.UTC)
    one = store_at(
        100, hours=[(2, dt.time(14), dt.time(20)), (2, dt.time(9), dt.time(12)), (0, dt.time(22), dt.time(2))]
    )
    two = store_at(200)
    three = store_at(300, merchant=other_merchant, timezone="Asia/Tokyo")
    for date, closed, opens, closes in [
        (dt.date(2026, 3, 1), True, None, None),  # before the window
        (dt.date(2026, 3, 6), False, dt.time(10), dt.time(16)),
        (dt.date(2026, 3, 5), True, None, None),
        (dt.date(2026, 3, 30), True, None, None),  # after it
    ]:
        SpecialDay.objects.create(store=one, date=date, closed=closed, opens=opens, closes=closes, note="n")
    hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, at=moment)
    reference = stores_with_schedule(
        Store.objects.filter(pk__in=[one.pk, two.pk, three.pk]), at=moment
    ).in_bulk()
    assert [hit.store.pk for hit in hits] == [one.pk, two.pk, three.pk]
    for hit in hits:
        store, expected = hit.store, reference[hit.store.pk]
        assert [tuple(row) for row in store_hours_rows(store)] == [
            (row.weekday, row.opens, row.closes) for row in store_hours_rows(expected)
        ]
        assert [tuple(row) for row in store_special_day_rows(store)] == [
            (row.date, row.closed, row.opens, row.closes, row.note)
            for row in store_special_day_rows(expected)
        ]
        assert store.merchant.pk == expected.merchant.pk and store.tz_name == expected.tz_name
        assert store_open_state(store, moment) == store_open_state(expected, moment)
        assert [getattr(store, f.attname) for f in Store._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in Store._meta.concrete_fields
        ]
    assert [row.date for row in store_special_day_rows(hits[0].store)] == [
        dt.date(2026, 3, 5),
        dt.date(2026, 3, 6),
    ]
    assert hits[0].store.merchant is hits[1].store.merchant


def test_a_search_for_one_merchant_reuses_it(store_at, merchant):
    store_at(100)
    with CaptureQueriesContext(connection) as queries:
        hits = stores_nearest(lat=ORIGIN_LAT, lng=ORIGIN_LNG, merchant=merchant)
    assert hits[0].store.merchant is merchant
    assert len(queries.captured_queries) == 2


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
