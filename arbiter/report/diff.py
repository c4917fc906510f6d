"""Comparing two sets of decisions on the same posts: what a policy change adds, drops, changes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

KINDS = ("newly flagged", "no longer flagged", "action changed")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One post's decision under one policy version, with what the diff groups by."""

    post_id: str
    action: str
    rule: str | None
    lang: str = ""
    country: str = ""


def change(before: Outcome | None, after: Outcome) -> str | None:
    """How a post's decision moved: one of KINDS, or None when nothing that matters changed."""
    was = before is not None and before.action != "allow"
    now = after.action != "allow"
    if now and not was:
        return "newly flagged"
    if was and not now:
        return "no longer flagged"
    if (
        was
        and now
        and before is not None
        and (before.action, before.rule) != (after.action, after.rule)
    ):
        return "action changed"
    return None


@dataclass
class Diff:
    """Changes counted by kind, and by kind and rule, language and country."""

    compared: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_language: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_country: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, before: Outcome | None, after: Outcome) -> str | None:
        """Count one post; returns its kind of change."""
        self.compared += 1
        kind = change(before, after)
        if kind is None:
            return None
        # A dropped flag belongs to the rule that flagged it; anything else to the new rule.
        rule = (before.rule if kind == "no longer flagged" and before else after.rule) or "(none)"
        if kind == "action changed" and before is not None:
            rule = f"{_named(before)} → {_named(after)}"
        self.by_kind[kind] += 1
        self.by_rule[(kind, rule)] += 1
        self.by_language[(kind, after.lang or "und")] += 1
        self.by_country[(kind, after.country or "unknown")] += 1
        shown = self.examples.setdefault(kind, [])
        if len(shown) < 5:
            shown.append(after.post_id)
        return kind


def _named(outcome: Outcome) -> str:
    return f"{outcome.rule or '(none)'} {outcome.action}"
