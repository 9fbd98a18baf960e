import base64
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.test.client import MULTIPART_CONTENT
from PIL import Image

from mendian.catalog import services
from mendian.catalog.images import image_from_pil
from mendian.catalog.models import Product, ProductImage, Sku
from mendian.core.scope import Actor, Role
from tests.catalog.helpers import money
from tests.factories import CategoryFactory

URL = "/api/hq/v1/products"


def _body(category, **overrides):
    body = {
        "name": "T恤",
        "category_id": str(category.pk),
        "variants": [
            {
                "sku_code": "TS-R-M",
                "barcode": "4006381333931",
                "specs": {"颜色": "红", "尺码": "M"},
                "price": money(5900),
            },
            {"sku_code": "TS-B-M", "specs": {"颜色": "蓝", "尺码": "M"}, "price": money(4900)},
        ],
    }
    body.update(overrides)
    return body


def _png(size=(900, 600), color="blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _named(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def _upload(client, product, data: bytes, name="photo.png"):
    return client.post(
        f"{URL}/{product.pk}/images", {"file": _named(data, name)}, content_type=MULTIPART_CONTENT
    )


def _nothing_written():
    return not Product.objects.exists() and not Sku.objects.exists() and not ProductImage.objects.exists()


# --- create ----------------------------------------------------------------------------------
def test_create_product_reply_carries_sku_ids_and_codes(hq_api, merchant, dairy):
    response = hq_api.post(
        URL,
        _body(
            dairy,
            subtitle="纯棉",
            description="舒适",
            brand="优品",
            tags=["新品", "新品", "夏季"],
            position=4,
        ),
    )
    assert response.status_code == 201, response.content
    product = Product.objects.get()
    red, blue = Sku.objects.order_by("position")
    body = response.json()
    assert body["created_at"] and body["updated_at"]
    del body["created_at"], body["updated_at"]
    assert body == {
        "id": str(product.pk),
        "merchant_id": str(merchant.pk),
        "name": "T恤",
        "subtitle": "纯棉",
        "description": "舒适",
        "brand": "优品",
        "tags": ["新品", "夏季"],
        "category_id": str(dairy.pk),
        "category": {"id": str(dairy.pk), "name": "乳品"},
        "is_active": True,
        "position": 4,
        "sales_count": 0,
        "min_price": money(4900),
        "images": [],
        "variants": [
            {
                "sku_id": str(red.pk),
                "sku_code": "TS-R-M",
                "barcode": "4006381333931",
                "specs": {"颜色": "红", "尺码": "M"},
                "price": money(5900),
                "is_active": True,
                "position": 0,
            },
            {
                "sku_id": str(blue.pk),
                "sku_code": "TS-B-M",
                "barcode": None,
                "specs": {"颜色": "蓝", "尺码": "M"},
                "price": money(4900),
                "is_active": True,
                "position": 1,
            },
        ],
    }
    assert product.min_price == 4900
    assert product.tag_index == "|新品|夏季|"
    assert "t恤" in product.search_document and "ts-r-m" in product.search_document
    assert red.merchant_id == merchant.pk


def test_create_with_inline_images(hq_api, dairy):
    data_url = "data:image/png;base64," + base64.b64encode(_png()).decode()
    response = hq_api.post(URL, _body(dairy, images=[data_url, base64.b64encode(_png(color="red")).decode()]))
    assert response.status_code == 201
    images = response.json()["images"]
    assert [(image["width"], image["height"], image["position"]) for image in images] == [
        (900, 600, 0),
        (900, 600, 1),
    ]
    for image in ProductImage.objects.all():
        assert default_storage.exists(image.image.name) and default_storage.exists(image.thumbnail.name)


@pytest.mark.parametrize("image", ["not base64!", base64.b64encode(b"plain text").decode(), 12])
def test_create_with_a_bad_inline_image_writes_nothing(hq_api, dairy, image):
    response = hq_api.post(URL, _body(dairy, images=[image]))
    assert response.status_code == 422
    assert response.json()["code"] in ("invalid_image", "validation_error")
    assert _nothing_written()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"variants": []}, "variants_required"),
        ({"variants": None}, "validation_error"),
        ({"merchant_id": "2"}, "validation_error"),
        ({"id": "77"}, "validation_error"),
        ({"sales_count": 999}, "validation_error"),
        ({"name": ""}, "validation_error"),
        ({"name": ["T恤"]}, "validation_error"),
        ({"tags": "新品"}, "validation_error"),
        ({"tags": ["a|b"]}, "validation_error"),
        ({"is_active": "yes"}, "validation_error"),
        ({"category_id": "abc"}, "unknown_category"),
        ({"category_id": "999999"}, "unknown_category"),
    ],
)
def test_bad_product_bodies_are_422_and_write_nothing(hq_api, dairy, change, code):
    body = _body(dairy)
    body.update(change)
    if change == {"variants": None}:
        del body["variants"]
    response = hq_api.post(URL, body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert _nothing_written()


@pytest.mark.parametrize(
    ("variant_change", "code"),
    [
        ({"price": {"amount": -1, "currency": "CNY"}}, "validation_error"),
        ({"price": {"amount": 12.9, "currency": "CNY"}}, "validation_error"),
        ({"price": {"amount": "1290", "currency": "CNY"}}, "validation_error"),
        ({"price": {"amount": 1290, "currency": "USD"}}, "currency_mismatch"),
        ({"price": {"amount": 3_000_000_000, "currency": "CNY"}}, "validation_error"),
        ({"price": {"amount": 1290, "currency": "CNY", "tax": 1}}, "validation_error"),
        ({"price": None}, "validation_error"),
        ({"barcode": "4006381333932"}, "invalid_barcode"),
        ({"barcode": "12345"}, "invalid_barcode"),
        ({"sku_code": ""}, "validation_error"),
        ({"sku_code": "红色-M"}, "validation_error"),
        ({"specs": {"颜色": 1}}, "validation_error"),
        ({"specs": {"颜色": "蓝", "尺码": "M"}}, "duplicate_specs"),
        ({"stock": 5}, "validation_error"),
    ],
)
def test_bad_variants_are_422_and_write_nothing(hq_api, dairy, variant_change, code):
    body = _body(dairy)
    body["variants"][0].update(variant_change)
    response = hq_api.post(URL, body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert _nothing_written()


def test_duplicate_codes_in_the_request_are_409(hq_api, dairy):
    body = _body(dairy)
    body["variants"][1]["sku_code"] = "TS-R-M"
    response = hq_api.post(URL, body)
    assert (response.status_code, response.json()["code"]) == (409, "sku_code_taken")
    body = _body(dairy)
    body["variants"][1]["barcode"] = "4006381333931"
    response = hq_api.post(URL, body)
    assert (response.status_code, response.json()["code"]) == (409, "barcode_taken")
    assert _nothing_written()


def test_codes_taken_within_the_merchant_are_409_but_free_at_another(
    hq_api, make_staff_api, merchant, other_merchant, dairy
):
    assert hq_api.post(URL, _body(dairy)).status_code == 201
    again = _body(dairy, name="另一件")
    again["variants"][0]["barcode"] = None
    response = hq_api.post(URL, again)
    assert (response.status_code, response.json()["code"]) == (409, "sku_code_taken")
    other_code = _body(dairy, name="另一件")
    other_code["variants"] = [{**other_code["variants"][0], "sku_code": "NEW-1"}]
    response = hq_api.post(URL, other_code)
    assert (response.status_code, response.json()["code"]) == (409, "barcode_taken")
    assert Product.objects.count() == 1

    rival_hq = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, username="rival_hq")
    their_category = CategoryFactory(merchant=other_merchant, name="服装")
    assert rival_hq.post(URL, _body(their_category)).status_code == 201


def test_category_of_another_merchant_is_refused(hq_api, other_merchant):
    theirs = CategoryFactory(merchant=other_merchant, name="别家")
    response = hq_api.post(URL, _body(theirs))
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_category"
    assert _nothing_written()


def test_broken_json_and_wrong_shapes(hq_api, dairy):
    response = hq_api.post(URL, '{"name": "T恤", "variants": [', content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")
    response = hq_api.post(URL, "[1, 2]", content_type="application/json")
    assert response.status_code == 422
    assert _nothing_written()


def test_clerk_and_manager_get_403(clerk_api, manager_api, dairy):
    for client in (clerk_api, manager_api):
        assert client.post(URL, _body(dairy)).status_code == 403
        assert client.get(URL).status_code == 403
    assert _nothing_written()


# --- update --------------------------------------------------------------------------------------
@pytest.fixture
def tshirt(hq_api, dairy):
    response = hq_api.post(URL, _body(dairy))
    assert response.status_code == 201
    return Product.objects.get()


def test_patch_changes_only_what_is_sent(hq_api, tshirt):
    response = hq_api.patch(f"{URL}/{tshirt.pk}", {"subtitle": "夏季新款", "tags": ["夏季"]})
    assert response.status_code == 200
    tshirt.refresh_from_db()
    assert (tshirt.name, tshirt.subtitle, tshirt.tags, tshirt.tag_index) == (
        "T恤",
        "夏季新款",
        ["夏季"],
        "|夏季|",
    )
    assert "夏季" in tshirt.search_document
    assert Sku.objects.filter(is_active=True).count() == 2


def test_patch_variants_upserts_by_sku_code_and_deactivates_the_rest(hq_api, tshirt):
    red = Sku.objects.get(sku_code="TS-R-M")
    blue = Sku.objects.get(sku_code="TS-B-M")
    response = hq_api.patch(
        f"{URL}/{tshirt.pk}",
        {
            "variants": [
                {
                    "sku_code": "TS-R-M",
                    "barcode": "4006381333931",
                    "specs": {"颜色": "红", "尺码": "M"},
                    "price": money(5500),
                },
                {"sku_code": "TS-G-M", "specs": {"颜色": "绿", "尺码": "M"}, "price": money(6200)},
            ]
        },
    )
    assert response.status_code == 200, response.content
    red.refresh_from_db()
    blue.refresh_from_db()
    green = Sku.objects.get(sku_code="TS-G-M")
    assert (red.price, red.is_active, red.pk) == (5500, True, red.pk)
    assert blue.is_active is False and blue.price == 4900
    assert (green.price, green.position, green.merchant_id) == (6200, 1, tshirt.merchant_id)
    tshirt.refresh_from_db()
    assert tshirt.min_price == 5500
    assert "ts-g-m" in tshirt.search_document and "ts-b-m" not in tshirt.search_document
    variants = {v["sku_code"]: v["is_active"] for v in response.json()["variants"]}
    assert variants == {"TS-R-M": True, "TS-G-M": True, "TS-B-M": False}

    # Naming a deactivated variant again brings it back.
    hq_api.patch(
        f"{URL}/{tshirt.pk}",
        {"variants": [{"sku_code": "TS-B-M", "specs": {"颜色": "蓝", "尺码": "M"}, "price": money(4500)}]},
    )
    blue.refresh_from_db()
    assert blue.is_active and blue.price == 4500
    assert Sku.objects.filter(is_active=True).count() == 1


def test_patch_with_a_code_of_another_product_is_409_and_unchanged(hq_api, tshirt, dairy):
    other = hq_api.post(
        URL,
        {
            "name": "袜子",
            "category_id": str(dairy.pk),
            "variants": [{"sku_code": "SOCK", "price": money(900)}],
        },
    )
    assert other.status_code == 201
    response = hq_api.patch(
        f"{URL}/{tshirt.pk}", {"name": "新名字", "variants": [{"sku_code": "SOCK", "price": money(100)}]}
    )
    assert (response.status_code, response.json()["code"]) == (409, "sku_code_taken")
    tshirt.refresh_from_db()
    assert tshirt.name == "T恤"
    assert Sku.objects.get(sku_code="SOCK").price == 900
    response = hq_api.patch(
        f"{URL}/{tshirt.pk}",
        {"variants": [{"sku_code": "TS-B-M", "barcode": "4006381333931", "price": money(100)}]},
    )
    assert (response.status_code, response.json()["code"]) == (409, "barcode_taken")


@pytest.mark.parametrize(
    "body",
    [
        {"variants": []},
        {"variants": None},
        {"merchant_id": "9"},
        {"sales_count": 5},
        {"name": None},
        {"category_id": "abc"},
        {"position": -3},
        {"is_active": None},
    ],
)
def test_bad_patches_are_422_and_unchanged(hq_api, tshirt, body):
    before = Product.objects.values().get(pk=tshirt.pk)
    response = hq_api.patch(f"{URL}/{tshirt.pk}", body)
    assert response.status_code == 422, response.content
    assert Product.objects.values().get(pk=tshirt.pk) == before
    assert Sku.objects.filter(is_active=True).count() == 2


def test_deactivated_product_leaves_the_storefront(hq_api, api, store, tshirt):
    assert len(api.get(f"/api/v1/stores/{store.pk}/products").json()["items"]) == 1
    assert hq_api.patch(f"{URL}/{tshirt.pk}", {"is_active": False}).status_code == 200
    assert api.get(f"/api/v1/stores/{store.pk}/products").json()["items"] == []


def test_another_merchants_product_is_404_and_unchanged(make_staff_api, other_merchant, tshirt):
    rival = make_staff_api(role=Role.MERCHANT_ADMIN, merchant=other_merchant, username="rival_hq")
    assert rival.get(f"{URL}/{tshirt.pk}").status_code == 404
    assert rival.patch(f"{URL}/{tshirt.pk}", {"name": "抢走"}).status_code == 404
    assert (
        rival.post(
            f"{URL}/{tshirt.pk}/images", {"file": _named(_png(), "a.png")}, content_type=MULTIPART_CONTENT
        ).status_code
        == 404
    )
    assert rival.get(URL).json()["items"] == []
    tshirt.refresh_from_db()
    assert tshirt.name == "T恤" and not ProductImage.objects.exists()


@pytest.mark.parametrize("product_id", ["abc", "0", "99999999", "1e3"])
def test_unknown_product_ids_are_404(hq_api, merchant, product_id):
    assert hq_api.get(f"{URL}/{product_id}").status_code == 404
    assert hq_api.patch(f"{URL}/{product_id}", {"name": "x"}).status_code == 404


# --- list ----------------------------------------------------------------------------------------
def test_list_filters(hq_api, merchant, make_product):
    drinks = CategoryFactory(merchant=merchant, name="饮料")
    tea = CategoryFactory(merchant=merchant, name="茶", parent=drinks)
    make_product(tea, "西湖龙井")
    make_product(drinks, "矿泉水")
    make_product(CategoryFactory(merchant=merchant, name="零食"), "薯片", is_active=False)

    def names(**params):
        response = hq_api.get(URL, params)
        assert response.status_code == 200, response.content
        return [item["name"] for item in response.json()["items"]]

    assert names() == ["薯片", "矿泉水", "西湖龙井"]
    assert names(category=drinks.pk) == ["矿泉水", "西湖龙井"]
    assert names(q="龙井") == ["西湖龙井"]
    assert names(status="inactive") == ["薯片"]
    assert names(status="active", q="茶") == ["西湖龙井"]
    assert hq_api.get(URL, {"status": "deleted"}).status_code == 422
    assert hq_api.get(URL, {"category": "abc"}).status_code == 422


@pytest.mark.parametrize("size", [5, 25])
def test_list_query_count_is_constant(hq_api, dairy, make_product, size, django_assert_num_queries):
    for index in range(size):
        make_product(dairy, f"商品{index}", prices=(100, 200))
    # token+staff, products with category and merchant, images, variants
    with django_assert_num_queries(4):
        response = hq_api.get(URL, {"limit": 100})
    assert len(response.json()["items"]) == size
    assert all(len(item["variants"]) == 2 for item in response.json()["items"])


def test_list_pages(hq_api, dairy, make_product):
    for index in range(5):
        make_product(dairy, f"商品{index}")
    first = hq_api.get(URL, {"limit": 3}).json()
    second = hq_api.get(URL, {"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [i["name"] for i in first["items"] + second["items"]] == [f"商品{i}" for i in range(4, -1, -1)]
    assert second["next_cursor"] is None


def test_platform_admin_sees_every_merchant(platform_api, merchant, other_merchant, make_product):
    make_product(CategoryFactory(merchant=merchant, name="a"), "甲")
    make_product(CategoryFactory(merchant=other_merchant, name="b"), "乙")
    assert [i["name"] for i in platform_api.get(URL).json()["items"]] == ["乙", "甲"]
    assert [i["name"] for i in platform_api.get(URL, {"merchant_id": merchant.pk}).json()["items"]] == ["甲"]


# --- photos --------------------------------------------------------------------------------------
def test_upload_photo(hq_api, tshirt):
    response = _upload(hq_api, tshirt, _png((2400, 1200)))
    assert response.status_code == 201, response.content
    image = ProductImage.objects.get()
    assert response.json() == {
        "id": str(image.pk),
        "url": f"/media/{image.image.name}",
        "thumbnail": f"/media/{image.thumbnail.name}",
        "width": 1600,
        "height": 800,
        "position": 0,
    }
    assert image.image.name.endswith(".webp") and default_storage.exists(image.thumbnail.name)
    second = _upload(hq_api, tshirt, _png())
    assert second.json()["position"] == 1


def test_text_file_named_png_is_refused(hq_api, tshirt):
    response = _upload(hq_api, tshirt, b"I am not a picture", name="photo.png")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_image")
    assert not ProductImage.objects.exists()


@override_settings(MAX_IMAGE_UPLOAD_BYTES=10_000)
def test_oversized_upload_is_413(hq_api, tshirt):
    big = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(big, format="PNG")
    response = _upload(hq_api, tshirt, big.getvalue())
    assert (response.status_code, response.json()["code"]) == (413, "image_too_large")
    assert not ProductImage.objects.exists()


def test_upload_without_a_file_is_422(hq_api, tshirt):
    response = hq_api.post(f"{URL}/{tshirt.pk}/images", {}, content_type=MULTIPART_CONTENT)
    assert response.status_code == 422
    assert not ProductImage.objects.exists()


def test_remove_and_reorder_photos(hq_api, tshirt, django_capture_on_commit_callbacks):
    first = _upload(hq_api, tshirt, _png(color="red")).json()
    second = _upload(hq_api, tshirt, _png(color="green")).json()
    third = _upload(hq_api, tshirt, _png(color="blue")).json()

    response = hq_api.put(
        f"{URL}/{tshirt.pk}/images", {"image_ids": [third["id"], first["id"], second["id"]]}
    )
    assert response.status_code == 200
    assert [image["id"] for image in response.json()["items"]] == [third["id"], first["id"], second["id"]]
    assert list(ProductImage.objects.order_by("position").values_list("pk", flat=True)) == [
        int(third["id"]),
        int(first["id"]),
        int(second["id"]),
    ]
    for bad in (
        [third["id"], first["id"]],
        [third["id"], first["id"], second["id"], "999"],
        [first["id"]] * 3,
    ):
        response = hq_api.put(f"{URL}/{tshirt.pk}/images", {"image_ids": bad})
        assert (response.status_code, response.json()["code"]) == (422, "invalid_image_order")

    tshirt.refresh_from_db()
    assert tshirt.cover_thumbnail == ProductImage.objects.get(pk=third["id"]).thumbnail.name

    removed = ProductImage.objects.get(pk=first["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert hq_api.delete(f"{URL}/{tshirt.pk}/images/{first['id']}").status_code == 204
    assert not ProductImage.objects.filter(pk=first["id"]).exists()
    assert not default_storage.exists(removed.image.name) and not default_storage.exists(
        removed.thumbnail.name
    )
    assert hq_api.delete(f"{URL}/{tshirt.pk}/images/{first['id']}").status_code == 404
    assert hq_api.delete(f"{URL}/{tshirt.pk}/images/abc").status_code == 404

    # The list's picture follows the first photo; without photos there is none.
    with django_capture_on_commit_callbacks(execute=True):
        hq_api.delete(f"{URL}/{tshirt.pk}/images/{third['id']}")
    tshirt.refresh_from_db()
    assert tshirt.cover_image == ProductImage.objects.get(pk=second["id"]).image.name
    with django_capture_on_commit_callbacks(execute=True):
        hq_api.delete(f"{URL}/{tshirt.pk}/images/{second['id']}")
    tshirt.refresh_from_db()
    assert (tshirt.cover_image, tshirt.cover_thumbnail) == ("", "")


def test_photo_of_another_product_cannot_be_removed_through_this_one(hq_api, tshirt, dairy):
    photo = _upload(hq_api, tshirt, _png()).json()
    other = hq_api.post(
        URL,
        {
            "name": "袜子",
            "category_id": str(dairy.pk),
            "variants": [{"sku_code": "SOCK", "price": money(900)}],
        },
    )
    other_id = other.json()["id"]
    assert hq_api.delete(f"{URL}/{other_id}/images/{photo['id']}").status_code == 404
    assert ProductImage.objects.filter(pk=photo["id"]).exists()


def test_at_most_fifteen_photos(hq_api, tshirt):
    for _ in range(15):
        services.product_image_add_processed(
            actor=Actor.system(), product=tshirt, processed=image_from_pil(Image.new("RGB", (60, 40), "red"))
        )
    tshirt.refresh_from_db()
    assert tshirt.cover_image == ProductImage.objects.order_by("position", "pk").first().image.name
    response = _upload(hq_api, tshirt, _png())
    assert (response.status_code, response.json()["code"]) == (409, "too_many_images")
    assert ProductImage.objects.count() == 15
