"""Stock adjustments: the service and `POST /api/staff/v1/stock/adjustments` (contract)."""

import pytest

from mendian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mendian.core.scope import Actor, Role
from mendian.inventory import services
from mendian.inventory.models import StockMovement
from tests.inventory.conftest import level, movements

pytestmark = pytest.mark.django_db
URL = "/api/staff/v1/stock/adjustments"


def _clerk(store):
    return Actor(role=Role.STORE_CLERK, staff_id=None, merchant_id=store.merchant_id, store_id=store.pk)


def test_adjust_adds_and_removes_with_a_reason(store, sku):
    actor = _clerk(store)
    added = services.stock_adjust(
        actor=actor, store=store, sku=sku, delta=12, reason="found", note="在仓库角落"
    )
    assert (added.on_hand, added.reserved, added.available) == (12, 0, 12)
    removed = services.stock_adjust(actor=actor, store=store, sku=sku, delta=-2, reason="damaged")
    assert (removed.on_hand, removed.available) == (10, 10)
    assert list(
        StockMovement.objects.order_by("pk").values_list("type", "delta_on_hand", "reason", "note", "source")
    ) == [("adjust", 12, "found", "在仓库角落", "staff"), ("adjust", -2, "damaged", "", "staff")]


def test_adjust_below_zero_or_below_reserved_is_refused(store, sku, give):
    give(store, sku, 5)
    services.stock_reserve(store=store, lines=[(sku.pk, 3)], reference="O1")
    before = movements()
    with pytest.raises(Conflict) as exc:
        services.stock_adjust(actor=_clerk(store), store=store, sku=sku, delta=-3, reason="lost")
    assert exc.value.code == "insufficient_stock"
    assert "WATER-500" in exc.value.detail
    assert "2 available" in exc.value.detail
    with pytest.raises(Conflict):
        services.stock_adjust(actor=_clerk(store), store=store, sku=sku, delta=-6, reason="lost")
    assert level(store, sku) == (5, 3)
    assert movements() == before
    services.stock_adjust(actor=_clerk(store), store=store, sku=sku, delta=-2, reason="lost")
    assert level(store, sku) == (3, 3)


def test_removing_from_a_level_that_never_existed_is_insufficient(store, sku):
    with pytest.raises(Conflict) as exc:
        services.stock_adjust(actor=_clerk(store), store=store, sku=sku, delta=-1, reason="lost")
    assert exc.value.code == "insufficient_stock"
    assert not StockMovement.objects.exists()


def test_adjust_is_idempotent_by_source_id(store, sku):
    actor = _clerk(store)
    first = services.stock_adjust(
        actor=actor, store=store, sku=sku, delta=4, reason="found", source_id="scan-77"
    )
    again = services.stock_adjust(
        actor=actor, store=store, sku=sku, delta=4, reason="found", source_id="scan-77"
    )
    assert first.on_hand == again.on_hand == 4
    assert StockMovement.objects.filter(source_id="scan-77").count() == 1


@pytest.mark.parametrize("delta", [0, 1_000_001, -1_000_001, 2.0, "3", True, None])
def test_adjust_refuses_bad_deltas(store, sku, delta):
    with pytest.raises(ValidationFailed):
        services.stock_adjust(actor=_clerk(store), store=store, sku=sku, delta=delta, reason="found")
    assert not StockMovement.objects.exists()


def test_adjust_refuses_unknown_reasons(store, sku):
    with pytest.raises(ValidationFailed) as exc:
        services.stock_adjust(actor=_clerk(store), store=store, sku=sku, delta=1, reason="because")
    assert exc.value.errors[0]["loc"] == ["reason"]


def test_adjust_checks_scope_and_capability(store, other_store, sku, rival_sku):
    with pytest.raises(NotFound):
        services.stock_adjust(actor=_clerk(other_store), store=store, sku=sku, delta=1, reason="found")
    with pytest.raises(NotFound):
        services.stock_adjust(actor=_clerk(store), store=store, sku=rival_sku, delta=1, reason="found")
    stranger = Actor(role="customer", merchant_id=store.merchant_id, store_id=store.pk)
    with pytest.raises(Forbidden):
        services.stock_adjust(actor=stranger, store=store, sku=sku, delta=1, reason="found")
    assert not StockMovement.objects.exists()


# --- API -------------------------------------------------------------------------------------


