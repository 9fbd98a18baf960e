"""Consumer endpoints of checkout: the cart, the quote and saved addresses (`/api/v1`). Thin: parse,
call one selector or service, render."""

from django.utils import timezone
from ninja import Query, Router, Status

from mendian.accounts.auth import MemberAuth
from mendian.checkout import selectors, services
from mendian.checkout.schemas import (
    AddressCreate,
    AddressList,
    AddressRead,
    AddressUpdate,
    CartLineSet,
    CartQuery,
    CartRead,
    CheckoutIn,
    QuoteRead,
)
from mendian.core.errors import NotFound
from mendian.merchants.selectors import merchant_context

consumer = Router(tags=["checkout"], auth=MemberAuth())


# --- cart ----------------------------------------------------------------------------------------


def _cart_store(request, store_id):
    """The store named by the client, else the store of the cart used last (None: no cart)."""
    merchant = merchant_context(request)
    if store_id not in (None, ""):
        return selectors.store_for_checkout(store_id=store_id, merchant=merchant)
    cart = selectors.cart_latest(customer=request.auth, merchant=merchant)
    if cart is None:
        return None
    try:
        return selectors.store_for_checkout(store_id=cart.store_id, merchant=merchant)
    except NotFound:  # that store closed for good since: no cart to show
        return None


@consumer.get("/cart", response=CartRead, summary="The cart at a store (default: the one used last)")
def cart_get(request, query: Query[CartQuery]):
    return selectors.cart_read(customer=request.auth, store=_cart_store(request, query.store_id))


@consumer.put("/cart", response=CartRead, summary="Set a SKU's quantity in the cart (0 removes it)")
def cart_put(request, payload: CartLineSet):
    store = selectors.store_for_checkout(store_id=payload.store_id, merchant=merchant_context(request))
    services.cart_line_set(
        customer=request.auth, store=store, sku_id=payload.sku_id, quantity=payload.quantity
    )
    return selectors.cart_read(customer=request.auth, store=store)


@consumer.delete("/cart", response=CartRead, summary="Empty the cart at a store (no store_id: every cart)")
def cart_delete(request, query: Query[CartQuery]):
    store = None
    if query.store_id not in (None, ""):
        store = selectors.store_for_checkout(store_id=query.store_id, merchant=merchant_context(request))
    services.cart_clear(customer=request.auth, store=store)
    return selectors.cart_read(customer=request.auth, store=store)


# --- quote ---------------------------------------------------------------------------------------


@consumer.post("/checkout/quote", response=QuoteRead, summary="Price an order and check it can be placed")
def checkout_quote(request, payload: CheckoutIn):
    quote = selectors.checkout_quote(
        customer=request.auth, merchant=merchant_context(request), data=payload.to_input(), now=timezone.now()
    )
    return quote.as_dict()


# --- addresses -----------------------------------------------------------------------------------


@consumer.get("/me/addresses", response=AddressList, summary="Your saved delivery addresses (default first)")
def address_list(request):
    items = [selectors.address_out(a) for a in selectors.addresses_for_customer(customer=request.auth)]
    return {"items": items, "next_cursor": None}


@consumer.post("/me/addresses", response={201: AddressRead}, summary="Save a delivery address")
def address_create(request, payload: AddressCreate):
    address = services.address_create(customer=request.auth, data=payload.model_dump())
    return Status(201, selectors.address_out(address))


@consumer.get("/me/addresses/{address_id}", response=AddressRead, summary="One saved address")
def address_detail(request, address_id: str):
    return selectors.address_out(selectors.address_get(customer=request.auth, address_id=address_id))


@consumer.patch("/me/addresses/{address_id}", response=AddressRead, summary="Change a saved address")
def address_update(request, address_id: str, payload: AddressUpdate):
    address = services.address_update(
        customer=request.auth, address_id=address_id, data=payload.model_dump(exclude_unset=True)
    )
    return selectors.address_out(address)


@consumer.delete("/me/addresses/{address_id}", response={204: None}, summary="Delete a saved address")
def address_delete(request, address_id: str):
    services.address_delete(customer=request.auth, address_id=address_id)
    return Status(204, None)
