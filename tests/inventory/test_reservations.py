"""Reservations belong to orders: all lines or none, released or consumed exactly once."""

import datetime as dt

import pytest
from django.utils import timezone

from mendian.core.errors import Conflict, NotFound, ValidationFailed
from mendian.inventory import services
from mendian.inventory.models import Reservation, ReservationStatus, StockMovement
from mendian.inventory.selectors import stock_available_for
from tests.inventory.conftest import level, movements

pytestmark = pytest.mark.django_db


def test_reserve_holds_every_line_and_writes_reserve_movements(store, sku, sku2, give):
    give(store, sku, 10)
    give(store, sku2, 3)
    expires = timezone.now() + dt.timedelta(minutes=15)

    reservations = services.stock_reserve(
        store=store, lines=[(sku2.pk, 3), (sku.pk, 4)], reference="O20260001", expires_at=expires
    )

    assert [(r.sku_id, r.quantity, r.status) for r in reservations] == [
        (sku.pk, 4, "active"),
        (sku2.pk, 3, "active"),
    ]
    assert level(store, sku) == (10, 4)
    assert level(store, sku2) == (3, 3)
    assert stock_available_for(store_id=store.pk, sku_ids=[sku.pk, sku2.pk]) == {sku.pk: 6, sku2.pk: 0}
    assert list(
        StockMovement.objects.filter(type="reserve")
        .order_by("sku_id")
        .values_list("sku_id", "delta_on_hand", "delta_reserved", "reference", "source")
    ) == [(sku.pk, 0, 4, "O20260001", "order"), (sku2.pk, 0, 3, "O20260001", "order")]


def test_reserve_merges_repeated_lines(store, sku, give):
    give(store, sku, 5)
    services.stock_reserve(store=store, lines=[(sku.pk, 2), (sku.pk, 3)], reference="O1")
    assert level(store, sku) == (5, 5)
    assert Reservation.objects.get(reference="O1").quantity == 5


def test_reserve_is_all_or_nothing_and_names_the_sku(store, sku, sku2, give):
    give(store, sku, 10)
    give(store, sku2, 1)
    before = movements()

    with pytest.raises(Conflict) as exc:
        services.stock_reserve(store=store, lines=[(sku.pk, 2), (sku2.pk, 2)], reference="O2")

    assert exc.value.code == "out_of_stock"
    assert exc.value.status == 409
    assert "COLA-330" in exc.value.detail
    assert level(store, sku) == (10, 0)
    assert level(store, sku2) == (1, 0)
    assert movements() == before
    assert not Reservation.objects.exists()


def test_reserve_without_any_level_is_out_of_stock(store, sku):
    with pytest.raises(Conflict) as exc:
        services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="O3")
    assert exc.value.code == "out_of_stock"
    assert "WATER-500" in exc.value.detail


def test_reserve_counts_what_is_already_reserved(store, sku, give):
    give(store, sku, 3)
    services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O4")
    with pytest.raises(Conflict):
        services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O5")
    services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="O6")
    assert level(store, sku) == (3, 3)


def test_repeating_the_same_reservation_returns_it_without_holding_twice(store, sku, give):
    give(store, sku, 5)
    first = services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O7")
    again = services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O7")
    assert [r.pk for r in again] == [r.pk for r in first]
    assert level(store, sku) == (5, 2)

    with pytest.raises(Conflict) as exc:
        services.stock_reserve(store=store, lines=[(sku.pk, 3)], reference="O7")
    assert exc.value.code == "reservation_exists"
    assert level(store, sku) == (5, 2)


@pytest.mark.parametrize(
    "lines",
    [[], [(1, 0)], [(1, -1)], [(1, 1.5)], [(1, True)], [(1, "2")], [(1, 1_000_001)], [("x", 1)], [(1,)]],
)
def test_reserve_refuses_bad_lines(store, sku, give, lines):
    give(store, sku, 5)
    lines = [(sku.pk if sku_id == 1 else sku_id, *rest) for sku_id, *rest in lines]
    with pytest.raises((ValidationFailed, NotFound)):
        services.stock_reserve(store=store, lines=lines, reference="O8")
    assert level(store, sku) == (5, 0)


def test_reserve_refuses_another_merchants_sku(store, rival_sku):
    with pytest.raises(NotFound):
        services.stock_reserve(store=store, lines=[(rival_sku.pk, 1)], reference="O9")


def test_release_returns_units_once(store, sku, give):
    give(store, sku, 5)
    services.stock_reserve(store=store, lines=[(sku.pk, 4)], reference="O10")

    assert services.stock_release(reference="O10") == 1
    assert level(store, sku) == (5, 0)
    assert Reservation.objects.get(reference="O10").status == ReservationStatus.RELEASED

    assert services.stock_release(reference="O10") == 0
    assert level(store, sku) == (5, 0)
    assert movements(type="release") == [("release", 0, -4)]


