"""`arbiter bench media`: photo and video matching speed, index latency and bank memory.

Everything is generated from one seed, and every comparison runs in the same
process on the same data:

(a) Photos per second through the full path — decode the JPEG bytes
    (`load.open_image`), hash (`pdq.query_hashes`: the eight dihedral variants of
    the border-trimmed photo) and query a bank (`Bank.match_photo`) — next to
    bare `pdqhash.compute` hashing of the same photos, decoded before the clock
    starts. The bank holds random hashes plus the reference hashes of a quarter
    of the photos; queries are the photos scaled to 80% and re-encoded, so the
    banked quarter should match and the rest should not.
(b) Query latency against banks of random PDQ hashes (100,000 and 1,000,000 by
    default), with planted near neighbours at every distance 0..31 from bank
    hashes: Arbiter's `PdqIndex` next to FAISS `IndexBinaryFlat` (brute force)
    and python-threatexchange's PDQ index (`PdqSignal.get_index_cls()`, FAISS
    `IndexBinaryMultiHash` underneath). Recall is measured against the exact
    answer (FAISS brute force): every hash within 31 bits of a query must be
    found. One query is one hash; "photo" latency is one posted photo's eight
    variant hashes searched together, as `match_photo` does.
(c) Memory of a bank of 1,000,000 hashes: a hash list of that many lines built
    with `build_bank`, saved, and loaded in a fresh process (RSS growth).
(d) Seconds of processing per minute of 480p video: `video.hash_video` on a
    generated 854×480 H.264 clip.

Latencies are wall-clock; "p99 CPU" is the same queries' thread CPU time, which
other processes on a busy machine do not inflate: the latency target is judged
on it, and the title gives the load average the run started with.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pdqhash
from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

from arbiter.banks.bank import build_bank
from arbiter.banks.index import PdqIndex, codes_to_hex
from arbiter.media.model import MediaLimits
from arbiter.policy.model import Entity

RESULTS = Path(__file__).resolve().parent / "results" / "media.md"
RADIUS = 31
TARGET_FULL_VS_BARE = 0.8
TARGET_P99_MS = 1.0
TARGET_BANK_MB = 300.0
PHOTO_SIZES = ((1280, 720), (1080, 1080), (800, 600), (720, 1280), (1600, 1200))
VIDEO_SIZE = (854, 480)
VIDEO_FPS = 25
BANKED_SHARE = 4  # one photo in four is banked


class NoCache:
    """Nothing kept: every photo is hashed in the run that measures it."""

    def get(self, kind: str, sha256: str) -> bytes | None:
        return None

    def put(self, kind: str, sha256: str, value: bytes) -> None:
        pass


@dataclass
class Row:
    section: str
    name: str
    value: str
    target: str = ""
    passed: bool | None = None


@dataclass
class Latency:
    method: str
    size: int
    build_s: float
    memory_mb: float | None
    p50_ms: float
    p99_ms: float
    p99_cpu_ms: float
    recall: float
    exact: bool  # found nothing beyond the radius
    photo_p50_ms: float | None = None
    photo_p99_ms: float | None = None
    photo_p99_cpu_ms: float | None = None
    notes: list[str] = field(default_factory=list)


# -- generated media ----------------------------------------------------------------------


def make_photo(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A photo-like picture: a smooth colour field, shapes, and sensor noise."""
    width, height = size
    field_ = rng.integers(0, 256, (int(rng.integers(3, 8)), int(rng.integers(3, 8)), 3))
    image = Image.fromarray(field_.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(5, 14))):
        x0, x1 = sorted(rng.integers(0, width, 2).tolist())
        y0, y1 = sorted(rng.integers(0, height, 2).tolist())
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1 + 8, y1 + 8), fill=colour)
        else:
            draw.rectangle((x0, y0, x1 + 8, y1 + 8), fill=colour)
    pixels = np.asarray(image, dtype=np.int16) + rng.normal(0, 6, (height, width, 3)).astype(
        np.int16
    )
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def make_video(path: Path, seconds: float, rng: np.random.Generator) -> float:
    """An 854×480 H.264 clip: a new scene every 3 seconds, panning slowly. Returns its length."""
    import av

    frames = max(1, round(seconds * VIDEO_FPS))
    width, height = VIDEO_SIZE
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=VIDEO_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        scene = None
        for number in range(frames):
            if number % (3 * VIDEO_FPS) == 0:
                scene = np.asarray(make_photo(rng, (width + 64, height + 32)))
            assert scene is not None
            shift = (number % (3 * VIDEO_FPS)) * 64 // (3 * VIDEO_FPS)
            picture = np.ascontiguousarray(scene[16 : 16 + height, shift : shift + width])
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return frames / VIDEO_FPS


