"""What the console's pages show, read from the store: the queue in its order, a post with its
evidence, the audit history of a decision, appeals, and the counts in the navigation.

Everything here only reads. The console changes nothing except through the Store's methods
(and the service's `log_event` for an escalation, which the store has no field for).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, select

from arbiter.console import files
from arbiter.model import Match, Media, Post
from arbiter.policy.model import Policy
from arbiter.store import Store, StoreError
from arbiter.store.database import reading
from arbiter.store.records import StoredDecision, post_from_row, stored_decision
from arbiter.store.schema import appeals, audit_log, decisions, posts, reviews

# Most severe first; appeals come before everything (they run against a legal clock), then
# the items a moderator escalated for a senior, then severity, then age.
SEVERITY = {"remove": 0, "restrict": 1, "label": 2, "review": 3, "allow": 4}
ESCALATED = "review.escalated"  # the audit entry an escalation writes
TEXT_SIGNALS = ("text", "hashtag")
QUEUE_WINDOW = 10_000  # reviews considered for next/previous navigation


# -- the review queue ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Escalation:
    """A moderator's flag on an open review: it wants a senior's eye."""

    review_id: int
    actor: str
    at: str
    note: str


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One open review as the queue lists it."""

    review_id: int
    reason: str  # rule | sample | appeal
    queued_at: str
    decision: StoredDecision
    post: Post | None
    appeal_id: int | None
    escalation: Escalation | None

    @property
    def action(self) -> str:
        return self.decision.decision.action

    @property
    def entities(self) -> list[str]:
        return sorted({m.entity for m in self.decision.decision.matches if not m.suppressed})

    @property
    def signals(self) -> list[str]:
        return sorted({m.signal for m in self.decision.decision.matches if not m.suppressed})


def escalations(connection: Connection) -> dict[int, Escalation]:
    """Escalations logged for reviews (the latest per review); closed ones included."""
    found: dict[int, Escalation] = {}
    rows = connection.execute(
        select(audit_log.c.actor, audit_log.c.at, audit_log.c.payload)
        .where(audit_log.c.kind == ESCALATED)
        .order_by(audit_log.c.seq)
    ).all()
    for row in rows:
        payload = json.loads(row.payload)
        review_id = payload.get("review")
        if isinstance(review_id, int):
            found[review_id] = Escalation(
                review_id, row.actor, row.at, str(payload.get("note", ""))
            )
    return found


def _order(escalated: Sequence[int]) -> list[Any]:
    severity = case(SEVERITY, value=decisions.c.action, else_=len(SEVERITY))
    appeal_first = case((reviews.c.reason == "appeal", 0), else_=1)
    flagged = case((reviews.c.id.in_(list(escalated)), 0), else_=1) if escalated else literal(1)
    return [appeal_first, flagged, severity, reviews.c.queued_at, reviews.c.id]


def _open_reviews(connection: Connection, escalated: Sequence[int], limit: int) -> list[Any]:
    return list(
        connection.execute(
            select(reviews.c.id, reviews.c.reason, reviews.c.queued_at, reviews.c.decision_id)
            .join(decisions, decisions.c.id == reviews.c.decision_id)
            .where(reviews.c.status == "open")
            .order_by(*_order(escalated))
            .limit(limit)
        ).all()
    )


def queue(store: Store, limit: int = 200) -> list[QueueRow]:
    """Open reviews in the console's order, with their decisions and posts."""
    with reading(store.engine) as connection:
        flags = escalations(connection)
        rows = _open_reviews(connection, list(flags), limit)
        ids = [row.decision_id for row in rows]
        by_id = decisions_by_id(connection, ids)
        post_ids = [d.decision.post_id for d in by_id.values() if d.subject == "post"]
        found = posts_by_id(connection, post_ids)
        open_appeals = dict(
            connection.execute(
                select(appeals.c.decision_id, appeals.c.id).where(
                    appeals.c.decision_id.in_(ids), appeals.c.status == "open"
                )
            ).all()
        )
    out = []
    for row in rows:
        decision = by_id[row.decision_id]
        out.append(
            QueueRow(
                review_id=row.id,
                reason=row.reason,
                queued_at=row.queued_at,
                decision=decision,
                post=found.get(decision.decision.post_id) if decision.subject == "post" else None,
                appeal_id=open_appeals.get(row.decision_id) if row.reason == "appeal" else None,
                escalation=flags.get(row.id),
            )
        )
    return out


