"""The sticky cart bar on the store and product pages: how many items, what they cost, 去结算.

Kept apart from `buying` so the browsing views can use it without importing the buying views."""

from mendian.checkout.selectors import cart_read
from mendian.web.storefront.presenters import price_parts


def cart_summary(customer, store) -> dict:
    """{"count", "total" (price parts), "signed_in"} of the customer's cart at `store`; an empty
    bar (no queries) for a visitor who has not signed in."""
    if customer is None or store is None:
        return {"count": 0, "total": price_parts(0), "signed_in": customer is not None}
    cart = cart_read(customer=customer, store=store)
    return {
        "count": cart["item_count"],
        "total": price_parts(cart["subtotal"]["amount"]),
        "signed_in": True,
    }
