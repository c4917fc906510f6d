"""PDQ hashes of photos: what a posted photo is matched with and what a banked photo contributes.

PDQ (Meta's perceptual hash, via the `pdqhash` package) gives 256 bits and a quality
from 0 to 100; two hashes within Hamming distance 31 are the usual match. PDQ survives
re-encoding, resizing, colour changes and small overlays, and its eight dihedral
variants cover rotations by 90 degrees and flips. It does not survive geometry that
moves the frame: an added border, or a crop keeping 85% of the area, moves a hash
50-110 bits away, and a crop moving one edge by 2% already costs 18-48 bits.

What is done about it here:

- `trim_borders` cuts uniform padding (letterboxing, a frame, padding to a square,
  with a logo sitting on it) off the query and the reference, so a bordered copy
  hashes like its content. Trimming is a guess, so both sides keep the untrimmed
  hashes too.
- `reference_hashes` stores, besides the whole photo, the PDQ of 36 sub-crops
  (`CROP_GRID`: areas 95/90/85/80% at the centre, the four corners and the four
  sides). A query cropped at one of those places and scales lands within a few bits
  of a stored crop; between grid points PDQ's tolerance (about 1% of the frame)
  leaves gaps. Measured over crops keeping 80-99% of six photos at the centre, the
  corners and the sides in 1% steps (tests/media/test_pdq.py prints the table):
  93.6% matched with these 36 crops (97% with 45, five areas, in an exploratory
  run); crops at random places and aspect ratios match about a third of the time.
  Those need keypoint matching with geometric verification as a second stage.
- Queries and references are hashed at a canonical size (`hash_photo`, see
  `CANONICAL_SIDE`), which makes the dihedral variants exact for small photos and
  the hash steadier under resizing; the plain PDQ of the photo (`hash_image`, what
  other tools compute and exchange) comes first in both lists, so shared hash lists
  match as they always do.

Variant names are those of `VARIANTS`, given by what the transform does, checked
against the dihedral conformance images: pdqhash computes them in the order
original, rotate 90, rotate 180, rotate 270, flip about the x axis (upside down),
flip about the y axis (mirror), transpose, anti-transpose. A query hash with variant
`v` is the PDQ of the posted photo transformed by `v`: rot90 is a quarter turn
counter-clockwise (Pillow's ROTATE_90), flip-h mirrors left and right, flip-v turns
upside down, flip-diag transposes (Pillow's TRANSPOSE), flip-antidiag transposes
about the other diagonal (Pillow's TRANSVERSE). When a query's rot90 matches, the
posted photo is the reference turned a quarter clockwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pdqhash  # type: ignore[import-untyped]
from PIL import Image

from arbiter.media.model import VARIANTS, PdqHash

MIN_QUALITY = 50  # the PDQ authors advise ignoring hashes of lower quality
MATCH_DISTANCE = 31  # the usual PDQ match threshold

# pdqhash.compute_dihedral's order, named by what each transform does (verified
# against pdq/data/reg-test-input/dih/: bridge-5-flipx is the photo upside down,
# bridge-6-flipy is its mirror image).
DIHEDRAL_ORDER = (
    "original",
    "rot90",
    "rot180",
    "rot270",
    "flip-v",
    "flip-h",
    "flip-diag",
    "flip-antidiag",
)
assert sorted(DIHEDRAL_ORDER) == sorted(VARIANTS)

# Pillow transposition giving each variant, for tests and for callers showing evidence.
VARIANT_TRANSPOSE: dict[str, Image.Transpose | None] = {
    "original": None,
    "rot90": Image.Transpose.ROTATE_90,
    "rot180": Image.Transpose.ROTATE_180,
    "rot270": Image.Transpose.ROTATE_270,
    "flip-v": Image.Transpose.FLIP_TOP_BOTTOM,
    "flip-h": Image.Transpose.FLIP_LEFT_RIGHT,
    "flip-diag": Image.Transpose.TRANSPOSE,
    "flip-antidiag": Image.Transpose.TRANSVERSE,
}

# The crop grid a reference contributes: kept area x position. Positions: c (centre),
# tl/tr/bl/br (a corner kept, both sides scaled by sqrt(area)), l/r/t/b (that side
# kept, the opposite side cut, the other dimension whole).
CROP_AREAS = (0.95, 0.90, 0.85, 0.80)
CROP_POSITIONS = ("c", "tl", "tr", "bl", "br", "l", "r", "t", "b")
CROP_GRID: tuple[tuple[float, str], ...] = tuple(
    (area, position) for area in CROP_AREAS for position in CROP_POSITIONS
)

# Photos are hashed from a copy no larger than this on its long side (reduced by a
# whole factor with a box filter, which moves PDQ by up to 6 bits on the conformance
# photos); hash_image alone hashes the image as given.
WORK_SIDE = 1024  # a 1600-pixel photo is hashed from a third: 8x fewer pixels to filter

# hash_photo resizes to CANONICAL_SIDE x CANONICAL_SIDE (Lanczos) before PDQ. PDQ
# reduces any image to 64 x 64 with box filters whose window and sample positions
# are centred only when the side is an odd multiple of 64 with an odd window (64,
# 320, 576, ...); at other sizes a 256-pixel photo and its mirror image hash 28-66
# bits apart where they should hash alike. At 64 the Lanczos filter is the only
# low-pass, and it was the steadiest of 64/320/576/832 over the edits in
# tests/media/photos.py (largest distance after resizing to 40%: 8 against 22-30).
# For photos of 1000 pixels or more it stays 4-12 bits from the plain PDQ. The aspect
# ratio does not matter: PDQ squares every image anyway.
CANONICAL_SIDE = 64
CANONICAL_FILTER = Image.Resampling.LANCZOS

# Border detection (trim_borders), in 8-bit levels.
_PIXEL_TOLERANCE = 12  # a border pixel may differ this much from the border colour (JPEG noise)
_LINE_SHARE = 0.98  # share of a border line's pixels within that tolerance
_MEAN_TOLERANCE = 4.0  # a border line's mean colour stays this close to the border colour
_EDGE_LOOKAHEAD = 16  # lines past the border searched for the edge of the content (a JPEG MCU)
_EDGE_LEVELS = 2 * _PIXEL_TOLERANCE  # the edge: a line whose pixels differ this much from
_EDGE_SHARE = 0.25  # the border colour on average, or this share of them do
_OVERLAY_SHARE = 0.5  # a line of border under a logo: at least half of it border colour,
_OVERLAY_WIDTH = 0.5  # the rest within this share of the width,
_OVERLAY_LINES = 0.15  # and such lines no more than this share of the dimension
_CHUNK = 32  # lines examined at a time
_MIN_CONTENT = 0.1  # never trim to less than this share of a dimension


def distance(a_hex: str, b_hex: str) -> int:
    """Hamming distance between two PDQ hashes given as hex."""
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def usable(h: PdqHash) -> bool:
    """Whether a hash has the quality PDQ's authors ask for before matching it."""
    return h.quality >= MIN_QUALITY


