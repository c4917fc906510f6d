"""The audit log: an append-only hash chain of events, and its verification.

Each entry's hash is SHA-256 over the previous entry's hash, a newline, and the
entry's canonical JSON (`seq`, `at`, `kind`, `actor`, `subject`, `payload`;
keys sorted, no spaces, UTF-8). Changing, inserting or deleting any entry breaks
every hash after it, so a verifier that knows the last hash (published in each
transparency report) detects any rewrite. docs/audit.md shows the whole check
in thirty lines of Python for people who do not trust Arbiter's own.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, select, update

from arbiter.store.bulk import insert_tuples
from arbiter.store.schema import audit_head, audit_log

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, before it has a place in the chain."""

    kind: str  # decision, review, appeal, reversal, policy, bank, authority, strike, ...
    actor: str  # "rule:<id>", "moderator:<id>", "user:<id>", "system"
    subject: str  # what it is about, e.g. "decision:42"
    payload: dict[str, Any]


class Entry(NamedTuple):
    """An event in the chain: its fields are the audit_log table's columns, in their order."""

    seq: int
    at: str
    kind: str
    actor: str
    subject: str
    payload: str  # canonical JSON
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "actor": self.actor,
            "subject": self.subject,
            "payload": json.loads(self.payload),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def canonical(value: Any) -> str:
    """The one JSON spelling of `value` that every verifier reproduces."""
    if _orjson_spells(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # an integer beyond 64 bits, a lone surrogate: json decides
            pass
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_SCALARS = frozenset({str, int, bool, type(None)})
_KEYS = frozenset({str})


def _orjson_spells(value: Any) -> bool:
    """Whether orjson writes `value` exactly as `json.dumps` does with canonical's options.

    They agree, character for character, on strings (every code point is escaped alike),
    on integers, booleans and null, and on key order (code point order is UTF-8's); they
    disagree on floats (1e16, NaN), on keys that are not strings, and on subclasses.
    tests/store/test_bulk.py holds them to it.
    """
    kind = type(value)
    items: Iterable[Any]
    if kind is dict:
        if not _KEYS.issuperset(map(type, value)):
            return False
        items = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return kind in _SCALARS
    return _SCALARS.issuperset(map(type, items)) or all(map(_orjson_spells, items))


def entry_hash(
    prev_hash: str, seq: int, at: str, kind: str, actor: str, subject: str, payload: str
) -> str:
    """The hash that links an entry to the one before it."""
    body = (
        f'{{"actor":{_quoted(actor)},"at":{_quoted(at)},"kind":{_quoted(kind)},'
        f'"payload":{payload},"seq":{seq},"subject":{_quoted(subject)}}}'
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f-\uffff]*')


def _quoted(text: str) -> str:
    """`canonical(text)`, without json's overhead for the plain ASCII most fields are."""
    if _PLAIN.fullmatch(text):
        return f'"{text}"'
    return canonical(text)


def lock_head(connection: Connection) -> tuple[int, str]:
    """Lock the chain's head row for this transaction; returns (seq, hash)."""
    # FOR UPDATE serializes writers on PostgreSQL; SQLite already holds the write lock.
    head = connection.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
    ).one()
    return int(head.seq), str(head.hash)


def append(
    connection: Connection,
    events: Iterable[Event],
    at: str,
    head: tuple[int, str] | None = None,
) -> list[Entry]:
    """Chain `events` after the current head, inside the caller's transaction.

    `head`: what `lock_head` returned earlier in this transaction, when nothing was appended
    since; it spares a second round trip for the lock the transaction already holds.
    """
    events = list(events)
    if not events:
        return []
    seq, prev = lock_head(connection) if head is None else head
    entries = []
    # What every entry of this call shares, quoted once: the time, and most kinds and actors.
    quoted_at = _quoted(at)
    quoted: dict[str, str] = {}
    sha256 = hashlib.sha256
    for event in events:
        seq += 1
        payload = canonical(event.payload)
        kind, actor, subject = event.kind, event.actor, event.subject
        if kind not in quoted:
            quoted[kind] = _quoted(kind)
        if actor not in quoted:
            quoted[actor] = _quoted(actor)
        # entry_hash, spelled out: the same body, the same bytes.
        body = (
            f'{{"actor":{quoted[actor]},"at":{quoted_at},"kind":{quoted[kind]},'
            f'"payload":{payload},"seq":{seq},"subject":{_quoted(subject)}}}'
        )
        digest = sha256(f"{prev}\n{body}".encode()).hexdigest()
        entries.append(Entry(seq, at, kind, actor, subject, payload, prev, digest))
        prev = digest
    insert_tuples(connection, audit_log, Entry._fields, entries)
    connection.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev))
    return entries


