"""A real webhook receiver on loopback, and the outbox hook wired into write_decisions."""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from arbiter.outbound.webhooks import enqueue_decisions, verify_signature
from arbiter.policy.load import parse_policy
from arbiter.policy.model import Policy
from tests.store.helpers import POLICY_TEXT


def strict(suspend_after: int = 2) -> Policy:
    """The example policy removing praise outright; `suspend_after` strikes suspend the author."""
    text = POLICY_TEXT.replace("action: review", "action: remove").replace(
        "    review_sample: 0.2\n", ""
    )
    text = text[: text.index("enforcement:")] + (
        "enforcement:\n  review_sample: 0\n  strikes:\n    expire_days: 90\n"
        f"    suspend_after: {suspend_after}\n    suspend_days: 30\n"
    )
    return parse_policy(text, "strict.yaml")


def effects_enqueue() -> bool:
    """Whether arbiter.store.effects.write_decisions already calls enqueue_decisions."""
    from arbiter.store import effects

    return "enqueue_decisions" in inspect.getsource(effects)


def wire_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every write_decisions caller enqueue webhooks, as the one-line hook in effects does.

    Does nothing once arbiter.store.effects calls enqueue_decisions itself.
    """
    from arbiter.store import authority, effects, moderation
    from arbiter.store import store as store_module

    if effects_enqueue():
        return
    original = effects.write_decisions

    def write_and_enqueue(connection: Any, rows: Any, enforcement: Any, at: str, *a: Any, **k: Any):
        written = original(connection, rows, enforcement, at, *a, **k)
        enqueue_decisions(connection, written, at)
        return written

    for module in (store_module, moderation, authority):
        monkeypatch.setattr(module, "write_decisions", write_and_enqueue)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 that checks each request's Arbiter-Signature.

    `script` gives the status of each successive request (then 200 for the rest); `hold`
    makes requests wait until it is set, to catch a sender in the middle of a delivery.
    """

    def __init__(self, secret: str, script: list[int] | None = None):
        self.secret = secret
        self.script = list(script or [])
        self.received: list[Received] = []
        self.hold: threading.Event | None = None
        self.arrived = threading.Event()
        self.extra_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                verified = verify_signature(
                    receiver.secret, self.headers.get("Arbiter-Signature"), body
                )
                with receiver._lock:
                    receiver.received.append(Received(dict(self.headers), body, verified))
                    status = receiver.script.pop(0) if receiver.script else 200
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                reply = b"ok" if status < 300 else b"receiver says no"
                try:
                    self.send_response(status if verified else 401)
                    for name, value in receiver.extra_headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the sender is gone (a test killed it)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/arbiter"

    def deliveries(self) -> list[str]:
        with self._lock:
            return [r.headers["Arbiter-Delivery"] for r in self.received]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiving(secret: str, script: list[int] | None = None) -> Iterator[Receiver]:
    with Receiver(secret, script) as receiver:
        yield receiver


SECRET = "whsec_test-secret-0123456789abcdef"
Check = Callable[[], None]
