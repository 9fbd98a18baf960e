"""The address book under 我的: list, add, edit, delete, choose the default; and the edit link at
checkout. Other customers' addresses are not found, and bad input changes nothing."""

# ruff: noqa: F811 (the fixtures imported below are used as test arguments)
import pytest
from django.test import Client

from mendian.checkout.models import Address
from tests.factories import CustomerFactory
from tests.web.storefront.conftest import text_of

# The checkout tests' shop and signed-in member fixtures, shared rather than copied.
from tests.web.storefront.test_buying import NEAR, add, member, save_address, shop, signed_in  # noqa: F401

pytestmark = pytest.mark.django_db

OTHER_POINT = {"lat": "30.5900", "lng": "114.2950"}


def test_the_address_book_lists_the_addresses_default_first_with_masked_phones(member):
    save_address(member)
    second = save_address(
        member, OTHER_POINT, contact_name="韩梅梅", phone="13900005678", address="中山大道8号"
    )

    html = text_of(member.get("/me/addresses/"))

    assert html.index("李雷") < html.index("韩梅梅")  # the first saved one is the default
    assert "137****1234" in html and "13700001234" not in html
    assert f'href="/me/addresses/{second.pk}/?from=book"' in html
    assert html.count("data-default") == 1


def test_me_links_to_the_address_book_when_signed_in(member):
    assert 'href="/me/addresses/"' in text_of(member.get("/me/"))
    assert 'href="/me/addresses/"' not in text_of(Client().get("/me/"))


def test_signed_out_visitors_are_sent_to_sign_in_first():
    response = Client().get("/me/addresses/")
    assert response.status_code == 302
    assert response["Location"] == "/me/?next=%2Fme%2Faddresses%2F"


def test_adding_from_the_book_returns_to_the_book(member):
    response = member.post(
        "/checkout/address/?from=book",
        {"from": "book", "contact_name": "李雷", "phone": "13700001234", "address": "江汉路1号", **NEAR},
    )
    assert response.status_code == 302 and response["Location"] == "/me/addresses/"
    assert Address.objects.filter(customer=member.customer).count() == 1


def test_editing_an_address_prefills_it_and_saves_the_changes_encrypted(member):
    address = save_address(member)

    form_html = text_of(member.get(f"/me/addresses/{address.pk}/?from=book"))
    assert 'value="13700001234"' in form_html and "江汉路1号3栋" in form_html
    assert "编辑收货地址" in form_html

    response = member.post(
        f"/me/addresses/{address.pk}/",
        {
            "from": "book",
            "contact_name": "李雷",
            "phone": "13800009999",
            "address": "江汉路2号5栋",
            "district": "江汉区",
            "lat": f"{address.lat:.6f}",
            "lng": f"{address.lng:.6f}",
            "coord_type": "gcj02",
        },
    )

    assert response.status_code == 302 and response["Location"] == "/me/addresses/"
    address.refresh_from_db()
    assert address.phone == "13800009999" and address.address == "江汉路2号5栋"
    assert address.is_default  # keeping the default does not need the box ticked
    with __import__("django.db").db.connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM checkout_address WHERE id = %s", [address.pk])
        assert "13800009999" not in cursor.fetchone()[0]


def test_an_edit_from_checkout_returns_to_the_delivery_checkout(member, shop):
    address = save_address(member)
    add(member, shop.store, shop.milk, 1)
    html = text_of(member.get(f"/checkout/?type=delivery&address={address.pk}"))
    assert f'href="/me/addresses/{address.pk}/"' in html

    response = member.post(
        f"/me/addresses/{address.pk}/",
        {
            "contact_name": "李雷",
            "phone": "13700001234",
            "address": "江汉路3号",
            "lat": "30.5850",
            "lng": "114.29",
        },
    )
    assert response["Location"] == "/checkout/?type=delivery"


def test_a_bad_edit_explains_itself_and_changes_nothing(member):
    address = save_address(member)

    response = member.post(
        f"/me/addresses/{address.pk}/",
        {"contact_name": "", "phone": "1370", "address": "新地址", "lat": "", "lng": ""},
    )

    html = text_of(response)
    assert response.status_code == 400
    assert "请填写收货人" in html and "请输入正确的手机号" in html and "请点击“定位”获取收货位置" in html
    address.refresh_from_db()
    assert address.contact_name == "李雷" and address.address == "江汉路1号3栋"


def test_choosing_another_default_moves_the_default(member):
    first = save_address(member)
    second = save_address(member, OTHER_POINT, contact_name="韩梅梅")

    response = member.post(f"/me/addresses/{second.pk}/default/")

    assert response["Location"] == "/me/addresses/"
    first.refresh_from_db(), second.refresh_from_db()
    assert second.is_default and not first.is_default


def test_deleting_the_default_makes_another_one_the_default(member):
    first = save_address(member)
    second = save_address(member, OTHER_POINT, contact_name="韩梅梅")

    response = member.post(f"/me/addresses/{first.pk}/delete/")

    assert response["Location"] == "/me/addresses/"
    assert list(Address.objects.filter(customer=member.customer)) == [second]
    second.refresh_from_db()
    assert second.is_default


def test_delete_and_default_are_post_only(member):
    address = save_address(member)
    assert member.get(f"/me/addresses/{address.pk}/delete/").status_code == 405
    assert Address.objects.filter(pk=address.pk).exists()


def test_another_customers_address_is_not_found_and_untouched(member):
    address = save_address(member)
    stranger = signed_in(customer=CustomerFactory(nickname="路人"))

    assert stranger.get(f"/me/addresses/{address.pk}/").status_code == 404
    assert stranger.post(f"/me/addresses/{address.pk}/delete/").status_code == 404
    assert stranger.post(f"/me/addresses/{address.pk}/default/").status_code == 404
    assert (
        stranger.post(
            f"/me/addresses/{address.pk}/",
            {"contact_name": "坏人", "phone": "13700001111", "address": "x", **NEAR},
        ).status_code
        == 404
    )
    address.refresh_from_db()
    assert address.contact_name == "李雷"


def test_a_garbled_address_id_is_not_found(member):
    assert member.get("/me/addresses/abc/").status_code == 404
