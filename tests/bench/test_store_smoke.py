"""A small run of `arbiter bench store`: the three write paths work and what they wrote adds up.

The full run (100,000 decisions) is made by hand. Rates are not checked against the
overhead target here: CI machines are noisy.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from arbiter.cli.main import _bench_module
from tests.postgres import Databases


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_store_benchmark_runs_and_its_figures_add_up(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
):
    postgres_url = None
    if database == "postgresql":
        databases: Databases = request.getfixturevalue("postgres_databases")
        postgres_url = databases.admin_url
    bench = _bench_module("store")
    console = Console(file=io.StringIO(), width=200)
    figures = bench.run(
        decisions=2000,
        batch=300,  # batches that do not divide the count: the last one is short
        seed=5,
        console=console,
        postgres_url=postgres_url,
        postgres=database == "postgresql",
        sqlite=database == "sqlite",
        results=tmp_path / "store.md",
    )
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[database]
    assert set(figures["databases"]) == {name}
    assert {"allow", "review", "restrict"} <= set(figures["actions"])
    f = figures["databases"][name]
    for rate in ("plain", "chain", "chain_last", "full", "full_last"):
        assert f[f"{rate}_per_s"] > 0
    # Overheads are path time over plain time, minus one, from the same batches.
    seconds = f["seconds"]
    assert f["chain_overhead"] == pytest.approx(seconds["chain"] / seconds["plain"] - 1)
    assert f["full_overhead"] == pytest.approx(seconds["full"] / seconds["plain"] - 1)
    assert f["written"] == f["stored"] == {"plain": 2000, "chain": 2000, "full": 2000}
    # The chain path logs one entry per decision and nothing else; the chain verifies.
    assert f["chain_audit_ok"] and f["chain_audit_entries"] == 2000
    # The full path: the policy's two events, the decisions, the review samples.
    assert f["audit_ok"]
    assert f["audit_kinds"]["decision"] == 2000
    assert f["audit_entries"] == 2000 + 2 + f["sampled"]
    assert f["reviews"] == figures["actions"]["review"] + f["sampled"]
    assert f["consistent"]
    assert figures["cpus"] >= 1 and len(figures["load"]) == 2
    table = (tmp_path / "store.md").read_text()
    assert f"| {name} | 2,000 |" in table
    for column in ("plain rows/s", "chain rows/s", "chain overhead", "full rows/s", "last 10%"):
        assert column in table
    assert "load average" in table
