"""The inventory owns a reservation's life: held until the payment deadline, held until fulfilment
once paid (`stock_reservation_hold`), moved (`stock_reservation_extend`); and returned goods come
back with their own `return` movement from source `refund`, once per refund request."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from mendian.core.errors import NotFound, ValidationFailed
from mendian.inventory import services
from mendian.inventory.models import MovementSource, Reservation, StockMovement
from tests.inventory.conftest import level, movements


def reserve(store, sku, qty, reference="26120200000021", minutes=15):
    return services.stock_reserve(
        store=store,
        lines=[(sku.pk, qty)],
        reference=reference,
        expires_at=timezone.now() + dt.timedelta(minutes=minutes),
    )


def test_a_held_reservation_survives_the_expiry_sweep(store, sku, give):
    give(store, sku, 5)
    reserve(store, sku, 2)

    assert services.stock_reservation_hold(reference="26120200000021") is True

    later = timezone.now() + dt.timedelta(days=3)
    assert services.stock_release_expired(now=later) == 0
    assert level(store, sku) == (5, 2)
    assert Reservation.objects.get().expires_at is None


def test_holding_a_released_reservation_says_so(store, sku, give):
    give(store, sku, 5)
    reserve(store, sku, 2, minutes=-1)
    assert services.stock_release_expired() == 1

    assert services.stock_reservation_hold(reference="26120200000021") is False
    assert level(store, sku) == (5, 0)


def test_holding_an_unknown_reference_is_false(store):
    assert services.stock_reservation_hold(reference="nothing-here") is False


def test_extend_moves_the_deadline_the_sweep_acts_on(store, sku, give):
    give(store, sku, 5)
    reserve(store, sku, 2, minutes=1)
    later = timezone.now() + dt.timedelta(minutes=30)

    assert services.stock_reservation_extend(reference="26120200000021", expires_at=later) is True

    assert services.stock_release_expired(now=timezone.now() + dt.timedelta(minutes=10)) == 0
    assert services.stock_release_expired(now=later + dt.timedelta(seconds=1)) == 1
    assert level(store, sku) == (5, 0)


def test_extend_needs_an_aware_time(store, sku, give):
    give(store, sku, 5)
    reserve(store, sku, 2)
    with pytest.raises(ValidationFailed):
        services.stock_reservation_extend(reference="26120200000021", expires_at=dt.datetime(2030, 1, 1))  # noqa: DTZ001


def test_the_sweep_rechecks_the_expiry_under_the_lock(store, sku, give, monkeypatch):
    """A payment holds the goods between the sweep's scan and its release: the goods stay held."""
    give(store, sku, 5)
    reserve(store, sku, 2, minutes=-1)
    real_close = services._close_reservations

    def paid_in_between(reference, **kwargs):
        services.stock_reservation_hold(reference=reference)
        return real_close(reference, **kwargs)

    monkeypatch.setattr(services, "_close_reservations", paid_in_between)

    assert services.stock_release_expired() == 0
    assert level(store, sku) == (5, 2)


# --- returns ------------------------------------------------------------------------------------------


def test_returned_goods_come_back_with_a_refund_movement(store, sku, sku2, give):
    give(store, sku, 3)

    restocked = services.stock_return(
        store=store, lines=[(sku.pk, 2), (sku2.pk, 1)], refund_request_id=41, reference="26120200000031"
    )

    assert restocked == 2
    assert level(store, sku) == (5, 0) and level(store, sku2) == (1, 0)
    rows = list(
        StockMovement.objects.filter(source=MovementSource.REFUND)
        .order_by("sku_id")
        .values_list("type", "delta_on_hand", "source_id", "reference")
    )
    assert rows == [
        ("return", 2, f"refund:41:{sku.pk}", "26120200000031"),
        ("return", 1, f"refund:41:{sku2.pk}", "26120200000031"),
    ]
    assert not StockMovement.objects.filter(source=MovementSource.POS).exists()


def test_returning_the_same_refund_again_changes_nothing(store, sku, give):
    services.stock_return(store=store, lines=[(sku.pk, 2)], refund_request_id=7)

    assert services.stock_return(store=store, lines=[(sku.pk, 2)], refund_request_id=7) == 0
    assert level(store, sku) == (2, 0)
    assert movements(store, type="return") == [("return", 2, 0)]


def test_another_refund_of_the_same_goods_is_another_return(store, sku):
    services.stock_return(store=store, lines=[(sku.pk, 1)], refund_request_id=7)
    services.stock_return(store=store, lines=[(sku.pk, 1)], refund_request_id=8)

    assert level(store, sku) == (2, 0)


def test_a_return_of_another_merchants_sku_is_refused(store, rival_sku):
    with pytest.raises(NotFound):
        services.stock_return(store=store, lines=[(rival_sku.pk, 1)], refund_request_id=9)
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize("refund_request_id", [0, -1, "7", True, None])
def test_a_return_needs_a_refund_request_id(store, sku, refund_request_id):
    with pytest.raises(ValidationFailed):
        services.stock_return(store=store, lines=[(sku.pk, 1)], refund_request_id=refund_request_id)


def test_check_stock_is_clean_after_holds_sweeps_and_returns(store, sku, give, capsys):
    give(store, sku, 4)
    reserve(store, sku, 1, reference="A1")
    reserve(store, sku, 1, reference="A2", minutes=-5)
    services.stock_reservation_hold(reference="A1")
    services.stock_release_expired()
    services.stock_consume(reference="A1")
    services.stock_return(store=store, lines=[(sku.pk, 1)], refund_request_id=1, reference="A1")

    call_command("check_stock")

    assert level(store, sku) == (4, 0)
    assert "consistent" in capsys.readouterr().out
