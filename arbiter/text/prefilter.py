"""A prefilter that rules out, in a few microseconds, texts that cannot mention any entity.

Almost every post mentions nothing a policy designates, so the full matcher
(normalization with offsets, tokens, phonetic keys) runs only on texts that
pass this filter. The filter works on a whole batch of posts at once, in C:
the texts are NFKD-folded, stripped of invisible characters (marks, tatweel,
zero-width) and charmap-encoded; byte tables turn every letter into its sound
class (a skeleton: consonant classes, front/back vowels for Latin script,
written vowel letters for Arabic script, h gone), in three readings that differ
in what joiners do ("S.o.l.e.i.m.a.n.i", "a.l-M.u.h.a.n.d.i.s",
"Qassem.Soleimani"); NumPy squeezes doubled letters; one Aho-Corasick automaton
looks for the skeletons of the entities' distinctive words as whole words, and
a second one looks inside hashtags.

It must never rule out a text the matcher would match. That holds because the
byte tables are built from the same sound classes as the phonetic keys, other
readings are added where a text needs them (Cyrillic and Greek look-alikes,
digits standing for letters), and texts the tables cannot judge (letters split
by spaces, "1", "|" or "!" inside a word) go to the matcher unconditionally.
A property test in tests/text/test_prefilter.py checks exactly this.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick
import numpy as np

from arbiter.text import alphabet
from arbiter.text.corroborate import Corroborator, Requirement
from arbiter.text.names import NameIndex, WordRef
from arbiter.text.phonetic import ARABIC_SKELETON, skeletons, squeeze
from arbiter.text.tokens import WORD_BREAKING_JOINERS

_LATIN_CLASS = {
    "q": "K", "k": "K", "c": "K", "g": "K", "x": "K", "s": "S", "z": "S", "j": "J",
    "t": "T", "d": "D", "p": "F", "f": "F", "b": "B", "v": "V", "w": "V", "l": "L",
    "m": "M", "n": "N", "r": "R", "a": "E", "e": "E", "i": "E", "o": "O", "u": "O",
    "y": "E", "h": "",
}  # fmt: skip
_LEET_CLASS = {
    "0": "O", "1": "L", "3": "E", "4": "E", "5": "S", "7": "T", "8": "B", "9": "K",
    "@": "E", "$": "S", "€": "E", "£": "L", "|": "L",
}  # fmt: skip
# Arabic and Persian clitics written onto a name: ال, و, ب, ل, ف and their combinations.
# (A Latin "al-" needs none: the broken reading splits it off.)
ARTICLE_PREFIXES = ("", "AL", "L", "V", "B", "F", "VAL", "BAL", "FAL", "KAL")


def _prefixes(script: str) -> tuple[str, ...]:
    return ARTICLE_PREFIXES if script == "A" else ("",)


# Letters that read as two sounds (ц, ψ, ѕ, ң, ю, œ) get a placeholder byte,
# replaced after translation.
_MULTI = {"TS": "\x01", "FS": "\x02", "DS": "\x03", "KS": "\x04", "NK": "\x05", "EO": "\x06",
          "OE": "\x07"}  # fmt: skip
_PLACEHOLDERS = {placeholder: letters for letters, placeholder in _MULTI.items()}
_SEPARATORS = frozenset('#,;:()[]{}"«»“”„،؛؟<>!')


def _surface_class(ch: str, reading: str = "plain") -> str:
    """The skeleton letters of one folded character: "" deletes it, " " ends a word.

    `reading` "lookalike" reads Cyrillic and Greek letters as the Latin letters
    they look like; "cyrillic" reads Latin letters as the Cyrillic letters they
    look like, and Cyrillic х as h (Russian writes Arabic h that way); "leet"
    reads digits as the letters they stand for.
    """
    if ch == FOREIGN:
        return ""  # a character outside the alphabet joins like an emoji does
    if ch.isspace() or ch in _SEPARATORS:
        return " "
    if reading == "cyrillic":
        if ch == "х":
            return ""
        ch = alphabet.cyrillic_lookalikes().get(ch, ch)
    if ch in _LATIN_CLASS:
        return _LATIN_CLASS[ch]
    if ch.isdigit() or ch in _LEET_CLASS:
        # Read as letters only where a digit stands inside a word ("S0l3iman1").
        return _LEET_CLASS.get(ch, "") if reading == "leet" else ""
    if ch in alphabet.ARABIC_KEY:
        return ARABIC_SKELETON.get(alphabet.ARABIC_KEY[ch], "")
    if reading == "lookalike" and ch in alphabet.homoglyphs():
        return _LATIN_CLASS.get(alphabet.homoglyphs()[ch], "")
    roman = alphabet.CYRILLIC_LATIN.get(ch) or alphabet.GREEK_LATIN.get(ch)
    if roman is None:
        roman = alphabet.LATIN_SPECIAL.get(ch, "")
    classes = squeeze("".join(_LATIN_CLASS.get(c, "") for c in roman))
    return _MULTI.get(classes, classes)


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
    kept = {i for i in range(0x20, 0x7F)} | {0x00, 0x09, 0x0A, 0x0D}  # NUL separates posts
    free = [i for i in range(256) if i not in kept]
    if len(extra) > len(free):
        raise RuntimeError(f"prefilter alphabet needs {len(extra)} bytes, {len(free)} are free")
    chars = ["\ufffe"] * 256
    for i in kept:
        chars[i] = chr(i)
    for i, ch in zip(free, extra, strict=False):
        chars[i] = ch
    return "".join(chars)


def _translation(chars: str, classify: Callable[[str], str]) -> Table:
    """A bytes.translate table and deletion set from a per-character classification."""
    table, deleted = bytearray(range(256)), bytearray()
    for byte, ch in enumerate(chars):
        if byte == 0:
            continue  # the post separator survives every translation
        cls = classify(_fold_char(ch))
        if len(cls) > 1:
            raise ValueError(f"{ch!r} reads as {cls!r}: give it a placeholder in _MULTI")
        if cls:
            table[byte] = ord(cls)
        else:
            deleted.append(byte)
    return bytes(table), bytes(deleted)


def _fold_char(ch: str) -> str:
    return alphabet.ARABIC_VARIANTS.get(ch, ch.lower() if ch.isascii() else ch)


def _byte_class(byte_values: Iterable[int]) -> bytes:
    return b"[" + b"".join(re.escape(bytes([b])) for b in byte_values) + b"]"


Table = tuple[bytes, bytes]  # a bytes.translate table and the bytes it deletes
Reading = tuple[Table, ...]


def _reading(chars: str, mode: str) -> Reading:
    """Three tables for one reading of the letters, differing in what a joiner does.

    All joiners vanish: "S.o.l.e.i.m.a.n.i". Hyphens and apostrophes end a word, other
    joiners vanish: "a.l-M.u.h.a.n.d.i.s". Every joiner ends a word: "Qassem.Soleimani",
    "RIP🌹Soleimani" (a surname at a word start).
    """

    def breaking(breakers: Callable[[str], bool]) -> Callable[[str], str]:
        def classify(ch: str) -> str:
            cls = _surface_class(ch, mode)
            if cls == "" and not ch.isalnum() and ch not in "$@€£" and breakers(ch):
                return " "
            return cls

        return classify

    return (
        _translation(chars, lambda ch: _surface_class(ch, mode)),
        _translation(chars, breaking(lambda ch: ch in WORD_BREAKING_JOINERS)),
        _translation(chars, breaking(lambda ch: True)),
    )


def _word_shape(ch: str) -> str:
    """For finding one-letter words: word characters are "a", separators " ", others vanish."""
    if ch.isalnum() or ch in "|!":
        return "a"
    return " " if _surface_class(ch) == " " else ""


def _leet_shape(ch: str) -> str:
    """For finding digits in words: "a" letter, "x" 1 (i or l), "p" | or !, "d" other digit."""
    if ch == "1":
        return "x"
    if ch in "|!":
        return "p"
    if ch.isdigit() or ch in "$@€£":
        return "d"
    return "a" if ch.isalpha() else "o"


# In the leet shape: a word (letters and digits, | and ! only between them) with a
# letter and a 1, | or ! in it, which may read as i or as l: "So1eimani", "Sol31mani".
_WORD_CHAR = rb"(?:[adx]|(?<=[adx])p(?=[adx]))"
_I_OR_L = rb"(?:x|(?<=[adx])p(?=[adx]))"
# In the leet shape: a word with two letters and a digit, which may spell a name ("S0l3imani").
_LEET_WORD = re.compile(rb"(?<![ad])(?=[ad]*d)(?=[ad]*a[ad]*a)[ad]+")
_AMBIGUOUS = re.compile(rb"a%s*?%s|%s%s*?a" % (_WORD_CHAR, _I_OR_L, _I_OR_L, _WORD_CHAR))


def _script_shape(ch: str) -> str:
    return "c" if ch in alphabet.CYRILLIC_LATIN or ch in alphabet.GREEK_LATIN else ""


@dataclass(frozen=True)
class _Tables:
    """The byte tables of the prefilter, built once from the alphabet module's tables."""

    encoding: Any
    plain: Reading
    leet: Reading  # digits as letters: "S0l3iman1"
    alternates: tuple[Reading, ...]  # Cyrillic and Greek letters read as look-alikes
    word_shape: Table
    leet_shape: Table
    script_shape: Table
    spaced: re.Pattern[bytes]  # three or more one-letter words in a row: "S o l e i"
    hashtag: re.Pattern[bytes]  # a hashtag, up to the next separator


