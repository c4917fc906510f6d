"""`arbiter bench text`: text-matching throughput, against two baselines run in the same process.

The benchmark generates, deterministically from one seed:

- a policy of N designated persons in DESIGN.md's format, each with a Latin
  and an Arabic-script spelling of the full name, one or two aliases and a few
  context terms; names are built from syllables so they are distinct and
  plausible, and never an ordinary word of the posts' languages;
- M short posts (120-250 characters) in English, Persian, Arabic, Russian,
  Turkish and French, some mixing scripts, of which 2% mention a random entity
  by its full name in either script, sometimes disguised (a respelling, a
  hashtag, Cyrillic look-alike letters, letters split by dots, Arabic letter
  variants, ZWNJ or tatweel, Cyrillic script).

It then measures, on the same posts:

- the full path: `arbiter.scan.scan` reading the JSONL file and writing decisions;
- (a) the floor: one bare Aho-Corasick pass of every name and alias over texts
  normalized (NFKC, casefold) before the clock starts;
- (b) the naive approach: one Python `re` alternation of every name and alias,
  case-insensitive, over the raw texts (on the first 20,000 posts: it is slow);

and reports the full path against both as ratios, its recall on the planted
mentions, its false alarms, and the peak memory of a policy of 10,000 entities
measured in a fresh process.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from random import Random
from typing import Any, NamedTuple

import ahocorasick
import orjson
import stopwordsiso
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from arbiter.engine import Engine
from arbiter.policy.load import load_policy
from arbiter.scan import scan

RESULTS = Path(__file__).resolve().parent / "results" / "text.md"
MENTION_RATE = 0.02
NAIVE_POSTS = 20_000
MEMORY_POSTS = 10_000
TIER_ONE_SHARE = 0.05
TARGET_FULL_VS_NAIVE = 50.0
TARGET_AC_VS_FULL = 8.0
TARGET_PEAK_MB = 1024.0
MISSED_EXAMPLES = 8

# -- names --------------------------------------------------------------------------------
# (Latin, Arabic script) syllables. Arabic spellings leave short vowels unwritten,
# as Persian and Arabic do; the engine is expected to relate the two spellings.

GIVEN_STARTS = (
    ("Bah", "به"), ("Far", "فر"), ("Kam", "کام"), ("Jam", "جم"), ("Mah", "مه"),
    ("Nas", "نص"), ("Sha", "شا"), ("Da", "دا"), ("Ka", "ک"), ("Ha", "ح"),
    ("Ja", "جا"), ("Sa", "سا"), ("Ra", "را"), ("Ma", "م"), ("Na", "نا"),
    ("Za", "زا"), ("Gol", "گل"), ("Mo", "مو"), ("Yu", "یو"), ("Ar", "ار"),
    ("Kho", "خو"), ("Bar", "بر"),
)  # fmt: skip
GIVEN_ENDS = (
    ("ram", "رام"), ("had", "هاد"), ("ran", "ران"), ("yar", "یار"), ("rim", "ریم"),
    ("mid", "مید"), ("san", "سان"), ("min", "مین"), ("rin", "رین"), ("vid", "وید"),
    ("din", "دین"), ("zad", "زاد"), ("lil", "لیل"), ("bod", "بود"), ("shid", "شید"),
    ("sin", "سین"), ("sud", "سود"),
)  # fmt: skip
SURNAME_STARTS = (
    ("Ka", "کا"), ("Ra", "ر"), ("Ba", "با"), ("Ta", "تا"), ("Sa", "سا"),
    ("Ma", "ما"), ("Na", "نا"), ("Ha", "ها"), ("Ja", "جا"), ("Fa", "فا"),
    ("Da", "دا"), ("Za", "زا"), ("Sha", "شا"), ("Kho", "خو"), ("Mo", "مو"),
    ("No", "نو"), ("Ro", "رو"), ("Sol", "سل"), ("Tab", "تب"), ("Kar", "کر"),
    ("Mir", "میر"), ("Gol", "گل"), ("Am", "ام"), ("Es", "اس"), ("Bagh", "باغ"),
    ("Ghaf", "غف"), ("Qor", "قر"), ("Yaz", "یز"), ("Tah", "ته"), ("Sad", "صد"),
)  # fmt: skip
SURNAME_MIDDLES = (
    ("ri", "ری"), ("la", "لا"), ("da", "دا"), ("na", "نا"), ("ba", "با"),
    ("ha", "ها"), ("sa", "سا"),
)  # fmt: skip
SURNAME_ENDS = (
    ("zem", "زم"), ("rim", "ریم"), ("him", "هیم"), ("ban", "بان"), ("dar", "دار"),
    ("san", "سان"), ("vand", "وند"), ("mand", "مند"), ("rad", "راد"), ("kan", "کان"),
    ("shan", "شان"), ("tar", "تار"), ("bar", "بار"), ("lan", "لان"), ("man", "مان"),
    ("nab", "ناب"), ("far", "فر"), ("jar", "جار"), ("gar", "گر"), ("sar", "سار"),
    ("fard", "فرد"), ("yan", "یان"),
)  # fmt: skip
SURNAME_SUFFIXES = (
    ("i", "ی"), ("i", "ی"), ("i", "ی"), ("i", "ی"), ("zadeh", "زاده"),
    ("pour", "پور"), ("nejad", "نژاد"), ("ian", "یان"), ("lu", "لو"),
)  # fmt: skip
TITLES = (
    ("Haj", "حاج"), ("Sheikh", "شیخ"), ("Sardar", "سردار"), ("Mullah", "ملا"),
    ("Sayyed", "سید"), ("Ustad", "استاد"), ("Mirza", "میرزا"),
)  # fmt: skip
CONTEXT_TERMS = (
    "general", "commander", "IRGC", "militia", "cleric", "minister", "Quds Force",
    "PMF", "Hashd", "سردار", "فرمانده", "سپاه", "الحشد", "генерал", "komutan",
)  # fmt: skip
# Syllable combinations that spell ordinary words (or names of things) somewhere.
NOT_NAMES = frozenset(
    (
        "safari", "salami", "sarin", "marin", "zamin", "haram", "madam", "kamin", "darin",
        "samin", "ramin", "sardar", "kabari", "tatari", "bazari", "kanari", "madari", "namaz",
        "sadri",
    )
)  # fmt: skip
# (Latin, Cyrillic) as a Russian writer would transliterate; digraphs first.
CYRILLIC = (
    ("kh", "х"), ("gh", "г"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("ou", "у"),
    ("j", "дж"), ("a", "а"), ("b", "б"), ("d", "д"), ("e", "е"), ("f", "ф"),
    ("g", "г"), ("h", "х"), ("i", "и"), ("k", "к"), ("l", "л"), ("m", "м"),
    ("n", "н"), ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"),
    ("t", "т"), ("u", "у"), ("v", "в"), ("y", "й"), ("z", "з"), ("w", "в"),
)  # fmt: skip
LOOKALIKES = {"a": "а", "o": "о", "e": "е", "i": "і", "c": "с", "p": "р", "y": "у", "x": "х"}
# Respellings a transliteration may use; each keeps the name's sound.
RESPELLINGS = (
    ("q", "gh"), ("gh", "q"), ("ou", "u"), ("o", "u"), ("u", "o"), ("ei", "ey"),
    ("kh", "x"), ("j", "dj"), ("v", "w"), ("a", "e"), ("s", "ss"), ("ss", "s"),
)  # fmt: skip
TURKISH_RESPELLINGS = (("i", "ı"), ("sh", "ş"), ("ch", "ç"), ("u", "ü"), ("o", "ö"))
ARABIC_LETTER_VARIANTS = {"ی": "ي", "ک": "ك"}
ZWNJ, TATWEEL = "\u200c", "\u0640"


class Person(NamedTuple):
    """A generated designated person: Latin and Arabic-script name, aliases, context terms."""

    id: str
    first: tuple[str, str]  # (Latin, Arabic script)
    last: tuple[str, str]
    aliases: tuple[str, ...]
    context_terms: tuple[str, ...]

    @property
    def names(self) -> tuple[str, str]:
        return f"{self.first[0]} {self.last[0]}", f"{self.first[1]} {self.last[1]}"

    @property
    def terms(self) -> tuple[str, ...]:
        """Every name and alias: what the baselines search for."""
        return self.names + self.aliases


_CLASSES = str.maketrans("qcgzw", "kkksv")
_VOWELS = str.maketrans("ueiy", "oaaa")


def _classes(word: str) -> str:
    """A Latin word with letters of one sound made one letter (q, c, g, gh -> k; z -> s ...)."""
    word = word.lower().replace("gh", "k").replace("kh", "x").replace("sh", "$")
    return word.translate(_CLASSES)


def _sound(word: str) -> str:
    """A crude sound key, only to keep two generated surnames from sounding the same."""
    word = _classes(word).translate(_VOWELS)
    return "".join(ch for i, ch in enumerate(word) if i == 0 or word[i - 1] != ch)


def _plausible(word: str) -> bool:
    """No two neighbouring consonants of one sound ("Dadari", "Noyani"): they read as made up."""
    word = _classes(word)
    consonants = [ch for ch in word if ch not in "aeiouyh-"]
    return "hh" not in word and all(a != b for a, b in itertools.pairwise(consonants))


def _pick(rng: Random, pairs: Sequence[tuple[str, str]]) -> tuple[str, str]:
    return pairs[rng.randrange(len(pairs))]


def _given_name(rng: Random, taboo: frozenset[str]) -> tuple[str, str]:
    while True:
        (a, a_ar), (b, b_ar) = _pick(rng, GIVEN_STARTS), _pick(rng, GIVEN_ENDS)
        if (a + b).lower() not in taboo and _plausible(a + b):
            return a + b, a_ar + b_ar


def _surname(rng: Random) -> tuple[str, str]:
    (a, a_ar), (c, c_ar) = _pick(rng, SURNAME_STARTS), _pick(rng, SURNAME_ENDS)
    b, b_ar = _pick(rng, SURNAME_MIDDLES) if rng.random() < 0.2 else ("", "")
    d, d_ar = _pick(rng, SURNAME_SUFFIXES)
    latin, arabic = a + b + c + d, a_ar + b_ar + c_ar + d_ar
    if d == "i" and rng.random() < 0.12:  # Arabic style: al-Tabrani, التبرانی
        return "al-" + latin, "ال" + arabic
    return latin, arabic


def make_people(count: int, rng: Random, taboo: frozenset[str]) -> list[Person]:
    """`count` persons with surnames that sound distinct and are not ordinary words."""
    people: list[Person] = []
    sounds: set[str] = set()
    width = len(str(count))
    for _ in range(count * 100):
        if len(people) == count:
            break
        last = _surname(rng)
        bare = last[0].removeprefix("al-").lower()
        if bare in taboo or _sound(bare) in sounds or not _plausible(bare):
            continue
        sounds.add(_sound(bare))
        first = _given_name(rng, taboo)
        title, title_ar = _pick(rng, TITLES)
        aliases = [f"{title} {first[0]}"]
        roll = rng.random()
        if roll < 0.3:
            aliases.append(f"{title_ar} {first[1]}")
        elif roll < 0.5:
            aliases.append(f"Abu {_given_name(rng, taboo)[0]}")
        context = tuple(rng.sample(CONTEXT_TERMS, rng.randint(2, 3)))
        people.append(Person(f"e{len(people) + 1:0{width}d}", first, last, tuple(aliases), context))
    if len(people) < count:
        raise ValueError(f"the syllable tables make only {len(people):,} distinct surnames")
    return people


# -- the policy ---------------------------------------------------------------------------


def policy_yaml(people: Sequence[Person], seed: int) -> str:
    """The policy as DESIGN.md writes one.

    Rules: CEL has no "any entity" test, so a policy over many persons either has
    one rule per person or a few rules that OR the persons of a tier together. We
    use tiers (three rules, each an OR of `mentions()` calls), which is what a
    policy team would maintain. Decisions are cached on the set of mentions, so
    both shapes cost the same per post: measured with 1,000 persons and 20,000
    posts, one rule per person scanned at 3,150 posts/s, tiers at 2,900-3,170.
    """
    tier_one = people[: max(1, round(len(people) * TIER_ONE_SHARE))]
    tier_two = people[len(tier_one) :]
    lines = [
        f"# Generated by bench/text.py (seed {seed}): {len(people):,} designated persons.",
        "id: bench-designated-individuals",
        "version: 1",
        "title: Designated individuals (benchmark)",
        "grounds:",
        "  type: incompatible_content",
        '  terms: "Community Guidelines 4.2 (dangerous individuals and organisations)"',
        "entities:",
    ]
    for person in people:
        lines += [
            f"  - id: {person.id}",
            "    kind: person",
            f"    names: {_flow(person.names)}",
            f"    aliases: {_flow(person.aliases)}",
            f"    context_terms: {_flow(person.context_terms)}",
        ]
    lines.append("rules:")
    lines += _rule("hashtag-campaign", tier_one, "restrict", signal="hashtag")
    lines.append('    territorial_scope: ["DE", "FR", "NL"]')
    lines += _rule("tier-one", tier_one, "remove")
    if tier_two:
        lines += _rule("designated", tier_two, "review")
    return "\n".join(lines) + "\n"


def _flow(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(item, ensure_ascii=False) for item in items) + "]"


def _rule(rule_id: str, people: Sequence[Person], action: str, signal: str = "") -> list[str]:
    """A rule whose condition ORs `mentions()` of `people`, folded eight calls a line."""
    extra = f", '{signal}'" if signal else ""
    calls = [f"mentions('{p.id}'{extra})" for p in people]
    folded = [" || ".join(calls[i : i + 8]) for i in range(0, len(calls), 8)]
    body = [f"      {line} ||" for line in folded[:-1]] + [f"      {folded[-1]}"]
    return [f"  - id: {rule_id}", "    when: >-", *body, f"    action: {action}"]


# -- posts --------------------------------------------------------------------------------
# Filler: per language, a sentence template over four word lists, so that
# sentences are grammatical enough and varied (about 26,000 per language).


class Language(NamedTuple):
    code: str
    template: str  # over {s} subject, {v} verb, {o} object, {t} time or place
    subjects: tuple[str, ...]
    verbs: tuple[str, ...]
    objects: tuple[str, ...]
    tails: tuple[str, ...]
    mentions: tuple[str, ...]  # sentences that mention {name}
    hashtags: tuple[str, ...]
    countries: tuple[str, ...]
    script: str  # latin | arabic | cyrillic: how the language writes a name
    weight: int


LANGUAGES = (
    Language(
        "en",
        "{s} {v} {o} {t}.",
        (
            "My neighbour", "The city council", "Our team", "A friend of mine",
            "The bakery on 5th street", "Local farmers", "The new coach", "Everyone at work",
            "The museum", "My sister", "The school board", "Commuters",
        ),
        (
            "is talking about", "finally fixed", "just announced", "cannot stop posting about",
            "spent the weekend on", "wrote a long thread on", "is worried about",
            "shared photos of", "complained about", "celebrated", "voted on", "asked me about",
        ),
        (
            "the rent increase", "the broken tram line", "fresh bread", "the football results",
            "the winter storm", "a new library", "the price of coffee", "the exam schedule",
            "the marathon route", "the flooded park", "cheap flights", "the jazz festival",
            "electric scooters", "the water bill", "a lost cat",
        ),
        (
            "again", "this morning", "last night", "before the holidays", "for the third time",
            "and nobody is surprised", "without any warning", "on the radio", "at the market",
            "in the group chat", "today", "this week",
        ),
        (
            "Just saw a clip of {name} from 2019.", "Why is everyone posting about {name} today?",
            "{name} is trending again in my feed.", "Reading a long article on {name} tonight.",
            "Photos of {name} are everywhere this morning.",
        ),
        ("#news", "#weekend", "#citylife", "#football"),
        ("US", "GB", "CA", "AU", "IE", "DE"),
        "latin",
        30,
    ),
    Language(
        "fa",
        "{s} {t} درباره {o} {v}.",
        (
            "همسایه ما", "شهرداری", "تیم ما", "یکی از دوستانم", "نانوایی سر کوچه", "کشاورزها",
            "مربی جدید", "همه همکارها", "موزه شهر", "خواهرم", "دانشجوها", "مسافران مترو",
        ),
        (
            "حرف می‌زنند", "پست گذاشت", "خبر داد", "نوشت", "نگران است", "عکس گذاشت",
            "شکایت کرد", "جشن گرفت", "بحث می‌کنند", "پرسید", "توضیح داد", "منتظر است",
        ),
        (
            "افزایش اجاره", "خط اتوبوس", "نان تازه", "نتیجه فوتبال", "طوفان زمستانی",
            "کتابخانه جدید", "قیمت چای", "برنامه امتحانات", "مسیر ماراتن", "پارک آب‌گرفته",
            "بلیت هواپیما", "جشنواره موسیقی", "قبض آب", "گربه گمشده", "ترافیک صبح",
        ),
        (
            "دوباره", "امروز صبح", "دیشب", "قبل از تعطیلات", "برای سومین بار", "بی‌خبر",
            "در رادیو", "توی بازار", "در گروه", "امروز", "این هفته", "مثل همیشه",
        ),
        (
            "عکس {name} امروز همه جا هست.", "ویدئوی سخنرانی {name} را دیدید؟",
            "یاد {name} در گروه ما.", "خبر تازه درباره {name} منتشر شد.",
        ),
        ("#تهران", "#خبر", "#ایران", "#اصفهان"),
        ("IR", "AF", "DE", "US", "SE", "CA"),
        "arabic",
        20,
    ),
    Language(
        "ar",
        "{v} {s} عن {o} {t}.",
        (
            "جاري", "مجلس المدينة", "فريقنا", "صديق لي", "المخبز في الحي", "المزارعون",
            "المدرب الجديد", "زملائي في العمل", "المتحف", "أختي", "الطلاب", "ركاب المترو",
        ),
        (
            "تحدث", "كتب", "أعلن", "نشر", "سأل", "اشتكى", "احتفل", "ناقش", "علّق", "سمع",
            "تساءل", "أخبرنا",
        ),
        (
            "ارتفاع الإيجارات", "خط الحافلات", "الخبز الطازج", "نتيجة المباراة",
            "العاصفة الشتوية", "المكتبة الجديدة", "سعر القهوة", "جدول الامتحانات",
            "مسار الماراثون", "الحديقة المغمورة", "تذاكر الطيران", "مهرجان الموسيقى",
            "فاتورة الماء", "القط الضائع", "زحمة السير",
        ),
        (
            "مرة أخرى", "هذا الصباح", "الليلة الماضية", "قبل العطلة", "للمرة الثالثة",
            "دون سابق إنذار", "على الراديو", "في السوق", "في المجموعة", "اليوم",
            "هذا الأسبوع", "كالعادة",
        ),
        (
            "صورة {name} في كل مكان اليوم.", "هل شاهدتم كلمة {name} أمس؟",
            "خبر جديد عن {name} هذا الصباح.",
        ),
        ("#بغداد", "#عاجل", "#بيروت", "#العراق"),
        ("IQ", "LB", "SA", "SY", "EG", "JO"),
        "arabic",
        20,
    ),
    Language(
        "ru",
        "{s} {v} {o} {t}.",
        (
            "Мой сосед", "Мэрия", "Наша команда", "Моя подруга", "Пекарня за углом", "Фермеры",
            "Новый тренер", "Все на работе", "Музей", "Моя сестра", "Студенты",
            "Пассажиры метро",
        ),
        (
            "обсуждает", "наконец починил", "объявил", "написал про", "беспокоится про",
            "выложил фото", "жалуется на", "отметил", "голосует за", "спрашивал про",
            "рассказал про", "ждёт",
        ),
        (
            "рост аренды", "трамвайную линию", "свежий хлеб", "результаты матча", "зимнюю бурю",
            "новую библиотеку", "цены на кофе", "расписание экзаменов", "маршрут марафона",
            "затопленный парк", "дешёвые билеты", "джазовый фестиваль", "самокаты",
            "счёт за воду", "потерянного кота",
        ),
        (
            "опять", "сегодня утром", "вчера вечером", "перед праздниками", "в третий раз",
            "без предупреждения", "по радио", "на рынке", "в чате", "сегодня",
            "на этой неделе", "как обычно",
        ),
        (
            "Опять пишут про {name} в новостях.", "Видео с {name} разошлось по чатам.",
            "{name} снова в трендах.",
        ),
        ("#новости", "#Москва", "#погода"),
        ("RU", "BY", "KZ", "UA", "DE"),
        "cyrillic",
        10,
    ),
    Language(
        "tr",
        "{s} {t} {o} {v}.",
        (
            "Komşum", "Belediye", "Takımımız", "Bir arkadaşım", "Köşedeki fırın", "Çiftçiler",
            "Yeni antrenör", "İş yerindeki herkes", "Müze", "Kız kardeşim", "Öğrenciler",
            "Yolcular",
        ),
        (
            "konuşuyor", "sonunda tamir etti", "duyurdu", "paylaştı", "merak ediyor",
            "şikâyet ediyor", "kutladı", "tartışıyor", "bekliyor", "soruyor", "anlatıyor",
            "takip ediyor",
        ),
        (
            "kira artışını", "tramvay hattını", "taze ekmeği", "maç sonuçlarını",
            "kış fırtınasını", "yeni kütüphaneyi", "kahve fiyatlarını", "sınav takvimini",
            "maraton rotasını", "su faturasını", "kayıp kediyi", "caz festivalini",
            "ucuz uçuşları", "seçim sonuçlarını", "hava durumunu",
        ),
        (
            "yine", "bu sabah", "dün akşam", "tatilden önce", "üçüncü kez", "habersizce",
            "radyoda", "pazarda", "grupta", "bugün", "bu hafta", "her zamanki gibi",
        ),
        (
            "{name} hakkında yeni bir video paylaşıldı.", "Herkes bugün {name} hakkında konuşuyor.",
            "{name}'in açıklaması gündemde.",
        ),
        ("#İstanbul", "#gündem", "#Ankara"),
        ("TR", "DE", "AZ", "NL"),
        "latin",
        10,
    ),
    Language(
        "fr",
        "{s} {v} {o} {t}.",
        (
            "Mon voisin", "La mairie", "Notre équipe", "Une amie", "La boulangerie du coin",
            "Les agriculteurs", "Le nouvel entraîneur", "Tout le bureau", "Le musée", "Ma sœur",
            "Les étudiants", "Les usagers du métro",
        ),
        (
            "parle de", "a enfin réparé", "vient d'annoncer", "ne cesse de publier sur",
            "a passé le week-end sur", "s'inquiète de", "a partagé des photos de", "se plaint de",
            "a fêté", "a voté sur", "m'a demandé des nouvelles de", "attend toujours",
        ),
        (
            "la hausse des loyers", "la ligne de tram", "le pain frais", "les résultats du match",
            "la tempête d'hiver", "la nouvelle médiathèque", "le prix du café",
            "le calendrier des examens", "le parcours du marathon", "le parc inondé",
            "les vols pas chers", "le festival de jazz", "les trottinettes", "la facture d'eau",
            "un chat perdu",
        ),
        (
            "encore une fois", "ce matin", "hier soir", "avant les vacances",
            "pour la troisième fois", "sans prévenir", "à la radio", "au marché",
            "dans le groupe", "aujourd'hui", "cette semaine", "comme d'habitude",
        ),
        (
            "Encore un article sur {name} ce matin.", "Pourquoi tout le monde parle de {name} ?",
            "Une vidéo de {name} circule depuis hier.",
        ),
        ("#Paris", "#actu", "#Lyon"),
        ("FR", "BE", "CH", "CA", "MA"),
        "latin",
        10,
    ),
)  # fmt: skip
EMOJI = ("🙂", "🔥", "😢", "👏", "☕", "🌧️", "🙏", "😂")


def ordinary_words() -> frozenset[str]:
    """Words of the posts' languages (filler and stopwords): no name may be one."""
    words: set[str] = set(NOT_NAMES)
    for language in LANGUAGES:
        for group in (language.subjects, language.verbs, language.objects, language.tails):
            for phrase in group:
                words.update(w.strip(".,?'").casefold() for w in phrase.split())
        words.update(stopwordsiso.stopwords(language.code))
    return frozenset(words)


