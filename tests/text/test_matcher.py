"""The matcher, class by class: every way a name is written is found; namesakes are not."""

from __future__ import annotations

import pytest

from arbiter.policy.load import parse_policy
from arbiter.policy.model import Entity
from arbiter.text.matcher import TextMatcher


def found(matcher: TextMatcher, text: str) -> list[tuple[str, str, str]]:
    """(entity, via, matched) of every match, through the prefilter as a scan does."""
    return [(m.entity, m.via, m.matched) for m in matcher.find(text)]


@pytest.mark.parametrize(
    ("text", "via", "matched"),
    [
        ("RIP Qassem Soleimani", "exact", "Qassem Soleimani"),
        ("سردار قاسم سلیمانی", "exact", "قاسم سلیمانی"),
        ("قاسم سليماني في بغداد", "script_variant", "قاسم سليماني"),
        ("قاسِم سُلَیمانی", "script_variant", "قاسِم سُلَیمانی"),
        ("قاسم سلـیمانی", "script_variant", "قاسم سلـیمانی"),
        ("قاسم سلی\u200cمانی", "script_variant", "قاسم سلی\u200cمانی"),
        ("Ghasem Soleymani", "transliteration", "Ghasem Soleymani"),
        ("Kasım Süleymani'nin ölümü", "transliteration", "Kasım Süleymani"),
        ("Касем Сулеймани убит", "transliteration", "Касем Сулеймани"),
        ("قاسم سلیمانی کی برسی", "exact", "قاسم سلیمانی"),
        ("Sоlеimаni, the IRGC general", "homoglyph", "Sоlеimаni"),
        ("Ｑａｓｓｅｍ Ｓｏｌｅｉｍａｎｉ", "homoglyph", "Ｑａｓｓｅｍ Ｓｏｌｅｉｍａｎｉ"),
        ("Qassem S o l e i m a n i", "spacing", "Qassem S o l e i m a n i"),
        ("Qassem S.o.l.e.i.m.a.n.i", "spacing", "Qassem S.o.l.e.i.m.a.n.i"),
        ("Qassem Sol🌹eimani", "spacing", "Qassem Sol🌹eimani"),
        ("Q4ssem S0l3iman1", "leetspeak", "Q4ssem S0l3iman1"),
        ("Qassem So1eimani", "leetspeak", "Qassem So1eimani"),
        ("Qassem Soleimanu was", "typo", "Qassem Soleimanu"),
        ("Qasem Soleimnai", "typo", "Qasem Soleimnai"),
        ("Qasem Solemani", "transliteration", "Qasem Solemani"),
        ("#QassemSoleimani", "hashtag", "#QassemSoleimani"),
        ("#qasem_soleimani", "hashtag", "#qasem_soleimani"),
        ("#قاسم_سلیمانی", "hashtag", "#قاسم_سلیمانی"),
        ("#SardarDelha", "hashtag", "#SardarDelha"),
        ("Haj Qassem lives on", "alias", "Haj Qassem"),
        ("حاج قاسم", "alias", "حاج قاسم"),
        ("General Soleimani was killed", "surname_context", "Soleimani"),
        ("شهید سلیمانی", "surname_context", "سلیمانی"),
        ("генерал Сулеймани", "surname_context", "Сулеймани"),
        ("Abu Mahdi al-Muhandis", "exact", "Abu Mahdi al-Muhandis"),
        ("ابومهدی مهندس", "exact", "ابومهدی مهندس"),
        ("Абу Махди аль-Мухандис", "transliteration", "Абу Махди аль-Мухандис"),
        ("al-Muhandis, the PMF deputy", "surname_context", "Muhandis"),
    ],
)
def test_each_way_of_writing_a_name_is_found(
    matcher: TextMatcher, text: str, via: str, matched: str
):
    assert any(v == via and m == matched for _, v, m in found(matcher, text)), found(matcher, text)


@pytest.mark.parametrize(
    "text",
    [
        "Leila Soleimani, a general practitioner in Tehran",  # a namesake, even with "general"
        "Farah Soleimani is the new deputy attorney general",
        "دکتر مریم سلیمانی، پزشک عمومی",
        "Soleimani scored twice in the derby",  # surname without context
        "Islam Slimani scored and the general manager was pleased",  # same skeleton
        "Leïla Slimani won the Goncourt",
        "اسلام سليماني يسجل هدفين",
        "Sulaymaniyah is cold in January, the general forecast says",  # the city
        "Slemani airport reopened",
        "سلیمانیه شهری زیبا در کردستان است",
        "Suleiman the Magnificent, a great commander",
        "Kanuni Sultan Süleyman",
        "General Michel Suleiman visited Paris",
        "The al-Qassam Brigades fired Qassam rockets",
        "كتائب القسام",
        "Millions perform the Hajj every year",
        "سفر حج امسال",
        "Haj Qassem Mohammadi, the baker, closed his shop",
        "Naim Qassem gave a speech",
        "مهندس موسوی امروز سخنرانی کرد",
        "المهندس أحمد يشرف على البناء",
        "Qassem and his friends went to the market",
        "The general assembly met in Kerman",
    ],
)
def test_namesakes_places_and_lookalike_words_are_not_matched(matcher: TextMatcher, text: str):
    assert found(matcher, text) == []


