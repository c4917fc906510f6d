"""The delivery worker: sends what the outbox holds, at least once each, backing off on failure.

A worker claims due rows (`pending`, `next_attempt_at <= now`, in id order) in a short
transaction: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two workers never claim the same
row, and on SQLite under the write lock every writer takes. Claiming counts the attempt and
moves `next_attempt_at` forward by a lease; the row is then posted with no transaction open.
Its outcome is written only if the row is still the one this worker claimed (same status and
attempt count), so a worker that stalled past its lease cannot overwrite a later attempt.

If the process dies between claiming and recording, the row stays `pending` with the attempt
counted; once its lease runs out any worker picks it up again. A receiver may therefore see a
delivery twice, and drops the repeat by its `Arbiter-Delivery` id.

Failed attempts wait 10 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, then 6 h between tries
(each ±20 % at random, so receivers coming back up are not hit all at once; a longer
`Retry-After` from the receiver is honoured, up to the cap). After `max_attempts` the row is
`dead`, with the last error kept; `arbiter webhooks retry` sends it again.
"""

from __future__ import annotations

import json
import random as _random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select, update

from arbiter.outbound.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from arbiter.store.schema import outbox, webhook_endpoints

if TYPE_CHECKING:
    from arbiter.store import Store

BACKOFF = (10, 30, 120, 600, 1800, 3600, 10800, 21600)  # seconds; the last one repeats
MAX_ATTEMPTS = 12  # the last try comes about 29 hours after the first
TIMEOUT = 10.0
BATCH = 10
USER_AGENT = "Arbiter-Webhooks/1"
_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row this worker holds for one attempt."""

    id: int
    endpoint_id: int
    url: str
    secret: str
    event: str
    payload: str
    attempts: int  # counting this attempt


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt did."""

    id: int
    endpoint_id: int
    url: str
    event: str
    status: str  # delivered | retry | dead | lost (another worker took the row over meanwhile)
    attempts: int
    http_status: int | None = None
    error: str | None = None
    next_attempt_at: str | None = None


def _parse(at: str) -> datetime:
    return datetime.strptime(at, _TIME).replace(tzinfo=UTC)


def _later(at: str, seconds: float) -> str:
    return (_parse(at) + timedelta(seconds=seconds)).strftime(_TIME)