class Planted(NamedTuple):
    """A mention of an entity placed in a post, and how it was written."""

    post_id: str
    entity: str
    variant: str
    written: str
    text: str


class Corpus(NamedTuple):
    """Generated posts on disk, the mentions planted in them, and the first texts."""

    path: Path
    posts: int
    planted: dict[str, Planted]
    head: list[tuple[str, str]]  # (id, text) of the first posts


class PostMaker:
    """Makes one post at a time, deterministically from `rng`."""

    def __init__(self, rng: Random, people: Sequence[Person]):
        self.rng = rng
        self.people = people
        self.languages = LANGUAGES
        self.weights = [language.weight for language in LANGUAGES]

    def post(self, number: int) -> tuple[dict[str, Any], Planted | None]:
        rng = self.rng
        language = rng.choices(self.languages, self.weights)[0]
        post_id = f"p{number:07d}"
        planted = None
        sentences = self._filler(language, rng.randint(120, 250))
        if rng.random() < MENTION_RATE:
            person = self.people[rng.randrange(len(self.people))]
            variant, written = self._written_name(person, language)
            mention = rng.choice(language.mentions).replace("{name}", written)
            sentences.insert(rng.randrange(len(sentences) + 1), mention)
            sentences = _trim(sentences, keep=mention)
            planted = Planted(post_id, person.id, variant, written, " ".join(sentences))
        text = planted.text if planted is not None else " ".join(sentences)
        post = {
            "id": post_id,
            "text": text,
            "lang": language.code,
            "created_at": f"2020-01-{rng.randint(1, 12):02d}T{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
            "author": {
                "id": f"u{rng.randrange(250_000)}",
                "country": rng.choice(language.countries),
            },
        }
        return post, planted

    def _filler(self, language: Language, length: int) -> list[str]:
        rng = self.rng
        sentences: list[str] = []
        size = 0
        while size < length:
            if sentences and rng.random() < 0.08:  # a sentence in another language
                other = rng.choice(self.languages)
                sentence = self._sentence(other)
            else:
                sentence = self._sentence(language)
            roll = rng.random()
            if roll < 0.15:
                sentence += " " + rng.choice(language.hashtags)
            elif roll < 0.25:
                sentence += " " + rng.choice(EMOJI)
            elif roll < 0.3:
                sentence += (
                    f" https://example.social/@u{rng.randrange(9999)}/{rng.randrange(10**9)}"
                )
            sentences.append(sentence)
            size += len(sentence) + 1
        return _trim(sentences)

    def _sentence(self, language: Language) -> str:
        rng = self.rng
        return language.template.format(
            s=rng.choice(language.subjects),
            v=rng.choice(language.verbs),
            o=rng.choice(language.objects),
            t=rng.choice(language.tails),
        )

    def _written_name(self, person: Person, language: Language) -> tuple[str, str]:
        """(variant, text) of the person's full name as this post writes it."""
        rng = self.rng
        latin, arabic = person.names
        script = language.script
        if script == "cyrillic":
            script = "cyrillic" if rng.random() < 0.5 else "latin"
        elif rng.random() < 0.1:  # the other script: a Persian name quoted in English
            script = "latin" if script == "arabic" else "arabic"
        if script == "cyrillic":
            return "cyrillic", _to_cyrillic(latin)
        if script == "arabic":
            return self._arabic_form(arabic)
        return self._latin_form(latin, language)

    def _latin_form(self, name: str, language: Language) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < 0.6:
            return "latin", name
        variant = rng.choice(("respelled", "hashtag", "homoglyph", "dots"))
        if variant == "respelled":
            table = TURKISH_RESPELLINGS if language.code == "tr" else RESPELLINGS
            respelled = _respell(name, table, rng)
            return ("respelled", respelled) if respelled != name else ("latin", name)
        if variant == "hashtag":
            return variant, "#" + "".join(w[:1].upper() + w[1:] for w in re.split("[ -]", name))
        if variant == "homoglyph":
            return variant, _homoglyphs(name, rng)
        return variant, _dotted(name)

    def _arabic_form(self, name: str) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < 0.6:
            return "arabic", name
        variant = rng.choice(
            ("arabic-letters", "arabic-zwnj", "arabic-tatweel", "arabic-dots", "arabic-hashtag")
        )
        if variant == "arabic-hashtag":
            return variant, "#" + name.replace(" ", "_")
        return _disguise_arabic(name, variant, rng)