def test_consume_takes_units_out_once(store, sku, sku2, give):
    give(store, sku, 5)
    give(store, sku2, 2)
    services.stock_reserve(store=store, lines=[(sku.pk, 4), (sku2.pk, 1)], reference="O11")

    assert services.stock_consume(reference="O11") == 2
    assert level(store, sku) == (1, 0)
    assert level(store, sku2) == (1, 0)
    assert services.stock_consume(reference="O11") == 0
    assert level(store, sku) == (1, 0)
    assert movements(type="consume") == [("consume", -4, -4), ("consume", -1, -1)]
    # A consumed order's units do not come back by releasing it (that is a return).
    assert services.stock_release(reference="O11") == 0
    assert level(store, sku) == (1, 0)


def test_consume_of_a_released_or_unknown_reservation_is_refused(store, sku, give):
    give(store, sku, 5)
    services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="O12")
    services.stock_release(reference="O12")

    with pytest.raises(Conflict) as exc:
        services.stock_consume(reference="O12")
    assert exc.value.code == "reservation_released"
    with pytest.raises(NotFound) as exc:
        services.stock_consume(reference="NOPE")
    assert exc.value.code == "reservation_not_found"
    assert level(store, sku) == (5, 0)


def test_expired_reservations_are_released_by_the_sweep(store, sku, give):
    give(store, sku, 5)
    now = timezone.now()
    services.stock_reserve(
        store=store, lines=[(sku.pk, 1)], reference="OLD", expires_at=now - dt.timedelta(hours=1)
    )
    services.stock_reserve(
        store=store, lines=[(sku.pk, 2)], reference="NEW", expires_at=now + dt.timedelta(hours=1)
    )
    services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="NONE")

    assert services.stock_release_expired(now=now) == 1
    assert dict(Reservation.objects.values_list("reference", "status")) == {
        "OLD": "released",
        "NEW": "active",
        "NONE": "active",
    }
    assert level(store, sku) == (5, 3)


def test_the_release_task_runs_the_sweep_with_grace(store, sku, give):
    from mendian.inventory.tasks import release_expired_reservations

    give(store, sku, 5)
    now = timezone.now()
    services.stock_reserve(
        store=store, lines=[(sku.pk, 1)], reference="A", expires_at=now - dt.timedelta(hours=1)
    )
    services.stock_reserve(
        store=store, lines=[(sku.pk, 1)], reference="B", expires_at=now - dt.timedelta(minutes=1)
    )

    assert release_expired_reservations.delay().get() == 1
    assert Reservation.objects.get(reference="A").status == "released"
    assert Reservation.objects.get(reference="B").status == "active"


def test_reserve_needs_an_aware_expiry_and_a_reference(store, sku, give):
    give(store, sku, 5)
    with pytest.raises(ValidationFailed):
        services.stock_reserve(
            store=store, lines=[(sku.pk, 1)], reference="O13", expires_at=dt.datetime(2030, 1, 1)
        )
    with pytest.raises(ValidationFailed):
        services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="  ")
    with pytest.raises(ValidationFailed):
        services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="x" * 65)
    assert level(store, sku) == (5, 0)


def test_available_for_reads_in_one_query(store, sku, sku2, give, django_assert_num_queries):
    give(store, sku, 7)
    with django_assert_num_queries(1):
        result = stock_available_for(store_id=store.pk, sku_ids=[sku.pk, sku2.pk, 999999])
    assert result == {sku.pk: 7, sku2.pk: 0, 999999: 0}
    with django_assert_num_queries(0):
        assert stock_available_for(store_id=store.pk, sku_ids=[]) == {}


def test_set_expiry_holds_a_paid_order_past_the_sweep(store, sku, give):
    give(store, sku, 5)
    past = timezone.now() - dt.timedelta(hours=1)
    services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="PAID", expires_at=past)
    assert services.stock_reservation_set_expiry(reference="PAID", expires_at=None) is True
    assert services.stock_release_expired() == 0
    assert level(store, sku) == (5, 2)
    services.stock_release(reference="PAID")
    assert services.stock_reservation_set_expiry(reference="PAID", expires_at=None) is False
    with pytest.raises(ValidationFailed):
        services.stock_reservation_set_expiry(reference="PAID", expires_at=dt.datetime(2030, 1, 1))


def test_a_new_orders_reservation_joins_the_callers_transaction_and_a_refusal_dooms_it(store, sku, give):
    from django.db import connection, transaction

    give(store, sku, 1)
    # Inside the order's transaction, as order_create opens it (the outer one stands for the test's).
    with pytest.raises(Conflict) as refused, transaction.atomic(), transaction.atomic(savepoint=False):
        try:
            services.stock_reserve(
                store=store, lines=[(sku.pk, 2)], reference="O20260009", new_reference=True
            )
        finally:
            # No savepoint of its own: the caller's transaction can only be rolled back.
            assert connection.needs_rollback
    assert refused.value.code == "out_of_stock"
    assert level(store, sku) == (1, 0) and not Reservation.objects.filter(reference="O20260009").exists()

    with transaction.atomic():
        held = services.stock_reserve(
            store=store, lines=[(sku.pk, 1)], reference="O20260010", new_reference=True
        )
    assert [r.quantity for r in held] == [1] and level(store, sku) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_new_orders_reservation_outside_a_transaction_is_a_programming_error(store, sku, give):
    give(store, sku, 1)
    with pytest.raises(RuntimeError):
        services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="O20260011", new_reference=True)
    assert level(store, sku) == (1, 0)
