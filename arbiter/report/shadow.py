"""Shadow mode: a policy version's decisions set beside the live version's, post by post."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from arbiter.report.diff import Diff, Outcome
from arbiter.store import Store
from arbiter.store.database import reading
from arbiter.store.schema import activations, decisions, posts


@dataclass(frozen=True, slots=True)
class ShadowComparison:
    """How a shadow version would have decided the posts the live version decided."""

    policy_id: str
    live_version: int
    shadow_version: int
    diff: Diff


def compare_shadow(store: Store, policy_id: str | None = None) -> list[ShadowComparison]:
    """One comparison per policy with both a live and a shadow version active."""
    with reading(store.engine) as connection:
        active = connection.execute(select(activations)).all()
    versions: dict[str, dict[str, int]] = {}
    for row in active:
        versions.setdefault(row.policy_id, {})[row.mode] = row.version
    return [
        ShadowComparison(pid, modes["live"], modes["shadow"], _diff(store, pid, modes))
        for pid, modes in sorted(versions.items())
        if "live" in modes and "shadow" in modes and policy_id in (None, pid)
    ]


def _diff(store: Store, policy_id: str, modes: dict[str, int]) -> Diff:
    live = _automated(store, policy_id, modes["live"], "live")
    shadow = _automated(store, policy_id, modes["shadow"], "shadow")
    diff = Diff()
    for post_id, after in sorted(shadow.items()):
        if post_id in live:
            diff.add(live[post_id], after)
    return diff


def _automated(store: Store, policy_id: str, version: int, mode: str) -> dict[str, Outcome]:
    """The latest automated decision per post for one policy version and mode."""
    with reading(store.engine) as connection:
        rows = connection.execute(
            select(
                decisions.c.post_id,
                decisions.c.action,
                decisions.c.rule,
                posts.c.lang,
                posts.c.author_country,
            )
            .join(posts, posts.c.id == decisions.c.post_id)
            .where(
                decisions.c.policy_id == policy_id,
                decisions.c.policy_version == version,
                decisions.c.mode == mode,
                decisions.c.source == "scan",
            )
            .order_by(decisions.c.id)
        ).all()
    return {row.post_id: outcome(row) for row in rows}


def outcome(row: Any) -> Outcome:
    """A decisions row joined with its post, as the diff sees it."""
    return Outcome(row.post_id, row.action, row.rule, row.lang, row.author_country)
