"""The domain events integrators can subscribe to. Producers emit them with `outbox.outbox_emit`.

| type              | emitted by   | when                                                   |
|-------------------|--------------|--------------------------------------------------------|
| `stock.low`       | inventory    | a store's available stock of a SKU falls to its alert  |
| `order.paid`      | orders       | the payment of an order is confirmed                   |
| `order.ready`     | orders       | a pickup order is ready at the store                   |
| `order.completed` | orders       | picked up / delivered                                  |
| `order.cancelled` | orders       | cancelled by the customer, staff or timeout            |
| `order.refunded`  | orders       | a refund went through                                  |

A webhook endpoint subscribes to a list of these or to `*` (every type, including ones added later).
"""

STOCK_LOW = "stock.low"
ORDER_PAID = "order.paid"
ORDER_READY = "order.ready"
ORDER_COMPLETED = "order.completed"
ORDER_CANCELLED = "order.cancelled"
ORDER_REFUNDED = "order.refunded"

EVENT_TYPES: frozenset[str] = frozenset(
    {STOCK_LOW, ORDER_PAID, ORDER_READY, ORDER_COMPLETED, ORDER_CANCELLED, ORDER_REFUNDED}
)
ALL_EVENTS = "*"
