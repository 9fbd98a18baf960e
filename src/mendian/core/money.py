"""Money as integer minor units (fen) plus an ISO currency code. Never a float."""

from dataclasses import dataclass

from ninja import Schema
from pydantic import Field, StrictInt

DEFAULT_CURRENCY = "CNY"


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str = DEFAULT_CURRENCY

    def as_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}


class MoneySchema(Schema):
    amount: StrictInt = Field(..., ge=0, le=10**11, description="Minor units (fen for CNY).")
    currency: str = Field(DEFAULT_CURRENCY, pattern=r"^[A-Z]{3}$")


def money(amount: int, currency: str = DEFAULT_CURRENCY) -> dict:
    return {"amount": int(amount), "currency": currency}


def format_yuan(amount: int) -> str:
    """1290 -> '12.90' (for pages; APIs always carry integers)."""
    sign = "-" if amount < 0 else ""
    amount = abs(int(amount))
    return f"{sign}{amount // 100}.{amount % 100:02d}"
