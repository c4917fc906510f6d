"""Rescans and shadow policies: what a new version would change, and applying it."""

from __future__ import annotations

from arbiter.model import Post
from arbiter.policy.load import parse_policy
from arbiter.report.shadow import compare_shadow
from arbiter.rescan import rescan
from arbiter.store import Store
from tests.store.helpers import HARMLESS, HASHTAG, POLICY_TEXT, PRAISE, policy, post, scan

STRICTER = ("action: review", "action: remove")
DESIGNATED = "mentions('qs') || mentions('amm')"


def posts() -> list[Post]:
    return [
        post("a", PRAISE, lang="en"),
        post("b", HASHTAG, lang="fa"),
        post("c", HARMLESS, lang="en"),
    ]


def test_a_dry_run_shows_the_diff_and_writes_nothing(store: Store) -> None:
    scan(store, policy(1), posts())
    before = store.count("decisions"), store.count("audit_log")
    result = rescan(store, policy(2, replace=STRICTER))
    assert (store.count("decisions"), store.count("audit_log")) == before
    assert result.diff.by_kind == {"action changed": 1}
    assert result.diff.by_rule == {
        ("action changed", "designated-person review → designated-person remove"): 1
    }
    assert result.diff.by_language == {("action changed", "en"): 1}


def test_applying_records_the_new_version_and_replaces_what_stood(store: Store) -> None:
    scan(store, policy(1), posts())
    result = rescan(store, policy(2, replace=STRICTER), apply=True)
    assert result.recorded == 3
    assert store.post_state("a") == "removed"
    assert [d.status for d in store.decisions_of("a")] == ["superseded", "in_force"]
    assert store.review_queue() == []  # the review of version 1 is no longer needed
    assert store.active_version("dangerous-individuals") == 2
    assert store.verify_audit().ok


def test_an_interrupted_rescan_resumes_without_duplicates(store: Store) -> None:
    scan(store, policy(1), posts())
    new = policy(2, replace=STRICTER)
    scan(store, new, posts()[:1])  # as if the process died after its first batch
    result = rescan(store, new, apply=True)
    assert (result.already, result.recorded) == (1, 2)
    assert [d.decision.policy_version for d in store.decisions_of("a")] == [1, 2]


def test_no_longer_flagged_is_counted_under_the_rule_that_flagged(store: Store) -> None:
    scan(store, policy(1), posts())
    text = POLICY_TEXT.replace("version: 1", "version: 2")
    for when in ("mentions('qs', 'hashtag') || mentions('amm', 'hashtag')", DESIGNATED):
        text = text.replace(f'when: "{when}"', 'when: "false"')
    result = rescan(store, parse_policy(text, "lenient.yaml"))
    assert result.diff.by_kind == {"no longer flagged": 2}
    assert result.diff.by_rule == {
        ("no longer flagged", "hashtag-campaign"): 1,
        ("no longer flagged", "designated-person"): 1,
    }


def test_a_moderators_decision_is_not_undone_by_a_rescan(store: Store) -> None:
    scan(store, policy(1), posts())
    item = store.review_queue()[0]
    store.decide_review(item.review_id, "m1", "allow", "news")
    result = rescan(store, policy(2, replace=STRICTER), apply=True)
    assert result.by_people == 1
    assert store.post_state("a") == "visible"


def test_the_shadow_report_compares_the_versions_post_by_post(store: Store) -> None:
    live, shadow = policy(1), policy(2, replace=STRICTER)
    store.activate(live)
    store.activate(shadow, "shadow")
    scan(store, live, posts())
    scan(store, shadow, posts(), "shadow")
    [comparison] = compare_shadow(store)
    assert (comparison.live_version, comparison.shadow_version) == (1, 2)
    assert comparison.diff.compared == 3
    assert comparison.diff.by_kind == {"action changed": 1}
    assert comparison.diff.examples == {"action changed": ["a"]}
