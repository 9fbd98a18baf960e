"""Who carries a delivery. `CourierAdapter` is the interface a third-party courier (达达, 顺丰同城,
美团配送 …) implements; the built-in `store` courier is the store's own staff.

`dispatch` is called inside the order's transaction when staff dispatch an order: it must not
block on the network (an adapter that calls a provider records the request and sends it from a
task after the commit) and it returns what the order shows the customer.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from mendian.core.errors import ValidationFailed

DEFAULT_ETA_MINUTES = 30


@dataclass(frozen=True, slots=True)
class Dispatch:
    courier: str
    tracking_id: str
    eta: dt.datetime | None


class CourierAdapter(Protocol):
    code: str
    label: str

    def dispatch(self, *, order, eta_minutes: int | None, now: dt.datetime) -> Dispatch: ...


class StoreCourier:
    """The store's own staff deliver; the ETA is what the clerk says (30 minutes by default)."""

    code = "store"
    label = "门店配送"

    def dispatch(self, *, order, eta_minutes: int | None, now: dt.datetime) -> Dispatch:
        minutes = DEFAULT_ETA_MINUTES if eta_minutes is None else eta_minutes
        return Dispatch(courier=self.code, tracking_id="", eta=now + dt.timedelta(minutes=minutes))


COURIERS: dict[str, CourierAdapter] = {StoreCourier.code: StoreCourier()}


def courier_get(code: str | None) -> CourierAdapter:
    adapter = COURIERS.get(code or StoreCourier.code)
    if adapter is None:
        raise ValidationFailed(
            f"Unknown courier {code!r}; available: {', '.join(sorted(COURIERS))}.",
            code="unknown_courier",
            errors=[{"loc": ["courier"], "msg": "unknown"}],
        )
    return adapter
