"""What every command shares: the consoles, opening the store, reporting refusals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from arbiter.store import Store, StoreError
from arbiter.store.authority import AuthorityError
from arbiter.store.moderation import ModerationError

err = Console(stderr=True, soft_wrap=True)  # messages stay on one line for grep
out = Console(soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database: a path for SQLite or a URL (default $ARBITER_DATABASE_URL, "
        "else ./arbiter.db).",
    ),
]


def open_store(db: str | None) -> Store:
    """Open the store or exit with the reason it could not be opened."""
    try:
        return Store.open(db)
    except OperationalError as error:
        err.print(f"[red]error[/red] cannot open the database: {error.orig}", highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def refusals() -> Iterator[None]:
    """Turn the store's refusals into one line on stderr and exit status 1."""
    try:
        yield
    except (StoreError, ModerationError, AuthorityError) as error:
        err.print(f"[red]refused[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
