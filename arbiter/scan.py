"""Scanning JSONL: posts in, decisions out, in input order, bad lines reported and skipped.

A malformed line, a post without an id, a line over the size limit or a line
that is not UTF-8 becomes an entry in the errors file with its line number;
the scan goes on. With several workers, chunks of lines are decided in
parallel processes and written back in input order.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from arbiter.engine import Engine, utc_now
from arbiter.media.pipeline import MediaPipeline, MediaSettings
from arbiter.model import Decision, Post, PostError
from arbiter.policy.load import load_policy

DEFAULT_MAX_LINE_BYTES = 1_000_000
CHUNK_LINES = 1000


@dataclass(frozen=True, slots=True)
class LineError:
    """Why one input line produced no decision."""

    line: int
    error: str
    post_id: str | None = None

    def as_json(self) -> bytes:
        return orjson.dumps({"line": self.line, "post_id": self.post_id, "error": self.error})


@dataclass
class ScanSummary:
    """What a scan did: counts by action and rule, errors, time."""

    posts: int = 0
    errors: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def posts_per_second(self) -> float:
        return self.posts / self.seconds if self.seconds > 0 else 0.0


Line = tuple[int, bytes]
Outcome = tuple[int, bytes | None, LineError | None, str | None, str | None]


def read_lines(stream: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None, str]]:
    """(line number, bytes or None, problem) for each non-blank line; long lines are skipped."""
    number = 0
    while True:
        raw = stream.readline(max_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            size = len(raw) + _skip_rest_of_line(stream)
            yield (
                number,
                None,
                (f"line is {size:,} bytes, over the limit of {max_bytes:,} (--max-line-bytes)"),
            )
            continue
        raw = raw.rstrip(b"\r\n")
        if raw.strip():
            yield number, raw, ""


def _skip_rest_of_line(stream: IO[bytes]) -> int:
    skipped = 0
    while True:
        block = stream.readline(1 << 20)
        skipped += len(block)
        if not block or block.endswith(b"\n"):
            return skipped


def read_post(number: int, raw: bytes) -> Post | LineError:
    """The post on one JSONL line, or why there is none."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return LineError(number, _json_problem(raw, error))
    try:
        return Post.from_dict(data)
    except PostError as error:
        post_id = data.get("id") if isinstance(data, dict) else None
        return LineError(number, str(error), _as_id(post_id))


def _json_problem(raw: bytes, error: orjson.JSONDecodeError) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not valid UTF-8 (byte {bad.start} of the line)"
    return f"not valid JSON: {error}"


def _as_id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def decide_chunk(engine: Engine, lines: list[Line]) -> list[Outcome]:
    """Decide a chunk of lines in one batch; outcomes keep the lines' order."""
    read = [(number, read_post(number, raw)) for number, raw in lines]
    posts = [post for _, post in read if isinstance(post, Post)]
    decisions = iter(engine.evaluate_many(posts, utc_now()))
    outcomes: list[Outcome] = []
    for number, post in read:
        if isinstance(post, LineError):
            outcomes.append((number, None, post, None, None))
            continue
        decision = next(decisions)
        outcomes.append(
            (number, orjson.dumps(decision.as_dict()), None, decision.action, decision.rule)
        )
    return outcomes


_worker_engine: Engine | None = None


def _start_worker(policy_path: str, media: MediaSettings | None) -> None:
    global _worker_engine
    pipeline = MediaPipeline.from_settings(media) if media is not None else None
    _worker_engine = Engine(load_policy(policy_path), media=pipeline)


def _decide_in_worker(lines: list[Line]) -> list[Outcome]:
    assert _worker_engine is not None
    return decide_chunk(_worker_engine, lines)


def scan(
    engine: Engine,
    source: IO[bytes],
    sink: IO[bytes],
    errors: IO[bytes] | None,
    workers: int = 1,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    on_progress: Callable[[int], None] | None = None,
    record: Callable[[list[tuple[Post, Decision]]], None] | None = None,
) -> ScanSummary:
    """Decide every post of `source` into `sink`; report bad lines to `errors`.

    `record`, when given, receives each chunk's posts and decisions before they are
    written out (the store records them in one transaction per chunk).
    """
    summary = ScanSummary()
    started = time.perf_counter()
    skipped: list[LineError] = []
    sent: deque[list[Line]] = deque()  # chunks in flight, in order, for `record`

    def chunks() -> Iterator[list[Line]]:
        chunk: list[Line] = []
        for number, raw, problem in read_lines(source, max_line_bytes):
            if raw is None:
                skipped.append(LineError(number, problem))
                continue
            chunk.append((number, raw))
            if len(chunk) >= CHUNK_LINES:
                if record is not None:
                    sent.append(chunk)
                yield chunk
                chunk = []
        if chunk:
            if record is not None:
                sent.append(chunk)
            yield chunk

    def report(error: LineError) -> None:
        summary.errors += 1
        if errors is not None:
            errors.write(error.as_json() + b"\n")

    for outcomes in _decide_all(engine, chunks(), workers):
        if record is not None:
            record(_decided_pairs(sent.popleft(), outcomes))
        for number, output, error, action, rule in outcomes:
            while skipped and skipped[0].line < number:
                report(skipped.pop(0))
            if error is not None:
                report(error)
                continue
            assert output is not None and action is not None
            sink.write(output + b"\n")
            summary.posts += 1
            summary.by_action[action] += 1
            summary.by_rule[rule or "(none)"] += 1
        if on_progress is not None:
            on_progress(source.tell() if source.seekable() else summary.posts)
    for error in skipped:
        report(error)
    summary.seconds = time.perf_counter() - started
    return summary


def _decided_pairs(lines: list[Line], outcomes: list[Outcome]) -> list[tuple[Post, Decision]]:
    raw = dict(lines)
    pairs = []
    for number, output, _, _, _ in outcomes:
        if output is None:
            continue
        post = read_post(number, raw[number])
        assert isinstance(post, Post)
        pairs.append((post, Decision.from_dict(orjson.loads(output))))
    return pairs


def _decide_all(
    engine: Engine, chunks: Iterable[list[Line]], workers: int
) -> Iterator[list[Outcome]]:
    if workers <= 1:
        for chunk in chunks:
            yield decide_chunk(engine, chunk)
        return
    if not engine.policy.source:
        raise ValueError("parallel scans need a policy loaded from a file")
    context = multiprocessing.get_context("fork")
    media = engine.media.settings if engine.media is not None else None
    with context.Pool(
        workers, initializer=_start_worker, initargs=(engine.policy.source, media)
    ) as pool:
        yield from pool.imap(_decide_in_worker, chunks, chunksize=1)
