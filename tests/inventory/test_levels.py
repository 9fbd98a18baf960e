"""Reading stock: staff `GET /stock`, the ledger, the HQ matrix, thresholds and low-stock alerts."""

import pytest

from mendian.core.scope import Actor, Role
from mendian.inventory import selectors, services
from mendian.inventory.models import StockAlert, StockLevel
from tests.factories import ProductFactory, SkuFactory, StoreFactory

pytestmark = pytest.mark.django_db
STOCK = "/api/staff/v1/stock"
MOVEMENTS = "/api/staff/v1/stock/movements"
MATRIX = "/api/hq/v1/stock"
THRESHOLDS = "/api/hq/v1/stock/thresholds"


def _hq(merchant):
    return Actor(role=Role.MERCHANT_ADMIN, merchant_id=merchant.pk)


def _brief(body):
    return [
        (i["store_id"], i["sku_code"], i["on_hand"], i["reserved"], i["available"]) for i in body["items"]
    ]


def test_store_roles_see_their_store_only(clerk_api, store, other_store, sku, sku2, give):
    give(store, sku, 9)
    give(store, sku2, 2)
    give(other_store, sku, 50)
    services.stock_reserve(store=store, lines=[(sku.pk, 4)], reference="O1")

    response = clerk_api.get(STOCK)
    assert response.status_code == 200
    assert _brief(response.json()) == [
        (str(store.pk), "WATER-500", 9, 4, 5),
        (str(store.pk), "COLA-330", 2, 0, 2),
    ]
    assert response.json()["next_cursor"] is None
    assert clerk_api.get(STOCK, {"store_id": str(other_store.pk)}).status_code == 404
    assert clerk_api.get(STOCK, {"store_id": "x1"}).status_code == 404


def test_hq_sees_all_stores_or_names_one(hq_api, store, other_store, rival_store, sku, rival_sku, give):
    give(store, sku, 1)
    give(other_store, sku, 2)
    give(rival_store, rival_sku, 3)
    assert _brief(hq_api.get(STOCK).json()) == [
        (str(store.pk), "WATER-500", 1, 0, 1),
        (str(other_store.pk), "WATER-500", 2, 0, 2),
    ]
    assert _brief(hq_api.get(STOCK, {"store_id": str(other_store.pk)}).json()) == [
        (str(other_store.pk), "WATER-500", 2, 0, 2)
    ]
    assert hq_api.get(STOCK, {"store_id": str(rival_store.pk)}).status_code == 404


def test_low_only_uses_level_then_merchant_then_built_in_thresholds(
    clerk_api, store, merchant, sku, sku2, give
):
    give(store, sku, 4)  # below the built-in 5
    give(store, sku2, 8)
    assert [i["sku_code"] for i in clerk_api.get(STOCK, {"low_only": "true"}).json()["items"]] == [
        "WATER-500"
    ]

    services.stock_thresholds_set(
        actor=_hq(merchant), items=[{"store_id": store.pk, "sku_id": sku2.pk, "threshold": 10}]
    )
    body = clerk_api.get(STOCK, {"low_only": "true"}).json()
    assert [(i["sku_code"], i["low_stock_threshold"], i["threshold_is_default"]) for i in body["items"]] == [
        ("WATER-500", 5, True),
        ("COLA-330", 10, False),
    ]

    services.stock_thresholds_set(actor=_hq(merchant), items=[], default=3)
    merchant.refresh_from_db()
    assert merchant.settings["low_stock_threshold"] == 3
    assert [i["sku_code"] for i in clerk_api.get(STOCK, {"low_only": "true"}).json()["items"]] == ["COLA-330"]
    assert [lvl.sku_id for lvl in selectors.low_stock_levels(actor=_hq(merchant))] == [sku2.pk]


