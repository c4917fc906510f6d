"""evaluate(post) -> Decision, in DESIGN.md's decision format."""

from __future__ import annotations

from arbiter.engine import Engine
from arbiter.model import Post


def test_a_decision_has_exactly_the_contract_fields(engine: Engine):
    decision = engine.evaluate(Post(id="p1", text="RIP Qassem Soleimani")).as_dict()
    assert decision == {
        "post_id": "p1",
        "action": "review",
        "policy": "dangerous-individuals",
        "policy_version": 1,
        "rule": "designated-person",
        "automated": True,
        "decided_at": "2026-11-25T10:00:00Z",
        "matches": [
            {
                "entity": "qs",
                "signal": "text",
                "span": [4, 20],
                "matched": "Qassem Soleimani",
                "via": "exact",
                "score": 1.0,
            }
        ],
    }


def test_a_post_nothing_matched_is_allowed_with_no_rule(engine: Engine):
    decision = engine.evaluate(Post(id="p2", text="Snow in Tehran today")).as_dict()
    assert (decision["action"], decision["rule"], decision["matches"]) == ("allow", None, [])


def test_rules_are_evaluated_in_order(engine: Engine):
    decision = engine.evaluate(Post(id="p3", text="Qassem Soleimani #SardarDelha"))
    assert (decision.action, decision.rule) == ("restrict", "hashtag-campaign")
    assert decision.territorial_scope == ("DE", "FR", "NL")
    assert [m.signal for m in decision.matches] == ["text", "hashtag"]


def test_spans_index_the_posts_original_text(engine: Engine):
    text = "سَردار «قاسِم سُلَیمانی» 🌹"
    (match,) = engine.evaluate(Post(id="p4", text=text)).matches
    assert text[match.span[0] : match.span[1]] == match.matched == "قاسِم سُلَیمانی"


def test_decisions_are_deterministic(engine: Engine):
    post = Post(id="p5", text="Ghasem Suleimani, Abu Mahdi al-Muhandis, #HajQassem")
    first = engine.evaluate(post).as_dict()
    for _ in range(3):
        assert engine.evaluate(post).as_dict() == first


def test_posts_are_read_from_json_with_only_an_id_required():
    post = Post.from_dict({"id": 7, "author": {"country": "IR"}, "media": [{"type": "image"}]})
    assert (post.id, post.text, post.author.country, post.media[0].id) == ("7", "", "IR", "m0")
