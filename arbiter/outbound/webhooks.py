"""Signed webhooks: the endpoints registry, the outbox, and the signatures receivers check.

Every live decision goes through `arbiter.store.effects.write_decisions`; that function calls
`enqueue_decisions` in the same transaction, which writes one outbox row per active endpoint
subscribed to the decision's event. A crash therefore can neither lose a webhook (the row
commits with the decision) nor invent one (a rolled-back decision takes its rows with it).
`arbiter.outbound.delivery` sends the rows afterwards, at least once each.

Events, one per decision:

- `reversal`: the decision supersedes one that was overturned (its status became `reversed`),
  including a suspension lifted because a strike was withdrawn;
- `suspension`: an account was suspended (an account decision with action `suspend`);
- `decision`: every other live decision, `allow` included.

Shadow decisions are never acted on, so they send nothing.

Each request carries `Arbiter-Signature: t=<unix>,v1=<hex>`, the HMAC-SHA256 of
`"<t>.<raw body>"` under the endpoint's secret (as Stripe signs), `Arbiter-Event`, and
`Arbiter-Delivery`, an id that stays the same across retries so a receiver can drop repeats.
"""

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from arbiter.store.audit import Event, append
from arbiter.store.database import reading
from arbiter.store.records import StoredDecision, stored_decision
from arbiter.store.schema import decisions, outbox, posts, webhook_endpoints

if TYPE_CHECKING:
    from fastapi import APIRouter

    from arbiter.store import Store

EVENTS = ("decision", "reversal", "suspension")
SIGNATURE_HEADER = "Arbiter-Signature"
EVENT_HEADER = "Arbiter-Event"
DELIVERY_HEADER = "Arbiter-Delivery"
DEFAULT_TOLERANCE = 300  # seconds a signature stays acceptable, either way of the receiver's clock
_CHUNK = 500


class WebhookError(ValueError):
    """A request about endpoints or deliveries that cannot be done, with the reason in words."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A registered receiver of webhooks."""

    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: str
    secret: str = field(repr=False)

    def as_dict(self, with_secret: bool = False) -> dict[str, Any]:
        out = {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "active": self.active,
            "created_at": self.created_at,
        }
        if with_secret:
            out["secret"] = self.secret
        return out


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row, as the console shows a delivery."""

    id: int
    endpoint_id: int
    url: str
    event: str
    status: str  # pending | delivered | dead
    attempts: int
    created_at: str
    next_attempt_at: str
    delivered_at: str | None
    last_error: str | None
    delivery_id: str
    decision_id: int | None
    post_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Signatures -----------------------------------------------------------------------------------


def _body_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def sign(secret: str, body: bytes | str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`."""
    message = f"{timestamp}.".encode() + _body_bytes(body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The `Arbiter-Signature` value for `body`: `t=<unix>,v1=<hex>`."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={sign(secret, body, t)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether `header` (an `Arbiter-Signature` value) signs exactly `body` with `secret`.

    `body` must be the raw request body, before any JSON parsing. A timestamp more than
    `tolerance` seconds away from `now` (default: this machine's clock) is refused, so a
    captured request cannot be replayed later. Several `v1=` entries may be present (one per
    secret while a secret is being rotated); one that matches is enough.
    """
    if not header or not secret:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if tolerance >= 0 and abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


# The registry ---------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh endpoint secret (256 bits, URL-safe)."""
    return "whsec_" + secrets.token_urlsafe(32)


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"an endpoint URL must be http:// or https:// with a host, not {url!r}")
    return url.strip()


def _check_events(events: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(e.strip() for e in events if e.strip()))
    if not chosen:
        raise WebhookError(f"an endpoint needs at least one event: {', '.join(EVENTS)}")
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise WebhookError(
            f"unknown event {', '.join(map(repr, unknown))} (use {', '.join(EVENTS)})"
        )
    return chosen


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        url=row.url,
        events=tuple(json.loads(row.events)),
        active=bool(row.active),
        created_at=row.created_at,
        secret=row.secret,
    )


