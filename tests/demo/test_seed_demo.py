"""`mendian seed-demo` against a real database, at full scale with pictures and stock.

The seed is the slow part (a few hundred drawn images, ten thousand stock receipts), so this
module seeds once, twice in a row, in a module-scoped setup outside the per-test transactions,
and wipes the database when it is done. Tests read what the two runs left; a test that writes
(a run on the next day) does so inside its own transaction, rolled back after it.
"""

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from mendian.accounts.models import Customer, Staff
from mendian.catalog.barcodes import ean13_is_valid
from mendian.catalog.models import Category, Product, ProductImage, Sku, StoreListing, StorePrice
from mendian.catalog.selectors import products_for_actor, sku_prices_at, store_products
from mendian.core.pii import blind_index
from mendian.core.scope import Actor, Role
from mendian.demo import data
from mendian.demo.seed import DemoSeeder
from mendian.inventory.models import StockLevel, StockMovement
from mendian.inventory.selectors import stock_check
from mendian.members.models import Membership
from mendian.merchants.models import Merchant
from mendian.stores import hours
from mendian.stores.hours import store_local_today, store_open_state
from mendian.stores.models import OpeningHours, SpecialDay, Store, StoreStatus

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class DemoRuns:
    first_output: str
    second_output: str
    after_first: dict
    after_second: dict


def snapshot() -> dict:
    """Every row the demo writes, with the columns a second run must not touch."""

    def rows(model, *fields):
        return list(model.objects.order_by("pk").values_list("pk", *fields))

    return {
        "merchants": rows(Merchant, "code", "updated_at"),
        "stores": rows(Store, "code", "status", "updated_at"),
        "hours": rows(OpeningHours, "store_id", "weekday", "opens", "closes"),
        "special days": rows(SpecialDay, "store_id", "date", "closed", "opens", "closes"),
        "categories": rows(Category, "merchant_id", "parent_id", "name"),
        "products": rows(Product, "name", "min_price", "sales_count", "search_document", "updated_at"),
        "skus": rows(Sku, "sku_code", "barcode", "price"),
        "images": rows(ProductImage, "product_id", "image"),
        "store prices": rows(StorePrice, "store_id", "sku_id", "price"),
        "listings": rows(StoreListing, "store_id", "product_id", "is_listed"),
        "staff": rows(Staff, "username", "password", "role", "store_id"),
        "customers": rows(Customer, "phone_hash"),
        "memberships": rows(Membership, "merchant_id", "customer_id"),
        "stock levels": rows(StockLevel, "store_id", "sku_id", "on_hand", "reserved"),
        "movements": StockMovement.objects.count(),
    }


def run_seed_command() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        first_output = run_seed_command()
        after_first = snapshot()
        second_output = run_seed_command()
        after_second = snapshot()
    yield DemoRuns(first_output, second_output, after_first, after_second)
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def fresh(demo):
    return Merchant.objects.get(code="wuhan-fresh")


@pytest.fixture
def bakery(demo):
    return Merchant.objects.get(code="chulu-bakery")


def store(code: str) -> Store:
    return Store.objects.select_related("merchant").get(code=code)


def sku(merchant: Merchant, product_name: str, **specs) -> Sku:
    candidates = Sku.objects.filter(merchant=merchant, product__name=product_name)
    return next(item for item in candidates if all(item.specs.get(k) == v for k, v in specs.items()))


# --- idempotency --------------------------------------------------------------------------------------


def test_second_run_changes_and_duplicates_nothing(demo):
    assert demo.after_second == demo.after_first
    assert "nothing to create" in demo.second_output


def test_both_runs_print_the_same_logins_urls_and_customers(demo):
    def logins(output: str) -> list[str]:
        return output[output.index("Staff logins") :].splitlines()

    assert logins(demo.first_output) == logins(demo.second_output)
    for expected in [seed.username for seed in data.STAFF] + [data.DEMO_PASSWORD, *data.DEMO_CUSTOMER_PHONES]:
        assert expected in demo.first_output
    for path in ("http://127.0.0.1:8000/", "/store/", "/hq/", "/api/v1/dev/sms-outbox?phone=13800000001"):
        assert path in demo.first_output


def test_full_scale(fresh, bakery):
    assert fresh.stores.count() >= 30
    assert fresh.categories.count() >= 40
    assert fresh.products.count() >= 150
    assert fresh.skus.count() >= 300
    assert bakery.stores.count() == 4
    assert bakery.products.count() >= 20
    assert (fresh.name, fresh.currency, fresh.timezone) == ("鲜邻便利", "CNY", "Asia/Shanghai")
    assert bakery.name == "楚麓烘焙"


# --- stores -------------------------------------------------------------------------------------------


