"""The audit log is a hash chain that names the first entry or decision someone changed."""

from __future__ import annotations

import io
import json
import re
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from arbiter.store import Store
from arbiter.store.audit import Event, append
from tests.conftest import ROOT
from tests.store.helpers import (
    HARMLESS,
    HASHTAG,
    PRAISE,
    allow_tampering,
    execute,
    policy,
    post,
    scan,
)


@pytest.fixture
def scanned(store: Store) -> Store:
    store.activate(policy())
    scan(store, policy(), [post(f"p{i}", [PRAISE, HASHTAG, HARMLESS][i % 3]) for i in range(12)])
    return store


def test_every_event_is_chained_and_the_chain_verifies(scanned: Store) -> None:
    result = scanned.verify_audit()
    assert result.ok, result.finding
    samples = sum(1 for item in scanned.review_queue(100) if item.reason == "sample")
    # policy stored + activated + one entry per decision + one per sample Arbiter drew
    assert result.entries == 2 + 12 + samples
    assert result.head_seq == result.entries


def test_an_altered_entry_is_named(scanned: Store) -> None:
    allow_tampering(scanned)
    execute(scanned, "UPDATE audit_log SET actor = 'moderator:mallory' WHERE seq = 7")
    finding = scanned.verify_audit().finding
    assert finding is not None
    assert finding.seq == 7 and finding.problem.startswith("altered")


def test_a_deleted_entry_is_named(scanned: Store) -> None:
    allow_tampering(scanned)
    execute(scanned, "DELETE FROM audit_log WHERE seq = 5")
    finding = scanned.verify_audit().finding
    assert finding is not None
    assert finding.seq == 5 and finding.problem.startswith("deleted")


def test_a_deletion_hidden_by_renumbering_is_named(scanned: Store) -> None:
    allow_tampering(scanned)
    execute(scanned, "DELETE FROM audit_log WHERE seq = 5")
    execute(scanned, "UPDATE audit_log SET seq = seq + 1000 WHERE seq > 5")
    execute(scanned, "UPDATE audit_log SET seq = seq - 1001 WHERE seq > 1000")
    finding = scanned.verify_audit().finding
    assert finding is not None
    assert finding.seq == 5 and finding.problem.startswith("deleted: 1 entry")


def test_deleting_the_last_entries_is_caught_by_the_head(scanned: Store) -> None:
    allow_tampering(scanned)
    execute(scanned, "DELETE FROM audit_log WHERE seq > 12")
    finding = scanned.verify_audit().finding
    assert finding is not None
    assert finding.seq == 13 and finding.problem.startswith("deleted")


def test_an_inserted_entry_is_named(scanned: Store) -> None:
    allow_tampering(scanned)
    # Make room after entry 4 and slip in a well-formed entry that links to it.
    execute(scanned, "UPDATE audit_log SET seq = seq + 1000 WHERE seq > 4")
    execute(scanned, "UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000")
    with scanned.engine.begin() as connection:
        prev = connection.exec_driver_sql("SELECT hash FROM audit_log WHERE seq = 4").scalar()
        from arbiter.store.audit import canonical, entry_hash

        payload = canonical({"forged": True})
        digest = entry_hash(prev, 5, "2026-11-25T10:00:00Z", "review", "moderator:m", "x", payload)
        connection.execute(
            sa.text(
                "INSERT INTO audit_log VALUES (5, '2026-11-25T10:00:00Z', 'review', "
                "'moderator:m', 'x', :payload, :prev, :hash)"
            ),
            {"payload": payload, "prev": prev, "hash": digest},
        )
    finding = scanned.verify_audit().finding
    assert finding is not None
    assert finding.seq == 5 and finding.problem.startswith("inserted")


def test_an_altered_decision_row_is_named(scanned: Store) -> None:
    target = scanned.decisions_of("p1")[0]
    execute(scanned, f"UPDATE decisions SET action = 'allow' WHERE id = {target.id}")
    finding = scanned.verify_audit().finding
    assert finding is not None
    assert f"decision {target.id}" in finding.problem and "altered" in finding.problem