def add_endpoint(
    store: "Store",
    url: str,
    events: Iterable[str] = EVENTS,
    secret: str | None = None,
    actor: str = "system",
) -> Endpoint:
    """Register a receiver; the returned endpoint carries its secret (show it once)."""
    url = _check_url(url)
    chosen = _check_events(events)
    key = secret or new_secret()
    if len(key) < 16:
        raise WebhookError("a webhook secret needs at least 16 characters")
    at = store.clock()
    with store.engine.begin() as connection:
        endpoint_id = int(
            connection.execute(
                insert(webhook_endpoints)
                .values(
                    url=url,
                    secret=key,
                    events=json.dumps(list(chosen)),
                    active=True,
                    created_at=at,
                )
                .returning(webhook_endpoints.c.id)
            ).scalar_one()
        )
        # Decisions leave the system through an endpoint: the log says where they go.
        subject = f"webhook:{endpoint_id}"
        added = Event("webhook.added", actor, subject, {"url": url, "events": list(chosen)})
        append(connection, [added], at)
    return Endpoint(endpoint_id, url, chosen, True, at, key)


def endpoints(store: "Store", include_inactive: bool = False) -> list[Endpoint]:
    """Registered endpoints, oldest first; removed ones only when asked."""
    query = select(webhook_endpoints).order_by(webhook_endpoints.c.id)
    if not include_inactive:
        query = query.where(webhook_endpoints.c.active.is_(True))
    with reading(store.engine) as connection:
        return [_endpoint(row) for row in connection.execute(query)]


def endpoint(store: "Store", endpoint_id: int) -> Endpoint:
    """One endpoint, by id."""
    with reading(store.engine) as connection:
        row = connection.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        ).first()
    if row is None:
        raise WebhookError(f"no webhook endpoint {endpoint_id}")
    return _endpoint(row)


def remove_endpoint(store: "Store", endpoint_id: int, actor: str = "system") -> Endpoint:
    """Stop sending to an endpoint. Its history stays; rows still pending go `dead`."""
    at = store.clock()
    with store.engine.begin() as connection:
        row = connection.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        ).first()
        if row is None:
            raise WebhookError(f"no webhook endpoint {endpoint_id}")
        if not row.active:
            raise WebhookError(f"webhook endpoint {endpoint_id} was already removed")
        connection.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(active=False)
        )
        connection.execute(
            update(outbox)
            .where(outbox.c.endpoint_id == endpoint_id, outbox.c.status == "pending")
            .values(status="dead", last_error="the endpoint was removed")
        )
        append(
            connection,
            [Event("webhook.removed", actor, f"webhook:{endpoint_id}", {"url": row.url})],
            at,
        )
    return _endpoint(row)


# Enqueueing, inside write_decisions' transaction -----------------------------------------------


class WrittenDecision(Protocol):
    """What `write_decisions` returns for each row (arbiter.store.effects.Written)."""

    @property
    def id(self) -> int: ...

    @property
    def row(self) -> Mapping[str, Any]: ...


def enqueue_decisions(connection: Connection, written: Sequence[WrittenDecision], at: str) -> int:
    """Queue one webhook per active endpoint subscribed to each live decision's event.

    Call it inside the transaction that wrote the decisions, after the superseded decisions'
    statuses were updated (a reversal is recognised by the old decision being `reversed`).
    Returns the number of outbox rows written.
    """
    live = sorted({w.id for w in written if w.row.get("mode") == "live"})
    if not live:
        return 0
    subscribed = [
        _endpoint(row)
        for row in connection.execute(
            select(webhook_endpoints)
            .where(webhook_endpoints.c.active.is_(True))
            .order_by(webhook_endpoints.c.id)
        )
    ]
    if not subscribed:
        return 0
    stored = _decisions_by_id(connection, live)
    previous = _decisions_by_id(
        connection, sorted({d.supersedes for d in stored.values() if d.supersedes is not None})
    )
    authors = _authors(
        connection, sorted({d.decision.post_id for d in stored.values() if d.subject == "post"})
    )
    rows = []
    for decision_id in live:
        decision = stored[decision_id]
        old = previous.get(decision.supersedes) if decision.supersedes is not None else None
        event = event_of(decision, old)
        targets = [e for e in subscribed if event in e.events]
        if not targets:
            continue
        payload = _payload(decision, old, event, at, authors)
        for target in targets:
            payload["delivery"] = "dlv_" + uuid.uuid4().hex
            rows.append(
                {
                    "endpoint_id": target.id,
                    "event": event,
                    "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                    "created_at": at,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": at,
                }
            )
    for start in range(0, len(rows), _CHUNK):
        connection.execute(insert(outbox), rows[start : start + _CHUNK])
    return len(rows)


