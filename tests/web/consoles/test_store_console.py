"""The store console: today's state, pause/resume, hours and special days (managers), the catalog."""

import datetime as dt

from mendian.catalog.models import StoreListing
from mendian.catalog.selectors import store_products
from mendian.catalog.services import store_price_set
from mendian.core.scope import Actor
from mendian.stores.hours import store_local_today
from mendian.stores.models import OpeningHours, SpecialDay, StoreStatus
from tests.factories import StoreFactory
from tests.web.consoles.conftest import signed_in, week

T = dt.time


def test_dashboard_shows_todays_hours_and_state(clerk_client, store):
    response = clerk_client.get("/store/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "营业中" in body and "全天营业" in body
    assert "本周营业时间" in body


def test_dashboard_of_a_store_closed_today(merchant, db):
    store = StoreFactory(merchant=merchant, code="late", hours=[])
    from tests.factories import StaffFactory

    client = signed_in(StaffFactory(username="late_clerk", store=store))
    body = client.get("/store/").content.decode()

    assert "休息中" in body and "今日休息" in body


def test_manager_pauses_and_resumes(manager_client, store):
    page = manager_client.get("/store/profile/").content.decode()
    assert "data-confirm" in page and "暂停营业" in page

    manager_client.post("/store/profile/status/", {"status": "paused"})
    store.refresh_from_db()
    assert store.status == StoreStatus.PAUSED
    assert "恢复营业" in manager_client.get("/store/profile/").content.decode()

    manager_client.post("/store/profile/status/", {"status": "open"})
    store.refresh_from_db()
    assert store.status == StoreStatus.OPEN


def test_manager_cannot_close_for_good(manager_client, store):
    manager_client.post("/store/profile/status/", {"status": "closed"})

    store.refresh_from_db()
    assert store.status == StoreStatus.OPEN


def test_clerk_sees_the_profile_read_only_and_cannot_pause(clerk_client, store):
    page = clerk_client.get("/store/profile/").content.decode()
    assert "只有店长可以暂停或恢复营业" in page
    assert 'name="h0-mode"' not in page

    response = clerk_client.post("/store/profile/status/", {"status": "paused"}, follow=True)

    assert "你的角色无权执行此操作" in response.content.decode()
    store.refresh_from_db()
    assert store.status == StoreStatus.OPEN


def test_manager_edits_the_hours(manager_client, store):
    data = week("22:00", "03:00")
    data["h6-mode"] = "closed"

    response = manager_client.post("/store/profile/hours/", data)

    assert response.status_code == 302
    assert list(OpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes")) == [
        (d, T(22), T(3)) for d in range(6)
    ]


def test_overlapping_hours_are_refused_for_managers_too(manager_client, store):
    before = list(OpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes"))
    data = week()
    data.update({"h3-open": ["09:00", "10:00"], "h3-close": ["18:00", "12:00"]})

    response = manager_client.post("/store/profile/hours/", data)

    assert response.status_code == 200
    assert "时段之间有重叠" in response.content.decode()
    assert list(OpeningHours.objects.filter(store=store).values_list("weekday", "opens", "closes")) == before


def test_clerk_cannot_edit_hours(clerk_client, store):
    before = OpeningHours.objects.filter(store=store).count()

    response = clerk_client.post("/store/profile/hours/", week())

    assert response.status_code == 403
    assert OpeningHours.objects.filter(store=store).count() == before


def test_manager_sets_a_holiday(manager_client, store):
    day = store_local_today(store) + dt.timedelta(days=3)

    manager_client.post(
        "/store/profile/special-days/", {"date": day.isoformat(), "kind": "closed", "note": "停电"}
    )

    assert SpecialDay.objects.get(store=store, date=day).note == "停电"
    assert "停电" in manager_client.get("/store/").content.decode()
    manager_client.post("/store/profile/special-days/delete/", {"date": day.isoformat()})
    assert not SpecialDay.objects.filter(store=store).exists()


def test_products_show_the_store_price_and_listing(clerk_client, store, catalog):
    water_sku = catalog["water"].variants.get()
    store_price_set(actor=Actor.system(store.merchant_id), store=store, sku=water_sku, price={"amount": 150})

    body = clerk_client.get("/store/products/").content.decode()

    assert "矿泉水" in body and "¥1.50" in body and "¥2.00" in body and "门店价" in body
    assert "下架" not in body  # clerks cannot change listings
    assert "薯片" not in clerk_client.get("/store/products/", {"q": "矿泉水"}).content.decode()


def test_manager_delists_and_relists_at_the_store(manager_client, store, other_store, catalog):
    chips = catalog["chips"]
    assert "下架" in manager_client.get("/store/products/").content.decode()

    manager_client.post(f"/store/products/{chips.pk}/listing/", {"listed": "0"})

    assert [item["name"] for item in store_products(store=store)["items"]] == ["矿泉水"]
    assert {item["name"] for item in store_products(store=other_store)["items"]} == {"矿泉水", "薯片"}
    assert "已下架" in manager_client.get("/store/products/").content.decode()

    manager_client.post(f"/store/products/{chips.pk}/listing/", {"listed": "1"})
    assert {item["name"] for item in store_products(store=store)["items"]} == {"矿泉水", "薯片"}


def test_clerk_cannot_delist(clerk_client, store, catalog):
    response = clerk_client.post(
        f"/store/products/{catalog['chips'].pk}/listing/", {"listed": "0"}, follow=True
    )

    assert "你的角色无权执行此操作" in response.content.decode()
    assert not StoreListing.objects.exists()


def test_another_merchants_product_cannot_be_delisted(manager_client, rival):
    manager_client.post(f"/store/products/{rival['product'].pk}/listing/", {"listed": "0"})

    assert not StoreListing.objects.exists()


def test_hq_role_manages_a_chosen_store(hq, other_store, catalog):
    hq.post(f"/store/profile/status/?store={other_store.pk}", {"status": "paused"})
    other_store.refresh_from_db()
    assert other_store.status == StoreStatus.PAUSED

    response = hq.post(
        f"/store/products/{catalog['chips'].pk}/listing/?store={other_store.pk}", {"listed": "0"}
    )
    assert response["Location"] == f"/store/products/?store={other_store.pk}"
    assert StoreListing.objects.get(store=other_store).is_listed is False
