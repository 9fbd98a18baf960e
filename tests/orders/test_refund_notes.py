"""The note a store gives with a refund approval (商家备注): stored on the request, in the staff, HQ
and customer replies and on the customer's order page; a bad note changes nothing."""

import re

import pytest
from django.test import Client

from mendian.core.errors import ValidationFailed
from mendian.core.scope import Actor, Role
from mendian.orders import services
from mendian.orders.models import Order, RefundRequest
from tests.orders.test_refunds import ask, completed  # noqa: F401 (a fixture)

STAFF = "/api/staff/v1"
NOTE = "已联系顾客，款项 1-3 个工作日原路退回"


def _approve(client, rid, body):
    return client.post(f"{STAFF}/refund-requests/{rid}/approve", body)


def _order_page(customer, order) -> str:
    client = Client()
    session = client.session
    session["customer_id"] = customer.pk
    session.save()
    response = client.get(f"/orders/{order.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _unchanged(order, rid, refunds) -> None:
    request = RefundRequest.objects.get(pk=rid)
    assert (request.status, request.decision_note, request.decided_at) == ("pending", "", None)
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.refunded_amount) == ("refund_requested", 0)
    assert refunds == []


def test_the_note_reaches_staff_hq_and_the_customer(member, manager_api, hq_api, completed, refunds):  # noqa: F811
    rid = ask(member, completed, {"reason": "不新鲜"})["refund_requests"][0]["id"]

    approved = _approve(manager_api, rid, {"restock": False, "note": f"  {NOTE}\n"})

    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["decision_note"]) == ("approved", NOTE)
    assert RefundRequest.objects.get(pk=rid).decision_note == NOTE
    assert manager_api.get(f"{STAFF}/refund-requests/{rid}").json()["decision_note"] == NOTE
    listed = manager_api.get(f"{STAFF}/refund-requests", {"status": "approved"}).json()["items"]
    assert [(r["id"], r["decision_note"]) for r in listed] == [(rid, NOTE)]
    hq_order = hq_api.get(f"/api/hq/v1/orders/{completed.pk}").json()
    assert [r["decision_note"] for r in hq_order["refund_requests"]] == [NOTE]
    customer_order = member.get(f"/api/v1/orders/{completed.pk}").json()
    assert [r["decision_note"] for r in customer_order["refund_requests"]] == [NOTE]

    html = _order_page(member.customer, completed)
    row = re.search(r'<div class="refund-row">(.*?)</div>\s*</section>', html, re.S).group(1)
    assert 'data-refund-status="approved"' in row
    assert f'<div class="small" data-refund-note>商家备注：{NOTE}</div>' in row


def test_without_a_note_the_customer_sees_none(member, manager_api, completed, refunds):  # noqa: F811
    rid = ask(member, completed, {"reason": "不新鲜"})["refund_requests"][0]["id"]

    approved = _approve(manager_api, rid, {"note": "   "})

    assert (approved.status_code, approved.json()["decision_note"]) == (200, "")
    html = _order_page(member.customer, completed)
    assert 'data-refund-status="approved"' in html and "商家备注" not in html


def test_a_note_of_200_characters_after_stripping_is_kept(member, manager_api, completed, refunds):  # noqa: F811
    rid = ask(member, completed, {"reason": "不新鲜"})["refund_requests"][0]["id"]
    note = "好" * 200

    approved = _approve(manager_api, rid, {"note": f" {note} "})

    assert (approved.status_code, approved.json()["decision_note"]) == (200, note)


@pytest.mark.parametrize(
    "note",
    ["好" * 201, 123, True, None, ["退款"], {"text": "退款"}],
    ids=["too-long", "number", "bool", "null", "list", "object"],
)
def test_a_bad_note_is_422_and_the_request_stays_pending(member, manager_api, completed, refunds, note):  # noqa: F811
    rid = ask(member, completed, {"reason": "不新鲜"})["refund_requests"][0]["id"]

    response = _approve(manager_api, rid, {"restock": True, "note": note})

    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"
    assert any("note" in error["loc"] for error in response.json()["errors"])
    _unchanged(completed, rid, refunds)


def test_the_service_refuses_a_long_note_too(member, completed, refunds, store):  # noqa: F811
    rid = ask(member, completed, {"reason": "不新鲜"})["refund_requests"][0]["id"]
    manager = Actor(role=Role.STORE_MANAGER, merchant_id=store.merchant_id, store_id=store.pk)

    with pytest.raises(ValidationFailed):
        services.refund_request_approve(actor=manager, request_id=rid, note="好" * 201)

    _unchanged(completed, rid, refunds)


def test_rejection_still_needs_its_reason_and_takes_no_note(member, manager_api, completed):  # noqa: F811
    rid = ask(member, completed, {"reason": "不新鲜"})["refund_requests"][0]["id"]

    with_note = manager_api.post(f"{STAFF}/refund-requests/{rid}/reject", {"reason": "已拆封", "note": "x"})
    without_reason = manager_api.post(f"{STAFF}/refund-requests/{rid}/reject", {})

    assert (with_note.status_code, without_reason.status_code) == (422, 422)
    assert RefundRequest.objects.get(pk=rid).status == "pending"