def test_search_and_cursor_pages(clerk_api, store, merchant, give):
    skus = [
        SkuFactory(product=ProductFactory(merchant=merchant, name=f"饼干{i}"), sku_code=f"BISC-{i}")
        for i in range(5)
    ]
    for item in skus:
        give(store, item, 10)
    first = clerk_api.get(STOCK, {"limit": 2}).json()
    assert [i["sku_code"] for i in first["items"]] == ["BISC-0", "BISC-1"]
    second = clerk_api.get(STOCK, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["sku_code"] for i in second["items"]] == ["BISC-2", "BISC-3"]
    third = clerk_api.get(STOCK, {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert ([i["sku_code"] for i in third["items"]], third["next_cursor"]) == (["BISC-4"], None)
    assert [i["sku_code"] for i in clerk_api.get(STOCK, {"q": "饼干3"}).json()["items"]] == ["BISC-3"]
    assert clerk_api.get(STOCK, {"cursor": "forged"}).json()["code"] == "invalid_cursor"
    assert clerk_api.get(STOCK, {"limit": 101}).status_code == 422


def test_stock_list_query_count_does_not_grow(clerk_api, store, merchant, give, django_assert_num_queries):
    for i in range(6):
        give(store, SkuFactory(product=ProductFactory(merchant=merchant), sku_code=f"Q-{i}"), 3)
    # the token, the merchant defaults, the page of levels joined with stores, SKUs and products
    with django_assert_num_queries(3):
        response = clerk_api.get(STOCK)
    assert len(response.json()["items"]) == 6


def test_movements_ledger_newest_first(clerk_api, hq_api, store, other_store, sku, sku2, give):
    give(store, sku, 5)
    give(store, sku2, 1)
    services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O7")
    body = clerk_api.get(MOVEMENTS).json()
    assert [
        (m["type"], m["sku_code"], m["delta_on_hand"], m["delta_reserved"], m["reference"])
        for m in body["items"]
    ] == [
        ("reserve", "WATER-500", 0, 2, "O7"),
        ("adjust", "COLA-330", 1, 0, ""),
        ("adjust", "WATER-500", 5, 0, ""),
    ]
    only = clerk_api.get(MOVEMENTS, {"sku_id": str(sku2.pk), "limit": 1}).json()
    assert [m["type"] for m in only["items"]] == ["adjust"]
    page = clerk_api.get(MOVEMENTS, {"limit": 2}).json()
    rest = clerk_api.get(MOVEMENTS, {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [m["id"] for m in page["items"] + rest["items"]] == [m["id"] for m in body["items"]]
    assert clerk_api.get(MOVEMENTS, {"store_id": str(other_store.pk)}).status_code == 404
    assert hq_api.get(MOVEMENTS).status_code == 422
    assert len(hq_api.get(MOVEMENTS, {"store_id": str(store.pk)}).json()["items"]) == 3


def test_hq_matrix_by_sku_and_paged(hq_api, merchant, store, other_store, sku, sku2, give):
    give(store, sku, 4)
    give(other_store, sku, 7)
    give(other_store, sku2, 1)
    body = hq_api.get(MATRIX, {"sku_id": str(sku.pk)}).json()
    assert [s["code"] for s in body["stores"]] == ["jh001", "wc002"]
    assert body["items"] == [
        {
            "sku_id": str(sku.pk),
            "sku_code": "WATER-500",
            "product_name": "矿泉水",
            "specs": {"规格": "标准"},
            "levels": [
                {
                    "store_id": str(store.pk),
                    "on_hand": 4,
                    "reserved": 0,
                    "available": 4,
                    "low_stock_threshold": 5,
                    "is_low": True,
                },
                {
                    "store_id": str(other_store.pk),
                    "on_hand": 7,
                    "reserved": 0,
                    "available": 7,
                    "low_stock_threshold": 5,
                    "is_low": False,
                },
            ],
        }
    ]
    first = hq_api.get(MATRIX, {"limit": 1}).json()
    second = hq_api.get(MATRIX, {"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [r["sku_code"] for r in first["items"] + second["items"]] == ["WATER-500", "COLA-330"]
    assert second["next_cursor"] is None
    assert [lvl["store_id"] for lvl in second["items"][0]["levels"]] == [str(other_store.pk)]
    assert hq_api.get(MATRIX, {"sku_id": "nope"}).status_code == 404


def test_matrix_is_hq_only_and_merchant_scoped(
    clerk_api, manager_api, make_staff_api, other_merchant, sku, rival_sku
):
    assert clerk_api.get(MATRIX).status_code == 403
    assert manager_api.get(MATRIX).status_code == 403
    rival_hq = make_staff_api(
        role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None, username="rival_hq"
    )
    assert rival_hq.get(MATRIX, {"sku_id": str(sku.pk)}).status_code == 404
    assert [r["sku_code"] for r in rival_hq.get(MATRIX).json()["items"]] == ["RIVAL-1"]


def test_matrix_query_count(hq_api, merchant, store, other_store, give, django_assert_num_queries):
    for i in range(5):
        item = SkuFactory(product=ProductFactory(merchant=merchant), sku_code=f"M-{i}")
        give(store, item, 1)
        give(other_store, item, 2)
    # the token, merchant defaults, stores, SKUs with products, levels
    with django_assert_num_queries(5):
        body = hq_api.get(MATRIX).json()
    assert len(body["items"]) == 5


def test_platform_admin_names_the_merchant(platform_api, merchant, sku, store, give):
    give(store, sku, 2)
    assert platform_api.get(MATRIX).status_code == 422
    body = platform_api.get(MATRIX, {"merchant_id": str(merchant.pk)}).json()
    assert [r["sku_code"] for r in body["items"]] == ["WATER-500"]


def test_thresholds_over_the_api_open_and_resolve_alerts(hq_api, merchant, store, other_store, sku, give):
    give(store, sku, 6)
    give(other_store, sku, 20)
    assert not StockAlert.objects.exists()

    response = hq_api.put(THRESHOLDS, {"items": [{"sku_id": str(sku.pk), "threshold": 10}]})
    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 2, "default": 5}
    assert set(StockLevel.objects.values_list("store_id", "low_stock_threshold")) == {
        (store.pk, 10),
        (other_store.pk, 10),
    }
    alert = StockAlert.objects.get()
    assert (alert.store_id, alert.sku_id, alert.threshold, alert.available, alert.resolved_at) == (
        store.pk,
        sku.pk,
        10,
        6,
        None,
    )

    # Recovering closes it; falling again opens a new one.
    services.stock_adjust(actor=_hq(merchant), store=store, sku=sku, delta=4, reason="found")
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="O9")
    assert StockAlert.objects.filter(resolved_at__isnull=True).count() == 1
    assert StockAlert.objects.count() == 2

    response = hq_api.put(
        THRESHOLDS, {"items": [{"store_id": str(store.pk), "sku_id": str(sku.pk), "threshold": 0}]}
    )
    assert response.json() == {"updated": 1, "default": 5}
    assert not StockAlert.objects.filter(resolved_at__isnull=True).exists()


def test_merchant_default_over_the_api(hq_api, merchant, store, sku, give):
    give(store, sku, 6)
    response = hq_api.put(THRESHOLDS, {"default": 8})
    assert response.json() == {"updated": 0, "default": 8}
    assert StockAlert.objects.filter(resolved_at__isnull=True).count() == 1
    response = hq_api.put(THRESHOLDS, {"default": None})
    assert response.json() == {"updated": 0, "default": 5}
    merchant.refresh_from_db()
    assert "low_stock_threshold" not in merchant.settings
    assert not StockAlert.objects.filter(resolved_at__isnull=True).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"sku_id": "SKU", "threshold": -1}]},
        {"items": [{"sku_id": "SKU", "threshold": 2.5}]},
        {"items": [{"sku_id": "SKU", "threshold": 3, "on_hand": 9}]},
        {"default": -1},
        {"colour": "red"},
    ],
)
def test_bad_threshold_bodies_are_422(hq_api, sku, body):
    for item in body.get("items", []):
        item["sku_id"] = str(sku.pk)
    response = hq_api.put(THRESHOLDS, body)
    assert response.status_code == 422, response.content
    assert not StockLevel.objects.exists()


