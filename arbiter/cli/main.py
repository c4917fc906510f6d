"""The `arbiter` command: scan, check-policy, explain, bench."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from arbiter.cli.common import err, open_store, out
from arbiter.cli.scan_media import media_settings
from arbiter.engine import Engine
from arbiter.media.model import MediaLimits
from arbiter.media.pipeline import MediaPipeline
from arbiter.model import Decision, Post
from arbiter.policy.load import PolicyError, load_policy
from arbiter.scan import DEFAULT_MAX_LINE_BYTES, ScanSummary, scan
from arbiter.store import StoreError

DEFAULT_LIMITS = MediaLimits()

app = typer.Typer(
    help="Arbiter: find what a policy designates, in any script and through disguises, "
    "and record why.",
    no_args_is_help=True,
    add_completion=False,
)


def _policy_or_exit(path: Path) -> Engine:
    try:
        return Engine(load_policy(path))
    except PolicyError as error:
        for problem in error.problems:
            err.print(f"[red]error[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@app.command("check-policy")
def check_policy(policy: Annotated[Path, typer.Argument(help="Policy YAML file.")]) -> None:
    """Validate a policy file; print each problem as file:line: what is wrong."""
    try:
        loaded = load_policy(policy)
    except PolicyError as error:
        for problem in error.problems:
            err.print(f"[red]error[/red] {problem}", highlight=False, soft_wrap=True)
        err.print(f"{len(error.problems)} problem(s); the policy was not loaded.")
        raise typer.Exit(2) from None
    out.print(
        f"[green]ok[/green] {policy}: policy '{loaded.id}' version {loaded.version}, "
        f"{len(loaded.entities)} entities, {len(loaded.rules)} rules",
        highlight=False,
        soft_wrap=True,
    )


@app.command("scan")
def scan_command(
    posts: Annotated[str, typer.Argument(help="Posts JSONL file, or - for standard input.")],
    policy: Annotated[Path, typer.Option("--policy", "-p", help="Policy YAML file.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Decisions JSONL, or -.")] = "-",
    errors: Annotated[
        str | None,
        typer.Option(help="Errors JSONL (default: beside the output, NAME.errors.jsonl)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes to use; 0 means one per core.")] = 1,
    max_line_bytes: Annotated[
        int, typer.Option(help="Lines longer than this are reported, not decided.")
    ] = DEFAULT_MAX_LINE_BYTES,
    db: Annotated[
        str | None,
        typer.Option(
            help="Record posts and decisions in this database (a path for SQLite, or a URL); "
            "default $ARBITER_DATABASE_URL when set."
        ),
    ] = None,
    shadow: Annotated[
        Path | None,
        typer.Option(
            help="A policy to run beside --policy in shadow mode: stored, never acted on."
        ),
    ] = None,
    bank: Annotated[
        Path | None,
        typer.Option(
            help="A bank from `arbiter bank build` (default: built from the policy's references)."
        ),
    ] = None,
    fetch: Annotated[bool, typer.Option(help="Download media given by URL.")] = False,
    allow_private: Annotated[
        bool, typer.Option(help="Let --fetch reach private, loopback and link-local addresses.")
    ] = False,
    max_image_bytes: Annotated[
        int, typer.Option(help="Larger images are refused.")
    ] = DEFAULT_LIMITS.max_image_bytes,
    max_video_bytes: Annotated[
        int, typer.Option(help="Larger videos are refused.")
    ] = DEFAULT_LIMITS.max_video_bytes,
    max_pixels: Annotated[
        int, typer.Option(help="Images with more pixels are refused (decompression bombs).")
    ] = DEFAULT_LIMITS.max_pixels,
    max_video_seconds: Annotated[
        float, typer.Option(help="Longer videos are refused.")
    ] = DEFAULT_LIMITS.max_video_seconds,
    fetch_timeout: Annotated[
        float, typer.Option(help="Seconds allowed per download.")
    ] = DEFAULT_LIMITS.fetch_timeout,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Media hashes and OCR text kept by content here.")
    ] = None,
    ocr: Annotated[bool, typer.Option(help="Read text in images and video frames.")] = True,
) -> None:
    """Decide every post of a JSONL file, its text and its media; print a summary."""
    engine = _policy_or_exit(policy)
    limits = MediaLimits(
        max_image_bytes=max_image_bytes,
        max_video_bytes=max_video_bytes,
        max_pixels=max_pixels,
        max_video_seconds=max_video_seconds,
        fetch_timeout=fetch_timeout,
        allow_private=allow_private,
    )
    settings = media_settings(
        engine.policy, posts, bank=bank, limits=limits, fetch=fetch, cache_dir=cache_dir, ocr=ocr
    )
    engine.media = MediaPipeline.from_settings(settings)
    shadow_engine = _policy_or_exit(shadow) if shadow else None
    db = db or os.environ.get("ARBITER_DATABASE_URL")
    if shadow_engine is not None and not db:
        err.print("[red]error[/red] --shadow needs --db: shadow decisions are only stored")
        raise typer.Exit(2)
    record = _recorder(db, engine, shadow_engine) if db else None
    workers = workers or os.cpu_count() or 1
    errors_path = errors or _errors_beside(output)
    source = sys.stdin.buffer if posts == "-" else _open(posts, "rb")
    sink = sys.stdout.buffer if output == "-" else _open(output, "wb")
    error_sink = sys.stderr.buffer if errors_path == "-" else _open(errors_path, "wb")
    try:
        if posts == "-":
            summary = scan(engine, source, sink, error_sink, workers, max_line_bytes, record=record)
        else:
            summary = _scan_with_progress(
                engine, posts, source, sink, error_sink, workers, max_line_bytes, record
            )
    finally:
        for stream in (source, sink, error_sink):
            if stream in (sys.stdin.buffer, sys.stdout.buffer, sys.stderr.buffer):
                stream.flush() if stream is not sys.stdin.buffer else None
            else:
                stream.close()
    _print_summary(summary, output, errors_path)
    if summary.errors:
        raise typer.Exit(1)


def _recorder(
    db: str, engine: Engine, shadow: Engine | None
) -> Callable[[list[tuple[Post, Decision]]], None]:
    """Record each chunk in the store: live decisions, then the shadow policy's."""
    store = open_store(db)
    try:
        store.activate(engine.policy, "live", actor="cli")
        if shadow is not None:
            store.activate(shadow.policy, "shadow", actor="cli")
    except StoreError as error:
        err.print(f"[red]error[/red] {error}", highlight=False)
        raise typer.Exit(2) from None

    def record(pairs: list[tuple[Post, Decision]]) -> None:
        store.record(engine.policy, pairs)
        if shadow is not None:
            posts = [post for post, _ in pairs]
            store.record(
                shadow.policy, list(zip(posts, shadow.evaluate_many(posts), strict=True)), "shadow"
            )

    return record