def event_of(decision: StoredDecision, superseded: StoredDecision | None) -> str:
    """The webhook event a decision sends: reversal, suspension or decision."""
    if superseded is not None and superseded.status == "reversed":
        return "reversal"
    if decision.subject == "account" and decision.decision.action == "suspend":
        return "suspension"
    return "decision"


def _payload(
    decision: StoredDecision,
    superseded: StoredDecision | None,
    event: str,
    at: str,
    authors: Mapping[str, str],
) -> dict[str, Any]:
    is_post = decision.subject == "post"
    subject_id = decision.decision.post_id
    payload: dict[str, Any] = {
        "id": "evt_" + hashlib.sha256(f"{event}\0{decision.puid}".encode()).hexdigest()[:32],
        "event": event,
        "created_at": at,
        "subject": decision.subject,
        "post_id": subject_id if is_post else None,
        "account_id": (authors.get(subject_id) or None) if is_post else subject_id,
        "decision": decision.as_dict(),
    }
    if event == "reversal" and superseded is not None:
        payload["reversed"] = superseded.as_dict()
    return payload


def _decisions_by_id(connection: Connection, ids: Sequence[int]) -> dict[int, StoredDecision]:
    found: dict[int, StoredDecision] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        for row in connection.execute(select(decisions).where(decisions.c.id.in_(chunk))):
            found[row.id] = stored_decision(row)
    return found


def _authors(connection: Connection, post_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(post_ids), _CHUNK):
        chunk = list(post_ids[start : start + _CHUNK])
        for row in connection.execute(
            select(posts.c.id, posts.c.author_id).where(posts.c.id.in_(chunk))
        ):
            found[row.id] = row.author_id
    return found


# What the console shows ----------------------------------------------------------------------


def delivery_counts(store: "Store") -> dict[int, dict[str, int]]:
    """Per endpoint: rows `pending`, `retrying` (pending after a failure), `delivered`, `dead`."""
    counts: dict[int, dict[str, int]] = {}
    retrying = and_(outbox.c.status == "pending", outbox.c.attempts > 0)
    with reading(store.engine) as connection:
        rows = connection.execute(
            select(
                outbox.c.endpoint_id,
                outbox.c.status,
                retrying.label("retrying"),
                func.count().label("n"),
            ).group_by(outbox.c.endpoint_id, outbox.c.status, retrying)
        ).all()
    for row in rows:
        slot = counts.setdefault(
            row.endpoint_id, {"pending": 0, "retrying": 0, "delivered": 0, "dead": 0}
        )
        slot[row.status] = slot.get(row.status, 0) + int(row.n)
        if row.status == "pending" and row.retrying:
            slot["retrying"] += int(row.n)
    return counts


