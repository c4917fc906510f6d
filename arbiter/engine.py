"""The engine: evaluate(post) -> Decision, cheap signals first, then the rules in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from arbiter.model import Decision, Match, Post
from arbiter.policy.model import Policy
from arbiter.policy.rules import CompiledRules
from arbiter.text.matcher import TextMatcher


def utc_now() -> str:
    """The current time as DESIGN.md writes it: 2026-11-25T10:00:00Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Engine:
    """One policy, compiled: its name index, prefilter and CEL rules."""

    def __init__(self, policy: Policy, clock: Callable[[], str] = utc_now):
        self.policy = policy
        self.matcher = TextMatcher(policy.entities)
        self.rules = CompiledRules(policy.rules)
        self.clock = clock

    def evaluate(self, post: Post, decided_at: str | None = None) -> Decision:
        """Decide `post`: the same post and policy always give the same decision."""
        return self.evaluate_many([post], decided_at)[0]

    def evaluate_many(self, posts: Sequence[Post], decided_at: str | None = None) -> list[Decision]:
        """Decide a batch of posts; the prefilter judges the whole batch at once."""
        decided_at = decided_at or self.clock()
        candidates = self.matcher.prefilter.may_match_many([post.text for post in posts])
        return [
            self._decide(
                post, self.matcher.find_exhaustive(post.text) if candidate else [], decided_at
            )
            for post, candidate in zip(posts, candidates, strict=True)
        ]

    def _decide(self, post: Post, found: list[Match], decided_at: str) -> Decision:
        matches = tuple(found)
        mentions = frozenset((m.entity, m.signal) for m in matches)
        rule, failures = self.rules.first_match(post, mentions)
        return Decision(
            post_id=post.id,
            action=rule.action if rule else "allow",
            policy=self.policy.id,
            policy_version=self.policy.version,
            rule=rule.id if rule else None,
            decided_at=decided_at,
            matches=matches,
            territorial_scope=rule.territorial_scope if rule else (),
            rule_errors=tuple((f.rule, f.error) for f in failures),
        )
