"""Posts with photos, posters and videos, decided end to end on the example media.

examples/media/make.py draws stand-in portraits, a tribute video, posters and
the posts that re-use them; the example policy banks the references and a
news agency's wire photo as benign. Each post here is one way media turns up.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from arbiter.banks.bank import build_bank
from arbiter.engine import Engine
from arbiter.media.cache import Cache
from arbiter.media.pipeline import MediaPipeline
from arbiter.model import Decision, Post
from arbiter.policy.load import load_policy, parse_policy
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example policy beside freshly drawn example media."""
    root = tmp_path_factory.mktemp("examples")
    spec = importlib.util.spec_from_file_location("make_media", EXAMPLES / "media" / "make.py")
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    make.make(root / "media")
    (root / "policy.yaml").write_text((EXAMPLES / "policy.yaml").read_text(encoding="utf-8"))
    return root


def pipeline_for(folder: Path, policy_text: str | None = None) -> Engine:
    policy = (
        parse_policy(policy_text, str(folder / "policy.yaml"))
        if policy_text
        else load_policy(folder / "policy.yaml")
    )
    cache = Cache(None)
    bank = build_bank(policy.entities, folder, cache, benign=policy.benign)
    assert not bank.problems
    media = MediaPipeline(bank, cache, base=folder / "media")
    return Engine(policy, clock=lambda: "2026-11-25T10:00:00Z", media=media)


def posts(folder: Path) -> dict[str, Post]:
    lines = (folder / "media" / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    return {p.id: p for p in (Post.from_dict(json.loads(line)) for line in lines)}


@pytest.fixture(scope="module")
def decided(folder: Path) -> dict[str, Decision]:
    engine = pipeline_for(folder)
    return {p.id: engine.evaluate(p) for p in posts(folder).values()}


def evidence(decision: Decision) -> list[dict[str, Any]]:
    return [m.as_dict() for m in decision.matches]


def test_a_mirrored_cropped_recompressed_repost_matches_its_reference(
    decided: dict[str, Decision],
) -> None:
    [match] = evidence(decided["m1"])
    assert decided["m1"].action == "review"
    assert (match["signal"], match["via"]) == ("image", "pdq")
    assert match["media"]["entry"] == "media/reference/qs-portrait-1.jpg"
    assert match["media"]["variant"] == "flip-h"
    assert match["media"]["distance"] <= 31 and match["media"]["region"].startswith("crop:")


def test_a_repost_with_a_border_matches(decided: dict[str, Decision]) -> None:
    [match] = evidence(decided["m2"])
    assert match["media"]["entry"] == "media/reference/qs-portrait-2.jpg"
    assert match["media"]["media_id"] == "m2-0"


@pytest.mark.parametrize(("post", "words"), [("m3", "قاسم سلیمانی"), ("m4", "Qassem Soleimani")])
def test_a_poster_with_the_name_is_caught_by_ocr(
    decided: dict[str, Decision], post: str, words: str
) -> None:
    [match] = evidence(decided[post])
    assert decided[post].action == "review"
    assert (match["entity"], match["signal"]) == ("qs", "ocr")
    assert match["matched"] == words and words in match["media"]["text"]
    _, top, width, _ = match["media"]["box"]
    assert top > 500 and width > 200  # the name's band, low on the poster


def test_a_reencoded_resized_trimmed_clip_matches_its_reference_video(
    decided: dict[str, Decision],
) -> None:
    [match] = [m for m in evidence(decided["m5"]) if m["via"] == "vpdq"]
    assert match["media"]["entry"] == "media/reference/qs-tribute.mp4"
    query_share, reference_share = match["media"]["shares"]
    assert query_share >= 0.8 and 0.5 <= reference_share < 1.0  # it was trimmed


def test_a_benign_wire_photo_cancels_the_match_and_says_so(decided: dict[str, Decision]) -> None:
    [match] = evidence(decided["m6"])
    assert decided["m6"].action == "allow"
    assert match["media"]["suppressed_by"] == "news-agency-wire:media/benign/agency-wire-photo.jpg"


def test_an_unrelated_photo_matches_nothing(decided: dict[str, Decision]) -> None:
    assert decided["m7"].action == "allow" and decided["m7"].matches == ()


def test_broken_and_missing_media_are_reported_and_the_post_is_decided(
    decided: dict[str, Decision],
) -> None:
    errors = {m: (k, r) for m, k, r in decided["m8"].media_errors}
    assert errors["m8-0"][0] == "corrupt" and errors["m8-1"][0] == "missing"
    assert decided["m8"].action == "allow"


def test_ocr_runs_only_when_it_can_change_the_decision(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arbiter.media import pipeline

    calls: list[str] = []
    real = pipeline.cached_read_text

    def counting(cache: Any, key: str, image: Any, languages: str) -> Any:
        calls.append(key)
        return real(cache, key, image, languages)

    monkeypatch.setattr(pipeline, "cached_read_text", counting)
    engine = pipeline_for(folder)
    poster = posts(folder)["m3"]
    # The hashtag rule comes first: once it holds, text in the image cannot change anything.
    tagged = Post(id="t1", text="#SardarDelha", media=poster.media)
    assert engine.evaluate(tagged).rule == "hashtag-campaign"
    assert calls == []
    assert engine.evaluate(poster).rule == "designated-person"
    assert len(calls) == 1


def test_a_flooding_bank_entry_holds_its_automated_removals_for_review(folder: Path) -> None:
    text = (folder / "policy.yaml").read_text(encoding="utf-8")
    text = text.replace("    action: review", "    action: remove").replace(
        "enforcement:", "enforcement:\n  flood_guard: {max_posts: 2, factor: 10}"
    )
    engine = pipeline_for(folder, text)
    repost = posts(folder)["m2"]
    actions = [engine.evaluate(Post(id=f"f{i}", media=repost.media)) for i in range(4)]
    assert [d.action for d in actions] == ["remove", "remove", "review", "review"]
    assert "flood guard: bank entry media/reference/qs-portrait-2.jpg matched 3 posts" in (
        actions[2].notes[0]
    )
