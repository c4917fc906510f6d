"""`arbiter bench serve`: the HTTP API under load, against the engine in the same run.

It starts `arbiter serve` (uvicorn, loopback, a fresh SQLite file by default; `--db`
takes a PostgreSQL URL) with the example policy, creates an ingest key, and sends
`POST /v1/posts:evaluate` with text-only posts drawn from examples/posts.jsonl
(each with a unique id, so every request decides and records a new post) from an
asyncio load generator (httpx.AsyncClient):

- fixed rate, open loop: requests are sent on a timetable (200/s by default)
  whatever the responses do, over at most `connections` at once (as wrk2 does),
  and each latency is measured from the time the request was due, so a stalled
  server shows as latency, not as fewer requests;
- saturation, closed loop: `concurrency` clients send back to back; requests/s
  is the API's capacity on this machine (the load generator shares the CPU).

Beside them, in the same run and process: the engine's in-process rate
(`Engine.evaluate`, one post at a time) and the endpoint's work without HTTP
(`decide` + the submission entry, one post per call, on a SQLite file like the
server's), so the table says how much HTTP adds and how much the database does.
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from arbiter.engine import Engine
from arbiter.model import Post
from arbiter.policy.load import load_policy
from arbiter.service import keys
from arbiter.service.deciding import decide
from arbiter.service.live import Engines
from arbiter.store import Store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "serve.md"
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"
EXAMPLE_POSTS = ROOT / "examples" / "posts.jsonl"
TARGET_P99_MS = 20.0


def make_posts(count: int, seed: int, tag: str) -> list[dict[str, Any]]:
    """Text-only posts from the example texts, ids unique to this run."""
    with EXAMPLE_POSTS.open("rb") as lines:
        examples = [orjson.loads(line) for line in lines if line.strip()]
    rng = Random(seed)
    posts = []
    for number in range(count):
        example = rng.choice(examples)
        posts.append(
            {
                "id": f"bench-{tag}-{number:07d}",
                "text": example.get("text", ""),
                "lang": example.get("lang", ""),
                "author": {"id": example.get("author", {}).get("id", "u0")},
            }
        )
    return posts


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (uvicorn's workers), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    total = sum(int(value) for value in fields[11:13]) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(cpu_seconds(int(child)) for child in children)
    return total


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


# -- the server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(db: str, workers: int) -> Iterator[tuple[str, int]]:
    """`arbiter serve` in a subprocess on a free loopback port; its base URL and pid."""
    port = _free_port()
    command = [
        sys.executable, "-m", "arbiter", "serve", "--db", db, "--policy", str(EXAMPLE_POLICY),
        "--port", str(port), "--workers", str(workers), "--rate-limit", "0",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"arbiter serve exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("arbiter serve did not become ready")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- load ---------------------------------------------------------------------------------


async def _fixed_rate(
    client: httpx.AsyncClient, posts: list[bytes], rate: float, connections: int
) -> dict[str, Any]:
    """Send `posts` on a timetable of `rate` per second over at most `connections` at once
    (as wrk2 does); a request that waits for a free connection waits on the clock: latency
    is measured from when it was due."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    lags: list[float] = []
    statuses: Counter[str] = Counter()
    free = asyncio.Semaphore(connections)

    async def one(post: bytes, due: float) -> None:
        async with free:
            lags.append(loop.time() - due)
            try:
                response = await client.post("/v1/posts:evaluate", content=post)
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1
                return
        latencies.append(loop.time() - due)

    start = loop.time() + 0.05
    tasks = []
    for number, post in enumerate(posts):
        due = start + number / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(post, due)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    return _summary(latencies, statuses, len(posts), elapsed, lags)