def _trim(sentences: list[str], keep: str | None = None, limit: int = 250) -> list[str]:
    """Drop sentences (never `keep`) from the end until the post fits in `limit` characters."""
    sentences = list(sentences)
    while len(sentences) > 1 and sum(len(s) + 1 for s in sentences) - 1 > limit:
        for index in range(len(sentences) - 1, -1, -1):
            if sentences[index] != keep:
                del sentences[index]
                break
    return sentences


def _respell(name: str, table: Sequence[tuple[str, str]], rng: Random) -> str:
    """The name with one or two respellings at random places, capitals restored."""
    lowered = name.lower()
    usable = [(old, new) for old, new in table if old in lowered]
    written: list[str] = []
    for old, new in rng.sample(usable, min(len(usable), rng.randint(1, 2))):
        places = [m.start() for m in re.finditer(re.escape(old), lowered)]
        if not places or any(old in done or done in old for done in written):
            continue  # the first respelling took it away, or this one would undo it
        at = rng.choice(places)
        lowered = lowered[:at] + new + lowered[at + len(old) :]
        written.append(new)
    return " ".join(w[:1].upper() + w[1:] for w in lowered.split())


def _dotted(name: str) -> str:
    """Letters split by dots, word by word and around hyphens: "a.l-A.m.k.a.n.i"."""
    return " ".join("-".join(".".join(part) for part in word.split("-")) for word in name.split())