def test_clerk_adjusts_through_the_contract(clerk_api, store, sku):
    response = clerk_api.post(
        URL, {"store_id": str(store.pk), "sku_id": str(sku.pk), "delta": 8, "reason": "found"}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "store_id": str(store.pk),
        "store_code": "jh001",
        "sku_id": str(sku.pk),
        "sku_code": "WATER-500",
        "barcode": None,
        "product_id": str(sku.product_id),
        "product_name": "矿泉水",
        "specs": {"规格": "标准"},
        "on_hand": 8,
        "reserved": 0,
        "available": 8,
        "low_stock_threshold": 5,
        "threshold_is_default": True,
        "is_low": False,
    }
    movement = StockMovement.objects.get()
    assert (movement.actor_id, movement.type, movement.reason) == (clerk_api.staff.pk, "adjust", "found")


def test_store_roles_may_leave_the_store_out(clerk_api, store, sku):
    response = clerk_api.post(URL, {"sku_id": sku.pk, "delta": 2, "reason": "correction", "note": "recount"})
    assert response.status_code == 200, response.content
    assert response.json()["on_hand"] == 2


def test_hq_must_name_the_store(hq_api, store, sku):
    response = hq_api.post(URL, {"sku_id": str(sku.pk), "delta": 2, "reason": "found"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    response = hq_api.post(
        URL, {"store_id": str(store.pk), "sku_id": str(sku.pk), "delta": 2, "reason": "found"}
    )
    assert response.status_code == 200
    assert level(store, sku) == (2, 0)


def test_below_zero_is_409_insufficient_stock(clerk_api, store, sku, give):
    give(store, sku, 1)
    response = clerk_api.post(
        URL, {"store_id": str(store.pk), "sku_id": str(sku.pk), "delta": -2, "reason": "lost"}
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert "WATER-500" in body["detail"]
    assert level(store, sku) == (1, 0)


@pytest.mark.parametrize(
    "change",
    [
        {"delta": 0},
        {"delta": 1_000_001},
        {"delta": 1.5},
        {"delta": "5"},
        {"delta": True},
        {"reason": "because"},
        {"reason": None},
        {"on_hand": 99},
        {"note": "x" * 201},
    ],
)
def test_bad_bodies_are_422_and_change_nothing(clerk_api, store, sku, change):
    body = {"store_id": str(store.pk), "sku_id": str(sku.pk), "delta": 3, "reason": "found", **change}
    response = clerk_api.post(URL, body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "validation_error"
    assert not StockMovement.objects.exists()


def test_missing_fields_are_422(clerk_api, store, sku):
    response = clerk_api.post(URL, {"store_id": str(store.pk), "sku_id": str(sku.pk), "delta": 3})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {("body", "payload", "reason")}


@pytest.mark.parametrize("which", ["other_store", "rival_store", "abc", "0", "99999999"])
def test_another_or_unknown_store_is_404(clerk_api, store, other_store, rival_store, sku, which):
    store_id = {"other_store": str(other_store.pk), "rival_store": str(rival_store.pk)}.get(which, which)
    response = clerk_api.post(
        URL, {"store_id": store_id, "sku_id": str(sku.pk), "delta": 3, "reason": "found"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize("which", ["rival_sku", "abc", "-1", "99999999"])
def test_another_merchants_or_unknown_sku_is_404(clerk_api, store, rival_sku, which):
    sku_id = str(rival_sku.pk) if which == "rival_sku" else which
    response = clerk_api.post(
        URL, {"store_id": str(store.pk), "sku_id": sku_id, "delta": 3, "reason": "found"}
    )
    assert response.status_code == 404
    assert not StockMovement.objects.exists()


def test_anonymous_is_401(api, store, sku):
    response = api.post(
        URL, {"store_id": str(store.pk), "sku_id": str(sku.pk), "delta": 3, "reason": "found"}
    )
    assert response.status_code == 401
    assert not StockMovement.objects.exists()


def test_hq_of_another_merchant_gets_404(make_staff_api, other_merchant, store, sku):
    rival_hq = make_staff_api(
        role=Role.MERCHANT_ADMIN, merchant=other_merchant, store=None, username="rival_hq"
    )
    response = rival_hq.post(
        URL, {"store_id": str(store.pk), "sku_id": str(sku.pk), "delta": 3, "reason": "found"}
    )
    assert response.status_code == 404
    assert not StockMovement.objects.exists()


def test_adjustment_query_count(clerk_api, store, sku, give, django_assert_num_queries):
    give(store, sku, 3)
    # token, store, SKU; savepoint, movement, conditional update, fresh level, open alerts, release;
    # the reply: merchant defaults and the level with its SKU and product.
    with django_assert_num_queries(11):
        response = clerk_api.post(
            URL, {"store_id": str(store.pk), "sku_id": str(sku.pk), "delta": -1, "reason": "expired"}
        )
    assert response.status_code == 200
    assert response.json()["on_hand"] == 2
