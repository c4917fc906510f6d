"""Statements out to the Transparency Database: API batches, JSONL bodies and the CSV layout."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from arbiter.report import dsa
from arbiter.report.sor_export import DuplicatePuidError, batches, write_csv, write_json
from tests.report.sor_schema import BATCH_VALIDATOR, PROPERTIES
from tests.report.test_statement import FACTS, HASHTAG, ORDER, TEXT, statement


def many(n: int) -> list[dict[str, Any]]:
    """`n` valid statements with distinct puids."""
    one = statement("praise", TEXT)
    return [{**one, "puid": f"arbiter-d-{i:06d}"} for i in range(n)]


def batch_errors(body: dict[str, Any]) -> list[str]:
    return [e.message for e in BATCH_VALIDATOR.iter_errors(body)]


def test_batches_hold_1_to_100_statements_in_order():
    statements = many(250)
    bodies = list(batches(statements))
    assert [len(b["statements"]) for b in bodies] == [100, 100, 50]
    assert [s for b in bodies for s in b["statements"]] == statements
    assert all(batch_errors(b) == [] for b in bodies)


def test_a_smaller_batch_size():
    assert [len(b["statements"]) for b in batches(many(5), size=2)] == [2, 2, 1]


def test_no_statements_no_batches():
    assert list(batches([])) == []


@pytest.mark.parametrize("size", [0, 101])
def test_batch_size_is_bounded_by_the_api(size: int):
    with pytest.raises(ValueError, match="1 to 100"):
        list(batches(many(1), size=size))


def test_the_batch_validator_refuses_what_the_api_refuses():
    assert batch_errors({"statements": []})
    assert batch_errors({"statements": many(101)})
    assert batch_errors({"statements": [{**many(1)[0], "puid": "a b"}]})


def test_a_duplicate_puid_within_a_batch_is_refused():
    statements = many(3)
    statements[2] = {**statements[2], "puid": statements[0]["puid"]}
    with pytest.raises(DuplicatePuidError, match="arbiter-d-000000"):
        list(batches(statements))


def test_a_duplicate_puid_across_batches_is_refused_before_its_batch():
    statements = many(150)
    statements[120] = {**statements[120], "puid": statements[5]["puid"]}
    produced = []
    with pytest.raises(DuplicatePuidError, match="statement 120 was already used by statement 5"):
        for body in batches(statements):
            produced.append(body)
    # The first batch was whole and valid; the one holding the duplicate never left.
    assert [len(b["statements"]) for b in produced] == [100]


def test_a_statement_without_puid_is_refused():
    with pytest.raises(ValueError, match="statement 1 has no puid"):
        list(batches([many(1)[0], {"category": "x"}]))


def test_write_json_writes_one_api_body_per_line(tmp_path: Path):
    path = tmp_path / "sor.jsonl"
    assert write_json(many(130), path) == 130
    lines = path.read_text(encoding="utf-8").splitlines()
    bodies = [json.loads(line) for line in lines]
    assert [len(b["statements"]) for b in bodies] == [100, 30]
    assert all(batch_errors(b) == [] for b in bodies)


def test_write_json_to_a_stream_keeps_text_readable():
    stream = io.StringIO()
    write_json([statement("praise", TEXT, facts=replace(FACTS, authority=ORDER))], stream)
    assert "StGB § 86a" in stream.getvalue()  # not \u00a7
    assert json.loads(stream.getvalue())["statements"][0]["source_identity"] == (
        "Landgericht Berlin"
    )


def test_write_json_refuses_duplicates_across_the_file():
    statements = many(2) + many(1)
    with pytest.raises(DuplicatePuidError):
        write_json(statements, io.StringIO())


def test_csv_has_the_schema_columns_in_order_and_one_row_per_statement():
    statements = [
        statement("praise", TEXT),
        statement("hashtag-campaign", HASHTAG, facts=replace(FACTS, puid="arbiter-d-2")),
    ]
    stream = io.StringIO()
    assert write_csv(statements, stream) == 2
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0] == list(PROPERTIES) == list(dsa.FIELDS)
    assert len(rows) == 3
    first = dict(zip(rows[0], rows[1], strict=True))
    second = dict(zip(rows[0], rows[2], strict=True))
    # Arrays as the database stores and downloads them; absent fields empty.
    assert first["decision_visibility"] == '["DECISION_VISIBILITY_CONTENT_REMOVED"]'
    assert second["territorial_scope"] == '["DE","FR","NL"]'
    assert first["content_type"] == '["CONTENT_TYPE_TEXT"]'
    assert first["decision_account"] == "" and first["illegal_content_legal_ground"] == ""
    assert first["puid"] == "arbiter-d-000123" and second["puid"] == "arbiter-d-2"
    assert first["decision_facts"] == statements[0]["decision_facts"]


def test_csv_empty_arrays_and_nulls():
    one = {**many(1)[0], "category_specification": [], "content_language": None}
    stream = io.StringIO()
    write_csv([one], stream)
    row = dict(zip(*csv.reader(io.StringIO(stream.getvalue())), strict=True))
    assert row["category_specification"] == "[]"
    assert row["content_language"] == ""


def test_csv_refuses_a_duplicate_puid():
    with pytest.raises(DuplicatePuidError):
        write_csv(many(1) * 2, io.StringIO())
