"""Normalization that sees through scripts and disguises, keeping a map back to the original.

`normalize(text)` folds compatibility forms (fullwidth, mathematical letters),
case, Latin diacritics, Arabic harakat and tatweel, Arabic/Persian letter
variants and format characters (ZWNJ, ZWSP, soft hyphen, BOM, bidi controls),
and replaces look-alike letters inside Latin words with the Latin letter. Every
character of the result remembers the original character it came from, so a
match in the normalized text becomes a span of the original text.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from arbiter.text.alphabet import (
    LEET,
    LEET_AMBIGUOUS,
    cyrillic_lookalikes,
    fold_char,
    homoglyphs,
)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalized text and, for each of its characters, the index of its original character."""

    text: str
    source: tuple[int, ...]
    original: str

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that normalized characters [start, end) came from."""
        if end <= start:
            at = self.source[start] if start < len(self.source) else len(self.original)
            return at, at
        return self.source[start], self.source[end - 1] + 1


class _Folds(dict[int, str]):
    """fold_char by code point, computed once per character, for str.translate."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: set[str] = set()  # characters that fold to nothing
        self.expanded: set[str] = set()  # characters that fold to several

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = fold_char(ch)
        if not folded:
            self.deleted.add(ch)
        elif len(folded) > 1:
            self.expanded.add(ch)
        self[code] = folded
        return folded


_FOLDS = _Folds()


def normalize(text: str) -> Normalized:
    """Fold `text` to the form the matcher compares, with offsets back to `text`."""
    if text.isascii():  # ASCII folds one to one, by case alone
        return Normalized(text.lower(), tuple(range(len(text))), text)
    folded = text.translate(_FOLDS)
    if _FOLDS.expanded.isdisjoint(text):
        # Each character folds to itself or vanishes: the offsets need no per-character work.
        if _FOLDS.deleted.isdisjoint(text):
            source: tuple[int, ...] = tuple(range(len(text)))
        else:
            deleted = _FOLDS.deleted
            source = tuple(i for i, ch in enumerate(text) if ch not in deleted)
        if not homoglyphs().keys().isdisjoint(folded):
            chars = list(folded)
            _fold_homoglyphs_in_latin_words(chars)
            folded = "".join(chars)
        return Normalized(folded, source, text)
    return _normalize_slowly(text)


def _normalize_slowly(text: str) -> Normalized:
    chars: list[str] = []
    source: list[int] = []
    for index, ch in enumerate(text):
        for part in fold_char(ch):
            chars.append(part)
            source.append(index)
    _fold_homoglyphs_in_latin_words(chars)
    return Normalized("".join(chars), tuple(source), text)


def _fold_homoglyphs_in_latin_words(chars: list[str]) -> None:
    """In a word mixing Latin and Cyrillic/Greek letters, write every letter in the majority script.

    "Sоlеimаni" with Cyrillic о, е, а becomes Latin; "Cулеймaни" with Latin C and a
    becomes Cyrillic.
    """
    table = homoglyphs()
    reverse = cyrillic_lookalikes()
    start = 0
    n = len(chars)
    while start < n:
        if not chars[start].isalpha():
            start += 1
            continue
        end = start
        latin = other = 0
        while end < n and chars[end].isalpha():
            ch = chars[end]
            if "a" <= ch <= "z":
                latin += 1
            elif ch in table:
                other += 1
            end += 1
        if latin and other:
            fold = table if latin >= other else reverse
            for i in range(start, end):
                chars[i] = fold.get(chars[i], chars[i])
        start = end


def homoglyph_reading(word: str) -> str | None:
    """The Latin word a non-Latin word would look like, if every letter has a Latin look-alike."""
    table = homoglyphs()
    if not word or any(ch not in table for ch in word):
        return None
    return "".join(table[ch] for ch in word)


def unleet(word: str, limit: int = 8) -> list[str]:
    """Readings of a Latin word written with digits or symbols for letters ("S0l3iman1")."""
    # A word needs two letters to be read through its digits: "u5787" is a handle, not a name.
    if not any(ch in LEET for ch in word) or sum("a" <= ch <= "z" for ch in word) < 2:
        return []
    options = [
        (LEET[ch], LEET_AMBIGUOUS[ch]) if ch in LEET_AMBIGUOUS else (LEET.get(ch, ch),)
        for ch in word
    ]
    readings = []
    for combo in product(*options):
        readings.append("".join(combo))
        if len(readings) >= limit:
            break
    return readings
