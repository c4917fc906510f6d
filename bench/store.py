"""`arbiter bench store`: what the audit chain costs when decisions are written.

The benchmark builds N posts, deterministically from one seed, from the texts of
examples/posts.jsonl (each with a unique id), and decides them once with the
example policy, which gives a mix of allow, review and restrict decisions. Then,
on SQLite (temporary files) and on PostgreSQL, it writes the same decisions three
ways, each into its own fresh database, in batches of the same size, one
transaction per batch, and times only the writes:

- plain: the decision rows (`decision_row(...)` as `Store.record` builds them: same
  dedupe keys and puids) inserted with `effects.insert_decisions`, the store's own
  insert, and nothing else;
- chain: the same rows through `effects.chain_decisions`, the function
  `write_decisions` starts with: the insert, the ids read back, and one hash-chained
  audit entry per decision under the locked head. Chain over plain is what the
  audit chain costs;
- full: `Store.record(policy, batch)`, the path `arbiter scan --db` takes: posts,
  the dedupe check, decisions and their entries, review queue, strikes, post states
  and the webhook outbox.

The three paths take turns batch by batch (in an order that rotates), so that a
machine busy with something else slows them alike. The rows are built before the
clock starts for plain and chain; `Store.record` builds its own, inside it. The
generated posts and decisions are frozen out of the garbage collector's sight
(`gc.freeze`) before the clock starts: a scan streams its posts, it does not hold
100,000 of them, and walking them over and over would slow every path.

It reports the three rates, the chain's overhead (chain time over plain time, minus
one) against the 30% target, the full path's overhead on the same scale, and the
rate over the last tenth of the batches (a query plan that degrades as the tables
grow shows there), then checks the databases: every decision stored once, both
chains verify, one entry per decision (plus, for the full path, the policy's two
events and the review samples).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from types import ModuleType
from typing import Any

import orjson
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from arbiter.engine import Engine, utc_now
from arbiter.model import Decision, Post
from arbiter.policy.load import load_policy
from arbiter.policy.model import Policy
from arbiter.store import Store
from arbiter.store.database import database_url
from arbiter.store.effects import chain_decisions, insert_decisions, sampled
from arbiter.store.records import content_hash, decision_row, dedupe_key
from arbiter.store.schema import audit_log

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "store.md"
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"
EXAMPLE_POSTS = ROOT / "examples" / "posts.jsonl"
TARGET_OVERHEAD = 0.30
POLICY_EVENTS = 2  # policy.stored and policy.activated, logged before the timed writes
PATHS = ("plain", "chain", "full")
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


# -- the three write paths ----------------------------------------------------------------


def decision_rows(policy: Policy, batch: Sequence[Pair]) -> list[dict[str, Any]]:
    """The decisions-table rows `Store.record` writes for a batch of fresh posts."""
    rows = []
    for post, decision in batch:
        content = content_hash(post)
        key = dedupe_key("live", policy.id, policy.version, post.id, content)
        status = "pending_review" if decision.action == "review" else "in_force"
        rows.append(decision_row(decision, mode="live", content=content, key=key, status=status))
    return rows


@dataclass
class Timed:
    """Seconds each batch of one path took, and the rows it reported written."""

    seconds: list[float] = field(default_factory=list)
    written: int = 0

    def rate(self, sizes: Sequence[int], last: bool = False) -> float:
        """Decisions per second, over every batch or over the last tenth of them."""
        count = max(1, len(self.seconds) // 10) if last else len(self.seconds)
        return sum(sizes[-count:]) / sum(self.seconds[-count:])


def write_all(
    engines: dict[str, Store],
    policy: Policy,
    pairs: Sequence[Pair],
    size: int,
    advance: Callable[[int], None],
) -> dict[str, Timed]:
    """Every batch down every path, the paths taking turns in a rotating order."""
    timed = {path: Timed() for path in PATHS}

    def plain(batch: Sequence[Pair], rows: list[dict[str, Any]]) -> int:
        with engines["plain"].engine.begin() as connection:
            insert_decisions(connection, rows)
        return len(rows)

    def chain(batch: Sequence[Pair], rows: list[dict[str, Any]]) -> int:
        with engines["chain"].engine.begin() as connection:
            return len(chain_decisions(connection, rows, utc_now()))

    def full(batch: Sequence[Pair], rows: list[dict[str, Any]]) -> int:
        return engines["full"].record(policy, batch).new

    writers = {"plain": plain, "chain": chain, "full": full}
    for number, batch in enumerate(batches(pairs, size)):
        for turn in range(len(PATHS)):
            path = PATHS[(number + turn) % len(PATHS)]
            rows = decision_rows(policy, batch) if path != "full" else []
            started = time.perf_counter()
            written = writers[path](batch, rows)
            timed[path].seconds.append(time.perf_counter() - started)
            timed[path].written += written
            advance(len(batch))
    return timed


@dataclass
class Checked:
    """What one path's database holds after the run."""

    stored: int  # rows in its decisions table
    audit_entries: int
    audit_kinds: dict[str, int]
    audit_ok: bool
    audit_problem: str
    reviews: int


