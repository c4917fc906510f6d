"""Bulk writes: COPY (PostgreSQL) and the driver's executemany (SQLite) store exactly what
SQLAlchemy's executemany stores, ids find their puids, and the shortcuts of the chain
(orjson for canonical JSON, post states set on insert) change nothing that is written.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, Table, insert, select

from arbiter.store import Store
from arbiter.store.audit import Event, append, canonical, entry_hash, lock_head
from arbiter.store.bulk import fetch_all, insert_rows, insert_tuples
from arbiter.store.effects import chain_decisions, refresh_post_states
from arbiter.store.records import DIGESTED, digest
from arbiter.store.schema import audit_log, authority_requests, decisions, posts, reviews
from tests.store.helpers import HARMLESS, HASHTAG, PRAISE, policy, post, scan

# What COPY's text format must escape, and what a careless escaper gets wrong.
AWKWARD = [
    "plain",
    "",
    "tab\there, newline\nthere, carriage return\r, both\r\n",
    "back\\slash, \\N, \\., \\t written out, a trailing backslash\\",
    "\\.",  # alone, COPY's old end-of-data marker
    "\\N",  # COPY's NULL, as text
    "quotes \" and ' and `",
    "قاسم سلیمانی",
    "Ελληνικά, 中文, emoji 🇮🇷🙂, combining é, zero width\u200bspace, \u2028 line separator",
    "control \x01\x07\x1b\x7f characters",
    "x" * 5000,
]
JSON_TEXTS = [
    json.dumps({"text": text, "nested": [text, {"k": text}]}, ensure_ascii=False)
    for text in AWKWARD
]


def decision(number: int, **changes: Any) -> dict[str, Any]:
    """A decisions row that uses every column, awkward text where text goes."""
    text = AWKWARD[number % len(AWKWARD)]
    row = {
        "puid": f"arb-bulk-{number:05d}",
        "dedupe_key": None if number % 3 == 0 else f"key-{number:05d}",
        "subject": "post",
        "post_id": f"p{number}\t{text[:40]}",
        "content_hash": hashlib.sha256(str(number).encode()).hexdigest(),
        "policy_id": "policy\\with\nnewline",
        "policy_version": number,
        "mode": "live",
        "rule": None if number % 2 else f"rule {text[:30]}",
        "action": "remove",
        "automated": number % 2 == 0,
        "actor": f"moderator:{text[:50]}",
        "source": "scan",
        "decided_at": "2026-11-25T10:00:00Z",
        "matches": JSON_TEXTS[number % len(JSON_TEXTS)],
        "territorial_scope": '["DE","FR"]',
        "reason": text,
        "authority_request_id": None,
        "supersedes": None,
        "restriction_until": None if number % 4 else "2026-12-25T10:00:00Z",
        "status": "in_force",
    }
    row.update(changes)
    return row


def post_row(number: int) -> dict[str, Any]:
    text = AWKWARD[number % len(AWKWARD)]
    return {
        "id": f"post-{number}",
        "author_id": f"author {text[:20]}",
        "author_handle": text,
        "author_country": "IR",
        "lang": "fa",
        "created_at": "2026-11-25T09:00:00Z",
        "url": f"https://example.org/{number}?q=\\t",
        "text": text,
        "media": JSON_TEXTS[number % len(JSON_TEXTS)],
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "first_seen": "2026-11-25T10:00:00Z",
        "state": "visible",
    }


def table_rows(connection: Connection, table: Table, ignore: tuple[str, ...] = ()) -> list[Any]:
    """Every row of `table` as a tuple of its columns (less `ignore`), in key order."""
    columns = [c for c in table.c if c.name not in ignore]
    key = next(iter(table.primary_key.columns))
    return [tuple(row) for row in connection.execute(select(*columns).order_by(key))]


def written_both_ways(
    store: Store, table: Table, rows: list[dict[str, Any]], ignore: tuple[str, ...] = ()
) -> tuple[list[Any], list[Any]]:
    """What `insert_rows` stores and what SQLAlchemy's executemany stores, each in a
    transaction rolled back afterwards (the audit log refuses DELETE)."""
    stored = []
    for write in (insert_rows, lambda c, t, r: c.execute(insert(t), r)):
        with store.engine.connect() as connection:
            transaction = connection.begin()
            write(connection, table, rows)
            stored.append(table_rows(connection, table, ignore))
            transaction.rollback()
    return stored[0], stored[1]


def test_decisions_are_stored_as_executemany_stores_them(store: Store) -> None:
    with store.engine.begin() as connection:
        order = connection.execute(
            insert(authority_requests)
            .values(
                authority="Bundeskriminalamt",
                legal_basis="§ 86a StGB",
                reference="BKA\t1",
                issued_on="2026-11-20",
                territorial_scope='["DE"]',
                action="restrict",
                recorded_at="2026-11-25T10:00:00Z",
                recorded_by="ops",
            )
            .returning(authority_requests.c.id)
        ).scalar_one()
        insert_rows(connection, decisions, [decision(0, puid="arb-first", dedupe_key="first")])
        first = connection.execute(select(decisions.c.id)).scalar_one()
    rows = [decision(n) for n in range(1, 40)]
    rows[5].update(authority_request_id=order, supersedes=first)  # every column filled in
    by_copy, by_executemany = written_both_ways(store, decisions, rows, ignore=("id",))
    assert len(by_copy) == 40
    assert by_copy == by_executemany
    # Read back, the awkward text is the text that went in.
    assert [row[list(decisions.c.keys()).index("reason") - 1] for row in by_copy[1:]] == [
        r["reason"] for r in rows
    ]
    automated = list(decisions.c.keys()).index("automated") - 1
    assert {row[automated] for row in by_copy} == {True, False}
    assert all(type(row[automated]) is bool for row in by_copy)


def test_posts_reviews_and_audit_entries_are_stored_as_executemany_stores_them(
    store: Store,
) -> None:
    by_copy, by_executemany = written_both_ways(store, posts, [post_row(n) for n in range(30)])
    assert by_copy == by_executemany and len(by_copy) == 30
    assert {row[7] for row in by_copy} == set(AWKWARD)  # the text column

    entries = [
        {
            "seq": n + 1,
            "at": "2026-11-25T10:00:00Z",
            "kind": "note",
            "actor": f"moderator:{AWKWARD[n % len(AWKWARD)][:60]}",
            "subject": AWKWARD[n % len(AWKWARD)],
            "payload": canonical({"text": AWKWARD[n % len(AWKWARD)]}),
            "prev_hash": "0" * 64,
            "hash": f"{n:064x}",
        }
        for n in range(25)
    ]
    by_copy, by_executemany = written_both_ways(store, audit_log, entries)
    assert by_copy == by_executemany and len(by_copy) == 25
    assert [json.loads(row[5])["text"] for row in by_copy] == [
        AWKWARD[n % len(AWKWARD)] for n in range(25)
    ]

    with store.engine.begin() as connection:
        insert_rows(connection, decisions, [decision(n) for n in range(3)])
        ids = [row[0] for row in fetch_all(connection, "SELECT id FROM decisions ORDER BY id")]
    queued = [
        {"decision_id": ids[n % 3], "reason": reason, "queued_at": "t", "status": "open"}
        for n, reason in enumerate(("rule", "sample", "appeal"))
    ]
    by_copy, by_executemany = written_both_ways(store, reviews, queued, ignore=("id",))
    assert by_copy == by_executemany and len(by_copy) == 3
    assert all(row[4] is None for row in by_copy)  # moderator: not given, so NULL


def test_tuples_and_mappings_write_the_same(store: Store) -> None:
    rows = [post_row(n) for n in range(5)]
    columns = tuple(rows[0])
    with store.engine.connect() as connection:
        transaction = connection.begin()
        assert insert_tuples(connection, posts, columns, [tuple(r.values()) for r in rows]) == 5
        as_tuples = table_rows(connection, posts)
        transaction.rollback()
    with store.engine.begin() as connection:
        assert insert_rows(connection, posts, rows) == 5
        assert table_rows(connection, posts) == as_tuples
        assert insert_rows(connection, posts, []) == 0
        assert insert_tuples(connection, posts, columns, iter([])) == 0


def test_a_column_the_table_lacks_is_refused(store: Store) -> None:
    with store.engine.begin() as connection, pytest.raises(ValueError, match="no column"):
        insert_rows(connection, posts, [dict(post_row(1), colour="red")])


def test_a_duplicate_fails_as_sqlalchemy_reports_it_and_writes_nothing(store: Store) -> None:
    rows = [decision(1), decision(2), decision(1, dedupe_key="other")]  # the puid repeats
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as connection:
        insert_rows(connection, decisions, rows)
    assert store.count("decisions") == 0
    with store.engine.begin() as connection:  # the connection is usable again
        insert_rows(connection, decisions, rows[:2])
    assert store.count("decisions") == 2


def test_bulk_writes_stay_in_the_callers_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError), store.engine.begin() as connection:
        insert_rows(connection, posts, [post_row(n) for n in range(4)])
        assert len(fetch_all(connection, "SELECT id FROM posts")) == 4
        raise RuntimeError("roll back")
    assert store.count("posts") == 0


def test_a_connection_that_has_not_begun_begins_as_sqlalchemy_would(store: Store) -> None:
    """On a fresh connection the bulk write starts the transaction: commit keeps it, and
    leaving without a commit drops it, as for any statement run through SQLAlchemy."""
    with store.engine.connect() as connection:
        insert_rows(connection, posts, [post_row(1)])
        assert connection.in_transaction()
    assert store.count("posts") == 0
    with store.engine.connect() as connection:
        assert fetch_all(connection, "SELECT count(*) FROM posts") == [(0,)]
        insert_rows(connection, posts, [post_row(1), post_row(2)])
        connection.commit()
    assert store.count("posts") == 2


def test_ids_go_to_the_right_puids(store: Store) -> None:
    rng = random.Random(3)
    numbers = list(range(200))
    rng.shuffle(numbers)  # puids in no order: ids follow the rows, not the puids
    batches = [numbers[:1], numbers[1:120], numbers[120:]]
    # A batch rolled back first: on PostgreSQL its ids are gone from the sequence for good.
    with pytest.raises(RuntimeError), store.engine.begin() as connection:
        chain_decisions(connection, [decision(n, puid=f"lost-{n}") for n in range(7)], "t0")
        raise RuntimeError("roll back")
    written = []
    for number, batch in enumerate(batches):
        with store.engine.begin() as connection:
            written += chain_decisions(connection, [decision(n) for n in batch], f"t{number}")
    with store.engine.connect() as connection:
        stored = dict(connection.execute(select(decisions.c.puid, decisions.c.id)).all())
        logged = {
            row.subject.removeprefix("decision:"): json.loads(row.payload)["id"]
            for row in connection.execute(select(audit_log.c.subject, audit_log.c.payload))
        }
    assert len(written) == len(stored) == 200
    assert {w.row["puid"]: w.id for w in written} == stored == logged
    assert [w.row["puid"] for w in written] == [decision(n)["puid"] for n in numbers]
    result = store.verify_audit()
    assert result.ok and result.entries == 200


def test_the_chain_is_the_one_the_outsider_computes(store: Store) -> None:
    """Each entry, rows of awkward text included, hashes as docs/audit.md spells it."""
    events = [
        Event("note", f"moderator:{text[:30]}", text, {"text": text, "n": n, "ok": n % 2 == 0})
        for n, text in enumerate(AWKWARD)
    ]
    with store.engine.begin() as connection:
        chain_decisions(connection, [decision(n) for n in range(5)], "2026-11-25T10:00:00Z")
        append(connection, events, "2026-11-25T10:00:01Z")
        head = lock_head(connection)
    previous = "0" * 64
    with store.engine.connect() as connection:
        for row in connection.execute(select(audit_log).order_by(audit_log.c.seq)):
            body = json.dumps(
                {
                    "seq": row.seq,
                    "at": row.at,
                    "kind": row.kind,
                    "actor": row.actor,
                    "subject": row.subject,
                    "payload": json.loads(row.payload),
                },
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            )
            expected = hashlib.sha256(f"{previous}\n{body}".encode()).hexdigest()
            assert row.prev_hash == previous and row.hash == expected
            assert row.hash == entry_hash(
                previous, row.seq, row.at, row.kind, row.actor, row.subject, row.payload
            )
            previous = row.hash
    assert head == (len(AWKWARD) + 5, previous)


def _json_canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": None, "c": True, "d": False, "e": "x", "f": -(2**63), "g": 2**64 - 1},
        {"é": 1, "z": 2, "ä": 3, "\U0001f600": 4, "\uffff": 5, "A": 6, "": 7, "aa": 8, "a": 9},
        {"nested": {"z": [1, "two", None, {"y": (3, "four")}], "a": []}, "list": [[], {}]},
        {"floats": 1e16, "nan": float("nan"), "half": 0.5},  # json's spelling: orjson differs
        {"big": 2**64, "small": -(2**63) - 1},  # beyond orjson's integers
        {1: "int key", "2": "str key"},
        {"surrogate": "\ud800"},
        ["top", "level", 1, None],
        "a string",
        12,
        None,
    ],
)
def test_canonical_json_is_pythons_json_whichever_encoder_writes_it(value: Any) -> None:
    if isinstance(value, dict) and 1 in value:
        with pytest.raises(TypeError):
            _json_canonical(value)  # json cannot sort mixed keys: neither may canonical
        with pytest.raises(TypeError):
            canonical(value)
        return
    assert canonical(value) == _json_canonical(value)


def test_orjson_escapes_every_character_as_json_does() -> None:
    """canonical hands strings to orjson on the strength of this: every code point."""
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert orjson.dumps(everything) == json.dumps(everything, ensure_ascii=False).encode()
    assert canonical({"s": everything}) == _json_canonical({"s": everything})


def test_the_decision_digest_is_unchanged() -> None:
    """The digest the log keeps: SHA-256 of orjson's array of DIGESTED's columns."""
    for number in range(len(AWKWARD)):
        row = decision(number)
        expected = hashlib.sha256(orjson.dumps([row[column] for column in DIGESTED])).hexdigest()
        assert digest(row) == expected


def _states(store: Store) -> dict[str, str]:
    with store.engine.connect() as connection:
        return dict(connection.execute(select(posts.c.id, posts.c.state)).all())


def _refreshed(store: Store) -> dict[str, str]:
    """The states refresh_post_states computes from every stored decision, rolled back."""
    ids = set(_states(store))
    with store.engine.connect() as connection:
        transaction = connection.begin()
        refresh_post_states(connection, ids)
        states = dict(connection.execute(select(posts.c.id, posts.c.state)).all())
        transaction.rollback()
    return states


def test_a_new_posts_state_is_what_a_refresh_would_make_it(store: Store) -> None:
    check = _check_states
    store.activate(policy())
    scan(store, policy(), [post("a", HASHTAG), post("b", PRAISE), post("c", HARMLESS)])
    check(store)
    # One batch: a new post twice with different content, a known post edited, a repeat.
    scan(
        store,
        policy(),
        [
            post("d", HARMLESS),
            post("d", HASHTAG),
            post("c", HASHTAG),
            post("a", HASHTAG),
            post("e", HASHTAG),
        ],
    )
    check(store)
    assert _states(store)["d"] == "restricted" and _states(store)["c"] == "restricted"
    scan(store, policy(2), [post("f", HASHTAG), post("a", HARMLESS)], mode="shadow")
    check(store)
    assert _states(store)["f"] == "visible"  # shadow decisions are never acted on
    scan(store, policy(3, replace=("action: restrict", "action: remove")), [post("e", HASHTAG)])
    check(store)
    assert _states(store)["e"] == "removed"


def _check_states(store: Store) -> None:
    assert _states(store) == _refreshed(store)