def test_thresholds_for_other_merchants_are_404_and_store_staff_403(
    hq_api, manager_api, rival_store, sku, rival_sku
):
    assert (
        hq_api.put(THRESHOLDS, {"items": [{"sku_id": str(rival_sku.pk), "threshold": 1}]}).status_code == 404
    )
    response = hq_api.put(
        THRESHOLDS, {"items": [{"store_id": str(rival_store.pk), "sku_id": str(sku.pk), "threshold": 1}]}
    )
    assert response.status_code == 404
    assert manager_api.put(THRESHOLDS, {"default": 1}).status_code == 403
    assert not StockLevel.objects.exists()


def test_stores_with_stock(merchant, store, other_store, rival_store, sku, give):
    closed = StoreFactory(merchant=merchant, code="cl009", status="closed")
    give(store, sku, 2)
    give(other_store, sku, 9)
    give(closed, sku, 50)
    services.stock_reserve(store=store, lines=[(sku.pk, 1)], reference="O1")
    assert selectors.stores_with_stock(merchant_id=merchant.pk, sku_id=sku.pk) == [
        {"store_id": other_store.pk, "available": 9},
        {"store_id": store.pk, "available": 1},
    ]
    assert selectors.stores_with_stock(merchant_id=merchant.pk, sku_id=sku.pk, min_qty=2) == [
        {"store_id": other_store.pk, "available": 9}
    ]


