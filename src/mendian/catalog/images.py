"""Product photos: verify an upload really is an image, then store a display WebP and a square thumbnail.

Whatever the client sends (a phone photo lying on its side, a 48-megapixel PNG, a text file named
.png) leaves here either as two clean WebP files or as a 4xx with a stable code.
"""

import io
import uuid
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from mendian.core.errors import ValidationFailed

DISPLAY_MAX_SIDE = 1600
THUMBNAIL_SIDE = 400
WEBP_QUALITY = 82
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
# Far above any product photo (a 48 MP phone sensor is 8000x6000), far below what exhausts memory.
MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class ProcessedImage:
    image: ContentFile
    thumbnail: ContentFile
    width: int
    height: int


def _invalid(detail: str) -> ValidationFailed:
    return ValidationFailed(
        detail, code="invalid_image", errors=[{"loc": ["file"], "msg": "not a usable image"}]
    )


def _too_large(size: int) -> ValidationFailed:
    limit = settings.MAX_IMAGE_UPLOAD_BYTES
    return ValidationFailed(
        f"The image is {size} bytes; the limit is {limit} bytes.", code="image_too_large", status=413
    )


def _read_limited(fileobj) -> bytes:
    limit = settings.MAX_IMAGE_UPLOAD_BYTES
    declared = getattr(fileobj, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise _too_large(declared)
    if hasattr(fileobj, "seek"):
        fileobj.seek(0)
    data = fileobj.read(limit + 1)
    if len(data) > limit:
        raise _too_large(len(data))
    return data


def _open_verified(data: bytes) -> Image.Image:
    if not data:
        raise _invalid("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise _invalid(f"{probe.format} images are not accepted; use JPEG, PNG, WebP or GIF.")
            width, height = probe.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise _invalid(
                    f"The image is {width}x{height} pixels; at most {MAX_PIXELS} pixels are accepted."
                )
            probe.verify()
            # verify() leaves the image unusable and does not decode pixel data: decode for real,
            # which is what catches truncated files.
            image = Image.open(io.BytesIO(data))
            image.load()
    except ValidationFailed:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise _invalid("The file is not a readable image.") from exc
    return image


def _normalised(image: Image.Image) -> Image.Image:
    """Upright (EXIF orientation applied), first frame only, RGB or RGBA."""
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    return image.convert("RGBA" if has_alpha else "RGB")


def _webp_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    return buffer.getvalue()


def image_from_pil(image: Image.Image) -> ProcessedImage:
    """Display image and thumbnail from an image already in memory (demo data, generated art)."""
    image = _normalised(image)
    display = image.copy()
    display.thumbnail((DISPLAY_MAX_SIDE, DISPLAY_MAX_SIDE), Image.Resampling.LANCZOS)
    thumbnail = ImageOps.fit(
        image, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS, centering=(0.5, 0.5)
    )
    stem = uuid.uuid4().hex
    return ProcessedImage(
        image=ContentFile(_webp_bytes(display), name=f"{stem}.webp"),
        thumbnail=ContentFile(_webp_bytes(thumbnail), name=f"{stem}_thumb.webp"),
        width=display.width,
        height=display.height,
    )


def process_image(fileobj) -> ProcessedImage:
    """Validate an upload (any file-like object) and produce its WebP display image and thumbnail.

    Raises `ValidationFailed` with code `image_too_large` (status 413) above
    `settings.MAX_IMAGE_UPLOAD_BYTES`, or `invalid_image` (422) for anything that is not a whole,
    reasonably sized JPEG/PNG/WebP/GIF.
    """
    data = _read_limited(fileobj)
    image = _open_verified(data)
    try:
        return image_from_pil(image)
    except (OSError, ValueError) as exc:
        raise _invalid("The image could not be converted.") from exc
