"""Restock requests (要货): a store asks, HQ approves (maybe fewer) or rejects, the store receives."""

import pytest

from mendian.core.errors import Conflict, Forbidden, ValidationFailed
from mendian.core.scope import Actor, Role
from mendian.inventory import services
from mendian.inventory.models import RestockLine, RestockRequest, StockMovement
from tests.inventory.conftest import level

pytestmark = pytest.mark.django_db
STAFF_URL = "/api/staff/v1/restock-requests"
HQ_URL = "/api/hq/v1/restock-requests"


def _manager(store):
    return Actor(role=Role.STORE_MANAGER, merchant_id=store.merchant_id, store_id=store.pk)


def _hq(merchant):
    return Actor(role=Role.MERCHANT_ADMIN, merchant_id=merchant.pk)


def test_request_approve_with_fewer_then_receive(store, merchant, sku, sku2):
    request = services.restock_request_create(
        actor=_manager(store), store=store, lines=[(sku.pk, 24), (sku2.pk, 12)], note="周末促销"
    )
    assert request.status == "pending"
    services.restock_request_approve(
        actor=_hq(merchant), request=request, lines=[(sku2.pk, 6)], note="可乐缺货"
    )
    assert dict(RestockLine.objects.values_list("sku_id", "approved_quantity")) == {sku.pk: 24, sku2.pk: 6}
    assert level(store, sku) == (0, 0)  # approval moves no stock

    # 2 bottles of water arrived broken: 22 booked in.
    services.restock_request_receive(actor=_manager(store), request=request, lines=[(sku.pk, 22)])
    assert level(store, sku) == (22, 0)
    assert level(store, sku2) == (6, 0)
    request.refresh_from_db()
    assert request.status == "received"
    assert list(
        StockMovement.objects.order_by("sku_id").values_list("type", "delta_on_hand", "reference")
    ) == [
        ("receive", 22, f"RR{request.pk}"),
        ("receive", 6, f"RR{request.pk}"),
    ]


def test_reject_and_state_rules(store, merchant, sku):
    request = services.restock_request_create(actor=_manager(store), store=store, lines=[(sku.pk, 5)])
    with pytest.raises(Conflict):
        services.restock_request_receive(actor=_manager(store), request=request)
    services.restock_request_reject(actor=_hq(merchant), request=request, note="库存充足")
    with pytest.raises(Conflict) as exc:
        services.restock_request_approve(actor=_hq(merchant), request=request)
    assert exc.value.code == "invalid_state_transition"
    request.refresh_from_db()
    assert (request.status, request.decision_note) == ("rejected", "库存充足")
    assert not StockMovement.objects.exists()


def test_store_staff_cannot_decide_and_clerks_cannot_request(store, sku):
    request = services.restock_request_create(actor=_manager(store), store=store, lines=[(sku.pk, 5)])
    with pytest.raises(Forbidden):
        services.restock_request_approve(actor=_manager(store), request=request)
    clerk = Actor(role=Role.STORE_CLERK, merchant_id=store.merchant_id, store_id=store.pk)
    with pytest.raises(Forbidden):
        services.restock_request_create(actor=clerk, store=store, lines=[(sku.pk, 1)])
    assert RestockRequest.objects.get().status == "pending"


def test_approval_must_supply_something_and_name_only_requested_skus(store, merchant, sku, sku2):
    request = services.restock_request_create(actor=_manager(store), store=store, lines=[(sku.pk, 5)])
    with pytest.raises(ValidationFailed):
        services.restock_request_approve(actor=_hq(merchant), request=request, lines=[(sku.pk, 0)])
    with pytest.raises(ValidationFailed):
        services.restock_request_approve(actor=_hq(merchant), request=request, lines=[(sku2.pk, 1)])
    assert RestockRequest.objects.get().status == "pending"


# --- API -------------------------------------------------------------------------------------


