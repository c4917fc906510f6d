"""`arbiter bench store`: decisions written per second with the audit chain, against plain inserts.

The benchmark builds N posts, deterministically from one seed, from the texts of
examples/posts.jsonl (each with a unique id), and decides them once with the
example policy, which gives a mix of allow, review and restrict decisions. Then,
on SQLite (a temporary file) and on PostgreSQL, each in fresh databases, it times
only the writes:

- chain: `Store.record(policy, batch)`, the path `arbiter scan --db` takes: posts,
  decisions, one hash-chained audit entry per decision, review queue rows and
  post states, in one transaction per batch;
- plain: the same decision rows (`decision_row(...)`, same dedupe keys and puids)
  inserted into the same table with one SQLAlchemy Core executemany per batch,
  one transaction per batch, and nothing else.

It reports both rates and the chain's overhead (chain time over plain time,
minus one), then checks the chain's database: every decision stored once, the
audit chain verifies, one entry per decision plus the policy's two events.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from random import Random
from types import ModuleType
from typing import Any

import orjson
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from arbiter.engine import Engine
from arbiter.model import Decision, Post
from arbiter.policy.load import load_policy
from arbiter.policy.model import Policy
from arbiter.store import Store
from arbiter.store.database import database_url
from arbiter.store.effects import sampled
from arbiter.store.records import content_hash, decision_row, dedupe_key
from arbiter.store.schema import audit_log, decisions

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "store.md"
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"
EXAMPLE_POSTS = ROOT / "examples" / "posts.jsonl"
TARGET_OVERHEAD = 0.30
POLICY_EVENTS = 2  # policy.stored and policy.activated, logged before the timed writes
DECIDED_AT = "2026-11-25T10:00:00Z"

Pair = tuple[Post, Decision]


# -- posts and decisions ------------------------------------------------------------------


def make_posts(count: int, seed: int) -> list[Post]:
    """`count` posts drawn from the example texts with a seeded generator, ids unique."""
    with EXAMPLE_POSTS.open("rb") as lines:
        examples = [orjson.loads(line) for line in lines if line.strip()]
    rng = Random(seed)
    posts = []
    for number in range(count):
        data = dict(rng.choice(examples), id=f"bench-{seed}-{number:07d}")
        posts.append(Post.from_dict(data))
    return posts


def decide(
    policy: Policy, posts: Sequence[Post], batch: int, on_progress: Callable[[int], None]
) -> list[Pair]:
    """Decide every post once, before any clock starts."""
    engine = Engine(policy)
    pairs: list[Pair] = []
    for start in range(0, len(posts), batch):
        chunk = posts[start : start + batch]
        pairs += zip(chunk, engine.evaluate_many(chunk, DECIDED_AT), strict=True)
        on_progress(len(pairs))
    return pairs


def batches(pairs: Sequence[Pair], size: int) -> Iterator[Sequence[Pair]]:
    for start in range(0, len(pairs), size):
        yield pairs[start : start + size]


# -- databases ----------------------------------------------------------------------------


def _tests_postgres() -> ModuleType:
    """tests/postgres.py (a throwaway server from the installed binaries), loaded by path."""
    path = ROOT / "tests" / "postgres.py"
    spec = importlib.util.spec_from_file_location("arbiter_bench_tests_postgres", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def postgres_server(url: str | None, console: Console) -> Iterator[tuple[str | None, str]]:
    """(URL, note): `url`, else $ARBITER_TEST_DATABASE_URL, else a server started for the run."""
    url = url or os.environ.get("ARBITER_TEST_DATABASE_URL")
    if url:
        yield url, ""
        return
    helpers = _tests_postgres()
    bindir = helpers.find_binaries()
    if bindir is None:
        console.print(
            "[yellow]PostgreSQL skipped[/yellow]: no --postgres-url, no "
            "$ARBITER_TEST_DATABASE_URL and no initdb installed"
        )
        yield None, ""
        return
    server = helpers.Server(bindir)
    server.start()
    try:
        yield server.url(), "PostgreSQL: a throwaway server started for the run (fsync=off)."
    finally:
        server.stop()


@contextmanager
def postgres_database(server_url: str, label: str) -> Iterator[str]:
    """A scratch database on the server (its role needs CREATEDB), dropped afterwards."""
    admin = sa.create_engine(database_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"arbiter_bench_{uuid.uuid4().hex[:10]}_{label}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        yield sa.make_url(database_url(server_url)).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


# -- the two write paths ------------------------------------------------------------------


def write_chain(
    store: Store, policy: Policy, pairs: Sequence[Pair], size: int, advance: Callable[[int], None]
) -> tuple[list[float], int]:
    """Seconds each batch took and decisions recorded by `Store.record`, a transaction a batch."""
    new = 0
    seconds = []
    for batch in batches(pairs, size):
        started = time.perf_counter()
        new += store.record(policy, batch).new
        seconds.append(time.perf_counter() - started)
        advance(len(batch))
    return seconds, new


def write_plain(
    engine: sa.Engine,
    policy: Policy,
    pairs: Sequence[Pair],
    size: int,
    advance: Callable[[int], None],
) -> tuple[float, int]:
    """Seconds taken and rows inserted by a bare executemany of the same decision rows."""
    written = 0
    started = time.perf_counter()
    for batch in batches(pairs, size):
        rows = []
        for post, decision in batch:
            content = content_hash(post)
            key = dedupe_key("live", policy.id, policy.version, post.id, content)
            status = "pending_review" if decision.action == "review" else "in_force"
            rows.append(
                decision_row(decision, mode="live", content=content, key=key, status=status)
            )
        with engine.begin() as connection:
            written += connection.execute(sa.insert(decisions), rows).rowcount
        advance(len(batch))
    return time.perf_counter() - started, written


@dataclass
class Measured:
    """One database's figures."""

    database: str
    decisions: int
    chain_s: float
    chain_last_per_s: float  # over the last tenth of the batches: does the rate hold up?
    plain_s: float
    recorded: int  # Store.record's count of new decisions
    stored: int  # rows in the chain database's decisions table
    plain_stored: int
    audit_entries: int
    audit_kinds: dict[str, int]
    audit_ok: bool
    audit_problem: str
    reviews: int
    review_decisions: int  # decisions whose action is review: each queues a review
    sampled: int  # other decisions the policy's review_sample picks: a review and an event

    @property
    def chain_per_s(self) -> float:
        return self.decisions / self.chain_s

    @property
    def plain_per_s(self) -> float:
        return self.decisions / self.plain_s

    @property
    def overhead(self) -> float:
        """Extra time per decision that the chained path costs over plain inserts."""
        return self.chain_s / self.plain_s - 1

    @property
    def consistent(self) -> bool:
        return (
            self.recorded == self.stored == self.plain_stored == self.decisions
            and self.audit_ok
            and self.audit_kinds
            == {
                "decision": self.stored,
                "policy.stored": 1,
                "policy.activated": 1,
                **({"review.queued": self.sampled} if self.sampled else {}),
            }
            and self.audit_entries == self.stored + POLICY_EVENTS + self.sampled
            and self.reviews == self.review_decisions + self.sampled
        )


