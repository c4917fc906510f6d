"""openapi.json at the repository's root is the app's OpenAPI document, current and complete."""

from __future__ import annotations

import json

from arbiter.service.app import openapi_json
from tests.conftest import ROOT

STORED = ROOT / "openapi.json"


def test_openapi_json_is_current():
    assert STORED.read_text(encoding="utf-8") == openapi_json(), (
        "openapi.json is stale: run `arbiter openapi -o openapi.json` and commit it"
    )


def test_every_operation_documents_its_roles_responses_and_errors():
    document = json.loads(openapi_json())
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert "x-roles" in operation, where
            assert operation["summary"] and operation["description"].startswith("**Roles:**")
            codes = set(operation["responses"])
            assert any(code.startswith("2") for code in codes), where
            if operation["x-roles"]:
                assert {"401", "403", "429"} <= codes, where
                assert operation.get("security") == [{"ApiKey": []}], where
            else:
                assert operation["security"] == [], where
            if "requestBody" in operation:
                assert {"413", "422"} <= codes, where
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (where, code)
    assert "HTTPValidationError" not in document["components"]["schemas"]