def failing_deliveries(store: "Store", limit: int = 100) -> list[Delivery]:
    """Failed deliveries, given up (`dead`) or waiting to retry after an error; newest first."""
    query = (
        select(outbox, webhook_endpoints.c.url)
        .join(webhook_endpoints, webhook_endpoints.c.id == outbox.c.endpoint_id)
        .where(
            or_(
                outbox.c.status == "dead",
                and_(outbox.c.status == "pending", outbox.c.last_error.is_not(None)),
            )
        )
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    with reading(store.engine) as connection:
        return [_delivery(row) for row in connection.execute(query)]


def deliveries(store: "Store", status: str | None = None, limit: int = 100) -> list[Delivery]:
    """Outbox rows, newest first, optionally of one status."""
    query = (
        select(outbox, webhook_endpoints.c.url)
        .join(webhook_endpoints, webhook_endpoints.c.id == outbox.c.endpoint_id)
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(outbox.c.status == status)
    with reading(store.engine) as connection:
        return [_delivery(row) for row in connection.execute(query)]


def retry_delivery(store: "Store", delivery: int) -> None:
    """Send a dead (or waiting) delivery again now, with a fresh count of attempts."""
    at = store.clock()
    with store.engine.begin() as connection:
        row = connection.execute(
            select(outbox.c.status, webhook_endpoints.c.active)
            .join(webhook_endpoints, webhook_endpoints.c.id == outbox.c.endpoint_id)
            .where(outbox.c.id == delivery)
        ).first()
        if row is None:
            raise WebhookError(f"no delivery {delivery}")
        if row.status == "delivered":
            raise WebhookError(f"delivery {delivery} was already delivered")
        if not row.active:
            raise WebhookError(f"delivery {delivery} belongs to a removed endpoint")
        connection.execute(
            update(outbox)
            .where(outbox.c.id == delivery)
            .values(status="pending", attempts=0, next_attempt_at=at)
        )


def _delivery(row: Any) -> Delivery:
    try:
        payload = json.loads(row.payload)
    except ValueError:
        payload = {}
    decision = payload.get("decision") or {}
    return Delivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        url=row.url,
        event=row.event,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        delivery_id=str(payload.get("delivery", "")),
        decision_id=decision.get("id"),
        post_id=payload.get("post_id"),
    )


# HTTP: managing endpoints ---------------------------------------------------------------------


def webhooks_router(store: "Store", dependencies: Sequence[Any] = ()) -> "APIRouter":
    """`/v1/webhooks`: list, add and remove endpoints; see and retry failing deliveries.

    `dependencies` guard every route, e.g. `[Depends(require("admin"))]`.
    """
    # Imported here, not at the top: the store imports this module, and needs no web stack.
    # (So this module does without `from __future__ import annotations`: FastAPI reads the
    # routes' annotations, and these names exist only in this function.)
    from fastapi import APIRouter, Body, HTTPException, Request
    from starlette.concurrency import run_in_threadpool

    def actor(request: Request) -> str:
        """The caller as the audit log names it: the API key's role and owner."""
        principal = getattr(request.state, "principal", None)
        owner, role = getattr(principal, "owner", None), getattr(principal, "role", None)
        return f"{role}:{owner}" if owner and role else "api"

    router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], dependencies=list(dependencies))

    @router.get("")
    async def list_endpoints() -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            counts = delivery_counts(store)
            return [
                {**e.as_dict(), "deliveries": counts.get(e.id, {})}
                for e in endpoints(store, include_inactive=True)
            ]

        return await run_in_threadpool(read)

    @router.post("", status_code=201)
    async def create_endpoint(
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        url, events = body.get("url"), body.get("events", list(EVENTS))
        if not isinstance(url, str) or not isinstance(events, list):
            raise HTTPException(422, 'send {"url": "https://…", "events": ["decision", …]}')
        try:
            created = await run_in_threadpool(
                add_endpoint, store, url, [str(e) for e in events], None, actor(request)
            )
        except WebhookError as error:
            raise HTTPException(422, str(error)) from None
        return created.as_dict(with_secret=True)

    @router.delete("/{endpoint_id}")
    async def delete_endpoint(request: Request, endpoint_id: int) -> dict[str, Any]:
        try:
            removed = await run_in_threadpool(remove_endpoint, store, endpoint_id, actor(request))
        except WebhookError as error:
            raise HTTPException(404, str(error)) from None
        return {**removed.as_dict(), "active": False}

    @router.get("/deliveries/failing")
    async def list_failing(limit: int = 100) -> list[dict[str, Any]]:
        found = await run_in_threadpool(failing_deliveries, store, max(1, min(limit, 1000)))
        return [d.as_dict() for d in found]

    @router.post("/deliveries/{delivery}/retry")
    async def retry(delivery: int) -> dict[str, Any]:
        try:
            await run_in_threadpool(retry_delivery, store, delivery)
        except WebhookError as error:
            raise HTTPException(409, str(error)) from None
        return {"id": delivery, "status": "pending"}

    return router
