"""arbiter.report.dsa holds the schema's vocabulary exactly: any drift between them fails here."""

from __future__ import annotations

import pytest

from arbiter.report import dsa
from tests.report.sor_schema import PROPERTIES, SCHEMA, enum


@pytest.mark.parametrize(
    ("constant", "field"),
    [
        (dsa.DECISION_VISIBILITIES, "decision_visibility"),
        (dsa.DECISION_MONETARIES, "decision_monetary"),
        (dsa.DECISION_PROVISIONS, "decision_provision"),
        (dsa.DECISION_ACCOUNTS, "decision_account"),
        (dsa.ACCOUNT_TYPES, "account_type"),
        (dsa.DECISION_GROUNDS, "decision_ground"),
        (dsa.CONTENT_TYPES, "content_type"),
        (dsa.CATEGORIES, "category"),
        (dsa.CATEGORIES, "category_addition"),
        (dsa.KEYWORDS, "category_specification"),
        (dsa.SOURCE_TYPES, "source_type"),
        (dsa.AUTOMATED_DECISIONS, "automated_decision"),
        (dsa.YES_NO, "automated_detection"),
        (dsa.YES_NO, "incompatible_content_illegal"),
        (dsa.TERRITORIAL_CODES, "territorial_scope"),
        (dsa.LANGUAGES, "content_language"),
    ],
)
def test_enum_lists_equal_the_schema(constant: tuple[str, ...], field: str):
    assert list(constant) == enum(field)


def test_eu_and_eea_lists_equal_the_schema():
    assert list(dsa.EU_CODES) == PROPERTIES["territorial_scope"]["x-eu"]
    assert list(dsa.EEA_CODES) == PROPERTIES["territorial_scope"]["x-eea"]
    assert "GR" in dsa.EU_CODES and "EL" not in dsa.TERRITORIAL_CODES


def test_fields_are_the_schema_properties_in_order():
    assert list(dsa.FIELDS) == list(PROPERTIES)


def test_max_lengths_equal_the_schema():
    assert {
        field: spec["maxLength"] for field, spec in PROPERTIES.items() if "maxLength" in spec
    } == dsa.MAX_LENGTHS


def test_labels_equal_the_schema_labels():
    labels = {
        key: label
        for spec in PROPERTIES.values()
        for key, label in spec.get("x-labels", {}).items()
    }
    assert dsa.LABELS
    assert {key: labels[key] for key in dsa.LABELS} == dsa.LABELS


def test_date_bounds_and_limits_match_the_schema_descriptions():
    assert "2000-01-01..2038-01-01" in PROPERTIES["content_date"]["description"]
    assert "2020-01-01..2038-01-01" in PROPERTIES["application_date"]["description"]
    assert (dsa.CONTENT_DATE_MIN, dsa.APPLICATION_DATE_MIN, dsa.DATE_MAX) == (
        "2000-01-01",
        "2020-01-01",
        "2038-01-01",
    )
    batch = SCHEMA["$defs"]["statementsBatch"]["properties"]["statements"]
    assert batch["maxItems"] == dsa.BATCH_MAX
    assert PROPERTIES["puid"]["pattern"] == f"^{dsa.PUID_PATTERN.pattern}$"


def test_no_removed_legacy_key_is_offered():
    legacy = set(SCHEMA["$defs"]["legacyRemovedValues"]["enum"])
    assert not legacy & set(dsa.CATEGORIES + dsa.KEYWORDS)


def test_keys_are_found_from_their_short_form():
    assert dsa.category_key("risk_for_public_security") == (
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    )
    assert dsa.category_key("STATEMENT_CATEGORY_VIOLENCE") == "STATEMENT_CATEGORY_VIOLENCE"
    assert dsa.keyword_key("terrorist_content") == "KEYWORD_TERRORIST_CONTENT"
    assert dsa.keyword_key("KEYWORD_HATE_SPEECH") == "KEYWORD_HATE_SPEECH"


@pytest.mark.parametrize(
    "value",
    ["Risk_For_Public_Security", "RISK_FOR_PUBLIC_SECURITY", "risk for public security", "", "x"],
)
def test_other_spellings_are_not_keys(value: str):
    assert dsa.category_key(value) is None


def test_a_keyword_is_not_a_category_nor_the_reverse():
    assert dsa.category_key("terrorist_content") is None
    assert dsa.keyword_key("violence") is None
    assert dsa.short_form("KEYWORD_TERRORIST_CONTENT") == "terrorist_content"