def test_every_store_lies_in_wuhan(demo):
    bounds = data.WUHAN_BOUNDS
    stores = Store.objects.filter(merchant__code__in=["wuhan-fresh", "chulu-bakery"])

    assert stores.count() == 38
    for row in stores:
        assert bounds["min_lat"] <= row.lat <= bounds["max_lat"], row.code
        assert bounds["min_lng"] <= row.lng <= bounds["max_lng"], row.code
    jianghan = store("jianghan-lu")
    assert (jianghan.name, round(jianghan.lat, 4), round(jianghan.lng, 4)) == (
        "鲜邻便利·江汉路店",
        30.5806,
        114.2863,
    )
    assert jianghan.address.startswith("武汉市江汉区")


def test_exactly_one_store_is_closed_today_and_exactly_one_is_paused(fresh, bakery):
    stores = list(
        Store.objects.filter(merchant__in=[fresh, bakery])
        .select_related("merchant")
        .prefetch_related("opening_hours", "special_days")
    )

    paused = [row.code for row in stores if row.status == StoreStatus.PAUSED]
    closed_today = [
        row.code for row in stores if row.status == StoreStatus.OPEN and not store_open_state(row).today
    ]
    assert paused == ["software-park"]
    assert closed_today == [data.CLOSED_TODAY_STORE]
    holiday = SpecialDay.objects.get(
        store__code=data.CLOSED_TODAY_STORE, date=store_local_today(store(data.CLOSED_TODAY_STORE))
    )
    assert holiday.closed and holiday.note == data.CLOSED_TODAY_NOTE
    assert not store_open_state(store(data.CLOSED_TODAY_STORE)).is_open


def test_a_run_on_the_next_day_closes_the_same_store_on_that_day(demo, monkeypatch):
    tomorrow = hours._now() + dt.timedelta(days=1)
    monkeypatch.setattr(hours, "_now", lambda: tomorrow)

    report = DemoSeeder(draw_images=True).run()

    closed = store(data.CLOSED_TODAY_STORE)
    assert report.today == store_local_today(closed) and report.created == {"holiday closure": 1}
    open_stores = Store.objects.filter(merchant__code="wuhan-fresh", status=StoreStatus.OPEN)
    closed_on_that_day = [row.code for row in open_stores if not store_open_state(row, at=tomorrow).today]
    assert closed_on_that_day == [data.CLOSED_TODAY_STORE]


def test_hours_are_varied(fresh):
    def spans(code):
        return sorted(
            (row.weekday, row.opens.strftime("%H:%M"), row.closes.strftime("%H:%M"))
            for row in OpeningHours.objects.filter(store__code=code, store__merchant=fresh)
        )

    assert spans("jianghan-lu") == [(day, "00:00", "00:00") for day in range(7)]
    assert spans("xinhua-lu") == [(day, "07:00", "23:00") for day in range(7)]
    assert spans("chuhe-hanjie")[4] == (4, "08:00", "02:00")  # Friday runs past midnight
    extended = SpecialDay.objects.filter(store__merchant=fresh, closed=False)
    assert extended.count() >= 5 and all(day.note for day in extended)


def test_delivery_at_about_two_thirds_of_the_stores(fresh):
    stores = list(fresh.stores.all())
    delivering = [row for row in stores if row.delivery_enabled]

    assert 0.6 <= len(delivering) / len(stores) <= 0.75
    for row in delivering:
        assert 2000 <= row.delivery_radius_m <= 5000
        assert 300 <= row.delivery_fee <= 600
        assert 3900 <= row.delivery_free_over <= 5900
        assert 1500 <= row.delivery_min_order <= 2000
    assert all(row.pickup_enabled and 10 <= row.pickup_prep_minutes <= 20 for row in stores)


# --- catalog ------------------------------------------------------------------------------------------


def test_categories_form_a_two_level_tree_with_icons(fresh):
    categories = list(Category.objects.filter(merchant=fresh).select_related("parent"))
    roots = [row for row in categories if row.parent is None]

    assert len(roots) >= 10
    assert all(row.parent is None or row.parent.parent_id is None for row in categories)
    assert all(row.icon for row in categories)
    assert not Product.objects.filter(merchant=fresh, category__parent__isnull=True).exists()
    assert {
        "生鲜果蔬",
        "乳品烘焙",
        "休闲零食",
        "酒水饮料",
        "粮油调味",
        "日用百货",
        "个护清洁",
        "母婴用品",
    } <= {row.name for row in roots}


def test_every_barcode_is_a_valid_chinese_ean13(demo):
    barcodes = list(Sku.objects.values_list("merchant_id", "barcode"))

    assert barcodes and all(ean13_is_valid(code) and code.startswith("69") for _, code in barcodes)
    assert len(set(barcodes)) == len(barcodes)


