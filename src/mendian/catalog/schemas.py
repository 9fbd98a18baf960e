"""Catalog request and reply shapes. Bodies forbid unknown keys, so `merchant_id`, `id` or
`sales_count` cannot be slipped into a create or update (422)."""

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt

from mendian.core.money import MoneySchema

# Clients treat ids as opaque strings; numbers are accepted too, as many HTTP tools send them.
IdIn = str | StrictInt


class _Body(Schema):
    model_config = ConfigDict(extra="forbid")


class MoneyIn(MoneySchema):
    model_config = ConfigDict(extra="forbid")


# --- requests ------------------------------------------------------------------------------------
class CategoryCreate(_Body):
    name: str = Field(..., max_length=50)
    parent_id: IdIn | None = None
    icon: str = Field("", max_length=16)
    position: StrictInt = Field(0, ge=0, le=1_000_000)


class CategoryUpdate(_Body):
    name: str | None = Field(None, max_length=50)
    parent_id: IdIn | None = None
    icon: str | None = Field(None, max_length=16)
    position: StrictInt | None = Field(None, ge=0, le=1_000_000)


class VariantIn(_Body):
    sku_code: str = Field(..., max_length=64)
    barcode: str | None = Field(None, max_length=14)
    specs: dict[str, str] = Field(default_factory=dict)
    price: MoneyIn


class ProductCreate(_Body):
    name: str = Field(..., max_length=120)
    category_id: IdIn
    subtitle: str = Field("", max_length=200)
    description: str = Field("", max_length=20000)
    brand: str = Field("", max_length=60)
    tags: list[str] = Field(default_factory=list)
    position: StrictInt = Field(0, ge=0, le=1_000_000)
    is_active: StrictBool = True
    images: list[str] = Field(
        default_factory=list, description="Photos as base64 or data: URLs; or upload them one by one."
    )
    variants: list[VariantIn]


class ProductUpdate(_Body):
    name: str | None = Field(None, max_length=120)
    category_id: IdIn | None = None
    subtitle: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=20000)
    brand: str | None = Field(None, max_length=60)
    tags: list[str] | None = None
    position: StrictInt | None = Field(None, ge=0, le=1_000_000)
    is_active: StrictBool | None = None
    variants: list[VariantIn] | None = Field(
        None, description="The full list: matched by sku_code; variants left out are deactivated."
    )


class ImageOrder(_Body):
    image_ids: list[IdIn]


class StorePriceIn(_Body):
    sku_id: IdIn
    price: MoneyIn | None = Field(..., description="null: back to the base price at this store")


class StorePricesPut(_Body):
    prices: list[StorePriceIn]


class StoreListingIn(_Body):
    product_id: IdIn
    listed: StrictBool


class StoreListingsPut(_Body):
    listings: list[StoreListingIn]


_DB_INT_MAX = 2**63 - 1


class StoreProductsQuery(Schema):
    """The query of `GET /stores/{store_id}/products` (read by the handler itself, see api.py)."""

    category: str | None = Field(None, description="a category id; its subcategories are included")
    q: str | None = Field(None, description="search words (Chinese is segmented), or a SKU code or barcode")
    barcode: str | None = None
    sort: str | None = Field(
        None, description="sales, price, price_desc or new; default: relevance or shelf order"
    )
    # Bounded by what a database integer holds (SQLite refuses bigger ones outright).
    price_min: int | None = Field(
        None, ge=-_DB_INT_MAX, le=_DB_INT_MAX, description="fen, on the store's price"
    )
    price_max: int | None = Field(
        None, ge=-_DB_INT_MAX, le=_DB_INT_MAX, description="fen, on the store's price"
    )
    brand: str | None = None
    tags: list[str] | None = Field(
        None, description="every tag must match; repeat the parameter or comma-separate"
    )
    limit: int | None = Field(None, description="1-100, default 20")
    cursor: str | None = None