def entries(connection: Connection, after: int = 0, batch: int = 5000) -> Iterator[Entry]:
    """Every entry in chain order, read in batches so memory stays flat."""
    while True:
        rows = connection.execute(
            select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
        ).all()
        for row in rows:
            yield Entry(
                row.seq,
                row.at,
                row.kind,
                row.actor,
                row.subject,
                row.payload,
                row.prev_hash,
                row.hash,
            )
        if len(rows) < batch:
            return
        after = rows[-1].seq


@dataclass(frozen=True, slots=True)
class Finding:
    """The first place where the chain is not what was written."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of recomputing the chain."""

    entries: int
    head_seq: int
    head_hash: str
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None


RECENT = 100_000  # hashes remembered to recognise an entry moved by an insertion


def verify_entries(chain: Iterable[Entry], head: tuple[int, str] | None = None) -> Verification:
    """Recompute the chain; name the first altered, inserted or deleted entry."""
    prev_hash, expected, count = GENESIS, 1, 0
    seen: OrderedDict[str, int] = OrderedDict({GENESIS: 0})
    for entry in chain:
        count += 1
        finding = _diagnose(entry, expected, prev_hash, seen)
        if finding is not None:
            return Verification(count, entry.seq, entry.hash, finding)
        prev_hash, expected = entry.hash, entry.seq + 1
        seen[entry.hash] = entry.seq
        if len(seen) > RECENT:
            seen.popitem(last=False)
    last_seq = expected - 1
    if head is not None and (head[0], head[1]) != (last_seq, prev_hash):
        head_seq, head_hash = head
        if head_seq > last_seq:
            problem = f"deleted: the chain ends at {last_seq} but its head says {head_seq}"
            return Verification(count, last_seq, prev_hash, Finding(last_seq + 1, problem))
        problem = f"the head (entry {head_seq}, {head_hash[:12]}…) is not the chain's last entry"
        return Verification(count, last_seq, prev_hash, Finding(last_seq, problem))
    return Verification(count, last_seq, prev_hash, None)


def _rehash(entry: Entry, seq: int) -> str:
    return entry_hash(
        entry.prev_hash, seq, entry.at, entry.kind, entry.actor, entry.subject, entry.payload
    )


def _diagnose(
    entry: Entry, expected: int, prev_hash: str, seen: OrderedDict[str, int]
) -> Finding | None:
    intact = _rehash(entry, entry.seq) == entry.hash
    if intact and entry.seq == expected and entry.prev_hash == prev_hash:
        return None
    if entry.seq < expected:
        return Finding(entry.seq, "inserted: the sequence number repeats")
    if intact and entry.seq > expected:
        missing = (
            f"entry {expected} is missing"
            if entry.seq == expected + 1
            else f"entries {expected}-{entry.seq - 1} are missing"
        )
        return Finding(expected, f"deleted: {missing}")
    # An entry renumbered to hide an insertion or a deletion still hashes under its old number.
    chained_after = seen.get(entry.prev_hash)
    if chained_after is not None and _rehash(entry, chained_after + 1) == entry.hash:
        first, last = chained_after + 1, entry.seq - 1
        span = f"entry {first} is" if first == last else f"entries {first}-{last} are"
        return Finding(first, f"inserted: {span} not part of the chain")
    if chained_after is None:
        for original in range(entry.seq + 1, entry.seq + 1001):
            if _rehash(entry, original) == entry.hash:
                count = original - entry.seq
                return Finding(
                    entry.seq,
                    f"deleted: {count} entr{'y' if count == 1 else 'ies'} before this one "
                    "were removed and the rest renumbered",
                )
    if not intact:
        return Finding(entry.seq, "altered: its content no longer matches its hash")
    return Finding(entry.seq, "broken link: the entry before it was altered, inserted or deleted")


def verify(connection: Connection, anchor: tuple[int, str] | None = None) -> Verification:
    """Verify the stored chain against its head row, and an outside anchor when given."""
    head = connection.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    ).one()
    result = verify_entries(entries(connection), (head.seq, head.hash))
    if result.ok and anchor is not None:
        result = _check_anchor(connection, result, anchor)
    return result


def _check_anchor(
    connection: Connection, result: Verification, anchor: tuple[int, str]
) -> Verification:
    seq, expected = anchor
    stored = connection.execute(select(audit_log.c.hash).where(audit_log.c.seq == seq)).scalar()
    if stored is None:
        finding = Finding(seq, "deleted: the anchored entry is not in the log")
    elif stored != expected:
        finding = Finding(seq, "rewritten: its hash differs from the published anchor")
    else:
        return result
    return Verification(result.entries, result.head_seq, result.head_hash, finding)
