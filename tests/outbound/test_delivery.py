"""The delivery worker against a real HTTP receiver on loopback that checks every signature."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from arbiter.outbound.delivery import DeliveryWorker, Outcome
from arbiter.outbound.webhooks import add_endpoint, delivery_counts, failing_deliveries
from arbiter.outbound.webhooks import retry_delivery as retry
from arbiter.store import Store
from arbiter.store.schema import outbox
from tests.conftest import Clock
from tests.outbound.helpers import SECRET, Receiver, receiving
from tests.store.helpers import HARMLESS, HASHTAG, PRAISE, policy, post, scan

ROOT = Path(__file__).resolve().parents[2]


def outbox_rows(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as connection:
        return [
            dict(row._mapping) for row in connection.execute(select(outbox).order_by(outbox.c.id))
        ]


def worker(store: Store, **options: object) -> DeliveryWorker:
    """A worker on the store's clock, with the jitter pinned to zero."""
    return DeliveryWorker(store, random=lambda: 0.5, timeout=5.0, **options)  # type: ignore[arg-type]


def clock(store: Store) -> Clock:
    assert isinstance(store.clock, Clock)
    return store.clock


def test_real_deliveries_carry_valid_signatures_and_their_event(store: Store) -> None:
    with receiving(SECRET) as receiver:
        add_endpoint(store, receiver.url, secret=SECRET)
        scan(store, policy(), [post("a", PRAISE), post("b", HASHTAG), post("c", HARMLESS)])
        with worker(store) as w:
            outcomes = w.run_once()
    assert [o.status for o in outcomes] == ["delivered"] * 3
    assert [r.verified for r in receiver.received] == [True] * 3
    for request, row in zip(receiver.received, outbox_rows(store), strict=True):
        payload = request.payload
        assert request.body.decode() == row["payload"]
        assert request.headers["Arbiter-Event"] == payload["event"] == "decision"
        assert request.headers["Arbiter-Delivery"] == payload["delivery"]
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"].startswith("Arbiter-Webhooks/")
        assert row["status"] == "delivered" and row["attempts"] == 1
        assert row["delivered_at"] is not None and row["last_error"] is None
    assert [r.payload["post_id"] for r in receiver.received] == ["a", "b", "c"]  # id order


def test_a_receiver_failing_twice_gets_it_on_the_third_attempt(store: Store) -> None:
    with receiving(SECRET, script=[500, 503]) as receiver:
        add_endpoint(store, receiver.url, secret=SECRET)
        scan(store, policy(), [post("a", PRAISE)])
        with worker(store) as w:
            first = w.run_once()
            assert [(o.status, o.http_status, o.attempts) for o in first] == [("retry", 500, 1)]
            assert w.run_once() == []  # not due yet: nothing is sent early
            clock(store).advance(seconds=10)
            second = w.run_once()
            assert [(o.status, o.http_status, o.attempts) for o in second] == [("retry", 503, 2)]
            assert w.run_once() == []
            clock(store).advance(seconds=30)
            third = w.run_once()
    assert [(o.status, o.http_status, o.attempts) for o in third] == [("delivered", 200, 3)]
    row = outbox_rows(store)[0]
    assert row["status"] == "delivered" and row["attempts"] == 3
    assert row["last_error"] == "HTTP 503: receiver says no"  # what went wrong before is kept
    assert len(set(receiver.deliveries())) == 1  # the same delivery id on every attempt
    assert all(r.verified for r in receiver.received)


def test_backoff_grows_is_capped_and_jitters(store: Store) -> None:
    w = DeliveryWorker(store, random=lambda: 0.5)
    delays = [w.delay(n) for n in range(1, 11)]
    assert delays == [10, 30, 120, 600, 1800, 3600, 10800, 21600, 21600, 21600]
    low = DeliveryWorker(store, random=lambda: 0.0)
    high = DeliveryWorker(store, random=lambda: 0.999999)
    assert low.delay(3) == 96 and high.delay(3) == 144  # ±20 %
    assert w.delay(1, asked=90) == 90  # a longer Retry-After is honoured
    assert w.delay(1, asked=10**6) == 21600  # up to the cap
    for each in (w, low, high):
        each.close()


