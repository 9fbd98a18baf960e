import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from mendian.catalog.images import image_from_pil, process_image
from mendian.core.errors import ValidationFailed


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _open(content_file) -> Image.Image:
    content_file.seek(0)
    image = Image.open(io.BytesIO(content_file.read()))
    image.load()
    return image


def test_large_jpeg_becomes_a_1600px_webp_and_a_400px_square_thumbnail():
    source = Image.new("RGB", (3200, 1600), (10, 120, 200))
    processed = process_image(io.BytesIO(_encode(source, "JPEG", quality=90)))

    assert (processed.width, processed.height) == (1600, 800)
    display, thumbnail = _open(processed.image), _open(processed.thumbnail)
    assert display.format == "WEBP" and display.size == (1600, 800) and display.mode == "RGB"
    assert thumbnail.format == "WEBP" and thumbnail.size == (400, 400)
    assert processed.image.name.endswith(".webp")
    assert processed.thumbnail.name.endswith("_thumb.webp")
    assert processed.image.name != processed.thumbnail.name


def test_small_image_is_not_enlarged_but_the_thumbnail_is_always_square():
    processed = process_image(io.BytesIO(_encode(Image.new("RGB", (300, 120), "white"), "PNG")))
    assert (processed.width, processed.height) == (300, 120)
    assert _open(processed.thumbnail).size == (400, 400)


def test_exif_orientation_is_applied():
    # A phone photo stored landscape with "rotate 90° clockwise" in its EXIF: shown portrait.
    source = Image.new("RGB", (640, 480), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    processed = process_image(io.BytesIO(_encode(source, "JPEG", exif=exif.tobytes())))
    assert (processed.width, processed.height) == (480, 640)
    assert _open(processed.image).size == (480, 640)


def test_centre_crop_of_the_thumbnail_keeps_the_middle():
    # Left third red, middle third green, right third blue: the square thumbnail is the green middle.
    source = Image.new("RGB", (1200, 400), (255, 0, 0))
    source.paste((0, 255, 0), (400, 0, 800, 400))
    source.paste((0, 0, 255), (800, 0, 1200, 400))
    thumbnail = _open(process_image(io.BytesIO(_encode(source, "PNG"))).thumbnail).convert("RGB")
    red, green, blue = thumbnail.getpixel((200, 200))
    assert green > 200 and red < 60 and blue < 60


def test_transparency_is_kept():
    source = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    source.paste((255, 0, 0, 255), (50, 50, 150, 150))
    display = _open(process_image(io.BytesIO(_encode(source, "PNG"))).image)
    assert display.mode == "RGBA"
    assert display.getpixel((5, 5))[3] == 0
    assert display.getpixel((100, 100))[3] == 255


def test_palette_and_animated_gif_use_the_first_frame():
    frames = [Image.new("P", (100, 80), color) for color in (1, 2, 3)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    processed = process_image(SimpleUploadedFile("anim.gif", data, content_type="image/gif"))
    assert (processed.width, processed.height) == (100, 80)
    assert _open(processed.image).format == "WEBP"


@pytest.mark.parametrize(
    "data",
    [
        b"hello, I am a text file pretending to be a photo\n",
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a PNG signature and nothing usable
    ],
)
def test_non_images_are_invalid_image(data):
    with pytest.raises(ValidationFailed) as excinfo:
        process_image(SimpleUploadedFile("photo.png", data, content_type="image/png"))
    assert excinfo.value.code == "invalid_image"
    assert excinfo.value.status == 422


def test_truncated_image_is_invalid():
    data = _encode(Image.effect_noise((600, 600), 64).convert("RGB"), "JPEG", quality=95)
    with pytest.raises(ValidationFailed) as excinfo:
        process_image(io.BytesIO(data[: len(data) // 2]))
    assert excinfo.value.code == "invalid_image"


def test_decompression_bomb_is_refused_before_decoding():
    # 9000 x 9000 one-bit pixels compress to a few kilobytes but would decode to 81 megapixels.
    data = _encode(Image.new("1", (9000, 9000)), "PNG")
    assert len(data) < 200_000
    with pytest.raises(ValidationFailed) as excinfo:
        process_image(io.BytesIO(data))
    assert excinfo.value.code == "invalid_image"


def test_other_formats_are_refused():
    data = _encode(Image.new("RGB", (50, 50)), "BMP")
    with pytest.raises(ValidationFailed) as excinfo:
        process_image(io.BytesIO(data))
    assert excinfo.value.code == "invalid_image"


@override_settings(MAX_IMAGE_UPLOAD_BYTES=2_000)
def test_too_large_by_declared_size_is_413():
    data = _encode(Image.effect_noise((300, 300), 64).convert("RGB"), "PNG")
    assert len(data) > 2_000
    with pytest.raises(ValidationFailed) as excinfo:
        process_image(SimpleUploadedFile("big.png", data, content_type="image/png"))
    assert (excinfo.value.status, excinfo.value.code) == (413, "image_too_large")


@override_settings(MAX_IMAGE_UPLOAD_BYTES=2_000)
def test_too_large_stream_without_a_size_is_413():
    data = _encode(Image.effect_noise((300, 300), 64).convert("RGB"), "PNG")
    with pytest.raises(ValidationFailed) as excinfo:
        process_image(io.BytesIO(data))
    assert (excinfo.value.status, excinfo.value.code) == (413, "image_too_large")


def test_image_from_pil_for_generated_pictures():
    processed = image_from_pil(Image.new("RGB", (2000, 1000), "orange"))
    assert (processed.width, processed.height) == (1600, 800)
    assert _open(processed.thumbnail).size == (400, 400)
