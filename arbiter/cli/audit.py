"""`arbiter audit verify|export`: check the hash chain, or hand it to someone who will."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from arbiter.cli.common import DbOption, err, open_store, out
from arbiter.cli.main import app

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        err.print("[red]error[/red] --anchor takes SEQ:HASH, as a transparency report prints it")
        raise typer.Exit(2)
    return int(seq), digest


@audit_app.command("verify")
def verify(
    db: DbOption = None,
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH of a head published earlier (e.g. in a report) to check."),
    ] = None,
) -> None:
    """Recompute the chain and every decision's digest; name the first thing changed."""
    with open_store(db) as store:
        result = store.verify_audit(_anchor(anchor))
    if result.finding is not None:
        err.print(f"[red]tampered[/red] {result.finding}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(
        f"[green]ok[/green] {result.entries:,} entries; head {result.head_seq} {result.head_hash}",
        highlight=False,
    )


@audit_app.command("export")
def export(
    db: DbOption = None,
    output: Annotated[str, typer.Option("--output", "-o", help="JSONL file, or -.")] = "-",
) -> None:
    """Write the log as JSONL; docs/audit.md verifies it in thirty lines of Python."""
    with open_store(db) as store:
        if output == "-":
            count = store.export_audit(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            with open(output, "wb") as sink:
                count = store.export_audit(sink)
    err.print(f"{count:,} entries exported", highlight=False)
