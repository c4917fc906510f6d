"""Retroactive enforcement: decide the stored posts again with a new policy version.

A dry run (the default) writes nothing and prints what the new version would
newly flag, stop flagging and change, by rule, language and country. Applying
records the new decisions batch by batch; decisions already recorded for the
version are skipped, so an interrupted rescan resumes where it stopped. A
decision a moderator made stands: a new version re-decides what machines
decided, not what people did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from arbiter.engine import Engine
from arbiter.model import Post
from arbiter.policy.model import Policy
from arbiter.report.diff import Diff, Outcome
from arbiter.report.shadow import outcome
from arbiter.store import Store
from arbiter.store.database import one_of, reading
from arbiter.store.schema import decisions, posts


@dataclass
class Rescan:
    """What a rescan found (and, when applied, wrote)."""

    diff: Diff = field(default_factory=Diff)
    posts: int = 0
    already: int = 0  # decided by this version before (e.g. by an interrupted run)
    by_people: int = 0  # standing decisions a moderator made: a new version does not undo them
    recorded: int = 0


def rescan(
    store: Store,
    policy: Policy,
    apply: bool = False,
    batch: int = 1000,
    on_progress: Callable[[int], None] | None = None,
    actor: str = "cli",
) -> Rescan:
    """Compare `policy`'s decisions on every stored post with the decisions standing now."""
    engine = Engine(policy, clock=store.clock)
    if apply:
        store.activate(policy, "live", actor)
    result = Rescan()
    for chunk in store.stored_posts(batch):
        standing = standing_decisions(store, policy.id, [post.id for post in chunk])
        todo: list[Post] = []
        for post in chunk:
            before = standing.get(post.id)
            if before is not None and before[0] == policy.version:
                result.already += 1
            elif before is not None and before[2]:
                result.by_people += 1
            else:
                todo.append(post)
        decided = engine.evaluate_many(todo)
        for post, decision in zip(todo, decided, strict=True):
            before = standing.get(post.id)
            after = Outcome(post.id, decision.action, decision.rule, post.lang, post.author.country)
            result.diff.add(before[1] if before else None, after)
        if apply and todo:
            result.recorded += store.record(policy, list(zip(todo, decided, strict=True))).new
        result.posts += len(chunk)
        if on_progress is not None:
            on_progress(result.posts)
    return result


def standing_decisions(
    store: Store, policy_id: str, post_ids: list[str]
) -> dict[str, tuple[int, Outcome, bool]]:
    """The live decision of `policy_id` standing on each post: (version, outcome, by a person)."""
    with reading(store.engine) as connection:
        rows = connection.execute(
            select(
                decisions.c.post_id,
                decisions.c.action,
                decisions.c.rule,
                decisions.c.policy_version,
                decisions.c.automated,
                posts.c.lang,
                posts.c.author_country,
            )
            .join(posts, posts.c.id == decisions.c.post_id)
            .where(
                one_of(connection, decisions.c.post_id, post_ids),
                decisions.c.subject == "post",
                decisions.c.policy_id == policy_id,
                decisions.c.mode == "live",
                decisions.c.status.in_(("in_force", "pending_review")),
            )
            .order_by(decisions.c.id)
        ).all()
    return {row.post_id: (row.policy_version, outcome(row), not row.automated) for row in rows}