def hash_image(image: Image.Image) -> PdqHash:
    """Plain PDQ of the whole image, as pdqhash and python-threatexchange compute it."""
    bits, quality = pdqhash.compute(_rgb(image))
    return PdqHash(_hex(bits), int(quality))


def hash_photo(image: Image.Image) -> PdqHash:
    """PDQ of the image brought to the canonical size first: how queries and references hash.

    See CANONICAL_SIDE: at that size PDQ's downscaling is symmetric, so a mirrored
    or rotated copy hashes like the matching dihedral variant, and photos of any
    resolution are filtered the same way.
    """
    bits, quality = pdqhash.compute(_canonical(image))
    return PdqHash(_hex(bits), int(quality))


def dihedral_hashes(image: Image.Image, region: str = "full") -> list[PdqHash]:
    """The PDQ of the image (at the canonical size) in each of its eight dihedral variants."""
    vectors, quality = pdqhash.compute_dihedral(_canonical(image))
    return [
        PdqHash(_hex(bits), int(quality), variant, region)
        for bits, variant in zip(vectors, DIHEDRAL_ORDER, strict=True)
    ]


def query_hashes(image: Image.Image) -> list[PdqHash]:
    """What a posted photo is matched with.

    First the plain PDQ of the photo as posted (variant "original", region "full":
    what shared hash lists hold; hashed from the working copy, a few bits from the
    full-size hash, because queries are the hot path). Then, at the canonical size,
    the eight dihedral variants of the photo with uniform borders trimmed (region
    "trimmed", or "full" if there was nothing to trim) and, if trimming changed it,
    the eight variants of the untrimmed photo (region "full"): a border may belong
    to the picture the reference was cropped from. Hashes repeating an earlier one
    are left out; hashes of low quality are returned with their quality (filter
    with `usable`).
    """
    work = _working_copy(image)
    found = [hash_image(work)]
    trimmed = trim_borders(work)
    if trimmed is work:
        found += dihedral_hashes(work, "full")
    else:
        found += dihedral_hashes(trimmed, "trimmed") + dihedral_hashes(work, "full")
    return _unique(found)


