"""The pricing pipeline: each step alone, the order they run in, and how a registered step's
discount is allocated to lines and explained."""

import pytest

from mendian.checkout import pricing
from mendian.checkout.pricing import DeliveryTerms, PricedLine, PricingContext
from mendian.core.errors import Conflict, NotFound


def ctx(*lines, **kwargs) -> PricingContext:
    return PricingContext(currency="CNY", lines=list(lines), **kwargs)


def line(sku_id, quantity, base, store=None) -> PricedLine:
    return PricedLine(sku_id=sku_id, quantity=quantity, base_price=base, store_price=store)


def test_the_steps_that_exist_run_in_order():
    assert [step.name for step in pricing.PRICING_STEPS] == [
        "base_price",
        "store_price",
        "redemptions",
        "delivery_fee",
        "total",
    ]


def test_base_then_store_price():
    c = ctx(line(1, 2, 300), line(2, 1, 550, store=500))

    pricing.base_price(c)
    assert [ln.unit_price for ln in c.lines] == [300, 550]
    pricing.store_price(c)
    assert [ln.unit_price for ln in c.lines] == [300, 500]
    assert c.subtotal == 1100


def test_a_whole_quote_without_discounts():
    c = pricing.price(ctx(line(1, 2, 300), line(2, 1, 550)))

    assert c.subtotal == c.total == 1150
    assert c.discounts == [] and c.delivery_fee == 0
    assert c.steps_run == ["base_price", "store_price", "redemptions", "delivery_fee", "total"]


def test_a_discount_is_allocated_to_lines_and_explained():
    c = ctx(line(1, 2, 300), line(2, 1, 550))
    pricing.base_price(c)

    granted = c.add_discount(source="promo:7", label="满10减1", amount=100)

    assert granted.amount == 100
    assert [ln.allocations for ln in c.lines] == [{"promo:7": 52}, {"promo:7": 48}]
    assert c.goods_payable == 1050
    explained = c.explain()
    assert explained["discounts"] == [
        {"source": "promo:7", "label": "满10减1", "amount": {"amount": 100, "currency": "CNY"}}
    ]
    assert [ln["discounts_allocated"]["amount"] for ln in explained["lines"]] == [52, 48]
    assert [ln["payable"]["amount"] for ln in explained["lines"]] == [548, 502]


def test_a_discount_never_exceeds_what_its_lines_still_cost():
    c = ctx(line(1, 1, 300), line(2, 1, 550))
    pricing.base_price(c)
    c.add_discount(source="a", label="A", amount=500, sku_ids=[2])

    granted = c.add_discount(source="b", label="B", amount=9999, sku_ids=[2])

    assert granted.amount == 50
    assert c.lines[1].payable == 0 and c.lines[0].payable == 300
    assert c.add_discount(source="c", label="C", amount=10, sku_ids=[2]) is None


def test_a_source_applies_once():
    c = ctx(line(1, 1, 300))
    pricing.base_price(c)
    c.add_discount(source="a", label="A", amount=1)
    with pytest.raises(ValueError):
        c.add_discount(source="a", label="A", amount=1)


def test_registered_steps_run_before_redemptions_and_claim_coupons(monkeypatch):
    monkeypatch.setattr(pricing, "PRICING_STEPS", list(pricing.PRICING_STEPS))

    def coupon_step(c):
        if "c1" in c.coupon_ids:
            c.add_discount(source="coupon:c1", label="新人券", amount=200)
            c.coupons_applied.add("c1")

    pricing.pricing_step_register("coupons", coupon_step)
    c = pricing.price(ctx(line(1, 2, 300), line(2, 1, 550), coupon_ids=["c1"]))

    assert [step.name for step in pricing.PRICING_STEPS][2:4] == ["coupons", "redemptions"]
    assert c.total == 950
    assert sum(sum(ln.allocations.values()) for ln in c.lines) == 200


def test_registering_before_an_unknown_step_fails(monkeypatch):
    monkeypatch.setattr(pricing, "PRICING_STEPS", list(pricing.PRICING_STEPS))
    with pytest.raises(ValueError):
        pricing.pricing_step_register("x", lambda c: None, before="nope")


def test_a_coupon_no_step_recognised_is_not_found():
    with pytest.raises(NotFound) as exc:
        pricing.price(ctx(line(1, 1, 300), coupon_ids=["42"]))
    assert exc.value.code == "coupon_not_found"


def test_points_no_step_could_spend_are_insufficient():
    with pytest.raises(Conflict) as exc:
        pricing.price(ctx(line(1, 1, 300), points_requested=1))
    assert exc.value.code == "insufficient_points"


def test_delivery_fee_and_its_waiver():
    terms = DeliveryTerms(fee=500, free_over=5000, min_order=1000)

    below = pricing.price(ctx(line(1, 1, 4999), fulfilment_type="delivery", delivery=terms))
    at = pricing.price(ctx(line(1, 1, 5000), fulfilment_type="delivery", delivery=terms))
    pickup = pricing.price(ctx(line(1, 1, 100), fulfilment_type="pickup", delivery=terms))

    assert (below.delivery_fee, below.delivery_fee_waived, below.total) == (500, False, 5499)
    assert (at.delivery_fee, at.delivery_fee_waived, at.total) == (0, True, 5000)
    assert (pickup.delivery_fee, pickup.total) == (0, 100)


def test_never_free_when_free_over_is_unset():
    terms = DeliveryTerms(fee=300, free_over=None, min_order=0)
    c = pricing.price(ctx(line(1, 1, 10**6), fulfilment_type="delivery", delivery=terms))
    assert c.delivery_fee == 300
