"""Reading a post's photos and videos without trusting them.

Every check that can be made before reading or decoding is made first: the
path stays inside the posts file's folder, the size is checked on the real
file before a byte is read, the kind is taken from the content's first bytes
(not the name or the post's word for it), an image's dimensions are checked
from its header before its pixels are decoded, and a video is opened with a
demuxer chosen from its first bytes, never one FFmpeg guesses (a playlist
format could make FFmpeg open other files or URLs). Whatever goes wrong
becomes a `MediaError` whose `kind` a program can act on and whose `reason` a
person can read.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import time
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from arbiter.media.model import MediaError, MediaLimits
from arbiter.model import Media

Kind = Literal["image", "video"]

# Pillow plugins Arbiter lets read a file (Image.open tries only these).
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
VIDEO_TIMEOUT = 30.0  # seconds to open a video and decode its first frame
MAX_PROBE_PACKETS = 2000  # packets read looking for a first frame or the duration
HEAD_BYTES = 512  # what sniffing reads

# The errors Pillow's decoders raise on malformed input.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    TypeError,
    KeyError,
    ZeroDivisionError,
)


@dataclass(frozen=True, slots=True)
class Loaded:
    """A media item's bytes, read within the limits."""

    data: bytes
    sha256: str  # hex digest of `data`
    kind: Kind
    source: str  # the path (as written in the post) or URL it came from
    path: Path | None = None  # the file on disk, when it came from one (for video decoders)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    duration: float  # seconds
    width: int
    height: int
    codec: str  # FFmpeg's decoder name, e.g. h264


# -- reading --------------------------------------------------------------------------


def read_media(item: Media, base: Path, limits: MediaLimits, fetch: bool = False) -> Loaded:
    """Read a post's media item from `item.path` (relative to `base`) or, with `fetch`, its URL.

    Paths: relative to `base`, the posts file's folder; an absolute path is accepted only
    when it lies inside `base`, and `..` may not climb out of it. This is checked on the
    path as written, so a symbolic link inside the folder is followed wherever it points:
    putting one there is the operator's decision, like choosing the folder. The byte
    limit is checked on the file the link leads to, before reading it.

    The kind (image or video) comes from the content's first bytes; the post's `type`
    only chooses the byte limit for a download, before the content is seen. A file that
    is neither is refused as unsupported, whatever the post calls it.
    """
    if item.path:
        return _read_file(item.path, base, limits)
    if item.url:
        if not fetch:
            raise MediaError("missing", f"{item.url}: only a URL is given and fetching is off")
        return _read_url(item, limits)
    raise MediaError("missing", "the media item has neither a path nor a URL")


