"""Test photos: the conformance set's real photos, the edits a reposter makes, unrelated images.

The conformance data lives beside the repository (../shared/conformance/pdq, as in CI).
Every transform takes and returns an RGB Pillow image and is deterministic; the
geometry here is written independently of arbiter.media.pdq so the tests check it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

SHARED = Path(__file__).resolve().parents[3] / "shared"
CONFORMANCE = SHARED / "conformance" / "pdq"
FILES = CONFORMANCE / "files"

# Real, distinct photos of the conformance set used as bank references.
REFERENCE_PHOTOS = {
    "bridge": "pdq/data/bridge-mods/aaa-orig.jpg",
    "pen-and-coaster": "pdq/data/reg-test-input/pen-and-coaster.png",
    "coaster-c": "pdq/data/misc-images/c.png",
    "desk": "pdq/data/reg-test-input/exif-rotn/exif-rotn-1.jpg",
    "q0122-sea": "pdq/data/reg-test-input/labelme-subset/q0122.jpg",
    "q0291-people": "pdq/data/reg-test-input/labelme-subset/q0291.jpg",
    "q0746-stripes": "pdq/data/reg-test-input/labelme-subset/q0746.jpg",
    "q1050-houses": "pdq/data/reg-test-input/labelme-subset/q1050.jpg",
    "q2821-zebra": "pdq/data/reg-test-input/labelme-subset/q2821.jpg",
}
# sample-b.jpg is byte-identical to bridge-mods/aaa-orig.jpg (the README says so).
SAME_AS = {"sample-b": "bridge"}


def load_photo(name: str) -> Image.Image:
    """A reference photo in RGB, as stored (no EXIF rotation: these have Orientation 1 or none)."""
    with Image.open(FILES / REFERENCE_PHOTOS[name]) as image:
        return image.convert("RGB")


# --- the edits -----------------------------------------------------------------------


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def resize(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def crop(image: Image.Image, area: float, where: str) -> Image.Image:
    """Keep `area` of the image: at the centre or a corner (both sides scaled), or one side."""
    fx, fy = {
        "left": (area, 1.0),
        "right": (area, 1.0),
        "top": (1.0, area),
        "bottom": (1.0, area),
    }.get(where, (math.sqrt(area), math.sqrt(area)))
    keep_w, keep_h = image.width * fx, image.height * fy
    x = {"centre": 0.5, "top-left": 0.0, "bottom-left": 0.0, "left": 0.0}.get(where, 1.0)
    y = {"centre": 0.5, "top-left": 0.0, "top-right": 0.0, "top": 0.0}.get(where, 1.0)
    if where in ("top", "bottom"):
        x = 0.5
    if where in ("left", "right"):
        y = 0.5
    left = (image.width - keep_w) * x
    top = (image.height - keep_h) * y
    return image.crop((round(left), round(top), round(left + keep_w), round(top + keep_h)))


def crop_fractions(image: Image.Image, x0: float, y0: float, x1: float, y1: float) -> Image.Image:
    """Keep the box given in fractions of the width and height."""
    w, h = image.size
    return image.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))


def grayscale(image: Image.Image) -> Image.Image:
    return image.convert("L").convert("RGB")


def mirror(image: Image.Image) -> Image.Image:
    return ImageOps.mirror(image)


def rotate(image: Image.Image, degrees: int) -> Image.Image:
    """Rotate counter-clockwise by a multiple of 90 degrees."""
    return image.rotate(degrees, expand=True)


def add_border(image: Image.Image, fraction: float, colour: tuple[int, int, int]) -> Image.Image:
    """A solid frame `fraction` of the short side wide on every side."""
    width = max(1, round(min(image.size) * fraction))
    return ImageOps.expand(image, border=width, fill=colour)


def pad_square(image: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    """Padded to a square, the photo centred (as apps that want square pictures do)."""
    side = max(image.size)
    canvas = Image.new("RGB", (side, side), colour)
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def letterbox(image: Image.Image, target: tuple[int, int] = (16, 9)) -> Image.Image:
    """Black bars so the picture fills a frame of the target aspect ratio."""
    ratio = target[0] / target[1]
    if image.width / image.height < ratio:
        size = (round(image.height * ratio), image.height)
    else:
        size = (image.width, round(image.width / ratio))
    canvas = Image.new("RGB", size, (0, 0, 0))
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return canvas


def watermark(
    image: Image.Image, text: str = "@reposter", corner: str = "bottom-right"
) -> Image.Image:
    """A semi-transparent logo disc and a handle written over a corner (about 5% of the area)."""
    out = image.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(12, round(min(out.size) * 0.07))
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    text_w, text_h = right - left, bottom - top
    margin = round(min(out.size) * 0.03)
    x = out.width - text_w - margin if corner.endswith("right") else margin + size + margin // 2
    y = out.height - text_h - margin if corner.startswith("bottom") else margin
    disc = (x - size - margin // 2, y - size // 4, x - margin // 2, y + size - size // 4)
    draw.ellipse(disc, fill=(255, 255, 255, 170), outline=(200, 30, 30, 220), width=3)
    draw.text((x - left, y - top), text, font=font, fill=(255, 255, 255, 200))
    return Image.alpha_composite(out, layer).convert("RGB")


def brightness(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(factor)


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg-q25": lambda im: jpeg(im, 25),
    "resize-40%": lambda im: resize(im, 0.4),
    "crop-85%-centre": lambda im: crop(im, 0.85, "centre"),
    "crop-85%-top-left": lambda im: crop(im, 0.85, "top-left"),
    "crop-85%-top-right": lambda im: crop(im, 0.85, "top-right"),
    "crop-85%-bottom-left": lambda im: crop(im, 0.85, "bottom-left"),
    "crop-85%-bottom-right": lambda im: crop(im, 0.85, "bottom-right"),
    "crop-80%-left": lambda im: crop(im, 0.80, "left"),
    "crop-80%-bottom": lambda im: crop(im, 0.80, "bottom"),
    "grayscale": grayscale,
    "mirror": mirror,
    "rotate-90": lambda im: rotate(im, 90),
    "rotate-270": lambda im: rotate(im, 270),
    "border-black": lambda im: add_border(im, 0.08, (0, 0, 0)),
    "border-white-jpeg": lambda im: jpeg(add_border(im, 0.05, (255, 255, 255)), 75),
    "pad-square-white": lambda im: pad_square(im, (255, 255, 255)),
    "pad-square-black-jpeg": lambda im: jpeg(pad_square(im, (0, 0, 0)), 80),
    "letterbox-16:9": letterbox,
    "watermark": watermark,
    "brightness+30%": lambda im: brightness(im, 1.3),
    "brightness-30%": lambda im: brightness(im, 0.7),
    "crop-85%-centre+mirror": lambda im: mirror(crop(im, 0.85, "centre")),
    "crop-85%-top-right+mirror+jpeg": lambda im: jpeg(mirror(crop(im, 0.85, "top-right")), 70),
    "resize-40%+jpeg-q25": lambda im: jpeg(resize(im, 0.4), 25),
    "pad-square+watermark+jpeg": lambda im: jpeg(watermark(pad_square(im, (0, 0, 0))), 75),
    "grayscale+rotate-180": lambda im: rotate(grayscale(im), 180),
}


# --- unrelated images ------------------------------------------------------------------


def synthetic_images(size: tuple[int, int] = (640, 480)) -> dict[str, Image.Image]:
    """Images unrelated to any photo: noise, gradients, shapes, stripes, text."""
    rng = np.random.default_rng(20200103)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out: dict[str, Image.Image] = {}
    out["noise-rgb"] = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    blurred = Image.fromarray(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8))
    out["noise-blobs"] = blurred.resize(size, Image.Resampling.BICUBIC)
    out["gradient-horizontal"] = _grey(xx / w * 255)
    out["gradient-vertical"] = _grey(yy / h * 255)
    out["gradient-diagonal"] = _grey((xx + yy) / (w + h) * 255)
    out["gradient-radial"] = _grey(np.hypot(xx - w / 2, yy - h / 2) / math.hypot(w, h) * 2 * 255)
    out["stripes"] = _grey((np.sin(xx / 9.0) > 0) * 255.0)
    out["checkerboard"] = _grey(((xx // 40 + yy // 40) % 2) * 255.0)
    out["rings"] = _grey((np.sin(np.hypot(xx - w / 3, yy - h / 2) / 14.0) + 1) * 127.5)
    shapes = Image.new("RGB", size, (30, 90, 160))
    draw = ImageDraw.Draw(shapes)
    for i in range(12):
        x, y = rng.integers(0, w - 80), rng.integers(0, h - 80)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle((x, y, x + 40 + 5 * i, y + 30 + 4 * i), fill=colour)
    out["shapes"] = shapes
    poster = Image.new("RGB", size, (240, 230, 200))
    draw = ImageDraw.Draw(poster)
    draw.text(
        (30, 40), "NEWS\nREPORT\n2020", font=ImageFont.load_default(size=90), fill=(20, 20, 20)
    )
    out["text-poster"] = poster
    return out


def _grey(values: np.ndarray) -> Image.Image:  # type: ignore[type-arg]
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8)).convert("RGB")
