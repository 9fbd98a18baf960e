"""The store console's stock work: levels with the low-stock filter and search, adjustments,
thresholds (store managers and HQ roles), stocktakes, transfers and restock requests, each for the roles that may."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mendian.core.scope import Actor, Role
from mendian.inventory.models import (
    RestockRequest,
    RestockStatus,
    StockAlert,
    StockLevel,
    StockMovement,
    Stocktake,
    StocktakeStatus,
    Transfer,
    TransferStatus,
)
from mendian.inventory.selectors import stock_check
from mendian.inventory.services import restock_request_approve, stock_adjust, stocktake_start
from tests.factories import ProductFactory, SkuFactory, StaffFactory, StoreFactory
from tests.web.consoles.conftest import signed_in


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(db):
    yield
    assert stock_check() == []


def give(store, sku, qty):
    stock_adjust(actor=Actor.system(store.merchant_id), store=store, sku=sku, delta=qty, reason="found")


@pytest.fixture
def water(merchant):
    return SkuFactory(
        product=ProductFactory(merchant=merchant, name="矿泉水"),
        sku_code="WATER",
        barcode="6901234567892",
        price=300,
        specs={"规格": "550ml"},
    )


@pytest.fixture
def chips(merchant):
    return SkuFactory(product=ProductFactory(merchant=merchant, name="薯片"), sku_code="CHIPS", price=650)


@pytest.fixture
def shelves(store, water, chips):
    give(store, water, 40)
    give(store, chips, 2)  # below the default threshold
    return store


def on_hand(store, sku) -> int:
    return StockLevel.objects.filter(store=store, sku=sku).values_list("on_hand", flat=True).first() or 0


def _body(response) -> str:
    return response.content.decode()


# --- levels ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["clerk_client", "manager_client"])
def test_stock_page_lists_levels(request, who, shelves):
    body = _body(request.getfixturevalue(who).get("/store/stock/"))

    assert "矿泉水" in body and "薯片" in body and "低库存" in body
    assert "6901234567892" in body


def test_low_stock_filter_and_search(clerk_client, shelves):
    low = _body(clerk_client.get("/store/stock/", {"low": "1"}))
    assert "薯片" in low and "矿泉水" not in low

    by_barcode = _body(clerk_client.get("/store/stock/", {"q": "6901234567892"}))
    assert "矿泉水" in by_barcode and "薯片" not in by_barcode

    by_name = _body(clerk_client.get("/store/stock/", {"q": "薯"}))
    assert "薯片" in by_name and "矿泉水" not in by_name


def test_clerk_adjusts_with_a_reason_once_per_form(clerk_client, shelves, water):
    data = {"sku_id": water.pk, "delta": "-3", "reason": "damaged", "note": "摔坏", "nonce": "abc-1"}

    response = clerk_client.post("/store/stock/adjust/", data, follow=True)
    clerk_client.post("/store/stock/adjust/", data)  # a double submit

    assert "库存已调整 -3" in _body(response)
    assert on_hand(shelves, water) == 37
    movement = StockMovement.objects.filter(store=shelves, sku=water, reason="damaged").get()
    assert movement.note == "摔坏"


def test_adjust_refuses_what_is_not_there(clerk_client, shelves, chips):
    response = clerk_client.post(
        "/store/stock/adjust/",
        {"sku_id": chips.pk, "delta": "-5", "reason": "lost", "nonce": "x"},
        follow=True,
    )

    assert "库存不足" in _body(response)
    assert on_hand(shelves, chips) == 2


def test_adjust_needs_a_delta_and_a_reason(clerk_client, shelves, water):
    no_reason = clerk_client.post("/store/stock/adjust/", {"sku_id": water.pk, "delta": "2"}, follow=True)
    zero = clerk_client.post(
        "/store/stock/adjust/", {"sku_id": water.pk, "delta": "0", "reason": "found"}, follow=True
    )

    assert "请选择调整原因" in _body(no_reason)
    assert "非零整数" in _body(zero)
    assert on_hand(shelves, water) == 40


def test_another_merchants_sku_is_404(clerk_client, shelves, other_merchant):
    theirs = SkuFactory(product=ProductFactory(merchant=other_merchant), sku_code="THEIRS")

    response = clerk_client.post(
        "/store/stock/adjust/", {"sku_id": theirs.pk, "delta": "5", "reason": "found"}
    )

    assert response.status_code == 404
    assert not StockLevel.objects.filter(sku=theirs).exists()


def test_another_stores_stock_is_not_shown(merchant, shelves):
    other = StoreFactory(merchant=merchant, code="far")
    stranger = signed_in(StaffFactory(username="far_clerk", role=Role.STORE_CLERK, store=other))

    body = _body(stranger.get("/store/stock/"))

    assert "矿泉水" not in body and "本店还没有库存记录" in body


def test_a_manager_sets_and_clears_a_threshold_from_the_stock_page(manager_client, shelves, water):
    page = _body(manager_client.get("/store/stock/"))
    assert 'action="/store/stock/threshold/"' in page and 'name="threshold"' in page

    response = manager_client.post(
        "/store/stock/threshold/",
        {"sku_id": water.pk, "threshold": "50", "next": "/store/stock/"},
        follow=True,
    )

    assert StockLevel.objects.get(store=shelves, sku=water).low_stock_threshold == 50
    assert "“矿泉水”的低库存阈值已保存" in _body(response)
    assert StockAlert.objects.filter(
        store=shelves, sku=water, threshold=50, resolved_at__isnull=True
    ).exists()
    assert 'data-sku="WATER"' in _body(manager_client.get("/store/stock/", {"low": "1"}))

    manager_client.post("/store/stock/threshold/", {"sku_id": water.pk, "threshold": ""})

    assert StockLevel.objects.get(store=shelves, sku=water).low_stock_threshold is None
    assert not StockAlert.objects.filter(store=shelves, sku=water, resolved_at__isnull=True).exists()
    assert 'data-sku="WATER"' not in _body(manager_client.get("/store/stock/", {"low": "1"}))


def test_a_bad_threshold_changes_nothing(manager_client, shelves, water, other_merchant):
    for value in ("-1", "abc", "2.5"):
        response = manager_client.post(
            "/store/stock/threshold/", {"sku_id": water.pk, "threshold": value}, follow=True
        )
        assert "阈值须为不小于 0 的整数" in _body(response), value
    rival_sku = SkuFactory(product=ProductFactory(merchant=other_merchant), sku_code="RIVAL")
    assert (
        manager_client.post("/store/stock/threshold/", {"sku_id": rival_sku.pk, "threshold": "9"}).status_code
        == 404
    )
    assert list(StockLevel.objects.exclude(low_stock_threshold=None)) == []


def test_a_clerk_sees_no_threshold_form_and_may_not_post_it(clerk_client, shelves, water):
    page = _body(clerk_client.get("/store/stock/"))
    assert "/store/stock/threshold/" not in page and "低库存阈值由店长设置" in page

    response = clerk_client.post("/store/stock/threshold/", {"sku_id": water.pk, "threshold": "50"})

    assert response.status_code == 403
    assert StockLevel.objects.get(store=shelves, sku=water).low_stock_threshold is None


def test_hq_sets_a_threshold_for_the_store_it_opened(hq, shelves, other_store, water):
    give(other_store, water, 1)

    hq.post(f"/store/stock/threshold/?store={shelves.pk}", {"sku_id": water.pk, "threshold": "50"})

    assert StockLevel.objects.get(store=shelves, sku=water).low_stock_threshold == 50
    assert StockLevel.objects.get(store=other_store, sku=water).low_stock_threshold is None


def test_stock_queries_do_not_grow_with_skus(clerk_client, merchant, shelves):
    with CaptureQueriesContext(connection) as few:
        clerk_client.get("/store/stock/")
    for i in range(8):
        give(shelves, SkuFactory(product=ProductFactory(merchant=merchant), sku_code=f"MORE{i}"), 5)
    with CaptureQueriesContext(connection) as many:
        body = _body(clerk_client.get("/store/stock/"))

    assert "MORE7" in body
    assert len(many) == len(few) and len(many) <= 15


# --- stocktakes -------------------------------------------------------------------------------------


def test_manager_counts_and_commits_a_stocktake(manager_client, shelves, water, chips):
    response = manager_client.post("/store/stocktakes/new/", {"note": "月末盘点"}, follow=True)
    sheet = Stocktake.objects.get(store=shelves)
    assert "盘点单" in _body(response) and 'name="count-' in _body(response)

    manager_client.post(
        f"/store/stocktakes/{sheet.pk}/save/",
        {f"count-{water.pk}": "38", f"count-{chips.pk}": "", "action": "save"},
    )
    page = _body(manager_client.get(f"/store/stocktakes/{sheet.pk}/"))
    assert "-2" in page and "已盘 1 / 2 项" in page

    manager_client.post(
        f"/store/stocktakes/{sheet.pk}/save/", {f"count-{water.pk}": "38", "action": "commit"}
    )

    sheet.refresh_from_db()
    assert sheet.status == StocktakeStatus.COMMITTED
    assert on_hand(shelves, water) == 38 and on_hand(shelves, chips) == 2
    assert "已调整" in _body(manager_client.get(f"/store/stocktakes/{sheet.pk}/"))


def test_negative_counts_are_refused(manager_client, shelves, water):
    sheet = stocktake_start(actor=Actor.system(shelves.merchant_id), store=shelves)

    response = manager_client.post(
        f"/store/stocktakes/{sheet.pk}/save/", {f"count-{water.pk}": "-1", "action": "commit"}, follow=True
    )

    assert "不小于 0" in _body(response)
    sheet.refresh_from_db()
    assert sheet.status == StocktakeStatus.OPEN and on_hand(shelves, water) == 40


def test_clerk_sees_stocktakes_but_cannot_start_or_count(clerk_client, shelves, water):
    sheet = stocktake_start(actor=Actor.system(shelves.merchant_id), store=shelves)
    assert "只有店长" in _body(clerk_client.get("/store/stocktakes/"))
    assert 'name="count-' not in _body(clerk_client.get(f"/store/stocktakes/{sheet.pk}/"))

    assert clerk_client.post("/store/stocktakes/new/").status_code == 403
    assert (
        clerk_client.post(
            f"/store/stocktakes/{sheet.pk}/save/", {f"count-{water.pk}": "1", "action": "commit"}
        ).status_code
        == 403
    )
    assert Stocktake.objects.count() == 1 and on_hand(shelves, water) == 40


def test_another_stores_stocktake_is_404(merchant, shelves):
    sheet = stocktake_start(actor=Actor.system(shelves.merchant_id), store=shelves)
    other = StoreFactory(merchant=merchant, code="far")
    stranger = signed_in(StaffFactory(username="far_boss", role=Role.STORE_MANAGER, store=other))

    assert stranger.get(f"/store/stocktakes/{sheet.pk}/").status_code == 404
    assert stranger.post(f"/store/stocktakes/{sheet.pk}/save/", {"action": "cancel"}).status_code == 404
    assert Stocktake.objects.get(pk=sheet.pk).status == StocktakeStatus.OPEN


# --- transfers --------------------------------------------------------------------------------------


def test_transfer_out_ship_and_receive(manager_client, merchant, shelves, water):
    other = StoreFactory(merchant=merchant, code="wc002", name="武昌店")
    page = _body(manager_client.get("/store/transfers/"))
    assert "武昌店" in page and "矿泉水" in page

    manager_client.post(
        "/store/transfers/new/",
        {"to_store": other.pk, "sku": [water.pk, ""], "qty": ["5", ""], "note": "借货"},
    )
    transfer = Transfer.objects.get()
    assert transfer.to_store_id == other.pk and transfer.status == TransferStatus.CREATED

    manager_client.post(f"/store/transfers/{transfer.pk}/ship/")
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.IN_TRANSIT and on_hand(shelves, water) == 35

    theirs = signed_in(StaffFactory(username="wc_boss", role=Role.STORE_MANAGER, store=other))
    assert "来自" in _body(theirs.get("/store/transfers/")) and "确认收货" in _body(
        theirs.get("/store/transfers/")
    )
    theirs.post(f"/store/transfers/{transfer.pk}/receive/")

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED and on_hand(other, water) == 5


def test_transfer_form_errors(manager_client, merchant, shelves, water):
    other = StoreFactory(merchant=merchant, code="wc002")

    no_store = manager_client.post("/store/transfers/new/", {"sku": [water.pk], "qty": ["1"]}, follow=True)
    bad_qty = manager_client.post(
        "/store/transfers/new/", {"to_store": other.pk, "sku": [water.pk], "qty": ["0"]}, follow=True
    )

    assert "请选择调入门店" in _body(no_store)
    assert "数量须为正整数" in _body(bad_qty)
    assert not Transfer.objects.exists()


def test_transfer_to_another_merchant_is_refused(manager_client, shelves, water, other_merchant):
    theirs = StoreFactory(merchant=other_merchant, code="r001")

    response = manager_client.post(
        "/store/transfers/new/", {"to_store": theirs.pk, "sku": [water.pk], "qty": ["1"]}, follow=True
    )

    assert "不存在" in _body(response)
    assert not Transfer.objects.exists()


def test_clerk_cannot_transfer(clerk_client, merchant, shelves, water):
    other = StoreFactory(merchant=merchant, code="wc002")

    assert "只有店长" in _body(clerk_client.get("/store/transfers/"))
    assert (
        clerk_client.post(
            "/store/transfers/new/", {"to_store": other.pk, "sku": [water.pk], "qty": ["1"]}
        ).status_code
        == 403
    )
    assert not Transfer.objects.exists()


# --- restock requests -------------------------------------------------------------------------------


def test_manager_requests_restock_and_receives_it(manager_client, shelves, water, chips):
    manager_client.post(
        "/store/restock/new/", {"sku": [chips.pk, water.pk], "qty": ["24", "6"], "note": "周末备货"}
    )
    request = RestockRequest.objects.get()
    page = _body(manager_client.get("/store/restock/"))
    assert request.reference in page and "待审批" in page and "申请 24" in page

    restock_request_approve(actor=Actor.system(shelves.merchant_id), request=request, lines=[(chips.pk, 20)])
    assert "收货入库" in _body(manager_client.get("/store/restock/"))
    manager_client.post(f"/store/restock/{request.pk}/receive/")

    request.refresh_from_db()
    assert request.status == RestockStatus.RECEIVED
    assert on_hand(shelves, chips) == 22 and on_hand(shelves, water) == 46


def test_restock_repeated_sku_is_refused(manager_client, shelves, water):
    response = manager_client.post(
        "/store/restock/new/", {"sku": [water.pk, water.pk], "qty": ["1", "2"]}, follow=True
    )

    assert "同一商品请只填写一行" in _body(response)
    assert not RestockRequest.objects.exists()


def test_clerk_cannot_request_restock(clerk_client, shelves, water):
    assert clerk_client.post("/store/restock/new/", {"sku": [water.pk], "qty": ["1"]}).status_code == 403
    assert not RestockRequest.objects.exists()
