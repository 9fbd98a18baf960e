"""HQ console operations: orders across stores (filters, totals, detail, CSV export), the store × SKU
stock matrix and restock approvals. Orders are placed and paid through the real API and services."""

# ruff: noqa: F811 - the checkout fixtures are imported by name and requested as arguments

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mendian.core.scope import Actor, Role
from mendian.inventory.models import RestockLine, RestockRequest, RestockStatus
from mendian.inventory.services import restock_request_create
from mendian.orders.models import Order, RefundKind, RefundRequest
from mendian.stores.models import Store
from tests.checkout.conftest import (  # noqa: F401 - fixtures
    cola,
    give,
    member,
    member_client,
    pickup_body,
    stocked,
    water,
)
from tests.factories import ProductFactory, SkuFactory, StaffFactory, StoreFactory
from tests.orders.conftest import pay, place
from tests.web.consoles.conftest import signed_in


@pytest.fixture
def second(merchant, water, give):
    store = StoreFactory(merchant=merchant, code="wc002", name="武昌店")
    give(store, water, 10)
    return store


@pytest.fixture
def sales(member, stocked, second, water, cola):
    """Paid: a (600) and b (550) at 江汉路店, c (900) at 武昌店 by another customer; one unpaid."""
    other = member_client("13655556666")
    a = place(member, pickup_body(stocked, (water, 2)))
    b = place(member, pickup_body(stocked, (cola, 1)))
    c = place(other, pickup_body(second, (water, 3)))
    unpaid = place(member, pickup_body(stocked, (water, 1)))
    for order in (a, b, c):
        pay(order["id"])
    return {"a": a, "b": b, "c": c, "unpaid": unpaid, "other": other}