def random_bank(size: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, (size, 32), dtype=np.uint8)


def planted_queries(bank: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Half near neighbours of bank hashes at every distance 0..31 in turn, half random."""
    queries = random_bank(count, rng)
    for i in range(0, count, 2):
        source = np.unpackbits(bank[int(rng.integers(len(bank)))])
        source[rng.choice(256, (i // 2) % (RADIUS + 1), replace=False)] ^= 1
        queries[i] = np.packbits(source)
    return queries


# -- measuring ----------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _percentiles(values: list[float]) -> tuple[float, float]:
    array = np.array(values) * 1e3
    return float(np.percentile(array, 50)), float(np.percentile(array, 99))


def _timed(
    search: Callable[[int], set[tuple[int, int]]], count: int
) -> tuple[list[float], list[float], set[tuple[int, int, int]]]:
    """Run search(i) for each query i; wall and CPU seconds per query, and every hit."""
    walls, cpus, hits = [], [], set()
    for i in range(count):
        wall, cpu = time.perf_counter(), time.thread_time()
        found = search(i)
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
        hits.update((i, entry, distance) for entry, distance in found)
    return walls, cpus, hits


def _score(
    method: str,
    size: int,
    build_s: float,
    memory_mb: float | None,
    timings: tuple[list[float], list[float], set[tuple[int, int, int]]],
    truth: set[tuple[int, int, int]],
) -> Latency:
    walls, cpus, hits = timings
    p50, p99 = _percentiles(walls)
    _, p99_cpu = _percentiles(cpus)
    found = len(hits & truth)
    return Latency(
        method=method,
        size=size,
        build_s=build_s,
        memory_mb=memory_mb,
        p50_ms=p50,
        p99_ms=p99,
        p99_cpu_ms=p99_cpu,
        recall=found / len(truth) if truth else 1.0,
        exact=not (hits - truth),
    )


def measure_latency(size: int, queries: int, rng: np.random.Generator) -> list[Latency]:
    """(b) Arbiter's index, FAISS brute force and threatexchange's PDQ index on one bank."""
    bank = random_bank(size, rng)
    probe = planted_queries(bank, queries, rng)
    faiss.omp_set_num_threads(1)  # one query at a time gains nothing from threads, and spins
    flat = faiss.IndexBinaryFlat(256)
    before = _rss_mb()
    started = time.perf_counter()
    flat.add(bank)
    flat_build = time.perf_counter() - started
    flat_mb = _rss_mb() - before
    limits, distances, ids = flat.range_search(probe, RADIUS + 1)  # FAISS: distance < radius
    truth = {
        (i, int(ids[j]), int(distances[j]))
        for i in range(queries)
        for j in range(limits[i], limits[i + 1])
    }
    results = []

    before = _rss_mb()
    started = time.perf_counter()
    index = PdqIndex(bank)
    build = time.perf_counter() - started
    ours = _score(
        "arbiter PdqIndex",
        size,
        build,
        _rss_mb() - before,
        _timed(lambda i: set(index.search(probe[i : i + 1], RADIUS)[0]), queries),
        truth,
    )
    photo_walls, photo_cpus = [], []
    for start in range(0, queries - 7, 8):
        wall, cpu = time.perf_counter(), time.thread_time()
        index.search(probe[start : start + 8], RADIUS)
        photo_cpus.append(time.thread_time() - cpu)
        photo_walls.append(time.perf_counter() - wall)
    if photo_walls:
        ours.photo_p50_ms, ours.photo_p99_ms = _percentiles(photo_walls)
        ours.photo_p99_cpu_ms = _percentiles(photo_cpus)[1]
    plan = index.plan
    ours.notes.append(
        "brute force"
        if plan.brute
        else f"{plan.tables} tables × {plan.bits} bits, nflip {plan.nflip(RADIUS)}"
    )
    results.append(ours)
    index = None  # free it before the next method builds

    def flat_search(i: int) -> set[tuple[int, int]]:
        _, dist, found = flat.range_search(probe[i : i + 1], RADIUS + 1)
        return {(int(e), int(d)) for e, d in zip(found.tolist(), dist.tolist(), strict=True)}

    brute = _score(
        "FAISS IndexBinaryFlat", size, flat_build, flat_mb, _timed(flat_search, queries), truth
    )
    brute.notes.append("1 thread")
    results.append(brute)

    results.append(_threatexchange(bank, probe, truth))
    return results


def _threatexchange(
    bank: np.ndarray, probe: np.ndarray, truth: set[tuple[int, int, int]]
) -> Latency:
    try:
        from threatexchange.signal_type.pdq.signal import PdqSignal
    except ImportError:
        return Latency(
            "threatexchange PDQIndex",
            len(bank),
            0,
            None,
            0,
            0,
            0,
            0,
            False,
            notes=["not installed"],
        )
    index_class = PdqSignal.get_index_cls()
    hexes = codes_to_hex(bank)
    queries = codes_to_hex(probe)
    before = _rss_mb()
    started = time.perf_counter()
    index = index_class(entries=((h, number) for number, h in enumerate(hexes)))
    build = time.perf_counter() - started
    memory = _rss_mb() - before

    def search(i: int) -> set[tuple[int, int]]:
        return {(m.metadata, m.similarity_info.distance) for m in index.query(queries[i])}

    latency = _score(
        f"threatexchange {index_class.__name__}",
        len(bank),
        build,
        memory,
        _timed(search, len(queries)),
        truth,
    )
    latency.notes.append("IndexBinaryMultiHash, 16 tables × 16 bits, nflip 1, 1 thread")
    return latency


@dataclass
class PhotoRates:
    images: int
    full_per_s: float
    bare_per_s: float
    bank_hashes: int
    build_s: float
    banked: int
    banked_found: int
    others_matched: int
    low_quality: int
    decode_ms: float  # the full path's steps, per photo
    hash_ms: float
    match_ms: float
    bare_ms: float


def measure_photos(
    count: int, bank_size: int, rng: np.random.Generator, folder: Path
) -> PhotoRates:
    """(a) Decode + query_hashes + match_photo against bare pdqhash.compute, same photos."""
    from arbiter.media.load import open_image
    from arbiter.media.pdq import query_hashes, usable

    photos = folder / "photos"
    photos.mkdir()
    queries: list[bytes] = []
    banked = set()
    for number in range(count):
        image = make_photo(rng, PHOTO_SIZES[number % len(PHOTO_SIZES)])
        if number % BANKED_SHARE == 0:
            (photos / f"{number:05d}.jpg").write_bytes(jpeg(image, 92))
            banked.add(number)
        smaller = image.resize(
            (image.width * 4 // 5, image.height * 4 // 5), Image.Resampling.LANCZOS
        )
        queries.append(jpeg(smaller, 75))
    hash_list = folder / "random.txt"
    hash_list.write_text(
        "".join(f"pdq {h}\n" for h in codes_to_hex(random_bank(bank_size, rng))), encoding="utf-8"
    )
    entity = Entity(
        "qs", "person", ("qs",), reference_media=("photos",), reference_hashes=("random.txt",)
    )
    started = time.perf_counter()
    bank = build_bank([entity], folder, NoCache())
    build = time.perf_counter() - started
    limits = MediaLimits()

    found, others = 0, 0
    decode = hashing = matching = 0.0
    started = time.perf_counter()
    for number, data in enumerate(queries):
        step = time.perf_counter()
        image = open_image(data, limits)
        decoded_at = time.perf_counter()
        hashes = [h for h in query_hashes(image) if usable(h)]
        hashed_at = time.perf_counter()
        matched = any(m.source.startswith("photos/") for m in bank.match_photo(hashes))
        matched_at = time.perf_counter()
        decode += decoded_at - step
        hashing += hashed_at - decoded_at
        matching += matched_at - hashed_at
        if number in banked:
            found += matched
        else:
            others += matched
    full = time.perf_counter() - started

    decoded = []
    for data in queries:
        with Image.open(io.BytesIO(data)) as image:
            decoded.append(np.asarray(image.convert("RGB")))
    started = time.perf_counter()
    for pixels in decoded:
        pdqhash.compute(pixels)
    bare = time.perf_counter() - started
    return PhotoRates(
        decode_ms=decode / count * 1e3,
        hash_ms=hashing / count * 1e3,
        match_ms=matching / count * 1e3,
        bare_ms=bare / count * 1e3,
        images=count,
        full_per_s=count / full,
        bare_per_s=count / bare,
        bank_hashes=len(bank),
        build_s=build,
        banked=len(banked),
        banked_found=found,
        others_matched=others,
        low_quality=bank.low_quality_queries,
    )


_MEMORY_SCRIPT = """
import json, sys, time
from arbiter.banks.bank import Bank

def rss(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024

before = rss("VmRSS:")
started = time.perf_counter()
bank = Bank.load(__import__("pathlib").Path(sys.argv[1]))
print(json.dumps({
    "load_s": time.perf_counter() - started,
    "hashes": len(bank),
    "rss_mb": rss("VmRSS:") - before,
    "peak_mb": rss("VmHWM:") - before,
    "index_mb": bank.index.nbytes / 2**20,
}))
"""


def measure_memory(size: int, rng: np.random.Generator, folder: Path) -> dict[str, float]:
    """(c) Build a bank from a hash list of `size` lines, save it, load it in a fresh process."""

    hash_list = folder / "memory.txt"
    hash_list.write_text(
        "".join(f"pdq {h}\n" for h in codes_to_hex(random_bank(size, rng))), encoding="utf-8"
    )
    entity = Entity("qs", "person", ("qs",), reference_hashes=("memory.txt",))
    started = time.perf_counter()
    bank = build_bank([entity], folder, NoCache())
    build = time.perf_counter() - started
    path = folder / "memory.npz"
    bank.save(path)
    del bank
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    output = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    figures: dict[str, float] = json.loads(output)
    figures["build_s"] = build
    figures["file_mb"] = path.stat().st_size / 2**20
    return figures


def measure_video(
    seconds: float, rng: np.random.Generator, folder: Path
) -> dict[str, float] | None:
    """(d) hash_video on a generated 480p clip; None until arbiter.media.video exists."""
    if importlib.util.find_spec("arbiter.media.video") is None:
        return None
    from arbiter.media.video import hash_video

    path = folder / "clip-480p.mp4"
    duration = make_video(path, seconds, rng)
    started = time.perf_counter()
    hashed = hash_video(path, MediaLimits())
    elapsed = time.perf_counter() - started
    return {
        "video_seconds": duration,
        "elapsed_s": elapsed,
        "seconds_per_minute": elapsed / (duration / 60),
        "frames": len(hashed.frames),
    }


# -- reporting ----------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} ms"


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} MB"


def report_rows(figures: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    photos = figures.get("photos")
    if photos:
        ratio = photos["full_per_s"] / photos["bare_per_s"]
        rows += [
            Row(
                "photos",
                "full path (decode + query_hashes + match)",
                f"{photos['full_per_s']:,.1f} images/s",
            ),
            Row(
                "photos",
                "bare pdqhash.compute, same images",
                f"{photos['bare_per_s']:,.1f} images/s",
            ),
            Row(
                "photos",
                "full ÷ bare",
                f"{ratio:.2f}×",
                f"≥ {TARGET_FULL_VS_BARE}×",
                ratio >= TARGET_FULL_VS_BARE,
            ),
            Row(
                "photos",
                "per photo: decode / query_hashes / match (bare compute)",
                f"{photos['decode_ms']:.1f} / {photos['hash_ms']:.1f} / "
                f"{photos['match_ms']:.2f} ms ({photos['bare_ms']:.1f} ms)",
            ),
            Row(
                "photos",
                "banked photos found (scaled 80%, re-encoded)",
                f"{photos['banked_found']}/{photos['banked']}",
            ),
            Row(
                "photos",
                "other photos matched",
                f"{photos['others_matched']}/{photos['images'] - photos['banked']}",
            ),
            Row(
                "photos",
                "bank (random hashes + banked photos' reference hashes)",
                f"{photos['bank_hashes']:,} hashes, built in {photos['build_s']:.1f} s",
            ),
        ]
    largest = max((lat["size"] for lat in figures["latency"]), default=0)
    for lat in figures["latency"]:
        section = f"latency, {lat['size']:,} hashes"
        ours = lat["method"].startswith("arbiter")
        if lat["notes"] == ["not installed"]:
            rows.append(Row(section, lat["method"], "not installed"))
            continue
        at_target = ours and lat["size"] == largest and lat["size"] >= 1_000_000
        others = [
            o
            for o in figures["latency"]
            if o["size"] == lat["size"] and not o["method"].startswith("arbiter")
        ]
        faster = all(lat["p50_ms"] < o["p50_ms"] for o in others if o["p50_ms"])
        rows.append(
            Row(
                section,
                f"{lat['method']} p50 / p99 per hash",
                f"{_ms(lat['p50_ms'])} / {_ms(lat['p99_ms'])} (p99 CPU {_ms(lat['p99_cpu_ms'])})",
                f"p99 CPU < {TARGET_P99_MS} ms, fastest p50" if at_target else "",
                (lat["p99_cpu_ms"] < TARGET_P99_MS and faster) if at_target else None,
            )
        )
        if lat.get("photo_p50_ms") is not None:
            rows.append(
                Row(
                    section,
                    f"{lat['method']} p50 / p99 per photo (8 hashes)",
                    f"{_ms(lat['photo_p50_ms'])} / {_ms(lat['photo_p99_ms'])} "
                    f"(p99 CPU {_ms(lat['photo_p99_cpu_ms'])})",
                )
            )
        rows.append(
            Row(
                section,
                f"{lat['method']} recall within {RADIUS}",
                f"{lat['recall']:.4f}{'' if lat['exact'] else ' (and hits beyond the radius)'}",
                "1.0" if ours else "",
                (lat["recall"] == 1.0 and lat["exact"]) if ours else None,
            )
        )
        rows.append(
            Row(
                section,
                f"{lat['method']} build / memory",
                f"{lat['build_s']:.2f} s / {_mb(lat['memory_mb'])}"
                + (f"; {', '.join(lat['notes'])}" if lat["notes"] else ""),
            )
        )
    memory = figures.get("memory")
    if memory:
        big = memory["hashes"] >= 1_000_000
        rows += [
            Row(
                "memory",
                f"bank of {memory['hashes']:,} hashes, loaded (RSS growth)",
                f"{memory['rss_mb']:,.0f} MB (peak {memory['peak_mb']:,.0f} MB; "
                f"index {memory['index_mb']:,.0f} MB)",
                f"< {TARGET_BANK_MB:.0f} MB" if big else "",
                memory["peak_mb"] < TARGET_BANK_MB if big else None,
            ),
            Row(
                "memory",
                "built from a hash list / file / load",
                f"{memory['build_s']:.1f} s / {memory['file_mb']:,.0f} MB / "
                f"{memory['load_s']:.1f} s",
            ),
        ]
    video = figures.get("video")
    if video:
        rows.append(
            Row(
                "video",
                "hash_video, 480p",
                f"{video['seconds_per_minute']:.2f} s per minute of video "
                f"({video['elapsed_s']:.1f} s for {video['video_seconds']:.0f} s, "
                f"{video['frames']} frames)",
            )
        )
    elif "video" in figures:
        rows.append(Row("video", "hash_video, 480p", "pending (arbiter.media.video not there yet)"))
    return rows


def _title(figures: dict[str, Any]) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"arbiter bench media (seed {figures['seed']}, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} at the start)"
    )


def print_table(console: Console, figures: dict[str, Any], rows: list[Row]) -> None:
    table = Table(title=_title(figures), title_justify="left")
    for name in ("", "figure", "value", "target", "result"):
        table.add_column(name)
    section = None
    for row in rows:
        if section is not None and row.section != section:
            table.add_section()
        verdict = (
            "" if row.passed is None else "[green]pass[/green]" if row.passed else "[red]fail[/red]"
        )
        table.add_row(
            row.section if row.section != section else "", row.name, row.value, row.target, verdict
        )
        section = row.section
    console.print(table)


def write_markdown(path: Path, figures: dict[str, Any], rows: list[Row]) -> None:
    lines = [
        f"# {_title(figures)}",
        "",
        "| | figure | value | target | result |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        verdict = "" if row.passed is None else "pass" if row.passed else "fail"
        lines.append(f"| {row.section} | {row.name} | {row.value} | {row.target} | {verdict} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(
    *,
    bank_sizes: Sequence[int] = (100_000, 1_000_000),
    images: int = 200,
    queries: int = 1000,
    memory_hashes: int = 1_000_000,
    video_seconds: float = 60.0,
    seed: int = 7,
    console: Console,
    results: Path | None = None,
) -> dict[str, Any]:
    """Run the benchmark; print the table, write it as Markdown, return the figures."""
    results = RESULTS if results is None else results
    rng = np.random.default_rng(seed)
    figures: dict[str, Any] = {"seed": seed, "latency": []}
    with tempfile.TemporaryDirectory(prefix="arbiter-bench-media-") as scratch:
        folder = Path(scratch)
        if images:
            with console.status(f"photos: {images} through the full path and bare pdqhash"):
                photo_folder = folder / "photo-bench"
                photo_folder.mkdir()
                rates = measure_photos(images, min(bank_sizes, default=10_000), rng, photo_folder)
                figures["photos"] = vars(rates)
        for size in bank_sizes:
            with console.status(f"latency: a bank of {size:,} hashes, {queries:,} queries"):
                figures["latency"] += [vars(lat) for lat in measure_latency(size, queries, rng)]
        if memory_hashes:
            with console.status(f"memory: a bank of {memory_hashes:,} hashes"):
                figures["memory"] = measure_memory(memory_hashes, rng, folder)
        if video_seconds:
            with console.status(f"video: hashing {video_seconds:.0f} s of 480p"):
                figures["video"] = measure_video(video_seconds, rng, folder)
    rows = report_rows(figures)
    figures["rows"] = [vars(row) for row in rows]
    print_table(console, figures, rows)
    write_markdown(results, figures, rows)
    console.print(f"written: {results}", highlight=False)
    return figures
