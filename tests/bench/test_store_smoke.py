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
        sqlite=database == "sqlite",
        results=tmp_path / "store.md",
    )
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[database]
    assert set(figures["databases"]) == {name}
    assert {"allow", "review", "restrict"} <= set(figures["actions"])
    f = figures["databases"][name]
    assert f["chain_per_s"] > 0 and f["chain_last_per_s"] > 0 and f["plain_per_s"] > 0
    assert f["recorded"] == f["stored"] == f["plain_stored"] == 2000
    assert f["audit_ok"]
    assert f["audit_kinds"]["decision"] == 2000
    assert f["audit_entries"] == 2000 + 2 + f["sampled"]  # policy stored and activated
    assert f["reviews"] == figures["actions"]["review"] + f["sampled"]
    assert f["consistent"]
    table = (tmp_path / "store.md").read_text()
    assert f"| {name} | 2,000 |" in table
    assert "chain rows/s" in table and "plain rows/s" in table