def _homoglyphs(name: str, rng: Random) -> str:
    """One or two Latin letters of the name written as their Cyrillic look-alikes."""
    places = [i for i, ch in enumerate(name) if ch in LOOKALIKES]
    chars = list(name)
    for at in rng.sample(places, min(len(places), rng.randint(1, 2))):
        chars[at] = LOOKALIKES[chars[at]]
    return "".join(chars)


def _to_cyrillic(name: str) -> str:
    """The name as a Russian writer would transliterate it."""
    out = []
    for word in name.replace("al-", "аль-").split():
        lowered, spelled, i = word.lower(), "", 0
        while i < len(lowered):
            for latin, cyrillic in CYRILLIC:
                if lowered.startswith(latin, i):
                    spelled += cyrillic
                    i += len(latin)
                    break
            else:
                spelled += lowered[i]
                i += 1
        out.append(spelled[:1].upper() + spelled[1:])
    return " ".join(out)


def _disguise_arabic(name: str, variant: str, rng: Random) -> tuple[str, str]:
    """(variant, name) with Arabic letter forms, a ZWNJ, a tatweel or dotted letters."""
    if variant == "arabic-dots":
        return variant, _dotted(name)
    if variant == "arabic-letters" and any(ch in ARABIC_LETTER_VARIANTS for ch in name):
        return variant, "".join(ARABIC_LETTER_VARIANTS.get(ch, ch) for ch in name)
    if variant == "arabic-letters":  # nothing to vary: stretch it instead
        variant = "arabic-tatweel"
    first, last = name.split(" ", 1)
    at = rng.randrange(1, len(last)) if len(last) > 1 else 1
    mark = ZWNJ if variant == "arabic-zwnj" else TATWEEL
    return variant, f"{first} {last[:at]}{mark}{last[at:]}"


