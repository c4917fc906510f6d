"""`arbiter serve` for real: uvicorn in a subprocess on a loopback port, keys from the command line,
a Persian post evaluated over HTTP and its decision read back (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import EXAMPLES
from tests.store.helpers import POLICY_TEXT, PRAISE

PERSIAN = "سردار دلها حاج قاسم سلیمانی را فراموش نمی‌کنیم"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def arbiter(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arbiter", *args], capture_output=True, text=True, check=False
    )


@contextmanager
def serving(db: str, *options: str) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "arbiter",
        "serve",
        "--db",
        db,
        "--port",
        str(port),
        "--no-access-log",
        *options,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            raise AssertionError(f"the server did not stop on SIGTERM:\n{output}") from None
        # uvicorn shuts down cleanly, then re-raises the signal it caught.
        assert process.returncode in (0, -signal.SIGTERM), output
        assert "Application shutdown complete" in output, output


def create_key(db: str, owner: str, role: str) -> str:
    created = arbiter("keys", "create", "--owner", owner, "--role", role, "--db", db)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("arb_") and "\n" not in key  # the key, once, alone on stdout
    assert f"{role} key" in created.stderr
    return key


def test_a_real_server_decides_a_persian_post(store_url: str):
    ingest = create_key(store_url, "platform", "ingest")
    auditor = create_key(store_url, "audit-office", "auditor")
    listed = arbiter("keys", "list", "--db", store_url)
    assert "platform" in listed.stdout and ingest not in listed.stdout
    with serving(store_url, "--policy", str(EXAMPLES / "policy.yaml")) as url:
        assert httpx.get(f"{url}/readyz").json()["status"] == "ready"
        body = {"id": "fa-1", "text": PERSIAN, "lang": "fa", "author": {"id": "u1"}}
        response = httpx.post(
            f"{url}/v1/posts:evaluate", json=body, headers={"Authorization": f"Bearer {ingest}"}
        )
        assert response.status_code == 201, response.text
        decision = response.json()
        assert decision["action"] == "review" and decision["matches"][0]["entity"] == "qs"
        back = httpx.get(
            f"{url}/v1/decisions/{decision['id']}", headers={"Authorization": f"Bearer {auditor}"}
        )
        assert back.status_code == 200 and back.json() == decision
        assert httpx.get(f"{url}/v1/decisions/{decision['id']}").status_code == 401
        # A key revoked from the command line is refused by the running server within a second.
        prefix = ingest.split("_")[1]
        assert arbiter("keys", "revoke", prefix, "--db", store_url).returncode == 0
        time.sleep(1.2)
        refused = httpx.post(
            f"{url}/v1/posts:evaluate", json=body, headers={"Authorization": f"Bearer {ingest}"}
        )
        assert refused.status_code == 401
        assert "arbiter_decisions_total" in httpx.get(f"{url}/metrics").text
    verified = arbiter("audit", "verify", "--db", store_url)
    assert verified.returncode == 0, verified.stderr


def test_two_workers_follow_a_policy_upload_and_add_up_their_metrics(tmp_path: Path):
    db = str(tmp_path / "arbiter.db")
    admin = create_key(db, "ops", "admin")
    ingest = create_key(db, "platform", "ingest")
    env_before = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    with serving(db, "--policy", str(EXAMPLES / "policy.yaml"), "--workers", "2") as url:
        v2 = POLICY_TEXT.replace("version: 1\n", "version: 2\n").replace(
            "action: review", "action: remove"
        )
        uploaded = httpx.put(
            f"{url}/v1/policies", content=v2, headers={"Authorization": f"Bearer {admin}"}
        )
        assert uploaded.status_code == 200, uploaded.text
        sent = 0
        # A new connection for every request: the kernel hands connections, not requests,
        # to the workers, so both of them answer some.
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(headers={"Authorization": f"Bearer {ingest}"}, limits=fresh) as client:

            def evaluate() -> tuple[int, str]:
                nonlocal sent
                response = client.post(
                    f"{url}/v1/posts:evaluate", json={"id": f"w{sent}", "text": PRAISE}
                )
                sent += 1
                assert response.status_code == 201, response.text
                return response.json()["policy_version"], response.json()["action"]

            # The other worker re-reads the activations every second: wait until it has.
            deadline, streak = time.monotonic() + 20, 0
            while streak < 10:
                streak = streak + 1 if evaluate() == (2, "remove") else 0
                assert time.monotonic() < deadline, "a worker still decides with version 1"
                time.sleep(0.02)
            assert {evaluate() for _ in range(30)} == {(2, "remove")}
        metrics = httpx.get(f"{url}/metrics").text
        line = next(
            line
            for line in metrics.splitlines()
            if line.startswith(
                'arbiter_http_requests_total{method="POST",route="/v1/posts:evaluate"'
            )
        )
        assert line.endswith(f" {sent}.0"), (line, sent)  # both workers' requests, added up
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") == env_before
