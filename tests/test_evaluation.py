"""The labelled evaluation set: precision and recall of entity detection, by class.

examples/posts.jsonl holds 450 posts in nine languages, and examples/labels.csv
says which entities each refers to and why (its variant or hard-negative class).
"""

from __future__ import annotations

from collections import Counter

import pytest

from arbiter.engine import Engine
from arbiter.model import VIAS, Post
from tests.conftest import labelled_posts

MEDIA_VIAS = {"pdq", "vpdq", "pdq_frame"}  # examples/media holds those: this set is text
POSITIVE = set(VIAS) - MEDIA_VIAS  # every way of writing a name is a class of the set
NEGATIVE = {
    "shared_surname",
    "same_skeleton",
    "place",
    "suleiman",
    "al_qassam",
    "hajj",
    "other_name",
    "engineer",
    "surname_no_context",
    "unrelated",
}


@pytest.fixture(scope="module")
def outcomes(engine: Engine) -> list[tuple[str, str, set[str], set[str]]]:
    """(post id, class, expected entities, found entities) for every labelled post."""
    rows = []
    for data, label in labelled_posts():
        post = Post.from_dict(data)
        found = {m.entity for m in engine.evaluate(post).matches}
        rows.append((post.id, label["class"], set(label["entities"].split()), found))
    return rows


def test_the_set_covers_every_variant_and_hard_negative_class(outcomes):
    classes = Counter(cls for _, cls, _, _ in outcomes)
    assert len(outcomes) >= 300
    assert set(classes) == POSITIVE | NEGATIVE
    assert min(classes.values()) >= 14


def test_precision_and_recall_are_at_least_95_percent(outcomes, capsys):
    tp = fp = fn = 0
    per_class: dict[str, Counter[str]] = {}
    for _, cls, expected, found in outcomes:
        counts = per_class.setdefault(cls, Counter())
        tp += len(expected & found)
        fp += len(found - expected)
        fn += len(expected - found)
        counts["posts"] += 1
        counts["right"] += expected == found
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    with capsys.disabled():
        print(
            f"\nevaluation set: {len(outcomes)} posts, precision {precision:.3f}, "
            f"recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})"
        )
        for cls in sorted(per_class):
            counts = per_class[cls]
            print(f"  {cls:<20} {counts['right']:>3}/{counts['posts']:<3} right")
    assert precision >= 0.95
    assert recall >= 0.95


@pytest.mark.parametrize("cls", sorted(NEGATIVE))
def test_hard_negatives_stay_negative_class_by_class(outcomes, cls: str):
    wrong = [(pid, found) for pid, c, expected, found in outcomes if c == cls and found - expected]
    assert len(wrong) <= 1, wrong


@pytest.mark.parametrize("cls", sorted(POSITIVE))
def test_every_variant_class_is_found(outcomes, cls: str):
    missed = [
        (pid, expected - found)
        for pid, c, expected, found in outcomes
        if c == cls and expected - found
    ]
    assert len(missed) <= 1, missed