def test_spans_index_the_original_text(matcher: TextMatcher):
    text = "«ﻻ» 𝐐𝐚𝐬𝐬𝐞𝐦 S.o.l.e.i.m.a.n.i!"
    (match,) = matcher.find(text)
    assert text[match.span[0] : match.span[1]] == match.matched == "𝐐𝐚𝐬𝐬𝐞𝐦 S.o.l.e.i.m.a.n.i"


def test_a_name_with_only_one_script_is_found_in_the_other():
    matcher = TextMatcher([Entity("x", "person", ("Qassem Soleimani",))])
    assert [m.via for m in matcher.find("قاسم سلیمانی")] == ["transliteration"]
    persian_only = TextMatcher([Entity("x", "person", ("قاسم سلیمانی",))])
    assert [m.via for m in persian_only.find("Qasem Soleimani")] == ["transliteration"]


def test_first_name_and_surname_must_be_near(matcher: TextMatcher):
    assert found(matcher, "Qassem was late; the market was closed; Soleimani arrived") == []
    assert found(matcher, "Qassem the late Soleimani")  # two words between are near


def test_typos_need_the_other_name_intact(matcher: TextMatcher):
    assert found(matcher, "Qasrem Soleimanu") == []
    assert found(matcher, "the general Soleimanu") == []  # no typo on a surname alone


def test_entities_are_told_apart_in_one_post(matcher: TextMatcher):
    text = "Qassem Soleimani and Abu Mahdi al-Muhandis were killed together"
    assert {e for e, _, _ in found(matcher, text)} == {"qs", "amm"}


class CountingDict(dict):  # type: ignore[type-arg]
    """A dict that counts lookups: the matcher's cost, independent of timing."""

    lookups = 0

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        CountingDict.lookups += 1
        return super().get(key, default)


def _many_entities(count: int) -> list[Entity]:
    surnames = ["Rostami", "Karimi", "Bahrami", "Tavakoli", "Nourbakhsh", "Ebadi", "Farahani"]
    return [
        Entity(f"e{i}", "person", (f"Firuz{i} {surnames[i % len(surnames)]}{i}",))
        for i in range(count)
    ] + [Entity("qs", "person", ("Qassem Soleimani",), context_terms=("general",))]


def test_matching_cost_does_not_grow_with_the_number_of_names():
    text = "Qassem Soleimani, the general, was killed in Baghdad with nine others"
    counts = []
    for size in (1, 2000):
        matcher = TextMatcher(_many_entities(size))
        index = matcher.index
        index.exact = CountingDict(index.exact)
        index.fuzzy = CountingDict(index.fuzzy)
        CountingDict.lookups = 0
        assert [m.entity for m in matcher.find_exhaustive(text)] == ["qs"]
        counts.append(CountingDict.lookups)
    assert counts[0] == counts[1]


def test_policy_hashtags_must_be_hashtags(matcher: TextMatcher):
    assert found(matcher, "sardar delha") == []
    assert found(matcher, "#sardardelha") == [("qs", "hashtag", "#sardardelha")]


def test_an_alias_followed_by_the_entitys_own_surname_is_the_entity(matcher: TextMatcher):
    assert found(matcher, "Haj Qassem Soleimani")[0][0] == "qs"


def test_explicit_policy_of_one_entity_in_yaml():
    policy = parse_policy(
        "id: p\nversion: 1\nentities:\n  - id: e\n    names: [Qassem Soleimani]\n"
        "rules:\n  - id: r\n    when: mentions('e')\n    action: review\n"
    )
    assert TextMatcher(policy.entities).find("Ghasem Soleimani")


def test_names_do_not_run_across_two_hashtags(matcher: TextMatcher):
    matches = matcher.find("#QassemSoleimani #QassemSoleimani #QassemSoleimani")
    assert [m.matched for m in matches] == ["#QassemSoleimani"] * 3


def test_a_long_post_full_of_names_gives_every_mention(matcher: TextMatcher):
    # Each mention is evidence; thousands of them must not make the matcher quadratic.
    text = "سردار قاسم سلیمانی در کرمان #QassemSoleimani " * 2000
    matches = matcher.find(text)
    assert len(matches) == 4000
    assert {m.via for m in matches} == {"exact", "hashtag"}


def test_a_name_of_short_words_counts_only_with_its_words_side_by_side():
    matcher = TextMatcher([Entity("ar", "person", ("Ali Reza",), context_terms=("general",))])
    assert [m.matched for m in matcher.find("we met Ali Reza today")] == ["Ali Reza"]
    assert matcher.find("Ali met Reza today") == []  # near, but not side by side
    assert matcher.find("the general Reza") == []  # a short surname does not stand alone


def test_a_word_gluing_arabic_and_latin_letters_reads_as_neither(matcher: TextMatcher):
    assert matcher.find("ripسلیمانی the general") == []