def _read_file(written: str, base: Path, limits: MediaLimits) -> Loaded:
    path = inside(written, base)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise MediaError("missing", f"{written}: no such file") from None
    except PermissionError:
        raise MediaError("missing", f"{written}: cannot be read (permission denied)") from None
    except OSError as error:
        raise MediaError("missing", f"{written}: cannot be opened ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise MediaError("unsupported", f"{written}: is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise MediaError("unsupported", f"{written}: is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb", closefd=True) as stream:
        size = info.st_size
        if size == 0:
            raise MediaError("corrupt", f"{written}: the file is empty (0 bytes)")
        head = stream.read(HEAD_BYTES)
        kind = _kind_of(head, written)
        limit = _limit(kind, limits)
        if size > limit:
            raise MediaError("too_large", _too_large(written, size, kind, limit))
        data = head + stream.read(limit + 1 - len(head))
    if len(data) > limit:  # the file grew after it was measured
        raise MediaError("too_large", _too_large(written, len(data), kind, limit))
    return Loaded(
        data, hashlib.sha256(data).hexdigest(), kind, written, Path(os.path.realpath(path))
    )


def inside(written: str, base: Path) -> Path:
    """The path `written` names relative to `base`, refused if it leads out of `base`."""
    if "\x00" in written:
        raise MediaError("refused", "the media path contains a NUL character")
    folder = os.path.normpath(os.path.abspath(base))
    path = os.path.normpath(os.path.join(folder, written))  # an absolute path replaces folder
    if os.path.commonpath([folder, path]) != folder:
        raise MediaError("refused", f"{written}: outside the posts file's folder ({folder})")
    return Path(path)


def _read_url(item: Media, limits: MediaLimits) -> Loaded:
    from arbiter.media.fetch import fetch_url

    declared = item.type if item.type in ("image", "video") else None
    ceiling = (
        _limit(declared, limits)
        if declared
        else max(limits.max_image_bytes, limits.max_video_bytes)
    )
    data = fetch_url(item.url, limits, ceiling)
    if not data:
        raise MediaError("corrupt", f"{item.url}: the server sent an empty body")
    kind = _kind_of(data[:HEAD_BYTES], item.url)
    limit = _limit(kind, limits)
    if len(data) > limit:
        raise MediaError("too_large", _too_large(item.url, len(data), kind, limit))
    return Loaded(data, hashlib.sha256(data).hexdigest(), kind, item.url)


def _limit(kind: str, limits: MediaLimits) -> int:
    return limits.max_image_bytes if kind == "image" else limits.max_video_bytes


def _too_large(source: str, size: int, kind: str, limit: int) -> str:
    return f"{source}: {kind} is {size:,} bytes, over the limit of {limit:,}"


# -- sniffing -------------------------------------------------------------------------


def sniff(head: bytes) -> tuple[Kind, str] | None:
    """(kind, format) from a file's first bytes, or None for anything Arbiter does not read.

    Image formats are Pillow's names (HEIC and AVIF photos are recognized, and refused
    later as unsupported); video formats are the FFmpeg demuxers used to open them.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image", "TIFF"
    if head[:2] == b"BM" and len(head) >= 18:
        header_size = struct.unpack("<I", head[14:18])[0]
        if header_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return "image", "BMP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "image", "HEIC"
        if brand in (b"avif", b"avis"):
            return "image", "AVIF"
        return "video", "mov"  # MP4, MOV, 3GP, M4V: FFmpeg's mov demuxer
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "video", "mov"  # QuickTime files without an ftyp box
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video", "matroska"  # Matroska and WebM
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", "avi"
    if head.startswith(b"FLV\x01"):
        return "video", "flv"
    if head.startswith(b"OggS"):
        return "video", "ogg"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "video", "mpeg"
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "video", "mpegts"
    return None


def _kind_of(head: bytes, source: str) -> Kind:
    found = sniff(head)
    if found is None:
        raise MediaError("unsupported", f"{source}: {_describe(head)}")
    return found[0]


def _describe(head: bytes) -> str:
    """What a file that is neither a photo nor a video seems to be, for the reason."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text[:HEAD_BYTES] or (text.startswith(b"<?xml") and b"svg" in text):
        return "an SVG drawing; Arbiter reads photos (JPEG, PNG, GIF, WebP, BMP, TIFF) and videos"
    if text.startswith((b"<!doctype html", b"<html")):
        return "an HTML page, not a photo or video"
    if text.startswith(b"%pdf"):
        return "a PDF document, not a photo or video"
    if text.startswith(b"#extm3u"):
        return "a playlist (M3U/HLS), not a photo or video; playlists are not followed"
    try:
        head.decode("utf-8")
        if all(c >= 32 or c in (9, 10, 13) for c in head[:64]):
            return "a text file, not a photo or video"
    except UnicodeDecodeError:
        pass
    return f"not a photo or video format Arbiter reads (it starts with {head[:8].hex(' ')})"


# -- images ---------------------------------------------------------------------------


def open_image(data: bytes, limits: MediaLimits, *, orient: bool = True) -> Image.Image:
    """Decode a photo (the first frame of an animation) as an RGB or L image.

    The dimensions are read from the header and checked against `limits.max_pixels`
    before any pixel is decoded; Pillow's own decompression-bomb error and warning are
    turned into MediaError("bomb") too. The file is verified, then reopened and decoded;
    a truncated or malformed file is MediaError("corrupt").

    `orient` applies the EXIF orientation (a phone photo stored sideways is turned
    upright), which is what people see and what a re-upload usually carries. Hash
    listings differ here: some PDQ implementations hash the stored pixels without the
    EXIF rotation, so a conformance test against such a listing needs `orient=False`.

    Modes are reduced to RGB or L: palette, CMYK, YCbCr, LAB and HSV to RGB; 1-bit and
    16- or 32-bit greyscale to L (16-bit scaled to 8, wider ranges stretched); images
    with transparency are laid over white, as most viewers show them.
    """
    if not data:
        raise MediaError("corrupt", "the image is empty (0 bytes)")
    found = sniff(data[:HEAD_BYTES])
    if found is None or found[0] != "image":
        what = _describe(data[:HEAD_BYTES]) if found is None else f"a {found[1]} video"
        raise MediaError("unsupported", f"not a photo: {what}")
    if found[1] not in IMAGE_FORMATS:
        raise MediaError(
            "unsupported",
            f"{found[1]} photos are not read; formats read: {', '.join(IMAGE_FORMATS)}",
        )
    fmt, (width, height) = _header(data, found[1])
    check_pixels(width, height, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
                probe.verify()
            image: Image.Image = Image.open(io.BytesIO(data), formats=[fmt])
            image.load()
            if orient:
                image = _upright(image)
            return _to_rgb_or_l(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise MediaError("bomb", _bomb_reason(error, width, height, limits)) from None
    except MediaError:
        raise
    except UnidentifiedImageError:
        raise MediaError("corrupt", f"a malformed {fmt} file Pillow cannot identify") from None
    except MemoryError:
        raise MediaError("bomb", f"decoding the {width}×{height} {fmt} ran out of memory") from None
    except _DECODE_ERRORS as error:
        raise MediaError("corrupt", f"a truncated or malformed {fmt} file ({error})") from None


def check_pixels(width: int, height: int, limits: MediaLimits) -> None:
    """MediaError("bomb") when width×height is over `limits.max_pixels`; corrupt if empty."""
    if width <= 0 or height <= 0:
        raise MediaError("corrupt", f"the header declares an empty picture ({width}×{height})")
    pixels = width * height
    if pixels > limits.max_pixels:
        raise MediaError(
            "bomb",
            f"image is {width}×{height} pixels ({_count(pixels)}), "
            f"over the limit of {_count(limits.max_pixels)}",
        )


def _header(data: bytes, fmt: str) -> tuple[str, tuple[int, int]]:
    """Format and size from the header alone, through the plugin, with no pixel decoded.

    Image.open would run Pillow's own bomb check first, whose message gives no width and
    height; the plugin's constructor only parses the header.
    """
    Image.init()
    factory, accept = Image.OPEN[fmt]
    if accept is not None and not accept(data[:16]):
        raise MediaError("corrupt", f"a malformed {fmt} header")
    try:
        image: Any = factory(io.BytesIO(data), "")
        try:
            size = image.size
        finally:
            image.close()
    except MemoryError:
        raise MediaError("bomb", f"the {fmt} header asks for more memory than there is") from None
    except _DECODE_ERRORS as error:
        raise MediaError("corrupt", f"a truncated or malformed {fmt} file ({error})") from None
    return fmt, (int(size[0]), int(size[1]))


def _bomb_reason(error: Exception, width: int, height: int, limits: MediaLimits) -> str:
    return (
        f"image is {width}×{height} pixels ({_count(width * height)}), over the "
        f"decompression-bomb limit of the image library ({error})"
    )


def _count(n: int) -> str:
    """Pixels for people: 40 million, 3.6 billion, 640,000."""
    for size, word in ((1_000_000_000, "billion"), (1_000_000, "million")):
        if n >= size:
            value = n / size
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {word}"
    return f"{n:,}"


def _upright(image: Image.Image) -> Image.Image:
    try:
        turned = ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        return image  # unreadable EXIF: keep the pixels as stored
    return turned if turned is not None else image


def _to_rgb_or_l(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("RGB", "L") and "transparency" not in image.info:
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I") or mode == "F":
        return _grey_from_wide(image)
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(white, rgba).convert("RGB")
        return flat.convert("L") if mode in ("LA", "La", "L") else flat
    try:
        return image.convert("RGB")
    except ValueError as error:
        raise MediaError("unsupported", f"pixel mode {mode} cannot be read ({error})") from None


def _grey_from_wide(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit or float greyscale as 8-bit L."""
    values = np.asarray(image)
    if values.ndim != 2:
        return image.convert("L")
    wide = values.astype(np.float64)
    low, high = (float(wide.min()), float(wide.max())) if wide.size else (0.0, 0.0)
    if image.mode.startswith("I;16") or (low >= 0 and 255 < high <= 65535):
        scaled = wide / 257.0
    elif low >= 0 and high <= 255:
        scaled = wide
    elif high > low:
        scaled = (wide - low) * (255.0 / (high - low))
    else:
        scaled = np.zeros_like(wide)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


# -- videos ---------------------------------------------------------------------------


def probe_video(
    source: Path | bytes, limits: MediaLimits, *, timeout: float = VIDEO_TIMEOUT
) -> VideoInfo:
    """Open a video, check its duration and frame size, and decode its first frame.

    `source` is a file or the video's bytes. The demuxer is chosen from the first bytes
    (FFmpeg is not left to guess), FFmpeg's I/O is interrupted after `timeout` seconds,
    and at most MAX_PROBE_PACKETS packets are read. An unreadable file is "corrupt" (or
    "unsupported" when it is no video container), a longer one than
    `limits.max_video_seconds` is "too_long".

    The duration is the one the container declares (or, when it declares none, the
    last timestamp within the packets read); a decoder that samples frames later must
    still stop at the limit, since a file can understate its length.
    """
    name = str(source) if isinstance(source, Path) else "the video"
    if isinstance(source, Path):
        try:
            with open(source, "rb") as stream:
                head = stream.read(HEAD_BYTES)
        except FileNotFoundError:
            raise MediaError("missing", f"{name}: no such file") from None
        except OSError as error:
            raise MediaError("missing", f"{name}: cannot be read ({error.strerror})") from None
    else:
        head = source[:HEAD_BYTES]
    if not head:
        raise MediaError("corrupt", f"{name}: the file is empty (0 bytes)")
    found = sniff(head)
    if found is None or found[0] != "video":
        what = _describe(head) if found is None else f"a {found[1]} photo"
        raise MediaError("unsupported", f"{name}: not a video: {what}")
    deadline = time.monotonic() + timeout
    target: Any = str(source) if isinstance(source, Path) else io.BytesIO(source)
    try:
        container = av.open(
            target,
            mode="r",
            format=found[1],
            timeout=(timeout, timeout),
            container_options={"protocol_whitelist": "file"},
        )
    except av.error.ExitError:
        raise MediaError("timeout", f"{name}: opening took longer than {timeout:g} s") from None
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise MediaError("corrupt", f"{name}: not a readable {found[1]} file ({error})") from None
    try:
        return _probe(container, name, limits, deadline, timeout)
    except av.error.ExitError:
        raise MediaError("timeout", f"{name}: reading took longer than {timeout:g} s") from None
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise MediaError("corrupt", f"{name}: a truncated or malformed video ({error})") from None
    finally:
        container.close()


def _probe(
    container: Any, name: str, limits: MediaLimits, deadline: float, timeout: float
) -> VideoInfo:
    if not container.streams.video:
        raise MediaError("unsupported", f"{name}: has no video stream")
    stream = container.streams.video[0]
    codec = str(stream.codec_context.name)
    duration = _declared_duration(container, stream)
    if duration is not None:
        _check_duration(duration, name, limits)
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    if width and height:
        _check_frame(width, height, name, limits)
    decoded = False
    last = 0.0
    for count, packet in enumerate(container.demux(stream)):
        if time.monotonic() > deadline:
            raise MediaError("timeout", f"{name}: reading took longer than {timeout:g} s")
        if count >= MAX_PROBE_PACKETS:
            break
        if packet.pts is not None and packet.time_base is not None:
            last = max(last, float(packet.pts * packet.time_base))
            if duration is None:
                _check_duration(last, name, limits)
        if not decoded:
            for frame in packet.decode():
                width, height = int(frame.width), int(frame.height)
                _check_frame(width, height, name, limits)
                decoded = True
                break
        if decoded and duration is not None:
            break
    if not decoded:
        raise MediaError("corrupt", f"{name}: no frame could be decoded")
    return VideoInfo(
        duration=duration if duration is not None else last,
        width=width,
        height=height,
        codec=codec,
    )


def _declared_duration(container: Any, stream: Any) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / av.time_base
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * Fraction(stream.time_base))
    return None


def _check_duration(seconds: float, name: str, limits: MediaLimits) -> None:
    if seconds > limits.max_video_seconds:
        raise MediaError(
            "too_long",
            f"{name}: video is {seconds:.1f} seconds long, over the limit of "
            f"{limits.max_video_seconds:g} seconds",
        )


def _check_frame(width: int, height: int, name: str, limits: MediaLimits) -> None:
    if width * height > limits.max_pixels:
        raise MediaError(
            "bomb",
            f"{name}: frames are {width}×{height} pixels ({_count(width * height)}), "
            f"over the limit of {_count(limits.max_pixels)}",
        )
