"""Shared fixtures: the example policy and an engine built from it."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from arbiter.engine import Engine
from arbiter.policy.load import load_policy
from arbiter.text.matcher import TextMatcher

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
