"""销量: the periodic recount of units sold per product from real orders (`catalog.sales`), and the
storefront's "sales" sort that follows it. Orders are placed, paid, fulfilled and refunded through
the real API and services."""

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mendian.catalog import tasks
from mendian.catalog.models import Product
from mendian.catalog.sales import refresh_sales_counts
from mendian.orders.models import Order, OrderLine

# The checkout tests' fixtures (store with stock, member, SKUs, the refunds stand-in) serve here too.
from tests.checkout.conftest import *  # noqa: F403
from tests.checkout.conftest import _ledger_stays_consistent, pickup_body  # noqa: F401
from tests.factories import SkuFactory, StoreFactory
from tests.orders.conftest import pay, place

STAFF = "/api/staff/v1"


def sales_count(sku) -> int:
    return Product.objects.values_list("sales_count", flat=True).get(pk=sku.product_id)


def paid_order(member, store, *lines) -> Order:
    placed = place(member, pickup_body(store, *lines))
    pay(placed["id"])
    return Order.objects.get(pk=placed["id"])


def collected_order(member, clerk_api, store, *lines) -> Order:
    """Paid, prepared and handed over at the counter: after-sales refunds may be asked for."""
    order = paid_order(member, store, *lines)
    assert clerk_api.post(f"{STAFF}/orders/{order.pk}/accept").status_code == 200
    assert clerk_api.post(f"{STAFF}/orders/{order.pk}/ready").status_code == 200
    code = Order.objects.get(pk=order.pk).pickup_code
    assert clerk_api.post(f"{STAFF}/pickups/verify", {"code": code}).status_code == 200
    return order


def ask_refund(member, order, sku, quantity) -> str:
    line_id = str(OrderLine.objects.get(order=order, sku=sku).pk)
    response = member.post(
        f"/api/v1/orders/{order.pk}/refund-requests",
        {"reason": "破损", "lines": [{"order_line_id": line_id, "quantity": quantity}]},
    )
    assert response.status_code == 201, response.content
    (request,) = [r for r in response.json()["refund_requests"] if r["status"] == "pending"]
    return request["id"]


def product_updates(queries) -> list[str]:
    table = Product._meta.db_table
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and f'"{table}"' in q["sql"]]


def sales_sorted_names(api, store) -> list[str]:
    response = api.get(f"/api/v1/stores/{store.pk}/products", {"sort": "sales"})
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def test_paid_orders_raise_the_count_of_what_they_sold(member, stocked, water, cola):
    paid_order(member, stocked, (water, 2), (cola, 1))
    paid_order(member, stocked, (water, 3))
    assert (sales_count(water), sales_count(cola)) == (0, 0)  # nothing counts on the order path

    changed = refresh_sales_counts()

    assert changed == sorted([water.product_id, cola.product_id])
    assert (sales_count(water), sales_count(cola)) == (5, 1)


def test_unpaid_and_cancelled_orders_do_not_count(member, stocked, water, cola):
    place(member, pickup_body(stocked, (water, 4)))  # waiting for payment
    never_paid = place(member, pickup_body(stocked, (water, 1), (cola, 6)))
    assert member.post(f"/api/v1/orders/{never_paid['id']}/cancel", {"reason": "买错了"}).status_code == 200
    paid_then_cancelled = paid_order(member, stocked, (cola, 5))
    assert (
        member.post(f"/api/v1/orders/{paid_then_cancelled.pk}/cancel", {"reason": "不要了"}).status_code
        == 200
    )
    paid_order(member, stocked, (water, 2))

    refresh_sales_counts()

    assert (sales_count(water), sales_count(cola)) == (2, 0)


def test_approved_refunds_lower_the_count_pending_and_rejected_ones_do_not(
    member, clerk_api, manager_api, stocked, water, cola
):
    order = collected_order(member, clerk_api, stocked, (water, 3), (cola, 2))
    rejected = ask_refund(member, order, cola, 2)
    assert (
        manager_api.post(f"{STAFF}/refund-requests/{rejected}/reject", {"reason": "无质量问题"}).status_code
        == 200
    )
    pending = ask_refund(member, order, water, 2)

    refresh_sales_counts()
    assert (sales_count(water), sales_count(cola)) == (3, 2)

    assert (
        manager_api.post(f"{STAFF}/refund-requests/{pending}/approve", {"restock": False}).status_code == 200
    )

    assert refresh_sales_counts() == [water.product_id]
    assert (sales_count(water), sales_count(cola)) == (1, 2)


