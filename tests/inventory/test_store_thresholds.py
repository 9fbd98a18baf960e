"""A store's own low-stock thresholds: `PUT /api/staff/v1/stock/thresholds` for store managers (and
HQ roles naming a store they see). Clerks are refused, other stores and merchants are not found, and
a refused or invalid body changes nothing."""

import pytest

from mendian.core.errors import NotFound, ValidationFailed
from mendian.core.scope import Actor, Role
from mendian.integrations.events import STOCK_LOW
from mendian.integrations.models import OutboxEvent
from mendian.inventory import services
from mendian.inventory.models import StockAlert, StockLevel

pytestmark = pytest.mark.django_db
THRESHOLDS = "/api/staff/v1/stock/thresholds"
STOCK = "/api/staff/v1/stock"


def _levels() -> list[tuple]:
    return list(
        StockLevel.objects.order_by("store_id", "sku_id").values_list(
            "store_id", "sku_id", "low_stock_threshold", "updated_at"
        )
    )


def _world() -> tuple:
    """Everything a threshold change could touch."""
    alerts = list(StockAlert.objects.order_by("pk").values_list("pk", "resolved_at"))
    return _levels(), alerts, OutboxEvent.objects.filter(event_type=STOCK_LOW).count()


def _item(sku, threshold) -> dict:
    return {"sku_id": str(sku.pk), "threshold": threshold}


def _threshold(store, sku):
    return (
        StockLevel.objects.filter(store=store, sku=sku).values_list("low_stock_threshold", flat=True).first()
    )


def test_a_manager_sets_a_threshold_above_available_and_an_alert_opens(
    manager_api, store, other_store, sku, give
):
    give(store, sku, 6)
    give(other_store, sku, 6)
    assert not StockAlert.objects.exists()  # 6 is not below the default of 5

    response = manager_api.put(THRESHOLDS, {"items": [_item(sku, 10)]})

    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 1, "default": 5}
    assert (_threshold(store, sku), _threshold(other_store, sku)) == (10, None)
    alert = StockAlert.objects.get()
    assert (alert.store_id, alert.sku_id, alert.threshold, alert.available, alert.resolved_at) == (
        store.pk,
        sku.pk,
        10,
        6,
        None,
    )
    assert OutboxEvent.objects.filter(event_type=STOCK_LOW).count() == 1
    (level,) = manager_api.get(STOCK).json()["items"]
    assert (level["low_stock_threshold"], level["threshold_is_default"], level["is_low"]) == (10, False, True)


def test_a_manager_clears_a_threshold_back_to_the_merchant_default(manager_api, store, sku, sku2, give):
    give(store, sku, 6)
    give(store, sku2, 1)
    manager_api.put(THRESHOLDS, {"items": [_item(sku, 10), _item(sku2, 0)]})
    assert StockAlert.objects.filter(resolved_at__isnull=True).count() == 1  # sku: 6 < 10; sku2 never

    response = manager_api.put(THRESHOLDS, {"items": [_item(sku, None), _item(sku2, None)]})

    assert response.json() == {"updated": 2, "default": 5}
    assert (_threshold(store, sku), _threshold(store, sku2)) == (None, None)
    open_alerts = StockAlert.objects.filter(resolved_at__isnull=True)
    # 6 is back above the default of 5 (resolved); 1 is now below it (opened).
    assert list(open_alerts.values_list("sku_id", "threshold", "available")) == [(sku2.pk, 5, 1)]
    levels = {
        i["sku_code"]: (i["low_stock_threshold"], i["threshold_is_default"])
        for i in manager_api.get(STOCK).json()["items"]
    }
    assert levels == {"WATER-500": (5, True), "COLA-330": (5, True)}


