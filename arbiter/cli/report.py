"""`arbiter report …`: statements of reasons, the transparency report, shadow comparisons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from arbiter.cli.common import DbOption, err, open_store, out, refusals
from arbiter.cli.main import app
from arbiter.report import sor_export
from arbiter.report.diff import Diff
from arbiter.report.from_store import transparency_figures
from arbiter.report.shadow import compare_shadow
from arbiter.report.statements import issued_statements, notice_for
from arbiter.report.transparency import write_report

report_app = typer.Typer(help="Reports from the store.", no_args_is_help=True)
app.add_typer(report_app, name="report")

From = Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")]
To = Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today).")]


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _day(value: str, what: str) -> str:
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        err.print(f"[red]error[/red] {what} must be a date like 2026-11-25, not {value!r}")
        raise typer.Exit(2) from None
    return value


@report_app.command("sor")
def sor(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="JSONL: one API batch body per line.")
    ],
    period_from: From = "2000-01-01",
    period_to: To = "",
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write CSV here.")] = None,
    db: DbOption = None,
) -> None:
    """Statements of reasons in the DSA Transparency Database's format (no personal data)."""
    first, last = _day(period_from, "--from"), _day(period_to or _today(), "--to")
    with open_store(db) as store, refusals():
        statements = [issued.statement for issued in issued_statements(store, first, last)]
    written = sor_export.write_json(statements, output)
    if csv_path is not None:
        with open(csv_path, "w", encoding="utf-8", newline="") as stream:
            sor_export.write_csv(statements, stream)
    batches = -(-written // 100)
    out.print(f"{written:,} statements in {batches:,} batch(es): {output}", highlight=False)


@report_app.command("transparency")
def transparency(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for index.html + CSV.")],
    period_from: From = "2000-01-01",
    period_to: To = "",
    db: DbOption = None,
) -> None:
    """A self-contained HTML page with charts, and the same numbers as CSV."""
    first, last = _day(period_from, "--from"), _day(period_to or _today(), "--to")
    with open_store(db) as store:
        figures = transparency_figures(store, first, last)
    output.mkdir(parents=True, exist_ok=True)
    index = write_report(figures, output)
    out.print(
        f"{figures.decisions:,} decisions from {first} to {last}; audit head "
        f"{figures.audit_entries}:{figures.audit_head}\nreport: {index}",
        highlight=False,
    )


@report_app.command("shadow")
def shadow(
    db: DbOption = None,
    policy: Annotated[str | None, typer.Option(help="Only this policy id.")] = None,
) -> None:
    """What the shadow version of a policy would add, drop and change against the live one."""
    with open_store(db) as store, refusals():
        comparisons = compare_shadow(store, policy)
    if not comparisons:
        out.print("no policy has a shadow version with decisions to compare")
        return
    for comparison in comparisons:
        print_diff(
            comparison.diff,
            f"{comparison.policy_id}: shadow v{comparison.shadow_version} against "
            f"live v{comparison.live_version}",
        )


def print_diff(diff: Diff, title: str) -> None:
    """A diff as tables: by kind, then by rule, language and country."""
    table = Table(title=f"{title} ({diff.compared:,} posts compared)", title_justify="left")
    table.add_column("change")
    table.add_column("posts", justify="right")
    table.add_column("e.g.")
    for kind, count in diff.by_kind.most_common():
        table.add_row(kind, f"{count:,}", ", ".join(diff.examples.get(kind, [])))
    if not diff.by_kind:
        table.add_row("no change", "0", "")
    out.print(table)
    for name, counter in (
        ("rule", diff.by_rule),
        ("language", diff.by_language),
        ("country", diff.by_country),
    ):
        if not counter:
            continue
        detail = Table(title=f"by {name}", title_justify="left")
        for column in ("change", name, "posts"):
            detail.add_column(column, justify="right" if column == "posts" else "left")
        for (kind, key), count in sorted(counter.items(), key=lambda kv: (kv[0][0], -kv[1])):
            detail.add_row(kind, key, f"{count:,}")
        out.print(detail)


@report_app.command("notice")
def notice(
    decision_ref: Annotated[str, typer.Argument(help="A decision's id or puid.")],
    db: DbOption = None,
) -> None:
    """The notice the author receives: the statement of reasons and how to contest it."""
    with open_store(db) as store, refusals():
        body = notice_for(store, store.decision(decision_ref))
    if body is None:
        out.print("this decision restricts nothing, so no statement of reasons is owed")
        return
    out.print_json(json.dumps(body, ensure_ascii=False))
