"""The ledger at the database level: CHECKs, uniqueness, immutability, and `mendian check-stock`."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from mendian.cli import main as mendian
from mendian.inventory.models import StockLevel, StockMovement
from mendian.inventory.selectors import stock_check
from mendian.inventory.services import stock_reserve

pytestmark = pytest.mark.django_db


def _raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    ("on_hand", "reserved"),
    [(-1, 0), (0, -1), (2, 3)],
)
def test_level_checks_hold_at_the_database(store, sku, on_hand, reserved):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.create(store=store, sku=sku, on_hand=on_hand, reserved=reserved)


def test_one_level_per_store_and_sku(store, sku):
    StockLevel.objects.create(store=store, sku=sku)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.create(store=store, sku=sku)


def test_source_id_is_unique_per_store_and_source(store, other_store, sku, corrupts_stock):
    fields = dict(sku=sku, type="receive", delta_on_hand=1, source="pos", occurred_at=timezone.now())
    StockMovement.objects.create(store=store, source_id="e1", **fields)
    StockMovement.objects.create(store=other_store, source_id="e1", **fields)
    StockMovement.objects.create(store=store, source_id=None, **fields)
    StockMovement.objects.create(store=store, source_id=None, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(store=store, source_id="e1", **fields)


def test_movement_rows_cannot_be_updated_or_deleted(store, sku, give):
    give(store, sku, 5)
    movement = StockMovement.objects.get()
    table = StockMovement._meta.db_table

    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f"UPDATE {table} SET delta_on_hand = 500 WHERE id = %s", [movement.pk])  # noqa: S608
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(reason="lost")
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f"DELETE FROM {table}")  # noqa: S608
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).delete()

    movement.refresh_from_db()
    assert (movement.delta_on_hand, movement.reason) == (5, "found")
    assert StockMovement.objects.count() == 1


def test_check_stock_is_clean_on_a_consistent_ledger(store, sku, give, capsys):
    give(store, sku, 5)
    stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O1")
    assert stock_check() == []
    out = io.StringIO()
    call_command("check_stock", stdout=out)
    assert out.getvalue() == "Stock is consistent with the ledger.\n"


def test_check_stock_detects_a_corrupted_level(store, sku, sku2, give, corrupts_stock, capsys):
    give(store, sku, 5)
    give(store, sku2, 3)
    stock_reserve(store=store, lines=[(sku2.pk, 1)], reference="O1")
    table = StockLevel._meta.db_table
    _raw(f"UPDATE {table} SET on_hand = 7 WHERE sku_id = %s", [sku.pk])  # noqa: S608
    _raw(f"UPDATE {table} SET reserved = 2 WHERE sku_id = %s", [sku2.pk])  # noqa: S608

    problems = stock_check()
    assert [(p.store_id, p.sku_id, p.kind) for p in problems] == [
        (store.pk, sku.pk, "on_hand_mismatch"),
        (store.pk, sku2.pk, "reserved_mismatch"),
        (store.pk, sku2.pk, "reservations_mismatch"),
    ]
    assert str(problems[0]) == f"store {store.pk} sku {sku.pk}: on_hand_mismatch: on_hand 7, ledger 5"

    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("check_stock", stdout=out)
    assert exc.value.returncode == 1
    assert out.getvalue().splitlines() == [str(p) for p in problems]

    # The real command line: `mendian check-stock` exits 1.
    with pytest.raises(SystemExit) as exit_info:
        mendian(["mendian", "check-stock"])
    assert exit_info.value.code == 1
    assert "3 stock problem(s) found." in capsys.readouterr().err


def test_check_stock_reports_a_missing_level(store, sku, give, corrupts_stock):
    give(store, sku, 5)
    _raw(f"DELETE FROM {StockLevel._meta.db_table}")  # noqa: S608
    assert [(p.sku_id, p.kind) for p in stock_check()] == [(sku.pk, "no_level")]


def test_check_stock_runs_in_two_queries(store, sku, sku2, give, django_assert_num_queries):
    give(store, sku, 5)
    give(store, sku2, 5)
    with django_assert_num_queries(2):
        assert stock_check() == []


@pytest.mark.django_db(transaction=True)
def test_flush_wipes_the_ledger_and_leaves_it_guarded(store, sku, give):
    """A whole-database flush (what transactional tests do between tests) must get through the
    append-only guard, and the guard must be back afterwards."""
    from tests.factories import MerchantFactory, SkuFactory, StoreFactory

    give(store, sku, 5)
    call_command("flush", interactive=False, verbosity=0)
    assert not StockMovement.objects.exists()
    assert not StockLevel.objects.exists()

    merchant = MerchantFactory(code="again")
    store, sku = StoreFactory(merchant=merchant), SkuFactory(product__merchant=merchant)
    give(store, sku, 2)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f"DELETE FROM {StockMovement._meta.db_table}")  # noqa: S608
    assert StockMovement.objects.count() == 1