def measure(
    database: str,
    chain_url: str,
    plain_url: str,
    policy: Policy,
    pairs: Sequence[Pair],
    size: int,
    console: Console,
) -> Measured:
    """Time both paths on fresh databases of one kind, then check the chained one."""
    with Store.open(plain_url) as plain, _progress(console) as progress:
        task = progress.add_task(f"{database}: plain inserts", total=len(pairs))
        plain_s, _ = write_plain(
            plain.engine, policy, pairs, size, lambda n: progress.advance(task, n)
        )
        plain_stored = plain.count("decisions")
    with Store.open(chain_url) as store:
        store.activate(policy, "live", actor="bench")
        with _progress(console) as progress:
            task = progress.add_task(f"{database}: Store.record (chain)", total=len(pairs))
            seconds, recorded = write_chain(
                store, policy, pairs, size, lambda n: progress.advance(task, n)
            )
        last = max(1, len(seconds) // 10)
        with console.status(f"{database}: verifying the audit chain"):
            verification = store.verify_audit()
        return Measured(
            database=database,
            decisions=len(pairs),
            chain_s=sum(seconds),
            chain_last_per_s=sum(len(b) for b in list(batches(pairs, size))[-last:])
            / sum(seconds[-last:]),
            plain_s=plain_s,
            recorded=recorded,
            stored=store.count("decisions"),
            plain_stored=plain_stored,
            audit_entries=store.count("audit_log"),
            audit_kinds=audit_kinds(store),
            audit_ok=verification.ok,
            audit_problem=str(verification.finding or ""),
            reviews=store.count("reviews"),
            review_decisions=sum(1 for _, d in pairs if d.action == "review"),
            sampled=expected_samples(policy, pairs),
        )


def audit_kinds(store: Store) -> dict[str, int]:
    """Audit entries by kind."""
    query = sa.select(audit_log.c.kind, sa.func.count()).group_by(audit_log.c.kind)
    with store.engine.connect() as connection:
        return {kind: int(count) for kind, count in connection.execute(query).all()}


def expected_samples(policy: Policy, pairs: Sequence[Pair]) -> int:
    """Automated actions the policy's review sampling should pick, worked out from the puids."""
    count = 0
    for post, decision in pairs:
        if decision.action in ("allow", "review"):
            continue
        key = dedupe_key("live", policy.id, policy.version, post.id, content_hash(post))
        puid = decision_row(decision, mode="live", content="", key=key, status="")["puid"]
        count += sampled(puid, policy.enforcement.sampling.rate_for(decision.rule))
    return count


# -- report -------------------------------------------------------------------------------


def _progress(console: Console) -> Progress:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console, transient=True)


HEADER = (
    "database",
    "decisions",
    "chain rows/s",
    "chain, last 10%",
    "plain rows/s",
    "chain overhead",
    "target",
    "result",
    "audit",
)


