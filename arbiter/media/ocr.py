"""Text inside images: Tesseract (fas, ara, eng) reading the lines Arbiter finds itself.

Tesseract's own page layout (`--psm 3`) is the weak part on the images this
project sees. On posters and captioned photos it often finds nothing at all: a
caption band over a photo is taken for part of a picture, and large bold
Persian text is thrown away as noise (its many separate dots make the letters
look oversized). Its line recognizer, given one line (`--psm 13`), reads the
same text well. So this module finds the text lines itself and hands Tesseract
only those:

1. grey scale, at most DETECT_SIDE pixels (small images enlarged towards
   MIN_DETECT_SIDE), a 3×3 median against speckle; for each polarity (dark text
   on light, light on dark) the ink is what is clearly darker than the image's
   morphological closing, a background estimate that ignores gradients, bands
   and the edges of shapes in a photo;
2. connected components of the ink, grouped into lines by height, vertical
   overlap and horizontal gap; a line found in both polarities keeps the one
   with more letter-like parts (the other outlines the letters), and small
   "lines" inside a taller one (holes of letters, rows of dots) are dropped;
3. each line is cropped from the grey image (inverted for light text), scaled to
   LINE_HEIGHT (small text enlarged, big text reduced), and all crops go to one
   Tesseract run as the pages of one TIFF (`--psm 13`);
4. lines under MIN_CONFIDENCE or without two letters in a row are dropped, and of
   two readings of the same place the one with more confident letters stays.

Measured on 62 posters (60 generated from fixed seeds: plain, caption band over
a photo-like picture, light text on dark, white text with a shadow straight on
a photo; Persian and Latin names at 240-1000 px; and the two posters of
examples/media), counting those where the text matcher finds the entity in the
OCR text: Tesseract's page layout on the RGB image 22, on grey 26, with the
noise options that keep bold Arabic script 32, plus Otsu binarisation 32, plus
upscaling small images 25 (it makes large text worse); this pipeline 52, its
misses white text straight on a busy photo and the example poster whose name
runs off both edges. About 0.15 s per poster on one core (Tesseract is most of
it). Lines that matched had a mean confidence of 52-92, other lines 26-80, and
30 photos without text gave no line at all.

Right-to-left lines come out in logical order (the order the words are read and
typed), as Tesseract's recognizer gives them; bidirectional control marks it
sometimes adds are removed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytesseract  # type: ignore[import-untyped]
from PIL import Image, ImageFilter

from arbiter.media.model import MediaError, OcrResult, TextRegion

if TYPE_CHECKING:
    from arbiter.media.cache import Cache

DEFAULT_LANGUAGES = "fas+ara+eng"
OCR_TIMEOUT = 30.0  # seconds for one image; Tesseract is killed after that
MIN_CONFIDENCE = 45.0  # mean word confidence (0-100) a line needs to be kept
MAX_LINES = 40  # candidate lines read per image (the largest first)
DETECT_SIDE = 1200  # lines are found on the image reduced to this many pixels at most
MIN_DETECT_SIDE = 600  # … and smaller images enlarged towards this
LINE_HEIGHT = 40  # pixels: the height each line is scaled to for the recognizer
MAX_UPSCALE = 4.0
# The cache entry format and the pipeline: a change makes old cached results stale.
OCR_VERSION = 1

# Bidirectional controls (LRM, RLM, ALM, embeddings, overrides, isolates): Tesseract adds
# some to mixed lines; they carry nothing the matcher uses.
_BIDI_CONTROLS = dict.fromkeys(
    [0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive)
Pixels = np.ndarray[Any, np.dtype[np.int16]]


class OcrUnavailable(RuntimeError):
    """Tesseract or one of the requested language models is not installed."""


@dataclass(frozen=True, slots=True)
class _Line:
    box: Box  # in the original image's pixels
    parts: int  # letter-like components grouped into it
    inverted: bool  # light text on a dark background


def read_text(
    image: Image.Image,
    languages: str = DEFAULT_LANGUAGES,
    *,
    timeout: float = OCR_TIMEOUT,
    min_confidence: float = MIN_CONFIDENCE,
) -> OcrResult:
    """The text lines in `image`, each with its box and mean confidence.

    Raises MediaError("timeout") when Tesseract takes longer than `timeout` seconds,
    and OcrUnavailable when Tesseract or a language model is missing.
    """
    deadline = time.monotonic() + timeout
    gray = image.convert("L")
    lines = find_lines(gray)
    if not lines:
        return OcrResult(text="", regions=(), languages=languages)
    crops = [_crop(gray, line) for line in lines]
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise MediaError("timeout", f"OCR took longer than {timeout:g} seconds")
    pages = _recognize(crops, _tesseract_order(languages), remaining, timeout)
    regions: list[TextRegion] = []
    for index, line in enumerate(lines):
        words = pages.get(index + 1, [])
        if not words:
            continue
        text = " ".join(word for word, _ in words)
        confidence = sum(conf for _, conf in words) / len(words)
        if confidence < min_confidence or not _has_words(text):
            continue
        left, top, right, bottom = line.box
        regions.append(
            TextRegion(
                text=text, box=(left, top, right - left, bottom - top), confidence=confidence
            )
        )
    regions = _reading_order(_drop_duplicates(regions))
    return OcrResult(
        text="\n".join(r.text for r in regions), regions=tuple(regions), languages=languages
    )


def cached_read_text(
    cache: Cache | None,
    sha256: str,
    image: Image.Image,
    languages: str = DEFAULT_LANGUAGES,
    *,
    timeout: float = OCR_TIMEOUT,
) -> OcrResult:
    """`read_text`, remembered by the file's content hash (and the image's size and languages).

    The size is part of the key so an image read with and without its EXIF orientation
    does not share an entry. Timeouts are not cached: the next scan tries again.
    """
    kind = f"ocr/{OCR_VERSION}/{languages}"
    key = f"{sha256}/{image.width}x{image.height}"
    if cache is not None:
        stored = cache.get(kind, key)
        if stored is not None:
            try:
                return ocr_from_json(stored)
            except (ValueError, KeyError, TypeError):
                pass  # an unreadable entry is recomputed and overwritten
    result = read_text(image, languages, timeout=timeout)
    if cache is not None:
        cache.put(kind, key, ocr_to_json(result))
    return result


def ocr_to_json(result: OcrResult) -> bytes:
    """An OcrResult as compact JSON (what the cache stores)."""
    return json.dumps(
        {
            "text": result.text,
            "languages": result.languages,
            "regions": [
                {"text": r.text, "box": list(r.box), "confidence": round(r.confidence, 2)}
                for r in result.regions
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def ocr_from_json(data: bytes) -> OcrResult:
    """Read back what `ocr_to_json` wrote."""
    raw: dict[str, Any] = json.loads(data)
    regions = []
    for region in raw["regions"]:
        left, top, width, height = (int(v) for v in region["box"])
        regions.append(
            TextRegion(
                text=str(region["text"]),
                box=(left, top, width, height),
                confidence=float(region["confidence"]),
            )
        )
    return OcrResult(text=str(raw["text"]), regions=tuple(regions), languages=str(raw["languages"]))


# -- finding lines --------------------------------------------------------------------


def find_lines(gray: Image.Image) -> list[_Line]:
    """Candidate text lines in a grey image, both polarities, the largest MAX_LINES."""
    width, height = gray.size
    if width < 8 or height < 8:
        return []
    # Found on a copy at most DETECT_SIDE wide or high; small images are enlarged (at most
    # twice, to MIN_DETECT_SIDE) so thin strokes survive the median filter against speckle.
    longest = max(width, height)
    scale = min(1.0, DETECT_SIDE / longest)
    if longest < MIN_DETECT_SIDE:
        scale = min(2.0, MIN_DETECT_SIDE / longest)
    small = gray
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = gray.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(small.filter(ImageFilter.MedianFilter(3)), dtype=np.int16)
    found: list[_Line] = []
    for inverted in (False, True):
        mask = _ink(255 - pixels if inverted else pixels)
        for left, top, right, bottom, parts in _group_lines(mask):
            box = (
                max(0, int(left / scale)),
                max(0, int(top / scale)),
                min(width, int(np.ceil(right / scale))),
                min(height, int(np.ceil(bottom / scale))),
            )
            found.append(_Line(box, parts, inverted))
    found = _one_polarity(found)
    found.sort(key=lambda line: -_area(line.box))
    return found[:MAX_LINES]


def _ink(pixels: Pixels) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Pixels clearly darker than their surroundings: strokes narrower than the filter.

    The background is the image's morphological closing (a max filter, then a min filter
    of the same size): it fills in dark details narrower than the filter, and keeps the
    edges of larger dark areas where they are, so the dark side of an edge (a photo's
    shapes) does not turn into a band of ink that touches the letters.
    """
    height, width = pixels.shape
    size = max(9, (min(height, width) // 40) | 1)
    background = _min_filter(_max_filter(pixels, size), size)
    # Darker than 60% of the local background and by more than 70 levels: the ratio
    # ignores slow shading, the difference ignores noise in dark areas.
    return (pixels * 10 < background * 6) & (background - pixels > 70)


def _max_filter(pixels: Pixels, size: int) -> Pixels:
    """The maximum over a size×size square around each pixel (edges repeated)."""
    return _running_max(_running_max(pixels, size, 0), size, 1)


def _min_filter(pixels: Pixels, size: int) -> Pixels:
    return -_max_filter(-pixels, size)


def _running_max(pixels: Pixels, size: int, axis: int) -> Pixels:
    """Maximum over a centred window of `size` along one axis (edges repeated).

    By doubling: after k steps each value is the maximum of 2**k neighbours, and two
    overlapping power-of-two windows make any size; log2(size) vectorised steps.
    """
    data = np.moveaxis(pixels, axis, -1)
    length = data.shape[-1]
    radius = size // 2
    current = np.pad(data, [(0, 0), (radius, size - 1 - radius)], mode="edge")
    width = 1
    while width * 2 <= size:
        current = np.maximum(current[:, :-width], current[:, width:])
        width *= 2
    result = np.maximum(current[:, :length], current[:, size - width : size - width + length])
    return np.moveaxis(result, -1, axis)


def _components(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> np.ndarray[Any, Any]:
    """Bounding boxes and areas of the 8-connected components: rows of x0, y0, x1, y1, area."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    run_rows, run_starts = np.nonzero(steps == 1)
    _, run_ends = np.nonzero(steps == -1)  # exclusive; same order as the starts
    count = len(run_rows)
    if count == 0:
        return np.zeros((0, 5), dtype=np.int64)
    parent = np.arange(count)

    def find(a: int) -> int:
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    row_start = np.searchsorted(run_rows, np.arange(height + 1))
    starts, ends = run_starts.tolist(), run_ends.tolist()
    for y in range(1, height):
        i, i_end = int(row_start[y - 1]), int(row_start[y])
        j, j_end = i_end, int(row_start[y + 1])
        while i < i_end and j < j_end:
            if starts[i] <= ends[j] and starts[j] <= ends[i]:  # touching, diagonals included
                a, b = find(i), find(j)
                if a != b:
                    parent[a] = b
            if ends[i] < ends[j]:
                i += 1
            else:
                j += 1
    roots = np.array([find(i) for i in range(count)])
    _, labels = np.unique(roots, return_inverse=True)
    n = int(labels.max()) + 1
    x0 = np.full(n, width)
    y0 = np.full(n, height)
    x1 = np.zeros(n, dtype=np.int64)
    y1 = np.zeros(n, dtype=np.int64)
    area = np.zeros(n, dtype=np.int64)
    np.minimum.at(x0, labels, run_starts)
    np.minimum.at(y0, labels, run_rows)
    np.maximum.at(x1, labels, run_ends)
    np.maximum.at(y1, labels, run_rows + 1)
    np.add.at(area, labels, run_ends - run_starts)
    return np.stack([x0, y0, x1, y1, area], axis=1)


def _group_lines(
    mask: np.ndarray[Any, np.dtype[np.bool_]],
) -> list[tuple[int, int, int, int, int]]:
    """Letter-like components joined into lines: (x0, y0, x1, y1, parts)."""
    height, width = mask.shape
    boxes = _components(mask)
    if len(boxes) == 0:
        return []
    x0, y0, x1, y1, area = boxes.T
    bh, bw = y1 - y0, x1 - x0
    fill = area / np.maximum(bh * bw, 1)
    letter = (
        (bh >= max(6, height * 0.008))
        & (bh <= height * 0.4)
        & (bw <= width * 0.9)
        & (bw <= bh * 8)
        & (fill > 0.08)
    )
    index = np.nonzero(letter)[0]
    if len(index) == 0:
        return []
    order = index[np.argsort(x0[index], kind="stable")].tolist()
    X0, Y0, X1, Y1, H = x0.tolist(), y0.tolist(), x1.tolist(), y1.tolist(), bh.tolist()
    parent = {i: i for i in order}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for position, a in enumerate(order):
        reach = X1[a] + 3.6 * H[a]  # the widest gap allowed to a part up to 3 times taller
        for b in order[position + 1 :]:
            if X0[b] > reach:
                break
            tall, short = max(H[a], H[b]), min(H[a], H[b])
            if tall > 3 * short or X0[b] - X1[a] > 1.2 * tall:
                continue
            if min(Y1[a], Y1[b]) - max(Y0[a], Y0[b]) < 0.5 * short:
                continue
            parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(find(i), []).append(i)
    lines = []
    for members in groups.values():
        left, top = min(X0[i] for i in members), min(Y0[i] for i in members)
        right, bottom = max(X1[i] for i in members), max(Y1[i] for i in members)
        w, h = right - left, bottom - top
        if len(members) == 1:
            # One connected shape is a line only if it is long, like a joined-up Arabic word.
            if w < 3 * h or float(fill[members[0]]) > 0.7:
                continue
        elif w < h:
            continue
        lines.append((left, top, right, bottom, len(members)))
    return lines


def _one_polarity(lines: list[_Line]) -> list[_Line]:
    """Drop candidates that are a side effect of another line rather than text.

    Text in the wrong polarity shows up as the outline around its letters: fewer,
    bigger parts over the same place, so of two such lines the one with more parts
    stays (with equal counts, as for white text with a dark shadow, both do). The
    holes inside big letters, or a row of dots under them, make small "lines" inside
    a taller line's box: those go.
    """
    keep = []
    for line in lines:
        height = line.box[3] - line.box[1]
        beaten = any(
            (
                other.inverted != line.inverted
                and other.parts > line.parts
                and _overlap(line.box, other.box) >= 0.5
            )
            or (other.box[3] - other.box[1] >= 1.5 * height and _inside(line.box, other.box) >= 0.7)
            for other in lines
            if other is not line
        )
        if not beaten:
            keep.append(line)
    return keep


def _inside(a: Box, b: Box) -> float:
    """The share of box a that lies inside box b."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(1, _area(a))


def _area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _overlap(a: Box, b: Box) -> float:
    """Intersection over union."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (_area(a) + _area(b) - inter)


def _crop(gray: Image.Image, line: _Line) -> Image.Image:
    left, top, right, bottom = line.box
    height = bottom - top
    pad = int(height * 0.25) + 2
    crop = gray.crop(
        (
            max(0, left - pad),
            max(0, top - pad),
            min(gray.width, right + pad),
            min(gray.height, bottom + pad),
        )
    )
    if line.inverted:
        crop = crop.point(lambda v: 255 - v)
    scale = min(MAX_UPSCALE, LINE_HEIGHT / max(1, height))
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    return crop.resize(size, Image.Resampling.LANCZOS)


# -- recognizing them -----------------------------------------------------------------


def _recognize(
    crops: list[Image.Image], languages: str, seconds: float, timeout: float
) -> dict[int, list[tuple[str, float]]]:
    """Tesseract's words for each crop (page numbers from 1), in reading order."""
    # One Tesseract per image, images in parallel: its OpenMP threads only get in the way
    # (three times slower measured on two cores). An explicit setting is respected.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    with tempfile.TemporaryDirectory(prefix="arbiter-ocr-") as folder:
        path = os.path.join(folder, "lines.tif")
        crops[0].save(path, save_all=True, append_images=crops[1:], compression="tiff_deflate")
        try:
            data = pytesseract.image_to_data(
                path,
                lang=languages,
                config="--psm 13",
                timeout=max(seconds, 0.1),
                output_type=pytesseract.Output.DICT,
            )
        except pytesseract.TesseractNotFoundError as error:
            raise OcrUnavailable(
                "Tesseract is not installed (Debian: apt-get install tesseract-ocr "
                "tesseract-ocr-fas tesseract-ocr-ara tesseract-ocr-eng)"
            ) from error
        except pytesseract.TesseractError as error:
            raise OcrUnavailable(f"Tesseract failed: {error.message}") from error
        except RuntimeError as error:
            if "timeout" in str(error):
                raise MediaError("timeout", f"OCR took longer than {timeout:g} seconds") from None
            raise
    pages: dict[int, list[tuple[str, float]]] = {}
    for level, page, text, conf in zip(
        data["level"], data["page_num"], data["text"], data["conf"], strict=False
    ):
        if level != 5:
            continue
        word = _clean(str(text))
        if not word or float(conf) < 0:
            continue
        pages.setdefault(int(page), []).append((word, float(conf)))
    return pages


def _tesseract_order(languages: str) -> str:
    """The models with English first: the order Tesseract reads mixed posters best in.

    With fas first, Latin capitals on a poster come out as Persian digits ("QASSEM" as
    "۸۵۷"); with eng first they do not, and Persian lines read the same. On the 62
    measured posters the text was read exactly in 38 with fas+ara+eng, 43 with
    eng+fas+ara (the matcher found the name in 52 either way). The result still names
    the languages as given.
    """
    models = [m for m in languages.split("+") if m]
    return "+".join(sorted(models, key=lambda m: m != "eng"))


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text.translate(_BIDI_CONTROLS)).strip()


def _has_words(text: str) -> bool:
    """At least two letters in a row somewhere: single marks and stray glyphs are noise."""
    run = 0
    for char in text:
        if unicodedata.category(char).startswith("L"):
            run += 1
            if run >= 2:
                return True
        else:
            run = 0
    return False


def _drop_duplicates(regions: list[TextRegion]) -> list[TextRegion]:
    """Of regions covering the same place keep the one that reads most text confidently.

    Both polarities can read the same text, one as a line and the other word by word;
    a region half inside another is the same text read again. The reading kept is the
    one with the most letters weighted by confidence, so a whole line beats its words
    and a confident line beats a longer reading of noise.
    """
    regions = sorted(regions, key=lambda r: -r.confidence * _letters(r.text))
    kept: list[TextRegion] = []
    for region in regions:
        box = _corners(region.box)
        if all(_covered(box, _corners(other.box)) < 0.5 for other in kept):
            kept.append(region)
    return kept


def _letters(text: str) -> int:
    return sum(1 for char in text if unicodedata.category(char).startswith("L"))


def _reading_order(regions: list[TextRegion]) -> list[TextRegion]:
    """Top to bottom; regions side by side right to left when their text is mostly RTL."""
    rows: list[list[TextRegion]] = []
    for region in sorted(regions, key=lambda r: r.box[1] + r.box[3] / 2):
        middle = region.box[1] + region.box[3] / 2
        row = rows[-1] if rows else None
        if row and abs(middle - (row[0].box[1] + row[0].box[3] / 2)) < row[0].box[3] / 2:
            row.append(region)
        else:
            rows.append([region])
    ordered: list[TextRegion] = []
    for row in rows:
        text = "".join(r.text for r in row)
        rtl = sum(1 for char in text if unicodedata.bidirectional(char) in ("R", "AL"))
        ltr = sum(1 for char in text if unicodedata.bidirectional(char) == "L")
        ordered.extend(sorted(row, key=lambda r: r.box[0], reverse=rtl > ltr))
    return ordered


def _covered(a: Box, b: Box) -> float:
    """How much of the smaller of two boxes the other covers (0-1)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(1, min(_area(a), _area(b)))


def _corners(box: tuple[int, int, int, int]) -> Box:
    left, top, width, height = box
    return (left, top, left + width, top + height)
