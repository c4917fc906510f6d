"""Statements of reasons: every one the database would accept, none holding personal data."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from arbiter.engine import Engine
from arbiter.model import Author, Decision, Match, Media, Post
from arbiter.policy.load import parse_policy
from arbiter.policy.model import Policy
from arbiter.report.statement import (
    AuthorityOrder,
    StatementError,
    StatementFacts,
    Strike,
    account_statement,
    content_language,
    content_statement,
    territories,
    user_notice,
)
from tests.report.sor_schema import conditional_errors, schema_errors

POLICY_YAML = """\
id: dangerous-individuals
version: 3
title: Dangerous individuals
grounds:
  type: incompatible_content
  terms: "Community Guidelines 4.2"
  category: risk_for_public_security
  reference_url: https://example.social/guidelines#4.2
entities:
  - id: qs
    kind: person
    names: ["Qassem Soleimani", "قاسم سلیمانی"]
    hashtags: ["#SardarDelha"]
  - id: amm
    kind: person
    names: ["Abu Mahdi al-Muhandis"]
rules:
  - id: praise
    when: "mentions('qs', 'text') && mentions('amm')"
    action: remove
  - id: hashtag-campaign
    when: "mentions('qs', 'hashtag')"
    action: restrict
    territorial_scope: ["DE", "FR", "NL"]
  - id: greece
    when: "mentions('qs', 'ocr')"
    action: restrict
    territorial_scope: ["EL", "US"]
  - id: outside-europe
    when: "mentions('qs', 'video')"
    action: restrict
    territorial_scope: ["US", "IR"]
  - id: images
    when: "mentions('qs', 'image')"
    action: label
  - id: mentions
    when: "mentions('qs')"
    action: review