def test_products_carry_the_derived_fields_the_catalog_computes(fresh):
    milk = Product.objects.get(merchant=fresh, name="蒙牛纯牛奶")
    prices = list(milk.variants.values_list("price", flat=True))

    assert milk.brand == "蒙牛" and "热销" in milk.tags
    assert milk.min_price == min(prices) == 1590
    assert "蒙牛" in milk.search_document and "牛奶" in milk.search_document
    assert sku(fresh, "蒙牛纯牛奶", 规格="250ml×16盒").price == 5990
    assert all(product.search_document for product in Product.objects.filter(merchant=fresh))
    assert Product.objects.filter(merchant=fresh, brand="周黑鸭").exists()
    assert Product.objects.filter(merchant=fresh, brand="蔡林记").exists()


def test_sales_counts_make_the_sales_sort_believable(fresh):
    top = list(Product.objects.filter(merchant=fresh).order_by("-sales_count")[:10])

    assert all("热销" in product.tags for product in top)
    assert len({product.sales_count for product in Product.objects.filter(merchant=fresh)}) > 100
    page = store_products(store=store("jianghan-lu"), sort="sales", limit=5)
    assert [item["name"] for item in page["items"]] == [product.name for product in top[:5]]


def test_every_product_has_one_generated_webp_picture(demo):
    products = Product.objects.filter(merchant__code__in=["wuhan-fresh", "chulu-bakery"])
    pictures = ProductImage.objects.filter(product__in=products)

    assert pictures.count() == products.count()
    assert set(pictures.values_list("width", "height")) == {(800, 800)}
    sample = pictures.select_related("product").first()
    with default_storage.open(sample.image.name) as handle:
        image = Image.open(handle)
        assert (image.format, image.size) == ("WEBP", (800, 800))
    with default_storage.open(sample.thumbnail.name) as handle:
        assert Image.open(handle).size == (400, 400)


def test_store_prices_and_delistings(fresh):
    station = store("hankou-station")
    water = sku(fresh, "农夫山泉饮用天然水", 规格="550ml")

    assert sku_prices_at(station, [water]) == {water.pk: 300}
    assert sku_prices_at(store("jianghan-lu"), [water]) == {water.pk: 200}
    assert store_products(store=station, q="飞鹤")["items"] == []
    assert len(store_products(store=store("jianghan-lu"), q="飞鹤")["items"]) == 1
    assert StorePrice.objects.filter(store__merchant=fresh).count() == len(data.FRESH.store_prices)
    assert StoreListing.objects.filter(store__merchant=fresh, is_listed=False).count() == len(
        data.FRESH.delistings
    )


def test_opening_stock_is_on_the_shelves_and_the_ledger_balances(fresh):
    jianghan = store("jianghan-lu")
    levels = StockLevel.objects.filter(store=jianghan)

    assert stock_check() == []
    assert levels.count() > 0.9 * fresh.skus.count()
    assert levels.filter(on_hand__lte=3).exists()
    formula = Product.objects.get(merchant=fresh, name="飞鹤星飞帆婴幼儿配方奶粉")
    assert not StockLevel.objects.filter(store=store("hankou-station"), sku__product=formula).exists()
    assert StockLevel.objects.filter(store=jianghan, sku__product=formula).exists()


# --- the second merchant ------------------------------------------------------------------------------


def test_the_bakery_is_a_separate_merchant(fresh, bakery):
    bakery_products = set(Product.objects.filter(merchant=bakery).values_list("name", flat=True))
    fresh_products = set(Product.objects.filter(merchant=fresh).values_list("name", flat=True))

    assert bakery_products and not bakery_products & fresh_products
    assert not Product.objects.filter(merchant=bakery).exclude(category__merchant=bakery).exists()
    assert not Sku.objects.filter(merchant=bakery).exclude(product__merchant=bakery).exists()
    assert not StockLevel.objects.filter(store__merchant=bakery).exclude(sku__merchant=bakery).exists()
    shelf = store_products(store=store("cl-hanjie"), limit=100)["items"]
    assert {item["name"] for item in shelf} == bakery_products
    shelf = store_products(store=store("jianghan-lu"), q="吐司", limit=100)["items"]
    assert not {item["name"] for item in shelf} & bakery_products


def test_each_hq_login_sees_only_its_own_catalog(fresh, bakery):
    bakery_hq = Actor.for_staff(Staff.objects.get(username="bakery-hq"))
    fresh_hq = Actor.for_staff(Staff.objects.get(username="hq"))

    bakery_seen = {item["name"] for item in products_for_actor(actor=bakery_hq, limit=100)["items"]}
    fresh_seen = {item["name"] for item in products_for_actor(actor=fresh_hq, q="吐司", limit=100)["items"]}

    assert bakery_seen == set(Product.objects.filter(merchant=bakery).values_list("name", flat=True))
    assert not fresh_seen & bakery_seen


