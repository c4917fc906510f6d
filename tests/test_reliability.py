"""`arbiter scan --db` killed with SIGKILL and rerun: no decision lost, none duplicated.

Real processes on real databases: a scan of 4,000 posts (four chunks) is killed inside
the first chunk's write transaction, midway wherever it is, and inside the last chunk's
write transaction, each time rerun from the start, and the store is checked after every
kill and at the end. Kill points are found by watching the database, not by guessing
delays, so they land where they are meant to.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from arbiter.policy.load import load_policy
from arbiter.store import Store
from arbiter.store.database import database_url
from arbiter.store.effects import sampled
from arbiter.store.schema import audit_log, decisions
from tests.conftest import EXAMPLES, ROOT
from tests.postgres import Databases

POLICY = EXAMPLES / "policy.yaml"
POSTS = 4000
CHUNK = 1000  # arbiter.scan.CHUNK_LINES: one store transaction per chunk
POLICY_EVENTS = ("policy.stored", "policy.activated")
TIMEOUT = 60.0
RACED_TABLES = ("policies", "activations", "posts")  # in the order a scan first writes them


def write_posts(path: Path, numbers: Iterable[int]) -> None:
    """The example posts' texts, cycled, each under a unique id."""
    with open(EXAMPLES / "posts.jsonl", encoding="utf-8") as stream:
        examples = [json.loads(line) for line in stream if line.strip()]
    with path.open("w", encoding="utf-8") as out:
        for n in numbers:
            post = dict(examples[n % len(examples)], id=f"rel-{n:05d}")
            out.write(json.dumps(post, ensure_ascii=False) + "\n")


def start_scan(posts: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "ARBITER_DATABASE_URL"}
    command = [sys.executable, "-m", "arbiter", "scan", str(posts), "-p", str(POLICY)]
    command += ["-o", str(posts.with_suffix(".out.jsonl")), "--db", url]
    with log.open("ab") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, env=env)


class Watcher:
    """Reads the database while a scan writes it, without taking part in its transactions."""

    def __init__(self, url: str):
        self.url = database_url(url)
        self.sqlite = self.url.startswith("sqlite")
        options = {} if self.sqlite else {"isolation_level": "AUTOCOMMIT"}
        self.engine = sa.create_engine(self.url, **options)

    def count(self, table: str) -> int:
        with self.engine.connect() as connection:
            return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())

    def writing(self) -> bool:
        """Whether a writer is inside a transaction (on PostgreSQL: one that has written)."""
        if self.sqlite:
            # A writer holds SQLite's write lock from BEGIN IMMEDIATE to COMMIT.
            probe = sqlite3.connect(self.engine.url.database or "", timeout=0)
            probe.isolation_level = None
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True
            finally:
                probe.close()
        with self.engine.connect() as connection:
            # A transaction gets an xid at its first write.
            return bool(
                connection.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                ).scalar_one()
            )

    def blocked(self) -> int:
        """PostgreSQL backends of this database waiting for a lock."""
        with self.engine.connect() as connection:
            return int(
                connection.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                ).scalar_one()
            )

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class KillPoint:
    """Kill once `after` decisions are committed, inside a write transaction if `writing`."""

    after: int
    writing: bool


