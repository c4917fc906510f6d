"""The record-keeping flow from the command line, as an operator runs it, on both databases.

Scan the examples into a database, overturn one decision in review, appeal
another, apply a rescan with a changed policy, verify the audit log, tamper with
a row and see `audit verify` name it, export statements of reasons that pass the
database's rules, and write the transparency report.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from arbiter.cli import app
from arbiter.store import Store
from tests.conftest import EXAMPLES
from tests.report.sor_schema import BATCH_VALIDATOR, conditional_errors

runner = CliRunner()


def arbiter(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_the_whole_record_keeping_flow(store_url: str, tmp_path: Path) -> None:
    db = ("--db", store_url)
    policy = str(EXAMPLES / "policy.yaml")
    arbiter(
        "scan", str(EXAMPLES / "posts.jsonl"), "-p", policy, "-o", str(tmp_path / "d.jsonl"), *db
    )
    with Store.open(store_url) as store:
        queue = store.review_queue(limit=1000)
        first, second = [i for i in queue if i.reason == "rule"][:2]
        author = store.post(second.decision.decision.post_id).author.id

    out = arbiter(
        "review",
        "decide",
        str(first.review_id),
        "--moderator",
        "m1",
        "--action",
        "allow",
        "--reason",
        "a news report, not praise",
        *db,
    )
    assert "allow (in_force) by moderator:m1" in out
    out = arbiter(
        "review",
        "decide",
        str(second.review_id),
        "--moderator",
        "m1",
        "--action",
        "remove",
        "--reason",
        "praise",
        *db,
    )
    removal = int(out.split("decision ")[1].split()[0])
    arbiter("appeal", "file", str(removal), "--by", author, "--statement", "It was news", *db)
    refused = arbiter(
        "appeal",
        "decide",
        "1",
        "--moderator",
        "m1",
        "--outcome",
        "overturned",
        "--reason",
        "x",
        *db,
        code=1,
    )
    assert "another person" in refused
    arbiter(
        "appeal",
        "decide",
        "1",
        "--moderator",
        "m2",
        "--outcome",
        "overturned",
        "--reason",
        "reporting",
        *db,
    )

    changed = tmp_path / "policy-v2.yaml"
    text = (EXAMPLES / "policy.yaml").read_text(encoding="utf-8")
    changed.write_text(
        text.replace("version: 1", "version: 2").replace(
            "    action: review", "    action: remove"
        ),
        encoding="utf-8",
    )
    dry = arbiter("rescan", "--policy", str(changed), *db)
    assert "action changed" in dry and "nothing was written" in dry
    applied = arbiter("rescan", "--policy", str(changed), "--apply", *db)
    assert "2 post(s) keep the decision a moderator made" in applied

    assert arbiter("audit", "verify", *db).startswith("ok")
    with Store.open(store_url) as store:
        target = next(d for d in store.decisions_of("p0010") if d.status == "in_force")
        with store.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE decisions SET rule = 'nothing' WHERE id = :i"), {"i": target.id}
            )
    tampered = arbiter("audit", "verify", *db, code=1)
    assert f"decision {target.id} ({target.puid}) was altered" in tampered
    with Store.open(store_url) as store, store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE decisions SET rule = 'designated-person' WHERE id = :i"),
            {"i": target.id},
        )

    sor = tmp_path / "sor.jsonl"
    arbiter("report", "sor", "-o", str(sor), "--csv", str(tmp_path / "sor.csv"), *db)
    bodies = [json.loads(line) for line in sor.read_text(encoding="utf-8").splitlines()]
    assert bodies and all(not list(BATCH_VALIDATOR.iter_errors(b)) for b in bodies)
    assert all(not conditional_errors(s) for b in bodies for s in b["statements"])

    report = arbiter("report", "transparency", "-o", str(tmp_path / "report"), *db)
    assert (tmp_path / "report" / "index.html").exists() and "audit head" in report