# --- people -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", data.STAFF, ids=lambda seed: seed.username)
def test_every_demo_login_signs_in(demo, api, seed):
    staff = Staff.objects.select_related("store", "merchant").get(username=seed.username)

    response = api.post(
        "/api/staff/v1/auth/login", {"username": seed.username, "password": data.DEMO_PASSWORD}
    )

    assert response.status_code == 200, response.content
    assert response.json()["staff"]["role"] == seed.role
    assert staff.check_password(data.DEMO_PASSWORD)
    assert (staff.merchant.code if staff.merchant else None) == seed.merchant_code
    assert (staff.store.code if staff.store else None) == seed.store_code


def test_every_role_has_a_demo_login(demo):
    assert set(
        Staff.objects.filter(username__in=[s.username for s in data.STAFF]).values_list("role", flat=True)
    ) == set(Role.ALL)


def test_a_changed_demo_password_is_put_back(demo):
    clerk = Staff.objects.get(username="clerk-jh")
    clerk.set_password("someone-changed-it-7")
    clerk.save()

    report = DemoSeeder(draw_images=False).run()

    clerk.refresh_from_db()
    assert clerk.check_password(data.DEMO_PASSWORD)
    assert report.updated == {"staff login restored": 1}


@pytest.mark.parametrize("phone", data.DEMO_CUSTOMER_PHONES)
def test_demo_customers_sign_in_through_the_sandbox_sms_outbox(demo, api, phone, fresh):
    customer = Customer.objects.get(phone_hash=blind_index(phone))
    assert customer.phone == phone and customer.nickname
    assert Membership.objects.filter(customer=customer, merchant=fresh).exists()

    assert api.post("/api/v1/auth/sms-code", {"phone": phone}).status_code == 204
    code = api.get("/api/v1/dev/sms-outbox", {"phone": phone}).json()["items"][0]["code"]
    response = api.post("/api/v1/auth/login", {"phone": phone, "code": code})

    assert response.status_code == 200, response.content
    assert response.json()["member"]["phone_masked"] == f"{phone[:3]}****{phone[-4:]}"


# --- what the consoles and the storefront show on first start ----------------------------------------


def test_every_product_has_a_cover_picture_on_the_store_list(demo):
    from mendian.catalog import selectors

    assert not Product.objects.filter(
        merchant__code__in=["wuhan-fresh", "chulu-bakery"], cover_image=""
    ).exists()
    items = selectors.store_products(store=store("jianghan-lu"), limit=100)["items"]
    assert items and all(item["image"] and item["thumbnail"] for item in items)


def test_every_listed_sku_has_a_stock_level_in_every_store_some_low_some_sold_out(fresh):
    delisted = {(d.store_code, d.product_name) for d in data.FRESH.delistings}
    levels = set(StockLevel.objects.filter(store__merchant=fresh).values_list("store__code", "sku__sku_code"))
    expected = {
        (store_seed.code, sku_code)
        for store_seed in data.FRESH.stores
        for sku_code, product_name in Sku.objects.filter(merchant=fresh).values_list(
            "sku_code", "product__name"
        )
        if (store_seed.code, product_name) not in delisted
    }
    assert expected <= levels
    on_hand = StockLevel.objects.filter(store__merchant=fresh).values_list("on_hand", flat=True)
    assert 0 in on_hand and any(0 < value <= 3 for value in on_hand)
    sold_out = StockLevel.objects.filter(store=store("jianghan-lu"), on_hand=0).first()
    assert sold_out is not None
    assert [
        m.type for m in StockMovement.objects.filter(store=sold_out.store, sku=sold_out.sku).order_by("pk")
    ] == ["receive", "sale"]


def test_some_levels_carry_their_own_low_stock_threshold_and_alert(fresh):
    from mendian.inventory.models import StockAlert

    custom = StockLevel.objects.filter(store__merchant=fresh, low_stock_threshold__isnull=False)
    assert custom.count() >= 5
    assert StockAlert.objects.filter(store__merchant=fresh, resolved_at__isnull=True).exists()


def test_the_flagship_has_orders_in_every_state_the_consoles_show(fresh):
    from mendian.orders.models import Order

    orders = Order.objects.filter(store=store("jianghan-lu"), note__startswith="演示订单")
    assert sorted(orders.values_list("fulfilment_type", "status")) == sorted(
        [
            ("pickup", "paid"),
            ("pickup", "ready_for_pickup"),
            ("pickup", "completed"),
            ("delivery", "out_for_delivery"),
        ]
    )
    assert all(order.paid_amount == order.total > 0 for order in orders)
    assert stock_check() == []
