import pytest


@pytest.fixture
def refunds_stub(monkeypatch):
    """Refunds are started through the payments app (built separately): record instead of calling
    out, so an approval that wrongly went through shows up as a recorded call, never as a crash."""
    calls = []

    def refund_start(*, order, amount, refund_request_id, reason):
        calls.append({"order_id": order.pk, "amount": amount, "refund_request_id": refund_request_id})

    monkeypatch.setattr("mendian.orders.services.payments_refund_start", refund_start)
    return calls
