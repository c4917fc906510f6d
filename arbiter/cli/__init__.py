"""The `arbiter` command: one Typer app, a module per group of commands."""

from arbiter.cli import audit, bank, moderation, outbound, report, rescan, serve  # noqa: F401  (they register commands)
from arbiter.cli.main import _bench_module, app

__all__ = ["_bench_module", "app"]