async def _saturation(
    client: httpx.AsyncClient, posts: list[bytes], concurrency: int, seconds: float
) -> dict[str, Any]:
    """`concurrency` clients sending back to back for `seconds`."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    source = iter(posts)
    stop = loop.time() + seconds

    async def worker() -> None:
        for post in source:
            if loop.time() >= stop:
                return
            sent = loop.time()
            try:
                response = await client.post("/v1/posts:evaluate", content=post)
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1
                continue
            latencies.append(loop.time() - sent)

    start = loop.time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = loop.time() - start
    return _summary(latencies, statuses, sum(statuses.values()), elapsed)


def _summary(
    latencies: list[float],
    statuses: Counter[str],
    sent: int,
    elapsed: float,
    lags: list[float] | None = None,
) -> dict[str, Any]:
    return {
        "sent": sent,
        "ok": statuses.get("201", 0),
        "statuses": dict(statuses),
        "seconds": elapsed,
        "rps": statuses.get("201", 0) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p90_ms": percentile(latencies, 0.90) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "send_lag_p99_ms": percentile(lags, 0.99) * 1000 if lags else None,
    }


async def _load(
    url: str,
    pid: int,
    key: str,
    warmup: list[bytes],
    fixed: list[bytes],
    saturate: list[bytes],
    rate: float,
    concurrency: int,
    saturation_seconds: float,
    connections: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    # The pool has room for every request let through: requests queued inside httpx's pool
    # cost the load generator CPU in proportion to the queue, just when it matters.
    pool = max(connections, concurrency)
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:
        await _saturation(client, warmup, min(concurrency, 8), 60.0)
        server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
        at_rate = await _fixed_rate(client, fixed, rate, connections)
        done = max(1, at_rate["ok"])
        at_rate["server_cpu_ms"] = (cpu_seconds(pid) - server_cpu) * 1000 / done
        at_rate["client_cpu_ms"] = (time.process_time() - client_cpu) * 1000 / done
        saturated = await _saturation(client, saturate, concurrency, saturation_seconds)
    return at_rate, saturated


# -- in process ---------------------------------------------------------------------------


def _engine_rate(engine: Engine, posts: list[Post], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for post in posts:
            engine.evaluate(post)
            done += 1
    return done / (time.perf_counter() - start)


def _endpoint_rate(
    engine: Engine, posts: list[Post], folder: Path, seconds: float
) -> dict[str, float]:
    """What the endpoint does for each post, without HTTP: decide, record, log the sender;
    with the share of it spent in `Store.record` and the SQL statements it takes."""
    with Store.open(f"sqlite:///{folder / 'in-process.db'}") as store:
        store.activate(engine.policy, "live", actor="bench")
        engines = Engines(engine, None)
        statements = [0]
        in_record = [0.0]
        record = store.record

        def timed_record(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return record(*args, **kwargs)
            finally:
                in_record[0] += time.perf_counter() - began

        def count(*_: Any) -> None:
            statements[0] += 1

        store.record = timed_record  # type: ignore[method-assign]
        event.listen(store.engine, "before_cursor_execute", count)
        done, start = 0, time.perf_counter()
        for post in posts:
            decide(store, engines, [post], ["ingest:bench"])
            done += 1
            if time.perf_counter() - start >= seconds:
                break
        elapsed = time.perf_counter() - start
        event.remove(store.engine, "before_cursor_execute", count)
        return {
            "per_s": done / elapsed,
            "record_share": in_record[0] / elapsed,
            "statements": statements[0] / max(1, done),
        }


# -- the run ------------------------------------------------------------------------------


def run(
    *,
    rate: float = 200.0,
    seconds: float = 30.0,
    saturation_seconds: float = 20.0,
    concurrency: int = 32,
    connections: int = 64,
    workers: int = 1,
    warmup: int = 300,
    db: str | None = None,
    seed: int = 7,
    console: Console,
    results: Path | None = RESULTS,
) -> dict[str, Any]:
    """Measure, print a table, write `results` (Markdown); return the figures."""
    tag = f"{seed}-{int(time.time())}"
    fixed_count = int(rate * seconds)
    saturation_budget = int(max(2000, saturation_seconds * 3000))
    everything = make_posts(warmup + fixed_count + saturation_budget, seed, tag)
    warm = everything[:warmup]
    fixed = everything[warmup : warmup + fixed_count]
    saturate = everything[warmup + fixed_count :]
    engine = Engine(load_policy(EXAMPLE_POLICY))
    with tempfile.TemporaryDirectory(prefix="arbiter-bench-serve-") as scratch:
        folder = Path(scratch)
        url_db = db or f"sqlite:///{folder / 'arbiter.db'}"
        with Store.open(url_db) as store:
            _, key = keys.create_key(store.engine, "bench", "ingest", actor="bench")
        console.print(
            f"[bold]arbiter bench serve[/bold]: {rate:g} requests/s for {seconds:g} s, then "
            f"{concurrency} clients for {saturation_seconds:g} s; {workers} worker(s)",
            highlight=False,
        )
        load_before = os.getloadavg()[0]
        with server(url_db, workers) as (url, pid):
            bodies = [[orjson.dumps(p) for p in part] for part in (warm, fixed, saturate)]
            at_rate, saturated = _in_own_thread(
                _load(url, pid, key, *bodies, rate, concurrency, saturation_seconds, connections)
            )
        load_after = os.getloadavg()[0]
        sample = [Post.from_dict(p) for p in everything[:2000]]
        engine_rate = _engine_rate(engine, sample, min(3.0, max(0.5, seconds / 10)))
        endpoint = _endpoint_rate(
            engine, [Post.from_dict(p) for p in make_posts(3000, seed + 1, tag)], folder,
            min(5.0, max(0.5, seconds / 6)),
        )  # fmt: skip
        endpoint_rate = endpoint["per_s"]
    figures: dict[str, Any] = {
        "rate": rate,
        "seconds": seconds,
        "concurrency": concurrency,
        "connections": connections,
        "workers": workers,
        "database": "PostgreSQL" if url_db.startswith("postgresql") else "SQLite",
        "fixed": at_rate,
        "saturation": saturated,
        "engine_per_s": engine_rate,
        "endpoint_in_process_per_s": endpoint_rate,
        "record_share": endpoint["record_share"],
        "statements_per_post": endpoint["statements"],
        "http_overhead": engine_rate / saturated["rps"] if saturated["rps"] else float("inf"),
        "http_over_in_process": (
            endpoint_rate / saturated["rps"] if saturated["rps"] else float("inf")
        ),
        "target_met": at_rate["p99_ms"] < TARGET_P99_MS and at_rate["ok"] == at_rate["sent"],
        "load_average": (load_before, load_after),
    }
    _print(figures, console)
    if results is not None:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(_markdown(figures), encoding="utf-8")
        console.print(f"results: {results}", highlight=False)
    return figures


def _rows(f: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    fixed, sat = f["fixed"], f["saturation"]
    passed = "pass" if f["target_met"] else "fail"
    return [
        (f"fixed {f['rate']:g}/s: requests decided", f"{fixed['ok']:,} of {fixed['sent']:,}",
         "", ""),
        (f"fixed {f['rate']:g}/s: requests/s", f"{fixed['rps']:,.0f}", "", ""),
        (f"fixed {f['rate']:g}/s: p50 latency", f"{fixed['p50_ms']:.1f} ms", "", ""),
        (f"fixed {f['rate']:g}/s: p90 latency", f"{fixed['p90_ms']:.1f} ms", "", ""),
        (f"fixed {f['rate']:g}/s: p99 latency", f"{fixed['p99_ms']:.1f} ms",
         f"< {TARGET_P99_MS:g} ms", passed),
        (f"fixed {f['rate']:g}/s: max latency", f"{fixed['max_ms']:.1f} ms", "", ""),
        ("fixed: load generator's p99 send lag", f"{fixed['send_lag_p99_ms']:.1f} ms", "", ""),
        ("fixed: server CPU per request", f"{fixed['server_cpu_ms']:.2f} ms", "", ""),
        ("fixed: load generator CPU per request", f"{fixed['client_cpu_ms']:.2f} ms", "", ""),
        (f"saturation ({f['concurrency']} clients): requests/s", f"{sat['rps']:,.0f}", "", ""),
        ("saturation: p50 latency", f"{sat['p50_ms']:.1f} ms", "", ""),
        ("saturation: p99 latency", f"{sat['p99_ms']:.1f} ms", "", ""),
        ("saturation: responses", _statuses(sat["statuses"]), "", ""),
        ("engine in process (evaluate), posts/s", f"{f['engine_per_s']:,.0f}", "", ""),
        ("endpoint's work in process (decide + record), posts/s",
         f"{f['endpoint_in_process_per_s']:,.0f}", "", ""),
        ("  of which in Store.record", f"{f['record_share']:.0%}", "", ""),
        ("  SQL statements per post", f"{f['statements_per_post']:.1f}", "", ""),
        ("engine ÷ HTTP (saturation)", f"{f['http_overhead']:.1f}x", "", ""),
        ("in-process endpoint ÷ HTTP (saturation)", f"{f['http_over_in_process']:.2f}x", "", ""),
    ]  # fmt: skip


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{status}: {count:,}" for status, count in sorted(counts.items()))


def _print(figures: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"arbiter bench serve: {figures['database']}, {figures['workers']} worker(s)",
        title_justify="left",
    )
    for column, justify in (("figure", "left"), ("value", "right"), ("target", "right"),
                            ("result", "left")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in _rows(figures):
        style = "red" if row[3] == "fail" else ("green" if row[3] == "pass" else "")
        table.add_row(*row, style=style)
    console.print(table)


def _markdown(figures: dict[str, Any]) -> str:
    lines = [
        f"# arbiter bench serve: {figures['rate']:g} requests/s for {figures['seconds']:g} s "
        f"over at most {figures['connections']} connections, saturation with "
        f"{figures['concurrency']} clients; {figures['database']}, "
        f"{figures['workers']} worker(s)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPU(s), Python "
        f"{platform.python_version()}; server and load generator on the same machine.",
        f"Load average (1 min) before and after the HTTP runs: {figures['load_average'][0]:.1f}, "
        f"{figures['load_average'][1]:.1f} (other work on the machine takes CPU from both sides).",
        "",
        "| figure | value | target | result |",
        "|---|--:|--:|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in _rows(figures)]
    lines += ["", _where_the_time_goes(figures)]
    return "\n".join(lines) + "\n"


def _where_the_time_goes(f: dict[str, Any]) -> str:
    fixed = f["fixed"]
    per_post_ms = 1000 / f["endpoint_in_process_per_s"]
    record_ms = per_post_ms * f["record_share"]
    return (
        "**Where the time goes.** At the fixed rate the server spends "
        f"{fixed['server_cpu_ms']:.2f} ms of CPU per request and the load generator "
        f"{fixed['client_cpu_ms']:.2f} ms, on the same two cores. Without HTTP, the endpoint's "
        f"work takes {per_post_ms:.2f} ms per post, {record_ms:.2f} ms of it "
        f"({f['record_share']:.0%}) in `Store.record` (the post, the decision, its audit "
        "entry, review queue and post state in one transaction), with "
        f"{f['statements_per_post']:.1f} SQL statements per post in all; the engine itself takes "
        f"{1000 / f['engine_per_s']:.2f} ms. HTTP (uvicorn, FastAPI, validation, auth) adds the "
        f"rest, about {max(0.0, fixed['server_cpu_ms'] - per_post_ms):.2f} ms. Under load the "
        "writer thread records the posts waiting together (group commit), which carries the "
        "saturation rate; each request then waits for its whole group."
    )


def _in_own_thread(work: Any) -> Any:
    """Run a coroutine on a fresh event loop in its own thread: the caller's thread may
    already run a loop (Playwright's sync API keeps one in the test session)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(work))
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    thread = threading.Thread(target=run, name="bench-load")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]
