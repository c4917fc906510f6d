"""People deciding: the review queue, moderators' outcomes, and authors' appeals.

A moderator's outcome that changes a decision is itself a new decision that
supersedes the old one (so each has its own statement of reasons and audit
entry); an outcome that overturns marks the old one `reversed`, which restores
the post and withdraws its strike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from arbiter.model import Decision
from arbiter.policy.enforcement import Enforcement
from arbiter.store.audit import Event
from arbiter.store.effects import Written, shifted, write_decisions
from arbiter.store.records import StoredDecision, decision_row, stored_decision
from arbiter.store.schema import appeals, decisions, posts, reviews

HUMAN_ACTIONS = ("remove", "restrict", "label", "allow")
APPEAL_OUTCOMES = ("upheld", "overturned")
APPEAL_WINDOW_DAYS = 183  # DSA Art. 20(1): at least six months after the decision


class ModerationError(ValueError):
    """A review or appeal step that is not allowed, with the reason in words."""


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One open review: the decision waiting and why it waits."""

    review_id: int
    reason: str  # rule | sample | appeal
    queued_at: str
    decision: StoredDecision
    appeal_id: int | None = None


def review_queue(connection: Connection, limit: int = 50) -> list[QueueItem]:
    """Open reviews, oldest first."""
    items = connection.execute(
        select(reviews)
        .where(reviews.c.status == "open")
        .order_by(reviews.c.queued_at, reviews.c.id)
        .limit(limit)
    ).all()
    ids = {item.decision_id for item in items}
    rows = connection.execute(select(decisions).where(decisions.c.id.in_(ids))).all()
    by_id = {row.id: stored_decision(row) for row in rows}
    open_appeals = dict(
        connection.execute(
            select(appeals.c.decision_id, appeals.c.id).where(
                appeals.c.decision_id.in_(ids), appeals.c.status == "open"
            )
        ).all()
    )
    return [
        QueueItem(
            item.id,
            item.reason,
            item.queued_at,
            by_id[item.decision_id],
            open_appeals.get(item.decision_id) if item.reason == "appeal" else None,
        )
        for item in items
    ]


def decide_review(
    connection: Connection,
    review_id: int,
    moderator: str,
    action: str,
    note: str,
    enforcement: Enforcement,
    at: str,
    territorial_scope: tuple[str, ...] = (),
) -> StoredDecision | None:
    """Close a review with the moderator's action; returns the new decision if there is one."""
    if action not in HUMAN_ACTIONS:
        raise ModerationError(f"action must be one of {', '.join(HUMAN_ACTIONS)}")
    if not note.strip():
        raise ModerationError("a review needs a reason in words")
    item = connection.execute(
        select(reviews).where(reviews.c.id == review_id).with_for_update()
    ).first()
    if item is None:
        raise ModerationError(f"no review {review_id}")
    if item.status != "open":
        raise ModerationError(f"review {review_id} is already closed ({item.outcome})")
    original = _decision(connection, item.decision_id)
    if original.status not in ("in_force", "pending_review"):
        raise ModerationError(
            f"decision {original.id} is {original.status}; review the decision now in force"
        )
    stands = action == original.decision.action and original.status == "in_force"
    outcome = "confirmed" if action != "allow" else "overturned"
    if original.status == "in_force" and not stands:
        outcome = "overturned"
    new = None
    extra = [
        Event(
            "review",
            f"moderator:{moderator}",
            f"decision:{original.puid}",
            {
                "review": review_id,
                "reason": item.reason,
                "outcome": outcome,
                "action": action,
                "note": note,
            },
        )
    ]
    if not stands:
        scope = territorial_scope or original.decision.territorial_scope
        written = _supersede(
            connection,
            original,
            action,
            moderator,
            "review",
            note,
            enforcement,
            at,
            scope if action == "restrict" else (),
            reversal=outcome == "overturned" and original.status == "in_force",
            extra_events=extra,
        )
        new = stored_decision(_fetch(connection, written.id))
    else:
        write_decisions(connection, [], enforcement, at, extra_events=extra)
    connection.execute(
        update(reviews)
        .where(reviews.c.id == review_id)
        .values(
            status="closed",
            moderator=moderator,
            outcome=outcome,
            action=action,
            note=note,
            decided_at=at,
            result_decision_id=new.id if new else None,
        )
    )
    return new


def file_appeal(
    connection: Connection,
    decision_ref: int,
    filed_by: str,
    statement: str,
    enforcement: Enforcement,
    at: str,
) -> int:
    """An author contests a decision in force; returns the appeal's id."""
    decision = _decision(connection, decision_ref)
    if decision.mode != "live" or decision.status != "in_force":
        raise ModerationError(
            f"decision {decision.id} is {decision.status}: only a live decision in force can be "
            "appealed"
        )
    if decision.decision.action == "allow":
        raise ModerationError(
            f"decision {decision.id} allowed the content; there is nothing to appeal"
        )
    author = _author_of(connection, decision)
    if author and filed_by != author:
        raise ModerationError(f"only the author ({author}) can appeal decision {decision.id}")
    if at > shifted(decision.decision.decided_at, APPEAL_WINDOW_DAYS):
        raise ModerationError(
            f"the appeal window of {APPEAL_WINDOW_DAYS} days after {decision.decision.decided_at} "
            "has closed"
        )
    pending = connection.execute(
        select(appeals.c.id).where(appeals.c.decision_id == decision.id, appeals.c.status == "open")
    ).first()
    if pending is not None:
        raise ModerationError(f"decision {decision.id} already has an open appeal ({pending.id})")
    appeal_id = int(
        connection.execute(
            insert(appeals)
            .values(
                decision_id=decision.id,
                filed_by=filed_by,
                filed_at=at,
                statement=statement,
                status="open",
            )
            .returning(appeals.c.id)
        ).scalar_one()
    )
    connection.execute(
        insert(reviews).values(
            decision_id=decision.id, reason="appeal", queued_at=at, status="open"
        )
    )
    event = Event(
        "appeal",
        f"user:{filed_by}",
        f"decision:{decision.puid}",
        {"appeal": appeal_id, "status": "filed"},
    )
    write_decisions(connection, [], enforcement, at, extra_events=[event])
    return appeal_id


