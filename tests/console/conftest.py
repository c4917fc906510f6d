"""The console over a real store: the example posts and example media scanned in, keys per role,
the app served by uvicorn on a loopback port for the browser, or a TestClient for the rest.

The example posts are decided once per session (pure computation); each test records them
into its own fresh store, on SQLite and on PostgreSQL (`store` from tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page

from arbiter.banks.bank import build_bank
from arbiter.console import ConsoleConfig, console_router
from arbiter.engine import Engine
from arbiter.media.cache import Cache
from arbiter.media.pipeline import MediaPipeline
from arbiter.model import Decision, Post
from arbiter.policy.load import load_policy
from arbiter.policy.model import Policy
from arbiter.service import create_app, keys
from arbiter.store import Store
from tests import browser
from tests.conftest import EXAMPLES, ROOT
from tests.service.conftest import TEST_SETTINGS

with warnings.catch_warnings():  # starlette's nudge towards httpx2, which is not installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ARTIFACTS = ROOT / "test-artifacts"
DECIDED_AT = "2026-11-25T10:00:00Z"  # the engine's clock; the store's Clock starts here too
SECRET = b"console tests: a secret of 32 bytes or more"


@dataclass(frozen=True)
class Examples:
    """The example policy, the example media drawn into `root`, and every post decided."""

    root: Path  # policy.yaml and media/ (reference/, benign/, posted/, posts.jsonl)
    policy: Policy
    pairs: list[tuple[Post, Decision]]

    @property
    def media_root(self) -> Path:
        return self.root / "media"


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Examples:
    root = tmp_path_factory.mktemp("console-examples")
    spec = importlib.util.spec_from_file_location("make_media", EXAMPLES / "media" / "make.py")
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    make.make(root / "media")
    (root / "policy.yaml").write_text(
        (EXAMPLES / "policy.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    policy = load_policy(root / "policy.yaml")
    with open(EXAMPLES / "posts.jsonl", encoding="utf-8") as stream:
        posts = [Post.from_dict(json.loads(line)) for line in stream]
    text_engine = Engine(policy, clock=lambda: DECIDED_AT)
    pairs = list(zip(posts, text_engine.evaluate_many(posts), strict=True))
    cache = Cache(None)
    bank = build_bank(policy.entities, root, cache, benign=policy.benign)
    assert not bank.problems
    media_engine = Engine(
        policy,
        clock=lambda: DECIDED_AT,
        media=MediaPipeline(bank, cache, base=root / "media"),
    )
    lines = (root / "media" / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    media_posts = [Post.from_dict(json.loads(line)) for line in lines]
    pairs += list(zip(media_posts, media_engine.evaluate_many(media_posts), strict=True))
    return Examples(root, policy, pairs)


@dataclass
class Console:
    """An app with the console over a store holding the examples, and a key per person."""

    app: FastAPI
    store: Store
    examples: Examples
    keys: dict[str, str]  # alice, bob (moderators), admin, auditor, ingest, revoked
    base: str = "http://testserver"

    def url(self, path: str) -> str:
        return f"{self.base}/console{path}"

    def review_of(self, post_id: str) -> int:
        """The open review of a post's decision."""
        return next(
            item.review_id
            for item in self.store.review_queue(10_000)
            if item.decision.decision.post_id == post_id
        )

    def decision_of(self, post_id: str) -> int:
        return self.store.decisions_of(post_id)[-1].id


def make_console(store: Store, examples: Examples) -> Console:
    store.record(examples.policy, examples.pairs)
    engine = Engine(examples.policy, clock=store.clock)
    config = ConsoleConfig(
        media_roots=(examples.media_root,),
        reference_roots=(examples.root,),
        secret=SECRET,
    )
    app = create_app(store, engine, settings=TEST_SETTINGS, routers=[console_router(config)])
    made = {
        name: keys.create_key(store.engine, owner, role, actor="test")
        for name, (owner, role) in {
            "alice": ("alice", "moderator"),
            "bob": ("bob", "moderator"),
            "admin": ("ops", "admin"),
            "auditor": ("audra", "auditor"),
            "ingest": ("mastodon", "ingest"),
            "revoked": ("mallory", "moderator"),
        }.items()
    }
    keys.revoke_key(store.engine, made["revoked"][0].prefix, actor="test")
    return Console(app, store, examples, {name: key for name, (_, key) in made.items()})


@pytest.fixture
def console(store: Store, examples: Examples) -> Console:
    return make_console(store, examples)


@pytest.fixture
def client(console: Console) -> Iterator[TestClient]:
    with TestClient(console.app) as running:
        yield running


def sign_in(client: TestClient, key: str, base: str = "http://testserver") -> None:
    """Sign a TestClient in through the form, as a browser would."""
    form = client.get(f"{base}/console/sign-in")
    token = csrf_of(form.text)
    answer = client.post(
        f"{base}/console/sign-in", data={"key": key, "csrf": token}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def csrf_of(html: str) -> str:
    """The first CSRF token of a page's forms."""
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


# -- a real server and a real browser ------------------------------------------------------


class Served:
    """uvicorn serving an app on a free loopback port, in a thread."""

    def __init__(self, app: FastAPI):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture
def served(console: Console) -> Iterator[Console]:
    with Served(console.app) as running:
        console.base = running.base
        yield console


@pytest.fixture
def chromium_page(chromium: Browser) -> Iterator[Page]:
    with browser.new_page(chromium, width=1440, height=1000) as page:
        yield page


def browser_sign_in(page: Page, console: Console, who: str) -> None:
    page.goto(console.url("/sign-in"))
    page.fill("#key", console.keys[who])
    page.click("button[type=submit]")


def screenshot(page: Page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=full_page)
