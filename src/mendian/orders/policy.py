"""Per-merchant order policy, read from `Merchant.settings` (HQ edits them with `PATCH /merchants/me`).

| key                          | default | meaning                                                        |
|------------------------------|---------|----------------------------------------------------------------|
| `order_pay_timeout_minutes`  | 15      | an unpaid order is cancelled (stock returned) after this        |
| `delivery_autocomplete_hours`| 24      | a delivered order completes on its own after this               |
| `pickup_no_show_hours`       | 24      | a ready pickup order not collected by then is flagged no-show   |
| `refund_window_days`         | 7       | refund requests are accepted this long after delivery/completion|
| `refund_max_requests`        | 3       | after-sales requests per order (rejected ones count too)        |

A value that is missing, not a whole number, or out of its range falls back to the default.
"""

from dataclasses import dataclass

from mendian.merchants.models import Merchant


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    default: int
    minimum: int
    maximum: int


PAY_TIMEOUT_MINUTES = Setting("order_pay_timeout_minutes", 15, 1, 24 * 60)
DELIVERY_AUTOCOMPLETE_HOURS = Setting("delivery_autocomplete_hours", 24, 1, 30 * 24)
PICKUP_NO_SHOW_HOURS = Setting("pickup_no_show_hours", 24, 1, 30 * 24)
REFUND_WINDOW_DAYS = Setting("refund_window_days", 7, 0, 365)
REFUND_MAX_REQUESTS = Setting("refund_max_requests", 3, 1, 20)

SETTINGS = (
    PAY_TIMEOUT_MINUTES,
    DELIVERY_AUTOCOMPLETE_HOURS,
    PICKUP_NO_SHOW_HOURS,
    REFUND_WINDOW_DAYS,
    REFUND_MAX_REQUESTS,
)


def policy_value(merchant: Merchant, setting: Setting) -> int:
    value = (merchant.settings or {}).get(setting.key)
    if isinstance(value, int) and not isinstance(value, bool) and setting.minimum <= value <= setting.maximum:
        return value
    return setting.default
