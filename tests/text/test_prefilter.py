"""The prefilter never rules out a text the matcher would match, and rules out most others."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbiter.text.matcher import TextMatcher
from tests.conftest import labelled_posts

NAMES = [
    "Qassem",
    "Soleimani",
    "Qasem",
    "Ghasem",
    "Suleimani",
    "Soleymani",
    "Haj",
    "Sardar",
    "قاسم",
    "سلیمانی",
    "سليماني",
    "حاج",
    "سردار",
    "Касем",
    "Сулеймани",
    "Абу",
    "Махди",
    "Мухандис",
    "Abu",
    "Mahdi",
    "al-Muhandis",
    "Muhandis",
    "ابو",
    "مهدی",
    "المهندس",
    "ابومهدی",
    "general",
    "IRGC",
    "شهید",
    "PMF",
    "الحشد",
    "Jamal",
    "Jafaar",
    "Ibrahimi",
    "SardarDelha",
    "سردار_دلها",
    "Kasım",
    "Süleymani",
    "генерал",
]
FILLER = [
    "the",
    "در",
    "و",
    "killed",
    "في",
    "rip",
    "был",
    "bugün",
    "😢",
    "2020",
    "!",
    ",",
    "news",
    "خبر",
    "là",
    "und",
    "#",
    "@",
    "…",
    "\n",
]
LOOKALIKE = {"o": "о", "a": "а", "e": "е", "c": "с", "p": "р", "i": "і"}
LEET = {"o": "0", "e": "3", "a": "4", "i": "1", "s": "$", "l": "1"}
SEPARATORS = [" ", ".", "-", "*", "_", "·", "🔥", "\u200c", "\u200b", "ـ", "\u064e"]


@st.composite
def disguised(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(NAMES))
    style = draw(
        st.sampled_from(["plain", "upper", "lookalike", "leet", "split", "hashtag", "camel"])
    )
    if style == "upper":
        return word.upper()
    if style == "lookalike":
        return "".join(LOOKALIKE.get(c, c) if draw(st.booleans()) else c for c in word)
    if style == "leet":
        return "".join(LEET.get(c, c) if draw(st.booleans()) else c for c in word)
    if style == "split":
        sep = draw(st.sampled_from(SEPARATORS))
        return sep.join(word)
    if style == "camel":
        return "#" + draw(st.sampled_from(["RIP", "General", "Haj", "Sardar"])) + word.title()
    return "#" + word


GLUE = [" ", " ", " ", "", ".", "-", "_", "'", "🌹", "#", "中", "\u200c", "é"]


@st.composite
def posts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(disguised(), st.sampled_from(FILLER)), max_size=8))
    text = ""
    for part in parts:
        text += draw(st.sampled_from(GLUE)) + part
    return text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(posts())
def test_prefilter_passes_every_text_the_matcher_matches(matcher: TextMatcher, text: str):
    if matcher.find_exhaustive(text):
        assert matcher.prefilter.may_match(text), matcher.prefilter.skeletons(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_prefilter_is_sound_on_arbitrary_unicode(matcher: TextMatcher, text: str):
    if matcher.find_exhaustive(text):
        assert matcher.prefilter.may_match(text)


def test_prefilter_rules_out_most_unrelated_posts(matcher: TextMatcher):
    unrelated = [post["text"] for post, label in labelled_posts() if label["class"] == "unrelated"]
    passed = [text for text in unrelated if matcher.prefilter.may_match(text)]
    assert len(unrelated) >= 50
    assert len(passed) <= 0.2 * len(unrelated), passed


def test_one_word_of_a_name_alone_does_not_wake_the_matcher(matcher: TextMatcher):
    # "Soleimani" alone, with no context term and no first name: the matcher cannot match.
    assert not matcher.prefilter.may_match("Soleimani scored twice in the derby yesterday")
    assert matcher.prefilter.may_match("Soleimani, the general, scored twice")  # context
    assert matcher.prefilter.may_match("Qasem Soleimanu was here")  # one word misspelt
    assert not matcher.prefilter.may_match("Ahmad Soleimani was here")  # no first name near