def write_corpus(
    path: Path,
    count: int,
    people: Sequence[Person],
    rng: Random,
    keep_head: int = NAIVE_POSTS,
    on_progress: Callable[[int], None] | None = None,
) -> Corpus:
    """Write `count` posts as JSONL to `path`; remember the planted mentions and first texts."""
    corpus = Corpus(path, count, {}, [])
    maker = PostMaker(rng, people)
    with path.open("wb") as out:
        for number in range(1, count + 1):
            post, planted = maker.post(number)
            out.write(orjson.dumps(post) + b"\n")
            if planted is not None:
                corpus.planted[planted.post_id] = planted
            if number <= keep_head:
                corpus.head.append((post["id"], post["text"]))
            if on_progress is not None and number % 10_000 == 0:
                on_progress(number)
    return corpus


# -- measurements -------------------------------------------------------------------------


def _progress(console: Console) -> Progress:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console, transient=True)


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class FullPath(NamedTuple):
    build_s: float
    posts_per_s: float
    posts: int
    errors: int
    by_rule: dict[str, int]


def measure_full(
    policy: Path, corpus: Corpus, decisions: Path, workers: int, console: Console
) -> FullPath:
    """Build the engine (timed apart), then scan the corpus with `arbiter.scan.scan`."""
    started = time.perf_counter()
    engine = Engine(load_policy(policy))
    build_s = time.perf_counter() - started
    total = corpus.path.stat().st_size
    with (
        _progress(console) as progress,
        corpus.path.open("rb") as source,
        decisions.open("wb") as sink,
        open(os.devnull, "wb") as errors,
    ):
        task = progress.add_task("full scan path (bytes)", total=total)
        summary = scan(
            engine,
            source,
            sink,
            errors,
            workers=workers,
            on_progress=lambda done: progress.update(task, completed=done),
        )
    return FullPath(
        build_s, summary.posts_per_second, summary.posts, summary.errors, dict(summary.by_rule)
    )


