"""GCJ-02 conversion and distances on known points."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mendian.core.geo import bounding_box, gcj02_to_wgs84, haversine_m, wgs84_to_gcj02


def test_tiananmen_wgs84_shifts_to_the_published_gcj02_point():
    lat, lng = wgs84_to_gcj02(39.908823, 116.397470)
    assert haversine_m(lat, lng, 39.91023, 116.40371) < 5
    # The shift itself is several hundred metres: the conversion is not a no-op.
    assert 500 < haversine_m(39.908823, 116.397470, lat, lng) < 700


def test_wuhan_shift_is_in_the_expected_direction():
    lat, lng = wgs84_to_gcj02(30.5928, 114.3055)
    assert lng > 114.3055 and lat < 30.5928 + 0.01
    assert 300 < haversine_m(30.5928, 114.3055, lat, lng) < 800


@pytest.mark.parametrize(
    ("lat", "lng"),
    [(51.5007, -0.1246), (40.6892, -74.0445), (-33.8568, 151.2153), (35.6586, 139.7454), (0.0, 0.0)],
)
def test_outside_china_is_the_identity(lat, lng):
    assert wgs84_to_gcj02(lat, lng) == (lat, lng)
    assert gcj02_to_wgs84(lat, lng) == (lat, lng)


@given(
    lat=st.floats(min_value=18.0, max_value=53.0, allow_nan=False),
    lng=st.floats(min_value=74.0, max_value=134.0, allow_nan=False),
)
def test_round_trip_through_gcj02_is_within_a_metre(lat, lng):
    back_lat, back_lng = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lng))
    assert haversine_m(lat, lng, back_lat, back_lng) < 1.0


def test_haversine_on_known_distances():
    # One degree of latitude is about 111.2 km on the mean sphere.
    assert haversine_m(30.0, 114.0, 31.0, 114.0) == pytest.approx(111_195, rel=1e-3)
    # Beijing (Tiananmen) to Shanghai (People's Square): about 1,067 km.
    assert haversine_m(39.9087, 116.3975, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.01)
    assert haversine_m(30.58, 114.29, 30.58, 114.29) == 0


@given(
    lat=st.floats(min_value=18, max_value=54, allow_nan=False),
    lng=st.floats(min_value=73, max_value=135, allow_nan=False),
    radius_m=st.floats(min_value=1, max_value=50_000, allow_nan=False),
    bearing=st.floats(min_value=0, max_value=2 * math.pi, allow_nan=False),
    fraction=st.floats(min_value=0, max_value=0.999, allow_nan=False),
)
def test_bounding_box_contains_city_scale_circles_in_china(lat, lng, radius_m, bearing, fraction):
    """Within China and up to 50 km the box holds every point of the circle (to 0.1% of the
    radius: its longitude half-width is r/cos(lat), a hair short of the exact asin form)."""
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius_m)
    point_lat, point_lng = _destination(lat, lng, radius_m * fraction, bearing)
    assert min_lat <= point_lat <= max_lat
    assert min_lng <= point_lng <= max_lng


def test_bounding_box_latitude_bounds_are_the_radius_north_and_south():
    min_lat, max_lat, min_lng, max_lng = bounding_box(30.59, 114.30, 10_000)
    assert haversine_m(30.59, 114.30, max_lat, 114.30) == pytest.approx(10_000, rel=1e-9)
    assert haversine_m(30.59, 114.30, min_lat, 114.30) == pytest.approx(10_000, rel=1e-9)
    assert (min_lng + max_lng) / 2 == pytest.approx(114.30)
    # At 30.59° N a degree of longitude is shorter, so the box is wider in degrees than tall.
    assert (max_lng - min_lng) > (max_lat - min_lat)


def _destination(lat: float, lng: float, distance_m: float, bearing: float) -> tuple[float, float]:
    angular = distance_m / 6_371_008.8
    p1, l1 = math.radians(lat), math.radians(lng)
    p2 = math.asin(math.sin(p1) * math.cos(angular) + math.cos(p1) * math.sin(angular) * math.cos(bearing))
    l2 = l1 + math.atan2(
        math.sin(bearing) * math.sin(angular) * math.cos(p1), math.cos(angular) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), math.degrees(l2)
