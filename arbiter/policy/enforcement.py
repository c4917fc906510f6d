"""What follows a decision beyond the post: strikes against the author, and quality sampling."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Strikes:
    """A strike scheme: `suspend_after` strikes within `window_days` suspend for `suspend_days`."""

    actions: tuple[str, ...] = ("remove",)  # confirmed actions that add a strike
    expire_days: int = 90  # a strike counts for this long
    suspend_after: int = 3  # 0 turns suspensions off
    suspend_days: int = 30


@dataclass(frozen=True, slots=True)
class Sampling:
    """The share of each rule's automated actions that moderators re-check."""

    rate: float = 0.0  # default for every rule
    rules: dict[str, float] = field(default_factory=dict)  # per-rule overrides

    def rate_for(self, rule: str | None) -> float:
        if rule is None:
            return 0.0
        return self.rules.get(rule, self.rate)


@dataclass(frozen=True, slots=True)
class FloodGuard:
    """When one bank entry matches more posts than this in a window, its automated actions
    pause and go to review: a bad or poisoned hash must not remove thousands of posts."""

    window_minutes: int = 60
    max_posts: int = 50  # an entry may match this many posts per window without question…
    factor: float = 10.0  # …or this many times its usual rate, whichever is higher


@dataclass(frozen=True, slots=True)
class Enforcement:
    """A policy's strike scheme, review sampling and flood guard (all optional in the YAML)."""

    strikes: Strikes = field(default_factory=Strikes)
    sampling: Sampling = field(default_factory=Sampling)
    flood_guard: FloodGuard = field(default_factory=FloodGuard)
