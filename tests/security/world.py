"""Shared helpers of the security tests: the operations of each OpenAPI document, bodies built
from their schemas, victims' objects built with the apps' own services, and row snapshots."""

import datetime as dt
import functools
import itertools
import re

from django.forms.models import model_to_dict
from django.utils import timezone

from mendian.accounts.tokens import customer_tokens_issue, staff_token_issue
from mendian.config.api import consumer_api, hq_api, open_api, staff_api
from mendian.core.scope import Actor, Role
from tests.conftest import ApiClient
from tests.factories import CategoryFactory, CustomerFactory, StaffFactory, StoreFactory

APIS = {"consumer": consumer_api, "staff": staff_api, "hq": hq_api, "open": open_api}
_numbers = itertools.count(1)


@functools.cache
def openapi_document(name: str) -> dict:
    """One API's OpenAPI document, built once per test process (building it takes about a second,
    and collection asks for it dozens of times). Callers must not modify it."""
    return APIS[name].get_openapi_schema()


def operations(name: str) -> list[tuple[str, str, dict]]:
    """(METHOD, path, operation) of one API's OpenAPI document, in document order."""
    schema = openapi_document(name)
    return [
        (method.upper(), path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def schema_components(name: str) -> dict:
    return openapi_document(name).get("components", {}).get("schemas", {})


def path_params(path: str) -> list[tuple[str, str]]:
    """[(segment before the param, param name)] for every `{param}` of the path."""
    parts = path.strip("/").split("/")
    found = []
    for index, part in enumerate(parts):
        match = re.fullmatch(r"\{(\w+)\}", part)
        if match:
            found.append((parts[index - 1], match.group(1)))
    return found


def json_body_schema(op: dict) -> dict | None:
    return op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")


def resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def example(schema: dict, components: dict, depth: int = 0):
    """A small value that satisfies the schema's types and required keys (best effort)."""
    schema = resolve(schema, components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if resolve(s, components).get("type") != "null"]
            return example(options[0], components, depth + 1) if options else None
    if "allOf" in schema:
        return example(schema["allOf"][0], components, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            key: example(props[key], components, depth + 1)
            for key in schema.get("required", [])
            if key in props and depth < 6
        }
    if kind == "array":
        return [example(schema["items"], components, depth + 1)] if schema.get("minItems") else []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date-time":
        return timezone.now().isoformat()
    if fmt == "date":
        return (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    if fmt == "time":
        return "09:00"
    return "x" * max(1, schema.get("minLength", 1))


# Bodies that must carry a real value to reach the object lookup (the schema alone allows
# anything, and a nonsense value is refused before the lookup).
BODY_OVERRIDES = {
    ("consumer", "/api/v1/orders/{order_id}/payments"): {"provider": "sandbox"},
}


def body_for(api_name: str, op: dict, path: str | None = None):
    if (api_name, path) in BODY_OVERRIDES:
        return dict(BODY_OVERRIDES[(api_name, path)])
    schema = json_body_schema(op)
    return None if schema is None else example(schema, schema_components(api_name))


def call(client, method: str, path: str, body=None):
    if method == "GET":
        return client.get(path)
    if method == "DELETE":
        return client.delete(path)
    if method == "POST" and body is None:
        return client.post(path)
    return getattr(client, method.lower())(path, body if body is not None else {})


# --- clients -------------------------------------------------------------------------------------


def staff_client(**fields) -> ApiClient:
    staff = StaffFactory(**fields)
    client = ApiClient(staff_token_issue(staff=staff)["access_token"])
    client.staff = staff
    return client


def member_client(**fields) -> ApiClient:
    customer = CustomerFactory(**fields)
    client = ApiClient(customer_tokens_issue(customer=customer)["access_token"])
    client.customer = customer
    return client


# --- the victim's world --------------------------------------------------------------------------


class Victim:
    """Objects of one victim (a store of a merchant, and a member who shops there), each made on
    first use with the apps' own services. `build(segment)` returns (path value, model instance)."""

    def __init__(self, store, customer=None):
        self.store = store
        self.merchant = store.merchant
        self.actor = Actor.system(self.merchant.pk)
        self.customer = customer or CustomerFactory()
        self._cache: dict[str, tuple[str, object]] = {}

    # Segment → builder. A segment missing here makes the scope matrix fail ("add a builder").
    BUILDERS = {
        "merchants": "_merchant",
        "stores": "_store",
        "photos": "_photo",
        "special-days": "_special_day",
        "categories": "_category",
        "products": "_product",
        "images": "_image",
        "restock-requests": "_restock_request",
        "refund-requests": "_refund_request",
        "refunds": "_refund",
        "orders": "_order",
        "staff": "_staff",
        "api-keys": "_api_key",
        "webhooks": "_webhook",
        "webhook-deliveries": "_webhook_delivery",
        "stocktakes": "_stocktake",
        "transfers": "_transfer",
        "addresses": "_address",
    }

    def build(self, segment: str) -> tuple[str, object]:
        if segment not in self._cache:
            value, obj = getattr(self, self.BUILDERS[segment])()
            self._cache[segment] = (str(value), obj)
        return self._cache[segment]

    @property
    def sku(self):
        if "sku" not in self._cache:
            product = self.build("products")[1]
            self._cache["sku"] = ("", product.variants.order_by("pk").first())
        return self._cache["sku"][1]

    def _merchant(self):
        return self.merchant.pk, self.merchant

    def _store(self):
        return self.store.pk, self.store

    def _photo(self):
        from mendian.stores.models import StorePhoto

        photo = StorePhoto.objects.create(store=self.store, image="stores/victim.webp", thumbnail="")
        return photo.pk, photo

    def _special_day(self):
        from mendian.stores.services import special_day_set

        date = timezone.localdate() + dt.timedelta(days=20)
        day = special_day_set(actor=self.actor, store=self.store, date=date, closed=True, note="victim")
        return date.isoformat(), day

    def _category(self):
        category = CategoryFactory(merchant=self.merchant, name=f"受害分类{next(_numbers)}")
        return category.pk, category

    def _product(self):
        from mendian.catalog.services import product_create

        category = self.build("categories")[1]
        product = product_create(
            actor=self.actor,
            data={
                "name": f"受害商品{next(_numbers)}",
                "category_id": category.pk,
                "variants": [
                    {
                        "sku_code": f"V{next(_numbers):05d}",
                        "specs": {"规格": "标准"},
                        "price": {"amount": 500, "currency": "CNY"},
                    }
                ],
            },
        )
        return product.pk, product

    def _image(self):
        from mendian.catalog.models import ProductImage

        product = self.build("products")[1]
        image = ProductImage.objects.create(
            product=product, image="products/victim.webp", thumbnail="products/victim-t.webp"
        )
        return image.pk, image

    def _restock_request(self):
        from mendian.inventory.services import restock_request_create

        request = restock_request_create(actor=self.actor, store=self.store, lines=[(self.sku.pk, 5)])
        return request.pk, request

    def give_stock(self, quantity: int = 20):
        from mendian.inventory.services import stock_adjust

        stock_adjust(actor=self.actor, store=self.store, sku=self.sku, delta=quantity, reason="found")

    def _order(self):
        from mendian.orders.models import Order
        from mendian.orders.services import order_mark_paid

        self.give_stock()
        client = ApiClient(customer_tokens_issue(customer=self.customer)["access_token"])
        body = {
            "store_id": str(self.store.pk),
            "lines": [{"sku_id": str(self.sku.pk), "quantity": 1}],
            "fulfilment": {"type": "pickup"},
        }
        response = client.post("/api/v1/orders", body, headers={"X-Mendian-Merchant": self.merchant.code})
        assert response.status_code == 201, response.content
        order = Order.objects.get(pk=response.json()["id"])
        order_mark_paid(
            order_id=order.pk,
            payment_id=f"victim-pay-{order.pk}",
            amount=order.total,
            provider="sandbox",
            paid_at=timezone.now(),
        )
        order.refresh_from_db()
        return order.pk, order

    def _refund_request(self):
        from mendian.orders.models import RefundRequest

        order = self.build("orders")[1]
        request = RefundRequest.objects.create(order=order, amount=100, reason="victim's own request")
        return request.pk, request

    def _refund(self):
        """An abnormal WeChat Pay refund of the victim's paid order (HQ may settle it)."""
        from mendian.payments.models import Payment, Refund

        order = self.build("orders")[1]
        payment = Payment.objects.create(
            public_id=order.payment_id,
            order=order,
            provider="wechatpay",
            amount=order.total,
            status="paid",
            refunded_amount=order.total,
        )
        refund = Refund.objects.create(
            payment=payment, amount=order.total, status="abnormal", provider_refund_id="50000000000000000001"
        )
        return refund.pk, refund

    def _staff(self):
        staff = StaffFactory(role=Role.STORE_CLERK, store=self.store)
        return staff.pk, staff

    def _api_key(self):
        from mendian.integrations.services import api_key_create

        key, _secret = api_key_create(actor=self.actor, name="victim key")
        return key.pk, key

    def _webhook(self):
        from mendian.integrations.models import WebhookEndpoint

        endpoint = WebhookEndpoint.objects.create(
            merchant=self.merchant,
            url="https://victim.example.com/hook",
            secret="whsec_victim",
            event_types=["*"],
        )
        return endpoint.pk, endpoint

    def _webhook_delivery(self):
        from mendian.integrations.models import OutboxEvent, WebhookDelivery

        endpoint = self.build("webhooks")[1]
        event = OutboxEvent.objects.create(
            merchant=self.merchant, event_type="order.paid", payload={"id": "1"}, published_at=timezone.now()
        )
        delivery = WebhookDelivery.objects.create(
            event=event, endpoint=endpoint, merchant=self.merchant, status="failed", attempts=3
        )
        return delivery.pk, delivery

    def _stocktake(self):
        from mendian.inventory.services import stocktake_start

        self.give_stock(5)
        stocktake = stocktake_start(actor=self.actor, store=self.store, sku_ids=[self.sku.pk])
        return stocktake.pk, stocktake

    def _transfer(self):
        from mendian.inventory.services import transfer_create

        self.give_stock(5)
        peer = StoreFactory(merchant=self.merchant, name="受害调拨门店")
        transfer = transfer_create(
            actor=self.actor, from_store=self.store, to_store=peer, lines=[(self.sku.pk, 1)]
        )
        return transfer.pk, transfer

    def _address(self):
        from mendian.checkout.services import address_create

        address = address_create(
            customer=self.customer,
            data={
                "contact_name": "受害人",
                "phone": "13700001234",
                "address": "武汉市江汉区受害路1号",
                "lat": 30.58,
                "lng": 114.29,
            },
        )
        return address.pk, address


def snapshot(obj) -> tuple:
    """The row (every field) and a count of each kind of row that points at it."""
    fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
    if fresh is None:
        return (None,)
    related = {}
    for rel in type(obj)._meta.related_objects:
        if rel.one_to_many or rel.one_to_one or rel.many_to_many:
            accessor = rel.get_accessor_name()
            try:
                manager = getattr(fresh, accessor)
            except Exception:  # a missing one-to-one
                related[accessor] = 0
                continue
            related[accessor] = manager.count() if hasattr(manager, "count") else 1
    row = {key: str(value) for key, value in model_to_dict(fresh).items()}
    return row, related
