"""The policy the service decides with: its live version, and a shadow version beside it.

The service runs one policy id. An upload (`PUT /v1/policies`) swaps the engine
at once in the process that took it; a thread of every process also re-reads the
store's activations every `refresh_seconds` (and compiles a new version there,
never on a request's path), so with several workers, or a policy activated by
`arbiter scan --db`, all of them follow within about that time. With
`refresh_seconds` 0 (tests) each request re-reads them itself.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from arbiter.engine import Engine
from arbiter.policy.model import Policy
from arbiter.store import Store
from arbiter.store.database import reading
from arbiter.store.schema import activations

log = logging.getLogger("arbiter.service")


class PolicyConflict(ValueError):
    """A policy this service cannot switch to (another id than the one it runs)."""


@dataclass(frozen=True, slots=True)
class Engines:
    """What a request decides with: the live engine, and the shadow one if any."""

    live: Engine | None
    shadow: Engine | None


class LivePolicy:
    """Holds the engines; `current()` is cheap and refreshes from the store now and then."""

    def __init__(
        self,
        store: Store,
        engine: Engine | None,
        refresh_seconds: float = 1.0,
        policy_id: str | None = None,
    ):
        """Decide with `engine`, made live now; or, without one, with the store's live
        version of `policy_id` (or of its only live policy), read when first needed."""
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._engines = Engines(engine, None)
        self._policy_id = engine.policy.id if engine else policy_id
        self._checked = -float("inf")  # the first request reads the store's activations
        self._building = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if engine is not None:
            store.activate(engine.policy, "live", actor="system")

    @property
    def policy_id(self) -> str | None:
        return self._policy_id

    def loaded(self) -> Engines:
        """The engines as they are, without asking the store."""
        return self._engines

    def current(self) -> Engines:
        """The engines to decide with now."""
        if self._engines.live is None or self.refresh_seconds <= 0:
            if time.monotonic() - self._checked >= self.refresh_seconds:
                self.refresh(force=self.refresh_seconds <= 0)
        elif self._thread is None:
            self.start()
        return self._engines

    def start(self) -> None:
        """Follow the store from a thread of its own, every `refresh_seconds`."""
        if self.refresh_seconds <= 0 or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="arbiter-policy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None

    def _follow(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # the database may be away for a while: try again later
                log.warning("cannot read the policy activations", exc_info=True)

    def refresh(self, force: bool = False) -> None:
        """Follow the store's activations; a build in progress elsewhere is not waited for."""
        if not self._building.acquire(blocking=force):
            return
        try:
            self._checked = time.monotonic()
            wanted = self._wanted()
            if wanted is None:
                return
            live_version, shadow_version = wanted
            engines = self._engines
            live = self._engine(engines.live, live_version)
            shadow = self._engine(engines.shadow, shadow_version)
            if live is not engines.live or shadow is not engines.shadow:
                self._engines = Engines(live, shadow)
        finally:
            self._building.release()

    def _wanted(self) -> tuple[int | None, int | None] | None:
        with reading(self.store.engine) as connection:
            if self._policy_id is None:
                live = connection.execute(
                    select(activations.c.policy_id).where(activations.c.mode == "live")
                ).all()
                if len(live) != 1:
                    return None  # nothing live, or several policies: wait for an upload
                self._policy_id = str(live[0].policy_id)
            rows = connection.execute(
                select(activations.c.mode, activations.c.version).where(
                    activations.c.policy_id == self._policy_id
                )
            ).all()
        versions = {row.mode: int(row.version) for row in rows}
        return versions.get("live"), versions.get("shadow")

    def _engine(self, engine: Engine | None, version: int | None) -> Engine | None:
        if version is None or self._policy_id is None:
            return engine
        if engine is not None and engine.policy.version == version:
            return engine
        return Engine(self.store.policy(self._policy_id, version), clock=self.store.clock)

    def activate(
        self,
        policy: Policy,
        mode: str,
        actor: str,
        writing: threading.Lock | threading.RLock | None = None,
    ) -> Engine:
        """Store and activate `policy` in `mode`, and decide with it from now on."""
        if self._policy_id is not None and policy.id != self._policy_id:
            raise PolicyConflict(
                f"this service runs policy '{self._policy_id}'; a policy with another id "
                f"('{policy.id}') needs its own service (arbiter serve --policy)"
            )
        engine = Engine(policy, clock=self.store.clock)  # compile before anything is stored
        with self._building, writing or threading.Lock():
            self.store.activate(policy, mode, actor=actor)
            self._policy_id = policy.id
            current = self._engines
            self._engines = (
                Engines(engine, current.shadow) if mode == "live" else Engines(current.live, engine)
            )
            self._checked = time.monotonic()
        return engine
