import pytest

from mendian.catalog.models import Category
from tests.factories import CategoryFactory, ProductFactory

URL = "/api/hq/v1/categories"


def test_create_root_and_child(hq_api, merchant):
    response = hq_api.post(URL, {"name": " 饮料 ", "icon": "🥤", "position": 3})
    assert response.status_code == 201
    root = Category.objects.get()
    assert response.json() == {
        "id": str(root.pk),
        "name": "饮料",
        "icon": "🥤",
        "parent_id": None,
        "merchant_id": str(merchant.pk),
        "position": 3,
        "is_active": True,
        "product_count": 0,
    }
    child = hq_api.post(URL, {"name": "茶饮", "parent_id": str(root.pk)})
    assert child.status_code == 201
    assert child.json()["parent_id"] == str(root.pk)
    assert Category.objects.get(name="茶饮").parent_id == root.pk


def test_duplicate_name_under_the_same_parent_is_409(hq_api, merchant):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    CategoryFactory(merchant=merchant, name="茶", parent=drinks)
    for body in ({"name": "饮料"}, {"name": "茶", "parent_id": str(drinks.pk)}):
        response = hq_api.post(URL, body)
        assert response.status_code == 409
        assert response.json()["code"] == "category_name_taken"
    assert Category.objects.count() == 2
    assert hq_api.post(URL, {"name": "茶"}).status_code == 201  # same name, another parent


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "饮料", "merchant_id": "1"}, 422, "validation_error"),
        ({"name": "饮料", "id": "5"}, 422, "validation_error"),
        ({"name": 42}, 422, "validation_error"),
        ({"name": "   "}, 422, "validation_error"),
        ({"name": "长" * 51}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"name": "饮料", "position": -1}, 422, "validation_error"),
        ({"name": "饮料", "position": "1"}, 422, "validation_error"),
        ({"name": "饮料", "parent_id": "99999"}, 422, "unknown_category"),
        ({"name": "饮料", "parent_id": "abc"}, 422, "unknown_category"),
    ],
)
def test_bad_create_bodies(hq_api, merchant, body, status, code):
    response = hq_api.post(URL, body)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert Category.objects.count() == 0


def test_broken_json_is_400(hq_api, merchant):
    response = hq_api.post(URL, '{"name": "饮料"', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert Category.objects.count() == 0


def test_parent_of_another_merchant_is_unknown(hq_api, merchant, other_merchant):
    theirs = CategoryFactory(merchant=other_merchant, name="别家")
    response = hq_api.post(URL, {"name": "饮料", "parent_id": str(theirs.pk)})
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_category"
    assert not Category.objects.filter(merchant=merchant).exists()


def test_update_and_move(hq_api, merchant):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    tea = CategoryFactory(merchant=merchant, name="茶")
    response = hq_api.patch(f"{URL}/{tea.pk}", {"name": "茶饮", "parent_id": str(drinks.pk), "icon": "🍵"})
    assert response.status_code == 200
    assert response.json()["parent_id"] == str(drinks.pk)
    tea.refresh_from_db()
    assert (tea.name, tea.parent_id, tea.icon) == ("茶饮", drinks.pk, "🍵")
    response = hq_api.patch(f"{URL}/{tea.pk}", {"parent_id": None})
    assert response.status_code == 200
    tea.refresh_from_db()
    assert tea.parent_id is None and tea.name == "茶饮"


def test_no_cycles(hq_api, merchant):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    tea = CategoryFactory(merchant=merchant, name="茶", parent=drinks)
    green = CategoryFactory(merchant=merchant, name="绿茶", parent=tea)
    for parent in (green, tea, drinks):
        response = hq_api.patch(f"{URL}/{drinks.pk}", {"parent_id": str(parent.pk)})
        assert response.status_code == 422
        assert response.json()["code"] == "category_cycle"
    drinks.refresh_from_db()
    assert drinks.parent_id is None


def test_rename_onto_a_sibling_is_409(hq_api, merchant):
    CategoryFactory(merchant=merchant, name="饮料")
    snacks = CategoryFactory(merchant=merchant, name="零食")
    response = hq_api.patch(f"{URL}/{snacks.pk}", {"name": "饮料"})
    assert response.status_code == 409
    snacks.refresh_from_db()
    assert snacks.name == "零食"


def test_delete(hq_api, merchant):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    tea = CategoryFactory(merchant=merchant, name="茶", parent=drinks)
    ProductFactory(merchant=merchant, category=tea)
    for category in (drinks, tea):
        response = hq_api.delete(f"{URL}/{category.pk}")
        assert response.status_code == 409
        assert response.json()["code"] == "category_not_empty"
    assert Category.objects.count() == 2
    empty = CategoryFactory(merchant=merchant, name="空")
    assert hq_api.delete(f"{URL}/{empty.pk}").status_code == 204
    assert not Category.objects.filter(pk=empty.pk).exists()


def test_hq_tree_has_counts_and_inactive_in_one_query(
    hq_api, merchant, other_merchant, django_assert_num_queries
):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    tea = CategoryFactory(merchant=merchant, name="茶", parent=drinks, is_active=False)
    ProductFactory.create_batch(2, merchant=merchant, category=tea)
    CategoryFactory(merchant=other_merchant, name="别家")
    with django_assert_num_queries(2):  # the token with its staff member, then the categories
        response = hq_api.get(URL)
    assert response.status_code == 200
    (root,) = response.json()["items"]
    assert (root["name"], root["product_count"]) == ("饮料", 0)
    (child,) = root["children"]
    assert (child["name"], child["product_count"], child["is_active"]) == ("茶", 2, False)


def test_another_merchants_category_is_404_and_unchanged(hq_api, merchant, other_merchant):
    theirs = CategoryFactory(merchant=other_merchant, name="别家")
    assert hq_api.get(f"{URL}/{theirs.pk}").status_code == 404
    assert hq_api.patch(f"{URL}/{theirs.pk}", {"name": "抢走"}).status_code == 404
    assert hq_api.delete(f"{URL}/{theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "别家"
    assert hq_api.get(f"{URL}/abc").status_code == 404


def test_store_staff_cannot_use_the_hq_api(clerk_api, manager_api, api, merchant):
    for client in (clerk_api, manager_api):
        response = client.post(URL, {"name": "饮料"})
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert client.get(URL).status_code == 403
    assert api.post(URL, {"name": "饮料"}).status_code == 401
    assert Category.objects.count() == 0


def test_platform_admin_names_the_merchant(platform_api, merchant, other_merchant):
    response = platform_api.post(URL, {"name": "饮料"})
    assert response.status_code == 422
    response = platform_api.post(f"{URL}?merchant_id={other_merchant.pk}", {"name": "饮料"})
    assert response.status_code == 201
    assert Category.objects.get().merchant_id == other_merchant.pk
    assert platform_api.post(f"{URL}?merchant_id=999999", {"name": "饮料"}).status_code == 404
