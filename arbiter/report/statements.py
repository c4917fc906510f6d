"""Statements of reasons for stored decisions: every live decision that restricts something."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import or_, select

from arbiter.model import Post
from arbiter.policy.model import Grounds, Policy, Rule
from arbiter.report.statement import (
    AuthorityOrder,
    StatementFacts,
    Strike,
    account_statement,
    content_statement,
    user_notice,
)
from arbiter.store import Store, StoreError
from arbiter.store.authority import AUTHORITY_POLICY, ORDER_RULE, AuthorityRequest
from arbiter.store.database import reading
from arbiter.store.records import StoredDecision, stored_decision
from arbiter.store.schema import decisions, strikes


@dataclass(frozen=True, slots=True)
class Issued:
    """A decision and the statement of reasons it produced."""

    decision: StoredDecision
    statement: dict[str, object]


def issued_statements(store: Store, period_from: str, period_to: str) -> Iterator[Issued]:
    """Statements for the live decisions made in the period, oldest first; none for
    `allow`, `review` or a lifted suspension, which restrict nothing."""
    orders = {request.id: request for request in store.authority_requests()}
    with reading(store.engine) as connection:
        rows = connection.execute(
            select(decisions)
            .where(
                decisions.c.mode == "live",
                decisions.c.decided_at >= period_from,
                decisions.c.decided_at < period_to + "T99",
                decisions.c.action.not_in(("allow", "review")),
            )
            .order_by(decisions.c.id)
        ).all()
    for row in rows:
        decision = stored_decision(row)
        statement = statement_for(store, decision, orders)
        if statement is not None:
            yield Issued(decision, statement)


def statement_for(
    store: Store, decision: StoredDecision, orders: dict[int, AuthorityRequest] | None = None
) -> dict[str, object] | None:
    """The statement of reasons of one stored decision, or None if it restricts nothing."""
    if decision.subject == "account":
        return _account(store, decision) if decision.decision.action == "suspend" else None
    order = None
    if decision.authority_request_id is not None:
        request = (orders or {r.id: r for r in store.authority_requests()})[
            decision.authority_request_id
        ]
        order = AuthorityOrder(
            request.authority, request.legal_basis, request.reference, request.issued_on
        )
    policy = _order_policy(decision) if order else _policy(store, decision)
    return content_statement(
        decision.decision, policy, _post(store, decision), _facts(decision, order)
    )


def notice_for(store: Store, decision: StoredDecision) -> dict[str, object] | None:
    """What the author of the post receives: the statement and every way to contest it."""
    statement = statement_for(store, decision)
    if statement is None:
        return None
    post = store.post(decision.decision.post_id) if decision.subject == "post" else None
    return user_notice(statement, str(decision.id), post)


def _facts(decision: StoredDecision, order: AuthorityOrder | None) -> StatementFacts:
    human = not decision.decision.automated
    detected_by_machine = order is None and (bool(decision.decision.matches) or not human)
    if not human:
        automated = "fully"
    elif detected_by_machine:
        automated = "partially"  # a person decided on what the engine found
    else:
        automated = "not"
    return StatementFacts(
        puid=decision.puid,
        application_date=decision.decision.decided_at[:10],
        automated_detection=detected_by_machine,
        automated_decision=automated,
        authority=order,
        account_restriction_until=(
            decision.restriction_until[:10] if decision.restriction_until else None
        ),
    )


def _policy(store: Store, decision: StoredDecision) -> Policy:
    return store.policy(decision.decision.policy, decision.decision.policy_version)


def _order_policy(decision: StoredDecision) -> Policy:
    """The pseudo-policy an authority's order is recorded under: one rule, the order."""
    return Policy(
        id=AUTHORITY_POLICY,
        version=0,
        title="Orders of authorities",
        grounds=Grounds(type="illegal_content"),
        entities=(),
        rules=(Rule(id=ORDER_RULE, when="true", action=decision.decision.action),),
    )


def _post(store: Store, decision: StoredDecision) -> Post:
    try:
        return store.post(decision.decision.post_id)
    except StoreError:
        return Post(id=decision.decision.post_id)


def _account(store: Store, suspension: StoredDecision) -> dict[str, object]:
    """An account suspension's statement, listing the decisions whose strikes it rests on."""
    policy = _policy(store, suspension)
    at = suspension.decision.decided_at
    with reading(store.engine) as connection:
        rows = connection.execute(
            select(decisions)
            .join(strikes, strikes.c.decision_id == decisions.c.id)
            .where(
                strikes.c.author_id == suspension.decision.post_id,
                strikes.c.added_at <= at,
                strikes.c.expires_at > at,
                strikes.c.policy_id == policy.id,
                or_(strikes.c.removed_at.is_(None), strikes.c.removed_at > at),
            )
            .order_by(decisions.c.id)
        ).all()
    counted = []
    for row in rows:
        decision = stored_decision(row)
        statement = statement_for(store, decision)
        if statement is not None:
            counted.append(Strike.of(decision.decision, statement))
    facts = _facts(suspension, None)
    return account_statement(counted, policy, facts, policy.enforcement.strikes.suspend_after)
