"""Orders from governments and courts, recorded as what they are and linked to what they caused.

A decision taken on an order is kept apart from decisions under the platform's
own terms: it belongs to the pseudo-policy `authority-order` (version 0), carries
the order's id, and its statement of reasons cites the order's legal basis.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from arbiter.model import Decision
from arbiter.policy.enforcement import Enforcement
from arbiter.store.audit import Event
from arbiter.store.effects import Written, write_decisions
from arbiter.store.records import decision_row
from arbiter.store.schema import authority_requests, posts

AUTHORITY_POLICY = "authority-order"
ORDER_RULE = "order"  # the one rule of the pseudo-policy: "do what the order says"
ORDER_ACTIONS = ("remove", "restrict")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class AuthorityError(ValueError):
    """An order that cannot be recorded as given."""


@dataclass(frozen=True, slots=True)
class AuthorityRequest:
    """A takedown order: who ordered it, on what legal basis, where, and what it caused."""

    id: int
    authority: str
    legal_basis: str
    reference: str
    issued_on: str
    territorial_scope: tuple[str, ...]
    action: str
    recorded_at: str
    recorded_by: str


def record_request(
    connection: Connection,
    request: AuthorityRequest,
    post_ids: list[str],
    enforcement: Enforcement,
) -> tuple[int, list[Written]]:
    """Store an order and one decision per named post; returns the order's id and decisions."""
    _check(request, post_ids)
    known = set(connection.execute(select(posts.c.id).where(posts.c.id.in_(post_ids))).scalars())
    unknown = [p for p in post_ids if p not in known]
    if unknown:
        raise AuthorityError(f"the order names posts the store has not seen: {', '.join(unknown)}")
    request_id = int(
        connection.execute(
            insert(authority_requests)
            .values(
                authority=request.authority,
                legal_basis=request.legal_basis,
                reference=request.reference,
                issued_on=request.issued_on,
                territorial_scope=json.dumps(list(request.territorial_scope)),
                action=request.action,
                recorded_at=request.recorded_at,
                recorded_by=request.recorded_by,
            )
            .returning(authority_requests.c.id)
        ).scalar_one()
    )
    event = Event(
        "authority",
        f"moderator:{request.recorded_by}",
        f"authority_request:{request_id}",
        {
            "authority": request.authority,
            "legal_basis": request.legal_basis,
            "reference": request.reference,
            "issued_on": request.issued_on,
            "scope": list(request.territorial_scope),
            "action": request.action,
            "posts": post_ids,
        },
    )
    hashes = dict(
        connection.execute(
            select(posts.c.id, posts.c.content_hash).where(posts.c.id.in_(post_ids))
        ).all()
    )
    authors: dict[str, str] = {
        row.id: row.author_id
        for row in connection.execute(
            select(posts.c.id, posts.c.author_id).where(posts.c.id.in_(post_ids))
        )
    }
    rows = [_order_row(request, request_id, p, hashes[p]) for p in post_ids]
    written = write_decisions(
        connection,
        rows,
        enforcement,
        request.recorded_at,
        {p: a for p, a in authors.items() if a},
        extra_events=[event],
    )
    return request_id, written


def _check(request: AuthorityRequest, post_ids: list[str]) -> None:
    problems = []
    if not request.authority.strip():
        problems.append("the requesting authority is missing")
    if not request.legal_basis.strip():
        problems.append("the legal basis is missing")
    if not _DATE.match(request.issued_on):
        problems.append(f"the order's date must be YYYY-MM-DD, not {request.issued_on!r}")
    bad = [c for c in request.territorial_scope if not _COUNTRY.match(c)]
    if bad:
        problems.append(f"territorial scope must be ISO 3166 alpha-2 codes: {', '.join(bad)}")
    if request.action not in ORDER_ACTIONS:
        problems.append(f"the ordered action must be one of {', '.join(ORDER_ACTIONS)}")
    if request.action == "restrict" and not request.territorial_scope:
        problems.append("a restriction (withholding) order needs its territorial scope")
    if not post_ids:
        problems.append("the order names no posts")
    if problems:
        raise AuthorityError("; ".join(problems))


def _order_row(
    request: AuthorityRequest, request_id: int, post_id: str, content: str
) -> dict[str, Any]:
    decision = Decision(
        post_id=post_id,
        action=request.action,
        policy=AUTHORITY_POLICY,
        policy_version=0,
        rule=ORDER_RULE,
        decided_at=request.recorded_at,
        automated=False,
        territorial_scope=request.territorial_scope,
    )
    return decision_row(
        decision,
        mode="live",
        content=content,
        status="in_force",
        actor=f"moderator:{request.recorded_by}",
        source="authority",
        reason=f"{request.authority}, order {request.reference} of {request.issued_on}",
        authority_request_id=request_id,
    )


def stored_request(row: Any) -> AuthorityRequest:
    """Read an authority_requests row back."""
    return AuthorityRequest(
        id=row.id,
        authority=row.authority,
        legal_basis=row.legal_basis,
        reference=row.reference,
        issued_on=row.issued_on,
        territorial_scope=tuple(json.loads(row.territorial_scope)),
        action=row.action,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
    )