def reference_hashes(image: Image.Image) -> list[PdqHash]:
    """What a banked photo contributes: the whole photo, its trimmed content and its crop grid.

    First the plain PDQ of the photo (region "full", the hash to export to shared
    lists), then at the canonical size: the photo ("full"), its trimmed content
    ("trimmed", if it had uniform borders), and "crop:<area>-<position>" for each
    entry of CROP_GRID. The crops are cut from the photo as it is when trimming kept
    at least 90% of its area (thin strips belong to the picture a reposter crops),
    from the trimmed content otherwise (padding and letterboxing are not what a
    crop keeps). All in variant "original": queries bring the dihedral variants. At
    most 39 hashes; repeats are left out; low-quality ones are kept with their quality.
    """
    work = _working_copy(image)
    # The plain PDQ of the photo as given, at full size: the hash shared lists exchange.
    found = [hash_image(image), _with(hash_photo(work), region="full")]
    content = trim_borders(work)
    if content is not work:
        found.append(_with(hash_photo(content), region="trimmed"))
    source = content if content.width * content.height < 0.9 * work.width * work.height else work
    for area, position in CROP_GRID:
        region = source.crop(crop_box(source.size, area, position))
        found.append(_with(hash_photo(region), region=f"crop:{area:.2f}-{position}"))
    return _unique(found)


def crop_box(size: tuple[int, int], area: float, position: str) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) keeping `area` of an image at `position`."""
    width, height = size
    if position in ("l", "r"):
        fx, fy = area, 1.0
    elif position in ("t", "b"):
        fx, fy = 1.0, area
    else:
        fx = fy = math.sqrt(area)
    w = max(1, round(width * fx))
    h = max(1, round(height * fy))
    if position in ("c", "t", "b"):
        left = (width - w) // 2
    elif position in ("tr", "br", "r"):
        left = width - w
    else:
        left = 0
    if position in ("c", "l", "r"):
        top = (height - h) // 2
    elif position in ("bl", "br", "b"):
        top = height - h
    else:
        top = 0
    return (left, top, left + w, top + h)


def trim_borders(image: Image.Image) -> Image.Image:
    """The image without uniform borders; the same object if it has none.

    A border is a run of lines (rows from the top or bottom, columns from the left
    or right) of one colour, taken from the outermost line: at least 98% of each
    line's pixels within 12 levels of it and each line's mean within 4 levels. JPEG
    keeps flat padding within a few levels; the ringing next to the content may
    leave a few lines of border uncut, which PDQ does not notice. A logo or handle
    sitting on the border (lines at least half border colour, the rest within half
    of the width, together at most 15% of the dimension) is cut with it. The border
    is cut only where it ends at the edge of something (within 16 lines, a quarter
    of a line's pixels, or its pixels on average, differ from the border colour by
    more than 24 levels), so a smooth gradient such as a clear sky is not mistaken
    for padding. Any colour counts, not only black; a plain studio background
    reaching the edge of a photo is indistinguishable from padding and is cut too,
    which is why queries and references also keep the untrimmed hashes. An image
    that is all border, or that would keep less than 10% of a dimension, is left
    whole.
    """
    box = border_box(image)
    if box == (0, 0, image.width, image.height):
        return image
    return image.crop(box)


def border_box(image: Image.Image) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) of the content inside uniform borders."""
    # uint8: the whole image in int16 cost as much as hashing it; lines are widened as read.
    pixels = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
    height, width = pixels.shape[:2]
    left, top, right, bottom = 0, 0, width, height
    for _ in range(2):  # a second pass sees sides that the first pass's borders hid
        before = (left, top, right, bottom)
        inner = pixels[top:bottom, left:right]
        top_cut = _border_lines(inner)
        bottom_cut = _border_lines(inner[::-1])
        if top_cut + bottom_cut <= (bottom - top) * (1 - _MIN_CONTENT):
            top, bottom = top + top_cut, bottom - bottom_cut
        inner = pixels[top:bottom, left:right].transpose(1, 0, 2)
        left_cut = _border_lines(inner)
        right_cut = _border_lines(inner[::-1])
        if left_cut + right_cut <= (right - left) * (1 - _MIN_CONTENT):
            left, right = left + left_cut, right - right_cut
        if (left, top, right, bottom) == before:
            break
    return (left, top, right, bottom)


