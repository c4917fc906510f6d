"""The HTTP API end to end over a real store (SQLite and PostgreSQL): posts in, decisions out,
people deciding, policies switched without a restart, the record and its audit trail."""

from __future__ import annotations

import time
from typing import Any

import pytest

from arbiter.store import Store
from tests.service.conftest import Api, TestClient, make_app
from tests.store.helpers import HARMLESS, HASHTAG, POLICY_TEXT, PRAISE

PERSIAN = "سردار دلها حاج قاسم سلیمانی را فراموش نمی‌کنیم"


def audit(api: Api) -> list[dict[str, Any]]:
    out, after = [], 0
    while True:
        page = api.call("GET", f"/v1/audit?after={after}&limit=7", "auditor").json()
        out += page["entries"]
        if page["next_after"] is None:
            return out
        after = page["next_after"]


def test_a_persian_post_is_decided_recorded_and_idempotent(api: Api):
    body = {"id": "fa-1", "text": PERSIAN, "lang": "fa", "author": {"id": "u5", "country": "IR"}}
    first = api.call("POST", "/v1/posts:evaluate", "ingest", json=body)
    assert first.status_code == 201, first.text
    decision = first.json()
    assert decision["action"] == "review" and decision["status"] == "pending_review"
    assert decision["policy"] == "dangerous-individuals" and decision["policy_version"] == 1
    assert {m["entity"] for m in decision["matches"]} == {"qs"}
    for match in decision["matches"]:
        start, end = match["span"]
        assert PERSIAN[start:end] == match["matched"]
    again = api.call("POST", "/v1/posts:evaluate", "ingest", json=body)
    assert again.status_code == 200 and again.json() == decision
    assert api.store.count("decisions") == 1
    stored = api.call("GET", f"/v1/decisions/{decision['puid']}", "auditor").json()
    assert stored == decision
    assert api.call("GET", f"/v1/decisions/{decision['id']}", "ingest").json() == decision
    history = api.call("GET", "/v1/posts/fa-1/decisions", "moderator").json()
    assert [d["id"] for d in history] == [decision["id"]]
    # An edited post is new content: decided again.
    edited = api.call("POST", "/v1/posts:evaluate", "ingest", json={**body, "text": "سلام"})
    assert edited.status_code == 201 and edited.json()["action"] == "allow"
    assert edited.json()["id"] != decision["id"]
    submissions = [e for e in audit(api) if e["kind"] == "submission"]
    assert [e["subject"] for e in submissions] == ["post:fa-1", "post:fa-1"]
    assert {e["actor"] for e in submissions} == {"ingest:platform-1"}


def test_numeric_post_ids_and_unknown_fields_are_accepted(api: Api):
    response = api.call("POST", "/v1/posts:evaluate", "ingest", json={"id": 42, "extra": [1]})
    assert response.status_code == 201 and response.json()["post_id"] == "42"


def test_a_batch_is_accepted_at_once_and_decided_in_the_background(api: Api):
    posts = [{"id": f"b{i}", "text": [PRAISE, HASHTAG, HARMLESS][i % 3]} for i in range(250)]
    accepted = api.call("POST", "/v1/posts:batch", "ingest", json={"posts": posts})
    assert accepted.status_code == 202, accepted.text
    batch = accepted.json()
    assert batch["total"] == 250 and batch["state"] in ("queued", "running", "done")
    status = _wait(api, batch["status_url"])
    assert status["state"] == "done" and status["decided"] == 250
    assert status["submitted_by"] == "ingest:platform-1"
    assert [i["post_id"] for i in status["items"]] == [p["id"] for p in posts]
    actions = [i["action"] for i in status["items"]]
    assert actions[:3] == ["review", "restrict", "allow"]
    first = status["items"][0]
    assert (
        api.call("GET", f"/v1/decisions/{first['decision_id']}", "ingest").json()["puid"]
        == (first["puid"])
    )
    # Another worker process (another app on the same store) reads the progress from the store.
    other = make_app(api.store)
    with TestClient(other) as client:
        seen = client.get(batch["status_url"], headers=api.auth("ingest")).json()
    assert seen["state"] == "done" and seen["decided"] == 250
    assert seen["items"] == status["items"]
    # Resubmitting decides nothing twice.
    again = api.call("POST", "/v1/posts:batch", "ingest", json={"posts": posts[:10]})
    assert _wait(api, again.json()["status_url"])["items"] == status["items"][:10]
    assert api.store.count("decisions") == 250
    kinds = [e["kind"] for e in audit(api)]
    assert kinds.count("batch") == 2
    assert api.call("GET", "/v1/batches/999-abc", "ingest").status_code == 404
    assert api.call("GET", "/v1/batches/1-00", "ingest").status_code == 404