def _texts(path: Path, batch: int) -> Iterator[list[tuple[str, str]]]:
    """(id, text) of the posts of a JSONL file, in batches."""
    chunk: list[tuple[str, str]] = []
    with path.open("rb") as lines:
        for line in lines:
            post = orjson.loads(line)
            chunk.append((post["id"], post.get("text", "")))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


class Baseline(NamedTuple):
    posts_per_s: float
    posts: int
    found_planted: int  # planted posts (among those timed) where it found the planted entity
    planted: int


def measure_aho_corasick(people: Sequence[Person], corpus: Corpus, console: Console) -> Baseline:
    """(a) One Aho-Corasick pass of every name and alias over pre-normalized texts."""
    automaton = ahocorasick.Automaton()
    for person in people:
        for term in person.terms:
            key = _normalized(term)
            owners = automaton.get(key, frozenset())
            automaton.add_word(key, owners | {person.id})
    automaton.make_automaton()
    iterate = automaton.iter
    seconds, posts, found, planted = 0.0, 0, 0, 0
    with _progress(console) as progress:
        task = progress.add_task("(a) bare Aho-Corasick", total=corpus.posts)
        for batch in _texts(corpus.path, 50_000):
            texts = [_normalized(text) for _, text in batch]  # not timed
            started = time.perf_counter()
            for text in texts:
                for _ in iterate(text):
                    pass
            seconds += time.perf_counter() - started
            posts += len(texts)
            for (post_id, _), text in zip(batch, texts, strict=True):
                mention = corpus.planted.get(post_id)
                if mention is not None:
                    planted += 1
                    found += any(mention.entity in owners for _, owners in iterate(text))
            progress.update(task, completed=posts)
    return Baseline(posts / seconds if seconds else 0.0, posts, found, planted)


def measure_naive(people: Sequence[Person], corpus: Corpus, console: Console) -> Baseline:
    """(b) One `re` alternation of every name and alias, case-insensitive, over raw texts."""
    owners: dict[str, set[str]] = {}
    for person in people:
        for term in person.terms:
            owners.setdefault(term.casefold(), set()).add(person.id)
    pattern = re.compile("|".join(re.escape(term) for term in owners), re.IGNORECASE)
    head = corpus.head
    found_by_post: list[list[str]] = []
    with _progress(console) as progress:
        task = progress.add_task("(b) naive re alternation", total=len(head))
        started = time.perf_counter()
        for index, (_, text) in enumerate(head):
            found_by_post.append(pattern.findall(text))
            if index % 500 == 499:
                progress.update(task, completed=index + 1)
        seconds = time.perf_counter() - started
    found = planted = 0
    for (post_id, _), found_terms in zip(head, found_by_post, strict=True):
        mention = corpus.planted.get(post_id)
        if mention is not None:
            planted += 1
            found += any(mention.entity in owners[t.casefold()] for t in found_terms)
    return Baseline(len(head) / seconds if seconds else 0.0, len(head), found, planted)


