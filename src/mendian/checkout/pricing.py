"""The pricing pipeline: an ordered list of small steps that turn cart lines into a priced, explained
quote. Each step reads and changes a `PricingContext`; none queries the database (what they need is
loaded beforehand), so every step is a plain function with plain tests.

    base_price → store_price → [steps registered by marketing: member price, promotions, coupons,
    points, wallet …] → redemptions → delivery_fee → total

A discount is recorded with `PricingContext.add_discount`, which allocates it to the lines it
applies to (largest remainder, in fen): the sum of a discount's line allocations equals the
discount, and a line is never discounted below zero. The marketing issue appends its steps with
`pricing_step_register(...)`; `redemptions` then checks that every coupon the customer named was
used by some step and that the points asked for were spent.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from mendian.checkout.allocation import allocate
from mendian.core.errors import Conflict, NotFound
from mendian.core.money import money


@dataclass(slots=True)
class PricedLine:
    sku_id: int
    quantity: int
    base_price: int
    store_price: int | None = None
    unit_price: int = 0
    # source → fen of that discount carried by this line, in the order the discounts were applied.
    allocations: dict[str, int] = field(default_factory=dict)
    # Shown to the customer, snapshot on the order line.
    product_id: int | None = None
    name: str = ""
    sku_code: str = ""
    specs: dict = field(default_factory=dict)
    image: str | None = None

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity

    @property
    def discount_allocated(self) -> int:
        return sum(self.allocations.values())

    @property
    def payable(self) -> int:
        return self.line_total - self.discount_allocated


@dataclass(frozen=True, slots=True)
class Discount:
    source: str
    label: str
    amount: int


@dataclass(slots=True)
class DeliveryTerms:
    fee: int
    free_over: int | None
    min_order: int


@dataclass(slots=True)
class PricingContext:
    currency: str
    lines: list[PricedLine]
    fulfilment_type: str = "pickup"
    delivery: DeliveryTerms | None = None
    customer_id: int | None = None
    merchant_id: int | None = None
    store_id: int | None = None
    coupon_ids: list[str] = field(default_factory=list)
    points_requested: int = 0
    # Filled by the steps.
    discounts: list[Discount] = field(default_factory=list)
    coupons_applied: set[str] = field(default_factory=set)
    points_used: int = 0
    delivery_fee: int = 0
    delivery_fee_waived: bool = False
    total: int = 0
    steps_run: list[str] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(line.line_total for line in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(discount.amount for discount in self.discounts)

    @property
    def goods_payable(self) -> int:
        return self.subtotal - self.discount_total

    def add_discount(self, *, source: str, label: str, amount: int, sku_ids=None) -> Discount | None:
        """Records a discount of up to `amount` fen over the lines of `sku_ids` (all lines when None),
        capped at what those lines still cost, and allocates it to them. Returns what was granted."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError("a discount is a non-negative whole number of fen")
        if any(d.source == source for d in self.discounts):
            raise ValueError(f"discount source {source!r} was already applied")
        eligible = [line for line in self.lines if sku_ids is None or line.sku_id in set(sku_ids)]
        granted = min(amount, sum(line.payable for line in eligible))
        if granted <= 0:
            return None
        for line, share in zip(eligible, allocate(granted, [line.payable for line in eligible]), strict=True):
            if share:
                line.allocations[source] = share
        discount = Discount(source=source, label=label, amount=granted)
        self.discounts.append(discount)
        return discount

    def explain(self) -> dict:
        """The quote in the API's shape (Money objects)."""
        cur = self.currency
        return {
            "lines": [
                {
                    "sku_id": str(line.sku_id),
                    "product_id": None if line.product_id is None else str(line.product_id),
                    "name": line.name,
                    "sku_code": line.sku_code,
                    "specs": line.specs,
                    "image": line.image,
                    "quantity": line.quantity,
                    "unit_price": money(line.unit_price, cur),
                    "line_total": money(line.line_total, cur),
                    "discounts_allocated": money(line.discount_allocated, cur),
                    "allocations": [
                        {"source": source, "amount": money(amount, cur)}
                        for source, amount in line.allocations.items()
                    ],
                    "payable": money(line.payable, cur),
                }
                for line in self.lines
            ],
            "subtotal": money(self.subtotal, cur),
            "discounts": [
                {"source": d.source, "label": d.label, "amount": money(d.amount, cur)} for d in self.discounts
            ],
            "discount_total": money(self.discount_total, cur),
            "delivery_fee": money(self.delivery_fee, cur),
            "delivery_fee_waived": self.delivery_fee_waived,
            "points_used": self.points_used,
            "total": money(self.total, cur),
        }


# --- the steps -----------------------------------------------------------------------------------


def base_price(ctx: PricingContext) -> None:
    """Every line starts at its SKU's base price."""
    for line in ctx.lines:
        line.unit_price = line.base_price


def store_price(ctx: PricingContext) -> None:
    """A store's own price replaces the base price there."""
    for line in ctx.lines:
        if line.store_price is not None:
            line.unit_price = line.store_price


def redemptions(ctx: PricingContext) -> None:
    """Coupons and points the customer asked for must have been used by a step: a coupon no step
    recognised does not exist for this customer (`404 coupon_not_found`), and points no step could
    spend exceed the usable balance (`409 insufficient_points`)."""
    unknown = [coupon_id for coupon_id in ctx.coupon_ids if coupon_id not in ctx.coupons_applied]
    if unknown:
        raise NotFound(f"No such coupon: {unknown[0]}.", code="coupon_not_found")
    if ctx.points_requested > ctx.points_used:
        raise Conflict(
            f"Not enough points: {ctx.points_requested} asked for, {ctx.points_used} usable.",
            code="insufficient_points",
        )


def delivery_fee(ctx: PricingContext) -> None:
    """The store's delivery fee, waived when the goods (after discounts) reach its free-over amount."""
    if ctx.fulfilment_type != "delivery" or ctx.delivery is None:
        ctx.delivery_fee = 0
        return
    terms = ctx.delivery
    if terms.free_over is not None and ctx.goods_payable >= terms.free_over:
        ctx.delivery_fee = 0
        ctx.delivery_fee_waived = terms.fee > 0
    else:
        ctx.delivery_fee = terms.fee


def total(ctx: PricingContext) -> None:
    ctx.total = ctx.goods_payable + ctx.delivery_fee


@dataclass(frozen=True, slots=True)
class PricingStep:
    name: str
    run: Callable[[PricingContext], None]


PRICING_STEPS: list[PricingStep] = [
    PricingStep("base_price", base_price),
    PricingStep("store_price", store_price),
    PricingStep("redemptions", redemptions),
    PricingStep("delivery_fee", delivery_fee),
    PricingStep("total", total),
]


def pricing_step_register(name: str, run: Callable[[PricingContext], None], *, before: str = "redemptions"):
    """Inserts a step (member price, a promotion, coupons, points, wallet …) before `before`.
    Registering a name twice replaces the earlier step in place (module reloads in development)."""
    step = PricingStep(name, run)
    for index, existing in enumerate(PRICING_STEPS):
        if existing.name == name:
            PRICING_STEPS[index] = step
            return step
    names = [existing.name for existing in PRICING_STEPS]
    if before not in names:
        raise ValueError(f"no pricing step named {before!r}")
    PRICING_STEPS.insert(names.index(before), step)
    return step


def price(ctx: PricingContext, steps: list[PricingStep] | None = None) -> PricingContext:
    """Runs the pipeline over `ctx` and returns it."""
    for step in PRICING_STEPS if steps is None else steps:
        step.run(ctx)
        ctx.steps_run.append(step.name)
    return ctx