def decide_appeal(
    connection: Connection,
    appeal_id: int,
    moderator: str,
    outcome: str,
    note: str,
    enforcement: Enforcement,
    at: str,
    action: str = "allow",
) -> StoredDecision | None:
    """Decide an appeal; a moderator who took part in the decision may not."""
    if outcome not in APPEAL_OUTCOMES:
        raise ModerationError(f"outcome must be one of {', '.join(APPEAL_OUTCOMES)}")
    if not note.strip():
        raise ModerationError("an appeal outcome needs a reason in words")
    appeal = connection.execute(
        select(appeals).where(appeals.c.id == appeal_id).with_for_update()
    ).first()
    if appeal is None:
        raise ModerationError(f"no appeal {appeal_id}")
    if appeal.status != "open":
        raise ModerationError(f"appeal {appeal_id} was already decided ({appeal.outcome})")
    decision = _decision(connection, appeal.decision_id)
    involved = _moderators_behind(connection, decision)
    if moderator in involved:
        raise ModerationError(
            f"moderator {moderator} took part in decision {decision.id}; "
            "DSA Art. 20(6) wants another person to decide the appeal"
        )
    event = Event(
        "appeal",
        f"moderator:{moderator}",
        f"decision:{decision.puid}",
        {"appeal": appeal_id, "status": "decided", "outcome": outcome, "note": note},
    )
    new = None
    if outcome == "overturned":
        if action == decision.decision.action or action not in HUMAN_ACTIONS:
            raise ModerationError("an overturned appeal needs a different, lesser action")
        written = _supersede(
            connection,
            decision,
            action,
            moderator,
            "appeal",
            note,
            enforcement,
            at,
            decision.decision.territorial_scope if action == "restrict" else (),
            reversal=True,
            extra_events=[event],
        )
        new = stored_decision(_fetch(connection, written.id))
    else:
        write_decisions(connection, [], enforcement, at, extra_events=[event])
    connection.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id)
        .values(
            status="decided",
            moderator=moderator,
            outcome=outcome,
            note=note,
            decided_at=at,
            result_decision_id=new.id if new else None,
        )
    )
    connection.execute(
        update(reviews)
        .where(
            reviews.c.decision_id == decision.id,
            reviews.c.reason == "appeal",
            reviews.c.status == "open",
        )
        .values(status="closed", moderator=moderator, outcome=outcome, note=note, decided_at=at)
    )
    return new


def _supersede(
    connection: Connection,
    original: StoredDecision,
    action: str,
    moderator: str,
    source: str,
    note: str,
    enforcement: Enforcement,
    at: str,
    territorial_scope: tuple[str, ...],
    *,
    reversal: bool,
    extra_events: list[Event],
) -> Written:
    decision = Decision(
        post_id=original.decision.post_id,
        action=action,
        policy=original.decision.policy,
        policy_version=original.decision.policy_version,
        rule=original.decision.rule,
        decided_at=at,
        matches=original.decision.matches,
        automated=False,
        territorial_scope=territorial_scope,
    )
    row = decision_row(
        decision,
        mode="live",
        content=original.content_hash,
        status="in_force",
        actor=f"moderator:{moderator}",
        source=source,
        subject=original.subject,
        reason=note,
        authority_request_id=original.authority_request_id,
        supersedes=original.id,
    )
    authors = {}
    author = _author_of(connection, original)
    if author:
        authors[original.decision.post_id] = author
    written = write_decisions(
        connection,
        [row],
        enforcement,
        at,
        authors,
        extra_events=extra_events,
        reversals=frozenset({original.id}) if reversal else frozenset(),
    )
    return written[0]


def _fetch(connection: Connection, decision_id: int) -> Any:
    return connection.execute(select(decisions).where(decisions.c.id == decision_id)).one()


def _decision(connection: Connection, decision_id: int) -> StoredDecision:
    row = connection.execute(select(decisions).where(decisions.c.id == decision_id)).first()
    if row is None:
        raise ModerationError(f"no decision {decision_id}")
    return stored_decision(row)


def _author_of(connection: Connection, decision: StoredDecision) -> str:
    if decision.subject == "account":
        return decision.decision.post_id
    author = connection.execute(
        select(posts.c.author_id).where(posts.c.id == decision.decision.post_id)
    ).scalar()
    return str(author or "")


def _moderators_behind(connection: Connection, decision: StoredDecision) -> set[str]:
    """Every moderator who decided this decision or one it superseded."""
    names: set[str] = set()
    current: StoredDecision | None = decision
    while current is not None:
        if current.actor.startswith("moderator:"):
            names.add(current.actor.removeprefix("moderator:"))
        # Whoever reviewed it counts, whether they changed it or confirmed it as it was.
        reviewers = connection.execute(
            select(reviews.c.moderator).where(
                (reviews.c.result_decision_id == current.id)
                | ((reviews.c.decision_id == current.id) & reviews.c.moderator.is_not(None))
            )
        ).scalars()
        names.update(str(name) for name in reviewers if name)
        current = _decision(connection, current.supersedes) if current.supersedes else None
    return names