def test_the_openapi_documents_describe_the_stock_endpoints(api):
    staff = api.get("/api/staff/v1/openapi.json").json()["paths"]
    for path in (
        "/api/staff/v1/stock",
        "/api/staff/v1/stock/adjustments",
        "/api/staff/v1/stock/movements",
        "/api/staff/v1/stocktakes/{stocktake_id}/counts",
        "/api/staff/v1/transfers/{transfer_id}/ship",
        "/api/staff/v1/restock-requests/{request_id}/receive",
    ):
        assert path in staff, path
    hq = api.get("/api/hq/v1/openapi.json").json()["paths"]
    for path in (
        "/api/hq/v1/stock",
        "/api/hq/v1/stock/thresholds",
        "/api/hq/v1/restock-requests/{request_id}/approve",
    ):
        assert path in hq, path
    adjustment = staff["/api/staff/v1/stock/adjustments"]["post"]
    assert "200" in adjustment["responses"]


def test_alerts_endpoint_lists_open_alerts_of_the_store(
    clerk_api, make_staff_api, store, other_store, sku, sku2, give
):
    give(store, sku, 2)
    give(store, sku2, 9)
    give(other_store, sku, 1)
    body = clerk_api.get("/api/staff/v1/stock/alerts").json()
    assert [
        (a["store_id"], a["sku_code"], a["threshold"], a["available"], a["resolved_at"])
        for a in body["items"]
    ] == [(str(store.pk), "WATER-500", 5, 2, None)]
    give(store, sku, 10)
    assert clerk_api.get("/api/staff/v1/stock/alerts").json()["items"] == []
    history = clerk_api.get("/api/staff/v1/stock/alerts", {"open_only": "false"}).json()["items"]
    assert len(history) == 1 and history[0]["resolved_at"] is not None
    other = make_staff_api(role=Role.STORE_CLERK, store=other_store, username="wc_clerk")
    assert [a["store_id"] for a in other.get("/api/staff/v1/stock/alerts").json()["items"]] == [
        str(other_store.pk)
    ]
    assert clerk_api.get("/api/staff/v1/stock/alerts", {"store_id": str(other_store.pk)}).status_code == 404


def test_a_sale_below_the_threshold_keeps_the_one_open_alert_and_sends_no_second_stock_low(
    hq_api, merchant, store, sku, give
):
    from mendian.integrations.models import OutboxEvent

    give(store, sku, 6)
    hq_api.put(THRESHOLDS, {"items": [{"sku_id": str(sku.pk), "threshold": 10}]})
    assert StockAlert.objects.filter(resolved_at__isnull=True).count() == 1
    lows = OutboxEvent.objects.filter(event_type="stock.low").count()

    services.stock_reserve(store=store, lines=[(sku.pk, 2)], reference="O20260012")  # stock only fell

    open_alerts = StockAlert.objects.filter(resolved_at__isnull=True)
    assert open_alerts.count() == 1 and open_alerts.get().available == 6
    assert OutboxEvent.objects.filter(event_type="stock.low").count() == lows