def queue_order(store: Store) -> list[int]:
    """The ids of the open reviews in the queue's order (for next and previous)."""
    with reading(store.engine) as connection:
        flags = escalations(connection)
        return [row.id for row in _open_reviews(connection, list(flags), QUEUE_WINDOW)]


def neighbours(order: Sequence[int], current: int) -> tuple[int | None, int | None]:
    """The previous and next review around `current` (a closed one: around where it was)."""
    if current in order:
        at = order.index(current)
        return (order[at - 1] if at > 0 else None, order[at + 1] if at + 1 < len(order) else None)
    return (None, order[0] if order else None)


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """How much waits, by why and by what the decision does."""

    total: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    by_action: dict[str, int] = field(default_factory=dict)
    escalated: int = 0


def queue_counts(store: Store) -> QueueCounts:
    with reading(store.engine) as connection:
        rows = connection.execute(
            select(reviews.c.reason, decisions.c.action, func.count())
            .join(decisions, decisions.c.id == reviews.c.decision_id)
            .where(reviews.c.status == "open")
            .group_by(reviews.c.reason, decisions.c.action)
        ).all()
        flagged = list(escalations(connection))
        escalated = (
            int(
                connection.execute(
                    select(func.count())
                    .select_from(reviews)
                    .where(reviews.c.status == "open", reviews.c.id.in_(flagged))
                ).scalar_one()
            )
            if flagged
            else 0
        )
    by_reason: dict[str, int] = {}
    by_action: dict[str, int] = {}
    for reason, action, count in rows:
        by_reason[reason] = by_reason.get(reason, 0) + int(count)
        by_action[action] = by_action.get(action, 0) + int(count)
    ordered = dict(sorted(by_action.items(), key=lambda kv: SEVERITY.get(kv[0], 9)))
    return QueueCounts(sum(by_reason.values()), by_reason, ordered, escalated)


def open_appeal_count(store: Store) -> int:
    with reading(store.engine) as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(appeals).where(appeals.c.status == "open")
            ).scalar_one()
        )


# -- rows by id ---------------------------------------------------------------------------


def decisions_by_id(connection: Connection, ids: Sequence[int]) -> dict[int, StoredDecision]:
    if not ids:
        return {}
    rows = connection.execute(select(decisions).where(decisions.c.id.in_(list(ids)))).all()
    return {row.id: stored_decision(row) for row in rows}


def posts_by_id(connection: Connection, ids: Sequence[str]) -> dict[str, Post]:
    if not ids:
        return {}
    rows = connection.execute(select(posts).where(posts.c.id.in_(list(set(ids))))).all()
    return {row.id: post_from_row(row) for row in rows}


def review_row(store: Store, review_id: int) -> Any | None:
    with reading(store.engine) as connection:
        return connection.execute(select(reviews).where(reviews.c.id == review_id)).first()


def appeal_row(store: Store, appeal_id: int) -> Any | None:
    with reading(store.engine) as connection:
        return connection.execute(select(appeals).where(appeals.c.id == appeal_id)).first()


def reviews_of(store: Store, decision_ids: Sequence[int]) -> list[Any]:
    if not decision_ids:
        return []
    with reading(store.engine) as connection:
        return list(
            connection.execute(
                select(reviews)
                .where(reviews.c.decision_id.in_(list(decision_ids)))
                .order_by(reviews.c.id)
            ).all()
        )


def appeals_of(store: Store, decision_ids: Sequence[int]) -> list[Any]:
    if not decision_ids:
        return []
    with reading(store.engine) as connection:
        return list(
            connection.execute(
                select(appeals)
                .where(appeals.c.decision_id.in_(list(decision_ids)))
                .order_by(appeals.c.id)
            ).all()
        )


def review_of_appeal(store: Store, decision_id: int) -> int | None:
    """The open review an appeal put in the queue (what escalating an appeal flags)."""
    with reading(store.engine) as connection:
        found = connection.execute(
            select(reviews.c.id).where(
                and_(
                    reviews.c.decision_id == decision_id,
                    reviews.c.reason == "appeal",
                    reviews.c.status == "open",
                )
            )
        ).scalar()
    return int(found) if found is not None else None


