"""Media for `arbiter scan`: the bank a scan matches against, limits, fetching, OCR."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from arbiter.banks.bank import build_bank
from arbiter.cli.common import err
from arbiter.media.cache import Cache, default_cache_dir
from arbiter.media.model import MediaLimits
from arbiter.media.pipeline import MediaSettings
from arbiter.policy.model import Policy


def wants_media(policy: Policy) -> bool:
    """Whether the policy names reference media or hash lists to match posts' media with."""
    return any(e.reference_media or e.reference_hashes for e in policy.entities) or bool(
        policy.benign
    )


def media_settings(
    policy: Policy,
    posts: str,
    *,
    bank: Path | None,
    limits: MediaLimits,
    fetch: bool,
    cache_dir: Path | None,
    ocr: bool,
) -> MediaSettings:
    """The settings of a scan's media pipeline, building the policy's bank when none is given."""
    cache_root = cache_dir or default_cache_dir()
    if bank is None and wants_media(policy):
        bank = _build(policy, cache_root)
    base = Path(posts).resolve().parent if posts != "-" else Path.cwd()
    return MediaSettings(
        bank=bank, base=base, limits=limits, fetch=fetch, cache_dir=cache_root, ocr=ocr
    )


def _build(policy: Policy, cache_root: Path) -> Path:
    """Hash the policy's references (cached by content, so a second scan is quick)."""
    columns = (
        TextColumn("[bold]bank"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[file]}"),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("bank", total=None, file="")

        def advance(done: int, total: int, name: str) -> None:
            progress.update(task, completed=done, total=total, file=name)

        bank = build_bank(
            policy.entities,
            Path(policy.source).resolve().parent,
            Cache(cache_root),
            progress=advance,
            benign=policy.benign,
        )
    for problem in bank.problems:
        err.print(f"[yellow]reference skipped[/yellow] {problem}", highlight=False)
    # Worker processes load the bank from a file; name it by the policy's text.
    digest = hashlib.sha256(policy.text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "arbiter-banks"
    folder.mkdir(exist_ok=True)
    path = folder / f"{policy.id}-{policy.version}-{digest}.npz"
    bank.save(path)
    return path
