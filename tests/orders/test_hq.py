"""HQ: the order search, the CSV export and the sales report, scoped to the merchant."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from mendian.orders.models import Order
from tests.checkout.conftest import pickup_body
from tests.factories import ProductFactory, SkuFactory, StoreFactory
from tests.orders.conftest import pay, place

HQ = "/api/hq/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sales(member, member_b, stocked, merchant, water, cola, give):
    """Three paid orders (two at 江汉路店, one at 武昌店), one unpaid, one cancelled after payment."""
    second = StoreFactory(merchant=merchant, code="wc002", name="武昌店")
    give(second, water, 10)
    a = place(member, pickup_body(stocked, (water, 2)))  # 600
    b = place(member, pickup_body(stocked, (cola, 1)))  # 550
    c = place(member_b, pickup_body(second, (water, 3)))  # 900
    unpaid = place(member, pickup_body(stocked, (water, 1)))
    refunded = place(member, pickup_body(stocked, (water, 1)))  # 300, paid then cancelled
    for order in (a, b, c, refunded):
        pay(order["id"])
    member.post(f"/api/v1/orders/{refunded['id']}/cancel")
    return {"a": a, "b": b, "c": c, "unpaid": unpaid, "refunded": refunded, "second": second}


@pytest.fixture
def member_b(db):
    from tests.checkout.conftest import member_client

    return member_client("13655556666")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_search_by_store_status_number_and_date(hq_api, sales, stocked):
    everything = ids(hq_api.get(f"{HQ}/orders"))
    assert everything == [sales[k]["id"] for k in ("refunded", "unpaid", "c", "b", "a")]
    assert ids(hq_api.get(f"{HQ}/orders", {"store_id": str(sales["second"].pk)})) == [sales["c"]["id"]]
    assert ids(hq_api.get(f"{HQ}/orders", {"status": "cancelled"})) == [sales["refunded"]["id"]]
    assert ids(hq_api.get(f"{HQ}/orders", {"number": sales["b"]["number"]})) == [sales["b"]["id"]]
    today = timezone.now().astimezone(SHANGHAI).date()
    assert len(ids(hq_api.get(f"{HQ}/orders", {"from": today.isoformat(), "to": today.isoformat()}))) == 5
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert ids(hq_api.get(f"{HQ}/orders", {"from": tomorrow})) == []
    bad = hq_api.get(f"{HQ}/orders", {"from": tomorrow, "to": today.isoformat()})
    assert bad.status_code == 422


def test_hq_of_another_merchant_sees_none(make_staff_api, other_merchant, sales):
    rival = make_staff_api(role="merchant_admin", merchant=other_merchant, store=None, username="rival")
    assert ids(rival.get(f"{HQ}/orders")) == []
    assert rival.get(f"{HQ}/orders/{sales['a']['id']}").status_code == 404
    assert rival.get(f"{HQ}/orders", {"store_id": str(sales["second"].pk)}).status_code == 404


def test_store_staff_get_403_on_hq_routes(clerk_api, manager_api, sales):
    for client in (clerk_api, manager_api):
        for path in ("/orders", "/orders/export.csv", "/reports/sales?from=2026-01-01&to=2026-01-02"):
            response = client.get(f"{HQ}{path}")
            assert (response.status_code, response.json()["code"]) == (403, "forbidden"), path


def test_export_is_a_streamed_csv_in_fen(hq_api, sales):
    response = hq_api.get(f"{HQ}/orders/export.csv", {"status": "paid"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["number"], r["store_code"], r["items"], r["total_fen"], r["paid_fen"]) for r in rows] == [
        (sales["c"]["number"], "wc002", "3", "900", "900"),
        (sales["b"]["number"], "jh001", "1", "550", "550"),
        (sales["a"]["number"], "jh001", "2", "600", "600"),
    ]
    assert "13812345678" not in text


def test_export_cells_cannot_run_as_formulas(hq_api, sales, stocked):
    stocked.name = "=HYPERLINK(1)"
    stocked.save()
    text = b"".join(hq_api.get(f"{HQ}/orders/export.csv").streaming_content).decode()
    assert "'=HYPERLINK(1)" in text


def test_export_pages_through_many_orders(hq_api, member, stocked, merchant, give, monkeypatch):
    from mendian.orders import selectors

    sku = SkuFactory(product=ProductFactory(merchant=merchant), price=100)
    give(stocked, sku, 20)
    for _ in range(7):
        place(member, pickup_body(stocked, (sku, 1)))
    original = selectors.orders_export_csv
    monkeypatch.setattr(selectors, "orders_export_csv", lambda qs: original(qs, chunk_size=3))

    text = b"".join(hq_api.get(f"{HQ}/orders/export.csv").streaming_content).decode()

    assert len(text.strip().splitlines()) == 1 + 7


def test_the_sales_report(hq_api, sales):
    today = timezone.now().astimezone(SHANGHAI).date()
    yesterday = today - dt.timedelta(days=1)

    report = hq_api.get(
        f"{HQ}/reports/sales", {"from": yesterday.isoformat(), "to": today.isoformat()}
    ).json()

    def m(amount):
        return {"amount": amount, "currency": "CNY"}

    assert (report["from"], report["to"], report["timezone"], report["currency"]) == (
        yesterday.isoformat(),
        today.isoformat(),
        "Asia/Shanghai",
        "CNY",
    )
    assert report["totals"] == {"orders": 4, "paid": m(2350), "refunded": m(300), "net": m(2050)}
    assert report["days"] == [
        {"date": yesterday.isoformat(), "orders": 0, "paid": m(0), "refunded": m(0), "net": m(0)},
        {"date": today.isoformat(), "orders": 4, "paid": m(2350), "refunded": m(300), "net": m(2050)},
    ]
    assert [(s["store_code"], s["orders"], s["net"]["amount"]) for s in report["stores"]] == [
        ("jh001", 3, 1150),
        ("wc002", 1, 900),
    ]
    assert [(r["date"], r["store_code"], r["paid"]["amount"]) for r in report["rows"]] == [
        (today.isoformat(), "jh001", 1450),
        (today.isoformat(), "wc002", 900),
    ]


def test_the_sales_report_of_one_store_and_its_limits(hq_api, sales):
    today = timezone.now().astimezone(SHANGHAI).date().isoformat()

    one = hq_api.get(
        f"{HQ}/reports/sales", {"from": today, "to": today, "store_id": str(sales["second"].pk)}
    ).json()
    too_long = hq_api.get(f"{HQ}/reports/sales", {"from": "2020-01-01", "to": "2026-01-01"})
    backwards = hq_api.get(f"{HQ}/reports/sales", {"from": "2026-01-02", "to": "2026-01-01"})
    missing = hq_api.get(f"{HQ}/reports/sales", {"from": today})

    assert one["totals"]["orders"] == 1 and one["totals"]["paid"]["amount"] == 900
    assert too_long.status_code == backwards.status_code == missing.status_code == 422


def test_a_sale_counts_on_the_merchants_local_day(hq_api, sales):
    order = Order.objects.get(pk=sales["a"]["id"])
    local_midnight = dt.datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI)  # 2026-02-28 16:30 UTC
    Order.objects.filter(pk=order.pk).update(paid_at=local_midnight)

    report = hq_api.get(f"{HQ}/reports/sales", {"from": "2026-02-28", "to": "2026-03-01"}).json()

    assert [(d["date"], d["orders"]) for d in report["days"]] == [("2026-02-28", 0), ("2026-03-01", 1)]