@dataclass(frozen=True, slots=True)
class AppealRow:
    """An appeal with the decision it contests and that decision's post."""

    appeal: Any
    decision: StoredDecision
    post: Post | None


def appeal_list(store: Store, status: str, limit: int = 200) -> list[AppealRow]:
    """Open appeals oldest first (their clock runs), or decided ones newest first."""
    order = appeals.c.id if status == "open" else appeals.c.id.desc()
    with reading(store.engine) as connection:
        rows = connection.execute(
            select(appeals).where(appeals.c.status == status).order_by(order).limit(limit)
        ).all()
        by_id = decisions_by_id(connection, [row.decision_id for row in rows])
        found = posts_by_id(
            connection, [d.decision.post_id for d in by_id.values() if d.subject == "post"]
        )
    return [
        AppealRow(row, by_id[row.decision_id], found.get(by_id[row.decision_id].decision.post_id))
        for row in rows
    ]


# -- a post's text, with its matched spans --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of a text: plain, or a matched span (the matches it carries, by index)."""

    text: str
    marks: tuple[int, ...] = ()
    start: int = 0
    end: int = 0


def pieces(text: str, spans: Sequence[tuple[int, tuple[int, int]]]) -> list[Piece]:
    """`text` cut at the matched spans; overlapping spans are joined into one mark."""
    valid = sorted(
        (start, end, index) for index, (start, end) in spans if 0 <= start < end <= len(text)
    )
    clusters: list[tuple[int, int, list[int]]] = []
    for start, end, index in valid:
        if clusters and start < clusters[-1][1]:
            first, last, indices = clusters[-1]
            clusters[-1] = (first, max(last, end), [*indices, index])
        else:
            clusters.append((start, end, [index]))
    out: list[Piece] = []
    at = 0
    for start, end, indices in clusters:
        if start > at:
            out.append(Piece(text[at:start], (), at, start))
        out.append(Piece(text[start:end], tuple(indices), start, end))
        at = end
    if at < len(text) or not out:
        out.append(Piece(text[at:], (), at, len(text)))
    return out


def text_pieces(text: str, matches: Sequence[Match]) -> list[Piece]:
    """A post's text with its text and hashtag matches marked."""
    return pieces(text, [(i, m.span) for i, m in enumerate(matches) if m.signal in TEXT_SIGNALS])


def ocr_pieces(match: Match) -> list[Piece]:
    """The OCR text a match was found in, with the matched words marked."""
    text = match.media.text if match.media is not None else ""
    if not text:
        return []
    start, end = match.span
    if text[start:end] != match.matched:
        found = text.find(match.matched) if match.matched else -1
        if found < 0:
            return pieces(text, [])
        start, end = found, found + len(match.matched)
    return pieces(text, [(0, (start, end))])


# -- a post's media and what it matched ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    """A bank entry a media match names: its file when the console can show it."""

    source: str
    shown: files.Shown | None
    url: str | None
    placeholder: str  # why there is nothing to show, when there is not


@dataclass(frozen=True, slots=True)
class MatchView:
    index: int
    match: Match
    reference: Reference | None = None
    benign: Reference | None = None
    ocr: list[Piece] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Box:
    left: int
    top: int
    width: int
    height: int
    label: str


@dataclass(frozen=True, slots=True)
class MediaView:
    """A post's media item, where to fetch it, and the matches found in it."""

    index: int
    media: Media
    shown: files.Shown | None
    url: str | None
    placeholder: str
    matches: list[MatchView]
    boxes: list[Box]


def reference(source: str, url: str, roots: Sequence[Path]) -> Reference:
    if files.hash_list_entry(source):
        return Reference(source, None, None, "hash-list entry: the list holds a hash, no image")
    found = files.shown(source, roots)
    if found is None:
        return Reference(source, None, None, "the file is not under the console's reference roots")
    return Reference(source, found, url, "")


