"""GET/PUT/DELETE /api/v1/cart: one cart per (customer, store), exact validation, nothing changed
by a refused request."""

import pytest

from mendian.catalog.models import StoreListing, StorePrice
from mendian.checkout.models import CartLine
from tests.checkout.conftest import member_client
from tests.factories import StoreFactory

CART = "/api/v1/cart"


def lines(response) -> list[tuple[str, int]]:
    return [(line["sku_id"], line["quantity"]) for line in response.json()["lines"]]


def test_put_adds_updates_and_removes_a_line(member, stocked, water, cola):
    first = member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 2})
    member.put(CART, {"store_id": stocked.pk, "sku_id": cola.pk, "quantity": 1})
    updated = member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 5})
    removed = member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 0})

    assert first.status_code == 200
    assert first.json() == {
        "store_id": str(stocked.pk),
        "lines": [
            {
                "sku_id": str(water.pk),
                "quantity": 2,
                "unit_price": {"amount": 300, "currency": "CNY"},
                "line_total": {"amount": 600, "currency": "CNY"},
                "available": True,
                "sold_here": True,
                "stock_available": 20,
                "product_id": str(water.product_id),
                "name": "矿泉水",
                "sku_code": "WATER",
                "specs": {"规格": "550ml"},
                "image": None,
            }
        ],
        "subtotal": {"amount": 600, "currency": "CNY"},
        "item_count": 2,
    }
    assert lines(updated) == [(str(water.pk), 5), (str(cola.pk), 1)]
    assert updated.json()["subtotal"]["amount"] == 5 * 300 + 550
    assert lines(removed) == [(str(cola.pk), 1)]


def test_get_shows_the_store_price_and_stock_now(member, stocked, water, give):
    member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 30})
    StorePrice.objects.create(store=stocked, sku=water, price=250)

    reply = member.get(CART, {"store_id": str(stocked.pk)}).json()

    (line,) = reply["lines"]
    assert line["unit_price"]["amount"] == 250
    assert line["available"] is False  # 30 wanted, 20 in stock
    assert line["stock_available"] == 20
    assert reply["subtotal"]["amount"] == 7500


def test_carts_are_per_store_and_get_without_store_is_the_last_used(member, stocked, water, merchant):
    second = StoreFactory(merchant=merchant, code="zz002")
    member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 1})
    member.put(CART, {"store_id": str(second.pk), "sku_id": str(water.pk), "quantity": 3})

    assert lines(member.get(CART, {"store_id": str(stocked.pk)})) == [(str(water.pk), 1)]
    assert lines(member.get(CART, {"store_id": str(second.pk)})) == [(str(water.pk), 3)]
    assert member.get(CART).json()["store_id"] == str(second.pk)


def test_an_empty_cart(member, db):
    assert member.get(CART).json() == {
        "store_id": None,
        "lines": [],
        "subtotal": {"amount": 0, "currency": "CNY"},
        "item_count": 0,
    }


def test_delete_empties_one_store_or_every_cart(member, stocked, water, merchant):
    second = StoreFactory(merchant=merchant, code="zz002")
    member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 1})
    member.put(CART, {"store_id": str(second.pk), "sku_id": str(water.pk), "quantity": 1})

    one = member.delete(f"{CART}?store_id={stocked.pk}")
    assert one.status_code == 200 and one.json()["lines"] == []
    assert CartLine.objects.count() == 1
    member.delete(CART)
    assert CartLine.objects.count() == 0


def test_carts_are_private(member, other_member, stocked, water):
    member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 1})

    assert other_member.get(CART, {"store_id": str(stocked.pk)}).json()["lines"] == []
    other_member.delete(CART)
    assert CartLine.objects.count() == 1


@pytest.mark.parametrize("quantity", [-1, 100, 10**9, 1.5, "2", None, True])
def test_quantities_outside_0_to_99_or_not_whole_are_422(member, stocked, water, quantity):
    response = member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": quantity})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert CartLine.objects.count() == 0


def test_unknown_or_other_merchants_sku_is_404(member, stocked, rival_sku):
    for sku_id in ("999999", str(rival_sku.pk), "abc", "-1"):
        response = member.put(CART, {"store_id": str(stocked.pk), "sku_id": sku_id, "quantity": 1})
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), sku_id
    assert CartLine.objects.count() == 0


def test_a_sku_not_listed_at_the_store_is_409_not_sold_here(member, stocked, water, cola):
    StoreListing.objects.create(store=stocked, product=water.product, is_listed=False)
    cola.is_active = False
    cola.save()

    for sku in (water, cola):
        response = member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(sku.pk), "quantity": 1})
        assert (response.status_code, response.json()["code"]) == (409, "not_sold_here")
    assert CartLine.objects.count() == 0


def test_a_line_that_stopped_selling_shows_unavailable_and_can_be_removed(member, stocked, water):
    member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 2})
    StoreListing.objects.create(store=stocked, product=water.product, is_listed=False)

    reply = member.get(CART, {"store_id": str(stocked.pk)}).json()
    assert reply["lines"][0]["available"] is False and reply["lines"][0]["sold_here"] is False
    assert reply["subtotal"]["amount"] == 0
    removed = member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 0})
    assert removed.status_code == 200 and removed.json()["lines"] == []


def test_unknown_store_is_404_and_unknown_fields_are_422(member, stocked, water):
    unknown = member.put(CART, {"store_id": "424242", "sku_id": str(water.pk), "quantity": 1})
    extra = member.put(
        CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 1, "price": 1}
    )

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert extra.status_code == 422
    assert CartLine.objects.count() == 0


def test_a_cart_holds_at_most_50_products(member, stocked, merchant):
    from tests.factories import ProductFactory, SkuFactory

    skus = [SkuFactory(product=ProductFactory(merchant=merchant)) for _ in range(51)]
    for sku in skus[:50]:
        assert (
            member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(sku.pk), "quantity": 1}).status_code
            == 200
        )

    response = member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(skus[50].pk), "quantity": 1})

    assert (response.status_code, response.json()["code"]) == (422, "cart_full")
    assert CartLine.objects.count() == 50


def test_the_cart_needs_a_member_token(api, stocked, water):
    assert api.get(CART).status_code == 401
    response = api.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 1})
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


def test_reading_a_cart_costs_the_same_for_1_or_30_lines(stocked, merchant, django_assert_max_num_queries):
    from tests.factories import ProductFactory, SkuFactory

    small, big = member_client("13911110001"), member_client("13911110002")
    skus = [SkuFactory(product=ProductFactory(merchant=merchant)) for _ in range(30)]
    small.put(CART, {"store_id": str(stocked.pk), "sku_id": str(skus[0].pk), "quantity": 1})
    for sku in skus:
        big.put(CART, {"store_id": str(stocked.pk), "sku_id": str(sku.pk), "quantity": 1})

    for client in (small, big):
        with django_assert_max_num_queries(8):
            assert client.get(CART, {"store_id": str(stocked.pk)}).status_code == 200


def test_the_last_cart_of_a_store_closed_for_good_is_not_shown(member, stocked, water):
    member.put(CART, {"store_id": str(stocked.pk), "sku_id": str(water.pk), "quantity": 1})
    stocked.status = "closed"
    stocked.save()

    reply = member.get(CART)

    assert reply.status_code == 200
    assert reply.json()["store_id"] is None and reply.json()["lines"] == []
