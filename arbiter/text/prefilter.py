"""A prefilter that rules out, in a few microseconds, texts that cannot mention any entity.

Almost every post mentions nothing a policy designates, so the full matcher
(normalization with offsets, tokens, phonetic keys) runs only on texts that
pass this filter. The filter works on bytes, in C: the text is NFKD-folded and
encoded with a charmap that keeps only letters, digits and word separators
(marks, tatweel, zero-width characters and emoji vanish, which re-joins words
split by them), each letter is translated to its consonant class (vowels, h
and y deleted), doubled classes are squeezed, and one Aho-Corasick automaton
looks for the consonant skeletons of the entities' names.

It must never rule out a text the matcher would match. That holds because the
byte tables are built from the same sound classes as the phonetic keys, and
texts the tables cannot judge (letters split by spaces, "1"/"|"/"!" standing
for i or l) are passed to the matcher unconditionally.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick

from arbiter.text import alphabet
from arbiter.text.names import NameIndex
from arbiter.text.phonetic import SKELETON, SKELETON_LETTERS, skeleton, squeeze

_LATIN_CLASS = {
    "q": "K",
    "k": "K",
    "c": "K",
    "g": "K",
    "x": "K",
    "s": "S",
    "z": "S",
    "j": "J",
    "t": "T",
    "d": "D",
    "p": "F",
    "f": "F",
    "b": "B",
    "v": "V",
    "w": "V",
    "l": "L",
    "m": "M",
    "n": "N",
    "r": "R",
}
_LEET_CLASS = {"5": "S", "$": "S", "7": "T", "8": "B", "9": "K", "1": "L", "|": "L", "£": "L"}
SHORT = 2  # skeletons this short must match a whole word, not a substring
ARTICLE_PREFIXES = ("", "L", "V", "B", "F", "VL", "BL", "FL", "KL")
_SPLIT_A, _SPLIT_B = "\x01", "\x02"  # placeholders for letters that read as two consonants
_TWO_CONSONANTS = {_SPLIT_A: "TS", _SPLIT_B: "FS"}


def _surface_class(ch: str, reading: str = "plain") -> str:
    """The skeleton letters of one folded character: "" deletes it, " " ends a word.

    `reading` "lookalike" reads Cyrillic and Greek letters as the Latin letters
    they look like; "cyrillic" reads Latin letters as the Cyrillic letters they
    look like, and Cyrillic х as h (Russian writes Arabic h that way).
    """
    if ch.isspace() or ch in '#,;:?()[]{}"«»“”„،؛؟<>!':
        return " "
    if reading == "cyrillic":
        if ch == "х":
            return ""
        ch = alphabet.cyrillic_lookalikes().get(ch, ch)
    if ch in _LATIN_CLASS:
        return _LATIN_CLASS[ch]
    if ch in _LEET_CLASS:
        return _LEET_CLASS[ch]
    if ch in alphabet.ARABIC_KEY:
        return SKELETON.get(alphabet.ARABIC_KEY[ch], "")
    if reading == "lookalike" and ch in alphabet.homoglyphs():
        return _LATIN_CLASS.get(alphabet.homoglyphs()[ch], "")
    roman = alphabet.CYRILLIC_LATIN.get(ch) or alphabet.GREEK_LATIN.get(ch)
    if roman is None:
        roman = alphabet.LATIN_SPECIAL.get(ch, "")
    classes = squeeze("".join(_LATIN_CLASS.get(c, "") for c in roman.replace("h", "")))
    if len(classes) > 1:
        return _SPLIT_A if classes == "TS" else _SPLIT_B
    return classes


def _alphabet() -> str:
    """The 256 characters the charmap keeps: printable ASCII in place, known letters elsewhere."""
    extra = sorted(
        set(alphabet.ARABIC_KEY)
        | set(alphabet.ARABIC_VARIANTS)
        | set(alphabet.CYRILLIC_LATIN)
        | set(alphabet.GREEK_LATIN)
        | set(alphabet.LATIN_SPECIAL)
        | set("«»“”„،؛؟£€")
    )
    # Only characters that survive NFKD and casefolding can reach the encoder.
    extra = [
        c for c in extra if not c.isascii() and unicodedata.normalize("NFKD", c).casefold() == c
    ]
    kept = {i for i in range(0x20, 0x7F)} | {0x09, 0x0A, 0x0D}
    free = [i for i in range(256) if i not in kept]
    if len(extra) > len(free):
        raise RuntimeError(f"prefilter alphabet needs {len(extra)} bytes, {len(free)} are free")
    chars = ["\ufffe"] * 256
    for i in kept:
        chars[i] = chr(i)
    for i, ch in zip(free, extra, strict=False):
        chars[i] = ch
    return "".join(chars)


@dataclass(frozen=True)
class _Tables:
    encoding: Any
    plain: tuple[bytes, bytes]  # (translation table, bytes to delete)
    alternates: tuple[tuple[bytes, bytes], ...]  # other readings, for Cyrillic and Greek text
    cyrillic_or_greek: re.Pattern[bytes]
    spaced: re.Pattern[bytes]
    ambiguous: re.Pattern[bytes]


def _translation(chars: str, reading: str) -> tuple[bytes, bytes]:
    table, deleted = bytearray(range(256)), bytearray()
    for byte, ch in enumerate(chars):
        cls = _surface_class(_fold(ch), reading)
        if cls:
            table[byte] = ord(cls)
        else:
            deleted.append(byte)
    return bytes(table), bytes(deleted)


def _fold(ch: str) -> str:
    return alphabet.ARABIC_VARIANTS.get(ch, ch.lower() if ch.isascii() else ch)


def _byte_class(byte_values: Iterable[int]) -> bytes:
    return b"[" + b"".join(re.escape(bytes([b])) for b in byte_values) + b"]"


def _tables() -> _Tables:
    chars = _alphabet()
    letter_values = [b for b, ch in enumerate(chars) if ch.isalnum()]
    separator_values = [b for b, ch in enumerate(chars) if _surface_class(_fold(ch)) == " "]
    letters, seps = _byte_class(letter_values), _byte_class(separator_values)
    other = b"[^" + letters[1:-1] + seps[1:-1] + b"]"
    single = other + b"*" + letters + other + b"*"
    # Three or more one-letter words in a row: "S o l e i m a n i".
    spaced = re.compile(
        b"(?:^|"
        + seps
        + b")"
        + single
        + b"(?:"
        + seps
        + b"+"
        + single
        + b"){2,}(?:"
        + seps
        + b"|$)"
    )
    ambiguous = re.compile(letters + b"[|!]" + letters + b"|" + letters + b"1|1" + letters)
    cyrillic_or_greek = re.compile(
        _byte_class(
            b
            for b, ch in enumerate(chars)
            if ch in alphabet.CYRILLIC_LATIN or ch in alphabet.GREEK_LATIN
        )
    )
    return _Tables(
        codecs.charmap_build(chars),
        _translation(chars, "plain"),
        (_translation(chars, "lookalike"), _translation(chars, "cyrillic")),
        cyrillic_or_greek,
        spaced,
        ambiguous,
    )


class Prefilter:
    """An Aho-Corasick automaton over the consonant skeletons of every entity's names."""

    def __init__(self, patterns: Iterable[str], always: bool = False):
        self.tables = _tables()
        self.patterns = sorted(set(patterns))
        self.always = always or not self.patterns
        self._automaton = ahocorasick.Automaton()
        for pattern in self.patterns:
            self._automaton.add_word(pattern, len(pattern))
        if self.patterns:
            self._automaton.make_automaton()

    @classmethod
    def build(cls, index: NameIndex) -> Prefilter:
        """Patterns for the words of every name, alias and hashtag that a match needs."""
        patterns: set[str] = set()
        always = False
        for term in index.terms:
            if term.kind == "context":
                continue
            for position in term.triggers:
                skeletons = {skeleton(k) for k in index.word_forms[(term.id, position)]}
                if "" in skeletons:
                    always = True
                patterns.update(_word_patterns(skeletons))
        for key in index.joined:
            patterns.update(_word_patterns({skeleton(key)}))  # short words written together
        return cls(patterns, always=always)

    def skeletons(self, text: str) -> list[str]:
        """The consonant skeletons of `text` that the automaton searches (two if look-alikes)."""
        t = self.tables
        folded = text if text.isascii() else unicodedata.normalize("NFKD", text).casefold()
        encoded = codecs.charmap_encode(folded, "ignore", t.encoding)[0]
        out = [self._skeleton(encoded, t.plain)]
        if not text.isascii() and t.cyrillic_or_greek.search(encoded):
            out += [self._skeleton(encoded, table) for table in t.alternates]
        return out

    def _skeleton(self, encoded: bytes, table: tuple[bytes, bytes]) -> str:
        squeezed = encoded.translate(*table)
        for placeholder, letters in _TWO_CONSONANTS.items():
            if placeholder.encode() in squeezed:
                squeezed = squeezed.replace(placeholder.encode(), letters.encode())
        for letter in SKELETON_LETTERS + " ":
            double = (letter * 2).encode()
            while double in squeezed:
                squeezed = squeezed.replace(double, double[:1])
        return " " + squeezed.decode("latin-1") + " "

    def may_match(self, text: str) -> bool:
        """False only if no entity can be mentioned in `text`."""
        if self.always:
            return True
        t = self.tables
        folded = text if text.isascii() else unicodedata.normalize("NFKD", text).casefold()
        encoded = codecs.charmap_encode(folded, "ignore", t.encoding)[0]
        if (b"1" in encoded or b"|" in encoded or b"!" in encoded) and t.ambiguous.search(encoded):
            return True
        if t.spaced.search(encoded):
            return True
        iterate = self._automaton.iter
        for _ in iterate(self._skeleton(encoded, t.plain)):
            return True
        if not text.isascii() and t.cyrillic_or_greek.search(encoded):
            for table in t.alternates:
                for _ in iterate(self._skeleton(encoded, table)):
                    return True
        return False


def _word_patterns(skeletons: set[str]) -> set[str]:
    patterns = set()
    for skel in skeletons:
        if not skel:
            continue
        if len(skel) > SHORT:
            patterns.add(skel)
            continue
        for prefix in ARTICLE_PREFIXES:
            patterns.add(f" {prefix}{skel} ")
            patterns.add(f" {prefix}{skel}S ")
    return patterns
