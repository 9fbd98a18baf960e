"""ninja schemas of API keys, webhooks and the open API. Ids are strings; secrets go out once."""

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool

from mendian.integrations.events import ALL_EVENTS
from mendian.integrations.services import MAX_STOCK_EVENTS


class _Input(Schema):
    # Unknown fields fail loudly: `merchant_id`, `secret` or `key` cannot ride along unnoticed.
    model_config = ConfigDict(extra="forbid")


# --- API keys ------------------------------------------------------------------------------------------


class ApiKeyCreate(_Input):
    name: str = Field(..., min_length=1, max_length=100)
    merchant_id: str | None = Field(None, description="Platform administrators only: the merchant.")


class ApiKeyRead(Schema):
    id: str
    key: str = Field(..., description="The public key id, sent as X-Mendian-Key.")
    name: str
    merchant_id: str
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    is_active: bool


class ApiKeyCreated(Schema):
    id: str
    key: str
    secret: str = Field(..., description="Shown once, now. Store it in the POS; it is never shown again.")
    name: str
    merchant_id: str
    created_at: datetime


class ApiKeyList(Schema):
    items: list[ApiKeyRead]
    next_cursor: str | None


# --- webhooks ------------------------------------------------------------------------------------------


class WebhookCreate(_Input):
    url: str = Field(..., max_length=500, examples=["https://erp.example.com/mendian/webhooks"])
    event_types: list[str] = Field(
        default_factory=lambda: [ALL_EVENTS],
        max_length=20,
        description='Event types to receive, or ["*"] for every type.',
    )
    description: str = Field("", max_length=200)
    is_active: StrictBool = True
    merchant_id: str | None = Field(None, description="Platform administrators only: the merchant.")


class WebhookUpdate(_Input):
    url: str | None = Field(None, max_length=500)
    event_types: list[str] | None = Field(None, max_length=20)
    description: str | None = Field(None, max_length=200)
    is_active: StrictBool | None = None
    rotate_secret: StrictBool = Field(False, description="Issue a new signing secret (returned once).")


class WebhookRead(Schema):
    id: str
    merchant_id: str
    url: str
    description: str
    event_types: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookRead):
    secret: str | None = Field(
        None, description="The signing secret: on creation and after `rotate_secret`, else null."
    )


class WebhookList(Schema):
    items: list[WebhookRead]
    next_cursor: str | None


class WebhookEventBrief(Schema):
    id: str
    type: str
    created_at: datetime
    aggregate_type: str
    aggregate_id: str


class WebhookAttemptRead(Schema):
    number: int
    attempted_at: datetime
    status_code: int | None
    succeeded: bool
    duration_ms: int
    error: str
    response_excerpt: str


class WebhookDeliveryRead(Schema):
    id: str = Field(..., description="The X-Mendian-Delivery header: the same on every retry and replay.")
    endpoint_id: str
    event: WebhookEventBrief
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    attempt_log: list[WebhookAttemptRead]


class WebhookDeliveryList(Schema):
    items: list[WebhookDeliveryRead]
    next_cursor: str | None


# --- open API ------------------------------------------------------------------------------------------


class StockEventIn(Schema):
    """One POS event. Checked one by one: a bad event is rejected alone, not the whole batch."""

    event_id: str = Field(..., max_length=128, description="Unique per store; a repeat is a duplicate.")
    store_code: str
    sku_code: str | None = Field(None, description="The SKU, by code or by barcode.")
    barcode: str | None = None
    type: Literal["sale", "return", "receive", "count", "transfer_out", "transfer_in"]
    quantity: int = Field(..., ge=0, description="Units (≥ 1); for `count`, the counted on-hand (≥ 0).")
    occurred_at: datetime = Field(..., description="When it happened at the till, with an offset.")


class StockEventBatch(_Input):
    # Items stay raw JSON objects so each is validated (and rejected) on its own; the documented
    # item shape is StockEventIn.
    events: list[Any] = Field(
        ...,
        description=f"At most {MAX_STOCK_EVENTS} events (more: 422 too_many_events), applied in order.",
        json_schema_extra={"items": StockEventIn.model_json_schema()},
    )


class RejectedEvent(Schema):
    event_id: str | None
    code: str
    detail: str


class StockEventsResult(Schema):
    accepted: int = Field(..., description="Events applied by this request.")
    duplicates: int = Field(..., description="Events whose event_id was seen before: nothing changed.")
    rejected: list[RejectedEvent]
