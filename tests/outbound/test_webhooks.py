"""The outbox: one row per subscribed endpoint and decision, in the decision's own transaction."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select

from arbiter.model import Decision
from arbiter.outbound.webhooks import (
    WebhookError,
    add_endpoint,
    endpoints,
    enqueue_decisions,
    remove_endpoint,
    signature_header,
    verify_signature,
    webhooks_router,
)
from arbiter.policy.enforcement import Enforcement
from arbiter.store import Store
from arbiter.store.effects import write_decisions
from arbiter.store.records import decision_row
from arbiter.store.schema import outbox
from tests.outbound.helpers import SECRET, effects_enqueue, strict
from tests.store.helpers import HARMLESS, HASHTAG, PRAISE, policy, post, scan

BODY = b'{"event":"decision","decision":{"id":1,"action":"remove"}}'


def rows(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        found = connection.execute(select(outbox).order_by(outbox.c.id)).all()
    return [dict(row._mapping, payload=json.loads(row.payload)) for row in found]


# Signatures ----------------------------------------------------------------------------------


def test_a_signature_verifies_the_exact_body_it_was_made_for() -> None:
    header = signature_header(SECRET, BODY)
    assert header.startswith("t=") and ",v1=" in header
    assert verify_signature(SECRET, header, BODY)
    assert verify_signature(SECRET, header, BODY.decode())  # str or bytes, the same text


def test_a_tampered_body_is_rejected() -> None:
    header = signature_header(SECRET, BODY)
    assert not verify_signature(SECRET, header, BODY.replace(b"remove", b"allow!"))
    assert not verify_signature(SECRET, header, BODY + b" ")


def test_an_old_or_future_timestamp_is_rejected() -> None:
    now = int(time.time())
    old = signature_header(SECRET, BODY, now - 301)
    assert not verify_signature(SECRET, old, BODY)
    assert verify_signature(SECRET, old, BODY, tolerance=600)
    assert not verify_signature(SECRET, signature_header(SECRET, BODY, now + 301), BODY)
    assert verify_signature(SECRET, signature_header(SECRET, BODY, now - 299), BODY)


def test_a_moved_timestamp_breaks_the_signature() -> None:
    t = int(time.time())
    header = signature_header(SECRET, BODY, t)
    replayed = header.replace(f"t={t}", f"t={t + 1}")
    assert not verify_signature(SECRET, replayed, BODY)


def test_wrong_secret_and_malformed_headers_are_rejected() -> None:
    header = signature_header(SECRET, BODY)
    assert not verify_signature("whsec_someone-else-entirely", header, BODY)
    for bad in (None, "", "v1=abc", "t=now,v1=abc", f"t={int(time.time())}", "garbage"):
        assert not verify_signature(SECRET, bad, BODY)
    assert not verify_signature("", header, BODY)


def test_any_one_of_several_signatures_may_match() -> None:
    t = int(time.time())
    header = signature_header(SECRET, BODY, t)
    rotated = f"t={t},v1={'0' * 64},{header.split(',')[1]}"
    assert verify_signature(SECRET, rotated, BODY)


# The registry --------------------------------------------------------------------------------


def test_endpoints_are_registered_listed_and_removed(store: Store) -> None:
    added = add_endpoint(store, "https://example.org/hook", ["decision", "reversal"])
    assert added.secret.startswith("whsec_") and len(added.secret) > 40
    assert "secret" not in repr(added)
    assert [e.url for e in endpoints(store)] == ["https://example.org/hook"]
    remove_endpoint(store, added.id)
    assert endpoints(store) == []
    assert [e.active for e in endpoints(store, include_inactive=True)] == [False]
    with pytest.raises(WebhookError, match="already removed"):
        remove_endpoint(store, added.id)
    kinds = [e.kind for e in _audit(store)]
    assert kinds[-2:] == ["webhook.added", "webhook.removed"]
    assert store.verify_audit().ok


def test_bad_endpoints_are_refused(store: Store) -> None:
    with pytest.raises(WebhookError, match="http"):
        add_endpoint(store, "ftp://example.org/")
    with pytest.raises(WebhookError, match="unknown event 'decisions'"):
        add_endpoint(store, "https://example.org/", ["decisions"])
    with pytest.raises(WebhookError, match="at least 16"):
        add_endpoint(store, "https://example.org/", secret="short")
    with pytest.raises(WebhookError, match="no webhook endpoint 9"):
        remove_endpoint(store, 9)


def _audit(store: Store) -> list[object]:
    from arbiter.store.audit import entries

    with store.engine.connect() as connection:
        return list(entries(connection))


# Enqueueing ----------------------------------------------------------------------------------


def test_every_live_decision_queues_one_row_per_subscribed_endpoint(store: Store) -> None:
    every = add_endpoint(store, "https://a.example/hook", secret=SECRET)
    only_reversals = add_endpoint(store, "https://b.example/hook", ["reversal"], secret=SECRET)
    scan(store, policy(), [post("a", PRAISE), post("b", HASHTAG), post("c", HARMLESS)])
    queued = rows(store)
    assert [(r["endpoint_id"], r["event"], r["status"], r["attempts"]) for r in queued] == [
        (every.id, "decision", "pending", 0)
    ] * 3
    assert all(r["next_attempt_at"] == r["created_at"] for r in queued)  # due at once
    payloads = [r["payload"] for r in queued]
    assert [(p["post_id"], p["decision"]["action"]) for p in payloads] == [
        ("a", "review"),
        ("b", "restrict"),
        ("c", "allow"),
    ]
    stored = store.decisions_of("b")[0]
    first = payloads[1]
    assert first["decision"] == stored.as_dict()
    assert first["account_id"] == "u1" and first["subject"] == "post"
    assert first["id"].startswith("evt_") and first["delivery"].startswith("dlv_")
    assert len({p["delivery"] for p in payloads}) == 3
    assert only_reversals.id not in {r["endpoint_id"] for r in queued}


def test_shadow_decisions_send_nothing(store: Store) -> None:
    add_endpoint(store, "https://a.example/hook")
    scan(store, policy(2), [post("a", PRAISE)], mode="shadow")
    assert store.count("decisions") == 1 and rows(store) == []


def test_without_endpoints_nothing_is_queued(store: Store) -> None:
    scan(store, policy(), [post("a", PRAISE)])
    assert store.count("outbox") == 0


def test_a_removed_endpoint_gets_nothing_new_and_its_pending_rows_die(store: Store) -> None:
    gone = add_endpoint(store, "https://a.example/hook")
    scan(store, policy(), [post("a", PRAISE)])
    remove_endpoint(store, gone.id)
    scan(store, policy(), [post("b", PRAISE)])
    assert [(r["status"], r["last_error"]) for r in rows(store)] == [
        ("dead", "the endpoint was removed")
    ]


def test_a_reversal_says_what_it_reversed(store: Store) -> None:
    add_endpoint(store, "https://a.example/hook")
    scan(store, policy(), [post("b", HASHTAG, author="u7")])
    restricted = store.decisions_of("b")[0]
    appeal = store.file_appeal(restricted.id, "u7", "a news report")
    store.decide_appeal(appeal, "m2", "overturned", "reporting, not a campaign")
    last = rows(store)[-1]
    assert last["event"] == "reversal"
    payload = last["payload"]
    assert payload["decision"]["action"] == "allow"
    assert payload["decision"]["supersedes"] == restricted.id
    assert payload["reversed"]["id"] == restricted.id
    assert payload["reversed"]["status"] == "reversed"
    assert payload["post_id"] == "b" and payload["account_id"] == "u7"


def test_a_confirmed_review_is_a_decision_not_a_reversal(store: Store) -> None:
    add_endpoint(store, "https://a.example/hook")
    scan(store, policy(), [post("a", PRAISE)])
    item = store.review_queue()[0]
    store.decide_review(item.review_id, "m1", "remove", "praise")
    assert [r["event"] for r in rows(store)] == ["decision", "decision"]
    assert rows(store)[-1]["payload"]["decision"]["supersedes"] == item.decision.id


def test_suspensions_and_their_lifting_are_sent(store: Store) -> None:
    add_endpoint(store, "https://a.example/hook")
    scan(store, strict(suspend_after=2), [post("a", PRAISE, author="u9")])
    scan(store, strict(suspend_after=2), [post("b", PRAISE, author="u9")])
    events = [(r["event"], r["payload"]["subject"]) for r in rows(store)]
    assert events == [("decision", "post"), ("decision", "post"), ("suspension", "account")]
    suspension = rows(store)[-1]["payload"]
    assert suspension["account_id"] == "u9" and suspension["post_id"] is None
    assert suspension["decision"]["restriction_until"].startswith("2026-12-25")
    appeal = store.file_appeal(store.decisions_of("b")[0].id, "u9", "")
    store.decide_appeal(appeal, "m2", "overturned", "not praise")
    tail = [(r["event"], r["payload"]["subject"]) for r in rows(store)[-2:]]
    assert tail == [("reversal", "post"), ("reversal", "account")]
    lifted = rows(store)[-1]["payload"]
    assert lifted["reversed"]["action"] == "suspend"


def test_the_outbox_commits_and_rolls_back_with_the_decision(store: Store) -> None:
    """Inside write_decisions' transaction, as arbiter.store.effects calls it."""
    add_endpoint(store, "https://a.example/hook")
    store.save_policy(policy())
    at = "2026-11-25T10:00:00Z"

    def write(connection: Connection, post_id: str) -> None:
        decision = Decision(post_id, "remove", "dangerous-individuals", 1, "r", at)
        row = decision_row(decision, mode="live", content="h", status="in_force")
        written = write_decisions(connection, [row], Enforcement(), at)
        if not effects_enqueue():  # until the hook is wired into write_decisions itself
            assert enqueue_decisions(connection, written, at) == 1

    with pytest.raises(RuntimeError), store.engine.begin() as connection:
        write(connection, "x")
        assert connection.execute(select(func.count()).select_from(outbox)).scalar() == 1
        raise RuntimeError("the process dies before the commit")
    assert store.count("decisions") == 0 and store.count("outbox") == 0
    with store.engine.begin() as connection:
        write(connection, "y")
    assert store.count("decisions") == 1 and store.count("outbox") == 1