class Accuracy(NamedTuple):
    planted: int
    found: int
    false_alarms: int
    by_variant: dict[str, tuple[int, int]]  # variant -> (found, planted)
    missed: list[Planted]


def read_decisions(decisions: Path, corpus: Corpus) -> Accuracy:
    """Which planted mentions the full path found, and which other posts it matched."""
    found_ids: set[str] = set()
    false_alarms = 0
    with decisions.open("rb") as lines:
        for line in lines:
            if b'"matches":[]' in line:
                continue
            decision = orjson.loads(line)
            mention = corpus.planted.get(decision["post_id"])
            entities = {match["entity"] for match in decision["matches"]}
            if mention is None:
                false_alarms += bool(entities)
            elif mention.entity in entities:
                found_ids.add(mention.post_id)
    totals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    missed = []
    for post_id, mention in corpus.planted.items():
        totals[mention.variant] += 1
        if post_id in found_ids:
            hits[mention.variant] += 1
        else:
            missed.append(mention)
    by_variant = {v: (hits[v], totals[v]) for v in sorted(totals)}
    return Accuracy(len(corpus.planted), len(found_ids), false_alarms, by_variant, missed)


def prefilter_pass_rate(policy: Path, corpus: Corpus) -> float | None:
    """Diagnostic: the share of the first posts the engine's prefilter lets through."""
    try:
        may_match = Engine(load_policy(policy)).matcher.prefilter.may_match
    except AttributeError:  # the engine changed shape; the figure is only a diagnostic
        return None
    texts = [text for post_id, text in corpus.head if post_id not in corpus.planted]
    return sum(bool(may_match(text)) for text in texts) / len(texts) if texts else None


# Peak RSS is read from /proc/self/status (VmHWM) where there is one: on Linux,
# ru_maxrss of a child started by subprocess keeps the parent's peak across exec
# (measured: a parent holding 600 MB makes a bare child report 611 MB).
MEMORY_PROBE = """
import json, os, resource, sys, time

def peak_kb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

from arbiter.engine import Engine
from arbiter.policy.load import load_policy
from arbiter.scan import scan
before = peak_kb()
started = time.perf_counter()
engine = Engine(load_policy(sys.argv[1]))
built = time.perf_counter() - started
started = time.perf_counter()
with open(sys.argv[2], "rb") as source, open(os.devnull, "wb") as sink:
    summary = scan(engine, source, sink, None)
print(json.dumps({
    "imports_kb": before,
    "peak_kb": peak_kb(),
    "build_s": built,
    "scan_posts_per_s": summary.posts / (time.perf_counter() - started),
}))
"""


def measure_memory(entities: int, seed: int, folder: Path) -> dict[str, float]:
    """Peak RSS of a fresh process that builds an engine for `entities` and scans 10,000 posts."""
    rng = Random(seed + 1)
    people = make_people(entities, rng, ordinary_words())
    policy = folder / "memory-policy.yaml"
    policy.write_text(policy_yaml(people, seed + 1), encoding="utf-8")
    posts = folder / "memory-posts.jsonl"
    write_corpus(posts, MEMORY_POSTS, people, rng, keep_head=0)
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(policy), str(posts)],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise RuntimeError(f"the memory probe failed:\n{probe.stderr}")
    figures = json.loads(probe.stdout.strip().splitlines()[-1])
    return {
        "peak_mb": figures["peak_kb"] / 1024,
        "imports_mb": figures["imports_kb"] / 1024,
        "build_s": figures["build_s"],
        "scan_posts_per_s": figures["scan_posts_per_s"],
    }


# -- the report ---------------------------------------------------------------------------

Row = tuple[str, str, str, bool | None]  # figure, value, target, passed (None: no target)


def _share(found: int, total: int) -> str:
    return f"{found / total:.4f} ({found:,}/{total:,})" if total else "n/a"


def report_rows(figures: dict[str, Any], accuracy: Accuracy) -> list[Row]:
    """The table's rows: figures, targets, and whether each target is met."""
    f = figures
    rows: list[Row] = [
        ("engine build (not in scan time)", f"{f['engine_build_s']:.2f} s", "", None),
        ("full scan path, posts/s", f"{f['full_posts_per_s']:,.0f}", "", None),
        (
            "full path, posts/s per worker",
            f"{f['full_posts_per_s_per_worker']:,.0f}",
            "",
            None,
        ),
        ("(a) bare Aho-Corasick, posts/s", f"{f['ac_posts_per_s']:,.0f}", "", None),
        (
            f"(b) naive re, posts/s ({f['naive_posts']:,} posts)",
            f"{f['naive_posts_per_s']:,.0f}",
            "",
            None,
        ),
        (
            "full path ÷ (b) naive (posts/s)",
            f"{f['full_vs_naive']:,.1f}x",
            f">= {TARGET_FULL_VS_NAIVE:.0f}x",
            f["full_vs_naive"] >= TARGET_FULL_VS_NAIVE,
        ),
        (
            "(a) Aho-Corasick ÷ full path (posts/s)",
            f"{f['ac_vs_full']:,.1f}x",
            f"<= {TARGET_AC_VS_FULL:.0f}x",
            f["ac_vs_full"] <= TARGET_AC_VS_FULL,
        ),
        ("recall, planted mentions", _share(accuracy.found, accuracy.planted), "", None),
    ]
    for variant, (found, total) in accuracy.by_variant.items():
        rows.append((f"  recall, {variant}", _share(found, total), "", None))
    rows += [
        ("false alarms (unplanted matched)", f"{f['false_alarms']:,}", "", None),
        ("(a) recall, planted (exact names)", f["ac_recall_text"], "", None),
        (f"(b) recall, planted (first {f['naive_posts']:,})", f["naive_recall_text"], "", None),
    ]
    if f.get("prefilter_pass_rate") is not None:
        rate = f"{f['prefilter_pass_rate']:.3f}"
        rows.append(("prefilter pass rate (diagnostic)", rate, "", None))
    if f.get("peak_mb") is not None:
        rows += [
            (
                f"peak memory, {f['memory_entities']:,} entities, {MEMORY_POSTS:,} posts",
                f"{f['peak_mb']:,.0f} MB",
                f"< {TARGET_PEAK_MB:.0f} MB",
                f["peak_mb"] < TARGET_PEAK_MB,
            ),
            ("  of which interpreter and imports", f"{f['memory_imports_mb']:,.0f} MB", "", None),
            (
                f"engine build, {f['memory_entities']:,} entities",
                f"{f['memory_build_s']:.2f} s",
                "",
                None,
            ),
            (
                f"full path, {f['memory_entities']:,} entities, posts/s",
                f"{f['memory_posts_per_s']:,.0f}",
                "",
                None,
            ),
        ]
    return rows


