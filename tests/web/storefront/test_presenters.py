"""What the status badge and the distance say, at chosen moments in the store's own zone."""

import datetime as dt

import pytest

from mendian.stores.models import SpecialDay
from mendian.web.storefront.presenters import distance_text, price_parts, span_text, store_status
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
T = dt.time


def wuhan(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """May 2026 in Wuhan (UTC+8); the 13th is a Wednesday."""
    return dt.datetime(2026, 5, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.mark.parametrize(
    ("metres", "text"),
    [
        (0.2, "1m"),
        (850.4, "850m"),
        (999.4, "999m"),
        (1000, "1.0km"),
        (1234, "1.2km"),
        (123_456, "123km"),
        (None, ""),
    ],
)
def test_distance_text(metres, text):
    assert distance_text(metres) == text


def test_price_parts():
    assert price_parts(1290) == {"yuan": "12.90", "int": "12", "dec": "90", "amount": 1290}
    assert price_parts(None) is None


def test_span_text():
    assert span_text(T(7), T(21)) == "07:00–21:00"
    assert span_text(T(22), T(2)) == "22:00–次日02:00"
    assert span_text(T(0), T(0)) == "24小时营业"


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (wuhan(13, 12), "营业中 · 21:00 打烊"),
        (wuhan(13, 6, 30), "休息中 · 07:00 营业"),
        (wuhan(13, 21, 30), "休息中 · 明天 07:00 营业"),
    ],
)
def test_status_of_a_day_store(at, text):
    store = StoreFactory(hours=[(d, T(7), T(21)) for d in range(7)])

    assert store_status(store, at)["text"] == text


def test_status_after_a_long_closure_names_the_weekday():
    # Closed Thursday to Sunday: on Wednesday evening it opens next on Monday.
    store = StoreFactory(hours=[(d, T(9), T(18)) for d in (0, 1, 2)])

    assert store_status(store, wuhan(13, 19))["text"] == "休息中 · 周一 09:00 营业"


def test_status_of_an_overnight_store_closing_tomorrow():
    store = StoreFactory(hours=[(d, T(22), T(2)) for d in range(7)])

    status = store_status(store, wuhan(13, 23))

    assert status["text"] == "营业中 · 明天 02:00 打烊"
    assert status["today"] == "22:00–次日02:00"


def test_status_of_a_round_the_clock_store():
    store = StoreFactory()  # 00:00-00:00 every day

    assert store_status(store, wuhan(13, 3))["text"] == "营业中 · 24小时营业"


def test_status_of_a_paused_store_and_a_holiday():
    assert store_status(StoreFactory(status="paused"), wuhan(13, 12))["text"] == "暂停营业"

    store = StoreFactory(hours=[(d, T(7), T(21)) for d in range(7)])
    SpecialDay.objects.create(store=store, date=dt.date(2026, 5, 13), closed=True)
    status = store_status(store, wuhan(13, 12))
    assert status["text"] == "休息中 · 明天 07:00 营业"
    assert status["today"] == "今日休息"
