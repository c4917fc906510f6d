"""Policy files: what loads, and every problem reported as file:line: what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbiter.policy.load import PolicyError, load_policy, parse_policy

VALID = """\
id: demo
version: 2
title: Demo
grounds:
  type: incompatible_content
  terms: "Guidelines 4.2"
entities:
  - id: qs
    kind: person
    names: ["Qassem Soleimani", "قاسم سلیمانی"]
    aliases: ["Haj Qassem"]
    context_terms: ["general"]
    hashtags: ["#SardarDelha"]
rules:
  - id: hashtags
    when: "mentions('qs', 'hashtag')"
    action: restrict
    territorial_scope: ["DE"]
  - id: iranian-posts
    when: "mentions('qs') && post.author.country == 'IR'"
    action: review
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    return [str(p) for p in caught.value.problems]


def replace(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def test_a_valid_policy_loads_whole():
    policy = parse_policy(VALID, "p.yaml")
    assert (policy.id, policy.version, policy.title) == ("demo", 2, "Demo")
    assert policy.entity("qs").names == ("Qassem Soleimani", "قاسم سلیمانی")
    assert [r.id for r in policy.rules] == ["hashtags", "iranian-posts"]
    assert policy.rules[0].territorial_scope == ("DE",)
    assert policy.grounds.terms == "Guidelines 4.2"
    assert policy.text == VALID


def test_the_example_policy_is_valid(example_policy_path: Path):
    assert load_policy(example_policy_path).id == "dangerous-individuals"


def test_unknown_entity_in_a_rule():
    assert problems(replace("mentions('qs', 'hashtag')", "mentions('qx', 'hashtag')")) == [
        "p.yaml:16: rule 'hashtags': unknown entity 'qx' in mentions() (entities: qs)"
    ]


def test_unknown_signal():
    assert problems(replace("'hashtag'", "'smell'")) == [
        "p.yaml:16: rule 'hashtags': unknown signal 'smell' "
        "(use one of text, hashtag, ocr, image, video)"
    ]


def test_cel_that_does_not_compile():
    (message,) = problems(replace("mentions('qs') && post", "mentions('qs') && && post"))
    assert message.startswith(
        "p.yaml:20: rule 'iranian-posts': the CEL condition does not compile:"
    )


def test_cel_calling_an_unknown_function():
    (message,) = problems(replace("mentions('qs') &&", "context('news') &&"))
    assert message.startswith(
        "p.yaml:20: rule 'iranian-posts': the CEL condition does not "
        "compile: unknown function context()"
    )


def test_cel_reading_an_unknown_variable():
    (message,) = problems(replace("post.author.country == 'IR'", "user.country == 'IR'"))
    assert "p.yaml:20:" in message and "user" in message


def test_entity_id_must_be_a_literal():
    (message,) = problems(replace("mentions('qs') &&", "mentions(post.lang) &&"))
    assert message == (
        "p.yaml:20: rule 'iranian-posts': mentions() needs an entity id as a quoted string"
    )


def test_unknown_action():
    assert problems(replace("action: review", "action: delete")) == [
        "p.yaml:21: rule 'iranian-posts': unknown action 'delete' "
        "(use one of remove, restrict, label, review, allow)"
    ]


def test_duplicate_ids():
    text = replace("  - id: iranian-posts", "  - id: hashtags")
    assert problems(text) == ["p.yaml:19: duplicate rule id 'hashtags' (first defined on line 15)"]
    twice = VALID.replace("rules:", "  - id: qs\n    names: [Someone Else]\nrules:")
    assert problems(twice) == ["p.yaml:14: duplicate entity id 'qs' (first defined on line 8)"]


def test_empty_names():
    assert problems(replace('names: ["Qassem Soleimani", "قاسم سلیمانی"]', "names: []")) == [
        "p.yaml:10: entity 'qs' has no names"
    ]
    assert problems(replace('"Qassem Soleimani", ', '"  ", ')) == [
        "p.yaml:10: each of entity 'qs' names must not be empty"
    ]


def test_missing_and_unknown_fields():
    assert problems(VALID.replace("version: 2\n", "")) == ["p.yaml:1: policy: 'version' is missing"]
    assert problems(replace("    kind: person", "    knd: person")) == [
        "p.yaml:9: entity: unknown field 'knd' (allowed: id, names, kind, aliases, "
        "context_terms, hashtags, reference_media, reference_hashes, description)"
    ]


def test_bad_values():
    assert problems(replace("version: 2", "version: two")) == [
        "p.yaml:2: version must be a whole number of at least 1"
    ]
    assert problems(replace('["DE"]', '["Germany"]')) == [
        "p.yaml:18: territorial_scope: 'Germany' is not a two-letter country code"
    ]
    assert problems(replace('"#SardarDelha"', '"SardarDelha"')) == [
        "p.yaml:13: hashtag 'SardarDelha' must start with #"
    ]
    assert problems(replace("type: incompatible_content", "type: illegal_content")) == [
        "p.yaml:5: grounds: illegal_content needs a legal_ground"
    ]


def test_every_problem_is_reported_at_once():
    text = replace("action: review", "action: delete").replace("'qs', 'hashtag'", "'zz'")
    assert len(problems(text)) == 2


def test_yaml_syntax_errors_name_the_line():
    assert problems("id: x\nversion: 1\nentities: [\n")[0].startswith("p.yaml:4: not valid YAML")


def test_a_file_that_cannot_be_read(tmp_path: Path):
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "missing.yaml")
    assert "cannot read the file" in str(caught.value)


