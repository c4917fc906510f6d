"""A tiny run of `arbiter bench serve`: a real server, both load phases, figures that add up.

The full run (200 requests/s for 30 s) is made by hand; latencies are not checked against
the target here, since CI machines are noisy.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from arbiter.cli.main import _bench_module


def test_serve_benchmark_runs_and_its_figures_add_up(tmp_path: Path):
    bench = _bench_module("serve")
    console = Console(file=io.StringIO(), width=200)
    figures = bench.run(
        rate=40,
        seconds=1.0,
        saturation_seconds=1.0,
        concurrency=4,
        warmup=10,
        console=console,
        results=tmp_path / "serve.md",
    )
    fixed, saturated = figures["fixed"], figures["saturation"]
    assert fixed["sent"] == 40 and fixed["ok"] == 40 and fixed["statuses"] == {"201": 40}
    assert 0 < fixed["p50_ms"] <= fixed["p99_ms"] <= fixed["max_ms"]
    assert fixed["server_cpu_ms"] > 0 and fixed["client_cpu_ms"] > 0
    assert saturated["ok"] > 0 and saturated["rps"] > 0 and set(saturated["statuses"]) == {"201"}
    assert figures["engine_per_s"] > figures["endpoint_in_process_per_s"] > 0
    table = (tmp_path / "serve.md").read_text()
    assert "| fixed 40/s: p99 latency |" in table and "< 20 ms" in table
    assert "requests/s" in console.file.getvalue()