def _tables() -> _Tables:
    chars = _alphabet()
    letters = _byte_class(b for b, ch in enumerate(chars) if ch.isalnum())
    seps = _byte_class(
        [0] + [b for b, ch in enumerate(chars) if _surface_class(_fold_char(ch)) == " "]
    )
    other = b"[^" + letters[1:-1] + seps[1:-1] + b"]"
    single = other + b"*" + letters + other + b"*"
    spaced = re.compile(b"(?:^|%s)%s(?:%s+%s){2,}(?:%s|$)" % (seps, single, seps, single, seps))
    return _Tables(
        encoding=codecs.charmap_build(chars),
        plain=_reading(chars, "plain"),
        leet=_reading(chars, "leet"),
        alternates=(_reading(chars, "lookalike"), _reading(chars, "cyrillic")),
        word_shape=_translation(chars, _word_shape),
        leet_shape=_translation(chars, _leet_shape),
        script_shape=_translation(chars, _script_shape),
        spaced=spaced,
        hashtag=re.compile(b"#[^%s]+" % seps[1:-1]),
    )


class Prefilter:
    """An Aho-Corasick automaton over the consonant skeletons of every entity's names."""

    def __init__(
        self,
        anchored: dict[str, set[Requirement]],
        in_hashtags: Iterable[str],
        corroborator: Corroborator | None = None,
        always: bool = False,
    ):
        self.tables = _tables()
        self.patterns = sorted(anchored)
        self.hashtag_patterns = sorted(set(in_hashtags))
        self.always = always or not self.patterns
        self.corroborator = corroborator
        self._automaton = _automaton({p: tuple(anchored[p]) for p in self.patterns})
        self._hashtag_automaton = _automaton({p: (None,) for p in self.hashtag_patterns})

    @classmethod
    def build(cls, index: NameIndex) -> Prefilter:
        """Patterns for the words of every name, alias and hashtag that a match needs."""
        anchored: dict[str, set[Requirement]] = {}
        anywhere: set[str] = set()

        def add(spellings: set[tuple[str, str]], requirement: Requirement, tail: str = "") -> None:
            for script, skel in spellings:
                if skel:
                    for prefix in _prefixes(script):
                        anchored.setdefault(f" {prefix}{skel}{tail} ", set()).add(requirement)
                    anywhere.add(squeeze(skel + tail.replace(" ", "")))

        always = False
        for term in index.terms:
            if term.kind == "context":
                continue
            forms = [index.skeletons(WordRef(term.id, p)) for p in range(len(term.words))]
            if term.adjacent_only:
                for _, second in forms[1]:
                    add(forms[0], None, " " + second)
            for position in term.triggers:
                always = always or any(skel == "" for _, skel in forms[position])
                # A found word of a longer name still needs the name's other words.
                add(forms[position], (term.id, position) if len(forms) > 1 else None)
        for key in index.joined:  # words written as one
            add({(key[0], s) for s in skeletons(key)}, None)
        return cls(anchored, anywhere, Corroborator(index, ARTICLE_PREFIXES), always=always)

    def skeletons(self, text: str) -> list[str]:
        """The consonant skeletons of `text` that the automaton searches (three if Cyrillic)."""
        encoded = self._encode([text])
        readings = (self.tables.plain, *self.tables.alternates)
        tables = [table for reading in readings for table in reading]
        return [_squeeze_bytes(_translate(encoded, t)).decode("latin-1") for t in tables]

    def may_match(self, text: str) -> bool:
        """False only if no entity can be mentioned in `text`."""
        return self.may_match_many([text])[0]

    def may_match_many(self, texts: Sequence[str]) -> list[bool]:
        """may_match for each text, computed for the whole batch at once."""
        if self.always or not texts:
            return [True] * len(texts)
        t = self.tables
        encoded = self._encode(texts)
        starts = _post_starts(encoded)
        result = [False] * len(texts)
        hashtags = _posts_containing(encoded, (b"#",))
        leet = encoded.translate(*t.leet_shape)
        leet_posts = {bisect_right(starts, m.start()) - 1 for m in _LEET_WORD.finditer(leet)}
        script_posts = _posts_containing(encoded.translate(*t.script_shape), (b"c",))
        found: dict[int, list[Requirement]] = {}
        squeezed = self._search_reading(encoded, t.plain, result, hashtags, found)
        extra: dict[int, tuple[Reading, ...]] = {i: (t.leet,) for i in leet_posts}
        for index in script_posts:
            extra[index] = (*extra.get(index, ()), *t.alternates)
        for index, readings in extra.items():  # other readings of the same post
            one = _post(encoded, starts, index)
            single = [False]
            for reading in readings:
                found_here: dict[int, list[Requirement]] = {}
                self._search_reading(
                    one, reading, single, {0} if index in hashtags else set(), found_here
                )
                found.setdefault(index, []).extend(found_here.get(0, []))
            result[index] = result[index] or single[0]
        self._corroborate(found, squeezed, result, encoded, starts, extra, hashtags)
        # Texts the skeletons cannot judge go to the matcher unconditionally.
        for index in self._posts_with_one_letter_words(encoded):
            result[index] = result[index] or bool(t.spaced.search(_post(encoded, starts, index)))
        for index in _posts_containing(leet, (b"x", b"p")):
            result[index] = result[index] or bool(_AMBIGUOUS.search(_post(leet, starts, index)))
        return result

    def _search_reading(
        self,
        encoded: bytes,
        reading: Reading,
        result: list[bool],
        hashtags: set[int],
        found: dict[int, list[Requirement]] | None = None,
    ) -> list[bytes]:
        """Search one reading of a batch: names at word starts, and inside hashtags.

        With `found`, what a hit still needs is collected there instead of passing the post.
        """
        squeezed = [_squeeze_bytes(_translate(encoded, table)) for table in reading]
        for skeleton_bytes in squeezed:
            self._search(skeleton_bytes, result, self._automaton, found)
        if hashtags:  # a hashtag's camelCase parts start anywhere: "#GeneralSoleimani"
            starts = _post_starts(encoded)
            for tag in self.tables.hashtag.finditer(encoded):
                index = bisect_right(starts, tag.start()) - 1
                if not result[index]:
                    skeleton_bytes = _squeeze_bytes(_translate(tag.group(), reading[0]))
                    for _ in self._hashtag_automaton.iter(skeleton_bytes.decode("latin-1")):
                        result[index] = True
                        break
        return squeezed

    def _corroborate(
        self,
        found: dict[int, list[Requirement]],
        squeezed: list[bytes],
        result: list[bool],
        encoded: bytes,
        starts: list[int],
        extra: dict[int, tuple[Reading, ...]],
        hashtags: set[int],
    ) -> None:
        """Pass the posts whose found words have the rest of their name (or context) around.

        The post's words are read every way the prefilter reads it (digits as letters,
        look-alikes), and context terms are also looked for inside hashtags.
        """
        if self.corroborator is None:
            for index in found:
                result[index] = True
            return
        batch_starts = [_post_starts(s) for s in squeezed]
        for index, requirements in found.items():
            if result[index]:
                continue
            words: set[str] = set()
            for skeleton_bytes, post_starts in zip(squeezed, batch_starts, strict=True):
                words.update(_post(skeleton_bytes, post_starts, index).decode("latin-1").split())
            one = _post(encoded, starts, index)
            for reading in extra.get(index, ()):
                for table in reading:
                    words.update(_squeeze_bytes(_translate(one, table)).decode("latin-1").split())
            words.discard("\x00")
            if not requirements:
                continue
            result[index] = self.corroborator.plausible(
                requirements, words, inside_words=index in hashtags
            )

    def _posts_with_one_letter_words(self, encoded: bytes) -> set[int]:
        """Posts with two one-letter words in a row, the start of a spaced-out word."""
        shape = np.frombuffer(encoded.translate(*self.tables.word_shape), dtype=np.uint8)
        if shape.size < 2:
            return set()
        keep = np.ones(shape.size, dtype=bool)
        keep[1:] = ~((shape[1:] == 32) & (shape[:-1] == 32))  # squeeze runs of spaces
        return _posts_containing(shape[keep].tobytes(), (b" a a ",))

    def _encode(self, texts: Sequence[str]) -> bytes:
        """Texts folded (NFKD, casefold) and charmap-encoded, separated by POST_BREAK.

        Invisible characters (marks, harakat, tatweel, zero-width) vanish, as they do in
        normalization. Other characters outside the alphabet (emoji, other scripts)
        become FOREIGN: nothing in a skeleton, a word break in the broken reading.
        """
        joined = POST_BREAK + POST_BREAK.join(_fold(x) for x in texts) + " "
        if not joined.isascii():
            joined = _INVISIBLE.sub("", joined)
        joined = joined.replace(FOREIGN, ";")  # a real question mark is a separator
        return codecs.charmap_encode(joined, "replace", self.tables.encoding)[0]

    def _search(
        self,
        squeezed: bytes,
        result: list[bool],
        automaton: Any,
        found: dict[int, list[Requirement]] | None = None,
    ) -> None:
        """Mark the posts whose squeezed skeleton contains a pattern (or note what it needs)."""
        if not len(automaton):
            return
        starts = _post_starts(squeezed)
        for end, requirements in automaton.iter(squeezed.decode("latin-1")):
            index = bisect_right(starts, end) - 1
            if found is None or None in requirements:
                result[index] = True
            else:
                found.setdefault(index, []).extend(requirements)


