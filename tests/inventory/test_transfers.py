"""Transfers between two stores of one merchant: created → in transit → received (or cancelled)."""

import pytest

from mendian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mendian.core.scope import Actor, Role
from mendian.inventory import services
from mendian.inventory.models import StockMovement, Transfer
from tests.inventory.conftest import level, movements

pytestmark = pytest.mark.django_db
URL = "/api/staff/v1/transfers"


def _manager(store):
    return Actor(role=Role.STORE_MANAGER, merchant_id=store.merchant_id, store_id=store.pk)


def test_ship_then_receive_moves_the_units(store, other_store, sku, sku2, give):
    give(store, sku, 10)
    give(store, sku2, 2)
    transfer = services.transfer_create(
        actor=_manager(store), from_store=store, to_store=other_store, lines=[(sku.pk, 4), (sku2.pk, 2)]
    )
    assert transfer.status == "created"
    assert level(store, sku) == (10, 0)

    services.transfer_ship(actor=_manager(store), transfer=transfer)
    assert level(store, sku) == (6, 0)
    assert level(store, sku2) == (0, 0)
    assert level(other_store, sku) == (0, 0)
    assert Transfer.objects.get().status == "in_transit"

    services.transfer_receive(actor=_manager(other_store), transfer=transfer)
    assert level(other_store, sku) == (4, 0)
    assert level(other_store, sku2) == (2, 0)
    assert Transfer.objects.get().status == "received"
    assert list(
        StockMovement.objects.filter(type__startswith="transfer")
        .order_by("pk")
        .values_list("store_id", "sku_id", "type", "delta_on_hand", "reference")
    ) == [
        (store.pk, sku.pk, "transfer_out", -4, f"TR{transfer.pk}"),
        (store.pk, sku2.pk, "transfer_out", -2, f"TR{transfer.pk}"),
        (other_store.pk, sku.pk, "transfer_in", 4, f"TR{transfer.pk}"),
        (other_store.pk, sku2.pk, "transfer_in", 2, f"TR{transfer.pk}"),
    ]


def test_shipping_needs_available_stock_and_is_all_or_nothing(store, other_store, sku, sku2, give):
    give(store, sku, 10)
    give(store, sku2, 3)
    services.stock_reserve(store=store, lines=[(sku2.pk, 2)], reference="O1")
    transfer = services.transfer_create(
        actor=_manager(store), from_store=store, to_store=other_store, lines=[(sku.pk, 4), (sku2.pk, 2)]
    )
    before = movements()
    with pytest.raises(Conflict) as exc:
        services.transfer_ship(actor=_manager(store), transfer=transfer)
    assert exc.value.code == "insufficient_stock"
    assert "COLA-330" in exc.value.detail
    assert movements() == before
    assert level(store, sku) == (10, 0)
    assert Transfer.objects.get().status == "created"


def test_only_each_side_does_its_step(store, other_store, sku, give):
    give(store, sku, 10)
    transfer = services.transfer_create(
        actor=_manager(other_store), from_store=store, to_store=other_store, lines=[(sku.pk, 1)]
    )
    with pytest.raises(Forbidden):
        services.transfer_ship(actor=_manager(other_store), transfer=transfer)
    services.transfer_ship(actor=_manager(store), transfer=transfer)
    with pytest.raises(Forbidden):
        services.transfer_receive(actor=_manager(store), transfer=transfer)
    with pytest.raises(Conflict):
        services.transfer_cancel(actor=_manager(store), transfer=transfer)
    assert level(store, sku) == (9, 0)
    assert level(other_store, sku) == (0, 0)


def test_cancel_before_shipping_moves_nothing(store, other_store, sku, give):
    give(store, sku, 10)
    transfer = services.transfer_create(
        actor=_manager(store), from_store=store, to_store=other_store, lines=[(sku.pk, 1)]
    )
    services.transfer_cancel(actor=_manager(other_store), transfer=transfer)
    with pytest.raises(Conflict) as exc:
        services.transfer_ship(actor=_manager(store), transfer=transfer)
    assert exc.value.code == "invalid_state_transition"
    assert level(store, sku) == (10, 0)


def test_transfers_stay_within_one_merchant_and_need_two_stores(
    store, other_store, rival_store, sku, rival_sku
):
    hq = Actor(role=Role.MERCHANT_ADMIN, merchant_id=store.merchant_id)
    with pytest.raises(NotFound):
        services.transfer_create(actor=hq, from_store=store, to_store=rival_store, lines=[(sku.pk, 1)])
    with pytest.raises(NotFound):
        services.transfer_create(actor=hq, from_store=store, to_store=other_store, lines=[(rival_sku.pk, 1)])
    with pytest.raises(ValidationFailed):
        services.transfer_create(actor=hq, from_store=store, to_store=store, lines=[(sku.pk, 1)])
    clerk = Actor(role=Role.STORE_CLERK, merchant_id=store.merchant_id, store_id=store.pk)
    with pytest.raises(Forbidden):
        services.transfer_create(actor=clerk, from_store=store, to_store=other_store, lines=[(sku.pk, 1)])
    assert not Transfer.objects.exists()


