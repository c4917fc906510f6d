"""Rows for posts and decisions: how a Post and a Decision are written down, and their digests."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Row

from arbiter.model import Decision, Match, Post
from arbiter.store.audit import canonical

# What each action does to a post, most severe first.
POST_STATES = {"remove": "removed", "restrict": "restricted", "label": "labelled"}
SEVERITY = ("removed", "restricted", "labelled", "visible")


def content_hash(post: Post) -> str:
    """A hash of what a post says and shows: an edited post is a new piece of content."""
    content = {
        "text": post.text,
        "media": [[m.id, m.type, m.path, m.url] for m in post.media],
    }
    return hashlib.sha256(canonical(content).encode()).hexdigest()


def dedupe_key(mode: str, policy_id: str, version: int, post_id: str, content: str) -> str:
    """The key that makes re-deciding the same content with the same policy version a no-op."""
    return hashlib.sha256(
        f"{mode}\0{policy_id}\0{version}\0{post_id}\0{content}".encode()
    ).hexdigest()


def post_row(post: Post, content: str, seen_at: str) -> dict[str, Any]:
    """The posts-table row for `post`."""
    return {
        "id": post.id,
        "author_id": post.author.id,
        "author_handle": post.author.handle,
        "author_country": post.author.country,
        "lang": post.lang,
        "created_at": post.created_at,
        "url": post.url,
        "text": post.text,
        "media": orjson.dumps(
            [{"id": m.id, "type": m.type, "path": m.path, "url": m.url} for m in post.media]
        ).decode(),
        "content_hash": content,
        "first_seen": seen_at,
        "state": "visible",
    }


# The columns a decision's digest covers: everything but its mutable status.
DIGESTED = (
    "puid",
    "subject",
    "post_id",
    "content_hash",
    "policy_id",
    "policy_version",
    "mode",
    "rule",
    "action",
    "automated",
    "actor",
    "source",
    "decided_at",
    "matches",
    "territorial_scope",
    "reason",
    "authority_request_id",
    "supersedes",
    "restriction_until",
)


_DIGESTED = itemgetter(*DIGESTED)


def digest(row: dict[str, Any] | Row[Any]) -> str:
    """SHA-256 of a decision's immutable columns; the audit log keeps it.

    The JSON array of the columns' values in DIGESTED's order, as orjson writes it.
    """
    values = row._mapping if isinstance(row, Row) else row
    return hashlib.sha256(orjson.dumps(_DIGESTED(values))).hexdigest()


def decision_row(
    decision: Decision,
    *,
    mode: str,
    content: str,
    status: str,
    actor: str | None = None,
    source: str = "scan",
    subject: str = "post",
    reason: str = "",
    puid: str | None = None,
    key: str | None = None,
    authority_request_id: int | None = None,
    supersedes: int | None = None,
    restriction_until: str | None = None,
) -> dict[str, Any]:
    """The decisions-table row for `decision`."""
    return {
        # Automated decisions get a puid derived from their key, so a re-run yields the same one.
        "puid": puid or f"arb-{(key or uuid.uuid4().hex)[:32]}",
        "dedupe_key": key,
        "subject": subject,
        "post_id": decision.post_id,
        "content_hash": content,
        "policy_id": decision.policy,
        "policy_version": decision.policy_version,
        "mode": mode,
        "rule": decision.rule,
        "action": decision.action,
        "automated": decision.automated,
        "actor": actor or (f"rule:{decision.rule}" if decision.rule else "rule:(none)"),
        "source": source,
        "decided_at": decision.decided_at,
        "matches": orjson.dumps([m.as_dict() for m in decision.matches]).decode(),
        "territorial_scope": orjson.dumps(decision.territorial_scope).decode(),
        "reason": reason,
        "authority_request_id": authority_request_id,
        "supersedes": supersedes,
        "restriction_until": restriction_until,
        "status": status,
    }


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decision as the store holds it: the engine's decision plus its record-keeping."""

    id: int
    puid: str
    decision: Decision
    subject: str
    mode: str
    actor: str
    source: str
    status: str
    reason: str
    content_hash: str
    authority_request_id: int | None
    supersedes: int | None
    restriction_until: str | None

    def as_dict(self) -> dict[str, Any]:
        out = self.decision.as_dict()
        out.update(
            id=self.id,
            puid=self.puid,
            subject=self.subject,
            mode=self.mode,
            actor=self.actor,
            source=self.source,
            status=self.status,
        )
        if self.reason:
            out["reason"] = self.reason
        if self.supersedes is not None:
            out["supersedes"] = self.supersedes
        if self.authority_request_id is not None:
            out["authority_request"] = self.authority_request_id
        if self.restriction_until is not None:
            out["restriction_until"] = self.restriction_until
        return out


def stored_decision(row: Row[Any]) -> StoredDecision:
    """Read a decisions-table row back."""
    matches = tuple(Match.from_dict(m) for m in json.loads(row.matches))
    decision = Decision(
        post_id=row.post_id,
        action=row.action,
        policy=row.policy_id,
        policy_version=row.policy_version,
        rule=row.rule,
        decided_at=row.decided_at,
        matches=matches,
        automated=bool(row.automated),
        territorial_scope=tuple(json.loads(row.territorial_scope)),
    )
    return StoredDecision(
        id=row.id,
        puid=row.puid,
        decision=decision,
        subject=row.subject,
        mode=row.mode,
        actor=row.actor,
        source=row.source,
        status=row.status,
        reason=row.reason,
        content_hash=row.content_hash,
        authority_request_id=row.authority_request_id,
        supersedes=row.supersedes,
        restriction_until=row.restriction_until,
    )


def post_from_row(row: Row[Any]) -> Post:
    """Rebuild the Post a posts-table row was written from."""
    data = {
        "id": row.id,
        "text": row.text,
        "lang": row.lang,
        "created_at": row.created_at,
        "url": row.url,
        "author": {"id": row.author_id, "handle": row.author_handle, "country": row.author_country},
        "media": json.loads(row.media),
    }
    return Post.from_dict(data)