def report_rows(results: Sequence[Measured]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for m in results:
        audit = f"ok, {m.audit_entries:,} entries" if m.audit_ok else f"FAILS: {m.audit_problem}"
        rows.append(
            (
                m.database,
                f"{m.stored:,}",
                f"{m.chain_per_s:,.0f}",
                f"{m.chain_last_per_s:,.0f}",
                f"{m.plain_per_s:,.0f}",
                f"{m.overhead:+.0%}",
                f"< {TARGET_OVERHEAD:.0%}",
                "pass" if m.overhead < TARGET_OVERHEAD else "fail",
                audit,
            )
        )
    return rows


def _title(figures: dict[str, Any]) -> str:
    return (
        f"arbiter bench store: {figures['decisions']:,} decisions, batches of "
        f"{figures['batch']:,}, seed {figures['seed']}"
    )


def print_table(console: Console, figures: dict[str, Any], rows: list[tuple[str, ...]]) -> None:
    """One column per database, so that the table fits a narrow terminal."""
    table = Table(title=_title(figures), title_justify="left")
    table.add_column("figure")
    for row in rows:
        table.add_column(row[0], justify="right")
    colours = {"pass": "[green]pass[/green]", "fail": "[red]fail[/red]"}
    for index, name in enumerate(HEADER[1:], start=1):
        table.add_row(name, *(colours.get(row[index], row[index]) for row in rows))
    console.print(table)


def write_markdown(path: Path, figures: dict[str, Any], rows: list[tuple[str, ...]]) -> None:
    mix = ", ".join(f"{action} {count:,}" for action, count in figures["actions"].items())
    lines = [f"# {_title(figures)}", ""]
    lines += ["| " + " | ".join(HEADER) + " |", "|---|--:|--:|--:|--:|--:|--:|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += [
        "",
        f"Decisions: {mix}. Chain: `Store.record` (posts, decisions, one audit entry each, "
        "review queue, post states); plain: executemany of the same decision rows. One "
        "transaction per batch on both paths; overhead = chain time / plain time - 1; "
        "'chain, last 10%' is the chained rate over the last tenth of the batches.",
    ]
    if figures.get("postgres_note"):
        lines += ["", figures["postgres_note"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- the benchmark ------------------------------------------------------------------------


def run(
    decisions: int,
    batch: int,
    seed: int,
    console: Console,
    postgres_url: str | None = None,
    postgres: bool = True,
    sqlite: bool = True,
    results: Path | None = None,
) -> dict[str, Any]:
    """Generate, decide, time both write paths per database, print and write one table."""
    results = RESULTS if results is None else results
    if decisions < 1 or batch < 1:
        raise ValueError("decisions and batch must be at least 1")
    if not (sqlite or postgres):
        raise ValueError("measure SQLite, PostgreSQL or both")
    policy = load_policy(EXAMPLE_POLICY)
    posts = make_posts(decisions, seed)
    with _progress(console) as progress:
        task = progress.add_task("deciding posts (not timed)", total=decisions)
        pairs = decide(policy, posts, 1000, lambda done: progress.update(task, completed=done))
    measured: list[Measured] = []
    note = ""
    if sqlite:
        with tempfile.TemporaryDirectory(prefix="arbiter-bench-store-") as tmp:
            folder = Path(tmp)
            measured.append(
                measure(
                    "SQLite",
                    f"sqlite:///{folder / 'chain.db'}",
                    f"sqlite:///{folder / 'plain.db'}",
                    policy,
                    pairs,
                    batch,
                    console,
                )
            )
    if postgres:
        with postgres_server(postgres_url, console) as (server, note), ExitStack() as stack:
            if server is not None:
                chain_url = stack.enter_context(postgres_database(server, "chain"))
                plain_url = stack.enter_context(postgres_database(server, "plain"))
                measured.append(
                    measure("PostgreSQL", chain_url, plain_url, policy, pairs, batch, console)
                )
    figures: dict[str, Any] = {
        "decisions": decisions,
        "batch": batch,
        "seed": seed,
        "actions": dict(Counter(d.action for _, d in pairs).most_common()),
        "postgres_note": note,
        "databases": {
            m.database: {
                "chain_per_s": m.chain_per_s,
                "chain_last_per_s": m.chain_last_per_s,
                "plain_per_s": m.plain_per_s,
                "overhead": m.overhead,
                "recorded": m.recorded,
                "stored": m.stored,
                "plain_stored": m.plain_stored,
                "audit_entries": m.audit_entries,
                "audit_ok": m.audit_ok,
                "audit_kinds": m.audit_kinds,
                "reviews": m.reviews,
                "review_decisions": m.review_decisions,
                "sampled": m.sampled,
                "consistent": m.consistent,
            }
            for m in measured
        },
    }
    rows = report_rows(measured)
    print_table(console, figures, rows)
    for m in measured:
        if not m.consistent:
            console.print(f"[red]{m.database}: the stored figures do not add up[/red]: {m}")
    write_markdown(results, figures, rows)
    console.print(f"written: {results}", highlight=False)
    return figures
