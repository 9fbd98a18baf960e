"""Who may open which console page: a generated sweep over every `hq:` and `store:` URL, and
URL tampering with another merchant's (or another store's) ids."""

import pytest
from django.urls import reverse

from mendian.web.hq_console import urls as hq_urls
from mendian.web.store_console import urls as store_urls
from tests.web.consoles.conftest import signed_in

PUBLIC = {"login", "logout"}


def _pattern_names(module, exclude=()):
    return sorted(p.name for p in module.urlpatterns if p.name and p.name not in exclude)


def _url(namespace: str, name: str) -> str:
    """Every route, with a plausible id for each of its parameters."""
    pattern = next(p for p in (hq_urls if namespace == "hq" else store_urls).urlpatterns if p.name == name)
    kwargs = {key: "1" for key in pattern.pattern.converters}
    return reverse(f"{namespace}:{name}", kwargs=kwargs)


HQ_NAMES = _pattern_names(hq_urls, exclude=PUBLIC)
STORE_NAMES = _pattern_names(store_urls, exclude=PUBLIC)


def test_the_sweep_covers_the_pages():
    assert {"dashboard", "stores", "store_edit", "products", "listings", "staff", "merchants"} <= set(
        HQ_NAMES
    )
    assert {"dashboard", "profile", "products"} <= set(STORE_NAMES)


@pytest.mark.parametrize("name", HQ_NAMES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_the_hq_login(client, db, name, method):
    url = _url("hq", name)

    response = getattr(client, method)(url)

    assert response.status_code == 302, url
    assert response["Location"].startswith("/hq/login/?next="), url


@pytest.mark.parametrize("name", HQ_NAMES)
@pytest.mark.parametrize("role", ["clerk", "manager"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_store_staff_get_403_on_every_hq_page(request, store, catalog, name, role, method):
    client = signed_in(request.getfixturevalue(role))
    url = _url("hq", name)

    response = getattr(client, method)(url, {"name": "x", "code": "x1"} if method == "post" else None)

    assert response.status_code == 403, url
    body = response.content.decode()
    assert "无权访问总部控制台" in body
    # Nothing of HQ's: no store list, no product names, no navigation.
    assert "矿泉水" not in body and "门店管理" not in body


@pytest.mark.parametrize("name", STORE_NAMES)
def test_anonymous_is_sent_to_the_store_login(client, db, name):
    response = client.get(_url("store", name))

    assert response.status_code == 302
    assert response["Location"].startswith("/store/login/?next=")


@pytest.mark.parametrize("name", ["dashboard", "profile", "products"])
@pytest.mark.parametrize("role", ["clerk", "manager"])
def test_store_pages_render_for_store_staff(request, store, catalog, name, role):
    client = signed_in(request.getfixturevalue(role))

    response = client.get(reverse(f"store:{name}"))

    assert response.status_code == 200
    assert store.name in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/hq/",
        "/hq/profile/",
        "/hq/stores/",
        "/hq/stores/new/",
        "/hq/categories/",
        "/hq/products/",
        "/hq/products/new/",
        "/hq/listings/",
        "/hq/staff/",
        "/hq/staff/new/",
    ],
)
def test_hq_pages_render_for_merchant_admins(hq, store, catalog, path):
    response = hq.get(path)

    assert response.status_code == 200, path
    assert "总部控制台" in response.content.decode()


def test_hq_pages_with_ids_render(hq, hq_admin, store, catalog, clerk):
    for path in (
        f"/hq/stores/{store.pk}/",
        f"/hq/products/{catalog['water'].pk}/",
        f"/hq/listings/?store={store.pk}",
        f"/hq/staff/{clerk.pk}/",
        f"/hq/categories/?edit={catalog['tea'].pk}",
    ):
        assert hq.get(path).status_code == 200, path


def test_merchants_page_is_for_platform_admins_only(hq, platform, merchant):
    assert hq.get("/hq/merchants/").status_code == 403
    response = platform.get("/hq/merchants/")
    assert response.status_code == 200
    assert merchant.name in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/hq/stores/{store}/",
        "/hq/products/{product}/",
        "/hq/listings/?store={store}",
        "/hq/staff/{staff}/",
        "/hq/categories/{category}/",
        "/hq/categories/{category}/delete/",
        "/hq/stores/{store}/photos/",
        "/hq/stores/{store}/special-days/",
        "/hq/products/{product}/images/",
        "/store/?store={store}",
        "/store/profile/?store={store}",
        "/store/products/?store={store}",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_merchants_objects_are_not_found(hq, rival, path, method):
    url = path.format(
        store=rival["store"].pk,
        product=rival["product"].pk,
        staff=rival["staff"].pk,
        category=rival["category"].pk,
    )

    response = getattr(hq, method)(url)

    assert response.status_code == 404, url
    body = response.content.decode()
    assert "对手" not in body


def test_tampered_posts_change_nothing(hq, rival):
    from mendian.catalog.models import Category
    from mendian.stores.models import Store

    hq.post(f"/hq/stores/{rival['store'].pk}/", {"name": "改名", "code": "r001"})
    hq.post(f"/hq/categories/{rival['category'].pk}/delete/")
    hq.post(f"/hq/categories/{rival['category'].pk}/", {"edit-name": "改名", "edit-position": "0"})

    assert Store.objects.get(pk=rival["store"].pk).name == "对手一店"
    assert Category.objects.get(pk=rival["category"].pk).name == "对手分类"


def test_garbage_ids_are_not_found(hq, db):
    for path in ("/hq/stores/abc/", "/hq/products/99999999999999999999999/", "/hq/staff/-1/"):
        assert hq.get(path).status_code == 404, path


def test_store_staff_cannot_reach_another_store(clerk_client, store, other_store):
    # A store role's store is its own; ?store= does not move it elsewhere.
    response = clerk_client.get(f"/store/?store={other_store.pk}")

    body = response.content.decode()
    assert response.status_code == 200
    assert store.name in body and other_store.name not in body


def test_hq_role_opens_the_store_console_for_a_store_of_its_merchant(hq, store, other_store):
    response = hq.get(f"/store/?store={other_store.pk}")

    assert response.status_code == 200
    body = response.content.decode()
    assert other_store.name in body
    # Links inside keep the choice.
    assert f"/store/profile/?store={other_store.pk}" in body
