"""The consumer order replies are rendered from `order_out` directly (not validated through
`OrderRead` first): the autouse `order_replies_match_their_schema` fixture checks each reply against
the schema's own rendering. These walk an order through the shapes a reply can take (discounts,
specs and images, delivery, pickup code, cancellation, refund requests with lines, rejected and
refunded) so that every field is checked filled as well as empty."""

from mendian.catalog.models import ProductImage
from mendian.checkout import pricing
from mendian.orders.models import Order, OrderLine
from tests.checkout.conftest import delivery_body, pickup_body, save_address
from tests.orders.conftest import pay, place

STAFF = "/api/staff/v1"


def _complete(clerk_api, order_id):
    pay(order_id)
    clerk_api.post(f"{STAFF}/orders/{order_id}/accept")
    clerk_api.post(f"{STAFF}/orders/{order_id}/ready")
    code = Order.objects.get(pk=order_id).pickup_code
    assert clerk_api.post(f"{STAFF}/pickups/verify", {"code": code}).status_code == 200


def test_a_pickup_order_through_discounts_payment_and_refunds(
    member,
    clerk_api,
    manager_api,
    stocked,
    water,
    cola,
    refunds,
    monkeypatch,
    order_replies_match_their_schema,
):
    monkeypatch.setattr(pricing, "PRICING_STEPS", list(pricing.PRICING_STEPS))
    pricing.pricing_step_register(
        "test_promotion", lambda ctx: ctx.add_discount(source="promo:test", label="立减1元", amount=100)
    )
    ProductImage.objects.create(product=water.product, image="p/w.webp", thumbnail="p/w-400.webp")
    order = place(member, pickup_body(stocked, (water, 2), (cola, 1)), **{"Idempotency-Key": "k1"})
    assert order["discounts"][0]["amount"]["amount"] == 100
    assert order["lines"][0]["specs"] == {"规格": "550ml"} and order["lines"][0]["image"]
    pay(order["id"])
    paid = member.get(f"/api/v1/orders/{order['id']}").json()
    assert paid["pickup_code"] and paid["actions"]["cancel"]
    _complete(clerk_api, order["id"])
    water_line = str(OrderLine.objects.get(order_id=order["id"], sku=water).pk)

    first = member.post(
        f"/api/v1/orders/{order['id']}/refund-requests",
        {"reason": "坏了一瓶", "lines": [{"order_line_id": water_line, "quantity": 1}]},
    ).json()
    request_id = first["refund_requests"][0]["id"]
    manager_api.post(f"{STAFF}/refund-requests/{request_id}/reject", {"reason": "无照片"})
    member.get(f"/api/v1/orders/{order['id']}")
    second = member.post(f"/api/v1/orders/{order['id']}/refund-requests", {"reason": "都不要了"}).json()
    manager_api.post(
        f"{STAFF}/refund-requests/{second['refund_requests'][0]['id']}/approve", {"restock": True}
    )
    final = member.get(f"/api/v1/orders/{order['id']}").json()

    assert [r["status"] for r in final["refund_requests"]] == ["approved", "rejected"]
    assert final["refund_requests"][1]["reject_reason"] == "无照片"
    assert len(order_replies_match_their_schema) == 6


def test_a_delivery_order_and_a_cancelled_one(
    member, delivery_store, stocked, water, give, order_replies_match_their_schema
):
    give(delivery_store, water, 30)
    delivery = place(member, delivery_body(delivery_store, save_address(member), (water, 10)))
    assert delivery["fulfilment"]["address"]["address"] and delivery["delivery_fee"]["amount"] == 500
    member.get(f"/api/v1/orders/{delivery['id']}")
    pickup = place(member, pickup_body(stocked, (water, 1)))

    cancelled = member.post(f"/api/v1/orders/{pickup['id']}/cancel", {"reason": "不想要了"}).json()

    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "不想要了")
    assert cancelled["cancelled_at"] is not None
    assert len(order_replies_match_their_schema) == 4
