"""Writing decisions and what follows from them: the review queue, samples, strikes, post state.

Every path that decides (a scan, a moderator, an appeal, an authority's order,
a rescan) goes through `write_decisions`, so each decision lands with its audit
entry and its consequences in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from arbiter.model import Decision
from arbiter.outbound import webhooks
from arbiter.policy.enforcement import Enforcement
from arbiter.store.audit import Event, append, lock_head
from arbiter.store.bulk import fetch_all, insert_rows, insert_tuples
from arbiter.store.database import one_of
from arbiter.store.records import POST_STATES, SEVERITY, decision_row, digest
from arbiter.store.schema import decisions, posts, reviews, strikes


def sampled(puid: str, rate: float) -> bool:
    """Whether a decision falls in the review sample; the same decision always answers the same."""
    if rate <= 0:
        return False
    return int(hashlib.sha256(puid.encode()).hexdigest()[:8], 16) < rate * 0x1_0000_0000


def shifted(at: str, days: int) -> str:
    """`at` plus `days`, in the store's time format."""
    moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (moment + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Written:
    """A decision row as inserted, with its id."""

    id: int
    row: dict[str, Any]


def write_decisions(
    connection: Connection,
    rows: list[dict[str, Any]],
    enforcement: Enforcement,
    at: str,
    author_of: dict[str, str] | None = None,
    extra_events: Iterable[Event] = (),
    reversals: frozenset[int] = frozenset(),
    new_posts: frozenset[str] = frozenset(),
) -> list[Written]:
    """Insert decision rows, chain one audit entry each, and apply their consequences.

    `reversals` names superseded decisions that were overturned rather than confirmed.
    `new_posts` names posts inserted in this transaction with the state these rows give
    them (`post_state`): they have no other decision, so their state needs no refresh.
    """
    if not rows:
        append(connection, extra_events, at)
        return []
    written = chain_decisions(connection, rows, at)
    # The decisions' entries come first in the chain, then the events they caused.
    events = list(extra_events)
    events.extend(_queue_reviews(connection, written, enforcement, at))
    events.extend(_supersede(connection, written, enforcement, at, reversals))
    events.extend(_add_strikes(connection, written, enforcement, at, author_of or {}))
    append(connection, events, at)
    webhooks.enqueue_decisions(connection, written, at)  # same transaction: never lost
    refresh_post_states(
        connection,
        {w.row["post_id"] for w in written if w.row["subject"] == "post"} - new_posts,
    )
    accounts = _account_decisions(connection, events, enforcement, at)
    if accounts:
        lifted = frozenset(row["supersedes"] for row in accounts if row["supersedes"] is not None)
        written += write_decisions(connection, accounts, enforcement, at, reversals=lifted)
    return written


def insert_decisions(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert decision rows as they are: no ids read back, no audit entries, no consequences."""
    insert_rows(connection, decisions, rows)


def chain_decisions(connection: Connection, rows: list[dict[str, Any]], at: str) -> list[Written]:
    """Insert decision rows and chain one audit entry each; the rows with their ids.

    This is the audit chain's whole cost for a batch of decisions: `write_decisions` starts
    with it, and `arbiter bench store` times it against `insert_decisions` alone.
    """
    if not rows:
        return []
    # Holding the chain's head serializes writers, so the rows inserted now are exactly
    # those above the highest id: no RETURNING, which makes drivers build huge statements.
    head = lock_head(connection)
    ((before,),) = fetch_all(connection, "SELECT coalesce(max(id), 0) FROM decisions")
    insert_decisions(connection, rows)
    # In id order with a limit, so that PostgreSQL walks the primary key even before the
    # table has statistics: planned blind, `id > n` alone scans the whole table.
    ids: dict[str, int] = dict(
        fetch_all(
            connection,
            f"SELECT puid, id FROM decisions WHERE id > {int(before)} "
            f"ORDER BY id LIMIT {len(rows)}",
        )
    )
    written = [Written(ids[row["puid"]], row) for row in rows]
    append(connection, [_decision_event(w) for w in written], at, head)
    return written


def _account_decisions(
    connection: Connection,
    events: list[Event],
    enforcement: Enforcement,
    at: str,
) -> list[dict[str, Any]]:
    """Suspend authors whose strikes reached the threshold; lift suspensions that lost theirs."""
    scheme = enforcement.strikes
    if scheme.suspend_after <= 0:
        return []
    touched = sorted({e.subject.split(":", 1)[1] for e in events if e.kind == "strike"})
    # The policy whose strike tipped the balance is the one the suspension rests on.
    policy_of = {
        e.subject.split(":", 1)[1]: (e.payload["policy"], e.payload["version"])
        for e in events
        if e.kind == "strike" and e.payload["added"]
    }
    rows = []
    for author in touched:
        count = active_strikes(connection, author, at)
        suspension = current_suspension(connection, author, at)
        if suspension is None and count >= scheme.suspend_after and author in policy_of:
            rows.append(
                _account_row(
                    author,
                    policy_of[author],
                    "suspend",
                    at,
                    f"{count} strikes within {scheme.expire_days} days "
                    f"(the policy suspends after {scheme.suspend_after})",
                    until=shifted(at, scheme.suspend_days),
                )
            )
        elif suspension is not None and count < scheme.suspend_after:
            rows.append(
                _account_row(
                    author,
                    (suspension.policy_id, suspension.policy_version),
                    "allow",
                    at,
                    f"a strike was withdrawn; {count} remain, under the threshold of "
                    f"{scheme.suspend_after}",
                    supersedes=suspension.id,
                )
            )
    return rows


def current_suspension(connection: Connection, author: str, at: str) -> Any:
    """The account suspension in force on `author` at `at`, if any."""
    return connection.execute(
        select(decisions.c.id, decisions.c.policy_id, decisions.c.policy_version).where(
            decisions.c.subject == "account",
            decisions.c.post_id == author,
            decisions.c.action == "suspend",
            decisions.c.status == "in_force",
            decisions.c.restriction_until > at,
        )
    ).first()


def _account_row(
    author: str,
    policy: tuple[str, int],
    action: str,
    at: str,
    reason: str,
    *,
    until: str | None = None,
    supersedes: int | None = None,
) -> dict[str, Any]:
    decision = Decision(author, action, policy[0], policy[1], rule=None, decided_at=at)
    return decision_row(
        decision,
        mode="live",
        content="",
        status="in_force",
        actor="system:strikes",
        source="strikes",
        subject="account",
        reason=reason,
        supersedes=supersedes,
        restriction_until=until,
    )


def _decision_event(written: Written) -> Event:
    row = written.row
    return Event(
        kind="decision",
        actor=row["actor"],
        subject=f"decision:{row['puid']}",
        payload={
            "id": written.id,
            "subject": f"{row['subject']}:{row['post_id']}",
            "policy": f"{row['policy_id']}@{row['policy_version']}",
            "mode": row["mode"],
            "rule": row["rule"],
            "action": row["action"],
            "source": row["source"],
            "supersedes": row["supersedes"],
            "digest": digest(row),
        },
    )


def _queue_reviews(
    connection: Connection, written: list[Written], enforcement: Enforcement, at: str
) -> list[Event]:
    queued: list[tuple[int, str]] = []
    events: list[Event] = []
    for w in written:
        row = w.row
        if row["mode"] != "live" or row["subject"] != "post":
            continue
        if row["status"] == "pending_review":
            queued.append((w.id, "rule"))
        elif (
            row["automated"]
            and row["status"] == "in_force"
            and row["action"] not in ("allow", "review")
            and sampled(row["puid"], enforcement.sampling.rate_for(row["rule"]))
        ):
            queued.append((w.id, "sample"))
            # A rule's review is part of its decision event; a sample is chosen by Arbiter,
            # so the log says so.
            events.append(
                Event("review.queued", "system", f"decision:{w.id}", {"reason": "sample"})
            )
    if queued:
        insert_tuples(
            connection,
            reviews,
            ("decision_id", "reason", "queued_at", "status"),
            [(decision_id, reason, at, "open") for decision_id, reason in queued],
        )
    return events


def _supersede(
    connection: Connection,
    written: list[Written],
    enforcement: Enforcement,
    at: str,
    reversals: frozenset[int],
) -> list[Event]:
    events: list[Event] = []
    for w in written:
        previous = w.row["supersedes"]
        if previous is None:
            continue
        connection.execute(
            update(decisions)
            .where(decisions.c.id == previous)
            .values(status="reversed" if previous in reversals else "superseded")
        )
        # A decision replaced while waiting for a person needs no review any more; the
        # moderation code closes the review it is deciding itself, with its outcome.
        connection.execute(
            update(reviews)
            .where(
                reviews.c.decision_id == previous,
                reviews.c.status == "open",
                reviews.c.reason.in_(("rule", "sample")),
            )
            .values(status="closed", outcome="superseded", decided_at=at)
        )
        if w.row["action"] not in enforcement.strikes.actions:
            events.extend(remove_strike(connection, previous, "decision reversed", at))
    return events


def _add_strikes(
    connection: Connection,
    written: list[Written],
    enforcement: Enforcement,
    at: str,
    author_of: dict[str, str],
) -> list[Event]:
    scheme = enforcement.strikes
    events: list[Event] = []
    for w in written:
        row = w.row
        author = author_of.get(row["post_id"]) if row["subject"] == "post" else None
        if (
            not author
            or row["mode"] != "live"
            or row["status"] != "in_force"
            or row["action"] not in scheme.actions
        ):
            continue
        if row["supersedes"] is not None and _has_strike(connection, row["supersedes"]):
            continue  # a confirmed removal keeps the strike it already gave
        connection.execute(
            insert(strikes).values(
                author_id=author,
                decision_id=w.id,
                policy_id=row["policy_id"],
                added_at=at,
                expires_at=shifted(at, scheme.expire_days),
            )
        )
        events.append(
            Event(
                "strike",
                row["actor"],
                f"account:{author}",
                {
                    "decision": w.id,
                    "added": True,
                    "policy": row["policy_id"],
                    "version": row["policy_version"],
                },
            )
        )
    return events


def _has_strike(connection: Connection, decision_id: int) -> bool:
    found = connection.execute(
        select(strikes.c.id).where(
            strikes.c.decision_id == decision_id, strikes.c.removed_at.is_(None)
        )
    ).first()
    return found is not None


def remove_strike(connection: Connection, decision_id: int, because: str, at: str) -> list[Event]:
    """Take back the strike a decision gave, if it gave one."""
    strike = connection.execute(
        select(strikes.c.id, strikes.c.author_id).where(
            strikes.c.decision_id == decision_id, strikes.c.removed_at.is_(None)
        )
    ).first()
    if strike is None:
        return []
    connection.execute(
        update(strikes)
        .where(strikes.c.id == strike.id)
        .values(removed_at=at, removed_because=because)
    )
    return [
        Event(
            "strike",
            "system",
            f"account:{strike.author_id}",
            {"decision": decision_id, "added": False, "because": because},
        )
    ]


def active_strikes(connection: Connection, author_id: str, at: str) -> int:
    """Strikes against an author that count at time `at`."""
    return int(
        connection.execute(
            select(func.count())
            .select_from(strikes)
            .where(
                strikes.c.author_id == author_id,
                strikes.c.removed_at.is_(None),
                strikes.c.expires_at > at,
                strikes.c.added_at <= at,
            )
        ).scalar_one()
    )


def post_state(rows: Iterable[dict[str, Any]]) -> str:
    """What decision rows make of a post: the most severe of the live ones in force."""
    state = "visible"
    for row in rows:
        if row["mode"] == "live" and row["status"] == "in_force":
            new = POST_STATES.get(row["action"], "visible")
            if SEVERITY.index(new) < SEVERITY.index(state):
                state = new
    return state


def refresh_post_states(connection: Connection, post_ids: set[str]) -> None:
    """Set each post's state to the most severe live decision in force on it."""
    if not post_ids:
        return
    ids = sorted(post_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = connection.execute(
            select(decisions.c.post_id, decisions.c.action).where(
                and_(
                    decisions.c.subject == "post",
                    one_of(connection, decisions.c.post_id, chunk),
                    decisions.c.mode == "live",
                    decisions.c.status == "in_force",
                )
            )
        ).all()
        state = dict.fromkeys(chunk, "visible")
        for row in rows:
            new = POST_STATES.get(row.action, "visible")
            if SEVERITY.index(new) < SEVERITY.index(state[row.post_id]):
                state[row.post_id] = new
        for value in set(state.values()):
            connection.execute(
                update(posts)
                .where(one_of(connection, posts.c.id, [p for p, s in state.items() if s == value]))
                .values(state=value)
            )
