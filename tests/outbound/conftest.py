"""Every outbound test runs with the outbox hook wired into write_decisions."""

from __future__ import annotations

import pytest

from tests.outbound.helpers import wire_outbox


@pytest.fixture(autouse=True)
def _outbox_wired(monkeypatch: pytest.MonkeyPatch) -> None:
    wire_outbox(monkeypatch)
