"""A small run of `arbiter bench text`: the benchmark works and the engine finds what it plants.

The real run (a million posts, a thousand entities) is made by hand; its table is
in the README. Figures here are not checked against targets: CI machines are noisy.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from arbiter.cli.main import _bench_module


def test_text_benchmark_runs_and_finds_the_planted_mentions(tmp_path: Path):
    bench = _bench_module("text")
    console = Console(file=io.StringIO(), width=200)
    figures = bench.run(
        posts=3000,
        entities=40,
        memory_entities=0,
        workers=1,
        seed=11,
        console=console,
        results=tmp_path / "text.md",
    )
    assert figures["planted"] > 20
    assert figures["recall_planted"] >= 0.95
    assert figures["false_alarms"] == 0
    for key in ("full_posts_per_s", "ac_posts_per_s", "naive_posts_per_s"):
        assert figures[key] > 0
    table = (tmp_path / "text.md").read_text()
    assert "full path" in table and "naive" in table
