"""Checkout writes: cart lines and saved addresses. Each is one transaction, for the signed-in
customer only (the customer is the scope: nobody can touch another's cart or address)."""

import math

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mendian.accounts.models import Customer
from mendian.checkout.models import MAX_LINE_QUANTITY, Address, Cart, CartLine
from mendian.checkout.selectors import MAX_ADDRESSES, MAX_LINES, address_get, parse_pk, skus_at_store
from mendian.core import rows
from mendian.core.errors import Conflict, ValidationFailed
from mendian.core.geo import wgs84_to_gcj02
from mendian.core.pii import normalize_phone
from mendian.stores.models import Store

# --- carts ---------------------------------------------------------------------------------------


def _cart_for(customer: Customer, store: Store) -> Cart:
    cart = Cart.objects.filter(customer=customer, store=store).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(customer=customer, store=store)
    except IntegrityError:  # created by a concurrent request of the same customer
        return Cart.objects.get(customer=customer, store=store)


def cart_line_set(*, customer: Customer, store: Store, sku_id, quantity: int) -> None:
    """Sets the quantity of one SKU in the customer's cart at `store` (0 removes it).

    `404 not_found` for an unknown or another merchant's SKU, `409 not_sold_here` for one not sold
    at this store (removing such a line is always allowed), `422` for a quantity outside 0..99 or a
    51st line."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(
            f"quantity must be a whole number from 0 to {MAX_LINE_QUANTITY}.",
            errors=[{"loc": ["quantity"], "msg": f"0 to {MAX_LINE_QUANTITY}"}],
        )
    pk = parse_pk(sku_id, what="SKU")
    skus_at_store(store=store, sku_ids=[pk], require_sellable=quantity > 0)
    with transaction.atomic():
        cart = _cart_for(customer, store)
        if quantity == 0:
            CartLine.objects.filter(cart=cart, sku_id=pk).delete()
        else:
            updated = CartLine.objects.filter(cart=cart, sku_id=pk).update(quantity=quantity)
            if not updated:
                if CartLine.objects.filter(cart=cart).count() >= MAX_LINES:
                    raise ValidationFailed(
                        f"A cart holds at most {MAX_LINES} different products.", code="cart_full"
                    )
                try:
                    with transaction.atomic():
                        CartLine.objects.create(cart=cart, sku_id=pk, quantity=quantity)
                except IntegrityError:  # the same line added concurrently
                    CartLine.objects.filter(cart=cart, sku_id=pk).update(quantity=quantity)
        Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())


def cart_clear(*, customer: Customer, store: Store | None = None) -> int:
    """Empties the customer's cart at `store`, or every cart of theirs. Returns lines removed."""
    qs = CartLine.objects.filter(cart__customer=customer)
    if store is not None:
        qs = qs.filter(cart__store=store)
    deleted, _ = qs.delete()
    return deleted


def cart_remove_skus(*, customer: Customer, store: Store, sku_ids) -> None:
    """Takes ordered SKUs out of the cart (called by order creation, inside its transaction)."""
    sku_ids = list(sku_ids)
    if not sku_ids:
        return
    # Hand-written (`core.rows`; every order runs it): the DELETE the ORM would send, composed for
    # less Python than the database spends on it. Cart lines have no dependants and no signals.
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {rows.table(CartLine)} WHERE cart_id IN "  # noqa: S608 - constant names
            f"(SELECT id FROM {rows.table(Cart)} WHERE customer_id = %s AND store_id = %s) "
            f"AND sku_id IN ({', '.join(['%s'] * len(sku_ids))})",
            [customer.pk, store.pk, *sku_ids],
        )


# --- addresses -----------------------------------------------------------------------------------

_ADDRESS_FIELDS = ("contact_name", "phone", "address", "district", "lat", "lng", "coord_type", "is_default")


def _text(data: dict, key: str, *, max_length: int, required: bool, errors: list) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            errors.append({"loc": [key], "msg": "required"})
        return None
    if not isinstance(value, str) or len(value.strip()) > max_length or (required and not value.strip()):
        errors.append({"loc": [key], "msg": f"text of 1 to {max_length} characters"})
        return None
    return value.strip()


def _address_values(data: dict, *, partial: bool) -> dict:
    unknown = set(data) - set(_ADDRESS_FIELDS)
    if unknown:
        raise ValidationFailed(
            "Unknown fields.", errors=[{"loc": [key], "msg": "not allowed"} for key in sorted(unknown)]
        )
    errors: list = []
    values: dict = {}
    for key, max_length in (("contact_name", 30), ("address", 200)):
        if not partial or key in data:
            values[key] = _text(data, key, max_length=max_length, required=True, errors=errors)
    if not partial or "district" in data:
        values["district"] = _text(data, "district", max_length=50, required=False, errors=errors) or ""
    if not partial or "phone" in data:
        try:
            values["phone"] = normalize_phone(data.get("phone") or "")
        except ValueError:
            errors.append({"loc": ["phone"], "msg": "not a mainland China mobile number"})
    if not partial or "lat" in data or "lng" in data:
        lat, lng = data.get("lat"), data.get("lng")
        ok = True
        for key, value, bound in (("lat", lat, 90), ("lng", lng, 180)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or abs(value) > bound
            ):
                errors.append({"loc": [key], "msg": f"a number between -{bound} and {bound}"})
                ok = False
        coord_type = data.get("coord_type") or "gcj02"
        if coord_type not in ("gcj02", "wgs84"):
            errors.append({"loc": ["coord_type"], "msg": "gcj02 or wgs84"})
            ok = False
        if ok:
            lat, lng = float(lat), float(lng)
            if coord_type == "wgs84":
                lat, lng = wgs84_to_gcj02(lat, lng)
            values["lat"], values["lng"] = lat, lng
    if "is_default" in data:
        if not isinstance(data["is_default"], bool):
            errors.append({"loc": ["is_default"], "msg": "true or false"})
        else:
            values["is_default"] = data["is_default"]
    if errors:
        raise ValidationFailed("The address is not valid.", errors=errors)
    return values


def address_create(*, customer: Customer, data: dict) -> Address:
    """A new saved address (at most 20 per customer: `409 address_limit_reached`). The first one,
    or one marked `is_default`, becomes the default."""
    values = _address_values(data, partial=False)
    with transaction.atomic():
        # Serialises a customer's address writes (the limit and the single default).
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        count = Address.objects.filter(customer=customer).count()
        if count >= MAX_ADDRESSES:
            raise Conflict(f"At most {MAX_ADDRESSES} saved addresses.", code="address_limit_reached")
        make_default = values.pop("is_default", False) or count == 0
        if make_default:
            Address.objects.filter(customer=customer, is_default=True).update(is_default=False)
        return Address.objects.create(customer=customer, is_default=make_default, **values)


def address_update(*, customer: Customer, address_id, data: dict) -> Address:
    values = _address_values(data, partial=True)
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        address = address_get(customer=customer, address_id=address_id)
        if values.get("is_default"):
            Address.objects.filter(customer=customer, is_default=True).exclude(pk=address.pk).update(
                is_default=False
            )
        for key, value in values.items():
            setattr(address, key, value)
        address.save()
        return address


def address_delete(*, customer: Customer, address_id) -> None:
    """Deletes a saved address (orders keep their own copy). The newest other one becomes default."""
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        address = address_get(customer=customer, address_id=address_id)
        was_default = address.is_default
        address.delete()
        if was_default:
            successor = Address.objects.filter(customer=customer).order_by("-updated_at", "-id").first()
            if successor is not None:
                Address.objects.filter(pk=successor.pk).update(is_default=True)