def check(store: Store, audited: bool = True) -> Checked:
    """Count what `store` holds and, if it was written with the chain, verify the chain."""
    if not audited:
        return Checked(store.count("decisions"), store.count("audit_log"), {}, True, "", 0)
    verification = store.verify_audit()
    return Checked(
        stored=store.count("decisions"),
        audit_entries=store.count("audit_log"),
        audit_kinds=audit_kinds(store),
        audit_ok=verification.ok,
        audit_problem=str(verification.finding or ""),
        reviews=store.count("reviews"),
    )


@dataclass
class Measured:
    """One database's figures."""

    database: str
    decisions: int
    sizes: list[int]  # decisions per batch
    timed: dict[str, Timed]
    checked: dict[str, Checked]
    review_decisions: int  # decisions whose action is review: each queues a review
    sampled: int  # other decisions the policy's review_sample picks: a review and an event

    def per_s(self, path: str, last: bool = False) -> float:
        return self.timed[path].rate(self.sizes, last)

    def seconds(self, path: str) -> float:
        return sum(self.timed[path].seconds)

    def overhead(self, path: str) -> float:
        """Extra time per decision that `path` costs over plain inserts of the same rows."""
        return self.seconds(path) / self.seconds("plain") - 1

    @property
    def consistent(self) -> bool:
        chain, full = self.checked["chain"], self.checked["full"]
        n = self.decisions
        return (
            all(self.timed[path].written == n for path in PATHS)
            and all(self.checked[path].stored == n for path in PATHS)
            and chain.audit_ok
            and chain.audit_kinds == {"decision": n}
            and chain.audit_entries == n
            and full.audit_ok
            and full.audit_kinds
            == {
                "decision": n,
                "policy.stored": 1,
                "policy.activated": 1,
                **({"review.queued": self.sampled} if self.sampled else {}),
            }
            and full.audit_entries == n + POLICY_EVENTS + self.sampled
            and full.reviews == self.review_decisions + self.sampled
        )

    def figures(self) -> dict[str, Any]:
        chain, full = self.checked["chain"], self.checked["full"]
        return {
            "plain_per_s": self.per_s("plain"),
            "chain_per_s": self.per_s("chain"),
            "chain_last_per_s": self.per_s("chain", last=True),
            "full_per_s": self.per_s("full"),
            "full_last_per_s": self.per_s("full", last=True),
            "chain_overhead": self.overhead("chain"),
            "full_overhead": self.overhead("full"),
            "seconds": {path: self.seconds(path) for path in PATHS},
            "written": {path: self.timed[path].written for path in PATHS},
            "stored": {path: self.checked[path].stored for path in PATHS},
            "chain_audit_entries": chain.audit_entries,
            "chain_audit_ok": chain.audit_ok,
            "audit_entries": full.audit_entries,
            "audit_ok": full.audit_ok,
            "audit_kinds": full.audit_kinds,
            "reviews": full.reviews,
            "review_decisions": self.review_decisions,
            "sampled": self.sampled,
            "consistent": self.consistent,
        }


def measure(
    database: str,
    urls: dict[str, str],
    policy: Policy,
    pairs: Sequence[Pair],
    size: int,
    console: Console,
) -> Measured:
    """Time the three paths on fresh databases of one kind, then check what they wrote."""
    with ExitStack() as stack:
        stores = {path: stack.enter_context(Store.open(urls[path])) for path in PATHS}
        stores["full"].activate(policy, "live", actor="bench")
        with _progress(console) as progress:
            task = progress.add_task(
                f"{database}: plain, chain and full writes", total=len(PATHS) * len(pairs)
            )
            timed = write_all(stores, policy, pairs, size, lambda n: progress.advance(task, n))
        with console.status(f"{database}: verifying the audit chains"):
            checked = {path: check(store, path != "plain") for path, store in stores.items()}
    return Measured(
        database=database,
        decisions=len(pairs),
        sizes=[len(batch) for batch in batches(pairs, size)],
        timed=timed,
        checked=checked,
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
    "plain rows/s",
    "chain rows/s",
    "chain, last 10%",
    "chain overhead",
    "target",
    "result",
    "full rows/s",
    "full, last 10%",
    "full overhead",
    "audit",
)
ALIGN = ("---", "--:", "--:", "--:", "--:", "--:", "--:", "---", "--:", "--:", "--:", "---")


