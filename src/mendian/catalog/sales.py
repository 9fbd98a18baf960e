"""Units sold per product (`Product.sales_count`, the storefront's 销量 and its "sales" sort),
recounted from orders by a periodic job (`catalog.tasks.refresh_sales_counts`). Nothing counts on
the order path: placing or paying an order takes no lock on product rows, so a count may lag the
orders by one run of the job.

A product's count is the units of all its variants, in all its merchant's stores, that were paid
for and not refunded:
- an order counts once it was paid (`paid_at` is set); an order cancelled before payment never
  counts, and one cancelled after payment counts nothing either: cancelling refunds it whole and
  its goods never left the store;
- after-sales refunds take their units off once the store approved them (`approved`, then
  `refunded` when the money is back), whether or not the goods came back to the shelf: the
  customer got the money back, so it was no sale. A request still pending, or rejected, leaves
  the units sold.

A product that was never in a paid order keeps the count it has. For a real merchant that is 0
(HQ cannot set the count), and it keeps the demo catalog's starting figures, which would otherwise
all fall to 0 on the job's first run. From its first paid order on, a product's count is what its
orders say, refunds included.
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import Q, Sum

from mendian.catalog import shelf
from mendian.catalog.cache import catalog_version_bump
from mendian.catalog.models import Product
from mendian.orders.models import OrderLine, OrderStatus, RefundKind, RefundRequestLine, RefundStatus

REFUND_STATUSES_THAT_UNSELL = (RefundStatus.APPROVED, RefundStatus.REFUNDED)


def units_sold_by_merchant(*, merchant_id: int | None = None) -> dict[int, dict[int, int]]:
    """{merchant id: {product id: units sold}} for every product that was ever in a paid order."""
    paid_lines = OrderLine.objects.filter(order__paid_at__isnull=False)
    unsold_lines = RefundRequestLine.objects.filter(
        request__kind=RefundKind.AFTER_SALE,
        request__status__in=REFUND_STATUSES_THAT_UNSELL,
        request__order__paid_at__isnull=False,
    ).exclude(request__order__status=OrderStatus.CANCELLED)
    if merchant_id is not None:
        paid_lines = paid_lines.filter(order__merchant_id=merchant_id)
        unsold_lines = unsold_lines.filter(request__order__merchant_id=merchant_id)

    units: dict[int, dict[int, int]] = defaultdict(dict)
    sold_rows = paid_lines.values_list("order__merchant_id", "product_id").annotate(
        units=Sum("quantity", filter=~Q(order__status=OrderStatus.CANCELLED), default=0)
    )
    for merchant_pk, product_id, sold in sold_rows:
        units[merchant_pk][product_id] = sold
    refunded_rows = unsold_lines.values_list(
        "request__order__merchant_id", "order_line__product_id"
    ).annotate(units=Sum("quantity"))
    for merchant_pk, product_id, refunded in refunded_rows:
        units[merchant_pk][product_id] -= refunded
    return units


def refresh_sales_counts(*, merchant_id: int | None = None) -> list[int]:
    """Recounts `sales_count` from orders (of one merchant, or of all) and writes the products whose
    count changed, each merchant in one transaction that also drops its cached list pages and
    refreshes its stores' shelves. Returns the ids of the products it changed. Safe to repeat: a
    second run finds nothing to change."""
    changed_ids: list[int] = []
    for merchant_pk, recounted in sorted(units_sold_by_merchant(merchant_id=merchant_id).items()):
        stored = Product.objects.filter(merchant_id=merchant_pk).values_list("pk", "sales_count")
        changes = sorted((pk, recounted[pk]) for pk, count in stored if recounted.get(pk, count) != count)
        if not changes:
            continue
        with transaction.atomic():
            merchant_changed = [
                pk for pk, count in changes if Product.objects.filter(pk=pk).update(sales_count=count)
            ]
            if merchant_changed:
                catalog_version_bump(merchant_pk)
                shelf.refresh(merchant_id=merchant_pk, product_ids=merchant_changed)
        changed_ids.extend(merchant_changed)
    return changed_ids
