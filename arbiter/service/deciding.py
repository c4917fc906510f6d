"""Deciding posts for the API: evaluate, record under the live policy (and the shadow one),
read back what the store holds; one writer thread does it for every request of a process.

Requests do not write on their own threads: they hand their posts to the `Decider`'s
writer thread and wait. It takes everything waiting (single posts first, then at most
a slice of a batch), decides it with one `evaluate_many` and records it with one
`Store.record` — a group commit: under load many requests share one transaction,
and no two threads of the process queue on the database's write lock (SQLite's
busy handler sleeps, in steps of up to 100 ms, when they do). Other writes of the
service (reviews, appeals, policies, keys) take the same `writing` lock.

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
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select

from arbiter.engine import Engine
from arbiter.model import Decision, Post
from arbiter.service.live import Engines
from arbiter.store import Store, audit
from arbiter.store.database import reading
from arbiter.store.records import StoredDecision, content_hash, dedupe_key, stored_decision
from arbiter.store.schema import audit_log, decisions

log = logging.getLogger("arbiter.service")
MAX_GROUP = 200  # posts in one group commit
BULK_SLICE = 50  # posts of a batch taken at once, so single posts never wait long behind one
KEEP_JOBS = 1000  # batches remembered in memory (their failures; progress is in the store)


class NoPolicy(RuntimeError):
    """The service has no live policy yet (upload one with PUT /v1/policies)."""


class BusyError(RuntimeError):
    """The batch queue is full; `retry_after` says when to try again."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


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
    with reading(store.engine) as connection:
        return _by_key(connection, keys)


def _by_key(connection: Connection, keys: Sequence[str]) -> dict[str, StoredDecision]:
    found: dict[str, StoredDecision] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 500):
        rows = connection.execute(
            select(decisions).where(decisions.c.dedupe_key.in_(unique[start : start + 500]))
        ).all()
        for row in rows:
            found[row.dedupe_key] = stored_decision(row)
    return found


def decide(
    store: Store, engines: Engines, posts: Sequence[Post], actors: Sequence[str | None] = ()
) -> list[Outcome]:
    """Evaluate `posts`, record them (live, then shadow), log who submitted the new ones
    (`actors[i]` for post i; None logs nothing), return the stored live decisions."""
    live = engines.live
    if live is None:
        raise NoPolicy("no live policy: upload one with PUT /v1/policies")
    fresh = live.evaluate_many(posts)
    keys = [key_of(live, post) for post in posts]
    single = len(set(keys)) == 1
    # One post: the store's count says whether it was new. Several: ask which are known.
    before = {} if single else stored_by_key(store, keys)
    missing: list[tuple[Post, Decision]] = []
    seen: set[str] = set()
    for post, decision, key in zip(posts, fresh, keys, strict=True):
        if key not in before and key not in seen:
            seen.add(key)
            missing.append((post, decision))
    if missing:
        recorded = store.record(live.policy, missing)
        if single and recorded.new == 0:  # decided before: not created by this call
            before = stored_by_key(store, keys)
            seen.clear()
            missing = []
    if missing and engines.shadow is not None:
        shadow = engines.shadow
        unseen = [post for post, _ in missing]
        pairs = list(zip(unseen, shadow.evaluate_many(unseen), strict=True))
        store.record(shadow.policy, pairs, "shadow")
    if not seen:
        return [Outcome(before[key], False, d) for key, d in zip(keys, fresh, strict=True)]
    # One transaction reads the new decisions back and logs who submitted them.
    with store.engine.begin() as connection:
        after = _by_key(connection, list(seen))
        outcomes, events = [], []
        for index, (key, decision) in enumerate(zip(keys, fresh, strict=True)):
            created = key in seen
            seen.discard(key)  # a post repeated in the group is created once
            stored = before[key] if key in before else after[key]
            outcomes.append(Outcome(stored, created, decision))
            actor = actors[index] if index < len(actors) else None
            if created and actor is not None:
                events.append(_submission(actor, stored))
        if events:
            audit.append(connection, events, store.clock())
    return outcomes


def _submission(actor: str, stored: StoredDecision) -> audit.Event:
    return audit.Event(
        "submission",
        actor,
        f"post:{stored.decision.post_id}",
        {"decision": stored.puid, "content_hash": stored.content_hash, "via": "api"},
    )


def log_event(
    store: Store,
    kind: str,
    actor: str,
    subject: str,
    payload: dict[str, Any],
    lock: threading.Lock | threading.RLock | None = None,
) -> list[audit.Entry]:
    """One audit entry of the service's own (who relayed an appeal, who submitted a batch)."""
    with lock or threading.Lock(), store.engine.begin() as connection:
        return audit.append(connection, [audit.Event(kind, actor, subject, payload)], store.clock())


# -- the writer thread ----------------------------------------------------------------------


@dataclass
class _Single:
    post: Post
    engines: Engines
    actor: str
    future: Future[Outcome] = field(default_factory=Future)


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


