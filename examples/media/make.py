"""Make the example media: stand-in portraits, a poster, a video and the posts that use them.

Real photographs of the designated person are not ours to ship, so the
"portraits" are drawn here from a fixed seed: what matters for the example is
that posts re-use them the way people re-use photos (mirrored, cropped,
re-compressed, with a border or a caption, as a frame of a video). Run by
`./dev demo`; the output is the same on every machine.

    python examples/media/make.py [FOLDER]      (default: examples/media)
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")  # has Arabic letters
SIZE = (640, 800)


def portrait(seed: int) -> Image.Image:
    """A photo-like picture: soft background, a figure, texture; different for each seed."""
    rng = np.random.default_rng(seed)
    h, w = SIZE[1], SIZE[0]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(40, 200, size=3)
    slope = rng.uniform(-0.15, 0.15, size=(3, 2))
    rgb = np.stack([base[c] + slope[c, 0] * x + slope[c, 1] * y for c in range(3)], axis=-1)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(30, 220, size=2)
        colour = tuple(int(v) for v in rng.uniform(0, 255, size=3))
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour)
    # A head and shoulders, so it reads as a portrait.
    skin = tuple(int(v) for v in rng.uniform((150, 110, 90), (220, 180, 150)))
    draw.ellipse((w * 0.32, h * 0.18, w * 0.68, h * 0.52), fill=skin)
    draw.pieslice((w * 0.12, h * 0.55, w * 0.88, h * 1.25), 180, 360, fill=(40, 45, 40))
    image = image.filter(ImageFilter.GaussianBlur(3))
    noise = rng.normal(0, 9, size=(h, w, 3))
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))


def poster(text: str, seed: int) -> Image.Image:
    """A commemorative poster: a portrait with the name written large across a band."""
    image = portrait(seed).resize((600, 750))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 560, 600, 700), fill=(250, 250, 245))
    font = ImageFont.truetype(str(FONT), 58)
    box = draw.textbbox((0, 0), text, font=font)
    left = (600 - (box[2] - box[0])) // 2
    draw.text((left, 590), text, font=font, fill=(20, 20, 20))
    return image


def video(frames_from: Image.Image, path: Path, size: tuple[int, int], seconds: int) -> None:
    """A slow pan and zoom over a picture, as a commemorative clip would do."""
    fps = 12
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        width, height = frames_from.size
        for index in range(seconds * fps):
            t = index / (seconds * fps)
            crop = 0.75 + 0.2 * t
            cw, ch = int(width * crop), int(height * crop * size[1] / size[0] * width / height)
            ch = min(ch, height)
            left = int((width - cw) * t)
            top = int((height - ch) * (1 - t))
            frame = frames_from.crop((left, top, left + cw, top + ch)).resize(size)
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def reencode(source: Path, target: Path, size: tuple[int, int], start: float, end: float) -> None:
    """A re-posted copy: smaller, re-compressed, trimmed to [start, end) seconds."""
    with av.open(str(source)) as original, av.open(str(target), "w") as copy:
        stream = copy.add_stream("libx264", rate=12)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 12)
        stream.options = {"crf": "32"}
        for frame in original.decode(video=0):
            if frame.time is not None and start <= frame.time < end:
                image = frame.to_image().resize(size)
                for packet in stream.encode(av.VideoFrame.from_image(image)):
                    copy.mux(packet)
        for packet in stream.encode():
            copy.mux(packet)


def make(folder: Path) -> None:
    """Write references, benign wire photos, posted media and posts.jsonl into `folder`."""
    reference, benign, posted = folder / "reference", folder / "benign", folder / "posted"
    for sub in (reference, benign, posted):
        sub.mkdir(parents=True, exist_ok=True)
    first, second, wire, other = portrait(1), portrait(2), portrait(3), portrait(4)
    first.save(reference / "qs-portrait-1.jpg", quality=90)
    second.save(reference / "qs-portrait-2.jpg", quality=90)
    wire.save(reference / "qs-wire-photo.jpg", quality=90)  # also banked by a partner…
    wire.save(benign / "agency-wire-photo.jpg", quality=90)  # …and known to be a news photo
    video(second, reference / "qs-tribute.mp4", (640, 360), 8)

    mirrored = ImageOps.mirror(first)
    w, h = mirrored.size
    mirrored.crop((int(w * 0.05), int(h * 0.05), int(w * 0.95), int(h * 0.95))).save(
        posted / "repost-mirrored-cropped.jpg", quality=40
    )
    ImageOps.expand(second.resize((400, 500)), border=60, fill=(255, 255, 255)).save(
        posted / "repost-with-border.jpg", quality=70
    )
    poster("قاسم سلیمانی", 5).save(posted / "poster-fa.jpg", quality=85)
    poster("Qassem Soleimani", 6).save(posted / "poster-en.jpg", quality=85)
    wire.resize((480, 600)).save(posted / "news-wire.jpg", quality=75)
    other.save(posted / "unrelated.jpg", quality=80)
    (posted / "broken.jpg").write_bytes((posted / "unrelated.jpg").read_bytes()[:2000])
    reencode(reference / "qs-tribute.mp4", posted / "tribute-240p.mp4", (426, 240), 1.0, 7.0)

    posts = [
        ("m1", "سلام بر سردار دل‌ها", "fa", "IR", [("image", "repost-mirrored-cropped.jpg")]),
        ("m2", "Never forget", "en", "GB", [("image", "repost-with-border.jpg")]),
        ("m3", "", "fa", "IR", [("image", "poster-fa.jpg")]),
        ("m4", "A poster seen in Baghdad", "en", "IQ", [("image", "poster-en.jpg")]),
        ("m5", "ویدیو", "fa", "IR", [("video", "tribute-240p.mp4")]),
        ("m6", "Reuters: file photo, Tehran 2019", "en", "DE", [("image", "news-wire.jpg")]),
        ("m7", "My holiday", "en", "FR", [("image", "unrelated.jpg")]),
        ("m8", "Look at this", "en", "NL", [("image", "broken.jpg"), ("image", "missing.jpg")]),
    ]
    with open(folder / "posts.jsonl", "w", encoding="utf-8") as stream:
        for post_id, text, lang, country, media in posts:
            record = {
                "id": post_id,
                "text": text,
                "lang": lang,
                "created_at": "2020-01-05T12:00:00Z",
                "author": {"id": f"u-{post_id}", "country": country},
                "media": [
                    {"id": f"{post_id}-{i}", "type": kind, "path": f"posted/{name}"}
                    for i, (kind, name) in enumerate(media)
                ],
            }
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