def test_a_delivery_that_keeps_failing_dies_and_shows_as_failing(store: Store) -> None:
    with receiving(SECRET, script=[500] * 3) as receiver:
        endpoint = add_endpoint(store, receiver.url, secret=SECRET)
        scan(store, policy(), [post("a", PRAISE), post("b", HARMLESS)])
        with worker(store, max_attempts=3) as w:
            receiver.script = [500, 200, 500, 500]  # a fails three times, b gets through
            statuses: list[Outcome] = []
            for _ in range(3):
                statuses += w.run_once()
                clock(store).advance(hours=1)
        assert [(o.id, o.status) for o in statuses] == [
            (1, "retry"),
            (2, "delivered"),
            (1, "retry"),
            (1, "dead"),
        ]
        failing = failing_deliveries(store)
        assert [(d.id, d.status, d.attempts, d.last_error) for d in failing] == [
            (1, "dead", 3, "HTTP 500: receiver says no")
        ]
        assert failing[0].decision_id == store.decisions_of("a")[0].id
        assert failing[0].post_id == "a" and failing[0].url == receiver.url
        assert delivery_counts(store) == {
            endpoint.id: {"pending": 0, "retrying": 0, "delivered": 1, "dead": 1}
        }
        retry(store, 1)
        with worker(store) as w:
            assert [o.status for o in w.run_once()] == ["delivered"]
    assert failing_deliveries(store) == []


def test_a_waiting_retry_counts_as_retrying_and_failing(store: Store) -> None:
    with receiving(SECRET, script=[502]) as receiver:
        endpoint = add_endpoint(store, receiver.url, secret=SECRET)
        scan(store, policy(), [post("a", PRAISE)])
        with worker(store) as w:
            w.run_once()
    assert delivery_counts(store)[endpoint.id] == {
        "pending": 1,
        "retrying": 1,
        "delivered": 0,
        "dead": 0,
    }
    assert [(d.status, d.attempts) for d in failing_deliveries(store)] == [("pending", 1)]


def test_a_crash_mid_delivery_is_retried_after_the_lease(store: Store) -> None:
    """Rows claimed by a worker that died stay pending with the attempt counted."""
    with receiving(SECRET) as receiver:
        add_endpoint(store, receiver.url, secret=SECRET)
        scan(store, policy(), [post("a", PRAISE), post("b", HASHTAG)])
        crashed = worker(store, lease=120)
        claimed = crashed.claim()  # ...and the process dies before sending or recording
        assert [c.attempts for c in claimed] == [1, 1]
        assert [(r["status"], r["attempts"]) for r in outbox_rows(store)] == [("pending", 1)] * 2
        with worker(store) as restarted:
            assert restarted.run_once() == []  # still leased to the dead worker
            clock(store).advance(seconds=121)
            outcomes = restarted.run_once()
    assert [(o.status, o.attempts) for o in outcomes] == [("delivered", 2)] * 2
    # The dead worker's late write (had it woken up) cannot undo what the new one recorded.
    assert crashed.send(claimed[0]).status == "lost"
    assert [(r["status"], r["attempts"]) for r in outbox_rows(store)] == [("delivered", 2)] * 2
    crashed.close()


def test_a_killed_worker_process_leaves_its_delivery_to_be_retried(store_url: str) -> None:
    """`arbiter webhooks deliver` killed with SIGKILL while the receiver holds its request."""
    with Store.open(store_url) as store, receiving(SECRET) as receiver:
        add_endpoint(store, receiver.url, secret=SECRET)
        scan(store, policy(), [post("a", PRAISE)])
        receiver.hold = threading.Event()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "arbiter",
                "webhooks",
                "deliver",
                "--db",
                store_url,
                "--lease",
                "60",
                "--interval",
                "0.1",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert receiver.arrived.wait(60), "the worker never sent the delivery"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        receiver.hold.set()
        assert [(r["status"], r["attempts"]) for r in outbox_rows(store)] == [("pending", 1)]
        later = datetime.now(UTC) + timedelta(seconds=61)
        with DeliveryWorker(store, clock=lambda: later.strftime("%Y-%m-%dT%H:%M:%SZ")) as w:
            outcomes = w.run_once()
    assert [(o.status, o.attempts) for o in outcomes] == [("delivered", 2)]
    first, second = receiver.received
    assert first.verified and second.verified
    assert first.headers["Arbiter-Delivery"] == second.headers["Arbiter-Delivery"]


@pytest.mark.parametrize("workers", [4])
def test_concurrent_workers_never_deliver_a_row_twice(store: Store, workers: int) -> None:
    with receiving(SECRET) as receiver:
        add_endpoint(store, receiver.url, secret=SECRET)
        texts = [PRAISE, HASHTAG, HARMLESS]
        scan(store, policy(), [post(f"p{i}", texts[i % 3]) for i in range(120)])
        start = threading.Barrier(workers)
        errors: list[BaseException] = []

        def drain() -> None:
            try:
                with DeliveryWorker(store, batch=3) as w:
                    start.wait()
                    while w.run_once():
                        pass
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=drain) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert errors == []
    sent = Counter(receiver.deliveries())
    assert len(sent) == 120 and set(sent.values()) == {1}
    rows = outbox_rows(store)
    assert {(r["status"], r["attempts"]) for r in rows} == {("delivered", 1)}


