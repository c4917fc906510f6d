"""`arbiter review|appeal|authority|decision`: people deciding, on the record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from arbiter.cli.common import DbOption, open_store, out, refusals
from arbiter.cli.main import app
from arbiter.store.authority import AuthorityRequest
from arbiter.store.records import StoredDecision

review_app = typer.Typer(help="The review queue.", no_args_is_help=True)
appeal_app = typer.Typer(help="Appeals against decisions.", no_args_is_help=True)
authority_app = typer.Typer(help="Orders from governments and courts.", no_args_is_help=True)
decision_app = typer.Typer(help="Stored decisions.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(appeal_app, name="appeal")
app.add_typer(authority_app, name="authority")
app.add_typer(decision_app, name="decision")

Moderator = Annotated[str, typer.Option(help="Who decides (recorded in the audit log).")]
Reason = Annotated[str, typer.Option(help="Why, in words (shown to the author).")]


def _scope(value: str) -> tuple[str, ...]:
    return tuple(code.strip().upper() for code in value.split(",") if code.strip())


def _print_decision(decision: StoredDecision, title: str) -> None:
    out.print(
        f"{title}: decision {decision.id} ({decision.puid}) {decision.decision.action} "
        f"({decision.status}) by {decision.actor}",
        highlight=False,
    )


@review_app.command("list")
def review_list(
    db: DbOption = None, limit: Annotated[int, typer.Option(help="At most this many.")] = 50
) -> None:
    """Open reviews, oldest first."""
    with open_store(db) as store:
        items = store.review_queue(limit)
        table = Table(title=f"review queue ({len(items)} shown)", title_justify="left")
        for column in ("review", "why", "queued", "decision", "post", "rule", "action", "text"):
            table.add_column(column)
        for item in items:
            decision = item.decision
            text = store.post(decision.decision.post_id).text if decision.subject == "post" else ""
            table.add_row(
                str(item.review_id),
                item.reason + (f" #{item.appeal_id}" if item.appeal_id else ""),
                item.queued_at,
                str(decision.id),
                decision.decision.post_id,
                decision.decision.rule or "",
                decision.decision.action,
                text[:60],
            )
    out.print(table)


@review_app.command("decide")
def review_decide(
    review_id: Annotated[int, typer.Argument(help="The review's number (from `review list`).")],
    moderator: Moderator,
    action: Annotated[str, typer.Option(help="remove, restrict, label or allow.")],
    reason: Reason,
    scope: Annotated[str, typer.Option(help="For restrict: country codes, e.g. DE,FR.")] = "",
    db: DbOption = None,
) -> None:
    """Confirm or overturn a queued decision."""
    with open_store(db) as store, refusals():
        new = store.decide_review(review_id, moderator, action, reason, _scope(scope))
    if new is None:
        out.print(f"review {review_id}: confirmed; the decision stands", highlight=False)
    else:
        _print_decision(new, f"review {review_id}")


@appeal_app.command("file")
def appeal_file(
    decision_id: Annotated[int, typer.Argument(help="The decision contested.")],
    by: Annotated[str, typer.Option(help="The author's account id.")],
    statement: Annotated[str, typer.Option(help="What the author says.")] = "",
    db: DbOption = None,
) -> None:
    """File the author's appeal; a moderator not involved in the decision will decide it."""
    with open_store(db) as store, refusals():
        appeal_id = store.file_appeal(decision_id, by, statement)
    out.print(f"appeal {appeal_id} filed against decision {decision_id}", highlight=False)


@appeal_app.command("list")
def appeal_list(
    db: DbOption = None,
    status: Annotated[str | None, typer.Option(help="open or decided.")] = None,
) -> None:
    """Appeals, oldest first."""
    with open_store(db) as store:
        rows = store.appeals(status)
    table = Table(title="appeals", title_justify="left")
    for column in ("appeal", "decision", "by", "filed", "status", "outcome", "moderator"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["decision_id"]),
            row["filed_by"],
            row["filed_at"],
            row["status"],
            row["outcome"] or "",
            row["moderator"] or "",
        )
    out.print(table)


