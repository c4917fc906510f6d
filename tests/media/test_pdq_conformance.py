"""PDQ and vPDQ conformance against the listings in ../shared/conformance/pdq (see its README.txt).

Photos, image by image:
- exactly equal where the listing comes from the pdqhash package (python-threatexchange's
  own tests and PdqSignal examples, and pdqhash-0.2.8-computed.csv, with and without
  EXIF transposition);
- within 10 bits of the C++ reference (pdq-photo-hasher, and its WASM build) where PDQ
  quality is at least 80, upstream's own rule for a correct implementation;
- reported, not asserted, for the rest (the pure-Python, Java and PHP ports, and
  low-quality images): the summary is printed (pytest -rA shows it) and recorded as
  the `pdq_conformance` property (JUnit XML).
Images are opened with Pillow directly, without EXIF orientation: the listings hash
the stored pixels (exif-rotn-6 and -8 differ by about 130 bits once transposed).

Videos: `hash_video(..., seconds_per_hash=0, crop_bars=False)` on each vPDQ sample,
frame by frame (matched by frame number) against the sample-hashes listing: every
frame of quality >= 50 within distance 31; and against the `vpdq` package itself.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from arbiter.media.model import MediaLimits
from arbiter.media.pdq import distance, hash_image, trim_borders
from arbiter.media.video import hash_video
from tests.media.photos import CONFORMANCE, FILES

pytestmark = pytest.mark.skipif(
    not CONFORMANCE.exists(), reason=f"conformance data not found at {CONFORMANCE}"
)

C_REFERENCE_QUALITY = 80  # upstream: within 10 bits of the C++ reference where quality >= 80
C_REFERENCE_BITS = 10
VIDEOS = ("doorknob-hd-no-bar", "pattern-sd-with-small-logo-bar", "test-padded-dimensions")


def _rows() -> list[dict[str, str]]:
    if not CONFORMANCE.exists():
        return []
    with open(CONFORMANCE / "expected_hashes.csv", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _computed_rows() -> list[dict[str, str]]:
    if not CONFORMANCE.exists():
        return []
    with open(CONFORMANCE / "pdqhash-0.2.8-computed.csv", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


ROWS = _rows()
COMPUTED = _computed_rows()


@dataclass(frozen=True)
class Outcome:
    row: int
    image: str
    implementation: str
    rule: str  # exact | within-10 | reported | missing
    distance: int | None
    quality: int | None
    note: str = ""


def _rule(row: dict[str, str], quality: int) -> str:
    implementation = row["implementation"]
    if implementation.startswith("pdqhash PyPI"):
        return "exact"
    if implementation.startswith(("cpp reference", "wasm")) and quality >= C_REFERENCE_QUALITY:
        return "within-10"
    return "reported"


@cache
def _hash_file(relative: str, unletterbox: bool = False) -> tuple[str, int]:
    with Image.open(FILES / relative) as image:
        image.load()
        if unletterbox:
            image = trim_borders(image)
        h = hash_image(image)
    return h.hex, h.quality


def outcome(number: int) -> Outcome:
    row = ROWS[number]
    image = row["image"]
    if not (FILES / image).exists():
        return Outcome(number, image, row["implementation"], "missing", None, None)
    unletterbox = "unletterbox" in row["implementation"]
    ours, our_quality = _hash_file(image, unletterbox)
    quality = int(row["expected_quality"]) if row["expected_quality"] else our_quality
    note = ""
    rule = _rule(row, quality)
    if unletterbox:
        # Upstream cut black rows and columns at threshold 15, which leaves 1-8 lines of
        # JPEG ringing on three sides, then re-saved the JPEG; trim_borders cuts the
        # whole 200-pixel letterbox, so ours is compared with the photo it frames.
        rule = "reported"
        note = "ours: trim_borders, then PDQ; see test_letterboxed_sample_trims_to_sample"
    bits = distance(ours, row["expected_hash"])
    return Outcome(number, image, row["implementation"], rule, bits, quality, note)


@cache
def all_outcomes() -> tuple[Outcome, ...]:
    return tuple(outcome(n) for n in range(len(ROWS)))


@pytest.mark.parametrize(
    "number", range(len(ROWS)), ids=[f"{n}-{r['image'].split('/')[-1]}" for n, r in enumerate(ROWS)]
)
def test_expected_hash(number: int) -> None:
    found = outcome(number)
    if found.rule == "missing":
        pytest.skip(f"{found.image} is not in the conformance folder (README: left out)")
    assert found.distance is not None
    if found.rule == "exact":
        assert found.distance == 0, found
    elif found.rule == "within-10":
        assert found.distance <= C_REFERENCE_BITS, found


@pytest.mark.parametrize("row", COMPUTED, ids=[r["image"].split("/")[-1] for r in COMPUTED])
def test_pdqhash_listing_exact(row: dict[str, str]) -> None:
    """pdqhash 0.2.8 + Pillow 13 on every copied image, as stored and EXIF-transposed."""
    with Image.open(FILES / row["image"]) as image:
        image.load()
        stored = hash_image(image)
        upright = hash_image(ImageOps.exif_transpose(image))
    assert (stored.hex, stored.quality) == (row["pdq_hash_no_exif_transpose"], int(row["quality"]))
    assert (upright.hex, upright.quality) == (
        row["pdq_hash_after_exif_transpose"],
        int(row["quality_exif"]),
    )


def test_exif_orientation_rows_hash_the_stored_pixels() -> None:
    """The reference rows for exif-rotn-6/8 are of the pixels as stored, not as shown."""
    for name in ("exif-rotn-6.jpg", "exif-rotn-8.jpg"):
        relative = f"pdq/data/reg-test-input/exif-rotn/{name}"
        with Image.open(FILES / relative) as image:
            image.load()
            transposed = hash_image(ImageOps.exif_transpose(image)).hex
        expected = next(r["expected_hash"] for r in ROWS if r["image"] == relative)
        assert distance(_hash_file(relative)[0], expected) <= C_REFERENCE_BITS
        assert distance(transposed, expected) > 100


def test_letterboxed_sample_trims_to_sample() -> None:
    """letterboxed_sample-b.jpg is sample-b.jpg in a 200-pixel black frame: trimmed, it hashes
    exactly like the photo (upstream's unletterbox listing stays 16 bits away, see above)."""
    resources = "python-threatexchange/threatexchange/tests/hashing/resources"
    with Image.open(FILES / resources / "letterboxed_sample-b.jpg") as image:
        image.load()
        trimmed = trim_borders(image)
    assert abs(trimmed.width - 1600) <= 2 and abs(trimmed.height - 1004) <= 2
    assert distance(hash_image(trimmed).hex, _hash_file(f"{resources}/sample-b.jpg")[0]) <= 2


def test_summary(record_property: pytest.RecordProperty) -> None:
    """Prints every row's distance and records the counts per rule."""
    outcomes = all_outcomes()
    counts = Counter(o.rule for o in outcomes)
    reported = [o for o in outcomes if o.rule == "reported"]
    by_implementation: dict[str, list[int]] = {}
    for o in reported:
        if o.distance is not None:
            by_implementation.setdefault(o.implementation, []).append(o.distance)
    lines = ["", "PDQ conformance (hash_image, images opened with Pillow, no EXIF rotation)"]
    lines.append(f"{'row':>4} {'rule':10} {'dist':>4} {'qual':>4}  implementation / image")
    for o in outcomes:
        shown = "-" if o.distance is None else str(o.distance)
        quality = "-" if o.quality is None else str(o.quality)
        lines.append(
            f"{o.row:>4} {o.rule:10} {shown:>4} {quality:>4}  {o.implementation[:40]} / {o.image}"
            + (f"  ({o.note})" if o.note else "")
        )
    lines.append(
        f"exact (pdqhash listings): {counts['exact']} rows, all equal; "
        f"within {C_REFERENCE_BITS} of the C++ reference (quality >= {C_REFERENCE_QUALITY}): "
        f"{counts['within-10']} rows; reported: {counts['reported']} rows; "
        f"missing image: {counts['missing']} rows"
    )
    for implementation, distances in sorted(by_implementation.items()):
        lines.append(
            f"  reported, {implementation}: {len(distances)} rows, distance "
            f"min {min(distances)} max {max(distances)}"
        )
    lines.append(f"pdqhash-0.2.8-computed.csv: {len(COMPUTED)} images x 2, all equal")
    print("\n".join(lines))
    record_property(
        "pdq_conformance",
        json.dumps({**counts, "pdqhash_0_2_8_listing_images": len(COMPUTED)}),
    )
    assert counts["exact"] + counts["within-10"] + counts["reported"] + counts["missing"] == len(
        ROWS
    )


# --- vPDQ --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoOutcome:
    frames: int
    listed: int
    compared: int  # frames of quality >= 50 in the listing and ours
    max_distance: int
    exact: int
    low_quality: int  # frames the listing gives quality < 50 (not compared)
    vpdq_max: int | None  # against the vpdq package on this machine
    vpdq_exact: int | None


def _listing(name: str) -> dict[int, tuple[int, str, float]]:
    listed = {}
    with open(FILES / "vpdq" / "sample-hashes" / f"{name}.txt", encoding="utf-8") as stream:
        for line in stream:
            number, quality, hex_, seconds = line.strip().split(",")
            listed[int(number)] = (int(quality), hex_, float(seconds))
    return listed


@cache
def video_outcome(name: str) -> VideoOutcome:
    path = FILES / "tmk" / "sample-videos" / f"{name}.mp4"
    ours = hash_video(path, MediaLimits(), seconds_per_hash=0, crop_bars=False)
    listed = _listing(name)
    distances = []
    for frame in ours.frames:
        quality, hex_, seconds = listed[frame.index]
        assert abs(frame.seconds - seconds) <= 0.0015, (frame, seconds)
        if quality >= 50 and frame.quality >= 50:
            distances.append(distance(frame.hex, hex_))
    vpdq_max = vpdq_exact = None
    try:
        import vpdq  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - vpdq is a dependency
        pass
    else:
        theirs = {f.frame_number: f.hex for f in vpdq.computeHash(str(path), seconds_per_hash=0)}
        against = [distance(frame.hex, theirs[frame.index]) for frame in ours.frames]
        vpdq_max, vpdq_exact = max(against), sum(d == 0 for d in against)
    return VideoOutcome(
        frames=len(ours.frames),
        listed=len(listed),
        compared=len(distances),
        max_distance=max(distances),
        exact=sum(d == 0 for d in distances),
        low_quality=sum(q < 50 for q, _, _ in listed.values()),
        vpdq_max=vpdq_max,
        vpdq_exact=vpdq_exact,
    )


@pytest.mark.parametrize("name", VIDEOS)
def test_vpdq_sample(name: str) -> None:
    found = video_outcome(name)
    assert found.frames == found.listed
    assert found.compared > 0
    assert found.max_distance <= 31, found


@pytest.mark.parametrize("name", VIDEOS)
def test_vpdq_package_agrees(name: str) -> None:
    """The same decoder and RGB conversion as the vpdq package: identical, or 2 bits off."""
    found = video_outcome(name)
    if found.vpdq_max is None:
        pytest.skip("vpdq is not installed")
    assert found.vpdq_max <= 2, found


def test_vpdq_summary(record_property: pytest.RecordProperty) -> None:
    lines = ["", "vPDQ conformance: hash_video(seconds_per_hash=0, crop_bars=False)"]
    lines.append(
        f"{'video':34} {'frames':>6} {'q>=50':>6} {'exact':>6} {'max d':>6} {'q<50':>5}"
        f"  vs vpdq package: exact / max d"
    )
    record = {}
    for name in VIDEOS:
        o = video_outcome(name)
        lines.append(
            f"{name:34} {o.frames:>6} {o.compared:>6} {o.exact:>6} {o.max_distance:>6} "
            f"{o.low_quality:>5}  {o.vpdq_exact}/{o.frames} / {o.vpdq_max}"
        )
        record[name] = {"compared": o.compared, "max_distance": o.max_distance, "exact": o.exact}
    lines.append(
        "The listing was made by an older vpdq build: doorknob's frames differ from today's"
        " vpdq as much as from ours."
    )
    print("\n".join(lines))
    record_property("vpdq_conformance", json.dumps(record))


def test_conformance_folder_is_beside_the_repository() -> None:
    beside = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "pdq"
    assert beside == CONFORMANCE