# --- API -------------------------------------------------------------------------------------


def test_the_transfer_flow_over_the_api(manager_api, make_staff_api, store, other_store, sku, give):
    give(store, sku, 5)
    response = manager_api.post(
        URL,
        {
            "from_store_id": str(store.pk),
            "to_store_id": str(other_store.pk),
            "lines": [{"sku_id": str(sku.pk), "quantity": 3}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    transfer_id = body["id"]
    assert body["status"] == "created"
    assert body["from_store"] == {"id": str(store.pk), "code": "jh001", "name": "江汉路店"}
    assert body["to_store"]["code"] == "wc002"
    assert body["lines"] == [
        {"sku_id": str(sku.pk), "sku_code": "WATER-500", "product_name": "矿泉水", "quantity": 3}
    ]

    response = manager_api.post(f"{URL}/{transfer_id}/ship")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_transit"
    assert level(store, sku) == (2, 0)

    receiver = make_staff_api(role=Role.STORE_MANAGER, store=other_store, username="wc_manager")
    assert receiver.get(f"{URL}/{transfer_id}").json()["status"] == "in_transit"
    response = manager_api.post(f"{URL}/{transfer_id}/receive")
    assert response.status_code == 403
    response = receiver.post(f"{URL}/{transfer_id}/receive")
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    assert level(other_store, sku) == (3, 0)
    assert [t["id"] for t in receiver.get(URL).json()["items"]] == [transfer_id]


def test_a_third_store_sees_no_transfer(manager_api, make_staff_api, merchant, store, other_store, sku, give):
    from tests.factories import StoreFactory

    give(store, sku, 5)
    third = StoreFactory(merchant=merchant, code="hk003", name="汉口店")
    stranger = make_staff_api(role=Role.STORE_MANAGER, store=third, username="hk_manager")
    transfer = services.transfer_create(
        actor=_manager(store), from_store=store, to_store=other_store, lines=[(sku.pk, 1)]
    )
    assert stranger.get(URL).json()["items"] == []
    for action in ("ship", "receive", "cancel"):
        assert stranger.post(f"{URL}/{transfer.pk}/{action}").status_code == 404
    assert stranger.get(f"{URL}/{transfer.pk}").status_code == 404
    assert Transfer.objects.get().status == "created"


def test_clerk_cannot_create_transfers(clerk_api, store, other_store, sku, give):
    give(store, sku, 5)
    response = clerk_api.post(
        URL,
        {
            "from_store_id": str(store.pk),
            "to_store_id": str(other_store.pk),
            "lines": [{"sku_id": str(sku.pk), "quantity": 1}],
        },
    )
    assert response.status_code == 403
    assert not Transfer.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"lines": []},
        {"lines": [{"sku_id": "SKU", "quantity": 0}]},
        {"lines": [{"sku_id": "SKU", "quantity": 2.5}]},
        {"status": "received"},
        {"to_store_id": "FROM"},
    ],
)
def test_bad_transfer_bodies(manager_api, store, other_store, sku, change):
    body = {
        "from_store_id": str(store.pk),
        "to_store_id": str(other_store.pk),
        "lines": [{"sku_id": str(sku.pk), "quantity": 1}],
    }
    body.update(change)
    for line in body["lines"]:
        line["sku_id"] = str(sku.pk)
    if body["to_store_id"] == "FROM":
        body["to_store_id"] = str(store.pk)
    response = manager_api.post(URL, body)
    assert response.status_code == 422, response.content
    assert not Transfer.objects.exists()


def test_transfer_to_another_merchant_is_404(manager_api, store, rival_store, sku):
    response = manager_api.post(
        URL,
        {
            "from_store_id": str(store.pk),
            "to_store_id": str(rival_store.pk),
            "lines": [{"sku_id": str(sku.pk), "quantity": 1}],
        },
    )
    assert response.status_code == 404
    assert not Transfer.objects.exists()


def test_transfer_list_query_count(
    manager_api, store, other_store, sku, sku2, give, django_assert_num_queries
):
    give(store, sku, 50)
    for _ in range(3):
        services.transfer_create(
            actor=_manager(store), from_store=store, to_store=other_store, lines=[(sku.pk, 1), (sku2.pk, 1)]
        )
    # the token, transfers with their stores, lines, SKUs, products: not one more per transfer
    with django_assert_num_queries(5):
        response = manager_api.get(URL)
    assert len(response.json()["items"]) == 3


def test_cancel_over_the_api_by_the_receiving_store(
    manager_api, make_staff_api, store, other_store, sku, give
):
    give(store, sku, 5)
    transfer = services.transfer_create(
        actor=_manager(store), from_store=store, to_store=other_store, lines=[(sku.pk, 2)]
    )
    receiver = make_staff_api(role=Role.STORE_MANAGER, store=other_store, username="wc_manager")
    response = receiver.post(f"{URL}/{transfer.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    assert manager_api.post(f"{URL}/{transfer.pk}/ship").json()["code"] == "invalid_state_transition"
    assert level(store, sku) == (5, 0)
    assert [t["status"] for t in manager_api.get(URL, {"status": "cancelled"}).json()["items"]] == [
        "cancelled"
    ]
