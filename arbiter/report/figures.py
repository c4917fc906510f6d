"""The numbers of a transparency report, as plain data: the store counts, the report draws."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Interval:
    """A proportion with its 95% Wilson score interval."""

    successes: int
    trials: int
    low: float
    high: float

    @property
    def value(self) -> float | None:
        return self.successes / self.trials if self.trials else None


def wilson(successes: int, trials: int, z: float = 1.959964) -> Interval:
    """The Wilson score interval: honest for small samples and for 0% or 100%."""
    if trials == 0:
        return Interval(0, 0, 0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(successes, trials, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class RulePrecision:
    """How often moderators confirmed a rule's automated actions in the quality sample."""

    policy: str
    rule: str
    confirmed: Interval  # successes = confirmed, trials = sampled and reviewed


@dataclass(frozen=True, slots=True)
class AppealFigures:
    """Appeals against one rule's decisions."""

    policy: str
    rule: str
    filed: int
    decided: int
    overturned: int

    @property
    def overturn_rate(self) -> float | None:
        return self.overturned / self.decided if self.decided else None


@dataclass(frozen=True, slots=True)
class Durations:
    """Quantiles of a duration in seconds (None when nothing was measured)."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None


Counts = dict[str, int]


@dataclass(frozen=True)
class TransparencyFigures:
    """Everything a transparency report shows for one period, computed from the store."""

    period_from: str  # YYYY-MM-DD, inclusive
    period_to: str  # YYYY-MM-DD, inclusive
    generated_at: str
    audit_head: str  # hash of the last audit entry when the report was made: anchors the log
    audit_entries: int
    decisions: int  # live decisions in the period, every action including allow
    by_policy: Counts = field(default_factory=dict)  # "policy vN" -> decisions
    by_rule: Counts = field(default_factory=dict)  # "policy/rule" -> non-allow decisions
    by_action: Counts = field(default_factory=dict)
    by_language: Counts = field(default_factory=dict)  # post lang, "und" when unknown
    by_country: Counts = field(default_factory=dict)  # author country, "unknown" when unknown
    by_automation: Counts = field(default_factory=dict)  # "automated" / "human"
    by_signal: Counts = field(default_factory=dict)  # text, hashtag, ocr, image, video
    by_source: Counts = field(default_factory=dict)  # "own terms" / "authority order" / ...
    precision: tuple[RulePrecision, ...] = ()
    appeals: tuple[AppealFigures, ...] = ()
    post_to_decision: Durations = Durations(0, None, None, None)
    appeal_to_outcome: Durations = Durations(0, None, None, None)
    authority_requests: Counts = field(default_factory=dict)  # authority -> requests
    authority_decisions: Counts = field(default_factory=dict)  # authority -> decisions caused
    strikes_added: int = 0
    accounts_suspended: int = 0
    shadow_decisions: int = 0  # stored from shadow policies, never acted on