def numbers_in(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    return [n for n in Order.objects.order_by("-pk").values_list("number", flat=True) if n in html]


# --- orders ----------------------------------------------------------------------------------------------


def test_orders_list_shows_every_store_with_totals(hq, sales, stocked, second):
    response = hq.get("/hq/orders/")
    html = response.content.decode()

    assert numbers_in(response) == [sales[k]["number"] for k in ("unpaid", "c", "b", "a")]
    assert "江汉路店" in html and "武昌店" in html
    assert "共 4 笔" in html
    assert "¥23.50" in html  # 600 + 550 + 900 + 300 fen ordered
    assert "¥20.50" in html  # paid
    # Today's paid sales by store.
    assert "data-today-net>¥20.50" in html
    # Phones are masked, never whole.
    assert "138****5678" in html and "13812345678" not in html


def test_orders_filters(hq, sales, stocked, second):
    assert numbers_in(hq.get("/hq/orders/", {"store": second.pk})) == [sales["c"]["number"]]
    assert numbers_in(hq.get("/hq/orders/", {"status": "pending_payment"})) == [sales["unpaid"]["number"]]
    assert numbers_in(hq.get("/hq/orders/", {"q": sales["b"]["number"]})) == [sales["b"]["number"]]
    assert numbers_in(hq.get("/hq/orders/", {"q": "136 5555 6666"})) == [sales["c"]["number"]]
    assert numbers_in(hq.get("/hq/orders/", {"fulfilment": "delivery"})) == []
    today = timezone.localdate().isoformat()
    assert len(numbers_in(hq.get("/hq/orders/", {"date_from": today, "date_to": today}))) == 4
    response = hq.get("/hq/orders/", {"date_from": "2026-03-10", "date_to": "2026-03-01"})
    assert "结束日期不能早于开始日期" in response.content.decode()
    assert numbers_in(response) == []


def test_another_merchants_store_filter_shows_nothing(hq, sales, other_merchant):
    rival_store = StoreFactory(merchant=other_merchant, code="r009", name="对手店")
    response = hq.get("/hq/orders/", {"store": rival_store.pk})
    assert response.status_code == 200
    assert numbers_in(response) == []
    assert "对手店" not in response.content.decode()


def test_order_detail_shows_lines_payment_and_timeline(hq, sales):
    order = Order.objects.get(pk=sales["a"]["id"])
    response = hq.get(f"/hq/orders/{order.pk}/")
    html = response.content.decode()

    assert response.status_code == 200
    assert order.number in html and "矿泉水" in html and "WATER" in html
    assert "¥6.00" in html
    assert "已支付" in html and "待支付" in html  # the timeline: placed, then paid
    assert "138****5678" in html and "13812345678" not in html
    assert order.pickup_code not in html  # the code is the customer's, never staff's


def test_order_detail_shows_the_stores_note_on_a_refund_decision(hq, sales):
    """The note a store manager gave with an approval (商家备注, the customer sees it too) is on HQ's
    order page; a decision without one shows no empty label."""
    order = Order.objects.get(pk=sales["a"]["id"])
    decided = {"order": order, "kind": RefundKind.AFTER_SALE, "decided_at": timezone.now()}
    RefundRequest.objects.create(
        **decided, status="rejected", amount=200, reason="想换口味", reject_reason="已开封"
    )
    RefundRequest.objects.create(
        **decided, status="approved", amount=600, reason="不新鲜", decision_note="已联系顾客，<b>原路退回</b>"
    )

    html = hq.get(f"/hq/orders/{order.pk}/").content.decode()

    assert "不新鲜" in html and "已开封" in html
    assert html.count("商家备注") == 1
    assert "商家备注：已联系顾客，&lt;b&gt;原路退回&lt;/b&gt;" in html


def test_other_merchant_cannot_open_the_order(sales, other_merchant):
    rival = signed_in(StaffFactory(username="rival_boss", role=Role.MERCHANT_ADMIN, merchant=other_merchant))
    assert rival.get(f"/hq/orders/{sales['a']['id']}/").status_code == 404
    assert numbers_in(rival.get("/hq/orders/")) == []
    body = b"".join(rival.get("/hq/orders/export.csv").streaming_content).decode("utf-8-sig")
    assert sales["a"]["number"] not in body
    assert rival.get("/hq/orders/not-a-number/").status_code == 404


def test_platform_admin_sees_all_and_narrows_by_merchant(platform, sales, other_merchant):
    assert len(numbers_in(platform.get("/hq/orders/"))) == 4
    assert numbers_in(platform.get("/hq/orders/", {"merchant": other_merchant.pk})) == []


def _csv(response) -> tuple[bytes, list[list[str]]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    raw = b"".join(response.streaming_content)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_csv_export_has_a_bom_masked_phones_and_the_filters(hq, sales, second):
    raw, rows = _csv(hq.get("/hq/orders/export.csv", {"status": "paid"}))

    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[0][:4] == ["订单号", "下单时间", "门店编码", "门店"]
    assert [row[0] for row in rows[1:]] == [sales[k]["number"] for k in ("c", "b", "a")]
    by_number = {row[0]: row for row in rows[1:]}
    c = by_number[sales["c"]["number"]]
    assert c[2:7] == ["wc002", "武昌店", "已支付", "到店自提", "3"]
    assert c[10] == "9.00" and c[11] == "9.00"
    assert c[-1] == "136****6666"
    assert b"13655556666" not in raw and b"13812345678" not in raw

    _, only_second = _csv(hq.get("/hq/orders/export.csv", {"store": second.pk}))
    assert [row[0] for row in only_second[1:]] == [sales["c"]["number"]]


def test_csv_export_defuses_formulas(hq, merchant, member, water, give):
    evil = StoreFactory(merchant=merchant, code="ev001", name='=HYPERLINK("http://x","点我")')
    give(evil, water, 5)
    order = place(member, pickup_body(evil, (water, 1)))
    _, rows = _csv(hq.get("/hq/orders/export.csv"))

    row = next(row for row in rows if row[0] == order["number"])
    assert row[3] == '\'=HYPERLINK("http://x","点我")'
    for cell in (cell for row in rows for cell in row):
        assert not cell.startswith(("=", "+", "-", "@"))


def test_csv_export_streams_in_chunks(hq, sales, monkeypatch):
    from mendian.web.hq_console.views import orders as views

    monkeypatch.setattr(views, "EXPORT_CHUNK", 1)
    response = hq.get("/hq/orders/export.csv")
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 4 + 0  # header, one per order (the empty last read yields nothing)
    assert len(list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))) == 5


