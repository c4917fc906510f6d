"""The console without a browser (TestClient), on SQLite and PostgreSQL: sessions and CSRF, roles,
the queue's order, escalation, history, the store's refusals, and which files are served."""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from arbiter.console import ConsoleConfig, console_router
from arbiter.console.session import SESSION_COOKIE, Sessions
from arbiter.console.views import pieces
from arbiter.model import Decision, Match, MediaEvidence, Post
from arbiter.service import create_app, keys
from arbiter.service.app import endpoints
from arbiter.service.auth import route_requirement
from arbiter.store import Store
from tests.console.conftest import SECRET, Console, csrf_of, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def audit_entries(store: Store) -> list[dict[str, Any]]:
    sink = io.BytesIO()
    store.export_audit(sink)
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def open_reviews(store: Store) -> dict[int, Any]:
    return {item.review_id: item for item in store.review_queue(10_000)}


def a_review(console: Console, reason: str = "rule") -> int:
    return next(i.review_id for i in console.store.review_queue(10_000) if i.reason == reason)


# -- sessions -------------------------------------------------------------------------------


def test_pages_need_a_session_and_sign_in_sets_a_strict_http_only_cookie(
    console: Console, client: TestClient
) -> None:
    answer = client.get("/console/queue", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/queue"
    answer = client.post(
        "/console/reviews/1/overturn", data={"reason": "x"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    form = client.get("/console/sign-in")
    assert form.status_code == 200 and 'lang="en"' in form.text
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    answer = client.post(
        "/console/sign-in",
        data={"key": console.keys["alice"], "csrf": csrf_of(form.text), "next": "/console/appeals"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/appeals"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    )
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/console"} <= attributes
    assert "secure" not in attributes
    assert console.keys["alice"] not in cookie  # the key itself is never in the cookie
    page = client.get("/console/queue")
    assert page.status_code == 200 and "alice" in page.text


def test_over_https_the_cookie_is_secure(console: Console) -> None:
    with TestClient(console.app, base_url="https://testserver") as client:
        form = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in",
            data={"key": console.keys["alice"], "csrf": csrf_of(form.text)},
            follow_redirects=False,
        )
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


@pytest.mark.parametrize(
    ("who", "status", "words"),
    [
        ("ingest", 403, "An ingest key cannot open the console"),
        ("revoked", 401, "not valid"),
        ("made-up", 401, "not valid"),
    ],
)
def test_sign_in_is_refused_for_keys_that_may_not_enter(
    console: Console, client: TestClient, who: str, status: int, words: str
) -> None:
    key = console.keys.get(who, "arb_0123456789ab_" + "x" * 43)
    form = client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"key": key, "csrf": csrf_of(form.text)})
    assert answer.status_code == status and words in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_the_sign_in_form_is_protected_against_login_csrf(
    console: Console, client: TestClient
) -> None:
    answer = client.post("/console/sign-in", data={"key": console.keys["alice"]})
    assert answer.status_code == 403 and SESSION_COOKIE not in client.cookies
    client.get("/console/sign-in")  # a pre-session cookie, but a token from elsewhere
    answer = client.post("/console/sign-in", data={"key": console.keys["alice"], "csrf": "x" * 64})
    assert answer.status_code == 403 and SESSION_COOKIE not in client.cookies


def test_sign_in_never_redirects_off_the_console(console: Console, client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/console/", "/v1/keys", "/console"):
        client.cookies.clear()
        form = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in",
            data={"key": console.keys["alice"], "csrf": csrf_of(form.text), "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/console/queue", target


def test_a_forged_or_altered_cookie_is_refused(console: Console, client: TestClient) -> None:
    sign_in(client, console.keys["alice"])
    token = client.cookies[SESSION_COOKIE]
    prefix, expires, nonce, mac = token.split(".")
    for forged in (
        f"{prefix}.{int(expires) + 3600}.{nonce}.{mac}",  # a longer session
        f"{keys.parse_key(console.keys['auditor'])[0]}.{expires}.{nonce}.{mac}",  # type: ignore[index]
        f"{prefix}.{expires}.{nonce}.{'0' * 64}",
        "garbage",
    ):
        client.cookies.set(SESSION_COOKIE, forged, path="/console")
        answer = client.get("/console/queue", follow_redirects=False)
        assert answer.status_code == 303, forged


def test_sessions_expire_and_end_at_sign_out() -> None:
    now = [1_000_000.0]
    sessions = Sessions(SECRET, seconds=60, clock=lambda: now[0])
    token, session = sessions.issue("0123456789ab")
    assert sessions.read(token) == session
    assert sessions.csrf_ok(session, sessions.csrf_token(session))
    other_token, other = sessions.issue("0123456789ab")
    assert sessions.csrf_token(other) != sessions.csrf_token(session)
    assert not sessions.csrf_ok(session, sessions.csrf_token(other))
    assert not sessions.csrf_ok(session, "") and not sessions.csrf_ok(session, "é" * 64)
    now[0] += 61
    assert sessions.read(token) is None
    now[0] -= 61
    sessions.end(session)
    assert sessions.read(token) is None and sessions.read(other_token) == other
    assert Sessions(b"another secret, also long enough").read(other_token) is None


def test_revoking_the_key_ends_its_session_at_once(console: Console, client: TestClient) -> None:
    sign_in(client, console.keys["bob"])
    assert client.get("/console/queue").status_code == 200
    prefix = keys.parse_key(console.keys["bob"])
    assert prefix is not None
    keys.revoke_key(console.store.engine, prefix[0], actor="test")
    answer = client.get("/console/queue", follow_redirects=False)
    assert answer.status_code == 303 and "/console/sign-in" in answer.headers["location"]


def test_signing_out_refuses_the_old_cookie(console: Console, client: TestClient) -> None:
    sign_in(client, console.keys["alice"])
    page = client.get("/console/queue")
    token = client.cookies[SESSION_COOKIE]
    answer = client.post(
        "/console/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert answer.status_code == 303
    client.cookies.set(SESSION_COOKIE, token, path="/console")  # a copy kept by someone
    assert client.get("/console/queue", follow_redirects=False).status_code == 303


# -- CSRF and roles -------------------------------------------------------------------------


def test_every_form_post_needs_this_sessions_csrf_token(
    console: Console, client: TestClient
) -> None:
    review_id = a_review(console, "sample")
    sign_in(client, console.keys["alice"])
    page = client.get(f"/console/reviews/{review_id}")
    token = csrf_of(page.text)
    url = f"/console/reviews/{review_id}/overturn"
    with TestClient(console.app) as other:  # another session's token is no good here
        sign_in(other, console.keys["bob"])
        theirs = csrf_of(other.get("/console/queue").text)
    for sent in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": theirs}):
        answer = client.post(url, data={"reason": "news", **sent}, follow_redirects=False)
        assert answer.status_code == 403, sent
        assert "security token" in answer.text
    answer = client.post(
        url,
        data={"reason": "news", "csrf": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert review_id in open_reviews(console.store)
    answer = client.post(url, data={"reason": "news", "csrf": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert review_id not in open_reviews(console.store)


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditors_and_admins_read_but_do_not_decide(
    console: Console, client: TestClient, who: str
) -> None:
    review_id = a_review(console)
    sign_in(client, console.keys[who])
    for path in ("/console/queue", "/console/appeals", "/console/operations"):
        assert client.get(path).status_code == 200, path
    page = client.get(f"/console/reviews/{review_id}")
    assert page.status_code == 200
    assert "data-key=" not in page.text and "Read-only" in page.text
    answer = client.post(
        f"/console/reviews/{review_id}/overturn",
        data={"reason": "x", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 403 and "may not do this" in answer.text
    assert review_id in open_reviews(console.store)


def test_every_console_route_declares_its_roles_and_stays_out_of_the_api_document(
    store: Store,
) -> None:
    app = create_app(store, None, routers=[console_router(ConsoleConfig(secret=SECRET))])
    routes = {(e.method, e.path): e.route for e in endpoints(app) if e.path.startswith("/console")}
    declared = {key: route_requirement(route) for key, route in routes.items()}
    assert all(r is not None for r in declared.values()), declared
    roles = {key: r.roles for key, r in declared.items() if r is not None}
    assert roles[("POST", "/console/reviews/{review_id}/{verb}")] == ("moderator",)
    assert roles[("POST", "/console/appeals/{appeal_id}/decide")] == ("moderator",)
    assert roles[("GET", "/console/queue")] == ("moderator", "admin", "auditor")
    assert roles[("POST", "/console/sign-in")] == ()
    assert all("ingest" not in r for r in roles.values())
    with TestClient(app) as client:
        document = client.get("/openapi.json")
    assert document.status_code == 200
    assert not [p for p in document.json()["paths"] if p.startswith("/console")]


# -- the queue ------------------------------------------------------------------------------


def queue_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.split("<tr data-item")[1:]


def test_the_queue_puts_appeals_first_then_escalations_then_severity(
    console: Console, client: TestClient
) -> None:
    store = console.store
    sign_in(client, console.keys["alice"])
    rule_review = a_review(console, "rule")
    restricted = next(i for i in store.review_queue(10_000) if i.reason == "sample")
    appeal_of = next(
        d
        for post, decision in console.examples.pairs
        if decision.action == "restrict"
        for d in [store.decisions_of(post.id)[-1]]
        if d.id != restricted.decision.id
    )
    author = store.post(appeal_of.decision.post_id).author.id
    appeal_id = store.file_appeal(appeal_of.id, author, "It was news")

    page = client.get(f"/console/reviews/{rule_review}")
    answer = client.post(
        f"/console/reviews/{rule_review}/escalate",
        data={"reason": "Satire? Needs a senior", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/console/reviews/{rule_review}?done=escalated")
    assert rule_review in open_reviews(store)  # still queued
    [entry] = [e for e in audit_entries(store) if e["kind"] == "review.escalated"]
    assert entry["actor"] == "moderator:alice"
    assert entry["payload"] == {"review": rule_review, "note": "Satire? Needs a senior"}

    html = client.get("/console/queue").text
    rows = queue_rows(html)
    assert f"/console/appeals/{appeal_id}" in rows[0]
    assert f"/console/reviews/{rule_review}" in rows[1] and "escalated" in rows[1]
    actions = [row.split('class="action action-', 1)[1].split('"', 1)[0] for row in rows[2:]]
    assert actions == sorted(actions, key=["remove", "restrict", "label", "review"].index)
    assert '<span class="n">1</span> appeals' in html
    assert '<span class="n">1</span> escalated' in html
    flagged = client.get(f"/console/reviews/{rule_review}").text
    assert "Escalated by" in flagged and "Satire? Needs a senior" in flagged


def test_a_decision_is_recorded_with_the_moderator_and_shown_in_the_history(
    console: Console, client: TestClient
) -> None:
    store = console.store
    review_id = a_review(console, "rule")
    item = open_reviews(store)[review_id]
    post_id = item.decision.decision.post_id
    sign_in(client, console.keys["alice"])
    page = client.get(f"/console/reviews/{review_id}")
    answer = client.post(
        f"/console/reviews/{review_id}/confirm",
        data={"action": "label", "reason": "Context needed", "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and "done=changed" in answer.headers["location"]
    new = store.decisions_of(post_id)[-1]
    assert (new.decision.action, new.actor, new.reason) == (
        "label",
        "moderator:alice",
        "Context needed",
    )
    assert store.post_state(post_id) == "labelled"
    html = client.get(f"/console/decisions/{new.id}").text
    timeline = html.split('class="timeline"', 1)[1]
    assert "moderator:alice" in timeline and "Context needed" in timeline
    assert f"decision:{item.decision.puid}" in timeline and f"post:{post_id}" in timeline
    elsewhere = next(p.id for p, _ in console.examples.pairs if p.id != post_id)
    assert store.decisions_of(elsewhere)[-1].puid not in timeline


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"reason": "   "}, "a reason in words is required"),
        ({"reason": "x" * 2001}, "too long"),
        ({"reason": "ok", "action": "zap"}, "choose the action"),
        ({"reason": "ok", "action": "restrict", "scope": "Germany"}, "two-letter country codes"),
    ],
)
def test_a_decision_form_with_a_problem_changes_nothing(
    console: Console, client: TestClient, form: dict[str, str], words: str
) -> None:
    review_id = a_review(console)
    sign_in(client, console.keys["alice"])
    page = client.get(f"/console/reviews/{review_id}")
    answer = client.post(
        f"/console/reviews/{review_id}/confirm", data={**form, "csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 422 and words in answer.text
    assert review_id in open_reviews(console.store)


def test_the_store_refuses_the_same_moderator_on_the_appeal_and_the_console_says_so(
    console: Console, client: TestClient
) -> None:
    store = console.store
    review_id = a_review(console)
    post_id = open_reviews(store)[review_id].decision.decision.post_id
    sign_in(client, console.keys["alice"])
    page = client.get(f"/console/reviews/{review_id}")
    client.post(
        f"/console/reviews/{review_id}/confirm",
        data={"action": "remove", "reason": "Praise", "csrf": csrf_of(page.text)},
    )
    decision = store.decisions_of(post_id)[-1]
    appeal_id = store.file_appeal(decision.id, store.post(post_id).author.id, "Unfair")
    page = client.get(f"/console/appeals/{appeal_id}")
    answer = client.post(
        f"/console/appeals/{appeal_id}/decide",
        data={
            "outcome": "overturned",
            "action": "allow",
            "reason": "Fine",
            "csrf": csrf_of(page.text),
        },
    )
    assert answer.status_code == 409
    assert 'role="alert"' in answer.text
    assert f"moderator alice took part in decision {decision.id}" in answer.text
    assert store.appeals("open")[0]["id"] == appeal_id
    # the review an appeal queued leads to the appeal's page, not to review forms
    appeal_review = next(i.review_id for i in store.review_queue(10_000) if i.reason == "appeal")
    answer = client.get(f"/console/reviews/{appeal_review}", follow_redirects=False)
    assert answer.headers["location"] == f"/console/appeals/{appeal_id}"
    answer = client.post(
        f"/console/reviews/{appeal_review}/overturn",
        data={"reason": "x", "csrf": csrf_of(page.text)},
    )
    assert answer.status_code == 409 and "decide it on the appeal" in answer.text


# -- text and files -------------------------------------------------------------------------


def test_spans_are_marked_and_overlapping_ones_joined() -> None:
    text = "Qassem Soleimani #SardarDelha"
    cut = pieces(text, [(0, (0, 16)), (1, (17, 29)), (2, (7, 16)), (3, (40, 50))])
    assert [(p.text, p.marks) for p in cut] == [
        ("Qassem Soleimani", (0, 2)),
        (" ", ()),
        ("#SardarDelha", (1,)),
    ]
    assert "".join(p.text for p in cut) == text
    assert pieces("", []) == [pieces("", [])[0]] and pieces("", [])[0].text == ""


def record_post(console: Console, post: dict[str, Any], matches: tuple[Match, ...] = ()) -> int:
    """A post with a hand-made decision (e.g. evidence naming a hash-list entry)."""
    item = Post.from_dict(post)
    decision = Decision(
        post_id=item.id,
        action="review",
        policy=console.examples.policy.id,
        policy_version=console.examples.policy.version,
        rule="designated-person",
        decided_at="2026-11-25T10:00:00Z",
        matches=matches,
    )
    console.store.record(console.examples.policy, [(item, decision)])
    return console.store.decisions_of(item.id)[-1].id


def test_media_are_served_only_from_inside_the_configured_roots(
    console: Console, client: TestClient, tmp_path: Path
) -> None:
    sign_in(client, console.keys["auditor"])
    m1 = console.decision_of("m1")
    posted = client.get(f"/console/media/{m1}/posted/0")
    assert posted.status_code == 200 and posted.headers["content-type"] == "image/jpeg"
    assert posted.headers["x-content-type-options"] == "nosniff"
    bank = client.get(f"/console/media/{m1}/reference/0")
    assert bank.status_code == 200 and bank.content.startswith(b"\xff\xd8")
    m5 = console.decision_of("m5")
    assert client.get(f"/console/media/{m5}/posted/0").headers["content-type"] == "video/mp4"

    secret = tmp_path / "secret.jpg"
    secret.write_bytes((console.examples.media_root / "posted" / "unrelated.jpg").read_bytes())
    link = console.examples.media_root / "posted" / "linked-out.jpg"
    os.symlink(secret, link)
    (console.examples.media_root / "notes.txt").write_text("not a photo")
    hostile = [
        "../policy.yaml",
        "../../../../../../etc/passwd",
        "/etc/passwd",
        str(secret),
        "posted/linked-out.jpg",
        "posted/../../policy.yaml",
        "notes.txt",
    ]
    decision = record_post(
        console,
        {
            "id": "hostile",
            "text": "x",
            "media": [{"id": f"h{i}", "type": "image", "path": p} for i, p in enumerate(hostile)],
        },
    )
    for index in range(len(hostile)):
        answer = client.get(f"/console/media/{decision}/posted/{index}")
        assert answer.status_code == 404, hostile[index]
    page = client.get(f"/console/decisions/{decision}").text
    assert page.count("not under the console&#39;s media roots") == len(hostile)
    assert client.get(f"/console/media/{decision}/posted/99").status_code == 404
    assert client.get(f"/console/media/{decision}/other/0").status_code == 404
    assert client.get("/console/media/1/posted/..%2F..%2Fetc%2Fpasswd").status_code == 404
    link.unlink()


def test_a_hash_list_entry_has_a_placeholder_and_no_file(
    console: Console, client: TestClient
) -> None:
    source = console.examples.media_root / "posted" / "repost-with-border.jpg"
    evidence = MediaEvidence("p0", entry="banks/qs.pdq.txt:12", distance=9, variant="original")
    traversal = MediaEvidence("p0", entry="../../../etc/passwd", distance=3)
    decision = record_post(
        console,
        {
            "id": "hashed",
            "text": "",
            "media": [{"id": "p0", "type": "image", "path": "posted/" + source.name}],
        },
        (
            Match("qs", "image", (0, 0), "banks/qs.pdq.txt:12", "pdq", 0.9, evidence),
            Match("qs", "image", (0, 0), "../../../etc/passwd", "pdq", 0.9, traversal),
        ),
    )
    sign_in(client, console.keys["alice"])
    page = client.get(f"/console/decisions/{decision}").text
    assert "hash-list entry: the list holds a hash, no image" in page
    assert "not under the console&#39;s reference roots" in page
    assert client.get(f"/console/media/{decision}/reference/0").status_code == 404
    assert client.get(f"/console/media/{decision}/reference/1").status_code == 404
    assert client.get(f"/console/media/{decision}/posted/0").status_code == 200


def test_what_a_post_says_is_escaped(console: Console, client: TestClient) -> None:
    decision = record_post(
        console,
        {"id": "<b>x</b>", "text": "<script>alert(1)</script> Qassem Soleimani", "lang": '"><x'},
    )
    sign_in(client, console.keys["alice"])
    page = client.get(f"/console/decisions/{decision}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page and 'lang="&#34;&gt;&lt;x"' not in page


def test_the_console_reads_its_folders_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARBITER_CONSOLE_MEDIA", os.pathsep.join(["/a", "/b"]))
    monkeypatch.setenv("ARBITER_CONSOLE_REFERENCES", "/c")
    config = ConsoleConfig.from_environment()
    assert config.media_roots == (Path("/a"), Path("/b")) and config.reference_roots == (
        Path("/c"),
    )
    app = create_app(Store(create_engine("sqlite://")), routers=[console_router(config)])
    assert any(e.path == "/console/queue" for e in endpoints(app))
