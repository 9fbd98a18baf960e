"""The Actor: who is acting and over what. Every staff selector and service takes one.

Scope runs platform -> merchant -> store. A store role sees one store; a merchant role sees its
merchant's stores; the platform admin sees everything. Objects outside scope are "not found".
"""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from mendian.core.errors import Forbidden, NotFound


class Role:
    PLATFORM_ADMIN = "platform_admin"
    MERCHANT_ADMIN = "merchant_admin"
    STORE_MANAGER = "store_manager"
    STORE_CLERK = "store_clerk"

    ALL = (PLATFORM_ADMIN, MERCHANT_ADMIN, STORE_MANAGER, STORE_CLERK)
    HQ = (PLATFORM_ADMIN, MERCHANT_ADMIN)
    STORE = (STORE_MANAGER, STORE_CLERK)
    CHOICES = [
        (PLATFORM_ADMIN, "平台管理员"),
        (MERCHANT_ADMIN, "总部管理员"),
        (STORE_MANAGER, "店长"),
        (STORE_CLERK, "店员"),
    ]


# What each role may do. Capabilities are checked by services, not by views.
CAPABILITIES: dict[str, frozenset[str]] = {
    Role.STORE_CLERK: frozenset(
        {"orders.fulfil", "pickups.verify", "stock.read", "stock.adjust", "store.read", "catalog.read"}
    ),
}
CAPABILITIES[Role.STORE_MANAGER] = CAPABILITIES[Role.STORE_CLERK] | {
    "stock.stocktake",
    "stock.transfer",
    "refunds.approve",
    "store.settings",
    "store.listings",
}
CAPABILITIES[Role.MERCHANT_ADMIN] = CAPABILITIES[Role.STORE_MANAGER] | {
    "hq.access",
    "stores.manage",
    "catalog.manage",
    "prices.manage",
    "staff.manage",
    "promotions.manage",
    "apikeys.manage",
    "reports.read",
    "payments.manage",
}
CAPABILITIES[Role.PLATFORM_ADMIN] = CAPABILITIES[Role.MERCHANT_ADMIN] | {"merchants.manage"}


@dataclass(frozen=True)
class Actor:
    role: str
    staff_id: int | None = None
    merchant_id: int | None = None
    store_id: int | None = None
    label: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def for_staff(cls, staff) -> "Actor":
        return cls(
            role=staff.role,
            staff_id=staff.pk,
            merchant_id=staff.merchant_id,
            store_id=staff.store_id,
            label=staff.username,
        )

    @classmethod
    def system(cls, merchant_id: int | None = None) -> "Actor":
        """Internal jobs and the CLI: platform-wide unless narrowed to a merchant."""
        if merchant_id is None:
            return cls(role=Role.PLATFORM_ADMIN, label="system")
        return cls(role=Role.MERCHANT_ADMIN, merchant_id=merchant_id, label="system")

    @property
    def is_platform(self) -> bool:
        return self.role == Role.PLATFORM_ADMIN

    @property
    def is_hq(self) -> bool:
        return self.role in Role.HQ

    @property
    def is_store_level(self) -> bool:
        return self.role in Role.STORE

    def can(self, capability: str) -> bool:
        return capability in CAPABILITIES.get(self.role, frozenset())

    def require(self, capability: str) -> None:
        if not self.can(capability):
            raise Forbidden("Your role does not allow this action.")

    # --- scoping -------------------------------------------------------------------------
    def scope_merchants(self, qs: QuerySet, merchant_field: str = "merchant_id") -> QuerySet:
        if self.is_platform:
            return qs
        return qs.filter(**{merchant_field: self.merchant_id})

    def scope_stores(
        self, qs: QuerySet, store_field: str = "store_id", merchant_field: str = "store__merchant_id"
    ) -> QuerySet:
        """Rows that belong to a store (orders, stock, staff of a store)."""
        if self.is_platform:
            return qs
        if self.is_store_level:
            return qs.filter(**{store_field: self.store_id})
        return qs.filter(**{merchant_field: self.merchant_id})

    def check_merchant(self, merchant_id: int) -> None:
        if not self.is_platform and merchant_id != self.merchant_id:
            raise NotFound("No such object.")

    def check_store(self, store) -> None:
        """`store` is a Store instance; raises not_found when it is outside this actor's scope."""
        self.check_merchant(store.merchant_id)
        if self.is_store_level and store.pk != self.store_id:
            raise NotFound("No such store.")

    def effective_merchant_id(self, requested: int | None = None) -> int:
        """The merchant a write lands in: one's own; a platform admin must name one."""
        if self.is_platform:
            if requested is None:
                from mendian.core.errors import ValidationFailed

                raise ValidationFailed("merchant_id is required for platform administrators.")
            return requested
        return self.merchant_id