class Decider:
    """The process's one writer of decisions: group commits, single posts before batches."""

    def __init__(
        self,
        store: Store,
        on_decided: Callable[[StoredDecision], None] | None = None,
        max_pending: int = 100_000,
    ):
        self.store = store
        self.on_decided = on_decided
        self.max_pending = max_pending
        self.writing = threading.RLock()  # every write of the service's requests takes it
        self._singles: deque[_Single] = deque()
        self._jobs: dict[str, Job] = {}
        self._bulk: deque[Job] = deque()
        self._pending = 0
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Posts of batches waiting to be decided."""
        return self._pending

    # -- single posts --

    def submit(self, post: Post, engines: Engines, actor: str) -> Future[Outcome]:
        """Decide and record `post`; the future holds its outcome."""
        if engines.live is None:
            raise NoPolicy("no live policy: upload one with PUT /v1/policies")
        item = _Single(post, engines, actor)
        with self._wake:
            if self._closed:
                raise RuntimeError("the service is stopping")
            self._singles.append(item)
            self._start()
            self._wake.notify()
        return item.future

    # -- batches --

    def submit_batch(self, posts: list[Post], engines: Engines, actor: str) -> Job:
        """Log the batch in the audit trail and queue it; returns at once."""
        live = engines.live
        if live is None:
            raise NoPolicy("no live policy: upload one with PUT /v1/policies")
        if self._pending + len(posts) > self.max_pending:
            raise BusyError(
                f"{self._pending:,} posts are waiting to be decided; try again shortly", 5.0
            )
        token = secrets.token_hex(8)
        payload: dict[str, Any] = {
            "policy": live.policy.id,
            "version": live.policy.version,
            "posts": [[post.id, content_hash(post)] for post in posts],
        }
        (entry,) = log_event(self.store, "batch", actor, f"batch:{token}", payload, self.writing)
        job = Job(f"{entry.seq}-{token}", posts, engines, actor, entry.at)
        with self._wake:
            if len(self._jobs) >= KEEP_JOBS:
                for old in [j for j in self._jobs.values() if j.state in ("done", "failed")]:
                    del self._jobs[old.id]
            self._jobs[job.id] = job
            self._bulk.append(job)
            self._pending += len(posts)
            self._start()
            self._wake.notify()
        return job

    def status(self, batch_id: str) -> BatchStatus | None:
        """A batch's progress: its state from this process when it runs here, its decisions
        from the store (so any worker process can answer, also after a restart)."""
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
                state = "running"  # never report done with decisions missing
        else:
            # Accepted by another worker process (or before a restart): the store says how far.
            state, error = ("done" if count == len(items) else "pending"), ""
        return BatchStatus(
            batch_id, state, len(items), count, row.actor, row.at, policy_id, version, error,
            decided,
        )  # fmt: skip

    # -- the thread --

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="arbiter-decider", daemon=True)
            self._thread.start()

    def open(self) -> None:
        """Accept work again (an app started after it was stopped, as tests do)."""
        with self._wake:
            self._closed = False

    def close(self, timeout: float = 10.0) -> None:
        """Finish the single posts waiting, stop batches after the slice in progress."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._singles and not self._bulk and not self._closed:
                    self._wake.wait()
                singles = [
                    self._singles.popleft() for _ in range(min(len(self._singles), MAX_GROUP))
                ]
                job = self._bulk[0] if (not singles and self._bulk) else None
                if not singles and (self._closed or job is None):
                    for waiting in self._bulk:
                        waiting.state = "failed"
                        waiting.error = "the service stopped before it finished; submit again"
                    return
            if singles:
                self._singles_group(singles)
            elif job is not None:
                self._bulk_slice(job)

    def _singles_group(self, items: list[_Single]) -> None:
        by_engines: dict[int, list[_Single]] = {}
        for item in items:
            by_engines.setdefault(id(item.engines), []).append(item)
        for group in by_engines.values():
            try:
                with self.writing:
                    outcomes = decide(
                        self.store,
                        group[0].engines,
                        [i.post for i in group],
                        [i.actor for i in group],
                    )
            except BaseException as error:
                for item in group:
                    item.future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
                continue
            for item, outcome in zip(group, outcomes, strict=True):
                self._decided(outcome)
                item.future.set_result(outcome)

    def _bulk_slice(self, job: Job) -> None:
        job.state = "running"
        chunk = job.posts[job.decided : job.decided + BULK_SLICE]
        for attempt in range(3):
            try:
                with self.writing:
                    outcomes = decide(self.store, job.engines, chunk)
                break
            except Exception as error:
                log.exception("batch %s: posts from %d failed", job.id, job.decided)
                if attempt == 2:
                    with self._wake:
                        job.state, job.error = "failed", f"{type(error).__name__}: {error}"
                        self._pending -= len(job.posts) - job.decided
                        self._bulk.popleft()
                    return
                time.sleep(0.5 * (attempt + 1))
        for outcome in outcomes:
            self._decided(outcome)
        with self._wake:
            job.decided += len(chunk)
            self._pending -= len(chunk)
            if job.decided >= len(job.posts):
                job.state = "done"
                job.posts = []  # the store has the rest
                self._bulk.popleft()

    def _decided(self, outcome: Outcome) -> None:
        if outcome.created and self.on_decided is not None:
            self.on_decided(outcome.stored)
