"""Deciding posts for the API: evaluate, record under the live policy (and the shadow one),
read back what the store holds; and the background worker behind `POST /v1/posts:batch`.

Recording is idempotent: the store keys each automated decision by (mode, policy version,
post id, content), so the same post sent twice gets the same stored decision. Who sent a
post is itself an audit-log event (`submission` for one post, `batch` for a batch), with
the key's owner as the actor. A batch's event lists its posts' ids and content hashes
(never their text), so its progress can be read back from the store by any worker
process, and after a restart.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select

from arbiter.engine import Engine
from arbiter.model import Decision, Post
from arbiter.service.live import Engines
from arbiter.store import Store, audit
from arbiter.store.database import reading
from arbiter.store.records import StoredDecision, content_hash, dedupe_key, stored_decision
from arbiter.store.schema import audit_log, decisions

log = logging.getLogger("arbiter.service")
CHUNK = 100  # posts per transaction in the batch worker
KEEP_JOBS = 1000  # batches remembered in memory (their failures; progress is in the store)


class NoPolicy(RuntimeError):
    """The service has no live policy yet (upload one with PUT /v1/policies)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A post's stored live decision, whether this call created it, and the engine's notes."""

    stored: StoredDecision
    created: bool
    fresh: Decision


def key_of(engine: Engine, post: Post, mode: str = "live") -> str:
    policy = engine.policy
    return dedupe_key(mode, policy.id, policy.version, post.id, content_hash(post))


def stored_by_key(store: Store, keys: Sequence[str]) -> dict[str, StoredDecision]:
    """The stored decisions with these dedupe keys."""
    found: dict[str, StoredDecision] = {}
    unique = list(dict.fromkeys(keys))
    with reading(store.engine) as connection:
        for start in range(0, len(unique), 500):
            rows = connection.execute(
                select(decisions).where(decisions.c.dedupe_key.in_(unique[start : start + 500]))
            ).all()
            for row in rows:
                found[row.dedupe_key] = stored_decision(row)
    return found


def decide(
    store: Store,
    engines: Engines,
    posts: Sequence[Post],
    on_decided: Callable[[StoredDecision], None] | None = None,
) -> list[Outcome]:
    """Evaluate `posts`, record them (live, then shadow), return the stored live decisions."""
    live = engines.live
    if live is None:
        raise NoPolicy("no live policy: upload one with PUT /v1/policies")
    fresh = live.evaluate_many(posts)
    keys = [key_of(live, post) for post in posts]
    before = stored_by_key(store, keys)
    missing = [(p, d) for p, d, k in zip(posts, fresh, keys, strict=True) if k not in before]
    if missing:
        store.record(live.policy, missing)
    if engines.shadow is not None and missing:
        shadow = engines.shadow
        unseen = [post for post, _ in missing]
        store.record(
            shadow.policy, list(zip(unseen, shadow.evaluate_many(unseen), strict=True)), "shadow"
        )
    after = stored_by_key(store, [k for k in keys if k not in before]) if missing else {}
    outcomes = []
    for key, decision in zip(keys, fresh, strict=True):
        created = key not in before
        stored = before[key] if not created else after[key]
        if created and on_decided is not None:
            on_decided(stored)
        outcomes.append(Outcome(stored, created, decision))
        before.setdefault(key, stored)  # a post repeated in the batch is created once
    return outcomes


def log_submission(store: Store, actor: str, outcomes: Sequence[Outcome]) -> None:
    """One audit entry per newly decided post, naming who submitted it."""
    events = [
        audit.Event(
            "submission",
            actor,
            f"post:{o.stored.decision.post_id}",
            {"decision": o.stored.puid, "content_hash": o.stored.content_hash, "via": "api"},
        )
        for o in outcomes
        if o.created
    ]
    if events:
        with store.engine.begin() as connection:
            audit.append(connection, events, store.clock())


def log_event(store: Store, kind: str, actor: str, subject: str, payload: dict[str, Any]) -> None:
    """One audit entry of the service's own (who relayed an appeal, who submitted what)."""
    with store.engine.begin() as connection:
        audit.append(connection, [audit.Event(kind, actor, subject, payload)], store.clock())


# -- batches ------------------------------------------------------------------------------


@dataclass
class Job:
    """A batch in this process: its posts, the engines it was accepted under, its progress."""

    id: str
    posts: list[Post]
    engines: Engines
    submitted_by: str
    submitted_at: str
    state: str = "queued"  # queued | running | done | failed
    decided: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class BatchStatus:
    id: str
    state: str
    total: int
    decided: int
    submitted_by: str
    submitted_at: str
    policy: str
    policy_version: int
    error: str
    items: list[tuple[str, StoredDecision | None]]  # (post id, its decision once decided)


