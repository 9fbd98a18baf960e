"""Payment request and reply shapes."""

from ninja import Schema
from pydantic import ConfigDict


class PaymentCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    provider: str


class PaymentCreated(Schema):
    payment_id: str
    provider: str
    status: str
    client_params: dict
