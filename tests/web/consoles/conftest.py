"""Console fixtures: a merchant with stores, a category tree and products (made through the
services), staff of every role, and a second merchant whose objects must stay invisible."""

import io

import pytest
from django.test import Client
from django_otp.oath import totp
from PIL import Image

from mendian.catalog.services import category_create, product_create
from mendian.core.scope import Actor, Role
from tests.factories import StaffFactory, StoreFactory

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _no_otp_throttle(settings):
    # django-otp slows retries after a failure; the tests retry at once on purpose.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def make_product(merchant, category, name, *, sku_code, price=1000, **extra):
    return product_create(
        actor=Actor.system(merchant.pk),
        data={
            "name": name,
            "category_id": category.pk,
            "variants": [{"sku_code": sku_code, "specs": {"规格": "标准"}, "price": {"amount": price}}],
            **extra,
        },
    )


@pytest.fixture
def catalog(merchant):
    actor = Actor.system(merchant.pk)
    drinks = category_create(actor=actor, data={"name": "饮料", "icon": "🥤"})
    tea = category_create(actor=actor, data={"name": "茶饮", "parent_id": drinks.pk})
    snacks = category_create(actor=actor, data={"name": "零食"})
    water = make_product(merchant, drinks, "矿泉水", sku_code="W-550", price=200)
    chips = make_product(merchant, snacks, "薯片", sku_code="C-70", price=650)
    return {"drinks": drinks, "tea": tea, "snacks": snacks, "water": water, "chips": chips}


@pytest.fixture
def rival(other_merchant):
    """Another brand: a store, a category and a product nobody of `merchant` may see."""
    store = StoreFactory(merchant=other_merchant, code="r001", name="对手一店")
    category = category_create(actor=Actor.system(other_merchant.pk), data={"name": "对手分类"})
    product = make_product(other_merchant, category, "对手商品", sku_code="R-1")
    staff = StaffFactory(username="rival_clerk", role=Role.STORE_CLERK, store=store)
    return {"store": store, "category": category, "product": product, "staff": staff}


@pytest.fixture
def hq_admin(merchant):
    return StaffFactory(username="boss", role=Role.MERCHANT_ADMIN, merchant=merchant, display_name="王总")


@pytest.fixture
def platform_admin(db):
    return StaffFactory(username="root", role=Role.PLATFORM_ADMIN, merchant=None, store=None)


@pytest.fixture
def manager(store):
    return StaffFactory(username="manager", role=Role.STORE_MANAGER, store=store)


@pytest.fixture
def clerk(store):
    return StaffFactory(username="clerk", role=Role.STORE_CLERK, store=store)


def signed_in(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def hq(hq_admin):
    return signed_in(hq_admin)


@pytest.fixture
def platform(platform_admin):
    return signed_in(platform_admin)


@pytest.fixture
def manager_client(manager):
    return signed_in(manager)


@pytest.fixture
def clerk_client(clerk):
    return signed_in(clerk)


def otp_for(device, offset_steps: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, drift=offset_steps):06d}"


def png_bytes(color=(200, 30, 30), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def week(open_="09:00", close="21:00", *, mode="spans") -> dict:
    """POST data for the hours editor: the same every day."""
    data = {}
    for day in range(7):
        data[f"h{day}-mode"] = mode
        data[f"h{day}-open"] = [open_]
        data[f"h{day}-close"] = [close]
    return data


def store_post(**overrides) -> dict:
    data = {
        "code": "gg009",
        "name": "光谷新店",
        "status": "open",
        "city": "武汉市",
        "district": "洪山区",
        "address": "珞喻路 1 号",
        "phone": "027-88886666",
        "coord_type": "gcj02",
        "lat": "30.5055",
        "lng": "114.3990",
        "timezone": "",
        "intro": "",
        "pickup_enabled": "on",
        "pickup_prep_minutes": "10",
        "delivery_radius_m": "3000",
        "delivery_fee": "5.00",
        "delivery_min_order": "20",
        "delivery_free_over": "",
        **week(),
    }
    data.update(overrides)
    return data
