"""Product pictures drawn with Pillow: a soft gradient in the category colour, a simple package
shape per category (bottle, carton, fruit…), the brand on the package and the name below it.

Nothing is downloaded. Chinese text is drawn only when a CJK font is installed (WenQuanYi or Noto
CJK); otherwise the brand's Latin name and the product code are drawn with a Latin font, or with
Pillow's built-in font when there is none at all. Images are drawn at twice the size and reduced,
which gives smooth edges for the price of a few milliseconds.
"""

import colorsys
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

IMAGE_SIZE = 800
_SUPERSAMPLE = 2

CJK_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
LATIN_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)

RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
INK: RGB = (38, 38, 38)


@dataclass(frozen=True)
class ProductArt:
    """What one product's picture shows."""

    name: str  # the product name (Chinese)
    brand: str  # the brand (Chinese)
    brand_latin: str  # the brand in Latin letters, for when no CJK font exists
    code: str  # the product's code, shown when no CJK font exists
    caption: str  # a short line under the name (a tag or the subtitle)
    shape: str  # a key of SHAPES
    colour: str  # "#rrggbb"


def first_existing(paths: tuple[str, ...]) -> str | None:
    for path in paths:
        if Path(path).is_file():
            return path
    return None


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    return first_existing(CJK_FONT_PATHS)


@lru_cache(maxsize=1)
def latin_font_path() -> str | None:
    return first_existing(LATIN_FONT_PATHS)


@lru_cache(maxsize=64)
def _font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size=size)


# --- colours --------------------------------------------------------------------------------------