def report_rows(results: Sequence[Measured]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for m in results:
        chain, full = m.checked["chain"], m.checked["full"]
        if not chain.audit_ok:
            audit = f"chain FAILS: {chain.audit_problem}"
        elif not full.audit_ok:
            audit = f"full FAILS: {full.audit_problem}"
        else:
            audit = f"ok, {chain.audit_entries:,} and {full.audit_entries:,} entries"
        rows.append(
            (
                m.database,
                f"{m.decisions:,}",
                f"{m.per_s('plain'):,.0f}",
                f"{m.per_s('chain'):,.0f}",
                f"{m.per_s('chain', last=True):,.0f}",
                f"{m.overhead('chain'):+.0%}",
                f"< {TARGET_OVERHEAD:.0%}",
                "pass" if m.overhead("chain") < TARGET_OVERHEAD else "fail",
                f"{m.per_s('full'):,.0f}",
                f"{m.per_s('full', last=True):,.0f}",
                f"{m.overhead('full'):+.0%}",
                audit,
            )
        )
    return rows


def _title(figures: dict[str, Any]) -> str:
    return (
        f"arbiter bench store: {figures['decisions']:,} decisions, batches of "
        f"{figures['batch']:,}, seed {figures['seed']}"
    )


def _machine(figures: dict[str, Any]) -> str:
    start, end = figures["load"]
    return (
        f"Machine: {figures['cpus']} CPUs, load average (1 min) {start:.2f} at the start and "
        f"{end:.2f} at the end of the run."
    )


def print_table(console: Console, figures: dict[str, Any], rows: list[tuple[str, ...]]) -> None:
    """One column per database, so that the table fits a narrow terminal."""
    table = Table(title=_title(figures), title_justify="left", caption=_machine(figures))
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
    lines += ["| " + " | ".join(HEADER) + " |", "|" + "|".join(ALIGN) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += [
        "",
        f"Decisions: {mix}. Three paths, the same rows, one transaction per batch, each "
        "into its own fresh database, taking turns batch by batch. Plain: "
        "`effects.insert_decisions` (the store's insert of the decision rows, nothing "
        "else). Chain: `effects.chain_decisions` (the same insert, the ids read back, one "
        "hash-chained audit entry per decision: what `write_decisions` starts with). "
        "Full: `Store.record` (posts, dedupe check, decisions and their entries, review "
        "queue, strikes, post states, webhook outbox). Overhead = path time / plain time "
        "- 1; the target applies to the chain. 'last 10%' is the rate over the last tenth "
        "of the batches. Audit: entries in the chain and the full databases, both verified.",
        "",
        _machine(figures),
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
    """Generate, decide, time the three write paths per database, print and write one table."""
    results = RESULTS if results is None else results
    if decisions < 1 or batch < 1:
        raise ValueError("decisions and batch must be at least 1")
    if not (sqlite or postgres):
        raise ValueError("measure SQLite, PostgreSQL or both")
    load_start = os.getloadavg()[0]
    policy = load_policy(EXAMPLE_POLICY)
    posts = make_posts(decisions, seed)
    with _progress(console) as progress:
        task = progress.add_task("deciding posts (not timed)", total=decisions)
        pairs = decide(policy, posts, 1000, lambda done: progress.update(task, completed=done))
    measured: list[Measured] = []
    note = ""
    # The run's own posts and decisions are no part of what is measured: keep the garbage
    # collector from walking them again and again while the clock runs.
    gc.collect()
    gc.freeze()
    try:
        if sqlite:
            with tempfile.TemporaryDirectory(prefix="arbiter-bench-store-") as tmp:
                urls = {path: f"sqlite:///{Path(tmp) / path}.db" for path in PATHS}
                measured.append(measure("SQLite", urls, policy, pairs, batch, console))
        if postgres:
            with postgres_server(postgres_url, console) as (server, note), ExitStack() as stack:
                if server is not None:
                    urls = {
                        path: stack.enter_context(postgres_database(server, path)) for path in PATHS
                    }
                    measured.append(measure("PostgreSQL", urls, policy, pairs, batch, console))
    finally:
        gc.unfreeze()
    figures: dict[str, Any] = {
        "decisions": decisions,
        "batch": batch,
        "seed": seed,
        "actions": dict(Counter(d.action for _, d in pairs).most_common()),
        "postgres_note": note,
        "cpus": os.cpu_count(),
        "load": (load_start, os.getloadavg()[0]),
        "databases": {m.database: m.figures() for m in measured},
    }
    rows = report_rows(measured)
    print_table(console, figures, rows)
    for m in measured:
        if not m.consistent:
            console.print(f"[red]{m.database}: the stored figures do not add up[/red]: {m}")
    write_markdown(results, figures, rows)
    console.print(f"written: {results}", highlight=False)
    return figures