def test_orders_list_queries_do_not_grow(hq, sales, member, stocked, water):
    hq.get("/hq/orders/")
    with CaptureQueriesContext(connection) as few:
        assert hq.get("/hq/orders/").status_code == 200
    for _ in range(6):
        pay(place(member, pickup_body(stocked, (water, 1)))["id"])
    with CaptureQueriesContext(connection) as many:
        assert hq.get("/hq/orders/").status_code == 200
    assert len(few) == len(many) <= 16


# --- stock matrix ----------------------------------------------------------------------------------------


def test_stock_matrix_shows_available_per_store_and_highlights_low(hq, sales, stocked, second, water, cola):
    response = hq.get("/hq/stock/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "江汉路店" in html and "武昌店" in html and "WATER" in html and "COLA" in html
    # 武昌店: 10 water, 3 sold (paid, still reserved) -> 7 available, not low (default threshold 5).
    # 江汉路店: 20 cola - 1 = 19; 20 water - 2 - 1 unpaid = 17.
    assert 'class="ops-cell" title="在库 10，预占 3，预警值 5">7<' in html
    assert '预占 3，预警值 5">17<' in html
    assert "ops-cell empty" in html  # 武昌店 never held cola


def test_stock_matrix_low_only_category_and_search(hq, merchant, stocked, second, water, cola, give):
    give(second, water, -7)  # 3 left at 武昌店: below the default threshold of 5
    low = hq.get("/hq/stock/", {"low": "1"}).content.decode()
    assert "WATER" in low and "COLA" not in low
    assert 'class="ops-cell low"' in low

    assert "COLA" not in hq.get("/hq/stock/", {"q": "矿泉"}).content.decode()
    assert "WATER" not in hq.get("/hq/stock/", {"category": "999999"}).content.decode()
    category = water.product.category
    html = hq.get("/hq/stock/", {"category": category.pk}).content.decode()
    assert "WATER" in html


def test_stock_matrix_queries_do_not_grow(hq, merchant, stocked, second, water, give):
    hq.get("/hq/stock/")
    with CaptureQueriesContext(connection) as few:
        hq.get("/hq/stock/")
    for i in range(8):
        sku = SkuFactory(product=ProductFactory(merchant=merchant, name=f"商品{i}"), sku_code=f"S-{i}")
        give(stocked, sku, 3)
        store = StoreFactory(merchant=merchant, code=f"m{i:03d}", name=f"门店{i}")
        give(store, sku, 9)
    with CaptureQueriesContext(connection) as many:
        assert hq.get("/hq/stock/?low=1").status_code == 200
    with CaptureQueriesContext(connection) as many_all:
        assert hq.get("/hq/stock/").status_code == 200
    assert len(few) == len(many_all) <= 16
    assert len(many) <= 16


def test_stock_matrix_for_platform_needs_a_merchant(platform, merchant, stocked):
    assert "请先选择一个商户" in platform.get("/hq/stock/").content.decode()
    html = platform.get("/hq/stock/", {"merchant": merchant.pk}).content.decode()
    assert "江汉路店" in html


# --- restock approvals -----------------------------------------------------------------------------------


@pytest.fixture
def requested(merchant, stocked, second, water, cola):
    manager = StaffFactory(username="mgr2", role=Role.STORE_MANAGER, store=second)
    return restock_request_create(
        actor=Actor.for_staff(manager), store=second, lines=[(water.pk, 10), (cola.pk, 4)], note="周末促销"
    )


def test_pending_requests_are_listed_and_approved_with_adjusted_quantities(hq, requested, water, cola):
    html = hq.get("/hq/restock/").content.decode()
    assert requested.reference in html and "周末促销" in html and "武昌店" in html

    response = hq.post(
        f"/hq/restock/{requested.pk}/approve/",
        {f"qty-{water.pk}": "6", f"qty-{cola.pk}": "0", "note": "仓库只剩 6 箱", "back": "/hq/restock/"},
    )
    assert response.status_code == 302
    requested.refresh_from_db()
    assert requested.status == RestockStatus.APPROVED and requested.decision_note == "仓库只剩 6 箱"
    approved = dict(RestockLine.objects.filter(request=requested).values_list("sku_id", "approved_quantity"))
    assert approved == {water.pk: 6, cola.pk: 0}

    pending = hq.get("/hq/restock/").content.decode()
    assert "已批准 RR" in pending  # the flash message
    assert f'id="rr-{requested.pk}"' not in pending and "没有待审批的要货单" in pending
    history = hq.get("/hq/restock/", {"status": "all"}).content.decode()
    assert requested.reference in history and "仓库只剩 6 箱" in history


def test_approving_nothing_or_bad_numbers_is_explained(hq, requested, water, cola):
    response = hq.post(
        f"/hq/restock/{requested.pk}/approve/", {f"qty-{water.pk}": "0", f"qty-{cola.pk}": "0"}, follow=True
    )
    assert "至少批准一件商品" in response.content.decode()
    response = hq.post(f"/hq/restock/{requested.pk}/approve/", {f"qty-{water.pk}": "-3"}, follow=True)
    assert "批准数量需为" in response.content.decode()
    requested.refresh_from_db()
    assert requested.status == RestockStatus.PENDING


def test_reject_needs_a_reason_and_cannot_happen_twice(hq, requested):
    response = hq.post(f"/hq/restock/{requested.pk}/reject/", {"note": ""}, follow=True)
    assert "请填写驳回原因" in response.content.decode()
    hq.post(f"/hq/restock/{requested.pk}/reject/", {"note": "本月预算已用完"})
    requested.refresh_from_db()
    assert requested.status == RestockStatus.REJECTED and requested.decision_note == "本月预算已用完"
    response = hq.post(f"/hq/restock/{requested.pk}/approve/", {}, follow=True)
    assert "已处理过" in response.content.decode()


def test_other_merchant_cannot_see_or_decide_requests(requested, other_merchant):
    rival = signed_in(StaffFactory(username="rival_hq", role=Role.MERCHANT_ADMIN, merchant=other_merchant))
    assert requested.reference not in rival.get("/hq/restock/").content.decode()
    assert rival.post(f"/hq/restock/{requested.pk}/approve/", {}).status_code == 404
    assert rival.post(f"/hq/restock/{requested.pk}/reject/", {"note": "x"}).status_code == 404
    assert RestockRequest.objects.get(pk=requested.pk).status == RestockStatus.PENDING


def test_restock_page_queries_do_not_grow(hq, requested, merchant, second, water, cola):
    hq.get("/hq/restock/")
    with CaptureQueriesContext(connection) as few:
        hq.get("/hq/restock/")
    manager = StaffFactory(username="mgr3", role=Role.STORE_MANAGER, store=second)
    for _ in range(5):
        restock_request_create(
            actor=Actor.for_staff(manager), store=second, lines=[(water.pk, 1), (cola.pk, 2)]
        )
    with CaptureQueriesContext(connection) as many:
        hq.get("/hq/restock/")
    assert len(few) == len(many) <= 16


# --- who may open these pages ----------------------------------------------------------------------------

PAGES = ["/hq/orders/", "/hq/orders/export.csv", "/hq/stock/", "/hq/restock/"]


@pytest.mark.parametrize("path", PAGES)
def test_store_roles_are_kept_out(path, store, sales):
    for role in (Role.STORE_MANAGER, Role.STORE_CLERK):
        client = signed_in(StaffFactory(username=f"{role}-x", role=role, store=store))
        response = client.get(path)
        assert response.status_code == 403, (role, path)
        assert sales["a"]["number"] not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/hq/orders/")
    assert response.status_code == 302 and response["Location"].startswith("/hq/login/")


def test_stores_of_the_matrix_exclude_closed_ones(hq, stocked, second):
    Store.objects.filter(pk=second.pk).update(status="closed")
    assert "武昌店" not in hq.get("/hq/stock/").content.decode()
