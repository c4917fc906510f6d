"""Review, appeals, strikes and orders: people's decisions on the record, with their effects."""

from __future__ import annotations

import pytest

from arbiter.policy.load import parse_policy
from arbiter.policy.model import Policy
from arbiter.store import Store
from arbiter.store.authority import AuthorityError, AuthorityRequest
from arbiter.store.moderation import ModerationError
from tests.conftest import Clock
from tests.store.helpers import HARMLESS, HASHTAG, POLICY_TEXT, PRAISE, policy, post, scan

REMOVE_PRAISE = ("action: review", "action: remove")


def strict(suspend_after: int = 2, sample: float = 0.0) -> Policy:
    """The example policy removing praise outright; `suspend_after` strikes suspend for 30 days."""
    text = POLICY_TEXT.replace(*REMOVE_PRAISE).replace("    review_sample: 0.2\n", "")
    text = text[: text.index("enforcement:")] + (
        f"enforcement:\n  review_sample: {sample}\n  strikes:\n    expire_days: 90\n"
        f"    suspend_after: {suspend_after}\n    suspend_days: 30\n"
    )
    return parse_policy(text, "strict.yaml")


def test_review_decisions_wait_in_the_queue_oldest_first(store: Store) -> None:
    scan(store, policy(), [post("a", PRAISE), post("b", HARMLESS), post("c", PRAISE)])
    queue = store.review_queue()
    assert [(i.decision.decision.post_id, i.reason) for i in queue] == [
        ("a", "rule"),
        ("c", "rule"),
    ]


def test_a_moderator_confirming_a_review_acts_and_strikes(store: Store) -> None:
    scan(store, policy(), [post("a", PRAISE, author="u9")])
    item = store.review_queue()[0]
    new = store.decide_review(item.review_id, "m1", "remove", "praise of a designated person")
    assert new is not None and new.decision.action == "remove" and not new.decision.automated
    assert new.actor == "moderator:m1" and new.supersedes == item.decision.id
    assert store.decision(item.decision.id).status == "superseded"
    assert store.post_state("a") == "removed"
    assert store.active_strikes("u9") == 1
    assert store.review_queue() == []


def test_a_moderator_overturning_a_review_leaves_the_post_alone(store: Store) -> None:
    scan(store, policy(), [post("a", PRAISE, author="u9")])
    item = store.review_queue()[0]
    store.decide_review(item.review_id, "m1", "allow", "news reporting, not praise")
    assert store.post_state("a") == "visible"
    assert store.active_strikes("u9") == 0


def test_a_review_needs_a_reason_and_a_known_action(store: Store) -> None:
    scan(store, policy(), [post("a", PRAISE)])
    item = store.review_queue()[0]
    with pytest.raises(ModerationError, match="reason"):
        store.decide_review(item.review_id, "m1", "remove", "  ")
    with pytest.raises(ModerationError, match="action"):
        store.decide_review(item.review_id, "m1", "delete", "x")
    store.decide_review(item.review_id, "m1", "remove", "praise")
    with pytest.raises(ModerationError, match="already closed"):
        store.decide_review(item.review_id, "m2", "allow", "x")


def test_sampled_automated_actions_go_to_review_and_measure_the_rule(store: Store) -> None:
    scan(store, strict(sample=1.0), [post("a", PRAISE), post("b", HARMLESS)])
    queue = store.review_queue()
    assert [(i.decision.decision.post_id, i.reason) for i in queue] == [("a", "sample")]
    assert store.post_state("a") == "removed"  # a sample does not hold the action back
    store.decide_review(queue[0].review_id, "m1", "remove", "correct")
    assert store.decision(queue[0].decision.id).status == "in_force"  # confirmed: it stands


def test_sampling_is_a_share_of_each_rules_actions(store: Store) -> None:
    posts = [post(f"p{i}", PRAISE, author=f"u{i}") for i in range(400)]
    scan(store, strict(sample=0.1), posts)
    sampled = len(store.review_queue(limit=1000))
    assert 20 <= sampled <= 65  # 10% of 400, with room for chance


def test_an_appeal_goes_to_another_moderator_and_reverses_everything(store: Store) -> None:
    scan(store, policy(), [post("a", PRAISE, author="u9")])
    item = store.review_queue()[0]
    removal = store.decide_review(item.review_id, "m1", "remove", "praise")
    assert removal is not None
    appeal = store.file_appeal(removal.id, "u9", "This was a news report.")
    assert [i.reason for i in store.review_queue()] == ["appeal"]
    with pytest.raises(ModerationError, match="another person"):
        store.decide_appeal(appeal, "m1", "overturned", "news")
    restored = store.decide_appeal(appeal, "m2", "overturned", "it is reporting")
    assert restored is not None and restored.decision.action == "allow"
    assert store.decision(removal.id).status == "reversed"
    assert store.post_state("a") == "visible"
    assert store.active_strikes("u9") == 0
    assert store.review_queue() == []
    assert store.appeals()[0]["outcome"] == "overturned"


