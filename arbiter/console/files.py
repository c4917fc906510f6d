"""Files the console shows: a post's media and the bank's reference files, never anything else.

A path comes from a stored post (whatever a platform submitted) or from a bank entry; it is
served only if it names a regular file inside one of the configured roots, checked twice:
on the path as written (no `..` or absolute path leading out) and on the file it really is
(no symbolic link leading out). The file must also be a photo or a video by its first bytes,
so a policy file or a hash list beside the references is never served.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from arbiter.media.load import HEAD_BYTES, sniff

MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIC": "image/heic",
    "AVIF": "image/avif",
    "mov": "video/mp4",
    "matroska": "video/webm",
    "avi": "video/x-msvideo",
    "flv": "video/x-flv",
    "ogg": "video/ogg",
    "mpeg": "video/mpeg",
    "mpegts": "video/mp2t",
}
HASH_LIST_LINE = re.compile(r"^(.+):([0-9]+)$")  # a bank entry read from a hash list: file:line
_TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


@dataclass(frozen=True, slots=True)
class Shown:
    """A file the console may serve: where it is, what it is, and a photo's upright size."""

    path: Path
    kind: str  # image | video
    media_type: str
    size: tuple[int, int] | None = None


def under(written: str, roots: Sequence[Path]) -> Path | None:
    """The regular file `written` names inside the first root that has it; None otherwise."""
    if not written or "\x00" in written or len(written) > 4096:
        return None
    for root in roots:
        base = os.path.realpath(root)
        candidate = os.path.normpath(os.path.join(base, written))  # absolute: replaces base
        if os.path.commonpath([base, candidate]) != base:
            continue  # `..` or an absolute path outside the root
        real = os.path.realpath(candidate)
        if os.path.commonpath([base, real]) != base:
            continue  # a symbolic link leading out of the root
        if os.path.isfile(real):
            return Path(real)
    return None


def shown(written: str, roots: Sequence[Path]) -> Shown | None:
    """The photo or video `written` names under `roots`, or None (absent, outside, other)."""
    path = under(written, roots)
    if path is None:
        return None
    try:
        with open(path, "rb") as stream:
            head = stream.read(HEAD_BYTES)
    except OSError:
        return None
    found = sniff(head)
    if found is None or found[1] not in MEDIA_TYPES:
        return None
    kind, fmt = found
    size = _upright_size(path) if kind == "image" else None
    return Shown(path, kind, MEDIA_TYPES[fmt], size)


def _upright_size(path: Path) -> tuple[int, int] | None:
    """A photo's width and height as browsers draw it (EXIF orientation applied)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112)
    except Exception:  # an unreadable photo is shown (or not) by the browser, without a box
        return None
    return (height, width) if orientation in _TURNED else (width, height)


def hash_list_entry(source: str) -> bool:
    """Whether a bank entry came from a shared hash list (there is no image to show)."""
    return HASH_LIST_LINE.match(source) is not None
