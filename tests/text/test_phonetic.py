"""Phonetic keys: spellings of one name share a key; other names do not."""

from __future__ import annotations

import pytest

from arbiter.text.normalize import normalize
from arbiter.text.phonetic import (
    arabic_key,
    arabic_projections,
    latin_key,
    latin_readings,
    romanize,
    within_one_edit,
)


def key(word: str) -> str:
    return latin_key(romanize(normalize(word).text))


@pytest.mark.parametrize(
    ("variants", "what"),
    [
        (["Qassem", "Qasem", "Ghasem", "Kasem", "Qasim", "Qassim", "Kasım"], "q/gh/k, e/i"),
        (
            [
                "Soleimani",
                "Suleimani",
                "Sulaimani",
                "Soleymani",
                "Souleimani",
                "Süleymani",
                "Soleymānī",
            ],
            "o/u, ei/ey/ai, macrons",
        ),
        (["Muhandis", "Mohandes", "Mouhandis"], "o/u, e/i"),
        (["Mahdi", "Mehdi"], "a/e"),
        (["Jafar", "Jaafar", "Ja'far", "Jafaar"], "long vowels"),
        (["Hajj", "Haj", "Hadj"], "doubled consonants, dj"),
        (["Касем", "Qasem"], "Cyrillic"),
        (["Сулеймани", "Soleimani"], "Cyrillic"),
    ],
)
def test_spellings_of_one_name_share_a_key(variants: list[str], what: str):
    keys = {key(v) for v in variants}
    assert len(keys) == 1, (what, {v: key(v) for v in variants})


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("Soleimani", "Slimani"),  # same consonant skeleton
        ("Soleimani", "Suleiman"),
        ("Soleimani", "Sulaymaniyah"),
        ("Soleimani", "Slemani"),
        ("Soleimani", "Salman"),
        ("Soleimani", "Silemani"),
    ],
)
def test_names_with_similar_skeletons_keep_different_keys(name: str, other: str):
    assert key(name) != key(other)


def arabic(word: str) -> str:
    return arabic_key(normalize(word).text)


def test_latin_names_project_to_their_arabic_script_spellings():
    assert arabic("قاسم") in arabic_projections("qassem")
    assert arabic("سلیمانی") in arabic_projections("soleimani")
    assert arabic("مهندس") in arabic_projections("muhandis")
    assert arabic("ابراهیمی") in arabic_projections("ibrahimi")


def test_projections_do_not_reach_other_names():
    assert arabic("سلیمان") not in arabic_projections("soleimani")  # Suleiman
    assert arabic("قسام") not in arabic_projections("qassem")  # Qassam
    assert arabic("سلیمانیه") not in arabic_projections("soleimani")  # the city


def test_arabic_script_names_have_latin_readings():
    assert key("Soleimani") in latin_readings(arabic("سلیمانی"))
    assert key("Qasem") in latin_readings(arabic("قاسم"))


def test_one_edit_covers_substitution_insertion_deletion_and_transposition():
    assert within_one_edit("abcd", "abxd")
    assert within_one_edit("abcd", "abd")
    assert within_one_edit("abcd", "abcde")
    assert within_one_edit("abcd", "abdc")
    assert not within_one_edit("abcd", "badc")
    assert not within_one_edit("abcd", "ab")
