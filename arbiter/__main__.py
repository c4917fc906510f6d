"""python -m arbiter: the same as the arbiter command."""

from arbiter.cli import app

app(prog_name="arbiter")
