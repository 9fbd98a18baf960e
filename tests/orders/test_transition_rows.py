"""`order_transition` writes its rows with hand-written SQL (`core.rows`): the same rows, guards
and errors as through the ORM."""

import pytest
from django.db import IntegrityError, connection, transaction

from mendian.core.errors import Conflict
from mendian.core.scope import Actor
from mendian.integrations.models import OutboxEvent
from mendian.orders import services
from mendian.orders.models import EventActor, Order, OrderEvent, OrderStatus
from tests.orders.conftest import pay


def test_paying_writes_the_order_its_event_and_the_outbox_event(placed):
    order_id = placed["id"]
    before = Order.objects.get(pk=order_id)

    pay(order_id)

    order = Order.objects.select_related("store").get(pk=order_id)
    event = OrderEvent.objects.filter(order_id=order_id).order_by("-pk").first()
    assert order.status == OrderStatus.PAID
    assert order.paid_amount == order.total == before.total
    assert order.payment_id == f"pay-{order_id}"
    assert order.payment_provider == "sandbox"
    assert order.pickup_code and len(order.pickup_code) == services.PICKUP_CODE_DIGITS
    assert order.updated_at == event.at > before.updated_at
    assert order.created_at == before.created_at
    assert order.contact_phone == before.contact_phone  # untouched (encrypted) columns
    assert (event.status, event.from_status, event.actor_type, event.staff_id, event.note) == (
        OrderStatus.PAID,
        OrderStatus.PENDING_PAYMENT,
        EventActor.PAYMENT,
        None,
        "",
    )
    outbox = OutboxEvent.objects.get(aggregate_type="orders.order", aggregate_id=str(order_id))
    assert outbox.merchant_id == order.merchant_id
    assert outbox.event_type == "order.paid"
    assert outbox.payload == services.order_payload(order, at=event.at.isoformat())
    assert outbox.published_at is None
    assert outbox.created_at >= event.at


def test_staff_transitions_record_the_staff_member_and_the_reason(paid, manager_api):
    manager_actor = Actor.for_staff(manager_api.staff)
    with transaction.atomic():
        order = services._lock(paid.pk)
        services.order_transition(
            order=order, to=OrderStatus.CANCELLED, actor=manager_actor, reason="x" * 250, now=paid.paid_at
        )
    event = OrderEvent.objects.filter(order_id=paid.pk).order_by("-pk").first()
    assert (event.status, event.from_status, event.actor_type, event.staff_id) == (
        OrderStatus.CANCELLED,
        OrderStatus.PAID,
        EventActor.STAFF,
        manager_actor.staff_id,
    )
    assert event.note == "x" * 200
    assert Order.objects.get(pk=paid.pk).updated_at == paid.paid_at == event.at


def test_a_status_changed_by_a_writer_that_skipped_the_lock_is_refused(placed):
    with transaction.atomic():
        order = services._lock(placed["id"])
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
        events = OrderEvent.objects.count()
        with pytest.raises(Conflict) as refused:
            services.order_transition(order=order, to=OrderStatus.PAID, actor=services.PAYMENT)
        assert refused.value.code == "invalid_state_transition"
        assert "changed meanwhile" in str(refused.value)
        assert OrderEvent.objects.count() == events
        assert order.status == OrderStatus.PENDING_PAYMENT


def test_a_refused_transition_writes_nothing(placed):
    with transaction.atomic():
        order = services._lock(placed["id"])
        with pytest.raises(Conflict) as refused:
            services.order_transition(order=order, to=OrderStatus.COMPLETED, actor=services.SYSTEM)
    assert refused.value.code == "invalid_state_transition"
    assert Order.objects.get(pk=placed["id"]).status == OrderStatus.PENDING_PAYMENT
    assert not OutboxEvent.objects.filter(aggregate_id=str(placed["id"])).exists()


def test_a_failed_write_marks_the_transaction_for_rollback_as_the_orm_does(placed):
    marked = []
    with pytest.raises(IntegrityError), transaction.atomic():
        order = services._lock(placed["id"])
        try:  # paid_amount may not be negative (a CHECK constraint)
            services.order_transition(
                order=order, to=OrderStatus.PAID, actor=services.PAYMENT, fields={"paid_amount": -1}
            )
        finally:
            marked.append(connection.needs_rollback)
    assert marked == [True]
    assert Order.objects.get(pk=placed["id"]).status == OrderStatus.PENDING_PAYMENT
