"""Bad input and abuse: body size (413), rate limits (429), readable 4xx, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from arbiter.service import keys
from arbiter.service.limits import Rate, RateLimiter, retry_after
from arbiter.store import Store
from tests.service.conftest import TEST_SETTINGS, Api, TestClient, make_app


def test_a_body_over_the_limit_is_refused_before_it_is_read(store: Store):
    app = make_app(store, replace(TEST_SETTINGS, max_body_bytes=1000))
    _, key = keys.create_key(store.engine, "p", "ingest", actor="test")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    big = '{"id": "a", "text": "' + "x" * 2000 + '"}'
    with TestClient(app) as client:
        response = client.post("/v1/posts:evaluate", content=big, headers=headers)
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"
        assert "1,000 bytes" in response.json()["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            for _ in range(10):
                yield b" " * 200

        chunked = client.post("/v1/posts:evaluate", content=chunks(), headers=headers)
        assert chunked.status_code == 413
        small = client.post("/v1/posts:evaluate", json={"id": "a"}, headers=headers)
        assert small.status_code == 201
        # A batch has its own, larger limit.
        batch = client.post(
            "/v1/posts:batch",
            json={"posts": [{"id": f"b{i}"} for i in range(100)]},
            headers=headers,
        )
        assert batch.status_code == 202
    assert store.count("posts") == 1 or store.count("posts") >= 1


def test_rate_limits_are_per_key_with_retry_after(store: Store):
    settings = replace(TEST_SETTINGS, rate=Rate(per_second=1.0, burst=3.0))
    app = make_app(store, settings)
    _, first = keys.create_key(store.engine, "a", "auditor", actor="test")
    _, second = keys.create_key(store.engine, "b", "auditor", actor="test")
    with TestClient(app) as client:
        statuses = [
            client.get("/v1/me", headers={"Authorization": f"Bearer {first}"}).status_code
            for _ in range(5)
        ]
        assert statuses == [200, 200, 200, 429, 429]
        limited = client.get("/v1/me", headers={"Authorization": f"Bearer {first}"})
        assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        # Another key has its own bucket; the probes have none.
        assert (
            client.get("/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
        )
        assert all(client.get("/healthz").status_code == 200 for _ in range(10))


def test_the_token_bucket_refills():
    now = [0.0]
    limiter = RateLimiter(Rate(per_second=2.0, burst=2.0), clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.5]
    now[0] = 0.5
    assert limiter.take("k") == 0.0 and limiter.take("k") == pytest.approx(0.5)
    assert retry_after(0.01) == "1" and retry_after(2.2) == "3"
    assert RateLimiter(Rate(0, 0)).take("k") == 0.0


@pytest.mark.parametrize(
    ("body", "location", "words"),
    [
        ('{"id": "a"', "body", "not valid JSON"),
        ("[1, 2]", "body", "must be a JSON object"),
        ('{"text": "no id"}', "body.id", "is required"),
        ('{"id": ""}', "body.id", "at least 1 character"),
        ('{"id": "' + "x" * 201 + '"}', "body.id", "at most 200 characters"),
        ('{"id": "a\\u0000b"}', "body.id", "NUL"),
        ('{"id": "a", "text": "\\ud800"}', "body.text", "surrogate"),
        ('{"id": true}', "body.id", "valid string"),
        ('{"id": "a", "author": {"country": "Germany!!!"}}', "body.author.country", "at most 8"),
        ('{"id": "a", "media": [{"path": "/etc/passwd"}]}', "body.media.0.path", "give the media"),
        ('{"id": "a", "media": {}}', "body.media", "valid list"),
    ],
)
def test_invalid_posts_get_a_readable_422(api: Api, body: str, location: str, words: str):
    response = api.call(
        "POST",
        "/v1/posts:evaluate",
        "ingest",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "invalid_request"
    assert error["problems"][0]["location"] == location
    assert words in error["problems"][0]["message"], error
    assert words in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/decisions/%00"),
        ("GET", "/v1/decisions/" + "9" * 40),
        ("GET", "/v1/posts/a%00b/decisions"),
        ("GET", "/v1/posts/" + "x" * 300 + "/decisions"),
        ("GET", "/v1/decisions/%F0%9F%92%A9/statement"),
        ("POST", "/v1/reviews/99999999999:decide"),
        ("POST", "/v1/reviews/-1:decide"),
        ("GET", "/v1/batches/99999999999999999999-ab"),
        ("GET", "/v1/audit?after=99999999999"),
        ("GET", "/v1/audit?limit=0"),
        ("GET", "/v1/audit:verify?anchor=1:xyz"),
        ("GET", "/v1/policies/x%00/1"),
        ("GET", "/v1/policies/x/99999999999"),
        ("POST", "/v1/keys/zzz:revoke"),
        ("GET", "/v1/appeals?status=maybe"),
    ],
)
def test_odd_paths_and_parameters_are_4xx_not_5xx(api: Api, method: str, path: str):
    role = {
        "/v1/reviews": "moderator",
        "/v1/audit": "auditor",
        "/v1/policies": "admin",
        "/v1/keys": "admin",
        "/v1/appeals": "moderator",
    }
    chosen = next((r for p, r in role.items() if path.startswith(p)), "ingest")
    if path.startswith("/v1/decisions") or path.startswith("/v1/posts/"):
        chosen = "auditor"
    response = api.call(method, path, chosen, json={"action": "allow", "reason": "x"})
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert response.json()["message"]


def test_wrong_methods_and_unknown_paths(api: Api):
    assert api.call("DELETE", "/v1/reviews", "moderator").status_code == 405
    assert api.call("GET", "/v1/nothing", "moderator").json()["error"] == "not_found"
