"""What media processing produces and what can go wrong, shared by loading, hashing and OCR."""

from __future__ import annotations

from dataclasses import dataclass

# Dihedral variants of an image, named by what the transform does (pdq.DIHEDRAL_ORDER maps
# them to pdqhash's order, which differs: its "flipx" is flip-v).
VARIANTS = (
    "original",
    "rot90",
    "rot180",
    "rot270",
    "flip-h",
    "flip-v",
    "flip-diag",
    "flip-antidiag",
)


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Limits on what Arbiter will read; each is configurable from the command line."""

    max_image_bytes: int = 30_000_000
    max_video_bytes: int = 500_000_000
    max_pixels: int = 40_000_000  # decompression bombs stop here
    max_video_seconds: float = 900.0
    fetch_timeout: float = 15.0  # seconds for one download, connect to last byte
    allow_private: bool = False  # fetch from private, loopback or link-local addresses


class MediaError(Exception):
    """A media item that could not be used; `kind` is machine-readable, `reason` is for people."""

    KINDS = (
        "missing",  # no such file
        "too_large",  # over a byte limit
        "bomb",  # over the pixel limit
        "too_long",  # a video over the duration limit
        "unsupported",  # not an image or video format Arbiter reads
        "corrupt",  # truncated or malformed
        "unreachable",  # a URL that could not be fetched
        "refused",  # a URL Arbiter will not fetch (scheme, private address, redirect there)
        "timeout",
    )

    def __init__(self, kind: str, reason: str):
        assert kind in self.KINDS, kind
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PdqHash:
    """One PDQ hash of an image, of a variant or of a region of it."""

    hex: str  # 64 hex digits, 256 bits
    quality: int  # 0-100; the PDQ authors advise ignoring hashes under 50
    variant: str = "original"  # one of VARIANTS
    region: str = "full"  # full | trimmed (uniform borders cut) | crop:<name>


@dataclass(frozen=True, slots=True)
class FrameHash:
    """The PDQ hash of one sampled video frame."""

    index: int
    seconds: float
    hex: str
    quality: int


@dataclass(frozen=True, slots=True)
class VideoHash:
    """A video's vPDQ: the PDQ hashes of its sampled frames."""

    frames: tuple[FrameHash, ...]
    duration: float  # seconds
    frames_per_second_sampled: float


@dataclass(frozen=True, slots=True)
class TextRegion:
    """A line of text OCR found, with where it is in the image (pixels)."""

    text: str
    box: tuple[int, int, int, int]  # left, top, width, height
    confidence: float  # 0-100


@dataclass(frozen=True, slots=True)
class OcrResult:
    """The text OCR read in an image, line by line."""

    text: str  # the lines joined by newlines
    regions: tuple[TextRegion, ...]
    languages: str  # e.g. "fas+ara+eng"
