"""Generators for test media: photos, posters with text, videos and malformed files.

Everything is drawn here from fixed seeds, so no binary file is committed and every
machine gets the same bytes. Plain functions (import them from tests.media.conftest)
plus a few fixtures.
"""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# Fonts with Arabic-script glyphs, in order of preference (Debian: fonts-dejavu-core).
ARABIC_FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "NotoSansArabic-Bold.ttf")


def photo(size: tuple[int, int] = (320, 240), seed: int = 0) -> Image.Image:
    """A photo-like RGB picture: a colour gradient, soft discs and sensor noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(50, 200, size=3)
    slope = rng.uniform(-60, 60, size=(3, 2))
    rgb = np.stack(
        [base[c] + slope[c, 0] * x / width + slope[c, 1] * y / height for c in range(3)], axis=-1
    )
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(10):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(min(size) / 20, min(size) / 4)
        colour = tuple(int(v) for v in rng.uniform(0, 255, size=3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = rng.normal(0, 12, size=(height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """The image saved in a format (JPEG, PNG, WEBP, GIF, BMP, TIFF) as bytes."""
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def exif_rotated_jpeg(upright: Image.Image, orientation: int = 6) -> bytes:
    """A JPEG stored sideways, as a phone stores it, with the EXIF tag that turns it upright.

    Orientation 6 means "rotate 90° clockwise to display", so the stored pixels are the
    upright picture turned 90° counter-clockwise.
    """
    stored = {
        3: upright.transpose(Image.Transpose.ROTATE_180),
        6: upright.transpose(Image.Transpose.ROTATE_90),
        8: upright.transpose(Image.Transpose.ROTATE_270),
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width×height (a decompression bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\x00" * 1024)  # far fewer rows than declared
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def write_video(
    path: Path, seconds: float = 3.0, size: tuple[int, int] = (160, 120), fps: int = 10
) -> Path:
    """An H.264 MP4 of moving discs, `seconds` long."""
    frames = max(1, round(seconds * fps))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        background = photo(size, seed=7)
        for index in range(frames):
            frame = background.copy()
            draw = ImageDraw.Draw(frame)
            x = (index * 7) % size[0]
            draw.ellipse((x, 20, x + 30, 50), fill=(250, 250, 250))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def arabic_font_path() -> Path | None:
    """A TrueType font with Arabic-script glyphs, if one is installed."""
    for folder in FONT_DIRS:
        if not folder.is_dir():
            continue
        for name in ARABIC_FONTS:
            found = sorted(folder.rglob(name))
            if found:
                return found[0]
    return None


def poster_font(size: int) -> ImageFont.FreeTypeFont:
    """The Arabic-capable font at `size`, or skip: Persian posters need it and raqm."""
    path = arabic_font_path()
    if path is None:
        pytest.skip("no font with Arabic glyphs (Debian: apt-get install fonts-dejavu-core)")
    if not features.check("raqm"):
        pytest.skip("Pillow is built without raqm: Persian text would not be shaped")
    return ImageFont.truetype(str(path), size)


def poster(
    text: str,
    size: tuple[int, int] = (600, 400),
    font_size: int = 48,
    *,
    background: str = "white",
    band: bool = False,
    fill: tuple[int, int, int] = (20, 20, 20),
    seed: int = 0,
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A picture with `text` written across it, and the text's bounding box (l, t, r, b).

    background: "white", "dark" or "photo"; `band` puts a light caption band under the
    text (as commemorative posters do over a portrait).
    """
    width, height = size
    if background == "photo":
        image = photo(size, seed)
    elif background == "dark":
        image = Image.new("RGB", size, (25, 30, 60))
    else:
        image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = poster_font(font_size)
    box = draw.textbbox((0, 0), text, font=font)
    left = (width - (box[2] - box[0])) // 2 - box[0]
    top = int(height * 0.62) if band else (height - (box[3] - box[1])) // 2 - box[1]
    drawn = draw.textbbox((left, top), text, font=font)
    if band:
        pad = font_size // 2
        draw.rectangle((0, drawn[1] - pad, width, drawn[3] + pad), fill=(245, 240, 228))
    draw.text((left, top), text, font=font, fill=fill)
    return image, drawn


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """An empty folder standing for the posts file's folder."""
    folder = tmp_path / "posts"
    folder.mkdir()
    return folder