def _title(figures: dict[str, Any]) -> str:
    return (
        f"arbiter bench text: {figures['posts']:,} posts, {figures['entities']:,} entities, "
        f"{figures['workers']} worker(s), seed {figures['seed']}"
    )


def print_table(console: Console, figures: dict[str, Any], rows: list[Row]) -> None:
    table = Table(title=_title(figures), title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("result")
    for name, value, target, passed in rows:
        verdict = "" if passed is None else "[green]pass[/green]" if passed else "[red]fail[/red]"
        table.add_row(name, value, target, verdict)
    console.print(table)


def _missed_line(example: dict[str, Any]) -> str:
    names = " / ".join(example["names"])
    return (
        f"{example['post_id']} {example['entity']} ({names}), {example['variant']}: "
        f"{example['written']!r} in {example['text']!r}"
    )


def write_markdown(path: Path, figures: dict[str, Any], rows: list[Row]) -> None:
    """The table (and the missed examples) as Markdown."""
    lines = [f"# {_title(figures)}", ""]
    lines += ["| figure | value | target | result |", "|---|--:|--:|---|"]
    for name, value, target, passed in rows:
        verdict = "" if passed is None else "pass" if passed else "fail"
        lines.append(f"| {name.strip()} | {value} | {target} | {verdict} |")
    if figures["missed_examples"]:
        lines += ["", "Planted mentions the full path missed (the first few):", ""]
        lines += [f"- {_missed_line(example)}" for example in figures["missed_examples"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _missed_examples(missed: list[Planted], people: Sequence[Person]) -> list[dict[str, Any]]:
    names = {person.id: person.names for person in people}
    return [
        {
            "post_id": m.post_id,
            "entity": m.entity,
            "names": list(names[m.entity]),
            "variant": m.variant,
            "written": m.written,
            "text": m.text,
        }
        for m in missed[:MISSED_EXAMPLES]
    ]


# -- the benchmark ------------------------------------------------------------------------


def run(
    posts: int,
    entities: int,
    memory_entities: int,
    workers: int,
    seed: int,
    console: Console,
    results: Path | None = None,
) -> dict[str, Any]:
    """Generate, measure, print one table, write it as Markdown; return the figures."""
    results = RESULTS if results is None else results
    if posts < 1 or entities < 1 or workers < 1:
        raise ValueError("posts, entities and workers must be at least 1")
    rng = Random(seed)
    with tempfile.TemporaryDirectory(prefix="arbiter-bench-text-") as tmp:
        folder = Path(tmp)
        people = make_people(entities, rng, ordinary_words())
        policy = folder / "policy.yaml"
        policy.write_text(policy_yaml(people, seed), encoding="utf-8")
        with _progress(console) as progress:
            task = progress.add_task("generating posts", total=posts)
            corpus = write_corpus(
                folder / "posts.jsonl",
                posts,
                people,
                rng,
                on_progress=lambda done: progress.update(task, completed=done),
            )
        decisions = folder / "decisions.jsonl"
        full = measure_full(policy, corpus, decisions, workers, console)
        accuracy = read_decisions(decisions, corpus)
        ac = measure_aho_corasick(people, corpus, console)
        naive = measure_naive(people, corpus, console)
        pass_rate = prefilter_pass_rate(policy, corpus)
        memory = measure_memory(memory_entities, seed, folder) if memory_entities > 0 else {}
    per_worker = full.posts_per_s / workers
    figures: dict[str, Any] = {
        "posts": posts,
        "entities": entities,
        "workers": workers,
        "seed": seed,
        "engine_build_s": full.build_s,
        "full_posts_per_s": full.posts_per_s,
        "full_posts_per_s_per_worker": per_worker,
        "full_errors": full.errors,
        "full_by_rule": full.by_rule,
        "ac_posts_per_s": ac.posts_per_s,
        "naive_posts_per_s": naive.posts_per_s,
        "naive_posts": naive.posts,
        "full_vs_naive": per_worker / naive.posts_per_s if naive.posts_per_s else float("inf"),
        "ac_vs_full": ac.posts_per_s / per_worker if per_worker else float("inf"),
        "planted": accuracy.planted,
        "recall_planted": accuracy.found / accuracy.planted if accuracy.planted else None,
        "recall_by_variant": {
            v: found / total for v, (found, total) in accuracy.by_variant.items()
        },
        "false_alarms": accuracy.false_alarms,
        "ac_recall_planted": ac.found_planted / ac.planted if ac.planted else None,
        "ac_recall_text": _share(ac.found_planted, ac.planted),
        "naive_recall_planted": naive.found_planted / naive.planted if naive.planted else None,
        "naive_recall_text": _share(naive.found_planted, naive.planted),
        "prefilter_pass_rate": pass_rate,
        "memory_entities": memory_entities,
        "peak_mb": memory.get("peak_mb"),
        "memory_imports_mb": memory.get("imports_mb"),
        "memory_build_s": memory.get("build_s"),
        "memory_posts_per_s": memory.get("scan_posts_per_s"),
        "missed": len(accuracy.missed),
        "missed_examples": _missed_examples(accuracy.missed, people),
    }
    rows = report_rows(figures, accuracy)
    print_table(console, figures, rows)
    if accuracy.missed:
        console.print(f"[yellow]{len(accuracy.missed):,} planted mention(s) missed[/yellow], e.g.:")
        for example in figures["missed_examples"]:
            console.print(f"  {_missed_line(example)}", highlight=False)
    write_markdown(results, figures, rows)
    console.print(f"written: {results}", highlight=False)
    return figures
