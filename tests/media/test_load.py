"""Safe loading: what is read, what is refused, and that each refusal says why in numbers."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from arbiter.media.load import (
    Loaded,
    VideoInfo,
    inside,
    open_image,
    probe_video,
    read_media,
    sniff,
)
from arbiter.media.model import MediaError, MediaLimits
from arbiter.model import Media
from tests.media.conftest import (
    encode,
    exif_rotated_jpeg,
    photo,
    png_declaring,
    write_video,
)

LIMITS = MediaLimits()


def item(path: str, kind: str = "image") -> Media:
    return Media(id="m1", type=kind, path=path)


def failure(call: object, *args: object, **kwargs: object) -> MediaError:
    assert callable(call)
    with pytest.raises(MediaError) as caught:
        call(*args, **kwargs)
    return caught.value


# -- photos that load -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {"quality": 90}),
        ("PNG", {}),
        ("WEBP", {"quality": 90}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {}),
    ],
)
def test_a_valid_photo_loads_from_its_path(media_dir: Path, fmt: str, options: dict[str, object]):
    original = photo((160, 120), seed=1)
    data = encode(original, fmt, **options)
    (media_dir / f"p.{fmt.lower()}").write_bytes(data)

    loaded = read_media(item(f"p.{fmt.lower()}"), media_dir, LIMITS)

    assert loaded.kind == "image"
    assert loaded.data == data
    assert loaded.sha256 == hashlib.sha256(data).hexdigest()
    assert loaded.source == f"p.{fmt.lower()}"
    assert loaded.path == (media_dir / f"p.{fmt.lower()}").resolve()
    image = open_image(loaded.data, LIMITS)
    assert image.size == (160, 120)
    assert image.mode == "RGB"
    # The pixels are the photo's (lossy formats and GIF's palette within a tolerance).
    difference = np.abs(np.asarray(image, dtype=int) - np.asarray(original, dtype=int)).mean()
    assert difference < 12


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((200, 0, 0), (0, 0, 200))]
    out = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)

    image = open_image(out, LIMITS)

    assert image.mode == "RGB"
    red, _, blue = image.getpixel((20, 15))  # type: ignore[misc]
    assert red > 150 and blue < 50


def test_an_exif_rotated_jpeg_is_turned_upright_unless_asked_not_to():
    upright = Image.new("RGB", (90, 60), (0, 0, 220))
    upright.paste((220, 0, 0), (0, 0, 45, 60))  # left half red, right half blue
    data = exif_rotated_jpeg(upright, orientation=6)

    turned = open_image(data, LIMITS)
    stored = open_image(data, LIMITS, orient=False)

    assert turned.size == (90, 60)
    assert turned.getpixel((10, 30))[0] > 180  # type: ignore[index]  # red on the left
    assert turned.getpixel((80, 30))[2] > 180  # type: ignore[index]  # blue on the right
    assert stored.size == (60, 90)


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_wide_greyscale_becomes_8_bit_grey(mode: str):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (16, 1))
    image = Image.fromarray(ramp) if mode == "I;16" else Image.fromarray(ramp.astype(np.int32))
    assert image.mode == mode
    loaded = open_image(encode(image, "PNG" if mode == "I;16" else "TIFF"), LIMITS)

    assert loaded.mode == "L"
    values = np.asarray(loaded)
    assert values[0, 0] == 0
    assert values[0, -1] == 255
    assert np.all(np.diff(values[0].astype(int)) >= 0)  # the ramp survives, in order


def test_grey_with_transparency_is_laid_over_white():
    grey = Image.new("L", (20, 10), 30)
    alpha = Image.new("L", (20, 10), 255)
    alpha.paste(0, (10, 0, 20, 10))  # the right half transparent
    image = Image.merge("LA", (grey, alpha))

    loaded = open_image(encode(image, "PNG"), LIMITS)

    assert loaded.mode == "L"
    assert loaded.getpixel((2, 5)) == 30
    assert loaded.getpixel((15, 5)) == 255


@pytest.mark.parametrize(
    ("mode", "fmt"), [("P", "PNG"), ("CMYK", "JPEG"), ("RGBA", "PNG"), ("1", "PNG")]
)
def test_other_modes_become_rgb_or_grey(mode: str, fmt: str):
    image = photo((40, 30), seed=3)
    converted = image.convert(mode) if mode != "P" else image.quantize(16)
    loaded = open_image(encode(converted, fmt), LIMITS)
    assert loaded.mode in ("RGB", "L")
    assert loaded.size == (40, 30)


def test_palette_transparency_is_laid_over_white():
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 5, 10))
    loaded = open_image(encode(image, "PNG", transparency=0), LIMITS)
    assert loaded.mode == "RGB"
    assert loaded.getpixel((2, 2)) == (200, 0, 0)
    assert loaded.getpixel((8, 2)) == (255, 255, 255)


# -- photos that do not ---------------------------------------------------------------


def test_a_zero_byte_file_is_corrupt(media_dir: Path):
    (media_dir / "empty.jpg").write_bytes(b"")
    error = failure(read_media, item("empty.jpg"), media_dir, LIMITS)
    assert error.kind == "corrupt"
    assert "empty" in error.reason and "0 bytes" in error.reason
    assert failure(open_image, b"", LIMITS).kind == "corrupt"


def test_random_bytes_are_unsupported(media_dir: Path):
    noise = np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    (media_dir / "noise.jpg").write_bytes(noise)
    error = failure(read_media, item("noise.jpg"), media_dir, LIMITS)
    assert error.kind == "unsupported"
    assert noise[:4].hex(" ") in error.reason  # it says what the file starts with
    assert failure(open_image, noise, LIMITS).kind == "unsupported"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_truncated_photo_is_corrupt_not_a_crash(fmt: str):
    data = encode(photo((300, 200), seed=2), fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    error = failure(open_image, data[: len(data) // 2], LIMITS)
    assert error.kind == "corrupt"
    assert fmt in error.reason
    assert not ImageFile.LOAD_TRUNCATED_IMAGES  # the fix was not a global switch


def test_a_png_declaring_ten_billion_pixels_is_a_bomb_found_without_allocating():
    data = png_declaring(100_000, 100_000)
    tracemalloc.start()
    try:
        error = failure(open_image, data, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == "bomb"
    assert "100000×100000" in error.reason
    assert "10 billion" in error.reason
    assert "40 million" in error.reason  # the limit
    assert peak < 5_000_000


def test_a_bomb_under_our_limit_is_still_stopped_by_pillows_own_check():
    generous = MediaLimits(max_pixels=10**12)
    # Over twice Pillow's MAX_IMAGE_PIXELS: its DecompressionBombError.
    error = failure(open_image, png_declaring(100_000, 100_000), generous)
    assert error.kind == "bomb"
    assert "100000×100000" in error.reason
    # Between once and twice: its DecompressionBombWarning, which is a bomb here too.
    error = failure(open_image, png_declaring(10_000, 10_000), generous)
    assert error.kind == "bomb"
    assert "10000×10000" in error.reason


def test_a_photo_over_the_pixel_limit_is_a_bomb_with_both_numbers():
    data = encode(Image.new("RGB", (3000, 2000), (9, 9, 9)), "PNG")
    error = failure(open_image, data, MediaLimits(max_pixels=5_000_000))
    assert error.kind == "bomb"
    assert error.reason == ("image is 3000×2000 pixels (6 million), over the limit of 5 million")


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(media_dir: Path):
    # A sparse file of 4 GB that starts like a JPEG: reading it would take minutes and memory.
    path = media_dir / "huge.jpg"
    with open(path, "wb") as stream:
        stream.write(b"\xff\xd8\xff\xe0" + b"\x00" * 60)
        stream.truncate(4 * 1024**3)
    tracemalloc.start()
    try:
        error = failure(read_media, item("huge.jpg"), media_dir, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == "too_large"
    assert error.reason == "huge.jpg: image is 4,294,967,296 bytes, over the limit of 30,000,000"
    assert peak < 1_000_000


def test_the_byte_limit_follows_the_content_not_the_declared_type(media_dir: Path):
    write_video(media_dir / "clip.mp4", seconds=1)
    size = (media_dir / "clip.mp4").stat().st_size
    small_images = MediaLimits(max_image_bytes=100)
    loaded = read_media(item("clip.mp4", kind="image"), media_dir, small_images)
    assert loaded.kind == "video"  # sniffed, though the post said image
    assert len(loaded.data) == size
    error = failure(read_media, item("clip.mp4"), media_dir, MediaLimits(max_video_bytes=100))
    assert error.kind == "too_large"
    assert f"video is {size:,} bytes, over the limit of 100" in error.reason


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (b"<svg width='10' height='10'></svg>", "SVG"),
        (b"just some notes, not a picture\n", "text file"),
        (b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n", "playlist"),
    ],
)
def test_drawings_text_and_playlists_are_unsupported(
    media_dir: Path, content: bytes, expected: str
):
    (media_dir / "thing.jpg").write_bytes(content)
    error = failure(read_media, item("thing.jpg"), media_dir, LIMITS)
    assert error.kind == "unsupported"
    assert expected in error.reason


def test_a_missing_file(media_dir: Path):
    error = failure(read_media, item("media/nowhere.jpg"), media_dir, LIMITS)
    assert error.kind == "missing"
    assert error.reason == "media/nowhere.jpg: no such file"


def test_a_folder_is_not_a_photo(media_dir: Path):
    (media_dir / "sub").mkdir()
    assert failure(read_media, item("sub"), media_dir, LIMITS).kind == "unsupported"


def test_an_item_without_path_or_url_and_a_url_without_fetching(media_dir: Path):
    assert failure(read_media, Media("m", "image"), media_dir, LIMITS).kind == "missing"
    error = failure(
        read_media, Media("m", "image", url="https://example.org/a.jpg"), media_dir, LIMITS
    )
    assert error.kind == "missing"
    assert "fetching is off" in error.reason


# -- paths ----------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["../secret.jpg", "media/../../secret.jpg", "/etc/passwd"])
def test_paths_out_of_the_posts_folder_are_refused(media_dir: Path, written: str):
    (media_dir.parent / "secret.jpg").write_bytes(encode(photo((8, 8)), "JPEG"))
    error = failure(read_media, item(written), media_dir, LIMITS)
    assert error.kind == "refused"
    assert "outside the posts file's folder" in error.reason


def test_an_absolute_path_inside_the_folder_and_dots_that_stay_inside_are_accepted(
    media_dir: Path,
):
    (media_dir / "a").mkdir()
    (media_dir / "a" / "p.png").write_bytes(encode(photo((8, 8)), "PNG"))
    assert read_media(item(str(media_dir / "a" / "p.png")), media_dir, LIMITS).kind == "image"
    assert read_media(item("a/../a/./p.png"), media_dir, LIMITS).kind == "image"
    assert inside("a/../a/p.png", media_dir) == media_dir / "a" / "p.png"


def test_a_symlink_is_followed_and_the_size_checked_on_its_target(media_dir: Path):
    target = media_dir.parent / "elsewhere.png"
    target.write_bytes(encode(photo((64, 64)), "PNG"))
    os.symlink(target, media_dir / "link.png")

    loaded = read_media(item("link.png"), media_dir, LIMITS)
    assert loaded.data == target.read_bytes()
    assert loaded.path == target.resolve()
    error = failure(read_media, item("link.png"), media_dir, MediaLimits(max_image_bytes=1000))
    assert error.kind == "too_large"
    assert f"{target.stat().st_size:,} bytes" in error.reason


# -- videos ---------------------------------------------------------------------------


def test_a_generated_video_is_probed(tmp_path: Path):
    path = write_video(tmp_path / "clip.mp4", seconds=3, size=(160, 120))
    info = probe_video(path, LIMITS)
    assert isinstance(info, VideoInfo)
    assert info.codec == "h264"
    assert (info.width, info.height) == (160, 120)
    assert 2.8 <= info.duration <= 3.3
    assert probe_video(path.read_bytes(), LIMITS) == info  # bytes give the same answer


def test_a_video_over_the_duration_limit_is_too_long(tmp_path: Path):
    path = write_video(tmp_path / "clip.mp4", seconds=3)
    error = failure(probe_video, path, MediaLimits(max_video_seconds=1))
    assert error.kind == "too_long"
    assert "3.0 seconds long, over the limit of 1 seconds" in error.reason


def test_a_video_with_frames_over_the_pixel_limit_is_a_bomb(tmp_path: Path):
    path = write_video(tmp_path / "clip.mp4", seconds=1, size=(160, 120))
    error = failure(probe_video, path, MediaLimits(max_pixels=10_000))
    assert error.kind == "bomb"
    assert "160×120" in error.reason


def test_a_truncated_mp4_is_corrupt(tmp_path: Path):
    path = write_video(tmp_path / "clip.mp4", seconds=3)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    error = failure(probe_video, cut, LIMITS)
    assert error.kind == "corrupt"
    assert "cut.mp4" in error.reason
    assert failure(probe_video, data[:200], LIMITS).kind == "corrupt"


def test_a_photo_or_a_text_file_is_not_a_video(tmp_path: Path):
    (tmp_path / "p.jpg").write_bytes(encode(photo((8, 8)), "JPEG"))
    (tmp_path / "notes.mp4").write_bytes(b"hello\n")
    assert failure(probe_video, tmp_path / "p.jpg", LIMITS).kind == "unsupported"
    assert failure(probe_video, tmp_path / "notes.mp4", LIMITS).kind == "unsupported"
    assert failure(probe_video, tmp_path / "gone.mp4", LIMITS).kind == "missing"


def test_sniffing_names_the_formats():
    assert sniff(encode(photo((8, 8)), "JPEG")[:512]) == ("image", "JPEG")
    assert sniff(encode(photo((8, 8)), "WEBP")[:512]) == ("image", "WEBP")
    assert sniff(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 20) == ("image", "HEIC")
    assert sniff(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 20) == ("video", "mov")
    assert sniff(b"\x1a\x45\xdf\xa3" + b"\x00" * 20) == ("video", "matroska")
    assert sniff(b"<svg></svg>") is None


def test_a_heic_photo_is_recognized_and_refused_as_unsupported():
    error = failure(open_image, b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, LIMITS)
    assert error.kind == "unsupported"
    assert "HEIC" in error.reason


def test_loaded_is_a_plain_record():
    loaded = Loaded(b"x", "ab", "image", "p.jpg")
    assert loaded.path is None


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(media_dir: Path):
    os.mkfifo(media_dir / "pipe.jpg")
    error = failure(read_media, item("pipe.jpg"), media_dir, LIMITS)
    assert error.kind == "unsupported"
    assert "not a regular file" in error.reason
