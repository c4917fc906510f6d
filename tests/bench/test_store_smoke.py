"""A small run of `arbiter bench store`: both write paths work and the chained store adds up.

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
        results=tmp_path / "store.md",
    )
    expected = {"SQLite", "PostgreSQL"} if database == "postgresql" else {"SQLite"}
    assert set(figures["databases"]) == expected
    assert {"allow", "review", "restrict"} <= set(figures["actions"])
    for name, f in figures["databases"].items():
        assert f["chain_per_s"] > 0 and f["plain_per_s"] > 0, name
        assert f["recorded"] == f["stored"] == f["plain_stored"] == 2000, name
        assert f["audit_ok"], name
        assert f["audit_kinds"]["decision"] == 2000, name
        assert f["audit_entries"] == 2000 + 2 + f["sampled"], name
        assert f["reviews"] == figures["actions"]["review"] + f["sampled"], name
        assert f["consistent"], name
    table = (tmp_path / "store.md").read_text()
    for name in expected:
        assert f"| {name} | 2,000 |" in table
    assert "chain rows/s" in table and "plain rows/s" in table
