"""A fake Mastodon on loopback, and adapters over a test store talking to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from arbiter.adapters.mastodon import (
    MastodonAdapter,
    MastodonConfig,
    mastodon_router,
    store_decider,
)
from arbiter.engine import Engine
from arbiter.policy.model import Policy
from arbiter.store import Store
from tests.adapters.fake_mastodon import TOKEN, FakeMastodon
from tests.adapters.payloads import DOMAIN, EVENTS_SECRET, WEBHOOK_SECRET
from tests.outbound.helpers import wire_outbox
from tests.store.helpers import policy


@pytest.fixture(autouse=True)
def _outbox_wired(monkeypatch: pytest.MonkeyPatch) -> None:
    wire_outbox(monkeypatch)


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as running:
        yield running


def config_for(fake: FakeMastodon, **overrides: Any) -> MastodonConfig:
    values: dict[str, Any] = {
        "base_url": fake.url,
        "token": TOKEN,
        "webhook_secret": WEBHOOK_SECRET,
        "events_secret": EVENTS_SECRET,
        "act": True,
        "instance_domain": DOMAIN,
    }
    values.update(overrides)
    return MastodonConfig(**values)


@dataclass
class Setup:
    store: Store
    fake: FakeMastodon
    adapter: MastodonAdapter
    client: TestClient
    app: FastAPI

    def post(self, body: bytes, headers: dict[str, str]) -> Any:
        return self.client.post("/v1/adapters/mastodon/webhook", content=body, headers=headers)


@pytest.fixture
def make(store: Store, fake: FakeMastodon) -> Iterator[Callable[..., Setup]]:
    made: list[MastodonAdapter] = []

    def build(pol: Policy | None = None, **overrides: Any) -> Setup:
        engine = Engine(pol or policy(), clock=store.clock)
        adapter = MastodonAdapter(
            store, config_for(fake, **overrides), store_decider(store, engine)
        )
        made.append(adapter)
        app = FastAPI()
        app.include_router(mastodon_router(adapter))
        return Setup(store, fake, adapter, TestClient(app), app)

    yield build
    for adapter in made:
        adapter.close()
