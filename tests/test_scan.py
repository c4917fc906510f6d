"""arbiter scan: every line decided or reported, in input order, with or without workers."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from arbiter.cli import app
from arbiter.engine import Engine
from arbiter.scan import read_lines, scan

runner = CliRunner()


def write_posts(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def post(i: int, text: str = "hello") -> bytes:
    return orjson.dumps({"id": f"p{i}", "text": text, "lang": "en"})


BAD_LINES = [
    post(1, "Qassem Soleimani"),
    b'{"id": "p2", "text": "unterminated',
    post(3),
    b'{"text": "no id here"}',
    b"\xff\xfe not utf-8 \xc3\x28",
    b"",
    orjson.dumps({"id": "p7", "text": "x" * 3_000_000}),
    b'["a", "list"]',
    post(9, "Haj Qassem"),
]


def test_bad_lines_are_reported_with_their_line_numbers_and_the_rest_goes_on(
    tmp_path: Path, example_policy_path: Path
):
    posts = write_posts(tmp_path / "posts.jsonl", BAD_LINES)
    result = runner.invoke(
        app, ["scan", str(posts), "-p", str(example_policy_path), "-o", str(tmp_path / "out.jsonl")]
    )
    assert result.exit_code == 1
    decisions = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [d["post_id"] for d in decisions] == ["p1", "p3", "p9"]
    assert [d["action"] for d in decisions] == ["review", "allow", "review"]
    errors = [json.loads(x) for x in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert [(e["line"], e["error"].split(":")[0].split(" (")[0]) for e in errors] == [
        (2, "not valid JSON"),
        (4, "the post has no id"),
        (5, "not valid UTF-8"),
        (7, "line is 3,000,022 bytes, over the limit of 1,000,000"),
        (8, "a post must be a JSON object, not list"),
    ]
    assert "errors" in result.stderr and "5" in result.stderr


def test_a_clean_scan_exits_zero_and_prints_a_summary(tmp_path: Path, example_policy_path: Path):
    posts = write_posts(tmp_path / "posts.jsonl", [post(1, "Qassem Soleimani"), post(2)])
    result = runner.invoke(
        app, ["scan", str(posts), "-p", str(example_policy_path), "-o", str(tmp_path / "d.jsonl")]
    )
    assert result.exit_code == 0, result.stderr
    assert "rule designated-person" in result.stderr and "posts/s" in result.stderr
    assert (tmp_path / "d.errors.jsonl").read_text() == ""


def test_standard_input_and_output(tmp_path: Path, example_policy_path: Path):
    result = runner.invoke(
        app,
        ["scan", "-", "-p", str(example_policy_path)],
        input=post(1, "#QassemSoleimani") + b"\n",
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout.splitlines()[0])["rule"] == "hashtag-campaign"


@pytest.mark.parametrize("workers", [1, 2])
def test_decisions_come_out_in_input_order(
    tmp_path: Path, engine: Engine, example_policy_path: Path, workers: int
):
    texts = ["Qassem Soleimani", "nothing", "#SardarDelha", "Abu Mahdi al-Muhandis"]
    lines = [post(i, texts[i % 4]) for i in range(2500)] + [b"{bad"]
    posts = write_posts(tmp_path / "posts.jsonl", lines)
    out = tmp_path / "out.jsonl"
    with open(posts, "rb") as source, open(out, "wb") as sink, open(tmp_path / "e", "wb") as errs:
        summary = scan(engine, source, sink, errs, workers=workers)
    decisions = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [d["post_id"] for d in decisions] == [f"p{i}" for i in range(2500)]
    assert summary.posts == 2500 and summary.errors == 1
    assert summary.by_rule == {"designated-person": 1250, "(none)": 625, "hashtag-campaign": 625}


def test_reading_lines_skips_blank_ones_and_measures_long_ones(tmp_path: Path):
    path = write_posts(tmp_path / "x", [b"a", b"", b"   ", b"b" * 50, b"c"])
    with open(path, "rb") as stream:
        assert list(read_lines(stream, max_bytes=10)) == [
            (1, b"a", ""),
            (4, None, "line is 51 bytes, over the limit of 10 (--max-line-bytes)"),
            (5, b"c", ""),
        ]