def test_an_upheld_appeal_changes_nothing_but_the_record(store: Store) -> None:
    scan(store, strict(), [post("a", PRAISE, author="u9")])
    decision = store.decisions_of("a")[0]
    appeal = store.file_appeal(decision.id, "u9", "")
    assert store.decide_appeal(appeal, "m2", "upheld", "it praises him") is None
    assert store.post_state("a") == "removed"
    assert store.active_strikes("u9") == 1


def test_only_the_author_appeals_and_only_once_at_a_time(store: Store) -> None:
    scan(store, strict(), [post("a", PRAISE, author="u9"), post("b", HARMLESS)])
    removal, allowed = store.decisions_of("a")[0], store.decisions_of("b")[0]
    with pytest.raises(ModerationError, match="only the author"):
        store.file_appeal(removal.id, "u2", "")
    with pytest.raises(ModerationError, match="nothing to appeal"):
        store.file_appeal(allowed.id, "u1", "")
    store.file_appeal(removal.id, "u9", "")
    with pytest.raises(ModerationError, match="open appeal"):
        store.file_appeal(removal.id, "u9", "")


def test_the_appeal_window_closes_after_six_months(store: Store) -> None:
    scan(store, strict(), [post("a", PRAISE, author="u9")])
    assert isinstance(store.clock, Clock)
    store.clock.advance(days=200)
    with pytest.raises(ModerationError, match="window"):
        store.file_appeal(store.decisions_of("a")[0].id, "u9", "")


def test_strikes_suspend_the_account_and_a_reversal_lifts_it(store: Store) -> None:
    scan(store, strict(suspend_after=2), [post("a", PRAISE, author="u9")])
    assert store.suspended_until("u9") is None
    scan(store, strict(suspend_after=2), [post("b", PRAISE, author="u9")])
    until = store.suspended_until("u9")
    assert until is not None and until.startswith("2026-12-25")
    suspension = store.decisions_of("u9", subject="account")[0]
    assert suspension.decision.action == "suspend" and "2 strikes" in suspension.reason
    appeal = store.file_appeal(store.decisions_of("b")[0].id, "u9", "")
    store.decide_appeal(appeal, "m2", "overturned", "not praise")
    assert store.active_strikes("u9") == 1
    assert store.suspended_until("u9") is None
    assert store.decision(suspension.id).status == "reversed"


def test_strikes_expire(store: Store) -> None:
    scan(store, strict(suspend_after=3), [post("a", PRAISE, author="u9")])
    assert store.active_strikes("u9") == 1
    assert isinstance(store.clock, Clock)
    store.clock.advance(days=91)
    assert store.active_strikes("u9") == 0


def test_an_order_is_recorded_apart_from_the_terms(store: Store) -> None:
    scan(store, policy(), [post("a", HARMLESS, author="u9"), post("b", HASHTAG)])
    order = AuthorityRequest(
        id=0,
        authority="Ministry of the Interior of Examplestan",
        legal_basis="Art. 5 Media Law",
        reference="MI-2026-117",
        issued_on="2026-11-20",
        territorial_scope=("DE",),
        action="restrict",
        recorded_at=store.clock(),
        recorded_by="ops1",
    )
    request_id, decisions = store.record_authority_request(order, ["a"])
    assert [(d.decision.policy, d.source, d.authority_request_id) for d in decisions] == [
        ("authority-order", "authority", request_id)
    ]
    assert store.post_state("a") == "restricted"
    assert store.active_strikes("u9") == 0  # an order is not the author breaking the terms
    assert store.authority_requests()[0].reference == "MI-2026-117"


def test_an_incomplete_order_is_refused_whole(store: Store) -> None:
    scan(store, policy(), [post("a", HARMLESS)])
    order = AuthorityRequest(0, "", "", "r", "20/11/2026", ("de",), "restrict", "t", "ops1")
    with pytest.raises(AuthorityError) as refused:
        store.record_authority_request(order, ["a", "zz"])
    message = str(refused.value)
    assert "authority is missing" in message and "legal basis" in message
    assert "YYYY-MM-DD" in message and "de" in message
    assert store.count("authority_requests") == 0


def test_a_moderator_who_confirmed_a_sample_may_not_decide_its_appeal(store: Store) -> None:
    scan(store, strict(sample=1.0), [post("a", PRAISE, author="u9")])
    [item] = store.review_queue()
    assert store.decide_review(item.review_id, "m1", "remove", "praise, as the rule says") is None
    appeal = store.file_appeal(item.decision.id, "u9", "")
    with pytest.raises(ModerationError, match="another person"):
        store.decide_appeal(appeal, "m1", "upheld", "still praise")
    store.decide_appeal(appeal, "m2", "upheld", "still praise")