def test_refunded_money_back_does_not_take_the_units_off_twice(
    member, clerk_api, manager_api, stocked, water, refunds
):
    from mendian.orders import services as order_services

    order = collected_order(member, clerk_api, stocked, (water, 3))
    request_id = ask_refund(member, order, water, 1)
    manager_api.post(f"{STAFF}/refund-requests/{request_id}/approve", {"restock": True})
    order_services.order_refund_recorded(
        order_id=order.pk, refund_request_id=int(request_id), amount=refunds[-1]["amount"]
    )

    refresh_sales_counts()

    assert sales_count(water) == 2


def test_a_product_counts_the_units_of_all_its_variants(member, stocked, water, give):
    large = SkuFactory(product=water.product, sku_code="WATER-1L", price=500, specs={"规格": "1L"})
    give(stocked, large, 10)
    paid_order(member, stocked, (water, 2), (large, 3))
    paid_order(member, stocked, (large, 1))

    assert refresh_sales_counts() == [water.product_id]

    assert sales_count(water) == 6


def test_stores_add_up_and_merchants_are_counted_apart(
    member, stocked, other_store, other_merchant, water, rival_sku, give
):
    give(other_store, water, 10)
    rival_store = StoreFactory(merchant=other_merchant, code="rv001", name="对手店")
    give(rival_store, rival_sku, 10)
    paid_order(member, stocked, (water, 2))
    paid_order(member, other_store, (water, 3))
    paid_order(member, rival_store, (rival_sku, 4))

    assert refresh_sales_counts(merchant_id=water.merchant_id) == [water.product_id]
    assert (sales_count(water), sales_count(rival_sku)) == (5, 0)

    assert refresh_sales_counts() == [rival_sku.product_id]
    assert (sales_count(water), sales_count(rival_sku)) == (5, 4)


def test_only_products_whose_count_changed_are_written(member, stocked, water, cola):
    paid_order(member, stocked, (water, 2), (cola, 1))
    refresh_sales_counts()
    paid_order(member, stocked, (cola, 2))

    with CaptureQueriesContext(connection) as queries:
        changed = refresh_sales_counts()

    assert changed == [cola.product_id]
    assert len(product_updates(queries)) == 1
    assert (sales_count(water), sales_count(cola)) == (2, 3)


def test_running_again_changes_nothing(member, stocked, water, cola):
    paid_order(member, stocked, (water, 2), (cola, 1))
    first = refresh_sales_counts()

    with CaptureQueriesContext(connection) as queries:
        second = refresh_sales_counts()

    assert (first, second) == (sorted([water.product_id, cola.product_id]), [])
    assert product_updates(queries) == []
    assert (sales_count(water), sales_count(cola)) == (2, 1)


def test_starting_counts_of_products_never_sold_are_kept(member, stocked, water, cola):
    """The demo seed gives its catalog a sales history; a recount with no orders to go on keeps it."""
    Product.objects.filter(pk=water.product_id).update(sales_count=800)
    Product.objects.filter(pk=cola.product_id).update(sales_count=1200)
    assert refresh_sales_counts() == []

    paid_order(member, stocked, (water, 2))
    assert refresh_sales_counts() == [water.product_id]

    assert (sales_count(water), sales_count(cola)) == (2, 1200)


def test_the_storefront_sales_sort_follows_real_sales_after_the_refresh(
    api, member, store, dairy, make_product, give
):
    milk = make_product(dairy, "牛奶", prices=(500,)).variants.get()
    juice = make_product(dairy, "果汁", prices=(500,)).variants.get()
    give(store, milk, 10)
    give(store, juice, 10)
    assert sales_sorted_names(api, store) == ["果汁", "牛奶"]  # no sales yet: newest first
    paid_order(member, store, (milk, 3), (juice, 1))
    assert sales_sorted_names(api, store) == ["果汁", "牛奶"]

    refresh_sales_counts()

    response = api.get(f"/api/v1/stores/{store.pk}/products", {"sort": "sales"})
    items = [(item["name"], item["sales_count"]) for item in response.json()["items"]]
    assert items == [("牛奶", 3), ("果汁", 1)]


def test_the_beat_recounts_every_ten_minutes(member, stocked, water):
    paid_order(member, stocked, (water, 2))
    (entry,) = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == tasks.refresh_sales_counts.name
    ]

    assert entry["schedule"] == 600.0
    assert tasks.refresh_sales_counts.apply().get() == 1
    assert sales_count(water) == 2
