"""docs/webhooks.md's two receiver examples run, and agree with Arbiter's own signatures."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from arbiter.outbound.webhooks import signature_header

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
SECRET = "whsec_…"  # the placeholder the example uses


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_receiver_example_takes_signed_events_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(blocks()[0], str(DOC), "exec"), namespace)
    assert len(blocks()[0].strip().splitlines()) <= 20
    client = TestClient(namespace["app"])
    body = json.dumps(
        {"event": "decision", "post_id": "p1", "decision": {"action": "remove"}}
    ).encode()
    headers = {"Arbiter-Signature": signature_header(SECRET, body), "Arbiter-Delivery": "dlv_1"}
    for _ in range(2):
        assert client.post("/hooks/arbiter", content=body, headers=headers).status_code == 200
    assert capsys.readouterr().out == "decision p1 remove\n"  # the repeat was dropped
    forged = {**headers, "Arbiter-Signature": signature_header("whsec_guess", body)}
    assert client.post("/hooks/arbiter", content=body, headers=forged).status_code == 401


def test_the_standalone_check_agrees_with_arbiter() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(blocks()[1], str(DOC), "exec"), namespace)
    verify = namespace["verify_signature"]
    body = b'{"event":"reversal"}'
    assert verify("s3cret-s3cret-s3cret", signature_header("s3cret-s3cret-s3cret", body), body)
    assert not verify("s3cret-s3cret-s3cret", signature_header("other", body), body)
    tampered = signature_header("s3cret-s3cret-s3cret", body)
    assert not verify("s3cret-s3cret-s3cret", tampered, body + b" ")
    old = signature_header("s3cret-s3cret-s3cret", body, int(time.time()) - 400)
    assert not verify("s3cret-s3cret-s3cret", old, body)
    assert not verify("s3cret-s3cret-s3cret", "v1=abc", body)
