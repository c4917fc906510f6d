"""`arbiter rescan`: the stored posts under a new policy version, as a diff, applied on request."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from arbiter.cli.common import DbOption, err, open_store, out, refusals
from arbiter.cli.main import _policy_or_exit, app
from arbiter.cli.report import print_diff
from arbiter.rescan import rescan


@app.command("rescan")
def rescan_command(
    policy: Annotated[Path, typer.Option("--policy", "-p", help="The new policy version.")],
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Record the new decisions (default: only show the diff)."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Re-decide every stored post with a new policy version and show what changes."""
    engine = _policy_or_exit(policy)
    with open_store(db) as store, refusals():
        total = store.count("posts")
        columns = (
            TextColumn("[bold]rescanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("rescan", total=total)
            result = rescan(
                store,
                engine.policy,
                apply=apply,
                on_progress=lambda done: progress.update(task, completed=done),
            )
    new = engine.policy
    print_diff(result.diff, f"{new.id} version {new.version} against the decisions standing now")
    if result.by_people:
        out.print(
            f"{result.by_people:,} post(s) keep the decision a moderator made; "
            "a new policy version does not undo people's decisions"
        )
    if result.already:
        out.print(f"{result.already:,} post(s) were already decided by version {new.version}")
    if apply:
        out.print(f"[green]applied[/green]: {result.recorded:,} new decision(s) recorded")
    else:
        out.print("dry run: nothing was written; add --apply to record these decisions")