def test_skip_locked_passes_over_a_row_another_worker_holds(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers instead")
    add_endpoint(store, "http://127.0.0.1:9/unused", secret=SECRET)
    scan(store, policy(), [post("a", PRAISE), post("b", HASHTAG)])
    with store.engine.connect() as holder, holder.begin():
        holder.execute(select(outbox.c.id).where(outbox.c.id == 1).with_for_update())
        found: list[int] = []
        thread = threading.Thread(target=lambda: found.extend(c.id for c in worker(store).claim()))
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "claim waited for the lock instead of skipping the row"
    assert found == [2]


def test_network_failures_redirects_and_retry_after_are_recorded(store: Store) -> None:
    with receiving(SECRET, script=[302, 429]) as receiver:
        receiver.extra_headers = {"Location": "https://elsewhere.example/"}
        add_endpoint(store, receiver.url, secret=SECRET)
        add_endpoint(store, "http://127.0.0.1:9/closed", secret=SECRET)  # nothing listens
        scan(store, policy(), [post("a", PRAISE)])
        with worker(store) as w:
            first = {o.url: o for o in w.run_once()}
            assert first[receiver.url].error == "HTTP 302: receiver says no"  # not followed
            refused = first["http://127.0.0.1:9/closed"]
            assert refused.status == "retry" and refused.error.startswith("ConnectError")
            receiver.extra_headers = {"Retry-After": "300"}
            clock(store).advance(seconds=11)
            limited = next(o for o in w.run_once() if o.url == receiver.url)
    assert limited.http_status == 429
    waited = datetime.strptime(limited.next_attempt_at or "", "%Y-%m-%dT%H:%M:%SZ")
    assert waited - datetime.strptime(clock(store)(), "%Y-%m-%dT%H:%M:%SZ") >= timedelta(
        seconds=295
    )
    assert len(receiver.received) == 2  # nothing reached elsewhere.example


def test_stopping_gives_back_what_was_not_sent(store: Store) -> None:
    with receiving(SECRET) as receiver:
        add_endpoint(store, receiver.url, secret=SECRET)
        scan(store, policy(), [post("a", PRAISE), post("b", HASHTAG)])
        stop = threading.Event()
        stop.set()
        with worker(store) as w:
            assert w.run_once(stop) == []
        assert [(r["status"], r["attempts"]) for r in outbox_rows(store)] == [("pending", 0)] * 2
        with worker(store) as w:
            assert len(w.run_once()) == 2
    assert len(receiver.received) == 2


def test_the_cli_lists_counts_and_delivers(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from arbiter.cli import app

    db = str(tmp_path / "a.db")
    runner = CliRunner()
    with receiving(SECRET, script=[500]) as receiver:
        added = runner.invoke(
            app, ["webhooks", "add", receiver.url, "--secret", SECRET, "--db", db]
        )
        assert added.exit_code == 0, added.output
        assert (
            f"secret {SECRET}" in added.stdout and "decision, reversal, suspension" in added.stdout
        )
        with Store.open(db) as store:
            scan(store, policy(), [post("a", PRAISE), post("b", HASHTAG)])
        delivered = runner.invoke(app, ["webhooks", "deliver", "--once", "--db", db])
        assert delivered.exit_code == 0, delivered.output
        assert "retry delivery 1 (decision)" in delivered.stderr
        assert "HTTP 500: receiver says no" in delivered.stderr
        assert "delivered delivery 2 (decision)" in delivered.stdout
    listed = runner.invoke(app, ["webhooks", "list", "--db", db])
    row = next(line for line in listed.stdout.splitlines() if line.startswith("│ 1 "))
    assert [cell.strip() for cell in row.split("│")[5:9]] == ["1", "1", "1", "0"]
    failing = runner.invoke(app, ["webhooks", "failing", "--db", db])
    assert failing.stdout.startswith("retrying at 20")
    assert "delivery 1 to http://127.0.0.1:" in failing.stdout
    assert (
        "(decision, decision 1, post a): 1 attempt(s); last error: HTTP 500: receiver says no"
        in (failing.stdout)
    )
    bad = runner.invoke(app, ["webhooks", "add", "ftp://x", "--db", db])
    assert bad.exit_code == 1 and "refused" in bad.stderr
    assert runner.invoke(app, ["webhooks", "remove", "1", "--db", db]).exit_code == 0
    assert runner.invoke(app, ["webhooks", "remove", "1", "--db", db]).exit_code == 1


def test_receiver_helper_rejects_bad_signatures() -> None:
    """The test receiver itself refuses unsigned requests (so the tests above mean something)."""
    import httpx

    with Receiver(SECRET) as receiver:
        response = httpx.post(
            receiver.url, content=b"{}", headers={"Arbiter-Signature": "t=1,v1=0"}
        )
    assert response.status_code == 401 and receiver.received[0].verified is False
    assert json.loads(receiver.received[0].body) == {}