def test_a_deleted_decision_row_is_named(scanned: Store) -> None:
    target = scanned.decisions_of("p2")[0]
    execute(scanned, f"DELETE FROM decisions WHERE id = {target.id}")
    finding = scanned.verify_audit().finding
    assert finding is not None
    assert target.puid in finding.problem and "no longer stored" in finding.problem


def test_a_rewritten_chain_is_caught_by_a_published_anchor(scanned: Store) -> None:
    head = scanned.verify_audit()
    anchor = (head.head_seq, head.head_hash)
    allow_tampering(scanned)
    # Rewrite the last entry and re-hash it: the chain alone cannot tell.
    with scanned.engine.begin() as connection:
        row = connection.exec_driver_sql(f"SELECT * FROM audit_log WHERE seq = {anchor[0]}").one()
        from arbiter.store.audit import entry_hash

        forged = entry_hash(
            row.prev_hash, row.seq, row.at, row.kind, "rule:forged", row.subject, row.payload
        )
        connection.execute(
            sa.text("UPDATE audit_log SET actor = 'rule:forged', hash = :h WHERE seq = :s"),
            {"h": forged, "s": row.seq},
        )
        connection.execute(sa.text("UPDATE audit_head SET hash = :h"), {"h": forged})
    assert scanned.verify_audit().ok
    finding = scanned.verify_audit(anchor).finding
    assert finding is not None and finding.problem.startswith("rewritten")


def test_the_database_refuses_to_rewrite_the_log(scanned: Store) -> None:
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            execute(scanned, sql)
    assert scanned.verify_audit().ok


def _outsider_script() -> str:
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)[0]


def test_the_outsider_script_in_the_docs_verifies_an_export(scanned: Store) -> None:
    script = _outsider_script()
    assert len(script.strip().splitlines()) <= 35
    namespace: dict[str, object] = {"__name__": "verify_audit"}
    exec(script, namespace)
    verify = namespace["verify"]
    sink = io.BytesIO()
    count = scanned.export_audit(sink)
    lines = sink.getvalue().decode().splitlines()
    head = scanned.verify_audit()
    assert verify(lines) == f"ok: {count:,} entries, head {head.head_seq} {head.head_hash}"  # type: ignore[operator]
    entry = json.loads(lines[3])
    entry["actor"] = "moderator:mallory"
    lines[3] = json.dumps(entry, ensure_ascii=False)
    assert verify(lines) == "line 4: entry 4 was altered"  # type: ignore[operator]
    del lines[5]
    assert verify(lines[4:]).startswith("line 1: entry 1 is missing")  # type: ignore[operator]


def test_concurrent_writers_keep_the_chain_linear(store: Store) -> None:
    threads, errors = [], []

    def writer(name: str) -> None:
        try:
            for i in range(25):
                with store.engine.begin() as connection:
                    append(connection, [Event("test", name, f"n:{i}", {"i": i})], store.clock())
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    for name in ("a", "b", "c", "d"):
        threads.append(threading.Thread(target=writer, args=(name,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    result = store.verify_audit()
    assert result.ok, result.finding
    assert result.entries == 100


def test_the_chain_survives_the_trip_through_json(tmp_path: Path, scanned: Store) -> None:
    # Non-ASCII text in payloads must hash the same on export as in the database.
    with scanned.engine.begin() as connection:
        append(connection, [Event("note", "moderator:م", "x", {"text": "قاسم سلیمانی"})], "t")
    sink = io.BytesIO()
    scanned.export_audit(sink)
    namespace: dict[str, object] = {"__name__": "verify_audit"}
    exec(_outsider_script(), namespace)
    assert str(namespace["verify"](sink.getvalue().decode().splitlines())).startswith("ok")  # type: ignore[operator]
