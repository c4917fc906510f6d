"""Character tables shared by normalization, phonetic keys and the prefilter.

Everything here is data: which characters fold to which, which letters of the
Arabic, Cyrillic and Greek scripts sound like which Latin letters, and which
characters are disguises (homoglyphs, leet digits). Keeping the tables in one
place is what keeps the fast prefilter and the exact matcher in agreement.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path

# Arabic-script letters that are written differently in Arabic, Persian and Urdu
# but name the same sound; folded to the Persian form.
ARABIC_VARIANTS: dict[str, str] = {
    "ي": "ی",
    "ى": "ی",
    "ے": "ی",
    "ۍ": "ی",
    "ې": "ی",
    "ئ": "ی",
    "ك": "ک",
    "ڪ": "ک",
    "ة": "ه",
    "ۀ": "ه",
    "ہ": "ه",
    "ھ": "ه",
    "ۃ": "ه",
    "ە": "ه",
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ٲ": "ا",
    "ٳ": "ا",
    "ؤ": "و",
    "ۆ": "و",
    "ۇ": "و",
    "ۈ": "و",
}
TATWEEL = "\u0640"

# Each Arabic-script letter's sound class in the shared key alphabet. Vowel
# letters get their own symbols: ا is a written "a" (e), و is u/o or v (O),
# ی is i/ei or y (I); ع and ء are not written in most romanizations.
ARABIC_KEY: dict[str, str] = {
    "ا": "e",
    "و": "O",
    "ی": "I",
    "ع": "",
    "ء": "",
    "ب": "B",
    "پ": "P",
    "ت": "T",
    "ط": "T",
    "ٹ": "T",
    "ث": "S",
    "س": "S",
    "ص": "S",
    "ز": "S",
    "ذ": "S",
    "ض": "S",
    "ظ": "S",
    "ج": "J",
    "چ": "C",
    "ح": "H",
    "ه": "H",
    "خ": "X",
    "د": "D",
    "ڈ": "D",
    "ر": "R",
    "ڑ": "R",
    "ژ": "Ž",
    "ش": "Š",
    "غ": "K",
    "ق": "K",
    "ک": "K",
    "گ": "G",
    "ف": "F",
    "ڤ": "V",
    "ل": "L",
    "م": "M",
    "ن": "N",
    "ں": "N",
}

# Romanization used for Cyrillic and Greek before Latin keys are computed.
CYRILLIC_LATIN: dict[str, str] = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "є": "ye",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "і": "i",
    "й": "y",
    "ј": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ў": "u",
    "ф": "f",
    "х": "kh",
    "ҳ": "h",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    "ѕ": "dz",
    "ӏ": "l",
    "қ": "q",
    "ғ": "gh",
    "ң": "ng",
    "ә": "a",
    "ө": "o",
    "ү": "u",
    "һ": "h",
}
GREEK_LATIN: dict[str, str] = {
    "α": "a",
    "β": "v",
    "γ": "g",
    "δ": "d",
    "ε": "e",
    "ζ": "z",
    "η": "i",
    "θ": "th",
    "ι": "i",
    "κ": "k",
    "λ": "l",
    "μ": "m",
    "ν": "n",
    "ξ": "x",
    "ο": "o",
    "π": "p",
    "ρ": "r",
    "σ": "s",
    "ς": "s",
    "τ": "t",
    "υ": "u",
    "φ": "f",
    "χ": "kh",
    "ψ": "ps",
    "ω": "o",
}

# Latin letters outside a-z that NFKD does not decompose, and Turkish letters
# whose romanization is a digraph.
LATIN_SPECIAL: dict[str, str] = {
    "ı": "i",
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "đ": "d",
    "ŀ": "l",
    "ß": "ss",
    "ş": "sh",
    "ç": "ch",
    "ș": "sh",
    "ț": "ts",
}

# Digits and symbols that stand for letters inside Latin words. "1" and "|"
# are read as i or l; the matcher tries both.
LEET: dict[str, str] = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "|": "l",
    "!": "i",
    "€": "e",
    "£": "l",
}
LEET_AMBIGUOUS: dict[str, str] = {"1": "l", "|": "i", "!": "l"}

# Characters that split a word without ending it: "S.o.l-e*i_m'a·n·i" is one
# word written with separators. Symbols and emoji behave the same way.
JOINERS = frozenset(".-*_'’‘`´·•‧~^+=/\\")

ARABIC_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {
    chr(0x06F0 + i): str(i) for i in range(10)
}


def is_arabic_letter(ch: str) -> bool:
    """True for letters of the Arabic script (Arabic, Persian, Urdu, ...)."""
    return ch in ARABIC_KEY


def script_of(ch: str) -> str:
    """The script of a normalized letter: latin, arabic, cyrillic, greek or other."""
    if "a" <= ch <= "z":
        return "latin"
    if ch in ARABIC_KEY:
        return "arabic"
    if ch in CYRILLIC_LATIN:
        return "cyrillic"
    if ch in GREEK_LATIN:
        return "greek"
    if ch in LATIN_SPECIAL:
        return "latin"
    return "other"


# Turkish and Romanian letters read as digraphs; NFKD would lose the cedilla.
# (Cyrillic й keeps its breve: "Йусан" is Yusan, not Iusan.)
DIGRAPH_LETTERS = {"ş": "sh", "ç": "ch", "ș": "sh", "ț": "ts", "й": "й"}


@cache
def fold_char(ch: str) -> str:
    """Fold one character: compatibility forms, case, marks, Arabic variants, format chars."""
    if ch in ARABIC_DIGITS:
        return ARABIC_DIGITS[ch]
    if ch == TATWEEL or unicodedata.category(ch) == "Cf":
        return ""
    lowered = ch.casefold()
    if lowered in DIGRAPH_LETTERS:
        return DIGRAPH_LETTERS[lowered]
    out = []
    for part in unicodedata.normalize("NFKD", ch).casefold():
        if part == TATWEEL or unicodedata.category(part) in ("Mn", "Me", "Cf"):
            continue
        part = ARABIC_VARIANTS.get(part, part)
        out.append(LATIN_SPECIAL.get(part, part))
    return "".join(out)


def _confusables_path() -> Path:
    import confusable_homoglyphs

    return Path(confusable_homoglyphs.__file__).with_name("confusables.json")


@cache
def homoglyphs() -> dict[str, str]:
    """Non-Latin letters that look like a Latin letter, per Unicode TS #39 data."""
    data = json.loads(_confusables_path().read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for char, entries in data.items():
        folded = fold_char(char) if len(char) == 1 else ""
        if len(folded) != 1 or "a" <= folded <= "z" or folded.isdigit():
            continue
        targets = [t for e in entries if (t := _latin_target(e["c"], e["n"]))]
        if targets and (char == folded or folded not in table):
            # Prefer the letter the character is also read as (Cyrillic і is i, not l).
            reading = CYRILLIC_LATIN.get(folded) or GREEK_LATIN.get(folded)
            table[folded] = reading if reading in targets else targets[0]
    return table


@cache
def cyrillic_lookalikes() -> dict[str, str]:
    """Latin letters that look like a Cyrillic letter: Latin c in a Cyrillic word is с."""
    reverse: dict[str, str] = {}
    for char, latin in homoglyphs().items():
        if char in CYRILLIC_LATIN and (latin not in reverse or CYRILLIC_LATIN[char] == latin):
            reverse[latin] = char
    return reverse


def _latin_target(glyph: str, name: str) -> str | None:
    if len(glyph) == 1 and glyph.isascii() and glyph.isalpha():
        return glyph.lower()
    prefix = "LATIN LETTER SMALL CAPITAL "
    if name.startswith(prefix) and len(name) == len(prefix) + 1:
        return name[-1].lower()
    return None


def stopwords() -> frozenset[str]:
    """Function words of the languages Arbiter ships examples for."""
    return _stopwords()


@cache
def _stopwords() -> frozenset[str]:
    import stopwordsiso

    words: set[str] = set()
    for lang in ("en", "fa", "ar", "ru", "tr", "ur", "fr", "de", "es"):
        words.update("".join(fold_char(c) for c in w) for w in stopwordsiso.stopwords(lang))
    return frozenset(words)


def given_names() -> list[str]:
    """Common given names, used to tell a namesake ("Leila Soleimani") from the entity."""
    text = resources.files("arbiter.text").joinpath("data/given_names.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
