"""The engine: evaluate(post) -> Decision, cheap signals first, then the rules in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from arbiter.banks.flood import FloodWatch
from arbiter.model import Decision, Match, Post
from arbiter.policy.model import Policy, Rule
from arbiter.policy.rules import CompiledRules, RuleFailure
from arbiter.text.matcher import TextMatcher

if TYPE_CHECKING:
    from arbiter.media.pipeline import MediaPipeline

AUTOMATED_ACTIONS = ("remove", "restrict", "label")


def utc_now() -> str:
    """The current time as DESIGN.md writes it: 2026-11-25T10:00:00Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Engine:
    """One policy, compiled: its name index, prefilter, CEL rules and, optionally, media banks."""

    def __init__(
        self,
        policy: Policy,
        clock: Callable[[], str] = utc_now,
        media: MediaPipeline | None = None,
    ):
        self.policy = policy
        self.matcher = TextMatcher(policy.entities)
        self.rules = CompiledRules(policy.rules)
        self.clock = clock
        self.media = media
        self.flood = FloodWatch(policy.enforcement.flood_guard)

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
        matches = list(found)
        errors: list[tuple[str, str, str]] = []
        if self.media is not None and post.media:
            examined = self.media.examine(post)
            matches += examined.matches
            rule, failures = self._first_rule(post, matches)
            # OCR is the costly signal: read only when its text could change the decision.
            if (
                examined.readable
                and self.media.ocr_enabled
                and self.rules.could_change("ocr", rule)
            ):
                matches += self.media.read_text(examined, self.matcher)
                rule, failures = self._first_rule(post, matches)
            errors = examined.errors
        else:
            rule, failures = self._first_rule(post, matches)
        action, notes = self._guard(post, matches, rule, decided_at)
        return Decision(
            post_id=post.id,
            action=action,
            policy=self.policy.id,
            policy_version=self.policy.version,
            rule=rule.id if rule else None,
            decided_at=decided_at,
            matches=tuple(matches),
            territorial_scope=rule.territorial_scope if rule else (),
            rule_errors=tuple((f.rule, f.error) for f in failures),
            media_errors=tuple(errors),
            notes=notes,
        )

    def _first_rule(
        self, post: Post, matches: Sequence[Match]
    ) -> tuple[Rule | None, tuple[RuleFailure, ...]]:
        # A match a benign bank cancelled stays in the evidence but mentions nothing.
        mentions = frozenset((m.entity, m.signal) for m in matches if not m.suppressed)
        return self.rules.first_match(post, mentions)

    def _guard(
        self, post: Post, matches: list[Match], rule: Rule | None, decided_at: str
    ) -> tuple[str, tuple[str, ...]]:
        """The action to take, held for review if it rests on a bank entry that is flooding."""
        action = rule.action if rule else "allow"
        entries = {
            m.media.entry
            for m in matches
            if m.media is not None and m.media.entry and not m.suppressed
        }
        if not entries:
            return action, ()
        floods = self.flood.observe(entries, post.id, decided_at)
        if not floods or action not in AUTOMATED_ACTIONS:
            return action, ()
        flooded = {flood.entry for flood in floods}
        rest = [m for m in matches if m.media is None or m.media.entry not in flooded]
        without, _ = self._first_rule(post, rest)
        if without is rule:
            return action, ()  # the decision stands on other evidence
        window = self.policy.enforcement.flood_guard.window_minutes
        return "review", tuple(flood.note(window) for flood in floods)