def _border_lines(pixels: np.ndarray[Any, np.dtype[np.uint8]]) -> int:
    """How many leading lines (rows of `pixels`) are a uniform border ending at content."""
    lines, width = pixels.shape[:2]
    if lines < 2 or width == 0:
        return 0
    colour = np.median(pixels[0].astype(np.int16), axis=0).round().astype(np.int16)
    limit = lines // 2  # a border covers at most half of the image on one side
    overlay_budget = int(lines * _OVERLAY_LINES)
    cut = 0  # lines known to be border
    line = 0
    # Lines are read in chunks, so an image without borders costs one chunk.
    while line < limit:
        # Most photos have no border: two lines say so before a whole chunk is read.
        size = 2 if line == 0 else _CHUNK
        kinds = _line_kinds(pixels[line : line + size].astype(np.int16), colour)
        for kind in kinds.tolist():
            if kind == _PURE:
                cut = line + 1
            elif kind == _OVERLAY and cut > 0 and overlay_budget > 0:
                overlay_budget -= 1  # a logo or handle sitting on the border
            else:
                line = lines  # content: stop
                break
            line += 1
            if line >= limit:
                break
    if cut == 0 or cut >= limit:
        return 0  # no border, or mostly uniform: nothing to tell border from content
    ahead = pixels[cut : cut + _EDGE_LOOKAHEAD].astype(np.int16)
    deviation = np.abs(ahead - colour).max(axis=2)
    off = (deviation > _EDGE_LEVELS).mean(axis=1)
    edge = off.max() >= _EDGE_SHARE or deviation.mean(axis=1).max() >= _EDGE_LEVELS
    return cut if edge else 0


_CONTENT, _OVERLAY, _PURE = 0, 1, 2


def _line_kinds(
    lines: np.ndarray[Any, np.dtype[np.int16]], colour: np.ndarray[Any, np.dtype[np.int16]]
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Each line as content, border under an overlay, or pure border of `colour`."""
    off = np.abs(lines - colour).max(axis=2) > _PIXEL_TOLERANCE
    within = 1 - off.mean(axis=1)
    drift = np.abs(lines.mean(axis=1) - colour).max(axis=1)
    pure = (within >= _LINE_SHARE) & (drift <= _MEAN_TOLERANCE)
    width = lines.shape[1]
    first = off.argmax(axis=1)
    last = width - 1 - off[:, ::-1].argmax(axis=1)
    narrow = (last - first + 1) <= _OVERLAY_WIDTH * width
    overlay = ~pure & (within < _LINE_SHARE) & (within >= _OVERLAY_SHARE) & narrow
    return np.where(pure, _PURE, np.where(overlay, _OVERLAY, _CONTENT))


def _working_copy(image: Image.Image) -> Image.Image:
    """The image in RGB, reduced by a whole factor if its long side is over WORK_SIDE."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    factor = max(image.size) // (WORK_SIDE // 2)
    if max(image.size) > WORK_SIDE and factor > 1:
        image = image.reduce(factor)
    return image


def _canonical(image: Image.Image) -> np.ndarray[Any, np.dtype[np.uint8]]:
    if image.mode != "RGB":
        image = image.convert("RGB")
    side = CANONICAL_SIDE
    # reducing_gap: a whole-factor box reduction first, down to 3x the target; the same
    # hashes on the photos of tests/media, four times faster on large ones.
    resized = image.resize((side, side), CANONICAL_FILTER, reducing_gap=3.0)
    return np.asarray(resized, dtype=np.uint8)


def _rgb(image: Image.Image) -> np.ndarray[Any, np.dtype[np.uint8]]:
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8)


def _hex(bits: Any) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def _with(h: PdqHash, *, region: str) -> PdqHash:
    return PdqHash(h.hex, h.quality, h.variant, region)


def _unique(hashes: list[PdqHash]) -> list[PdqHash]:
    seen: set[str] = set()
    unique = []
    for h in hashes:
        if h.hex not in seen:
            seen.add(h.hex)
            unique.append(h)
    return unique
