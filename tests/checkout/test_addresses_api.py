"""/api/v1/me/addresses: saved delivery addresses, encrypted at rest, masked in replies, private."""

import pytest
from django.db import connection

from mendian.checkout.models import Address
from mendian.core.geo import wgs84_to_gcj02

URL = "/api/v1/me/addresses"
BODY = {
    "contact_name": "韩梅梅",
    "phone": "+86 137-0000-1234",
    "address": "武汉市江汉区江汉路1号3栋501",
    "district": "江汉区",
    "lat": 30.585,
    "lng": 114.29,
}


def test_create_list_read_update_delete(member):
    created = member.post(URL, BODY)
    assert created.status_code == 201
    address = created.json()
    assert {
        key: address[key] for key in ("contact_name", "phone_masked", "address", "district", "lat", "lng")
    } == {
        "contact_name": "韩梅梅",
        "phone_masked": "137****1234",
        "address": "武汉市江汉区江汉路1号3栋501",
        "district": "江汉区",
        "lat": 30.585,
        "lng": 114.29,
    }
    assert address["is_default"] is True  # the first one

    second = member.post(URL, {**BODY, "address": "公司", "is_default": True}).json()
    listed = member.get(URL).json()["items"]
    assert [(a["id"], a["is_default"]) for a in listed] == [(second["id"], True), (address["id"], False)]

    patched = member.patch(f"{URL}/{address['id']}", {"phone": "13811112222", "district": "武昌区"})
    assert patched.status_code == 200
    assert (patched.json()["phone_masked"], patched.json()["district"]) == ("138****2222", "武昌区")
    assert member.get(f"{URL}/{address['id']}").json()["address"] == BODY["address"]

    assert member.delete(f"{URL}/{second['id']}").status_code == 204
    remaining = member.get(URL).json()["items"]
    assert [(a["id"], a["is_default"]) for a in remaining] == [(address["id"], True)]


def test_personal_data_is_encrypted_at_rest(member):
    member.post(URL, BODY)

    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_name, phone, address FROM checkout_address")
        row = cursor.fetchone()
    assert all(value and "137" not in value and "韩" not in value and "江汉路" not in value for value in row)
    assert Address.objects.get().phone == "13700001234"


def test_wgs84_points_are_converted(member):
    reply = member.post(URL, {**BODY, "lat": 30.58, "lng": 114.28, "coord_type": "wgs84"}).json()
    assert (reply["lat"], reply["lng"]) == pytest.approx(wgs84_to_gcj02(30.58, 114.28))


@pytest.mark.parametrize(
    "change",
    [
        {"phone": "12345"},
        {"lat": 91},
        {"lng": "114"},
        {"contact_name": ""},
        {"address": "x" * 201},
        {"coord_type": "bd09"},
        {"customer_id": 1},
    ],
)
def test_bad_addresses_are_422_and_not_saved(member, change):
    response = member.post(URL, {**BODY, **change})
    assert response.status_code == 422
    assert Address.objects.count() == 0


def test_a_patch_with_half_a_point_is_422(member):
    address_id = member.post(URL, BODY).json()["id"]
    response = member.patch(f"{URL}/{address_id}", {"lat": 30.1})
    assert response.status_code == 422
    assert Address.objects.get().lat == 30.585


def test_other_members_addresses_are_not_found(member, other_member):
    address_id = member.post(URL, BODY).json()["id"]

    assert other_member.get(f"{URL}/{address_id}").status_code == 404
    assert other_member.patch(f"{URL}/{address_id}", {"district": "x"}).status_code == 404
    assert other_member.delete(f"{URL}/{address_id}").status_code == 404
    assert other_member.get(URL).json()["items"] == []
    assert Address.objects.get().district == "江汉区"


def test_at_most_20_addresses(member):
    for _ in range(20):
        assert member.post(URL, BODY).status_code == 201
    response = member.post(URL, BODY)
    assert (response.status_code, response.json()["code"]) == (409, "address_limit_reached")
    assert Address.objects.count() == 20


def test_addresses_need_a_member(api):
    assert api.get(URL).status_code == 401
    assert api.post(URL, BODY).status_code == 401
