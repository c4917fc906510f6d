"""A small run of `arbiter bench media`: every part runs and its table adds up.

The real run (banks of 100,000 and 1,000,000 hashes, 200 photos, a minute of
video) is made by hand; its table is in bench/results/media.md. Speeds are not
checked against targets here (CI machines are noisy); exactness is.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from arbiter.cli.main import _bench_module


def test_media_benchmark_runs_and_its_table_adds_up(tmp_path: Path):
    bench = _bench_module("media")
    console = Console(file=io.StringIO(), width=220)
    figures = bench.run(
        bank_sizes=[3000, 20_000],
        images=8,
        queries=64,
        memory_hashes=20_000,
        video_seconds=3.0,
        seed=5,
        console=console,
        results=tmp_path / "media.md",
    )
    photos = figures["photos"]
    assert photos["images"] == 8 and photos["banked"] == 2
    assert photos["full_per_s"] > 0 and photos["bare_per_s"] > 0
    assert 0 <= photos["banked_found"] <= photos["banked"]
    assert photos["bank_hashes"] > 3000  # the random hashes and the banked photos' own

    methods = {(lat["method"], lat["size"]): lat for lat in figures["latency"]}
    assert {size for _, size in methods} == {3000, 20_000}
    for (method, _size), lat in methods.items():
        if lat["notes"] == ["not installed"]:
            continue
        # Every method here is exact: all of them find every planted neighbour within 31.
        assert lat["recall"] == 1.0, method
        assert lat["exact"], method
        assert 0 < lat["p50_ms"] <= lat["p99_ms"], method
        assert lat["p99_cpu_ms"] > 0, method
    ours = [lat for (method, _), lat in methods.items() if method.startswith("arbiter")]
    assert len(ours) == 2
    assert all(lat["photo_p50_ms"] <= lat["photo_p99_ms"] for lat in ours)

    memory = figures["memory"]
    assert memory["hashes"] == 20_000
    assert 0 < memory["index_mb"] <= memory["peak_mb"]
    assert memory["rss_mb"] > 0 and memory["file_mb"] > 0

    video = figures["video"]
    if video is not None:  # until arbiter.media.video exists the row says "pending"
        assert video["video_seconds"] == 3.0
        assert video["frames"] >= 2 and video["seconds_per_minute"] > 0

    table = (tmp_path / "media.md").read_text()
    assert "full ÷ bare" in table
    assert "FAISS IndexBinaryFlat" in table and "threatexchange" in table
    assert "recall within 31 | 1.0000 | 1.0 | pass |" in table
    for row in figures["rows"]:
        assert row["value"], row