def _open(path: str, mode: str) -> IO[bytes]:
    try:
        return open(path, mode)
    except OSError as error:
        err.print(f"[red]error[/red] cannot open {path}: {error.strerror}")
        raise typer.Exit(2) from None


def _errors_beside(output: str) -> str:
    if output == "-":
        return "-"
    path = Path(output)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return str(path.with_name(f"{stem}.errors.jsonl"))


def _scan_with_progress(
    engine: Engine,
    posts: str,
    source: IO[bytes],
    sink: IO[bytes],
    errors: IO[bytes],
    workers: int,
    max_line_bytes: int,
    record: Callable[[list[tuple[Post, Decision]]], None] | None,
) -> ScanSummary:
    total = os.path.getsize(posts)
    columns = (TextColumn("[bold]scanning"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("scan", total=total)
        return scan(
            engine,
            source,
            sink,
            errors,
            workers,
            max_line_bytes,
            on_progress=lambda done: progress.update(task, completed=done),
            record=record,
        )


def _print_summary(summary: ScanSummary, output: str, errors_path: str) -> None:
    table = Table(title="arbiter scan", title_justify="left")
    table.add_column("", style="bold")
    table.add_column("posts", justify="right")
    for action, count in summary.by_action.most_common():
        table.add_row(f"action {action}", f"{count:,}")
    for rule, count in summary.by_rule.most_common():
        table.add_row(f"rule {rule}", f"{count:,}")
    table.add_row("decided", f"{summary.posts:,}")
    table.add_row("errors", Text(f"{summary.errors:,}", style="red" if summary.errors else ""))
    table.add_row("posts/s", f"{summary.posts_per_second:,.0f}")
    err.print(table)
    if output != "-":
        err.print(f"decisions: {output}", highlight=False)
    if summary.errors and errors_path != "-":
        err.print(f"[red]{summary.errors} line(s) failed[/red]; see {errors_path}", highlight=False)


@app.command("explain")
def explain(
    policy: Annotated[Path, typer.Option("--policy", "-p", help="Policy YAML file.")],
    text: Annotated[str, typer.Option("--text", "-t", help="The text to explain.")],
) -> None:
    """Show which entities a text refers to, with the matched spans highlighted."""
    engine = _policy_or_exit(policy)
    matches = engine.matcher.find_exhaustive(text)
    highlighted = Text(text)
    for match in matches:
        highlighted.stylize("bold black on yellow", *match.span)
    out.print(highlighted)
    if not matches:
        out.print("[dim]no match[/dim]")
        return
    table = Table()
    for column in ("entity", "signal", "span", "matched", "via", "score"):
        table.add_column(column)
    for match in matches:
        table.add_row(
            match.entity,
            match.signal,
            f"{match.span[0]}–{match.span[1]}",
            match.matched,
            match.via,
            f"{match.score:.2f}",
        )
    out.print(table)


bench_app = typer.Typer(help="Benchmarks (see bench/ in the source tree).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("text")
def bench_text(
    posts: Annotated[int, typer.Option(help="Posts to generate.")] = 1_000_000,
    entities: Annotated[int, typer.Option(help="Entities in the generated policy.")] = 1_000,
    memory_entities: Annotated[
        int, typer.Option(help="Entities for the peak-memory measurement (0 skips it).")
    ] = 10_000,
    workers: Annotated[int, typer.Option(help="Workers for the full scan path.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed of the generators.")] = 7,
) -> None:
    """Text matching throughput against a bare Aho-Corasick pass and a naive regex."""
    _bench_module("text").run(
        posts=posts,
        entities=entities,
        memory_entities=memory_entities,
        workers=workers,
        seed=seed,
        console=out,
    )


@bench_app.command("store")
def bench_store(
    decisions: Annotated[int, typer.Option(help="Decisions to write.")] = 100_000,
    batch: Annotated[int, typer.Option(help="Decisions per transaction.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed of the posts.")] = 7,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL server to create scratch databases on (default "
            "$ARBITER_TEST_DATABASE_URL, else a throwaway server from the installed binaries)."
        ),
    ] = None,
    postgres: Annotated[bool, typer.Option(help="Measure PostgreSQL as well as SQLite.")] = True,
) -> None:
    """Decisions written per second with the audit chain against plain inserts of the same rows."""
    _bench_module("store").run(
        decisions=decisions,
        batch=batch,
        seed=seed,
        console=out,
        postgres_url=postgres_url,
        postgres=postgres,
    )


@bench_app.command("media")
def bench_media(
    bank_sizes: Annotated[
        str, typer.Option(help="Bank sizes for the latency comparison, comma-separated.")
    ] = "100000,1000000",
    images: Annotated[int, typer.Option(help="Photos through the full path (0 skips it).")] = 200,
    queries: Annotated[int, typer.Option(help="Query hashes per bank size.")] = 1000,
    memory_hashes: Annotated[
        int, typer.Option(help="Hashes of the bank whose memory is measured (0 skips it).")
    ] = 1_000_000,
    video_seconds: Annotated[
        float, typer.Option(help="Length of the generated 480p clip (0 skips it).")
    ] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed of the generators.")] = 7,
) -> None:
    """Photo hashing and matching against bare PDQ, index latency against FAISS and
    threatexchange, bank memory, video hashing time."""
    _bench_module("media").run(
        bank_sizes=[int(size) for size in bank_sizes.split(",") if size.strip()],
        images=images,
        queries=queries,
        memory_hashes=memory_hashes,
        video_seconds=video_seconds,
        seed=seed,
        console=out,
    )


@bench_app.command("serve")
def bench_serve(
    rate: Annotated[float, typer.Option(help="Requests per second in the fixed-rate run.")] = 200.0,
    seconds: Annotated[float, typer.Option(help="Length of the fixed-rate run.")] = 30.0,
    saturation_seconds: Annotated[
        float, typer.Option(help="Length of the saturation run (closed loop).")
    ] = 20.0,
    concurrency: Annotated[int, typer.Option(help="Clients in the saturation run.")] = 32,
    workers: Annotated[int, typer.Option(help="arbiter serve's worker processes.")] = 1,
    db: Annotated[
        str | None,
        typer.Option(help="Database for the server (default: a fresh SQLite file); a URL."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the posts.")] = 7,
) -> None:
    """The HTTP API under load (POST /v1/posts:evaluate): latency at a fixed rate, requests/s
    at saturation, beside the engine's in-process rate."""
    _bench_module("serve").run(
        rate=rate,
        seconds=seconds,
        saturation_seconds=saturation_seconds,
        concurrency=concurrency,
        workers=workers,
        db=db,
        seed=seed,
        console=out,
    )


def _bench_module(name: str) -> Any:
    """Load bench/NAME.py from the source tree: benchmarks ship with the source, not the wheel."""
    path = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    if not path.exists():
        err.print(f"[red]error[/red] {path} not found: run benchmarks from a source checkout")
        raise typer.Exit(2)
    spec = importlib.util.spec_from_file_location(f"arbiter_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the module look themselves up there
    spec.loader.exec_module(module)
    return module