class BusyError(RuntimeError):
    """The batch queue is full; `retry_after` says when to try again."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class Batches:
    """Accepts batches (logged at once) and decides them on one background thread."""

    def __init__(
        self,
        store: Store,
        max_pending: int = 100_000,
        on_decided: Callable[[StoredDecision], None] | None = None,
    ):
        self.store = store
        self.max_pending = max_pending
        self.on_decided = on_decided
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._pending = 0
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, posts: list[Post], engines: Engines, actor: str) -> Job:
        """Log the batch in the audit trail and queue it; returns at once."""
        live = engines.live
        if live is None:
            raise NoPolicy("no live policy: upload one with PUT /v1/policies")
        if self._pending + len(posts) > self.max_pending:
            raise BusyError(
                f"{self._pending:,} posts are waiting to be decided; try again shortly", 5.0
            )
        token = secrets.token_hex(8)
        at = self.store.clock()
        payload: dict[str, Any] = {
            "policy": live.policy.id,
            "version": live.policy.version,
            "posts": [[post.id, content_hash(post)] for post in posts],
        }
        with self.store.engine.begin() as connection:
            (entry,) = audit.append(
                connection, [audit.Event("batch", actor, f"batch:{token}", payload)], at
            )
        job = Job(f"{entry.seq}-{token}", posts, engines, actor, at)
        with self._wake:
            if len(self._jobs) >= KEEP_JOBS:  # finished jobs' progress is in the store anyway
                for old in [j for j in self._jobs.values() if j.state in ("done", "failed")]:
                    del self._jobs[old.id]
            self._jobs[job.id] = job
            self._queue.append(job)
            self._pending += len(posts)
            self._start()
            self._wake.notify()
        return job

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="arbiter-batches", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the chunk in progress; queued posts are left undecided (resubmit them)."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                job = self._queue.popleft()
            self._work(job)

    def _work(self, job: Job) -> None:
        job.state = "running"
        for start in range(0, len(job.posts), CHUNK):
            chunk = job.posts[start : start + CHUNK]
            for attempt in range(3):
                if self._closed:
                    job.state, job.error = "failed", "the service stopped before it finished"
                    return
                try:
                    decide(self.store, job.engines, chunk, self.on_decided)
                    break
                except Exception as error:
                    log.exception("batch %s: chunk at %d failed", job.id, start)
                    if attempt == 2:
                        job.state, job.error = "failed", f"{type(error).__name__}: {error}"
                        with self._wake:
                            self._pending -= len(job.posts) - start
                        return
                    time.sleep(0.5 * (attempt + 1))
            job.decided += len(chunk)
            with self._wake:
                self._pending -= len(chunk)
        job.state = "done"
        job.posts = []  # the outcomes are all a status needs now

    def status(self, batch_id: str) -> BatchStatus | None:
        """A batch's progress: from this process when it runs here, else from the store."""
        seq_text, _, token = batch_id.partition("-")
        if not (seq_text.isascii() and seq_text.isdigit()) or len(seq_text) > 9 or not token:
            return None
        with reading(self.store.engine) as connection:
            row = connection.execute(
                select(audit_log).where(audit_log.c.seq == int(seq_text))
            ).first()
        if row is None or row.kind != "batch" or row.subject != f"batch:{token}":
            return None
        payload = orjson.loads(row.payload)
        policy_id, version = payload["policy"], int(payload["version"])
        items = [(str(p), str(h)) for p, h in payload["posts"]]
        keys = [dedupe_key("live", policy_id, version, p, h) for p, h in items]
        found = stored_by_key(self.store, keys)
        decided = [(p, found.get(k)) for (p, _), k in zip(items, keys, strict=True)]
        count = sum(1 for _, d in decided if d is not None)
        job = self._jobs.get(batch_id)
        if job is not None:
            state, error = job.state, job.error
            if state == "done" and count < len(items):
                state = "running"  # cannot happen; never report done with decisions missing
        else:
            # Accepted by another worker process (or before a restart): the store says how far.
            state, error = ("done" if count == len(items) else "pending"), ""
        return BatchStatus(
            batch_id,
            state,
            len(items),
            count,
            row.actor,
            row.at,
            policy_id,
            version,
            error,
            decided,
        )
