"""Recording decisions: idempotent per policy version and content, with posts' states kept."""

from __future__ import annotations

import pytest

from arbiter.store import Store, StoreError
from tests.store.helpers import HARMLESS, HASHTAG, PRAISE, policy, post, scan


def test_rescanning_the_same_posts_with_the_same_version_changes_nothing(store: Store) -> None:
    posts = [post("a", PRAISE), post("b", HASHTAG), post("c", HARMLESS)]
    scan(store, policy(), posts)
    counts = {t: store.count(t) for t in ("posts", "decisions", "reviews", "audit_log")}
    scan(store, policy(), posts)
    assert {t: store.count(t) for t in counts} == counts
    assert counts["decisions"] == 3


def test_a_new_policy_version_adds_decisions_and_keeps_the_old(store: Store) -> None:
    posts = [post("a", PRAISE), post("b", HARMLESS)]
    scan(store, policy(1), posts)
    scan(store, policy(2, replace=("action: review", "action: remove")), posts)
    history = store.decisions_of("a")
    assert [(d.decision.policy_version, d.decision.action) for d in history] == [
        (1, "review"),
        (2, "remove"),
    ]
    assert store.count("decisions") == 4


def test_an_edited_post_is_decided_again(store: Store) -> None:
    scan(store, policy(), [post("a", HARMLESS)])
    scan(store, policy(), [post("a", PRAISE)])
    assert [d.decision.action for d in store.decisions_of("a")] == ["allow", "review"]
    assert store.post("a").text == PRAISE


def test_a_changed_policy_needs_a_new_version(store: Store) -> None:
    store.save_policy(policy(1))
    with pytest.raises(StoreError, match="new version number"):
        store.save_policy(policy(1, extra="# edited\n"))


def test_policies_are_kept_verbatim(store: Store) -> None:
    original = policy(3, extra="# a comment that only the verbatim text keeps\n")
    store.save_policy(original)
    stored = store.policy(original.id, 3)
    assert stored.text == original.text
    assert stored.rules == original.rules


def test_post_state_follows_the_most_severe_decision_in_force(store: Store) -> None:
    scan(store, policy(), [post("a", HASHTAG), post("b", PRAISE), post("c", HARMLESS)])
    assert store.post_state("a") == "restricted"
    assert store.post_state("b") == "visible"  # review: nothing is done until a moderator acts
    assert store.post_state("c") == "visible"


def test_shadow_decisions_are_stored_but_never_acted_on(store: Store) -> None:
    strict = policy(2, replace=("action: review", "action: remove"))
    scan(store, policy(1), [post("a", PRAISE)])
    scan(store, strict, [post("a", PRAISE)], mode="shadow")
    shadow = [d for d in store.decisions_of("a") if d.mode == "shadow"]
    assert [(d.decision.action, d.status) for d in shadow] == [("remove", "shadow")]
    assert store.post_state("a") == "visible"
    assert store.count("strikes") == 0
    assert len(store.review_queue()) == 1  # only the live review


def test_a_stored_decision_reads_back_as_it_was_decided(store: Store) -> None:
    scan(store, policy(), [post("a", "Qasem Suleimani was a general")])
    stored = store.decisions_of("a")[0]
    again = store.decision(stored.puid)
    assert again == stored
    assert stored.decision.matches[0].via == "transliteration"
    assert stored.as_dict()["matches"][0]["span"] == [0, 15]