@appeal_app.command("decide")
def appeal_decide(
    appeal_id: Annotated[int, typer.Argument(help="The appeal's number.")],
    moderator: Moderator,
    outcome: Annotated[str, typer.Option(help="upheld or overturned.")],
    reason: Reason,
    action: Annotated[str, typer.Option(help="When overturned: the new action.")] = "allow",
    db: DbOption = None,
) -> None:
    """Uphold or overturn an appeal; overturning restores the post and withdraws the strike."""
    with open_store(db) as store, refusals():
        new = store.decide_appeal(appeal_id, moderator, outcome, reason, action)
    if new is None:
        out.print(f"appeal {appeal_id}: upheld; the decision stands", highlight=False)
    else:
        _print_decision(new, f"appeal {appeal_id} overturned")


@authority_app.command("record")
def authority_record(
    authority: Annotated[str, typer.Option(help="Who ordered it, e.g. a ministry or a court.")],
    legal_basis: Annotated[str, typer.Option(help="The law the order invokes.")],
    reference: Annotated[str, typer.Option(help="The order's own reference number.")],
    issued_on: Annotated[str, typer.Option("--date", help="The order's date, YYYY-MM-DD.")],
    posts: Annotated[str, typer.Option(help="Post ids the order names, comma-separated.")],
    recorded_by: Annotated[str, typer.Option("--by", help="Who records it.")],
    action: Annotated[str, typer.Option(help="remove or restrict.")] = "remove",
    scope: Annotated[str, typer.Option(help="Where it applies: country codes.")] = "",
    db: DbOption = None,
) -> None:
    """Record a takedown order and the decisions it causes, apart from decisions under the terms."""
    request = AuthorityRequest(
        id=0,
        authority=authority,
        legal_basis=legal_basis,
        reference=reference,
        issued_on=issued_on,
        territorial_scope=_scope(scope),
        action=action,
        recorded_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        recorded_by=recorded_by,
    )
    ids = [p.strip() for p in posts.split(",") if p.strip()]
    with open_store(db) as store, refusals():
        request_id, decisions = store.record_authority_request(request, ids)
    out.print(
        f"order {request_id} recorded: {len(decisions)} decision(s) "
        f"({', '.join(str(d.id) for d in decisions)})",
        highlight=False,
    )


@authority_app.command("list")
def authority_list(db: DbOption = None) -> None:
    """Every recorded order."""
    with open_store(db) as store:
        requests = store.authority_requests()
    table = Table(title="authority orders", title_justify="left")
    for column in ("order", "authority", "legal basis", "reference", "date", "scope", "action"):
        table.add_column(column)
    for r in requests:
        table.add_row(
            str(r.id),
            r.authority,
            r.legal_basis,
            r.reference,
            r.issued_on,
            ",".join(r.territorial_scope),
            r.action,
        )
    out.print(table)


@decision_app.command("show")
def decision_show(
    decision_ref: Annotated[str, typer.Argument(help="A decision's id or puid.")],
    db: DbOption = None,
) -> None:
    """A decision and every other decision about the same post, oldest first."""
    with open_store(db) as store, refusals():
        decision = store.decision(decision_ref)
        history = store.decisions_of(decision.decision.post_id, decision.subject)
    table = Table(title=f"{decision.subject} {decision.decision.post_id}", title_justify="left")
    for column in ("id", "decided", "policy", "rule", "action", "by", "status", "reason"):
        table.add_column(column)
    for d in history:
        table.add_row(
            str(d.id),
            d.decision.decided_at,
            f"{d.decision.policy}@{d.decision.policy_version} {d.mode}",
            d.decision.rule or "",
            d.decision.action,
            d.actor,
            d.status,
            d.reason,
            style="bold" if d.id == decision.id else "",
        )
    out.print(table)