def _retry_after(value: str | None, now: str) -> float | None:
    """Seconds a `Retry-After` header asks for (a number or an HTTP date), if any."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - _parse(now)).total_seconds())


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class DeliveryWorker:
    """Delivers due outbox rows; `run_once` for one batch, `run` until told to stop.

    `clock` (the store's clock by default) decides what is due and when to retry; `wall` gives
    the Unix time a request is signed with. Tests inject both, and `random` for the jitter.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], str] | None = None,
        client: httpx.Client | None = None,
        timeout: float = TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: Sequence[float] = BACKOFF,
        jitter: float = 0.2,
        random: Callable[[], float] = _random.random,
        wall: Callable[[], float] = time.time,
        batch: int = BATCH,
        lease: float | None = None,
    ):
        if max_attempts < 1 or not backoff or batch < 1:
            raise ValueError("max_attempts, backoff and batch must be positive")
        self.store = store
        self.clock = clock or store.clock
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = tuple(backoff)
        self.jitter = jitter
        self.random = random
        self.wall = wall
        self.batch = batch
        self.lease = lease
        self._own_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # a signed body goes only where it was registered to go
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> DeliveryWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Claiming -------------------------------------------------------------------------------

    def lease_for(self, rows: int) -> float:
        """How long claimed rows stay out of other workers' reach: longer than sending them."""
        if self.lease is not None:
            return self.lease
        # httpx's timeout bounds each phase (connect, write, read, pool), not the whole request.
        return rows * self.timeout * 4 + 60

    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Take up to `limit` due rows, counting an attempt on each."""
        limit = limit or self.batch
        now = self.clock()
        engine = self.store.engine
        with engine.begin() as connection:
            due = (
                select(outbox.c.id)
                .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
                .order_by(outbox.c.id)
                .limit(limit)
            )
            if engine.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list(connection.execute(due).scalars())
            if not ids:
                return []
            until = _later(now, self.lease_for(len(ids)))
            # The conditions are checked again as the rows are updated: a row another worker
            # claimed meanwhile no longer qualifies and is not returned.
            taken = connection.execute(
                update(outbox)
                .where(
                    outbox.c.id.in_(ids),
                    outbox.c.status == "pending",
                    outbox.c.next_attempt_at <= now,
                )
                .values(attempts=outbox.c.attempts + 1, next_attempt_at=until)
                .returning(
                    outbox.c.id,
                    outbox.c.endpoint_id,
                    outbox.c.event,
                    outbox.c.payload,
                    outbox.c.attempts,
                )
            ).all()
            targets = {
                row.id: row
                for row in connection.execute(
                    select(webhook_endpoints).where(
                        webhook_endpoints.c.id.in_({row.endpoint_id for row in taken})
                    )
                )
            }
            gone = [row.id for row in taken if not targets[row.endpoint_id].active]
            if gone:
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(gone))
                    .values(status="dead", last_error="the endpoint was removed")
                )
        return [
            Claimed(
                id=row.id,
                endpoint_id=row.endpoint_id,
                url=targets[row.endpoint_id].url,
                secret=targets[row.endpoint_id].secret,
                event=row.event,
                payload=row.payload,
                attempts=row.attempts,
            )
            for row in sorted(taken, key=lambda r: r.id)
            if row.id not in gone
        ]

    def release(self, items: Sequence[Claimed]) -> None:
        """Give back rows claimed but not sent (on shutdown): due again now, attempt uncounted."""
        if not items:
            return
        now = self.clock()
        with self.store.engine.begin() as connection:
            for item in items:
                connection.execute(
                    update(outbox)
                    .where(
                        outbox.c.id == item.id,
                        outbox.c.status == "pending",
                        outbox.c.attempts == item.attempts,
                    )
                    .values(attempts=item.attempts - 1, next_attempt_at=now)
                )

    # Sending --------------------------------------------------------------------------------

    def headers(self, item: Claimed) -> dict[str, str]:
        """The request headers for one attempt, signed now."""
        try:
            delivery = str(json.loads(item.payload).get("delivery") or "")
        except ValueError:
            delivery = ""
        body = item.payload.encode("utf-8")
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(item.secret, body, int(self.wall())),
            EVENT_HEADER: item.event,
            DELIVERY_HEADER: delivery or f"outbox-{item.id}",
        }

    def send(self, item: Claimed) -> Outcome:
        """POST one claimed row and record what happened."""
        http_status: int | None = None
        error: str | None = None
        wait: float | None = None
        try:
            response = self.client.post(
                item.url, content=item.payload.encode("utf-8"), headers=self.headers(item)
            )
        except httpx.HTTPError as failure:
            error = _one_line(f"{type(failure).__name__}: {failure}")
        else:
            http_status = response.status_code
            if not 200 <= http_status < 300:
                error = _one_line(f"HTTP {http_status}: {response.text}")
                wait = _retry_after(response.headers.get("Retry-After"), self.clock())
        return self._record(item, http_status, error, wait)

    def delay(self, attempts: int, asked: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        base = self.backoff[min(attempts, len(self.backoff)) - 1]
        jittered = base * (1 + self.jitter * (2 * self.random() - 1))
        if asked is not None:
            jittered = max(jittered, min(asked, max(self.backoff)))
        return max(1.0, round(jittered))

    def _record(
        self, item: Claimed, http_status: int | None, error: str | None, wait: float | None
    ) -> Outcome:
        now = self.clock()
        next_at: str | None = None
        if error is None:
            status = "delivered"
            values: dict[str, object] = {"status": "delivered", "delivered_at": now}
        elif item.attempts >= self.max_attempts:
            status = "dead"
            values = {"status": "dead", "last_error": error}
        else:
            status = "retry"
            next_at = _later(now, self.delay(item.attempts, wait))
            values = {"next_attempt_at": next_at, "last_error": error}
        with self.store.engine.begin() as connection:
            result = connection.execute(
                update(outbox)
                .where(
                    outbox.c.id == item.id,
                    outbox.c.status == "pending",
                    outbox.c.attempts == item.attempts,
                )
                .values(**values)
            )
        if result.rowcount == 0:
            status, next_at = "lost", None
        return Outcome(
            item.id,
            item.endpoint_id,
            item.url,
            item.event,
            status,
            item.attempts,
            http_status,
            error,
            next_at,
        )

    # Running --------------------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> list[Outcome]:
        """Claim one batch and send it; rows not reached before `stop` is set are given back."""
        items = self.claim()
        outcomes = []
        for index, item in enumerate(items):
            if stop is not None and stop.is_set():
                self.release(items[index:])
                break
            outcomes.append(self.send(item))
        return outcomes

    def run(
        self,
        stop: threading.Event,
        interval: float = 1.0,
        report: Callable[[Outcome], None] | None = None,
    ) -> None:
        """Deliver until `stop` is set, resting `interval` seconds whenever nothing is due."""
        while not stop.is_set():
            outcomes = self.run_once(stop)
            for outcome in outcomes:
                if report is not None:
                    report(outcome)
            if not outcomes:
                stop.wait(interval)