def _wait(api: Api, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status = api.call("GET", url, "ingest").json()
        if status["state"] in ("done", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_a_batch_is_limited_in_size_and_validated_whole(api: Api):
    too_many = [{"id": f"x{i}"} for i in range(1001)]
    response = api.call("POST", "/v1/posts:batch", "ingest", json={"posts": too_many})
    assert response.status_code == 422
    assert "at most 1000" in response.json()["message"]
    bad = api.call("POST", "/v1/posts:batch", "ingest", json={"posts": [{"id": "a"}, {"x": 1}]})
    assert bad.status_code == 422
    assert bad.json()["problems"] == [{"location": "body.posts.1.id", "message": "is required"}]
    assert api.store.count("posts") == 0


def test_unknown_decisions_and_odd_references_are_404(api: Api):
    for ref in ("999", "0", "99999999999999999999", "arb-nothing", "²", "%C2%B2"):
        response = api.call("GET", f"/v1/decisions/{ref}", "auditor")
        assert response.status_code in (404, 422), (ref, response.status_code)
    assert api.call("GET", "/v1/posts/nobody/decisions", "auditor").status_code == 404


def test_the_review_queue_and_a_moderators_outcome(api: Api):
    review_id = api.review()
    queue = api.call("GET", "/v1/reviews", "moderator").json()
    (item,) = [i for i in queue if i["review_id"] == review_id]
    assert item["reason"] == "rule" and item["post"]["text"] == PRAISE
    body = {"action": "remove", "reason": "praise of a designated person"}
    decided = api.call("POST", f"/v1/reviews/{review_id}:decide", "moderator", json=body)
    assert decided.status_code == 200, decided.text
    new = decided.json()["decision"]
    assert new["actor"] == "moderator:mod-1" and not new["automated"]
    assert new["supersedes"] == item["decision"]["id"] and new["reason"] == body["reason"]
    again = api.call("POST", f"/v1/reviews/{review_id}:decide", "moderator", json=body)
    assert again.status_code == 409 and "already closed" in again.json()["message"]
    missing = api.call("POST", "/v1/reviews/99999:decide", "moderator", json=body)
    assert missing.status_code == 404
    entry = [e for e in audit(api) if e["kind"] == "review"][-1]
    assert entry["actor"] == "moderator:mod-1"
    invalid = api.call(
        "POST", f"/v1/reviews/{api.review()}:decide", "moderator", json={"action": "delete"}
    )
    assert invalid.status_code == 422
    assert {p["location"] for p in invalid.json()["problems"]} == {"body.action", "body.reason"}


def test_appeals_filed_by_the_author_and_decided_by_another_moderator(api: Api):
    decision = api.restricted("u3")
    path = f"/v1/decisions/{decision.id}/appeals"
    wrong = api.call("POST", path, "ingest", json={"filed_by": "u4", "statement": "me"})
    assert wrong.status_code == 409 and "only the author" in wrong.json()["message"]
    filed = api.call("POST", path, "ingest", json={"filed_by": "u3", "statement": "news"})
    assert filed.status_code == 201
    appeal_id = filed.json()["appeal_id"]
    assert api.call("POST", path, "ingest", json={"filed_by": "u3"}).status_code == 409
    listed = api.call("GET", "/v1/appeals?status=open", "auditor").json()
    assert [a["id"] for a in listed] == [appeal_id]
    assert api.call("GET", f"/v1/appeals?after={appeal_id}", "auditor").json() == []
    relayed = [e for e in audit(api) if e["kind"] == "appeal.relayed"]
    assert relayed[-1]["actor"] == "ingest:platform-1"
    body = {"outcome": "overturned", "reason": "reporting, not praise", "action": "allow"}
    decided = api.call("POST", f"/v1/appeals/{appeal_id}:decide", "moderator", json=body)
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"]["action"] == "allow"
    assert api.store.post_state(decision.decision.post_id) == "visible"
    assert api.call("GET", "/v1/appeals?status=decided", "moderator").json()[0]["id"] == appeal_id


def test_a_moderator_may_not_decide_an_appeal_against_their_own_decision(api: Api):
    review_id = api.review()
    decided = api.call(
        "POST",
        f"/v1/reviews/{review_id}:decide",
        "moderator",
        json={"action": "remove", "reason": "praise"},
    ).json()["decision"]
    author = api.store.post(decided["post_id"]).author.id
    filed = api.call(
        "POST", f"/v1/decisions/{decided['id']}/appeals", "moderator", json={"filed_by": author}
    )
    assert filed.status_code == 201
    response = api.call(
        "POST",
        f"/v1/appeals/{filed.json()['appeal_id']}:decide",
        "moderator",
        json={"outcome": "overturned", "reason": "x", "action": "allow"},
    )
    assert response.status_code == 409 and "Art. 20(6)" in response.json()["message"]


def test_an_invalid_policy_is_refused_with_the_problems_check_policy_prints(api: Api):
    text = (
        "id: x\nversion: 1\nentities:\n  - id: a\n    names: [A B]\n"
        "rules:\n  - id: r\n    when: mentions('b')\n    action: zap\n"
    )
    response = api.call("PUT", "/v1/policies?source=bad.yaml", "admin", content=text)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_policy"
    assert [(p["file"], p["line"], p["message"]) for p in body["problems"]] == [
        ("bad.yaml", 8, "rule 'r': unknown entity 'b' in mentions() (entities: a)"),
        (
            "bad.yaml",
            9,
            "rule 'r': unknown action 'zap' (use one of remove, restrict, label, review, allow)",
        ),
    ]
    escaped_nul = POLICY_TEXT.replace("title: Dangerous individuals", 'title: "Dangerous\\0"')
    for bad in (b"\xff\xfe", "[" * 5000, "id: [", "", "a: b\x00", escaped_nul):
        refused = api.call("PUT", "/v1/policies", "admin", content=bad)
        assert refused.status_code == 422, (bad[:10], refused.text)
        assert refused.json()["problems"][0]["line"] is not None


def test_a_new_live_policy_takes_effect_without_a_restart(api: Api):
    body = {"id": "sw-1", "text": HARMLESS + " Soleimani"}
    before = api.call("POST", "/v1/posts:evaluate", "ingest", json=body).json()
    assert before["policy_version"] == 1
    v2 = POLICY_TEXT.replace("version: 1\n", "version: 2\n").replace(
        "action: review", "action: remove"
    )
    uploaded = api.call("PUT", "/v1/policies", "admin", content=v2)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {
        "id": "dangerous-individuals",
        "version": 2,
        "title": "Dangerous individuals",
        "mode": "live",
        "entities": 2,
        "rules": 2,
    }
    after = api.call("POST", "/v1/posts:evaluate", "ingest", json={"id": "sw-2", "text": PRAISE})
    assert after.json()["policy_version"] == 2 and after.json()["action"] == "remove"
    assert api.call("GET", "/v1/policies", "moderator").json() == {
        "policy": "dangerous-individuals",
        "live": 2,
        "shadow": None,
    }
    stored = api.call("GET", "/v1/policies/dangerous-individuals/2", "auditor").json()
    assert stored["text"] == v2 and stored["live"] and not stored["shadow"]
    assert (
        api.call("GET", "/v1/policies/dangerous-individuals/1", "auditor").json()["live"] is False
    )
    assert api.call("GET", "/v1/policies/nothing/1", "auditor").status_code == 404
    entry = [e for e in audit(api) if e["kind"] == "policy.activated"][-1]
    assert entry["actor"] == "admin:admin-1" and entry["payload"]["mode"] == "live"
    # The same version with other text is refused; so is another policy id.
    changed = api.call("PUT", "/v1/policies", "admin", content=v2.replace("general", "generál"))
    assert changed.status_code == 409 and "new version" in changed.json()["message"]
    other = api.call(
        "PUT",
        "/v1/policies",
        "admin",
        content=POLICY_TEXT.replace("id: dangerous-individuals", "id: other"),
    )
    assert other.status_code == 409
    # A second worker (another app on the same store) follows the store's activation.
    with TestClient(make_app(api.store, with_policy=False)) as client:
        response = client.post(
            "/v1/posts:evaluate", json={"id": "sw-3", "text": PRAISE}, headers=api.auth("ingest")
        )
    assert response.json()["policy_version"] == 2


def test_a_shadow_policy_decides_beside_the_live_one(api: Api):
    shadow = POLICY_TEXT.replace("version: 1\n", "version: 3\n").replace(
        "action: review", "action: remove"
    )
    response = api.call("PUT", "/v1/policies?mode=shadow", "admin", content=shadow)
    assert response.status_code == 200 and response.json()["mode"] == "shadow"
    live = api.call("POST", "/v1/posts:evaluate", "ingest", json={"id": "sh-1", "text": PRAISE})
    assert live.json()["action"] == "review" and live.json()["mode"] == "live"
    decisions = api.call("GET", "/v1/posts/sh-1/decisions", "auditor").json()
    assert [(d["mode"], d["action"], d["status"]) for d in decisions] == [
        ("live", "review", "pending_review"),
        ("shadow", "remove", "shadow"),
    ]


def test_authority_orders_are_recorded_with_who_entered_them(api: Api):
    post_id = api.allowed().decision.post_id
    body = {
        "authority": "Bundeskriminalamt",
        "legal_basis": "§ 86a StGB",
        "reference": "BKA-2026-4",
        "issued_on": "2026-11-20",
        "action": "restrict",
        "territorial_scope": ["DE"],
        "posts": [post_id],
    }
    response = api.call("POST", "/v1/authority-requests", "admin", json=body)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["recorded_by"] == "admin-1" and order["decisions"][0]["policy"] == (
        "authority-order"
    )
    assert api.store.post_state(post_id) == "restricted"
    statement = api.call(
        "GET", f"/v1/decisions/{order['decisions'][0]['id']}/statement", "auditor"
    ).json()
    assert "86a" in str(statement)
    listed = api.call("GET", "/v1/authority-requests", "auditor").json()
    assert [o["reference"] for o in listed] == ["BKA-2026-4"]
    unknown = api.call("POST", "/v1/authority-requests", "admin", json={**body, "posts": ["zz"]})
    assert unknown.status_code == 404 and "has not seen" in unknown.json()["message"]
    bad_date = api.call(
        "POST", "/v1/authority-requests", "admin", json={**body, "issued_on": "2026-13-40"}
    )
    assert bad_date.status_code == 422


def test_statements_and_notices(api: Api):
    restricted = api.restricted()
    statement = api.call("GET", f"/v1/decisions/{restricted.id}/statement", "ingest")
    assert statement.status_code == 200
    assert statement.json()["decision_visibility"] and statement.json()["puid"] == restricted.puid
    notice = api.call("GET", f"/v1/decisions/{restricted.puid}/notice", "ingest").json()
    assert notice["statement"] == statement.json() and notice["redress"]
    allowed = api.allowed()
    none = api.call("GET", f"/v1/decisions/{allowed.id}/statement", "auditor")
    assert none.status_code == 404 and "restricts nothing" in none.json()["message"]
    assert api.call("GET", f"/v1/decisions/{allowed.id}/notice", "auditor").status_code == 404


def test_the_audit_log_pages_and_verifies(api: Api):
    for _ in range(3):
        api.restricted()
    entries = audit(api)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    verified = api.call("GET", "/v1/audit:verify", "auditor").json()
    assert verified["ok"] and verified["entries"] == len(entries) and verified["finding"] is None
    anchor = f"{entries[-1]['seq']}:{entries[-1]['hash']}"
    assert api.call("GET", f"/v1/audit:verify?anchor={anchor}", "auditor").json()["ok"]
    wrong = f"{entries[0]['seq']}:{'0' * 64}"
    finding = api.call("GET", f"/v1/audit:verify?anchor={wrong}", "auditor").json()
    assert not finding["ok"] and "anchor" in finding["finding"]["problem"]


def test_probes_and_metrics(store: Store):
    with TestClient(make_app(store, with_policy=False)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "no live policy" in ready.json()["problems"][0]
    api_app = make_app(store)
    with TestClient(api_app) as client:
        assert client.get("/readyz").json()["status"] == "ready"
        from arbiter.service import keys

        _, key = keys.create_key(store.engine, "p", "ingest", actor="test")
        headers = {"Authorization": f"Bearer {key}"}
        client.post("/v1/posts:evaluate", json={"id": "m1", "text": PRAISE}, headers=headers)
        client.post("/v1/posts:evaluate", json={"id": "m2", "text": HASHTAG}, headers=headers)
        client.post("/v1/posts:evaluate", json={"id": ""}, headers=headers)
        text = client.get("/metrics").text
    assert (
        'arbiter_http_requests_total{method="POST",route="/v1/posts:evaluate",status="201"} 2.0'
        in text
    )
    assert (
        'arbiter_http_requests_total{method="POST",route="/v1/posts:evaluate",status="422"} 1.0'
        in text
    )
    assert (
        'arbiter_http_request_duration_seconds_bucket{le="0.02",method="POST",route="/v1/posts:evaluate"}'
        in text
    )
    assert 'arbiter_decisions_total{action="review",mode="live"} 1.0' in text
    assert 'arbiter_decisions_total{action="restrict",mode="live"} 1.0' in text
    assert 'arbiter_review_queue_depth{reason="rule"} 1.0' in text


def test_no_live_policy_means_503_until_one_is_uploaded(store: Store):
    from arbiter.service import keys

    _, ingest = keys.create_key(store.engine, "p", "ingest", actor="test")
    _, admin = keys.create_key(store.engine, "a", "admin", actor="test")
    with TestClient(make_app(store, with_policy=False)) as client:
        evaluate = client.post(
            "/v1/posts:evaluate", json={"id": "a"}, headers={"Authorization": f"Bearer {ingest}"}
        )
        assert evaluate.status_code == 503 and "PUT /v1/policies" in evaluate.json()["message"]
        uploaded = client.put(
            "/v1/policies", content=POLICY_TEXT, headers={"Authorization": f"Bearer {admin}"}
        )
        assert uploaded.status_code == 200
        assert client.get("/readyz").status_code == 200
        evaluate = client.post(
            "/v1/posts:evaluate", json={"id": "a"}, headers={"Authorization": f"Bearer {ingest}"}
        )
        assert evaluate.status_code == 201


@pytest.mark.parametrize("role", ["ingest"])
def test_whoami(api: Api, role: str):
    assert api.call("GET", "/v1/me", role).json()["owner"] == "platform-1"