def test_hq_names_a_store_of_its_merchant(hq_api, store, other_store, rival_store, sku, give):
    give(store, sku, 6)

    response = hq_api.put(THRESHOLDS, {"store_id": str(store.pk), "items": [_item(sku, 7)]})

    assert response.status_code == 200, response.content
    assert (_threshold(store, sku), _threshold(other_store, sku)) == (7, None)
    before = _world()
    missing_store = hq_api.put(THRESHOLDS, {"items": [_item(sku, 1)]})
    assert (missing_store.status_code, missing_store.json()["code"]) == (422, "validation_error")
    rival = hq_api.put(THRESHOLDS, {"store_id": str(rival_store.pk), "items": [_item(sku, 1)]})
    assert (rival.status_code, rival.json()["code"]) == (404, "not_found")
    assert _world() == before


def test_a_clerk_is_forbidden_and_nothing_changes(clerk_api, store, sku, give):
    give(store, sku, 6)
    before = _world()

    response = clerk_api.put(THRESHOLDS, {"items": [_item(sku, 10)]})

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert response["Content-Type"].startswith("application/problem+json")
    assert _world() == before
    assert _threshold(store, sku) is None


def test_another_merchants_sku_is_not_found_and_nothing_changes(manager_api, store, sku, rival_sku, give):
    give(store, sku, 6)
    before = _world()

    # The valid first item is not applied either: the request is all or nothing.
    response = manager_api.put(THRESHOLDS, {"items": [_item(sku, 10), _item(rival_sku, 10)]})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert _world() == before
    assert not StockLevel.objects.filter(sku=rival_sku).exists()


def test_another_store_is_not_found_for_a_manager(manager_api, store, other_store, rival_store, sku, give):
    give(store, sku, 6)
    give(other_store, sku, 6)
    before = _world()

    for target in (other_store, rival_store):
        response = manager_api.put(THRESHOLDS, {"store_id": str(target.pk), "items": [_item(sku, 10)]})
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), target

    assert _world() == before


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"sku_id": "SKU", "threshold": "10"}]},
        {"items": [{"sku_id": "SKU", "threshold": 2.5}]},
        {"items": [{"sku_id": "SKU", "threshold": True}]},
        {"items": [{"sku_id": "SKU", "threshold": -1}]},
        {"items": [{"sku_id": "SKU", "threshold": 1_000_000_000}]},
        {"items": [{"sku_id": "SKU"}]},
        {"items": [{"sku_id": "SKU", "threshold": 3, "store_id": "1"}]},
        {"items": [{"sku_id": "SKU", "threshold": 3}], "default": 3},
        {"items": [{"sku_id": ["SKU"], "threshold": 3}]},
        {"items": []},
        {"items": "SKU"},
        {},
    ],
    ids=[
        "threshold-string",
        "threshold-float",
        "threshold-bool",
        "threshold-negative",
        "threshold-too-big",
        "threshold-missing",
        "item-store-id",
        "merchant-default",
        "sku-id-list",
        "no-items",
        "items-not-a-list",
        "empty-body",
    ],
)
def test_bad_bodies_are_422_and_change_nothing(manager_api, store, sku, give, body):
    give(store, sku, 6)
    for item in body.get("items", []) if isinstance(body.get("items"), list) else []:
        if item.get("sku_id") == "SKU":
            item["sku_id"] = str(sku.pk)
    before = _world()

    response = manager_api.put(THRESHOLDS, body)

    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"
    assert _world() == before


def test_the_staff_openapi_document_describes_the_endpoint(api):
    operation = api.get("/api/staff/v1/openapi.json").json()["paths"][THRESHOLDS]["put"]
    assert "200" in operation["responses"]


def test_the_service_keeps_a_manager_to_their_own_store(store, other_store, sku, give):
    give(store, sku, 6)
    give(other_store, sku, 6)
    manager = Actor(role=Role.STORE_MANAGER, merchant_id=store.merchant_id, store_id=store.pk)
    before = _world()

    with pytest.raises(NotFound):
        services.stock_thresholds_set(actor=manager, store=other_store, items=[_item(sku, 10)])
    with pytest.raises(NotFound):
        services.stock_thresholds_set(
            actor=manager, store=store, items=[{**_item(sku, 10), "store_id": other_store.pk}]
        )
    with pytest.raises(ValidationFailed):
        services.stock_thresholds_set(actor=manager, store=store, items=[], default=1)

    assert _world() == before
