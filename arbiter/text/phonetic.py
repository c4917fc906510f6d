"""Phonetic keys: one spelling-independent form per word, per script family.

A Latin key keeps every consonant as a sound class (q, k, c and gh are one
class; s, ss and z another; v and w another) and every vowel group as front
(a, e, i, ei, ai, ey, ...) or back (o, u, ou, ...), so "Qassem Soleimani",
"Ghasem Suleimani" and "Kasım Süleymani" share keys while "Slimani" (no vowel
between s and l) and "Suleiman" (no final vowel) do not.

An Arabic-script key writes each letter as its sound class and keeps the
vowel letters (ا, و, ی), because short vowels are not written. A Latin name is
projected into every Arabic-script key it could plausibly be written as
(`arabic_projections`), and an Arabic-script name is romanized into the Latin
keys it could be read as (`latin_readings`), so either script finds the other.
"""

from __future__ import annotations

from functools import cache
from itertools import product

from arbiter.text.alphabet import ARABIC_KEY, CYRILLIC_LATIN, GREEK_LATIN, LATIN_SPECIAL

FRONT, BACK = "e", "o"
VOWELS = frozenset("aeiouy")
_DIGRAPHS: tuple[tuple[str, str], ...] = (
    ("dsch", "J"),
    ("dzh", "J"),
    ("dj", "J"),
    ("kh", "X"),
    ("gh", "K"),
    ("sh", "Š"),
    ("ch", "C"),
    ("zh", "Ž"),
    ("th", "T"),
    ("dh", "D"),
    ("ph", "F"),
    ("ck", "K"),
)
_SINGLE = {
    "q": "K",
    "k": "K",
    "c": "K",
    "g": "G",
    "x": "X",
    "s": "S",
    "z": "S",
    "j": "J",
    "v": "V",
    "w": "V",
    "b": "B",
    "p": "P",
    "t": "T",
    "d": "D",
    "f": "F",
    "l": "L",
    "m": "M",
    "n": "N",
    "r": "R",
    "h": "H",
}


# How each key symbol reads in the prefilter's skeleton: consonant classes; in Latin
# keys "E" and "O" for front and back vowels; in Arabic-script keys "A" for a written
# vowel letter (ا, ی) and "V" for و; h vanishes. prefilter._surface_class must read
# text the same way.
_CONSONANT_SKELETON = {
    "K": "K", "G": "K", "X": "K", "C": "K", "S": "S", "Š": "S", "Ž": "S", "J": "J",
    "T": "T", "D": "D", "P": "F", "F": "F", "B": "B", "V": "V", "L": "L", "M": "M",
    "N": "N", "R": "R",
}  # fmt: skip
LATIN_SKELETON = _CONSONANT_SKELETON | {"e": "E", "o": "O", "Y": "E"}
ARABIC_SKELETON = _CONSONANT_SKELETON | {"e": "A", "I": "A", "O": "V"}
# Spellings of J that the byte tables read as two or three letters (dj, dzh, dsch).
_J_SPELLINGS = ("J", "DJ", "DS", "DSK")


def skeleton(key: str) -> str:
    """The skeleton of a prefixed key ("LSoLeMeNe" -> "SOLEMENE", "AKeSM" -> "KASM")."""
    table = ARABIC_SKELETON if key[0] == "A" else LATIN_SKELETON
    return squeeze("".join(table.get(symbol, "") for symbol in key[1:]))


def skeletons(key: str) -> set[str]:
    """Every skeleton a text with this key can have (J is written several ways)."""
    base = skeleton(key)
    if "J" not in base or base.count("J") > 2:
        return {base}
    parts = base.split("J")
    out = set()
    for spellings in product(_J_SPELLINGS, repeat=len(parts) - 1):
        text = parts[0]
        for spelling, part in zip(spellings, parts[1:], strict=True):
            text += spelling + part
        out.add(squeeze(text))
    return out


def squeeze(text: str) -> str:
    """Collapse runs of one letter ("KSSM" -> "KSM")."""
    out: list[str] = []
    for ch in text:
        if out and out[-1] == ch:
            continue
        out.append(ch)
    return "".join(out)


def romanize(word: str) -> str:
    """A Latin spelling of a Cyrillic, Greek or special-Latin word (other letters kept)."""
    return "".join(
        CYRILLIC_LATIN.get(ch) or GREEK_LATIN.get(ch) or LATIN_SPECIAL.get(ch) or ch for ch in word
    )


@cache
def latin_key(word: str) -> str:
    """The phonetic key of a lowercase Latin word; "" if it has no letters."""
    symbols = _latin_symbols(word)
    key: list[str] = []
    for symbol in symbols:
        if key and key[-1] == symbol:
            continue
        key.append(symbol)
    # A final h after a vowel is not pronounced (Fatemeh, Sulaymaniyah).
    if len(key) > 2 and key[-1] == "H" and key[-2] in (FRONT, BACK):
        key.pop()
    return "".join(key)


def _is_consonant_y(word: str, i: int) -> bool:
    """y before a vowel is a consonant (Yazdi, -iyah); elsewhere it is the vowel i."""
    return word[i] == "y" and i + 1 < len(word) and word[i + 1] in "aeiou"


def _vowel_group_end(word: str, i: int) -> int:
    j = i
    while j < len(word) and word[j] in VOWELS and not (j > i and _is_consonant_y(word, j)):
        j += 1
    return j


def _consonant_at(word: str, i: int) -> tuple[str | None, int]:
    """The sound class of the consonant (or digraph) at i, and where the next unit starts."""
    for digraph, symbol in _DIGRAPHS:
        if word.startswith(digraph, i):
            return symbol, i + len(digraph)
    return _SINGLE.get(word[i]), i + 1