POST_BREAK = " \x00 "
FOREIGN = "?"  # what the charmap's "replace" writes for a character outside the alphabet
_INVISIBLE = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06ed\u0640\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\ufeff]+"
)


def _automaton(patterns: dict[str, tuple[Requirement, ...]]) -> Any:
    automaton = ahocorasick.Automaton()
    for pattern, requirements in patterns.items():
        automaton.add_word(pattern, requirements)
    if patterns:
        automaton.make_automaton()
    return automaton


def _fold(text: str) -> str:
    """NFKD and casefold (lower case for ASCII is left to the byte tables); no NULs."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).casefold()
    return text.replace("\x00", " ") if "\x00" in text else text


def _post_starts(encoded: bytes) -> list[int]:
    """Index of each post's NUL marker in a batch."""
    starts: list[int] = np.flatnonzero(np.frombuffer(encoded, dtype=np.uint8) == 0).tolist()
    return starts


def _post(encoded: bytes, starts: list[int], index: int) -> bytes:
    end = starts[index + 1] if index + 1 < len(starts) else len(encoded)
    return encoded[starts[index] : end]


def _posts_containing(shape: bytes, needles: tuple[bytes, ...]) -> set[int]:
    """Indexes of the posts of a NUL-separated batch in which any needle occurs."""
    found: set[int] = set()
    starts: list[int] | None = None
    for needle in needles:
        at = shape.find(needle)
        while at != -1:
            if starts is None:
                starts = _post_starts(shape)
            index = bisect_right(starts, at) - 1
            found.add(index)
            next_post = starts[index + 1] if index + 1 < len(starts) else len(shape)
            at = shape.find(needle, next_post)
    return found


def _translate(encoded: bytes, table: Table) -> bytes:
    skeleton_bytes = encoded.translate(*table)
    for placeholder, letters in _PLACEHOLDERS.items():
        if placeholder.encode() in skeleton_bytes:
            skeleton_bytes = skeleton_bytes.replace(placeholder.encode(), letters.encode())
    return skeleton_bytes


def _squeeze_bytes(data: bytes) -> bytes:
    """Collapse runs of one byte, vectorized: "KSSM" -> "KSM"."""
    array = np.frombuffer(data, dtype=np.uint8)
    if array.size < 2:
        return data
    keep = np.empty(array.size, dtype=bool)
    keep[0] = True
    np.not_equal(array[1:], array[:-1], out=keep[1:])
    return array[keep].tobytes()
