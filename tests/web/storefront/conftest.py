"""A small Wuhan chain for the storefront pages: two brands, stores in three districts, a
category tree and products with specs, created through the catalog services."""

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.test import Client

from mendian.catalog.services import category_create, product_create
from mendian.core.scope import Actor
from tests.factories import MerchantFactory, StoreFactory

T = dt.time
SEVEN_TO_NINE = [(day, T(7), T(21)) for day in range(7)]
# A fixed moment: Wednesday 2026-05-13 12:00 in Wuhan (04:00 UTC).
NOON = dt.datetime(2026, 5, 13, 4, 0, tzinfo=dt.UTC)
WUHAN_CENTRE = (30.5928, 114.3055)


@dataclass
class Chain:
    merchant: object
    other_merchant: object
    stores: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)


_codes = iter(range(1, 10**6))


def make_product(merchant, category, name, *, price=1000, variants=None, **extra):
    actor = Actor.system(merchant.pk)
    data = {
        "name": name,
        "category_id": category.pk,
        "variants": variants
        or [
            {
                "sku_code": f"{merchant.code}-{next(_codes):05d}",
                "specs": {"规格": "标准"},
                "price": {"amount": price, "currency": "CNY"},
            }
        ],
        **extra,
    }
    return product_create(actor=actor, data=data)


def make_category(merchant, name, *, parent=None, icon="", position=0):
    data = {"name": name, "icon": icon, "position": position}
    if parent is not None:
        data["parent_id"] = parent.pk
    return category_create(actor=Actor.system(merchant.pk), data=data)


@pytest.fixture
def frozen_now(monkeypatch):
    """Opening hours are evaluated at NOON (a Wednesday) unless a test moves it."""
    moment = {"at": NOON}
    monkeypatch.setattr("mendian.stores.hours._now", lambda: moment["at"])
    return moment


@pytest.fixture
def chain(db, frozen_now):
    merchant = MerchantFactory(code="xianlin", name="鲜邻便利有限公司", brand_name="鲜邻便利")
    other = MerchantFactory(code="chulu", name="楚麓烘焙")
    chain = Chain(merchant=merchant, other_merchant=other)
    s = chain.stores
    s["jianghan"] = StoreFactory(
        merchant=merchant,
        code="jh01",
        name="江汉路店",
        district="江汉区",
        address="江汉路118号",
        lat=30.5801,
        lng=114.2865,
        hours=SEVEN_TO_NINE,
        phone="027-85551234",
        delivery_enabled=True,
        delivery_radius_m=3000,
        delivery_fee=500,
        delivery_free_over=3900,
        delivery_min_order=2000,
        intro="步行街旁的便利店",
    )
    s["wangjiadun"] = StoreFactory(
        merchant=merchant,
        code="jh02",
        name="王家墩店",
        district="江汉区",
        address="建设大道568号",
        lat=30.5980,
        lng=114.2660,
        hours=SEVEN_TO_NINE,
    )
    s["hanjie"] = StoreFactory(
        merchant=merchant,
        code="wc01",
        name="楚河汉街店",
        district="武昌区",
        address="楚河汉街东段",
        lat=30.5565,
        lng=114.3355,
        hours=[(day, T(13), T(23)) for day in range(7)],
    )
    s["guanggu"] = StoreFactory(
        merchant=merchant,
        code="hs01",
        name="光谷广场店",
        district="洪山区",
        address="珞喻路光谷广场",
        lat=30.5081,
        lng=114.3990,
        hours=[(day, T(7), T(9)) for day in range(7)],
    )
    s["station"] = StoreFactory(
        merchant=merchant,
        code="ja01",
        name="汉口火车站店",
        district="江岸区",
        address="发展大道汉口站",
        lat=30.6184,
        lng=114.2560,
        status="paused",
    )
    s["bakery"] = StoreFactory(
        merchant=other,
        code="cl01",
        name="中南路烘焙店",
        district="武昌区",
        address="中南路9号",
        lat=30.5380,
        lng=114.3330,
        hours=[(day, T(9), T(21)) for day in range(7)],
    )
    c = chain.categories
    c["drinks"] = make_category(merchant, "饮料", icon="🥤", position=1)
    c["milk"] = make_category(merchant, "牛奶", icon="🥛", parent=c["drinks"])
    c["coffee"] = make_category(merchant, "咖啡", icon="☕", parent=c["drinks"])
    c["snacks"] = make_category(merchant, "零食", icon="🍪", position=2)
    c["clothes"] = make_category(merchant, "服饰", icon="👕", position=3)
    c["bread"] = make_category(other, "面包")
    p = chain.products
    p["milk"] = make_product(
        merchant,
        c["milk"],
        "蒙牛纯牛奶 250ml×12盒",
        price=4990,
        tags=["热卖"],
        subtitle="全脂灭菌乳",
        variants=[
            {
                "sku_code": "MILK12",
                "barcode": "6923644223458",
                "specs": {"规格": "12盒"},
                "price": {"amount": 4990, "currency": "CNY"},
            }
        ],
        description="优质奶源",
    )
    p["coffee"] = make_product(merchant, c["coffee"], "现磨美式咖啡", price=1200, tags=["现做"])
    p["chips"] = make_product(merchant, c["snacks"], "乐事原味薯片", price=750)
    p["tee"] = make_product(
        merchant,
        c["clothes"],
        "纯棉T恤",
        variants=[
            {
                "sku_code": "TEE-W-M",
                "specs": {"颜色": "白色", "尺码": "M"},
                "price": {"amount": 5900, "currency": "CNY"},
            },
            {
                "sku_code": "TEE-W-L",
                "specs": {"颜色": "白色", "尺码": "L"},
                "price": {"amount": 5900, "currency": "CNY"},
            },
            {
                "sku_code": "TEE-B-M",
                "specs": {"颜色": "黑色", "尺码": "M"},
                "price": {"amount": 6900, "currency": "CNY"},
            },
            {
                "sku_code": "TEE-B-XL",
                "specs": {"颜色": "黑色", "尺码": "XL"},
                "price": {"amount": 7900, "currency": "CNY"},
            },
        ],
    )
    p["toast"] = make_product(other, c["bread"], "全麦吐司", price=1500)
    return chain


@pytest.fixture
def shopper(chain):
    """A browser-like client that already chose the 江汉路店."""
    client = Client()
    client.cookies["mendian_store"] = str(chain.stores["jianghan"].pk)
    return client


def text_of(response) -> str:
    return response.content.decode()
