"""Rule conditions in CEL: mentions(), post fields, first match decides, cached evaluation."""

from __future__ import annotations

from arbiter.model import Author, Post
from arbiter.policy.model import Rule
from arbiter.policy.rules import CompiledRules, post_fields


def rules(*conditions: str) -> CompiledRules:
    return CompiledRules(
        Rule(id=f"r{i}", when=when, action="review") for i, when in enumerate(conditions)
    )


def decided_by(compiled: CompiledRules, post: Post, *mentions: tuple[str, str]) -> str | None:
    rule, _ = compiled.first_match(post, frozenset(mentions))
    return rule.id if rule else None


def test_mentions_with_and_without_a_signal():
    compiled = rules("mentions('qs', 'image')", "mentions('qs')")
    post = Post(id="p")
    assert decided_by(compiled, post, ("qs", "text")) == "r1"
    assert decided_by(compiled, post, ("qs", "image")) == "r0"
    assert decided_by(compiled, post) is None
    assert decided_by(compiled, post, ("amm", "text")) is None


def test_post_fields_are_visible_to_conditions():
    compiled = rules("post.lang == 'fa' && post.author.country == 'IR'", "post.text.contains('x')")
    assert decided_by(compiled, Post(id="p", lang="fa", author=Author(country="IR"))) == "r0"
    assert decided_by(compiled, Post(id="p", lang="fa", author=Author(country="DE"))) is None
    assert decided_by(compiled, Post(id="p", text="xyz")) == "r1"


def test_the_first_rule_that_holds_decides():
    compiled = rules("true", "true")
    assert decided_by(compiled, Post(id="p")) == "r0"


def test_a_rule_that_fails_on_a_post_is_reported_and_skipped():
    compiled = rules("timestamp(post.created_at) > timestamp('2020-01-01T00:00:00Z')", "true")
    rule, failures = compiled.first_match(Post(id="p", created_at="not a date"), frozenset())
    assert rule is not None and rule.id == "r1"
    assert [f.rule for f in failures] == ["r0"]


def test_cache_key_covers_exactly_the_fields_conditions_read():
    assert post_fields("mentions('qs') && post.lang == 'fa'") == ("lang",)
    assert post_fields("post.author.country in ['DE'] || post.lang == 'x'") == (
        "author.country",
        "lang",
    )
    assert post_fields("'post.text' == 'x'") == ()  # inside a string literal
    assert post_fields("size(post) > 1") is None  # the whole post: no caching


def test_cached_results_never_leak_between_posts_that_differ():
    compiled = rules("post.lang == 'fa'")
    for _ in range(3):
        assert decided_by(compiled, Post(id="a", lang="fa")) == "r0"
        assert decided_by(compiled, Post(id="b", lang="en")) is None
    text_rule = rules("post.text.startsWith('a')")
    assert decided_by(text_rule, Post(id="a", text="abc")) == "r0"
    assert decided_by(text_rule, Post(id="b", text="bcd")) is None


def test_method_calls_on_fields_are_not_fields():
    assert post_fields("post.text.startsWith('a') && post.author.country.endsWith('R')") == (
        "author.country",
        "text",
    )
    assert post_fields("post.unknown == 1") is None


def _rules(*whens: str) -> CompiledRules:
    return CompiledRules(Rule(id=f"r{i}", when=w, action="review") for i, w in enumerate(whens))


def test_ocr_can_change_a_decision_only_through_an_earlier_rule_that_reads_it():
    rules = _rules("mentions('a', 'hashtag')", "mentions('a', 'ocr')", "mentions('a')")
    first, second, third = rules.rules
    assert not rules.could_change("ocr", first)  # the first rule already decides
    assert rules.could_change("ocr", third)  # the OCR rule comes before
    assert not rules.could_change("ocr", second)  # it holds already; more mentions keep it so
    assert rules.could_change("ocr", None)  # nothing decided: any rule reading OCR may
    assert not _rules("mentions('a', 'text')").could_change("ocr", None)


def test_a_negated_mention_may_stop_holding():
    rules = _rules("mentions('a', 'text') && !mentions('a', 'ocr')")
    assert rules.could_change("ocr", rules.rules[0])
