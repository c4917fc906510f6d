"""A policy's grounds carry what a DSA statement of reasons cites: category, keywords, link."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbiter.policy.load import PolicyError, load_policy, parse_policy

POLICY = """\
id: demo
version: 1
grounds:
  type: incompatible_content
  terms: "Guidelines 4.2"
entities:
  - id: qs
    names: ["Qassem Soleimani"]
rules:
  - id: any
    when: "mentions('qs')"
    action: remove
"""
GROUNDS = '  type: incompatible_content\n  terms: "Guidelines 4.2"\n'


def with_grounds(lines: str) -> str:
    """The policy with its grounds block (from line 4 on) replaced by `lines`."""
    return POLICY.replace(GROUNDS, lines)


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    return [str(p) for p in caught.value.problems]


def test_incompatible_content_defaults_to_other_violation_of_the_terms():
    grounds = parse_policy(POLICY, "p.yaml").grounds
    assert grounds.category == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert (grounds.keywords, grounds.reference_url, grounds.illegal) == ((), "", None)


def test_a_policy_without_grounds_has_the_default_category():
    text = POLICY.replace("grounds:\n" + GROUNDS, "")
    assert parse_policy(text, "p.yaml").grounds.category == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"


def test_short_and_full_forms_give_the_same_keys():
    short = with_grounds(
        GROUNDS + "  category: risk_for_public_security\n"
        "  keywords: [terrorist_content, KEYWORD_ILLEGAL_ORGANIZATIONS, terrorist_content]\n"
        "  reference_url: https://example.social/terms#4.2\n"
        "  illegal: yes\n"
    )
    grounds = parse_policy(short, "p.yaml").grounds
    assert grounds.category == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert grounds.keywords == ("KEYWORD_TERRORIST_CONTENT", "KEYWORD_ILLEGAL_ORGANIZATIONS")
    assert grounds.reference_url == "https://example.social/terms#4.2"
    assert grounds.illegal is True
    full = short.replace("risk_for_public_security", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY")
    assert parse_policy(full, "p.yaml").grounds.category == grounds.category


def test_illegal_false_is_kept_apart_from_not_stated():
    grounds = parse_policy(with_grounds(GROUNDS + "  illegal: false\n"), "p.yaml").grounds
    assert grounds.illegal is False


def test_illegal_content_takes_its_category():
    text = with_grounds(
        "  type: illegal_content\n  legal_ground: '§ 86 StGB'\n  category: violence\n"
    )
    grounds = parse_policy(text, "p.yaml").grounds
    assert (grounds.type, grounds.legal_ground, grounds.category) == (
        "illegal_content",
        "§ 86 StGB",
        "STATEMENT_CATEGORY_VIOLENCE",
    )


def test_illegal_content_needs_a_category():
    text = with_grounds("  type: illegal_content\n  legal_ground: '§ 86 StGB'\n")
    assert problems(text) == [
        "p.yaml:4: grounds: illegal_content needs a category "
        "(a DSA STATEMENT_CATEGORY_* key or its short form)"
    ]


def test_unknown_category():
    (message,) = problems(with_grounds(GROUNDS + "  category: terrorism\n"))
    assert message.startswith("p.yaml:6: grounds: unknown category 'terrorism' (use one of ")
    assert "risk_for_public_security" in message


def test_a_mixed_case_category_is_not_guessed():
    (message,) = problems(with_grounds(GROUNDS + "  category: Risk_For_Public_Security\n"))
    assert message.startswith("p.yaml:6: grounds: unknown category 'Risk_For_Public_Security'")


def test_unknown_keywords_are_reported_each_at_its_line():
    text = with_grounds(
        GROUNDS
        + "  keywords:\n    - terrorist_content\n    - KEYWORD_DISINFORMATION\n    - praise\n"
    )
    assert problems(text) == [
        "p.yaml:8: grounds: unknown keyword 'KEYWORD_DISINFORMATION' (use a DSA KEYWORD_* key "
        "or its short form, e.g. terrorist_content)",
        "p.yaml:9: grounds: unknown keyword 'praise' (use a DSA KEYWORD_* key "
        "or its short form, e.g. terrorist_content)",
    ]


@pytest.mark.parametrize(
    "url", ["ftp://example.social/terms", "example.social/terms", "https://", "https://a b/c"]
)
def test_reference_url_must_be_http_or_https(url: str):
    assert problems(with_grounds(GROUNDS + f"  reference_url: '{url}'\n")) == [
        f"p.yaml:6: grounds: reference_url '{url}' is not an http or https URL"
    ]


def test_reference_url_fits_the_database_field():
    url = "https://example.social/" + "t" * 480
    assert problems(with_grounds(GROUNDS + f"  reference_url: {url}\n")) == [
        "p.yaml:6: grounds: reference_url is longer than 500 characters"
    ]


def test_illegal_must_be_a_boolean_and_only_for_incompatible_content():
    assert problems(with_grounds(GROUNDS + "  illegal: sometimes\n")) == [
        "p.yaml:6: grounds: illegal must be true or false"
    ]
    text = with_grounds(
        "  type: illegal_content\n  legal_ground: 'x'\n  category: violence\n  illegal: true\n"
    )
    assert problems(text) == [
        "p.yaml:7: grounds: illegal is for incompatible_content "
        "(illegal_content is illegal already)"
    ]


def test_unknown_grounds_field_lists_the_new_ones():
    assert problems(with_grounds(GROUNDS + "  categroy: violence\n")) == [
        "p.yaml:6: grounds: unknown field 'categroy' (allowed: type, terms, legal_ground, "
        "category, keywords, reference_url, illegal)"
    ]


def test_the_example_policy_names_its_dsa_category(example_policy_path: Path):
    grounds = load_policy(example_policy_path).grounds
    assert grounds.category == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert grounds.keywords == ()
