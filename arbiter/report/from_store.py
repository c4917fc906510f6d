"""Counting a period's record into TransparencyFigures: the store's numbers, nothing estimated."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from arbiter.report.figures import (
    AppealFigures,
    Durations,
    RulePrecision,
    TransparencyFigures,
    wilson,
)
from arbiter.store import Store
from arbiter.store.authority import AUTHORITY_POLICY
from arbiter.store.database import reading
from arbiter.store.schema import (
    appeals,
    audit_head,
    authority_requests,
    decisions,
    posts,
    reviews,
    strikes,
)


def transparency_figures(store: Store, period_from: str, period_to: str) -> TransparencyFigures:
    """Everything the report shows for decisions made from `period_from` to `period_to`."""
    start, end = period_from, period_to + "T99"  # whole days: "…T23:59:59Z" < "…T99"
    with reading(store.engine) as connection:
        head = connection.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
        rows = connection.execute(
            select(
                decisions,
                posts.c.lang,
                posts.c.author_country,
                posts.c.created_at.label("post_created_at"),
            )
            .outerjoin(posts, posts.c.id == decisions.c.post_id)
            .where(decisions.c.decided_at >= start, decisions.c.decided_at < end)
        ).all()
        live = [r for r in rows if r.mode == "live"]
        on_posts = [r for r in live if r.subject == "post"]
        counts = _counts(on_posts)
        return TransparencyFigures(
            period_from=period_from,
            period_to=period_to,
            generated_at=store.clock(),
            audit_head=head.hash,
            audit_entries=head.seq,
            decisions=len(on_posts),
            shadow_decisions=sum(1 for r in rows if r.mode == "shadow"),
            accounts_suspended=sum(
                1 for r in live if r.subject == "account" and r.action == "suspend"
            ),
            precision=_precision(connection, start, end),
            appeals=_appeals(connection, start, end),
            post_to_decision=_quantiles(
                [_seconds(r.post_created_at, r.decided_at) for r in on_posts]
            ),
            appeal_to_outcome=_appeal_durations(connection, start, end),
            strikes_added=_strikes(connection, start, end),
            **counts,
            **_orders(connection, start, end),
        )


def _counts(rows: list[Any]) -> dict[str, dict[str, int]]:
    by: dict[str, Counter[str]] = {
        name: Counter()
        for name in (
            "by_policy",
            "by_rule",
            "by_action",
            "by_language",
            "by_country",
            "by_automation",
            "by_signal",
            "by_source",
        )
    }
    for r in rows:
        by["by_policy"][f"{r.policy_id} v{r.policy_version}"] += 1
        by["by_action"][r.action] += 1
        by["by_language"][r.lang or "und"] += 1
        by["by_country"][r.author_country or "unknown"] += 1
        by["by_automation"]["automated" if r.automated else "human"] += 1
        by["by_source"]["authority order" if r.policy_id == AUTHORITY_POLICY else "own terms"] += 1
        if r.action != "allow":
            by["by_rule"][f"{r.policy_id}/{r.rule or '(order)'}"] += 1
            for signal in sorted({m["signal"] for m in json.loads(r.matches)}):
                by["by_signal"][signal] += 1
    return {name: dict(counter.most_common()) for name, counter in by.items()}


def _precision(connection: Connection, start: str, end: str) -> tuple[RulePrecision, ...]:
    rows = connection.execute(
        select(decisions.c.policy_id, decisions.c.rule, reviews.c.outcome)
        .join(decisions, decisions.c.id == reviews.c.decision_id)
        .where(
            reviews.c.reason == "sample",
            reviews.c.status == "closed",
            decisions.c.decided_at >= start,
            decisions.c.decided_at < end,
        )
    ).all()
    tally: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        counts = tally.setdefault((row.policy_id, row.rule or ""), [0, 0])
        counts[0] += row.outcome == "confirmed"
        counts[1] += 1
    return tuple(
        RulePrecision(policy, rule, wilson(confirmed, reviewed))
        for (policy, rule), (confirmed, reviewed) in sorted(tally.items())
    )


def _appeals(connection: Connection, start: str, end: str) -> tuple[AppealFigures, ...]:
    rows = connection.execute(
        select(decisions.c.policy_id, decisions.c.rule, appeals.c.status, appeals.c.outcome)
        .join(decisions, decisions.c.id == appeals.c.decision_id)
        .where(appeals.c.filed_at >= start, appeals.c.filed_at < end)
    ).all()
    tally: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        counts = tally.setdefault((row.policy_id, row.rule or "(order)"), [0, 0, 0])
        counts[0] += 1
        counts[1] += row.status == "decided"
        counts[2] += row.outcome == "overturned"
    return tuple(
        AppealFigures(policy, rule, filed, decided, overturned)
        for (policy, rule), (filed, decided, overturned) in sorted(tally.items())
    )


def _appeal_durations(connection: Connection, start: str, end: str) -> Durations:
    rows = connection.execute(
        select(appeals.c.filed_at, appeals.c.decided_at).where(
            appeals.c.status == "decided",
            appeals.c.decided_at >= start,
            appeals.c.decided_at < end,
        )
    ).all()
    return _quantiles([_seconds(r.filed_at, r.decided_at) for r in rows])


def _strikes(connection: Connection, start: str, end: str) -> int:
    rows = connection.execute(
        select(strikes.c.id).where(strikes.c.added_at >= start, strikes.c.added_at < end)
    ).all()
    return len(rows)


def _orders(connection: Connection, start: str, end: str) -> dict[str, dict[str, int]]:
    requests = connection.execute(
        select(authority_requests.c.id, authority_requests.c.authority).where(
            authority_requests.c.recorded_at >= start, authority_requests.c.recorded_at < end
        )
    ).all()
    authority_of = {r.id: r.authority for r in requests}
    caused = connection.execute(
        select(decisions.c.authority_request_id).where(
            decisions.c.authority_request_id.in_(list(authority_of)),
            decisions.c.source == "authority",
        )
    ).scalars()
    return {
        "authority_requests": dict(Counter(authority_of.values()).most_common()),
        "authority_decisions": dict(Counter(authority_of[i] for i in caused).most_common()),
    }


def _seconds(earlier: str | None, later: str | None) -> float | None:
    """Seconds between two ISO 8601 times, or None when either is missing or unreadable."""
    try:
        return (_parse(later) - _parse(earlier)).total_seconds()
    except (TypeError, ValueError):
        return None


def _parse(value: str | None) -> datetime:
    if not value:
        raise ValueError("no time")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _quantiles(values: list[float | None]) -> Durations:
    known = np.array([v for v in values if v is not None and v >= 0], dtype=float)
    if known.size == 0:
        return Durations(0, None, None, None)
    p50, p90, p99 = (float(q) for q in np.quantile(known, [0.5, 0.9, 0.99]))
    return Durations(int(known.size), p50, p90, p99)
