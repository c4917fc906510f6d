"""Every endpoint against every role, and against missing, malformed, wrong and revoked keys.

The table is checked against the app's routes: an endpoint added without a declared
role, or without a row here, fails `test_every_route_declares_roles_and_is_tested`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import create_engine, select

from arbiter.service import create_app, keys
from arbiter.service.app import endpoints
from arbiter.service.auth import ROLES, Principal, require, route_requirement
from arbiter.store import Store
from arbiter.store.database import reading
from arbiter.store.schema import api_keys
from tests.service.conftest import Api, TestClient
from tests.store.helpers import POLICY_TEXT

Request = tuple[str, dict[str, Any]]  # path, keyword arguments of the client's request


def _evaluate(api: Api) -> Request:
    return "/v1/posts:evaluate", {"json": {"id": api.post_id(), "text": "حاج قاسم سلیمانی"}}


def _batch(api: Api) -> Request:
    return "/v1/posts:batch", {"json": {"posts": [{"id": api.post_id(), "text": "hello"}]}}


def _batch_status(api: Api) -> Request:
    response = api.call("POST", *_batch(api)[:1], "ingest", **_batch(api)[1])
    assert response.status_code == 202, response.text
    return response.json()["status_url"], {}


def _decision(api: Api) -> Request:
    return f"/v1/decisions/{api.restricted().id}", {}


def _post_decisions(api: Api) -> Request:
    return f"/v1/posts/{api.restricted().decision.post_id}/decisions", {}


def _statement(api: Api) -> Request:
    return f"/v1/decisions/{api.restricted().puid}/statement", {}


def _notice(api: Api) -> Request:
    return f"/v1/decisions/{api.restricted().id}/notice", {}


def _decide_review(api: Api) -> Request:
    body = {"action": "allow", "reason": "news reporting"}
    return f"/v1/reviews/{api.review()}:decide", {"json": body}


def _file_appeal(api: Api) -> Request:
    decision = api.restricted("u9")
    return f"/v1/decisions/{decision.id}/appeals", {"json": {"filed_by": "u9", "statement": "!"}}


def _decide_appeal(api: Api) -> Request:
    body = {"outcome": "upheld", "reason": "praise, not reporting"}
    return f"/v1/appeals/{api.appeal()}:decide", {"json": body}


def _upload_policy(api: Api) -> Request:
    return "/v1/policies", {"content": POLICY_TEXT, "headers": {"Content-Type": "application/yaml"}}


def _authority(api: Api) -> Request:
    post_id = api.allowed().decision.post_id
    body = {
        "authority": "Bundeskriminalamt",
        "legal_basis": "§ 86a StGB",
        "reference": "BKA-1",
        "issued_on": "2026-11-20",
        "action": "restrict",
        "territorial_scope": ["DE"],
        "posts": [post_id],
    }
    return "/v1/authority-requests", {"json": body}


def _revoke(api: Api) -> Request:
    created, _ = keys.create_key(api.store.engine, "temp", "ingest", actor="test")
    return f"/v1/keys/{created.prefix}:revoke", {}


def _plain(path: str) -> Callable[[Api], Request]:
    return lambda api: (path, {})


# (method, route path) -> (request maker, status when allowed)
CASES: dict[tuple[str, str], tuple[Callable[[Api], Request], int]] = {
    ("POST", "/v1/posts:evaluate"): (_evaluate, 201),
    ("POST", "/v1/posts:batch"): (_batch, 202),
    ("GET", "/v1/batches/{batch_id}"): (_batch_status, 200),
    ("GET", "/v1/decisions/{ref}"): (_decision, 200),
    ("GET", "/v1/posts/{post_id}/decisions"): (_post_decisions, 200),
    ("GET", "/v1/decisions/{ref}/statement"): (_statement, 200),
    ("GET", "/v1/decisions/{ref}/notice"): (_notice, 200),
    ("GET", "/v1/reviews"): (_plain("/v1/reviews"), 200),
    ("POST", "/v1/reviews/{review_id}:decide"): (_decide_review, 200),
    ("POST", "/v1/decisions/{ref}/appeals"): (_file_appeal, 201),
    ("POST", "/v1/appeals/{appeal_id}:decide"): (_decide_appeal, 200),
    ("GET", "/v1/appeals"): (_plain("/v1/appeals"), 200),
    ("PUT", "/v1/policies"): (_upload_policy, 200),
    ("GET", "/v1/policies"): (_plain("/v1/policies"), 200),
    ("GET", "/v1/policies/{policy_id}/{version}"): (
        _plain("/v1/policies/dangerous-individuals/1"),
        200,
    ),
    ("POST", "/v1/authority-requests"): (_authority, 201),
    ("GET", "/v1/authority-requests"): (_plain("/v1/authority-requests"), 200),
    ("GET", "/v1/audit"): (_plain("/v1/audit"), 200),
    ("GET", "/v1/audit:verify"): (_plain("/v1/audit:verify"), 200),
    ("POST", "/v1/keys"): (
        lambda api: ("/v1/keys", {"json": {"owner": "bob", "role": "auditor"}}),
        201,
    ),
    ("GET", "/v1/keys"): (_plain("/v1/keys"), 200),
    ("POST", "/v1/keys/{prefix}:revoke"): (_revoke, 200),
    ("GET", "/v1/me"): (_plain("/v1/me"), 200),
    ("GET", "/healthz"): (_plain("/healthz"), 200),
    ("GET", "/readyz"): (_plain("/readyz"), 200),
    ("GET", "/metrics"): (_plain("/metrics"), 200),
}

# The roles each endpoint admits, as documented in the README; the app must agree.
EXPECTED_ROLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/v1/posts:evaluate"): ("ingest",),
    ("POST", "/v1/posts:batch"): ("ingest",),
    ("GET", "/v1/batches/{batch_id}"): ("ingest",),
    ("GET", "/v1/decisions/{ref}"): ("ingest", "moderator", "auditor"),
    ("GET", "/v1/posts/{post_id}/decisions"): ("ingest", "moderator", "auditor"),
    ("GET", "/v1/decisions/{ref}/statement"): ("ingest", "moderator", "auditor"),
    ("GET", "/v1/decisions/{ref}/notice"): ("ingest", "moderator", "auditor"),
    ("GET", "/v1/reviews"): ("moderator",),
    ("POST", "/v1/reviews/{review_id}:decide"): ("moderator",),
    ("POST", "/v1/decisions/{ref}/appeals"): ("ingest", "moderator"),
    ("POST", "/v1/appeals/{appeal_id}:decide"): ("moderator",),
    ("GET", "/v1/appeals"): ("moderator", "auditor"),
    ("PUT", "/v1/policies"): ("admin",),
    ("GET", "/v1/policies"): ("admin", "moderator", "auditor"),
    ("GET", "/v1/policies/{policy_id}/{version}"): ("admin", "moderator", "auditor"),
    ("POST", "/v1/authority-requests"): ("admin",),
    ("GET", "/v1/authority-requests"): ("admin", "auditor"),
    ("GET", "/v1/audit"): ("auditor",),
    ("GET", "/v1/audit:verify"): ("auditor",),
    ("POST", "/v1/keys"): ("admin",),
    ("GET", "/v1/keys"): ("admin",),
    ("POST", "/v1/keys/{prefix}:revoke"): ("admin",),
    ("GET", "/v1/me"): ROLES,
    ("GET", "/healthz"): (),
    ("GET", "/readyz"): (),
    ("GET", "/metrics"): (),
}

BAD_CALLERS = ("no key", "malformed key", "wrong secret", "revoked key", "basic auth")


def _routes() -> dict[tuple[str, str], Any]:
    app = create_app(Store(create_engine("sqlite://")))
    return {(e.method, e.path): e.route for e in endpoints(app)}


def test_every_route_declares_roles_and_is_tested():
    routes = _routes()
    undeclared = [key for key, route in routes.items() if route_requirement(route) is None]
    assert not undeclared, f"routes without require(...) or public(): {undeclared}"
    assert set(routes) == set(CASES), "add a row to CASES for every endpoint (and remove old ones)"
    declared = {key: route_requirement(route).roles for key, route in routes.items()}
    assert declared == EXPECTED_ROLES


def test_admin_does_not_moderate_and_nobody_holds_every_role():
    for role in ROLES:
        admitted = [key for key, roles in EXPECTED_ROLES.items() if role in roles]
        assert len(admitted) < len([k for k, r in EXPECTED_ROLES.items() if r]), role
    assert "admin" not in EXPECTED_ROLES[("POST", "/v1/reviews/{review_id}:decide")]
    assert "admin" not in EXPECTED_ROLES[("POST", "/v1/appeals/{appeal_id}:decide")]
    assert "admin" not in EXPECTED_ROLES[("GET", "/v1/audit")]


def _bad_headers(api: Api, caller: str, revoked: str) -> dict[str, str]:
    valid = api.keys["admin"]
    prefix = keys.parse_key(valid)
    assert prefix is not None
    return {
        "no key": {},
        "malformed key": {"Authorization": "Bearer arb_not-a-key"},
        "wrong secret": {"Authorization": f"Bearer arb_{prefix[0]}_{secrets.token_urlsafe(32)}"},
        "revoked key": {"Authorization": f"Bearer {revoked}"},
        "basic auth": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    }[caller]


@pytest.mark.parametrize("endpoint", list(CASES), ids=lambda e: f"{e[0]} {e[1]}")
def test_every_endpoint_with_every_caller(api: Api, endpoint: tuple[str, str]):
    method, _ = endpoint
    make, allowed_status = CASES[endpoint]
    roles = EXPECTED_ROLES[endpoint]
    created, revoked = keys.create_key(api.store.engine, "gone", "admin", actor="test")
    keys.revoke_key(api.store.engine, created.prefix, actor="test")
    wrong: list[str] = []
    for caller in (*ROLES, *BAD_CALLERS):
        path, kwargs = make(api)
        if caller in ROLES:
            response = api.call(method, path, caller, **kwargs)
            expected = allowed_status if (caller in roles or not roles) else 403
        else:
            headers = {**kwargs.pop("headers", {}), **_bad_headers(api, caller, revoked)}
            response = api.client.request(method, path, headers=headers, **kwargs)
            expected = allowed_status if not roles else 401
            if expected == 401 and response.headers.get("www-authenticate") is None:
                wrong.append(f"{caller}: 401 without WWW-Authenticate")
        if response.status_code != expected:
            wrong.append(
                f"{caller}: {response.status_code} (expected {expected}) {response.text[:200]}"
            )
        elif expected in (401, 403):
            body = response.json()
            assert body["error"] in ("unauthorized", "forbidden") and body["message"]
    assert not wrong, f"{method} {endpoint[1]}:\n" + "\n".join(wrong)


def test_a_key_revoked_from_the_command_line_is_refused_by_a_running_service(api: Api):
    created, key = keys.create_key(api.store.engine, "carol", "auditor", actor="test")
    assert api.client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    keys.revoke_key(api.store.engine, created.prefix, actor="cli")
    response = api.client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


def test_keys_are_stored_hashed_and_listed_without_secrets(api: Api):
    response = api.call("POST", "/v1/keys", "admin", json={"owner": "dave", "role": "moderator"})
    assert response.status_code == 201
    key = response.json()["key"]
    assert keys.parse_key(key) is not None and len(key.split("_", 2)[2]) == 43
    listed = api.call("GET", "/v1/keys", "admin").json()
    assert key not in str(listed) and {"prefix", "owner", "role"} <= set(listed[-1])
    with reading(api.store.engine) as connection:
        rows = connection.execute(select(api_keys.c.secret_hash)).scalars().all()
    assert keys.hash_key(key) in rows and all(key not in row for row in rows)
    assert api.call("GET", "/v1/me", headers={"Authorization": f"Bearer {key}"}).json() == {
        "owner": "dave",
        "role": "moderator",
        "prefix": response.json()["prefix"],
    }
    entries = [e for e in _audit(api) if e["kind"] == "api_key"]
    assert entries[-1]["actor"] == "admin:admin-1"
    assert entries[-1]["payload"] == {"action": "created", "owner": "dave", "role": "moderator"}


def _audit(api: Api) -> list[dict[str, Any]]:
    out, after = [], 0
    while True:
        page = api.call("GET", f"/v1/audit?after={after}&limit=1000", "auditor").json()
        out += page["entries"]
        if page["next_after"] is None:
            return out
        after = page["next_after"]


def test_extra_routers_slot_in_with_their_roles(store: Store):
    banks = APIRouter(prefix="/v1/banks", tags=["banks"])

    @banks.get("")
    def list_banks(who: Annotated[Principal, Depends(require("admin"))]) -> list[str]:
        return [who.owner]

    app = create_app(store, None, routers=[banks])
    (endpoint,) = [e for e in endpoints(app) if e.path == "/v1/banks"]
    requirement = route_requirement(endpoint.route)
    assert requirement is not None and requirement.roles == ("admin",)
    assert app.openapi()["paths"]["/v1/banks"]["get"]["x-roles"] == ["admin"]
    _, admin = keys.create_key(store.engine, "ops", "admin", actor="test")
    _, auditor = keys.create_key(store.engine, "aud", "auditor", actor="test")
    with TestClient(app) as client:
        assert client.get("/v1/banks", headers={"Authorization": f"Bearer {admin}"}).json() == [
            "ops"
        ]
        assert (
            client.get("/v1/banks", headers={"Authorization": f"Bearer {auditor}"}).status_code
            == 403
        )
