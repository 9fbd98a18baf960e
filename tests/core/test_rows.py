"""`rows.insert` prepares each value exactly as the fields' own `pre_save` + `get_db_prep_save`."""

import datetime as dt

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy

from mendian.core import rows
from mendian.core.pii import EncryptedTextField, decrypt
from mendian.orders.models import Order


def reference(obj) -> list:
    fields, _ = rows._insert_shape(type(obj))
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]


def mendian_models():
    return [model for model in apps.get_models() if model.__module__.startswith("mendian.")]


@pytest.mark.django_db
@pytest.mark.parametrize("model", mendian_models(), ids=lambda model: model.__name__)
def test_every_model_prepares_its_defaults_and_its_auto_times_as_the_fields_do(model, monkeypatch):
    moment = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    obj = model()

    assert repr(rows._insert_params(model, obj, connection)) == repr(reference(obj))


@pytest.mark.django_db
def test_strings_lazy_strings_ciphertext_json_and_times_prepare_as_the_fields_do(monkeypatch):
    moment = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    obj = Order(
        number="20260301083000",
        fulfilment_type="pickup",
        note=gettext_lazy("Yes"),
        courier=None,
        contact_name="张三",
        contact_phone="13812345678",
        subtotal=1150,
        total=1150,
        discounts=[{"source": "x", "label": "减", "amount": 50}],
        pay_deadline=moment + dt.timedelta(minutes=15),
        delivery_lat=31.2,
    )

    got = rows._insert_params(Order, obj, connection)
    want = reference(obj)

    fields, _ = rows._insert_shape(Order)
    for field, mine, theirs in zip(fields, got, want, strict=True):
        if isinstance(field, EncryptedTextField) and mine:
            assert mine != getattr(obj, field.attname)
            assert decrypt(mine) == decrypt(theirs) == getattr(obj, field.attname), field.name
        else:
            assert repr(mine) == repr(theirs), field.name


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", ["insert", "update"])
def test_a_failed_write_marks_the_enclosing_transaction_for_rollback(write):
    """As `Model.save` and `QuerySet.update` do: the caller cannot go on in a broken transaction
    (on PostgreSQL every later statement would fail), and nothing of it is committed."""
    from django.db import IntegrityError, transaction

    from mendian.merchants.models import Merchant
    from tests.factories import MerchantFactory

    taken = MerchantFactory(code="taken")
    other = MerchantFactory(code="other")
    with pytest.raises(IntegrityError), transaction.atomic():
        MerchantFactory(code="written-first")
        with transaction.atomic(savepoint=False):
            try:
                if write == "insert":
                    rows.insert([Merchant(code="taken", name="重复")])
                else:
                    rows.update(Merchant, other.pk, code="taken")
            except IntegrityError:
                assert connection.needs_rollback
                raise
    assert not Merchant.objects.filter(code="written-first").exists()
    assert (
        Merchant.objects.get(pk=other.pk).code == "other"
        and Merchant.objects.filter(code="taken").count() == 1
    )
    assert taken.pk