def openapi_query_parameters(model: type[Schema], *, path: tuple[str, ...] = ()) -> list[dict]:
    """OpenAPI parameters for an operation that parses its query with `model` itself."""
    parameters = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "string"}} for name in path
    ]
    for name, prop in model.model_json_schema()["properties"].items():
        parameter = {"in": "query", "name": name, "required": False, "schema": prop}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return parameters


# --- replies -------------------------------------------------------------------------------------
class CategoryNode(Schema):
    id: str
    name: str
    icon: str
    merchant_id: str
    children: list["CategoryNode"]


class CategoryTree(Schema):
    items: list[CategoryNode]
    next_cursor: str | None = None


class CategoryRead(Schema):
    id: str
    name: str
    icon: str
    parent_id: str | None
    merchant_id: str
    position: int
    is_active: bool
    product_count: int


class CategoryHqNode(CategoryRead):
    children: list["CategoryHqNode"]


class CategoryHqTree(Schema):
    items: list[CategoryHqNode]
    next_cursor: str | None = None


class ProductListItem(Schema):
    id: str
    name: str
    subtitle: str
    brand: str
    tags: list[str]
    image: str | None
    thumbnail: str | None
    price_from: MoneySchema
    available: bool
    sales_count: int


class ProductPage(Schema):
    items: list[ProductListItem]
    next_cursor: str | None


class ImageRead(Schema):
    id: str
    url: str
    thumbnail: str
    width: int
    height: int


class CategoryRef(Schema):
    id: str
    name: str


class VariantAtStore(Schema):
    sku_id: str
    sku_code: str
    barcode: str | None
    specs: dict[str, str]
    price: MoneySchema
    stock_available: int


class ProductAtStore(Schema):
    id: str
    name: str
    subtitle: str
    description: str
    brand: str
    tags: list[str]
    category: CategoryRef
    images: list[ImageRead]
    image: str | None
    price_from: MoneySchema | None
    available: bool
    sales_count: int
    variants: list[VariantAtStore]
    spec_options: dict[str, list[str]]


class SkuLookupProduct(Schema):
    id: str
    name: str
    image: str | None
    thumbnail: str | None


class SkuAtStore(Schema):
    sku_id: str
    sku_code: str
    barcode: str | None
    specs: dict[str, str]
    price: MoneySchema
    stock_available: int
    product: SkuLookupProduct


class HqImageRead(ImageRead):
    position: int


class VariantRead(Schema):
    sku_id: str
    sku_code: str
    barcode: str | None
    specs: dict[str, str]
    price: MoneySchema
    is_active: bool
    position: int


class ProductRead(Schema):
    id: str
    merchant_id: str
    name: str
    subtitle: str
    description: str
    brand: str
    tags: list[str]
    category_id: str
    category: CategoryRef
    is_active: bool
    position: int
    sales_count: int
    min_price: MoneySchema
    images: list[HqImageRead]
    variants: list[VariantRead]
    created_at: datetime
    updated_at: datetime


class ProductReadPage(Schema):
    items: list[ProductRead]
    next_cursor: str | None


class HqImagePage(Schema):
    items: list[HqImageRead]


class StorePriceRead(Schema):
    sku_id: str
    sku_code: str
    product_id: str
    product_name: str
    specs: dict[str, str]
    base_price: MoneySchema
    price: MoneySchema
    overridden: bool


class StorePricePage(Schema):
    items: list[StorePriceRead]
    next_cursor: str | None = None


class StoreListingRead(Schema):
    product_id: str
    product_name: str
    listed: bool
    updated_at: datetime | None = None


class StoreListingPage(Schema):
    items: list[StoreListingRead]
    next_cursor: str | None = None


class StoreVariantRead(Schema):
    sku_id: str
    sku_code: str
    barcode: str | None
    specs: dict[str, str]
    base_price: MoneySchema
    price: MoneySchema
    overridden: bool
    stock_available: int


class StoreCatalogItem(Schema):
    id: str
    name: str
    thumbnail: str | None
    category: CategoryRef
    listed: bool
    variants: list[StoreVariantRead]


class StoreCatalogPage(Schema):
    items: list[StoreCatalogItem]
    next_cursor: str | None
