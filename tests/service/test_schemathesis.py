"""Schemathesis against the app's own OpenAPI document, in process: generated valid and invalid
requests to every operation, each with a key of a role the operation admits, find no 5xx and
no response that breaks the document (status codes, content types, headers, schemas)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from arbiter.service import create_app, keys
from arbiter.store import Store
from tests.service.conftest import OWNERS, TEST_SETTINGS
from tests.store.helpers import HARMLESS, HASHTAG, PRAISE, policy, post, scan

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = 30  # per operation and phase: the whole run stays well under a minute


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    store = Store.open(f"sqlite:///{folder / 'arbiter.db'}")
    from arbiter.engine import Engine

    app = create_app(store, Engine(policy()), settings=TEST_SETTINGS)
    role_keys = {
        role: keys.create_key(store.engine, owner, role, actor="test")[1]
        for role, owner in OWNERS.items()
    }
    scan(
        store,
        policy(),
        [post(f"p{i}", text, f"u{i}") for i, text in enumerate([PRAISE, HASHTAG, HARMLESS] * 3)],
    )
    yield app, role_keys
    store.close()


def test_no_server_errors_and_no_schema_violations(fuzzed: tuple[Any, dict[str, str]]):
    app, role_keys = fuzzed
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)

    def key_for(case: Any) -> str | None:
        roles = case.operation.definition.raw.get("x-roles") or []
        # An admin key where the operation admits admins; else a key of a role it admits.
        role = "admin" if "admin" in roles else (roles[0] if roles else None)
        return role_keys[role] if role else None

    @loaded.auth(refresh_interval=None)
    class Keys:
        def get(self, case: Any, context: Any) -> str | None:
            return key_for(case)

        def set(self, case: Any, data: str | None, context: Any) -> None:
            if data is not None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    failures: list[str] = []
    ran = 0
    for result in loaded.get_all_operations():
        operation = result.ok()
        # A policy's validity is the policy checker's, not JSON Schema's: the document can
        # only say "a string", so schema-valid text is often (rightly) refused with 422.
        excluded = [positive_data_acceptance] if operation.label == "PUT /v1/policies" else []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, excluded)
                ran += 1
            except Unsatisfiable:  # nothing to make invalid: no parameters and no body
                assert mode is GenerationMode.NEGATIVE
            except BaseException as error:  # schemathesis' FailureGroup is a BaseExceptionGroup
                if not isinstance(error, Exception | BaseExceptionGroup):
                    raise
                failures.append(f"{operation.label} ({mode.value}): {error!r}"[:3000])
    assert not failures, "\n\n".join(failures)
    assert ran > 40


def _fuzz(operation: Any, mode: Any, excluded: list[Any]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        case.call_and_validate(excluded_checks=excluded)

    run()
