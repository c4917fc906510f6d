"""The flood guard: a bank entry that suddenly matches far more posts than usual is suspect.

A bad or poisoned hash in a bank (a blank frame, a logo, a meme template) can
match thousands of unrelated posts within minutes. The guard counts the posts
each entry matches per time window; when an entry passes both the policy's
`max_posts` and `factor` times its usual rate, the automated actions resting on
it pause and go to review until a person looks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from arbiter.policy.enforcement import FloodGuard


@dataclass(frozen=True, slots=True)
class Flood:
    """An entry over its limit in the current window."""

    entry: str
    posts: int
    limit: int
    usual: float

    def note(self, window_minutes: int) -> str:
        return (
            f"flood guard: bank entry {self.entry} matched {self.posts} posts within "
            f"{window_minutes} minutes (limit {self.limit}, usually {self.usual:.1f}); "
            "automated actions resting on it are held for review"
        )


@dataclass
class _History:
    window: int = -1  # the current window's number
    count: int = 0  # posts matched in it
    past_windows: int = 0
    past_posts: int = 0
    posts: set[str] = field(default_factory=set)


class FloodWatch:
    """Counts matches per bank entry and window; `observe` says which entries are flooding."""

    def __init__(self, config: FloodGuard):
        self.config = config
        self._history: dict[str, _History] = defaultdict(_History)

    def observe(self, entries: set[str], post_id: str, decided_at: str) -> list[Flood]:
        """Record that `post_id` matched `entries`; return those now over their limit."""
        window = _window(decided_at, self.config.window_minutes)
        floods = []
        for entry in sorted(entries):
            history = self._history[entry]
            if window != history.window:
                if history.window >= 0:
                    # Windows with no match count as quiet ones: they lower the usual rate.
                    history.past_windows += window - history.window
                    history.past_posts += history.count
                history.window, history.count, history.posts = window, 0, set()
            if post_id in history.posts:
                continue
            history.posts.add(post_id)
            history.count += 1
            usual = history.past_posts / history.past_windows if history.past_windows else 0.0
            limit = max(self.config.max_posts, int(self.config.factor * usual))
            if history.count > limit:
                floods.append(Flood(entry, history.count, limit, usual))
        return floods


def _window(decided_at: str, minutes: int) -> int:
    moment = datetime.fromisoformat(decided_at.replace("Z", "+00:00"))
    return int(moment.timestamp() // (minutes * 60))