# HTTP ----------------------------------------------------------------------------------------


def test_the_router_manages_endpoints_and_shows_failures(store: Store) -> None:
    app = FastAPI()
    app.include_router(webhooks_router(store))
    client = TestClient(app)
    created = client.post(
        "/v1/webhooks", json={"url": "https://a.example/h", "events": ["reversal"]}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["reversal"]
    listed = client.get("/v1/webhooks").json()
    assert listed == [
        {
            "id": body["id"],
            "url": "https://a.example/h",
            "events": ["reversal"],
            "active": True,
            "created_at": body["created_at"],
            "deliveries": {},
        }
    ]
    assert client.post("/v1/webhooks", json={"url": "mailto:x"}).status_code == 422
    assert client.get("/v1/webhooks/deliveries/failing").json() == []
    assert client.delete(f"/v1/webhooks/{body['id']}").json()["active"] is False
    assert client.delete("/v1/webhooks/99").status_code == 404
    assert client.post("/v1/webhooks/deliveries/5/retry").status_code == 409


def test_the_router_logs_the_callers_key_as_the_actor(store: Store) -> None:
    async def as_ops(request: Request) -> None:  # what arbiter.service.auth.require leaves
        request.state.principal = SimpleNamespace(owner="ops", role="admin")

    app = FastAPI()
    app.include_router(webhooks_router(store, dependencies=[Depends(as_ops)]))
    created = TestClient(app).post("/v1/webhooks", json={"url": "https://a.example/h"})
    assert created.json()["events"] == ["decision", "reversal", "suspension"]
    added = _audit(store)[-1]
    assert (added.kind, added.actor) == ("webhook.added", "admin:ops")