KILL_POINTS = (
    KillPoint(0, writing=True),  # the first chunk's transaction
    KillPoint(POSTS // 2 - CHUNK // 2, writing=False),  # midway, wherever the scan is
    KillPoint(POSTS - CHUNK - CHUNK // 2, writing=True),  # the last chunk's transaction
)


def wait_for(
    condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str
) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the scan ended (exit {process.returncode}) before {what}:\n{tail(log)}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}:\n{tail(log)}")
        time.sleep(0.002)


def kill_at(point: KillPoint, posts: Path, url: str, watcher: Watcher, log: Path) -> int:
    """Run a scan and SIGKILL it at `point`; the decisions committed when it was killed."""
    process = start_scan(posts, url, log)
    seen = [0]

    def reached() -> bool:
        # Until the policy's two events are logged, a write is the policy's, not a chunk's.
        if watcher.count("audit_log") < len(POLICY_EVENTS):
            return False
        seen[0] = watcher.count("decisions")
        return seen[0] >= point.after and (not point.writing or watcher.writing())

    try:
        wait_for(reached, process, log, f"kill point {point}")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, tail(log)
    return seen[0]


def tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def check_store(url: str, whole_chunks: bool = False, posts: set[str] | None = None) -> int:
    """Every invariant a crash must not break; the number of decisions.

    `whole_chunks`: decisions come in whole chunks; `posts`: exactly these posts are decided.
    """
    policy = load_policy(POLICY)
    with Store.open(url) as store, store.engine.connect() as connection:
        verification = store.verify_audit()
        assert verification.ok, verification.finding
        rows = connection.execute(sa.select(decisions)).all()
        kinds = dict(
            connection.execute(
                sa.select(audit_log.c.kind, sa.func.count()).group_by(audit_log.c.kind)
            ).all()
        )
        reviews = store.count("reviews")
        post_rows = store.count("posts")
    assert {row.subject for row in rows} <= {"post"}
    automated = [(r.post_id, r.policy_version, r.mode) for r in rows if r.automated]
    assert len(automated) == len(set(automated)), "an automated decision is duplicated"
    decided = [row.post_id for row in rows]
    assert len(decided) == len(set(decided)), "a post is decided more than once"
    if whole_chunks:  # a chunk is one transaction: a kill leaves whole chunks, never part of one
        assert len(rows) % CHUNK == 0
    assert post_rows == len(rows), "posts and decisions are written together"
    picked = sum(
        sampled(row.puid, policy.enforcement.sampling.rate_for(row.rule))
        for row in rows
        if row.action not in ("allow", "review")
    )
    expected = {"decision": len(rows), **dict.fromkeys(POLICY_EVENTS, 1), "review.queued": picked}
    assert kinds == {kind: n for kind, n in expected.items() if n}
    assert verification.entries == len(rows) + len(POLICY_EVENTS) + picked
    assert reviews == sum(row.action == "review" for row in rows) + picked
    if posts is not None:
        assert set(decided) == posts, "a post was never decided"
    return len(rows)


def test_a_killed_scan_rerun_loses_and_duplicates_nothing(store_url: str, tmp_path: Path):
    posts = tmp_path / "posts.jsonl"
    write_posts(posts, range(POSTS))
    log = tmp_path / "scan.log"
    Store.open(store_url).close()  # migrated up front, as the PostgreSQL template is
    watcher = Watcher(store_url)
    try:
        before = 0
        for point in KILL_POINTS:
            seen = kill_at(point, posts, store_url, watcher, log)
            after = check_store(store_url, whole_chunks=True)
            # The chunk being written when the signal came is gone, unless it committed
            # in the instant between the last look and the kill.
            assert after in (seen, seen + CHUNK) and after >= before
            before = after
        assert before < POSTS, "every kill point landed before the end"
        process = start_scan(posts, store_url, log)
        assert process.wait(timeout=TIMEOUT) == 0, tail(log)
    finally:
        watcher.close()
    assert check_store(store_url, posts={f"rel-{n:05d}" for n in range(POSTS)}) == POSTS
    out = posts.with_suffix(".out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(out) == POSTS


def test_two_concurrent_scans_over_overlapping_posts(postgres_databases: Databases, tmp_path: Path):
    """Both scans decide the same 1,000 posts at the same moment, then 1,000 of their own."""
    with postgres_databases.fresh() as url:
        concurrent_scans(url, tmp_path)


def concurrent_scans(store_url: str, tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    shared = range(CHUNK, 2 * CHUNK)
    write_posts(first, [*shared, *range(0, CHUNK)])
    write_posts(second, [*shared, *range(2 * CHUNK, 3 * CHUNK)])
    watcher = Watcher(store_url)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    # Each barrier holds inserts into one table that both scans write first thing (the
    # policy, its activation, the shared posts). Released one at a time once both scans
    # are blocked, on it or on a lock the store takes before it, so every race a fresh
    # start can run into happens for certain instead of now and then.
    barriers = []
    for table in RACED_TABLES:
        barrier = watcher.engine.connect()
        barrier.exec_driver_sql("BEGIN")
        barrier.exec_driver_sql(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        barriers.append(barrier)
    try:
        processes = [
            start_scan(p, store_url, log) for p, log in zip((first, second), logs, strict=True)
        ]
        for barrier, table in zip(barriers, RACED_TABLES, strict=True):
            wait_for(
                lambda: watcher.blocked() == 2 or any(p.poll() is not None for p in processes),
                processes[0],
                logs[0],
                f"both scans to be blocked before writing {table}",
            )
            barrier.exec_driver_sql("ROLLBACK")
        codes = [p.wait(timeout=TIMEOUT) for p in processes]
    finally:
        for barrier in barriers:
            barrier.close()
        watcher.close()
    # What must hold whatever the scans' fate: nothing duplicated, one linear chain.
    stored = check_store(store_url)
    if codes != [0, 0]:
        failed = next(log for log, code in zip(logs, codes, strict=True) if code != 0)
        # The traceback is wrapped to the terminal's width: match across line breaks.
        known = re.search(
            r"(UniqueViolation)\)?:? (duplicate key value violates\s+unique constraint \"\w+\")\s+"
            r"DETAIL:\s+(.*? already exists\.)",
            failed.read_text(errors="replace"),
        )
        error = " ".join(" ".join(known.groups()).split()) if known else tail(failed)
        pytest.fail(
            f"a scan racing the other exits {max(codes)} with {error}; "
            f"{3 * CHUNK - stored:,} posts were never decided"
        )
    check_store(store_url, posts={f"rel-{n:05d}" for n in range(3 * CHUNK)})