def _latin_symbols(word: str) -> list[str]:
    """Sound classes of a Latin word, vowels reduced to front or back."""
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        if _is_consonant_y(word, i):
            out.append("Y")
            i += 1
        elif word[i] in VOWELS:
            # Each letter of a vowel group keeps its class ("ua" is back-front); repeats
            # collapse, so ei, ey and ai are one front vowel and ou one back vowel.
            end = _vowel_group_end(word, i)
            out += [BACK if letter in "ou" else FRONT for letter in word[i:end]]
            i = end
        else:
            symbol, i = _consonant_at(word, i)
            if symbol:
                out.append(symbol)
    return out


@cache
def arabic_key(word: str) -> str:
    """The key of a normalized Arabic-script word: sound classes plus the written vowels."""
    key: list[str] = []
    for ch in word:
        symbol = ARABIC_KEY.get(ch)
        if symbol is None or symbol == "":
            continue
        if key and key[-1] == symbol and symbol not in "eOI":
            continue
        key.append(symbol)
    return "".join(key)


# How each Latin sound class may be written in Arabic script.
_CONSONANT_IN_ARABIC: dict[str, tuple[str, ...]] = {
    "K": ("K",),
    "G": ("G", "K", "J"),
    "X": ("X",),
    "S": ("S",),
    "Š": ("Š",),
    "Ž": ("Ž", "J"),
    "C": ("C",),
    "J": ("J",),
    "T": ("T",),
    "D": ("D",),
    "V": ("O",),
    "Y": ("I",),
    "H": ("H",),
    "P": ("P", "B"),
    "F": ("F",),
    "B": ("B",),
    "L": ("L",),
    "M": ("M",),
    "N": ("N",),
    "R": ("R",),
}


@cache
def arabic_projections(word: str, limit: int = 64) -> frozenset[str]:
    """Every Arabic-script key a Latin word could be written as (short vowels unwritten)."""
    units = _projection_units(word)
    if not units:
        return frozenset()
    last = len(units) - 1
    choices = [
        _CONSONANT_IN_ARABIC.get(value, (value,))
        if kind == "C"
        else _vowel_choices(value, position, last)
        for position, (kind, value) in enumerate(units)
    ]
    keys: set[str] = set()
    for combo in product(*choices):
        keys.add(_squeeze("".join(combo)))
        if len(keys) >= limit:
            break
    return frozenset(keys)


def _projection_units(word: str) -> list[tuple[str, str]]:
    """A Latin word as consonant classes ("C", symbol) and raw vowel groups ("V", letters)."""
    units: list[tuple[str, str]] = []
    i, n = 0, len(word)
    while i < n:
        if _is_consonant_y(word, i):
            units.append(("C", "Y"))
            i += 1
        elif word[i] in VOWELS:
            j = _vowel_group_end(word, i)
            units.append(("V", word[i:j]))
            i = j
        else:
            symbol, i = _consonant_at(word, i)
            if symbol and units[-1:] != [("C", symbol)]:  # a doubled consonant is written once
                units.append(("C", symbol))
    if len(units) > 1 and units[-1] == ("C", "H") and units[-2][0] == "V":
        units.pop()  # final -eh / -ah is the vowel, written ه
    return units


# How an unwritten-or-written vowel letter of a Latin word may appear in Arabic script.
_VOWEL_IN_ARABIC = {
    "a": ("", "e"),
    "i": ("", "I"),
    "y": ("", "I"),
    "e": ("",),
    "o": ("", "O"),
    "u": ("", "O"),
}


def _vowel_choices(group: str, position: int, last: int) -> tuple[str, ...]:
    if position == 0:
        return ("", "e", "eI", "eO") if group[0] in "ou" else ("", "e", "eI")
    if position == last:
        return ("O",) if group[-1] in "ou" else ("I", "e", "H")
    options = {""}
    for letter in group:
        options.update(_VOWEL_IN_ARABIC[letter])
    return tuple(sorted(options))


def _squeeze(key: str) -> str:
    out: list[str] = []
    for symbol in key:
        if out and out[-1] == symbol and symbol not in "eOI":
            continue
        out.append(symbol)
    return "".join(out)


# How each Arabic-script key symbol may be read in a Latin key.
_ARABIC_IN_LATIN: dict[str, tuple[str, ...]] = {
    "e": (FRONT,),
    "O": (BACK, "V"),
    "I": (FRONT, "Y"),
    "H": ("H", ""),
}


@cache
def latin_readings(arabic: str, limit: int = 512) -> frozenset[str]:
    """Latin keys an Arabic-script key could be read as, short vowels supplied."""
    if not arabic:
        return frozenset()
    choices: list[tuple[str, ...]] = []
    for position, symbol in enumerate(arabic):
        readings = _ARABIC_IN_LATIN.get(symbol, (symbol,))
        choices.append(readings)
        is_consonant = symbol not in "eOI"
        nxt = arabic[position + 1] if position + 1 < len(arabic) else ""
        if is_consonant and nxt and nxt not in "eOI":
            choices.append(("", FRONT, BACK))  # an unwritten short vowel
    keys: set[str] = set()
    for combo in product(*choices):
        keys.add(squeeze("".join(combo)))
        if len(keys) >= limit:
            break
    return frozenset(keys)


def deletions(key: str) -> set[str]:
    """Keys one deletion away: the index side of one-edit (typo) matching."""
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance between a and b is at most 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long_ = (a, b) if la < lb else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))