"""
ILLEGAL_YAML = (
    POLICY_YAML.replace("type: incompatible_content", "type: illegal_content")
    .replace('terms: "Community Guidelines 4.2"', "legal_ground: 'StGB § 86a'")
    .replace("risk_for_public_security", "violence")
)
INCOMPATIBLE = parse_policy(POLICY_YAML, "p.yaml")
ILLEGAL = parse_policy(ILLEGAL_YAML, "p.yaml")
ALSO_ILLEGAL = parse_policy(
    POLICY_YAML.replace("  reference_url", "  illegal: true\n  reference_url")
)

TEXT = Match("qs", "text", (0, 15), "Qasem Suleimani", "transliteration", 0.94)
TEXT_AMM = Match("amm", "text", (20, 41), "Abu Mahdi al-Muhandis", "exact", 1.0)
HASHTAG = Match("qs", "hashtag", (0, 12), "#SardarDelha", "hashtag", 1.0)
OCR = Match("qs", "ocr", (0, 16), "Qassem Soleimani", "exact", 0.9)
IMAGE = Match("qs", "image", (0, 0), "m1", "pdq", 0.97)
VIDEO = Match("qs", "video", (0, 0), "m2", "vpdq", 0.88)

POST = Post(
    id="p1",
    text="Qasem Suleimani and Abu Mahdi al-Muhandis",
    lang="fa",
    created_at="2020-01-03T08:00:00Z",
    author=Author(id="u1", handle="someone", country="IR"),
    url="https://example.social/@someone/1",
)
BARE_POST = Post(id="p2", text="#SardarDelha")  # no lang, no created_at
MEDIA_POST = replace(
    POST,
    media=(Media("m1", "image", "media/m1.jpg"), Media("m2", "video", "media/m2.mp4")),
)
FACTS = StatementFacts(
    puid="arbiter-d-000123",
    application_date="2026-11-25",
    automated_detection=True,
    automated_decision="fully",
)
ORDER = AuthorityOrder(
    authority="Landgericht Berlin",
    legal_basis="StGB § 86a (symbols of unconstitutional organisations)",
    reference="27 O 123/26",
    issued_on="2026-11-20",
)


def decide(
    rule: str, *matches: Match, post: Post = POST, policy: Policy = INCOMPATIBLE
) -> Decision:
    action_scope = {r.id: (r.action, r.territorial_scope) for r in policy.rules}[rule]
    return Decision(
        post_id=post.id,
        action=action_scope[0],
        policy=policy.id,
        policy_version=policy.version,
        rule=rule,
        decided_at="2026-11-25T10:00:00Z",
        matches=matches,
        territorial_scope=action_scope[1],
    )


def statement(
    rule: str,
    *matches: Match,
    post: Post = POST,
    policy: Policy = INCOMPATIBLE,
    facts: StatementFacts = FACTS,
) -> dict[str, Any]:
    made = content_statement(decide(rule, *matches, post=post, policy=policy), policy, post, facts)
    assert made is not None
    return made


CASES = {
    "remove, text": lambda: statement("praise", TEXT, TEXT_AMM),
    "restrict DE FR NL, hashtag, bare post": lambda: statement(
        "hashtag-campaign", HASHTAG, post=BARE_POST
    ),
    "restrict EL US, text in an image": lambda: statement("greece", OCR, post=MEDIA_POST),
    "restrict outside the EU only, video": lambda: statement(
        "outside-europe", VIDEO, post=MEDIA_POST
    ),
    "label, image": lambda: statement("images", IMAGE, post=MEDIA_POST),
    "illegal ground": lambda: statement("praise", TEXT, TEXT_AMM, policy=ILLEGAL),
    "incompatible and also illegal": lambda: statement("praise", TEXT, policy=ALSO_ILLEGAL),
    "authority order": lambda: statement("praise", TEXT, facts=replace(FACTS, authority=ORDER)),
    "moderator decision": lambda: statement(
        "praise",
        TEXT,
        facts=replace(FACTS, automated_detection=False, automated_decision="not"),
    ),
    "account suspension": lambda: account_statement(
        [strike("arbiter-d-000120", "praise"), strike("arbiter-d-000121", "images")],
        INCOMPATIBLE,
        replace(FACTS, puid="arbiter-a-000007", account_restriction_until="2026-12-25"),
        threshold=2,
    ),
}


def strike(puid: str, rule: str) -> Strike:
    matches = {"praise": (TEXT,), "images": (IMAGE,)}[rule]
    post = POST if rule == "praise" else MEDIA_POST
    decision = decide(rule, *matches, post=post)
    return Strike.of(
        decision, content_statement(decision, INCOMPATIBLE, post, replace(FACTS, puid=puid)) or {}
    )


@pytest.mark.parametrize("case", CASES)
def test_every_statement_validates_against_the_schema(case: str):
    made = CASES[case]()
    assert schema_errors(made) == []
    assert conditional_errors(made) == []


def test_the_validator_is_not_vacuous():
    made = statement("praise", TEXT)
    assert schema_errors({**made, "content_date": "2020-02-30"})  # the pattern allows it
    assert schema_errors({**made, "territorial_scope": ["EL"]})
    assert schema_errors({**made, "puid": "a b"})
    assert schema_errors({k: v for k, v in made.items() if k != "decision_visibility"})
    assert conditional_errors({**made, "illegal_content_legal_ground": "x"})
    assert conditional_errors({**made, "source_identity": "someone"})


def test_remove_on_the_platforms_own_initiative():
    made = statement("praise", TEXT, TEXT_AMM)
    assert made["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert made["source_type"] == "SOURCE_VOLUNTARY"
    assert "source_identity" not in made
    assert (made["automated_detection"], made["automated_decision"]) == (
        "Yes",
        "AUTOMATED_DECISION_FULLY",
    )
    assert made["puid"] == "arbiter-d-000123"
    assert made["application_date"] == "2026-11-25"
    assert made["content_type"] == ["CONTENT_TYPE_TEXT"]
    assert made["content_date"] == "2020-01-03"
    assert made["content_language"] == "FA"
    # A removal holds everywhere: every EU/EEA state.
    assert len(made["territorial_scope"]) == 30 and "GR" in made["territorial_scope"]


def test_incompatible_content_cites_the_terms_and_not_the_law():
    made = statement("praise", TEXT)
    assert made["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert made["incompatible_content_ground"] == "Community Guidelines 4.2"
    assert "Dangerous individuals" in made["incompatible_content_explanation"]
    assert "'praise'" in made["incompatible_content_explanation"]
    assert made["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert made["decision_ground_reference_url"] == "https://example.social/guidelines#4.2"
    assert not {"illegal_content_legal_ground", "illegal_content_explanation"} & set(made)
    assert "incompatible_content_illegal" not in made  # the policy does not say


def test_incompatible_content_that_is_also_illegal_says_yes():
    assert statement("praise", TEXT, policy=ALSO_ILLEGAL)["incompatible_content_illegal"] == "Yes"


def test_illegal_content_cites_the_law_and_not_the_terms():
    made = statement("praise", TEXT, policy=ILLEGAL)
    assert made["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert made["illegal_content_legal_ground"] == "StGB § 86a"
    assert "StGB § 86a" in made["illegal_content_explanation"]
    assert made["category"] == "STATEMENT_CATEGORY_VIOLENCE"
    assert not [k for k in made if k.startswith("incompatible_content")]


def test_an_authority_order_makes_it_illegal_content_notified_by_the_authority():
    made = statement("praise", TEXT, facts=replace(FACTS, authority=ORDER))
    assert made["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert made["source_identity"] == "Landgericht Berlin"
    assert made["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert made["illegal_content_legal_ground"] == ORDER.legal_basis
    assert "27 O 123/26" in made["illegal_content_explanation"]
    assert "27 O 123/26" in made["decision_facts"]
    assert made["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    # The policy's link cites the terms, which the order does not rest on.
    assert "decision_ground_reference_url" not in made
    assert not [k for k in made if k.startswith("incompatible_content")]


def test_an_order_under_default_grounds_does_not_claim_a_terms_violation():
    plain = parse_policy(POLICY_YAML.replace("  category: risk_for_public_security\n", ""))
    made = statement("praise", TEXT, policy=plain, facts=replace(FACTS, authority=ORDER))
    assert made["category"] == "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    named = replace(ORDER, category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")
    made = statement("praise", TEXT, policy=plain, facts=replace(FACTS, authority=named))
    assert made["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"


def test_restrict_disables_access_in_the_rules_eu_territories():
    made = statement("hashtag-campaign", HASHTAG, post=BARE_POST)
    assert made["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert made["territorial_scope"] == ["DE", "FR", "NL"]
    assert "disabled in DE, FR, NL" in made["decision_facts"]


def test_greece_is_gr_and_non_eu_codes_are_dropped():
    made = statement("greece", OCR, post=MEDIA_POST)
    assert made["territorial_scope"] == ["GR"]
    assert "outside the EU/EEA in US" in made["decision_facts"]


def test_restrict_outside_the_eu_only_has_no_territorial_scope():
    made = statement("outside-europe", VIDEO, post=MEDIA_POST)
    assert "territorial_scope" not in made
    assert "outside the EU/EEA in US, IR only" in made["decision_facts"]


def test_territories():
    assert territories(["nl", "EL", "US", "DE", "GR", "NO", "CH"]) == (
        ["DE", "GR", "NL", "NO"],
        ["US", "CH"],
    )
    assert territories([]) == ([], [])


def test_label():
    made = statement("images", IMAGE, post=MEDIA_POST)
    assert made["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_LABELLED"]


@pytest.mark.parametrize(
    ("matches", "post", "types"),
    [
        ((TEXT,), POST, ["CONTENT_TYPE_TEXT"]),
        ((HASHTAG,), BARE_POST, ["CONTENT_TYPE_TEXT"]),
        ((OCR,), POST, ["CONTENT_TYPE_IMAGE"]),
        ((IMAGE,), POST, ["CONTENT_TYPE_IMAGE"]),
        ((VIDEO,), POST, ["CONTENT_TYPE_VIDEO"]),
        ((TEXT,), MEDIA_POST, ["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO"]),
        ((), POST, ["CONTENT_TYPE_TEXT"]),  # a rule on metadata: the post's text
    ],
)
def test_content_type_from_the_matched_signals_and_the_posts_media(
    matches: tuple[Match, ...], post: Post, types: list[str]
):
    assert statement("praise", *matches, post=post)["content_type"] == types


def test_a_post_without_text_or_known_media_is_other_content():
    post = Post(id="p9", media=(Media("m1", "sticker"),))
    made = statement("praise", post=post)
    assert made["content_type"] == ["CONTENT_TYPE_OTHER"]
    assert made["content_type_other"]
    assert schema_errors(made) == []


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2020-01-03T08:00:00Z", "2020-01-03"),
        ("2020-01-03T23:30:00-05:00", "2020-01-04"),  # the UTC date
        ("2020-01-03", "2020-01-03"),
        ("", "2026-11-25"),  # no date: the decision's
        ("last Tuesday", "2026-11-25"),
        ("1999-12-31T23:00:00Z", "2000-01-01"),  # clamped to the database's range
        ("2040-05-01T00:00:00Z", "2038-01-01"),
    ],
)
def test_content_date(created_at: str, expected: str):
    made = statement("praise", TEXT, post=replace(POST, created_at=created_at))
    assert made["content_date"] == expected
    assert schema_errors(made) == []


@pytest.mark.parametrize(
    ("lang", "expected"), [("fa", "FA"), ("FA", "FA"), ("fa-IR", "FA"), ("pt_BR", "PT"), ("", None)]
)
def test_content_language(lang: str, expected: str | None):
    assert content_language(lang) == expected


def test_a_language_the_database_does_not_know_is_left_out():
    for lang in ("", "xx", "fas", "ckb"):
        assert "content_language" not in statement("praise", TEXT, post=replace(POST, lang=lang))


def test_decision_facts_describe_the_evidence_by_rule_entity_signal_and_via():
    facts = statement("praise", TEXT, TEXT_AMM, HASHTAG)["decision_facts"]
    assert "'Dangerous individuals' (dangerous-individuals, version 3), rule 'praise'" in facts
    assert "the designated person Qassem Soleimani (entity qs)" in facts
    assert "a transliterated mention (text)" in facts
    assert "a hashtag (hashtag)" in facts
    assert "the designated person Abu Mahdi al-Muhandis (entity amm)" in facts
    assert facts.startswith("Automated detection")
    assert "The content was removed." in facts


def test_decision_facts_say_a_moderator_decided():
    made = statement(
        "praise", TEXT, facts=replace(FACTS, automated_detection=False, automated_decision="not")
    )
    assert (made["automated_detection"], made["automated_decision"]) == (
        "No",
        "AUTOMATED_DECISION_NOT_AUTOMATED",
    )
    assert made["decision_facts"].startswith("Detection by a person")
    assert "decided by a moderator" in made["decision_facts"]


def test_long_policy_texts_are_cut_to_the_database_limits():
    long = parse_policy(
        POLICY_YAML.replace("Community Guidelines 4.2", "G" * 700).replace(
            "title: Dangerous individuals", "title: " + "T" * 2500
        )
    )
    made = statement("praise", TEXT, policy=long)
    assert len(made["incompatible_content_ground"]) == 500
    assert len(made["incompatible_content_explanation"]) == 2000
    assert len(made["decision_facts"]) <= 5000
    assert schema_errors(made) == []


def test_review_and_allow_owe_no_statement():
    review = decide("mentions", TEXT)
    assert content_statement(review, INCOMPATIBLE, POST, FACTS) is None
    allow = replace(review, action="allow", rule=None, matches=())
    assert content_statement(allow, INCOMPATIBLE, POST, FACTS) is None


def test_a_decision_that_does_not_fit_its_facts_is_refused():
    decision = decide("praise", TEXT)
    with pytest.raises(StatementError, match="another post"):
        content_statement(decision, INCOMPATIBLE, BARE_POST, FACTS)
    with pytest.raises(StatementError, match="version"):
        content_statement(replace(decision, policy_version=2), INCOMPATIBLE, POST, FACTS)
    with pytest.raises(StatementError, match="rule"):
        content_statement(replace(decision, rule="gone"), INCOMPATIBLE, POST, FACTS)
    with pytest.raises(StatementError, match="no account"):
        until = replace(FACTS, account_restriction_until="2026-12-01")
        content_statement(decision, INCOMPATIBLE, POST, until)


@pytest.mark.parametrize(
    "changes",
    [
        {"puid": "arbiter d 1"},
        {"puid": ""},
        {"puid": "x" * 501},
        {"puid": "ä"},
        {"application_date": "2019-12-31"},
        {"application_date": "2026-02-30"},
        {"application_date": "25.11.2026"},
        {"automated_decision": "mostly"},
        {"account_restriction_until": "2026-11-24"},  # before it took effect
        {"account_restriction_until": "2039-01-01"},
    ],
)
def test_facts_are_checked_when_made(changes: dict[str, Any]):
    with pytest.raises(StatementError):
        replace(FACTS, **changes)


def test_an_order_is_checked_when_made():
    with pytest.raises(StatementError):
        replace(ORDER, issued_on="yesterday")
    with pytest.raises(StatementError):
        replace(ORDER, authority=" ")
    with pytest.raises(StatementError):
        replace(ORDER, category="STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE")  # removed key


def test_account_suspension_lists_its_strikes():
    made = CASES["account suspension"]()
    assert made["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert "decision_visibility" not in made
    assert made["end_date_account_restriction"] == "2026-12-25"
    # The image strike's post also carried a video.
    assert made["content_type"] == ["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO"]
    assert made["content_date"] == "2020-01-03"
    facts = made["decision_facts"]
    assert "arbiter-d-000120 (version 3, rule 'praise'" in facts
    assert "arbiter-d-000121 (version 3, rule 'images'" in facts
    assert "until 2026-12-25 after 2 decisions" in facts
    assert "2 being the policy's threshold" in facts


def test_an_indefinite_suspension_has_no_end_date():
    made = account_statement([strike("arbiter-d-1", "praise")], INCOMPATIBLE, FACTS)
    assert "end_date_account_restriction" not in made
    assert "with no end date set" in made["decision_facts"]
    assert "1 decision on this account's content" in made["incompatible_content_explanation"]
    assert schema_errors(made) == []


def test_many_strikes_are_listed_as_far_as_the_limit_allows():
    one = strike("arbiter-d-000001", "praise")
    strikes = [replace(one, puid=f"arbiter-d-{i:06d}") for i in range(400)]
    made = account_statement(strikes, INCOMPATIBLE, FACTS)
    facts = made["decision_facts"]
    assert len(facts) <= 5000
    assert facts.endswith("more.")
    listed = facts.count("arbiter-d-")
    assert 10 < listed < 400
    assert f"…and {400 - listed} more." in facts
    assert schema_errors(made) == []


def test_strikes_under_another_policy_are_refused():
    other = replace(strike("arbiter-d-1", "praise"), policy="spam")
    with pytest.raises(StatementError, match="spam"):
        account_statement([other], INCOMPATIBLE, FACTS)
    with pytest.raises(StatementError):
        account_statement([], INCOMPATIBLE, FACTS)


MARKERS = {
    "text": "qzxtextmarker",
    "id": "qzxpostidmarker",
    "url": "https://qzxurlmarker.example/@qzxhandlemarker/9",
    "author id": "qzxauthoridmarker",
    "handle": "qzxhandlemarker",
    "matched": "Qzxmatchedmarker",
}


def test_no_personal_data_reaches_the_database_statement():
    post = Post(
        id=MARKERS["id"],
        text=f"{MARKERS['text']} {MARKERS['matched']} #SardarDelha",
        lang="en",
        created_at="2020-01-03T08:00:00Z",
        author=Author(id=MARKERS["author id"], handle=MARKERS["handle"], country="DE"),
        url=MARKERS["url"],
        media=(Media("qzxmediamarker", "image", "media/qzxpathmarker.jpg"),),
    )
    matches = (
        Match("qs", "text", (14, 30), MARKERS["matched"], "homoglyph", 0.9),
        Match("qs", "hashtag", (31, 43), "#SardarDelha", "hashtag", 1.0),
    )
    decisions = [
        decide(rule, *matches, post=post)
        for rule in ("praise", "hashtag-campaign", "greece", "images")
    ]
    made = [content_statement(d, INCOMPATIBLE, post, FACTS) for d in decisions]
    made.append(content_statement(decisions[0], ILLEGAL, post, replace(FACTS, authority=ORDER)))
    strikes = [Strike.of(d, s or {}) for d, s in zip(decisions, made, strict=False)]
    made.append(account_statement(strikes[:1], INCOMPATIBLE, FACTS))
    serialized = json.dumps(made, ensure_ascii=False).lower()
    markers = [*MARKERS.values(), "qzxmediamarker", "qzxpathmarker"]
    assert [m for m in markers if m.lower() in serialized] == []
    assert "qzx" not in serialized
    assert "a mention disguised with look-alike characters (text)" in serialized
    # The user's own notice does name the post.
    notice = json.dumps(user_notice(made[0] or {}, "d-42", post), ensure_ascii=False)
    assert MARKERS["id"] in notice and MARKERS["url"] in notice


def test_the_user_notice_states_every_redress():
    made = statement("hashtag-campaign", HASHTAG, post=BARE_POST)
    notice = user_notice(made, "d-000123", POST, appeal_url="https://example.social/appeals")
    assert notice["statement"] == made
    assert notice["post"] == {"id": "p1", "url": "https://example.social/@someone/1"}
    routes = {r["route"]: r for r in notice["redress"]}
    assert list(routes) == [
        "internal_complaint",
        "out_of_court_dispute_settlement",
        "judicial_redress",
    ]
    assert routes["internal_complaint"]["how"] == "arbiter appeal file d-000123"
    assert routes["internal_complaint"]["url"] == "https://example.social/appeals"
    assert routes["out_of_court_dispute_settlement"]["legal_basis"] == "DSA Art. 21"
    assert routes["out_of_court_dispute_settlement"]["url"].startswith("https://")
    assert "court" in routes["judicial_redress"]["how"]
    assert notice["summary"] == (
        "Disabling access to content. Content incompatible with terms and conditions. "
        "Risk for public security. In DE, FR, NL."
    )


def test_an_account_notice_names_no_post():
    made = CASES["account suspension"]()
    notice = user_notice(made, "a-7")
    assert "post" not in notice
    assert notice["summary"].startswith("Suspension of the account.")
    assert "Until 2026-12-25" in notice["summary"]


def test_an_engine_decision_on_the_example_policy_gives_a_valid_statement(engine: Engine):
    post = Post.from_dict(
        {"id": "e1", "text": "#SardarDelha", "lang": "fa", "created_at": "2020-01-04T10:00:00Z"}
    )
    decision = engine.evaluate(post)
    assert decision.action == "restrict"
    made = content_statement(decision, engine.policy, post, FACTS)
    assert made is not None
    assert schema_errors(made) == [] and conditional_errors(made) == []
    assert made["territorial_scope"] == ["DE", "FR", "NL"]
    assert made["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert made["incompatible_content_ground"].startswith("Community Guidelines 4.2")
