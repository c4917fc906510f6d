"""`arbiter bank build|info|export`: hash a policy's reference media once, reuse the bank."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from arbiter.banks.bank import Bank, EntityStats, build_bank
from arbiter.banks.hashlist import write_hashlist
from arbiter.cli.common import err, out
from arbiter.cli.main import app
from arbiter.policy.load import PolicyError, load_policy

bank_app = typer.Typer(
    help="Hash banks: a policy's reference photos, videos and hash lists, indexed.",
    no_args_is_help=True,
)
app.add_typer(bank_app, name="bank")


@bank_app.command("build")
def build(
    policy: Annotated[Path, typer.Option("--policy", "-p", help="Policy YAML file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The bank file to write (.npz).")],
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Where hashes of files already seen are kept (default: the user cache)."),
    ] = None,
    cache: Annotated[bool, typer.Option(help="Reuse and keep hashes by file content.")] = True,
) -> None:
    """Hash every entity's reference_media and read its reference_hashes into one bank file.

    Paths in the policy are relative to its folder. Files that cannot be read are
    listed and left out; the bank is written with the rest.
    """
    from arbiter.media.cache import Cache, default_cache_dir

    try:
        loaded = load_policy(policy)
    except PolicyError as error:
        for problem in error.problems:
            err.print(f"[red]error[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    store = Cache((cache_dir or default_cache_dir()) if cache else None)
    columns = (
        TextColumn("[bold]hashing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[file]}"),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("bank", total=None, file="")

        def advance(done: int, total: int, name: str) -> None:
            progress.update(task, completed=done, total=total, file=name)

        bank = build_bank(
            loaded.entities,
            policy.resolve().parent,
            store,
            progress=advance,
            benign=loaded.benign,
        )
    bank.save(output)
    out.print(_stats_table(bank.stats(), f"bank {output}"))
    _print_problems(bank)
    out.print(
        f"[green]written[/green] {output}: {len(bank):,} hashes, {len(bank.videos):,} video(s)",
        highlight=False,
    )


@bank_app.command("info")
def info(bank_file: Annotated[Path, typer.Argument(help="A bank file from `bank build`.")]) -> None:
    """What a bank holds, per entity: photos, frames, videos, hashes, low quality, sources."""
    bank = _load(bank_file)
    out.print(_stats_table(bank.stats(), f"bank {bank_file}"))
    _print_problems(bank)


@bank_app.command("export")
def export(
    bank_file: Annotated[Path, typer.Argument(help="A bank file from `bank build`.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Hash list file, or -.")] = "-",
    entity: Annotated[
        str | None, typer.Option(help="Only this entity's (or benign bank's) hashes.")
    ] = None,
    header: Annotated[
        bool, typer.Option(help="Begin with # comment lines saying where the list came from.")
    ] = False,
) -> None:
    """Write the bank as a hash list (pdq and vpdq lines, as ThreatExchange tools exchange them).

    The list can be shared, or named in a policy's reference_hashes.
    """
    bank = _load(bank_file)
    if entity is not None and entity not in bank.entity_ids:
        known = ", ".join(bank.entity_ids) or "none"
        err.print(f"[red]error[/red] no entity '{entity}' in {bank_file} (it has: {known})")
        raise typer.Exit(2)
    entries = bank.export(entity)
    comments = [f"exported by arbiter from {bank_file.name}"] if header else []
    if header and entity:
        comments.append(f"entity {entity}")
    if output == "-":
        count = write_hashlist(entries, sys.stdout, comments)
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8", newline="\n") as sink:
            count = write_hashlist(entries, sink, comments)
    err.print(f"{count:,} hashes exported", highlight=False)


def _load(path: Path) -> Bank:
    try:
        return Bank.load(path)
    except FileNotFoundError:
        err.print(f"[red]error[/red] {path}: no such file", highlight=False)
    except ValueError as error:
        err.print(f"[red]error[/red] {error}", highlight=False)
    raise typer.Exit(2)


def _stats_table(stats: list[EntityStats], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("entity", style="bold")
    for name in ("photos", "frames", "videos", "hashes", "low quality skipped", "sources"):
        table.add_column(name, justify="right")
    totals = EntityStats("all", False)
    for s in stats:
        name = f"{s.entity} [dim](benign)[/dim]" if s.negative else s.entity
        table.add_row(
            name,
            *(f"{n:,}" for n in (s.photos, s.frames, s.videos, s.hashes, s.low_quality, s.sources)),
        )
        for field in ("photos", "frames", "videos", "hashes", "low_quality", "sources"):
            setattr(totals, field, getattr(totals, field) + getattr(s, field))
    if len(stats) > 1:
        table.add_section()
        table.add_row(
            "all",
            *(
                f"{n:,}"
                for n in (
                    totals.photos,
                    totals.frames,
                    totals.videos,
                    totals.hashes,
                    totals.low_quality,
                    totals.sources,
                )
            ),
        )
    return table


def _print_problems(bank: Bank) -> None:
    for problem in bank.problems:
        err.print(f"[yellow]skipped[/yellow] {problem}", highlight=False, soft_wrap=True)
    if bank.problems:
        err.print(f"{len(bank.problems)} problem(s); the rest of the bank was built.")
