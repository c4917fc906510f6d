"""The flood guard trips on an entry that suddenly matches far more posts than usual."""

from __future__ import annotations

from arbiter.banks.flood import FloodWatch
from arbiter.policy.enforcement import FloodGuard


def at(minute: int) -> str:
    return f"2026-11-25T{10 + minute // 60:02d}:{minute % 60:02d}:00Z"


def test_an_entry_may_match_up_to_the_limit_per_window() -> None:
    watch = FloodWatch(FloodGuard(window_minutes=60, max_posts=3, factor=10))
    trips = [watch.observe({"qs.jpg"}, f"p{i}", at(i)) for i in range(5)]
    assert [bool(t) for t in trips] == [False, False, False, True, True]
    assert trips[3][0].posts == 4 and trips[3][0].limit == 3


def test_the_same_post_counts_once_and_other_entries_are_separate() -> None:
    watch = FloodWatch(FloodGuard(max_posts=1))
    assert watch.observe({"a"}, "p1", at(0)) == []
    assert watch.observe({"a"}, "p1", at(1)) == []
    assert watch.observe({"b"}, "p2", at(2)) == []
    assert [f.entry for f in watch.observe({"a", "b"}, "p3", at(3))] == ["a", "b"]


def test_the_limit_grows_with_an_entrys_usual_rate() -> None:
    watch = FloodWatch(FloodGuard(window_minutes=60, max_posts=2, factor=2))
    # Five busy hours of 10 posts each: usual is 10 per hour, so the limit becomes 20.
    for hour in range(5):
        for i in range(10):
            watch.observe({"popular"}, f"h{hour}-{i}", at(hour * 60 + i))
    sixth = [watch.observe({"popular"}, f"h5-{i}", at(300 + i)) for i in range(21)]
    assert not any(sixth[:20]) and sixth[20][0].limit == 20


def test_a_new_window_starts_afresh() -> None:
    watch = FloodWatch(FloodGuard(window_minutes=60, max_posts=1))
    assert watch.observe({"a"}, "p1", at(0)) == []
    assert watch.observe({"a"}, "p2", at(61)) == []
