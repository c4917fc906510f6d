"""Statements of reasons out to the DSA Transparency Database: API batches, JSONL and CSV.

A puid may be used once per platform, forever; every writer here refuses a puid it has
already seen, within a batch and across batches.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from arbiter.report import dsa

Statement = Mapping[str, object]


class DuplicatePuidError(ValueError):
    """A statement reuses a puid: the database would refuse it (HTTP 422)."""


def batches(
    statements: Iterable[Statement], size: int = dsa.BATCH_MAX
) -> Iterator[dict[str, list[Statement]]]:
    """Bodies for POST /api/v1/statements: {"statements": [1..size statements]}."""
    if not 1 <= size <= dsa.BATCH_MAX:
        raise ValueError(f"a batch holds 1 to {dsa.BATCH_MAX} statements, not {size}")
    batch: list[Statement] = []
    # A duplicate raises before the batch holding it is yielded: the batches already
    # yielded are valid on their own.
    for statement in _unique(statements):
        batch.append(statement)
        if len(batch) == size:
            yield {"statements": batch}
            batch = []
    if batch:
        yield {"statements": batch}


def write_json(
    statements: Iterable[Statement],
    path_or_stream: str | os.PathLike[str] | TextIO,
    size: int = dsa.BATCH_MAX,
) -> int:
    """Write one API batch body per line (JSONL); returns how many statements were written."""
    if isinstance(path_or_stream, (str, os.PathLike)):
        with Path(path_or_stream).open("w", encoding="utf-8") as stream:
            return _write_json(statements, stream, size)
    return _write_json(statements, path_or_stream, size)


def write_csv(statements: Iterable[Statement], stream: TextIO) -> int:
    """One row per statement, columns in the schema's property order; returns the row count.

    Cells hold what the database's own CSV download holds: an array as the database stores
    it, e.g. ["DE","FR"] ([] when empty); an absent or null field as an empty cell.
    """
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(dsa.FIELDS)
    count = 0
    for statement in _unique(statements):
        writer.writerow([_cell(statement.get(field)) for field in dsa.FIELDS])
        count += 1
    return count


def _write_json(statements: Iterable[Statement], stream: TextIO, size: int) -> int:
    count = 0
    for batch in batches(statements, size):
        stream.write(json.dumps(batch, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += len(batch["statements"])
    return count


def _unique(statements: Iterable[Statement]) -> Iterator[Statement]:
    seen: dict[str, int] = {}
    for index, statement in enumerate(statements):
        puid = statement.get("puid")
        if not isinstance(puid, str) or not puid:
            raise ValueError(f"statement {index} has no puid")
        if puid in seen:
            raise DuplicatePuidError(
                f"puid {puid!r} of statement {index} was already used by statement {seen[puid]}"
            )
        seen[puid] = index
        yield statement


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        # The database stores arrays as '["A","B"]' (GroupedSubmissionsService implodes
        # them so), which is compact JSON for its keys; its CSV download copies that column.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