def test_the_restock_flow_over_both_apis(manager_api, hq_api, store, sku):
    response = manager_api.post(
        STAFF_URL, {"lines": [{"sku_id": str(sku.pk), "quantity": 10}], "note": "补货"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    request_id = body["id"]
    assert body["store"]["id"] == str(store.pk)
    assert body["status"] == "pending"
    assert body["lines"] == [
        {
            "sku_id": str(sku.pk),
            "sku_code": "WATER-500",
            "product_name": "矿泉水",
            "quantity": 10,
            "approved_quantity": None,
            "received_quantity": None,
        }
    ]

    listing = hq_api.get(HQ_URL, {"status": "pending"}).json()
    assert [item["id"] for item in listing["items"]] == [request_id]

    response = hq_api.post(
        f"{HQ_URL}/{request_id}/approve", {"lines": [{"sku_id": str(sku.pk), "quantity": 8}]}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert response.json()["lines"][0]["approved_quantity"] == 8

    response = manager_api.post(f"{STAFF_URL}/{request_id}/receive")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "received"
    assert response.json()["lines"][0]["received_quantity"] == 8
    assert level(store, sku) == (8, 0)


def test_store_staff_are_refused_on_the_hq_routes(manager_api, clerk_api, store, sku):
    request = services.restock_request_create(actor=_manager(store), store=store, lines=[(sku.pk, 5)])
    for client in (manager_api, clerk_api):
        assert client.post(f"{HQ_URL}/{request.pk}/approve", {}).status_code == 403
        assert client.post(f"{HQ_URL}/{request.pk}/reject", {}).status_code == 403
        assert client.get(HQ_URL).status_code == 403
    assert RestockRequest.objects.get().status == "pending"


def test_another_merchants_hq_gets_404(make_staff_api, other_merchant, store, sku):
    request = services.restock_request_create(actor=_manager(store), store=store, lines=[(sku.pk, 5)])
    rival_hq = make_staff_api(
        role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None, username="rival_hq"
    )
    assert rival_hq.post(f"{HQ_URL}/{request.pk}/approve", {}).status_code == 404
    assert rival_hq.post(f"{HQ_URL}/{request.pk}/reject", {}).status_code == 404
    assert rival_hq.get(f"{HQ_URL}/{request.pk}").status_code == 404
    assert rival_hq.get(HQ_URL).json()["items"] == []
    assert RestockRequest.objects.get().status == "pending"


def test_clerk_cannot_request_and_bad_status_filter_is_422(clerk_api, store, sku):
    response = clerk_api.post(STAFF_URL, {"lines": [{"sku_id": str(sku.pk), "quantity": 10}]})
    assert response.status_code == 403
    assert not RestockRequest.objects.exists()
    response = clerk_api.get(STAFF_URL, {"status": "lost"})
    assert response.status_code == 422


def test_reject_over_the_api_with_a_note(hq_api, store, sku):
    request = services.restock_request_create(actor=_manager(store), store=store, lines=[(sku.pk, 5)])
    response = hq_api.post(f"{HQ_URL}/{request.pk}/reject", {"note": "下周统一配送"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_note"]) == ("rejected", "下周统一配送")
    response = hq_api.post(f"{HQ_URL}/{request.pk}/reject", {"note": "again"})
    assert response.status_code == 409
    response = hq_api.post(f"{HQ_URL}/{request.pk}/approve", {"status": "approved"})
    assert response.status_code == 422


def test_details_and_receiving_with_bad_lines(
    manager_api, hq_api, make_staff_api, store, other_store, merchant, sku, sku2
):
    request = services.restock_request_create(actor=_manager(store), store=store, lines=[(sku.pk, 5)])
    assert manager_api.get(f"{STAFF_URL}/{request.pk}").json()["reference"] == f"RR{request.pk}"
    assert hq_api.get(f"{HQ_URL}/{request.pk}").json()["store"]["code"] == "jh001"
    other = make_staff_api(role=Role.STORE_MANAGER, store=other_store, username="wc_manager")
    assert other.get(f"{STAFF_URL}/{request.pk}").status_code == 404
    assert other.post(f"{STAFF_URL}/{request.pk}/receive").status_code == 404
    assert other.get(STAFF_URL).json()["items"] == []
    assert [r["id"] for r in hq_api.get(HQ_URL, {"store_id": str(store.pk)}).json()["items"]] == [
        str(request.pk)
    ]

    services.restock_request_approve(actor=_hq(merchant), request=request)
    response = manager_api.post(
        f"{STAFF_URL}/{request.pk}/receive", {"lines": [{"sku_id": str(sku2.pk), "quantity": 1}]}
    )
    assert response.status_code == 422
    response = manager_api.post(
        f"{STAFF_URL}/{request.pk}/receive", {"lines": [{"sku_id": str(sku.pk), "quantity": -1}]}
    )
    assert response.status_code == 422
    assert level(store, sku) == (0, 0)
    assert RestockRequest.objects.get().status == "approved"
