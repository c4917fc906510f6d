"""Fixtures for the HTTP API: an app over a fresh store (SQLite and PostgreSQL), a key per role."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # starlette's nudge towards httpx2, which is not installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from arbiter.engine import Engine
from arbiter.model import Post
from arbiter.service import Settings, create_app, keys
from arbiter.service.limits import Rate
from arbiter.store import Store
from arbiter.store.records import StoredDecision
from tests.store.helpers import HARMLESS, HASHTAG, PRAISE, policy, post, scan

OWNERS = {"ingest": "platform-1", "moderator": "mod-1", "admin": "admin-1", "auditor": "aud-1"}
TEST_SETTINGS = Settings(rate=Rate(0, 0), key_cache_seconds=0, policy_refresh_seconds=0)


@dataclass
class Api:
    """A running app, its store and a key per role; helpers to make records to act on."""

    app: FastAPI
    client: TestClient
    store: Store
    keys: dict[str, str]
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def auth(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"} if role else {}

    def call(
        self, method: str, path: str, role: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.auth(role), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def post_id(self) -> str:
        return f"t{next(self.numbers):05d}"

    def decided(self, text: str, author: str = "u1") -> StoredDecision:
        """A post recorded with the live policy, as a scan would; its live decision."""
        item: Post = post(self.post_id(), text, author)
        scan(self.store, policy(), [item])
        return self.store.decisions_of(item.id)[-1]

    def review(self) -> int:
        """An open review (a `review` rule's decision), its id."""
        decision = self.decided(PRAISE)
        return next(
            i.review_id for i in self.store.review_queue(1000) if i.decision.id == decision.id
        )

    def restricted(self, author: str = "u1") -> StoredDecision:
        return self.decided(HASHTAG, author)

    def allowed(self) -> StoredDecision:
        return self.decided(HARMLESS)

    def appeal(self) -> int:
        """An open appeal against a restriction, its id."""
        decision = self.restricted("u7")
        return self.store.file_appeal(decision.id, "u7", "It was a news report")


def make_app(store: Store, settings: Settings = TEST_SETTINGS, with_policy: bool = True) -> FastAPI:
    engine = Engine(policy(), clock=store.clock) if with_policy else None
    return create_app(store, engine, settings=settings)


@pytest.fixture
def api(store: Store) -> Iterator[Api]:
    app = make_app(store)
    created = {
        role: keys.create_key(store.engine, owner, role, actor="test")[1]
        for role, owner in OWNERS.items()
    }
    with TestClient(app) as client:
        yield Api(app, client, store, created)
