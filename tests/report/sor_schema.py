"""The DSA statement-of-reasons schema and checks against it, shared by the report tests.

The schema is ../shared/dsa/statement-of-reasons.schema.json beside the repository (a hand
transcription of the Transparency Database's validation rules), read where it lies so that a
correction there reaches these tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_PATH = (
    Path(__file__).resolve().parents[3] / "shared" / "dsa" / "statement-of-reasons.schema.json"
)
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
PROPERTIES: dict[str, Any] = SCHEMA["properties"]
EEA = set(PROPERTIES["territorial_scope"]["x-eea"])

STATEMENT_VALIDATOR = Draft202012Validator(
    SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
)
BATCH_VALIDATOR = Draft202012Validator(
    {"$ref": SCHEMA["$id"] + "#/$defs/statementsBatch"},
    registry=Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA)),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)


def enum(field: str) -> list[str]:
    """The allowed values of `field`, wherever the schema puts them."""
    spec = PROPERTIES[field]
    if "enum" in spec:
        return list(spec["enum"])
    if "items" in spec:
        return list(spec["items"]["enum"])
    (choice,) = [option for option in spec["oneOf"] if "enum" in option]
    return list(choice["enum"])


def schema_errors(statement: Any) -> list[str]:
    """Every way `statement` breaks the schema (format checks on), as readable lines."""
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(statement)'}: {e.message}"
        for e in STATEMENT_VALIDATOR.iter_errors(statement)
    ]
    # jsonschema checks "uri" only with an optional package installed: checked here instead.
    url = statement.get("decision_ground_reference_url") if isinstance(statement, dict) else None
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(f"decision_ground_reference_url: {url!r} is not a URL")
    return errors


def conditional_errors(statement: dict[str, Any]) -> list[str]:
    """The rules the database applies beyond types and enums, field by field."""
    errors = []
    illegal = ("illegal_content_legal_ground", "illegal_content_explanation")
    incompatible = (
        "incompatible_content_ground",
        "incompatible_content_explanation",
        "incompatible_content_illegal",
    )
    if statement["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT":
        required, excluded = illegal, incompatible
    else:
        required, excluded = incompatible[:2], illegal
    errors += [f"{k} is missing or empty" for k in required if not statement.get(k)]
    errors += [f"{k} is given for the other ground" for k in excluded if k in statement]
    if statement["source_type"] == "SOURCE_VOLUNTARY" and "source_identity" in statement:
        errors.append("source_identity is given for an own-initiative decision")
    errors += [
        f"territorial_scope: {code} is not EU/EEA"
        for code in statement.get("territorial_scope") or []
        if code not in EEA
    ]
    restrictions = (
        "decision_visibility",
        "decision_monetary",
        "decision_provision",
        "decision_account",
    )
    if not any(statement.get(k) for k in restrictions):
        errors.append("no restriction is given")
    return errors
