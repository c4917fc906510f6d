"""Normalization: each folding step, and the offset map back to the original text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.text.normalize import homoglyph_reading, normalize, unleet


def folded(text: str) -> str:
    return normalize(text).text


def test_compatibility_forms_fold_to_plain_letters():
    assert folded("Ｓｏｌｅｉｍａｎｉ") == "soleimani"  # fullwidth
    assert folded("𝐒𝐨𝐥𝐞𝐢𝐦𝐚𝐧𝐢") == "soleimani"  # mathematical bold
    assert folded("ﻻ") == "لا"  # Arabic presentation form ligature


def test_case_is_folded_including_special_cases():
    assert folded("QASSEM") == "qassem"
    assert folded("Straße") == "strasse"
    assert folded("İstanbul") == "istanbul"


def test_latin_diacritics_and_macrons_are_removed():
    assert folded("Qāsem Soleymānī") == "qasem soleymani"
    assert folded("Kasım Süleymani") == "kasim suleymani"
    assert folded("Leïla") == "leila"


def test_turkish_cedilla_letters_read_as_digraphs():
    assert folded("Şahin çay") == "shahin chay"


def test_arabic_harakat_and_tatweel_are_removed():
    assert folded("قَاسِم") == "قاسم"
    assert folded("سلـــیمانی") == "سلیمانی"


def test_arabic_and_persian_letter_variants_fold_to_one_form():
    assert folded("سليماني") == "سلیمانی"  # Arabic yeh
    assert folded("كرمان") == "کرمان"  # Arabic kaf
    assert folded("مدرسة") == "مدرسه"  # teh marbuta
    assert folded("أحمد إبراهيم آمنة") == "احمد ابراهیم امنه"  # hamza forms of alef


def test_format_characters_are_dropped():
    for invisible in ("\u200c", "\u200d", "\u200b", "\u00ad", "\ufeff", "\u2060", "\u200f"):
        assert folded(f"Sole{invisible}imani") == "soleimani", repr(invisible)


def test_lookalike_letters_in_latin_words_become_latin():
    assert folded("Sоlеimаni") == "soleimani"  # Cyrillic о, е, а
    assert folded("Qαssem") == "qassem"  # Greek alpha


def test_latin_lookalikes_in_cyrillic_words_become_cyrillic():
    assert folded("Cулеймaни") == "сулеймани"  # Latin C and a in a Cyrillic word


def test_whole_words_in_another_script_are_left_alone():
    assert folded("Сулеймани") == "сулеймани"
    assert homoglyph_reading("сор") == "cop"
    assert homoglyph_reading("сулеймани") is None


def test_leetspeak_readings_inside_latin_words():
    assert "soleimani" in unleet("s0l3iman1")
    assert "soleimani" in unleet("so1eimani")  # 1 read as l
    assert "soleimani" in unleet("$oleimani")
    assert unleet("2020") == []  # a number is not a word
    assert unleet("u5787") == []  # nor a handle with one letter
    assert unleet("soleimani") == []


def test_offsets_point_at_the_original_characters():
    text = "Ｑａｓｓｅｍ س\u200cلـیمانی"
    norm = normalize(text)
    start = norm.text.index("سلیمانی")
    span = norm.original_span(start, start + len("سلیمانی"))
    assert text[span[0] : span[1]] == "س\u200cلـیمانی"
    assert text[slice(*norm.original_span(0, 6))] == "Ｑａｓｓｅｍ"


def test_expansions_map_every_new_character_to_its_source():
    norm = normalize("aßb")
    assert norm.text == "assb"
    assert norm.source == (0, 1, 1, 2)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_normalization_never_fails_and_offsets_stay_inside_the_original(text: str):
    norm = normalize(text)
    assert len(norm.source) == len(norm.text)
    assert list(norm.source) == sorted(norm.source)
    for index in norm.source:
        assert 0 <= index < len(text)
    for start in range(len(norm.text) + 1):
        for end in range(start, min(len(norm.text), start + 4) + 1):
            a, b = norm.original_span(start, end)
            assert 0 <= a <= b <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_normalization_is_idempotent_on_its_output(text: str):
    once = folded(text)
    assert folded(once) == folded(folded(once))


def test_cyrillic_short_i_keeps_its_breve():
    assert folded("Йусан Сайар") == "йусан сайар"  # й is y, not и