def test_enforcement_strikes_and_sampling_are_read():
    policy = parse_policy(
        replace(
            "rules:",
            "enforcement:\n  review_sample: 0.05\n  strikes:\n"
            "    actions: [remove, restrict]\n    suspend_after: 0\nrules:",
        ).replace("action: review", "action: review\n    review_sample: 0.5"),
        "p.yaml",
    )
    assert policy.enforcement.strikes.actions == ("remove", "restrict")
    assert policy.enforcement.strikes.suspend_after == 0  # never suspend
    assert policy.enforcement.strikes.expire_days == 90  # the default stays
    assert policy.enforcement.sampling.rate == 0.05
    rule = next(r.id for r in policy.rules if r.action == "review")
    assert policy.enforcement.sampling.rate_for(rule) == 0.5


def test_enforcement_values_are_checked():
    found = problems(
        replace(
            "rules:",
            "enforcement:\n  review_sample: 1.5\n  strikes:\n    actions: [allow]\n"
            "    expire_days: 0\n    forgive: yes\nrules:",
        )
    )
    assert any("review_sample must be a number from 0 to 1" in p for p in found)
    assert any("'allow' cannot give a strike" in p for p in found)
    assert any("expire_days must be a whole number from 1 to 3650" in p for p in found)
    assert any("unknown field 'forgive'" in p for p in found)


def test_benign_banks_and_the_flood_guard_are_read():
    policy = parse_policy(
        replace(
            "rules:",
            "benign:\n  - id: wire-photos\n    reference_media: ['media/wire/']\n"
            "enforcement:\n  flood_guard: {window_minutes: 30, max_posts: 20, factor: 5}\n"
            "rules:",
        ),
        "p.yaml",
    )
    assert [(b.id, b.reference_media) for b in policy.benign] == [("wire-photos", ("media/wire/",))]
    guard = policy.enforcement.flood_guard
    assert (guard.window_minutes, guard.max_posts, guard.factor) == (30, 20, 5.0)


def test_a_benign_bank_needs_references():
    found = problems(replace("rules:", "benign:\n  - id: empty\nrules:"))
    assert found == ["p.yaml:15: benign bank 'empty' needs reference_media or reference_hashes"]
