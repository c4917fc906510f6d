"""Shared fixtures: the example policy and an engine built from it."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from arbiter.engine import Engine
from arbiter.policy.load import load_policy
from arbiter.store import Store
from arbiter.text.matcher import TextMatcher
from tests import browser
from tests.postgres import Databases, Server, find_binaries

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def example_policy_path() -> Path:
    return EXAMPLES / "policy.yaml"


@pytest.fixture(scope="session")
def engine(example_policy_path: Path) -> Engine:
    return Engine(load_policy(example_policy_path), clock=lambda: "2026-11-25T10:00:00Z")


@pytest.fixture(scope="session")
def matcher(engine: Engine) -> TextMatcher:
    return engine.matcher


def labelled_posts() -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Every example post with its label row (entities, class, note)."""
    with open(EXAMPLES / "labels.csv", encoding="utf-8") as stream:
        labels = {row["post_id"]: row for row in csv.DictReader(stream)}
    with open(EXAMPLES / "posts.jsonl", encoding="utf-8") as stream:
        posts = [json.loads(line) for line in stream]
    return [(post, labels[post["id"]]) for post in posts]


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Databases]:
    """A PostgreSQL server: $ARBITER_TEST_DATABASE_URL, else one started from the binaries."""
    given = os.environ.get("ARBITER_TEST_DATABASE_URL")
    server = None
    if not given:
        bindir = find_binaries()
        if bindir is None:
            pytest.skip(
                "PostgreSQL is not installed (no initdb) and ARBITER_TEST_DATABASE_URL is "
                "not set; ./dev setup installs it on Debian"
            )
        server = Server(bindir)
        server.start()
    databases = Databases(given or server.url())
    yield databases
    databases.close()
    if server is not None:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL: every store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'arbiter.db'}"
        return
    databases: Databases = request.getfixturevalue("postgres_databases")
    with databases.fresh() as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated, empty store with a fixed clock."""
    with Store.open(store_url, clock=Clock()) as opened:
        yield opened


class Clock:
    """A clock tests can move: starts 2026-11-25T10:00:00Z, advances one second per reading."""

    def __init__(self, start: str = "2026-11-25T10:00:00Z"):
        self.now = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def __call__(self) -> str:
        self.now += timedelta(seconds=1)
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless system Chromium for the whole session: Playwright's sync API allows one."""
    if not browser.chromium_available():
        pytest.skip(browser.MISSING)
    with browser.launch() as running:
        yield running
