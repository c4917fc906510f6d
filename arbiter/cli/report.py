"""`arbiter report …`: statements of reasons, the transparency report, shadow comparisons."""

from __future__ import annotations

import typer

from arbiter.cli.main import app

report_app = typer.Typer(help="Reports from the store.", no_args_is_help=True)
app.add_typer(report_app, name="report")
