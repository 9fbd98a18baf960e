import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_open_api_document_describes_the_signature_and_the_event_shape():
    doc = Client().get("/api/open/v1/openapi.json").json()

    assert set(doc["paths"]) == {"/api/open/v1/stock-events", "/api/open/v1/stock"}
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {
        "SignedRequestAuth": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Mendian-Key",
            "description": schemes["SignedRequestAuth"]["description"],
        }
    }
    post = doc["paths"]["/api/open/v1/stock-events"]["post"]
    assert post["security"] == [{"SignedRequestAuth": []}]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    batch = doc["components"]["schemas"]["StockEventBatch"]
    assert batch["properties"]["events"]["items"]["properties"]["type"]["enum"] == [
        "sale",
        "return",
        "receive",
        "count",
        "transfer_out",
        "transfer_in",
    ]


def test_the_hq_document_lists_keys_and_webhooks():
    paths = Client().get("/api/hq/v1/openapi.json").json()["paths"]
    for path in (
        "/api/hq/v1/api-keys",
        "/api/hq/v1/api-keys/{api_key_id}/revoke",
        "/api/hq/v1/webhooks",
        "/api/hq/v1/webhooks/{webhook_id}",
        "/api/hq/v1/webhooks/{webhook_id}/deliveries",
        "/api/hq/v1/webhook-deliveries/{delivery_id}/replay",
    ):
        assert path in paths
