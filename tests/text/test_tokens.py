"""Tokens: words, words re-joined from split letters, and hashtag parts."""

from __future__ import annotations

import pytest

from arbiter.text.normalize import normalize
from arbiter.text.tokens import tokenize


def words(text: str) -> list[str]:
    return [t.text for t in tokenize(normalize(text))]


def joined(text: str) -> list[str]:
    return [t.text for t in tokenize(normalize(text)) if t.joined]


@pytest.mark.parametrize(
    "written",
    [
        "S o l e i m a n i",
        "S.o.l.e.i.m.a.n.i",
        "S-o-l-e-i-m-a-n-i",
        "S*o*l*e*i*m*a*n*i",
        "S🔥o🔥l🔥e🔥i🔥m🔥a🔥n🔥i",
        "S . o . l . e . i . m . a . n . i",
        "Sol·ei·mani",
    ],
)
def test_letters_split_by_separators_are_rejoined(written: str):
    assert "soleimani" in joined(written)


def test_persian_letters_split_by_spaces_are_rejoined():
    assert "سلیمانی" in joined("س ل ی م ا ن ی")


def test_two_letter_words_are_not_glued_together():
    assert joined("he is at it") == []


def test_hashtags_split_at_camel_case_and_underscores():
    tokens = tokenize(normalize("#QassemSoleimani and #qasem_soleimani"))
    hashtag_words = [t.text for t in tokens if t.hashtag]
    assert hashtag_words == [
        "qassem",
        "qassemsoleimani",
        "soleimani",
        "qasem",
        "qasemsoleimani",
        "soleimani",
    ]
    assert not any(t.hashtag for t in tokens if t.text == "and")


def test_atoms_count_words_so_nearness_can_be_measured():
    tokens = [t for t in tokenize(normalize("Abu Mahdi al-Muhandis")) if not t.joined]
    assert [(t.text, t.first_atom) for t in tokens] == [
        ("abu", 0),
        ("mahdi", 1),
        ("al", 2),
        ("muhandis", 3),
    ]


def test_punctuation_ends_words_and_leet_symbols_stay_inside():
    assert words("Hello, world!") == ["hello", "world"]
    assert "$oleimani" in words("$oleimani!")
    assert "so1eimani" in words("so1eimani")


def test_spaced_out_words_split_at_hyphens_and_apostrophes():
    assert {"al", "karbafari"} <= set(joined("a.l-K.a.r.b.a.f.a.r.i"))
    assert "shagarian" in joined("S.h.a.g.a.r.i.a.n'in")