def hex_to_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def mix(a: RGB, b: RGB, share_of_b: float) -> RGB:
    return tuple(round(x + (y - x) * share_of_b) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def shift_hue(colour: RGB, degrees: float) -> RGB:
    h, lightness, s = colorsys.rgb_to_hls(*(c / 255 for c in colour))
    r, g, b = colorsys.hls_to_rgb((h + degrees / 360) % 1.0, lightness, s)
    return round(r * 255), round(g * 255), round(b * 255)


def stable_seed(text: str) -> int:
    return zlib.crc32(text.encode())


# --- painting -------------------------------------------------------------------------------------


class Painter:
    """ImageDraw with coordinates in the final 800-pixel space, drawn at the supersampled size."""

    def __init__(self, image: Image.Image, scale: int):
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.k = scale

    def _xy(self, coords):
        return [c * self.k for c in coords]

    def rect(self, box, fill, radius=0, outline=None, width=0):
        self.draw.rounded_rectangle(
            self._xy(box), radius=radius * self.k, fill=fill, outline=outline, width=width * self.k
        )

    def ellipse(self, box, fill, outline=None, width=0):
        self.draw.ellipse(self._xy(box), fill=fill, outline=outline, width=width * self.k)

    def circle(self, cx, cy, r, fill):
        self.ellipse((cx - r, cy - r, cx + r, cy + r), fill)

    def polygon(self, points, fill):
        self.draw.polygon([(x * self.k, y * self.k) for x, y in points], fill=fill)

    def line(self, points, fill, width):
        self.draw.line(
            [(x * self.k, y * self.k) for x, y in points], fill=fill, width=width * self.k, joint="curve"
        )

    def pieslice(self, box, start, end, fill):
        self.draw.pieslice(self._xy(box), start, end, fill=fill)

    def arc(self, box, start, end, fill, width):
        self.draw.arc(self._xy(box), start, end, fill=fill, width=width * self.k)

    def text_fitted(self, text, centre, max_width, size, font_path, fill, min_size=18):
        """Centred text, shrunk until it fits `max_width`; nothing is drawn when even `min_size` is too wide."""
        while size >= min_size:
            font = _font(font_path, size * self.k)
            left, top, right, bottom = self.draw.textbbox((0, 0), text, font=font)
            if right - left <= max_width * self.k:
                x = centre[0] * self.k - (right - left) / 2 - left
                y = centre[1] * self.k - (bottom - top) / 2 - top
                self.draw.text((x, y), text, font=font, fill=fill)
                return
            size -= 2


@dataclass(frozen=True)
class Palette:
    body: RGB
    light: RGB
    dark: RGB
    label: RGB


# A shape draws the package and returns the label box (x0, y0, x1, y1) where the brand goes.
Shape = Callable[[Painter, Palette], tuple[int, int, int, int]]


def _bottle(p: Painter, c: Palette):
    p.rect((362, 118, 438, 160), c.dark, radius=8)
    p.rect((372, 150, 428, 220), c.light, radius=6)
    p.polygon([(372, 210), (428, 210), (500, 290), (300, 290)], c.body)
    p.rect((300, 270, 500, 620), c.body, radius=40)
    p.rect((318, 300, 340, 580), c.light, radius=10)
    p.rect((300, 380, 500, 520), c.label)
    return 300, 380, 500, 520


def _carton(p: Painter, c: Palette):
    p.polygon([(290, 250), (400, 250), (400, 180), (290, 180)], c.light)
    p.polygon([(290, 180), (345, 130), (400, 180)], c.label)
    p.polygon([(400, 180), (345, 130), (455, 130), (510, 180)], c.dark)
    p.polygon([(400, 180), (510, 180), (510, 610), (400, 610)], c.dark)
    p.rect((290, 180, 400, 610), c.body)
    p.rect((290, 330, 400, 470), c.label)
    p.rect((420, 330, 490, 470), mix(c.dark, WHITE, 0.25))
    return 290, 330, 400, 470


def _box(p: Painter, c: Palette):
    p.polygon([(200, 290), (260, 230), (620, 230), (560, 290)], c.light)
    p.polygon([(560, 290), (620, 230), (620, 540), (560, 600)], c.dark)
    p.rect((200, 290, 560, 600), c.body)
    p.rect((230, 360, 530, 520), c.label, radius=18)
    return 230, 360, 530, 520


def _fruit(p: Painter, c: Palette):
    for cx, cy, r in ((280, 430, 120), (520, 430, 120)):
        p.circle(cx, cy, r, mix(c.body, INK, 0.18))
    p.circle(400, 400, 170, c.body)
    p.ellipse((300, 290, 380, 350), mix(c.body, WHITE, 0.55))
    p.line([(400, 240), (410, 190)], (110, 78, 46), 10)
    p.polygon([(410, 200), (470, 160), (520, 175), (470, 215)], (72, 150, 70))
    p.rect((300, 520, 500, 590), c.label, radius=30)
    return 300, 520, 500, 590


def _leaf(p: Painter, c: Palette):
    green = (76, 160, 80)
    for angle in (-40, -20, 0, 20, 40):
        rad = math.radians(angle)
        tip = (400 + 260 * math.sin(rad), 380 - 260 * math.cos(rad) + 120)
        side = (60 * math.cos(rad), 60 * math.sin(rad))
        base = (400, 600)
        mid = ((base[0] + tip[0]) / 2, (base[1] + tip[1]) / 2)
        p.polygon(
            [base, (mid[0] - side[0], mid[1] - side[1]), tip, (mid[0] + side[0], mid[1] + side[1])], green
        )
        p.line([base, tip], mix(green, WHITE, 0.4), 4)
    p.rect((360, 540, 440, 610), mix(green, WHITE, 0.7), radius=12)
    p.rect((320, 520, 480, 580), c.label, radius=12)
    return 320, 520, 480, 580


def _tray(p: Painter, c: Palette):
    p.rect((170, 330, 630, 560), mix(WHITE, c.body, 0.08), radius=36)
    for i, cx in enumerate(range(250, 600, 70)):
        p.ellipse((cx - 55, 350 + (i % 2) * 30, cx + 55, 470 + (i % 2) * 30), c.body)
        p.ellipse((cx - 30, 370 + (i % 2) * 30, cx, 400 + (i % 2) * 30), mix(c.body, WHITE, 0.5))
    p.rect((170, 330, 630, 360), mix(WHITE, c.light, 0.3), radius=16)
    p.rect((420, 470, 600, 540), c.label, radius=10)
    return 420, 470, 600, 540


def _cup(p: Painter, c: Palette):
    p.polygon([(270, 250), (530, 250), (495, 600), (305, 600)], c.body)
    p.ellipse((262, 226, 538, 276), c.dark)
    p.ellipse((275, 232, 525, 266), c.light)
    p.polygon([(283, 370), (517, 370), (505, 490), (295, 490)], c.label)
    return 295, 370, 505, 490


def _bread(p: Painter, c: Palette):
    crust = (196, 132, 64)
    p.ellipse((200, 240, 600, 440), crust)
    p.rect((200, 340, 600, 590), crust, radius=30)
    for x in (300, 390, 480):
        p.arc((x - 40, 260, x + 40, 340), 200, 340, mix(crust, WHITE, 0.45), 8)
    p.rect((260, 440, 540, 540), c.label, radius=14)
    return 260, 440, 540, 540


def _bag(p: Painter, c: Palette):
    teeth = [(220 + i * 20, 200 if i % 2 == 0 else 215) for i in range(19)]
    bottom = [(580 - i * 20, 620 if i % 2 == 0 else 605) for i in range(19)]
    p.polygon(
        [*teeth, (580, 240), (600, 400), (580, 580), *bottom, (220, 580), (200, 400), (220, 240)], c.body
    )
    p.rect((220, 240, 580, 260), c.dark)
    p.rect((220, 560, 580, 580), c.dark)
    p.ellipse((260, 330, 540, 530), c.label)
    return 270, 370, 530, 490


def _can(p: Painter, c: Palette):
    p.rect((290, 200, 510, 610), c.body)
    p.ellipse((290, 580, 510, 640), c.body)
    p.ellipse((290, 170, 510, 230), mix(WHITE, c.dark, 0.25))
    p.ellipse((305, 178, 495, 222), mix(WHITE, c.dark, 0.45))
    p.ellipse((370, 185, 430, 205), mix(WHITE, c.dark, 0.25))
    p.rect((305, 230, 325, 580), c.light, radius=8)
    p.rect((290, 340, 510, 480), c.label)
    return 290, 340, 510, 480


def _jar(p: Painter, c: Palette):
    p.rect((270, 260, 530, 610), c.body, radius=36)
    p.rect((285, 200, 515, 270), c.dark, radius=12)
    p.rect((285, 200, 515, 215), mix(c.dark, WHITE, 0.3), radius=6)
    p.rect((270, 350, 530, 510), c.label)
    return 270, 350, 530, 510


def _bowl(p: Painter, c: Palette):
    p.polygon([(220, 300), (580, 300), (530, 590), (270, 590)], c.body)
    p.ellipse((210, 270, 590, 330), c.dark)
    p.ellipse((225, 278, 575, 322), c.light)
    for x in (340, 400, 460):
        p.arc((x - 20, 170, x + 20, 250), 100, 260, mix(WHITE, c.body, 0.1), 6)
    p.polygon([(245, 380), (555, 380), (540, 480), (260, 480)], c.label)
    return 260, 380, 540, 480


def _sack(p: Painter, c: Palette):
    p.polygon([(330, 200), (470, 200), (440, 250), (360, 250)], c.dark)
    p.rect((250, 240, 550, 620), c.body, radius=60)
    p.rect((290, 380, 510, 520), c.label, radius=16)
    p.line([(320, 280), (480, 280)], c.light, 6)
    return 290, 380, 510, 520


def _roll(p: Painter, c: Palette):
    p.rect((200, 230, 600, 610), mix(c.body, WHITE, 0.15), radius=40)
    for cx in (300, 500):
        for cy in (330, 500):
            p.circle(cx, cy, 78, WHITE)
            p.circle(cx, cy, 24, mix(c.body, WHITE, 0.5))
    p.rect((250, 395, 550, 435), c.label, radius=8)
    return 250, 380, 550, 450


def _tube(p: Painter, c: Palette):
    p.polygon([(160, 300), (580, 340), (580, 460), (160, 500)], c.body)
    p.rect((140, 290, 175, 510), c.dark, radius=6)
    p.rect((575, 355, 660, 445), c.dark, radius=12)
    p.polygon([(220, 340), (540, 365), (540, 435), (220, 460)], c.label)
    return 230, 350, 530, 450


def _jug(p: Painter, c: Palette):
    p.arc((400, 190, 560, 380), 250, 80, c.dark, 28)
    p.rect((250, 230, 540, 620), c.body, radius=50)
    p.rect((300, 170, 380, 240), c.dark, radius=10)
    p.rect((275, 360, 515, 520), c.label, radius=20)
    return 275, 360, 515, 520


def _cloth(p: Painter, c: Palette):
    for i, shade in enumerate((c.dark, c.body, c.light)):
        y = 470 - i * 100
        p.rect((190, y, 610, y + 120), shade, radius=30)
        p.rect((190, y + 80, 610, y + 92), mix(shade, WHITE, 0.5))
    p.rect((300, 520, 500, 580), c.label, radius=12)
    return 300, 520, 500, 580


def _umbrella(p: Painter, c: Palette):
    p.pieslice((160, 180, 640, 620), 180, 360, c.body)
    for x in range(160, 640, 96):
        p.ellipse((x, 370, x + 96, 430), mix(c.body, WHITE, 0.0))
    for x in range(208, 640, 96):
        p.line([(400, 190), (x, 400)], c.dark, 4)
    p.line([(400, 400), (400, 600)], INK, 12)
    p.arc((340, 560, 400, 640), 0, 180, INK, 12)
    p.rect((310, 290, 490, 350), c.label, radius=14)
    return 310, 290, 490, 350


def _cake(p: Painter, c: Palette):
    p.rect((200, 330, 600, 560), mix(WHITE, c.body, 0.55))
    p.ellipse((200, 520, 600, 600), mix(WHITE, c.body, 0.55))
    p.ellipse((200, 290, 600, 370), WHITE)
    for x in range(230, 600, 60):
        p.circle(x, 330, 18, mix(WHITE, c.body, 0.35))
    for x, y in ((330, 310), (400, 300), (470, 310)):
        p.circle(x, y, 22, (214, 48, 60))
    p.rect((200, 420, 600, 440), c.body)
    p.rect((290, 470, 510, 540), c.label, radius=12)
    return 290, 470, 510, 540


SHAPES: dict[str, Shape] = {
    "bottle": _bottle,
    "carton": _carton,
    "box": _box,
    "fruit": _fruit,
    "leaf": _leaf,
    "tray": _tray,
    "cup": _cup,
    "bread": _bread,
    "bag": _bag,
    "can": _can,
    "jar": _jar,
    "bowl": _bowl,
    "sack": _sack,
    "roll": _roll,
    "tube": _tube,
    "jug": _jug,
    "cloth": _cloth,
    "umbrella": _umbrella,
    "cake": _cake,
}


_BACKDROP_SIZE = 200


def _backdrop(colour: RGB, size: int) -> Image.Image:
    """The gradient and the shadow under the package. Both are smooth, so they are made small
    and enlarged: working at full size would cost more than drawing the package."""
    top = Image.new("RGB", (_BACKDROP_SIZE, _BACKDROP_SIZE), mix(colour, WHITE, 0.9))
    bottom = Image.new("RGB", (_BACKDROP_SIZE, _BACKDROP_SIZE), mix(colour, WHITE, 0.62))
    gradient = Image.linear_gradient("L").resize((_BACKDROP_SIZE, _BACKDROP_SIZE))
    backdrop = Image.composite(bottom, top, gradient)
    shadow = Image.new("L", (_BACKDROP_SIZE, _BACKDROP_SIZE), 0)
    factor = _BACKDROP_SIZE / IMAGE_SIZE
    ImageDraw.Draw(shadow).ellipse([round(v * factor) for v in (200, 580, 600, 660)], fill=90)
    shadow = shadow.filter(ImageFilter.GaussianBlur(5))
    shade = Image.new("RGB", (_BACKDROP_SIZE, _BACKDROP_SIZE), mix(colour, INK, 0.55))
    backdrop = Image.composite(shade, backdrop, shadow)
    return backdrop.resize((size, size), Image.Resampling.BILINEAR)


def draw_product_image(art: ProductArt) -> Image.Image:
    """An 800×800 RGB picture of the product."""
    k = _SUPERSAMPLE
    size = IMAGE_SIZE * k
    seed = stable_seed(art.name)
    base = hex_to_rgb(art.colour)
    base = shift_hue(base, (seed % 25) - 12)
    image = _backdrop(base, size)

    painter = Painter(image, k)
    painter.circle(400 + (seed % 60) - 30, 380, 300, mix(base, WHITE, 0.8))
    palette = Palette(
        body=base,
        light=mix(base, WHITE, 0.45),
        dark=mix(base, INK, 0.3),
        label=WHITE,
    )
    shape = SHAPES.get(art.shape, _box)
    label = shape(painter, palette)

    cjk = cjk_font_path()
    latin = latin_font_path()
    x0, y0, x1, y1 = label
    label_centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    label_width = x1 - x0 - 24
    label_size = min(56, round((y1 - y0) * 0.42))
    band = (60, 662, 740, 770)
    painter.rect(band, mix(WHITE, base, 0.04), radius=28)
    if cjk:
        painter.text_fitted(art.brand, label_centre, label_width, label_size, cjk, palette.dark, min_size=14)
        painter.text_fitted(art.name, (400, 698), 640, 46, cjk, INK)
        if art.caption:
            painter.text_fitted(art.caption, (400, 745), 640, 26, cjk, mix(INK, WHITE, 0.35))
    else:
        painter.text_fitted(
            art.brand_latin, label_centre, label_width, label_size, latin, palette.dark, min_size=12
        )
        painter.text_fitted(art.brand_latin, (400, 698), 640, 42, latin, INK)
        painter.text_fitted(art.code, (400, 745), 640, 26, latin, mix(INK, WHITE, 0.35))
    return image.reduce(k)
