"""Delivery quotes (radius, minimum order, fee and its waiver) and routing an order without a store
to the nearest open store that holds every line."""

from mendian.checkout.models import Address
from tests.checkout.conftest import delivery_body, member_client, save_address
from tests.factories import StoreFactory

QUOTE = "/api/v1/checkout/quote"
FAR = {"lat": 30.6500, "lng": 114.2865}  # about 7.8 km north


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()


def test_a_delivery_quote_adds_the_fee(member, delivery_store, water, give):
    give(delivery_store, water, 30)
    address_id = save_address(member)

    body = member.post(QUOTE, delivery_body(delivery_store, address_id, (water, 4))).json()

    assert body["subtotal"]["amount"] == 1200
    assert body["delivery_fee"] == {"amount": 500, "currency": "CNY"}
    assert body["delivery_fee_waived"] is False
    assert body["total"]["amount"] == 1700
    fulfilment = body["fulfilment"]
    assert fulfilment["type"] == "delivery"
    assert fulfilment["address"]["address"] == "江汉路1号3栋"
    assert 500 < fulfilment["distance_m"] < 700
    assert fulfilment["contact"] == {"name": "李*", "phone_masked": "137****1234"}


def test_the_fee_is_waived_at_the_free_over_amount(member, delivery_store, water, give):
    give(delivery_store, water, 30)
    address_id = save_address(member)

    body = member.post(QUOTE, delivery_body(delivery_store, address_id, (water, 17))).json()  # 5100

    assert body["delivery_fee"]["amount"] == 0
    assert body["delivery_fee_waived"] is True
    assert body["total"]["amount"] == 5100


def test_below_the_minimum_order_is_422(member, delivery_store, water, give):
    give(delivery_store, water, 30)
    address_id = save_address(member)
    problem(
        member.post(QUOTE, delivery_body(delivery_store, address_id, (water, 3))), 422, "below_minimum_order"
    )


def test_an_address_outside_the_radius_is_422(member, delivery_store, water, give):
    give(delivery_store, water, 30)
    address_id = save_address(member, **FAR)
    problem(
        member.post(QUOTE, delivery_body(delivery_store, address_id, (water, 10))),
        422,
        "outside_delivery_area",
    )


def test_a_store_that_does_not_deliver_is_422(member, stocked, water):
    address_id = save_address(member)
    problem(member.post(QUOTE, delivery_body(stocked, address_id, (water, 10))), 422, "delivery_unavailable")


def test_delivery_needs_one_of_your_own_addresses(member, other_member, delivery_store, water, give):
    give(delivery_store, water, 30)
    theirs = save_address(other_member)

    missing = member.post(QUOTE, delivery_body(delivery_store, None, (water, 10)))
    foreign = member.post(QUOTE, delivery_body(delivery_store, theirs, (water, 10)))

    problem(missing, 422, "validation_error")
    problem(foreign, 404, "address_not_found")


def test_an_address_on_a_pickup_order_is_422(member, stocked, water):
    address_id = save_address(member)
    body = delivery_body(stocked, address_id, (water, 1))
    body["fulfilment"]["type"] = "pickup"
    problem(member.post(QUOTE, body), 422, "validation_error")


# --- routing -------------------------------------------------------------------------------------


def routed_body(*lines, **extra) -> dict:
    return {
        "lines": [{"sku_id": str(sku.pk), "quantity": quantity} for sku, quantity in lines],
        "fulfilment": {"type": "pickup"},
        **extra,
    }


def test_without_a_store_the_nearest_open_store_holding_every_line_is_chosen(
    member, merchant, water, cola, give
):
    nearest = StoreFactory(merchant=merchant, code="n1", lat=30.5801, lng=114.2865)
    second = StoreFactory(merchant=merchant, code="n2", lat=30.5901, lng=114.2865)
    third = StoreFactory(merchant=merchant, code="n3", lat=30.6001, lng=114.2865)
    paused = StoreFactory(merchant=merchant, code="n0", lat=30.5802, lng=114.2865, status="paused")
    give(nearest, water, 5)  # no cola here
    for store in (second, third, paused):
        give(store, water, 5)
        give(store, cola, 5)

    body = member.post(QUOTE, routed_body((water, 2), (cola, 1), lat=30.5801, lng=114.2865)).json()

    assert body["store_id"] == str(second.pk)


def test_routing_a_delivery_uses_the_address_and_the_radius(member, merchant, water, give):
    far_store = StoreFactory(merchant=merchant, code="f1", lat=30.6500, lng=114.2865, delivery_enabled=True)
    near_store = StoreFactory(
        merchant=merchant, code="f2", lat=30.5801, lng=114.2865, delivery_enabled=True, delivery_min_order=0
    )
    give(far_store, water, 5)
    give(near_store, water, 5)
    address_id = save_address(member)

    body = member.post(
        QUOTE,
        {
            "lines": [{"sku_id": str(water.pk), "quantity": 1}],
            "fulfilment": {"type": "delivery", "address_id": address_id},
        },
    ).json()

    assert body["store_id"] == str(near_store.pk)


def test_routing_with_no_store_that_can_fulfil_is_409(member, stocked, water):
    problem(
        member.post(QUOTE, routed_body((water, 21), lat=30.5801, lng=114.2865)), 409, "no_store_available"
    )


def test_routing_needs_a_location(member, stocked, water):
    problem(member.post(QUOTE, routed_body((water, 1))), 422, "validation_error")


def test_addresses_of_other_members_never_route(db, delivery_store, water, give):
    give(delivery_store, water, 5)
    owner, stranger = member_client("13911112222"), member_client("13911113333")
    address_id = save_address(owner)

    response = stranger.post(
        QUOTE,
        {
            "lines": [{"sku_id": str(water.pk), "quantity": 1}],
            "fulfilment": {"type": "delivery", "address_id": address_id},
        },
    )

    problem(response, 404, "address_not_found")
    assert Address.objects.count() == 1