def media_views(
    decision: StoredDecision,
    post: Post,
    media_roots: Sequence[Path],
    reference_roots: Sequence[Path],
    prefix: str,
) -> tuple[list[MediaView], list[MatchView]]:
    """Each media item of the post with its matches; and media matches naming no item."""
    by_media: dict[str, list[MatchView]] = {}
    stray: list[MatchView] = []
    for index, match in enumerate(decision.decision.matches):
        if match.media is None:
            continue
        view = _match_view(decision.id, index, match, reference_roots, prefix)
        if any(m.id == match.media.media_id for m in post.media):
            by_media.setdefault(match.media.media_id, []).append(view)
        else:
            stray.append(view)
    out = []
    for index, item in enumerate(post.media):
        found = files.shown(item.path, media_roots) if item.path else None
        if found is not None:
            url, placeholder = f"{prefix}/media/{decision.id}/posted/{index}", ""
        elif item.path:
            url, placeholder = None, "the file is not under the console's media roots"
        else:
            url, placeholder = None, "only a URL was given; the console does not fetch it"
        views = by_media.get(item.id, [])
        boxes = [
            Box(*v.match.media.box, v.match.matched)
            for v in views
            if v.match.media is not None and v.match.media.box is not None
        ]
        out.append(MediaView(index, item, found, url, placeholder, views, boxes))
    return out, stray


def _match_view(
    decision_id: int, index: int, match: Match, roots: Sequence[Path], prefix: str
) -> MatchView:
    media = match.media
    assert media is not None
    ref = None
    if media.entry:
        ref = reference(media.entry, f"{prefix}/media/{decision_id}/reference/{index}", roots)
    benign = None
    if media.suppressed_by:
        benign = reference(
            benign_source(media.suppressed_by),
            f"{prefix}/media/{decision_id}/benign/{index}",
            roots,
        )
    return MatchView(index, match, ref, benign, ocr_pieces(match) if match.signal == "ocr" else [])


def benign_source(suppressed_by: str) -> str:
    """The benign bank entry's source in `suppressed_by` ("<benign bank>:<source>")."""
    return suppressed_by.split(":", 1)[1] if ":" in suppressed_by else suppressed_by


# -- the audit history ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    seq: int
    at: str
    kind: str
    actor: str
    subject: str
    payload: dict[str, Any]
    hash: str


def history(store: Store, post: Post, stored: Sequence[StoredDecision]) -> list[HistoryEntry]:
    """The audit entries whose subject is one of these decisions or the post, in chain order
    (with strikes on the author's account that name one of the decisions)."""
    ids = {d.id for d in stored}
    subjects = {f"post:{post.id}"}
    for d in stored:
        subjects.update({f"decision:{d.puid}", f"decision:{d.id}"})
        if d.authority_request_id is not None:
            subjects.add(f"authority_request:{d.authority_request_id}")
    account = f"account:{post.author.id}" if post.author.id else None
    wanted = [*subjects, account] if account else list(subjects)
    with reading(store.engine) as connection:
        rows = connection.execute(
            select(audit_log).where(audit_log.c.subject.in_(wanted)).order_by(audit_log.c.seq)
        ).all()
    out = []
    for row in rows:
        payload = json.loads(row.payload)
        if row.subject == account and payload.get("decision") not in ids:
            continue
        out.append(
            HistoryEntry(row.seq, row.at, row.kind, row.actor, row.subject, payload, row.hash)
        )
    return out


# -- policies -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleView:
    policy_id: str
    version: int
    title: str
    terms: str
    rule_id: str | None
    when: str
    action: str
    line: int
    source: str
    entities: dict[str, str]


def rule_view(store: Store, decision: StoredDecision) -> RuleView:
    d = decision.decision
    try:
        policy: Policy | None = store.policy(d.policy, d.policy_version)
    except StoreError:
        policy = None
    if policy is None:
        return RuleView(d.policy, d.policy_version, "", "", d.rule, "", "", 0, "", {})
    rule = next((r for r in policy.rules if r.id == d.rule), None)
    return RuleView(
        policy.id,
        policy.version,
        policy.title,
        policy.grounds.terms or policy.grounds.legal_ground,
        d.rule,
        rule.when if rule else "",
        rule.action if rule else "",
        rule.line if rule else 0,
        policy.source,
        {e.id: e.names[0] if e.names else e.id for e in policy.entities},
    )


# -- time ---------------------------------------------------------------------------------


def parse_time(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def age(value: str, now: str) -> str:
    """How long ago `value` was, as a queue shows it: 3 d, 5 h, 12 min."""
    then, current = parse_time(value), parse_time(now)
    if then is None or current is None:
        return ""
    seconds = max(0, int((current - then).total_seconds()))
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return "now"
