"""Reports computed from a real store agree with the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Page

from arbiter.model import Post
from arbiter.report import sor_export
from arbiter.report.from_store import transparency_figures
from arbiter.report.statements import issued_statements, notice_for
from arbiter.store import Store
from arbiter.store.authority import AuthorityRequest
from tests.conftest import EXAMPLES
from tests.report.sor_schema import BATCH_VALIDATOR, conditional_errors, schema_errors
from tests.report.test_transparency import ARTIFACTS, open_report, table_rows
from tests.store.helpers import PRAISE, policy, post, scan
from tests.store.test_moderation import strict


@pytest.fixture
def busy(store: Store) -> Store:
    """The example posts scanned, a few reviews and an appeal decided, one order recorded."""
    lines = (EXAMPLES / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    posts = [Post.from_dict(json.loads(line)) for line in lines]
    scan(store, policy(), posts)
    queue = store.review_queue(limit=1000)
    samples = [i for i in queue if i.reason == "sample"]
    rules = [i for i in queue if i.reason == "rule"]
    store.decide_review(samples[0].review_id, "m1", samples[0].decision.decision.action, "right")
    store.decide_review(samples[1].review_id, "m1", "allow", "a news report")
    removal = store.decide_review(rules[0].review_id, "m1", "remove", "praise")
    store.decide_review(rules[1].review_id, "m2", "allow", "reporting")
    assert removal is not None
    author = store.post(removal.decision.post_id).author.id
    appeal = store.file_appeal(removal.id, author, "It was a news report.")
    store.decide_appeal(appeal, "m2", "overturned", "reporting, not praise")
    order = AuthorityRequest(
        0,
        "Bundeskriminalamt",
        "§ 86a StGB",
        "BKA-2026-4",
        "2026-11-20",
        ("DE",),
        "restrict",
        store.clock(),
        "ops",
    )
    store.record_authority_request(order, [posts[5].id, posts[6].id])
    scan(store, policy(2, replace=("action: review", "action: remove")), posts[:40], "shadow")
    return store


def sql(store: Store, query: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(query)]


def test_the_figures_are_the_stores_numbers(busy: Store) -> None:
    figures = transparency_figures(busy, "2026-11-01", "2026-11-30")
    live = "FROM decisions WHERE mode = 'live' AND subject = 'post'"
    assert figures.decisions == sql(busy, f"SELECT count(*) {live}")[0][0]
    assert figures.by_action == dict(sql(busy, f"SELECT action, count(*) {live} GROUP BY action"))
    assert figures.by_automation == {
        "automated": sql(busy, f"SELECT count(*) {live} AND automated")[0][0],
        "human": sql(busy, f"SELECT count(*) {live} AND NOT automated")[0][0],
    }
    assert figures.by_source["authority order"] == 2
    assert figures.authority_requests == {"Bundeskriminalamt": 1}
    assert figures.authority_decisions == {"Bundeskriminalamt": 2}
    assert figures.shadow_decisions == 40
    [precision] = [p for p in figures.precision if p.rule == "hashtag-campaign"]
    assert (precision.confirmed.successes, precision.confirmed.trials) == (1, 2)
    [appeals] = figures.appeals
    assert (appeals.filed, appeals.decided, appeals.overturned) == (1, 1, 1)
    assert figures.appeal_to_outcome.count == 1
    assert figures.post_to_decision.count == figures.decisions
    assert (figures.audit_entries, figures.audit_head) == (
        busy.verify_audit().head_seq,
        busy.verify_audit().head_hash,
    )
    outside = transparency_figures(busy, "2026-10-01", "2026-10-31")
    assert outside.decisions == 0 and outside.appeals == ()


def test_the_report_page_shows_the_stores_numbers(
    busy: Store, chromium_page: Page, tmp_path: Path
) -> None:
    figures = transparency_figures(busy, "2026-11-01", "2026-11-30")
    requests = open_report(chromium_page, figures, tmp_path / "report")
    assert all(url.startswith("file:") for url in requests)
    live = "FROM decisions WHERE mode = 'live' AND subject = 'post'"
    shown = dict(table_rows(chromium_page, "decisions_by_action"))
    assert shown == dict(sql(busy, f"SELECT action, count(*) {live} GROUP BY action"))
    shown_rules = dict(table_rows(chromium_page, "decisions_by_rule"))
    assert shown_rules["authority-order/order"] == 2
    assert figures.audit_head in chromium_page.inner_text("body")
    ARTIFACTS.mkdir(exist_ok=True)
    name = busy.engine.dialect.name
    chromium_page.screenshot(path=str(ARTIFACTS / f"transparency-{name}.png"), full_page=True)


def test_every_statement_from_the_store_passes_the_databases_rules(busy: Store) -> None:
    issued = list(issued_statements(busy, "2026-11-01", "2026-11-30"))
    restricting = sql(
        busy,
        "SELECT count(*) FROM decisions WHERE mode = 'live' AND action NOT IN ('allow', 'review')",
    )[0][0]
    assert len(issued) == restricting
    for item in issued:
        assert schema_errors(item.statement) == [], item.decision.id
        assert conditional_errors(item.statement) == [], item.decision.id
    by_source = Counter(item.statement["source_type"] for item in issued)
    assert by_source["SOURCE_TYPE_OTHER_NOTIFICATION"] == 2
    human = [
        i for i in issued if not i.decision.decision.automated and i.decision.source == "review"
    ]
    assert human and all(
        i.statement["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY" for i in human
    )
    sink = io.StringIO()
    written = sor_export.write_json([i.statement for i in issued], sink)
    assert written == len(issued)
    for line in sink.getvalue().splitlines():
        body = json.loads(line)
        assert list(BATCH_VALIDATOR.iter_errors(body)) == []


def test_the_author_is_told_how_to_contest(busy: Store) -> None:
    restricted = next(item.decision for item in issued_statements(busy, "2026-11-01", "2026-11-30"))
    notice = notice_for(busy, restricted)
    assert notice is not None
    routes = [r["route"] for r in notice["redress"]]  # type: ignore[index]
    assert routes == ["internal_complaint", "out_of_court_dispute_settlement", "judicial_redress"]
    assert notice["post"]["id"] == restricted.decision.post_id  # type: ignore[index]


def test_a_suspension_has_its_own_statement_listing_its_strikes(store: Store) -> None:
    scan(store, strict(suspend_after=2), [post("a", PRAISE, author="u9")])
    scan(store, strict(suspend_after=2), [post("b", PRAISE, author="u9")])
    issued = list(issued_statements(store, "2026-11-01", "2026-11-30"))
    [account] = [i for i in issued if i.decision.subject == "account"]
    statement = account.statement
    assert schema_errors(statement) == [] and conditional_errors(statement) == []
    assert statement["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert statement["end_date_account_restriction"] == "2026-12-25"
    strikes = [i.decision.puid for i in issued if i.decision.subject == "post"]
    assert len(strikes) == 2 and all(puid in str(statement["decision_facts"]) for puid in strikes)
    assert "u9" not in json.dumps(statement)  # the account is not named in the database
