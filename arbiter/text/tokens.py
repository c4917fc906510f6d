"""Tokens of normalized text, including the words a writer split to hide them.

Besides ordinary words, `tokenize` yields the word formed by re-joining letters
split by dots, dashes, asterisks, emoji or spaces ("S.o.l.e.i.m.a.n.i",
"S o l e i m a n i"), and the parts of hashtags ("#QassemSoleimani",
"#qasem_soleimani"). Each token knows its place in the sequence of word
"atoms", so the matcher can ask whether a first name and a surname are near.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from arbiter.text.alphabet import JOINERS
from arbiter.text.normalize import Normalized

HARD_SEPARATORS = frozenset(',;:?()[]{}"«»“”„،؛؟…<>\u3001\u3002')
# Symbols that spell letters inside a word (leetspeak) but end it elsewhere.
INNER_SYMBOLS = frozenset("$@|!€£")
MIN_SPACED_LETTERS = 3


@dataclass(frozen=True, slots=True)
class Token:
    """A candidate word: its normalized text, normalized span and atom range."""

    text: str
    start: int
    end: int
    first_atom: int
    last_atom: int
    hashtag: bool = False
    joined: bool = False  # formed by re-joining letters split by separators
    chunk: int = 0  # which run of non-separator characters it came from


WORD, JOINER, SEPARATOR, HASH, INNER = "w", "j", "s", "h", "i"


class _CharKinds(dict[str, str]):
    """Each character's kind, computed once: str.translate then reads it at C speed."""

    def __missing__(self, ch: str) -> str:
        if ch.isalnum():
            kind = WORD
        elif ch == "#":
            kind = HASH
        elif ch.isspace() or ch in HARD_SEPARATORS:
            kind = SEPARATOR
        elif ch in INNER_SYMBOLS:
            kind = INNER
        elif ch in JOINERS or unicodedata.category(ch)[0] in "SPM":
            kind = JOINER
        else:
            kind = SEPARATOR
        self[ch] = kind
        return kind


_KINDS = _CharKinds()


def _kinds(text: str) -> str:
    """word, joiner, separator or hash for each character of normalized text."""
    kinds = text.translate({ord(c): _KINDS[c] for c in set(text)})
    if INNER not in kinds:
        return kinds
    resolved = list(kinds)
    for i, kind in enumerate(kinds):
        if kind == INNER:  # a leet symbol is part of a word only next to letters
            before = i > 0 and kinds[i - 1] == WORD
            after = i + 1 < len(kinds) and kinds[i + 1] == WORD
            if text[i] in "!|":
                resolved[i] = WORD if before and after else SEPARATOR
            else:
                resolved[i] = WORD if after else JOINER
    return "".join(resolved)


def tokenize(norm: Normalized) -> list[Token]:
    """All candidate tokens of `norm`, in order of their first atom."""
    text = norm.text
    kinds = _kinds(text)
    tokens: list[Token] = []
    atom = 0
    singles: list[tuple[Token, bool]] = []  # one-letter parts, and whether each stood alone
    for chunk in _CHUNK.finditer(kinds):
        hashtag = chunk.group(1) is not None
        start, i = chunk.start(2), chunk.end(2)
        if not hashtag and kinds.find(JOINER, start, i) == -1:
            parts = [(start, i, text[start:i])]  # a plain word, the common case
        else:
            parts = _parts(norm, kinds, start, i, hashtag)
        if not parts:
            continue
        chunk_tokens, atom = _chunk_tokens(parts, atom, hashtag, start, text)
        tokens.extend(chunk_tokens)
        # One-letter words make a spaced-out word ("S o l e i m a n i"); the one-letter
        # ends of a neighbouring word join it ("al-M u h a n d i s").
        if hashtag:
            tokens.extend(_spaced_word(singles))
            singles = []
        elif len(parts) == 1 and len(parts[0][2]) == 1:
            singles.append((chunk_tokens[0], True))
        else:
            if len(parts[0][2]) == 1:
                singles.append((chunk_tokens[0], False))
            tokens.extend(_spaced_word(singles))
            last = chunk_tokens[len(parts) - 1]
            singles = [(last, False)] if len(last.text) == 1 else []
    tokens.extend(_spaced_word(singles))
    tokens.sort(key=lambda t: (t.first_atom, t.last_atom))
    return tokens


_CHUNK = re.compile(f"({HASH})?([{WORD}{JOINER}]+)")
_PART = re.compile(f"{WORD}+")


def _parts(
    norm: Normalized, kinds: str, start: int, end: int, hashtag: bool
) -> list[tuple[int, int, str]]:
    """Runs of word characters in [start, end); in hashtags also split at camelCase."""
    parts: list[tuple[int, int, str]] = []
    for run in _PART.finditer(kinds, start, end):
        i, j = run.span()
        cuts = _camel_cuts(norm, i, j) if hashtag else []
        bounds = [i, *cuts, j]
        for a, b in itertools.pairwise(bounds):
            parts.append((a, b, norm.text[a:b]))
    return parts


def _camel_cuts(norm: Normalized, start: int, end: int) -> list[int]:
    """Positions inside [start, end) where the original text turns from lower to upper case."""
    cuts = []
    original = norm.original
    for k in range(start + 1, end):
        prev, cur = original[norm.source[k - 1]], original[norm.source[k]]
        if norm.source[k] != norm.source[k - 1] and prev.islower() and cur.isupper():
            cuts.append(k)
    return cuts


def _chunk_tokens(
    parts: list[tuple[int, int, str]], atom: int, hashtag: bool, chunk: int, text: str
) -> tuple[list[Token], int]:
    tokens = [
        Token(text, a, b, atom + k, atom + k, hashtag=hashtag, chunk=chunk)
        for k, (a, b, text) in enumerate(parts)
    ]
    if len(parts) > 1:
        tokens += _hyphenated(parts, atom, hashtag, chunk, text)
        joined = "".join(p[2] for p in parts)
        tokens.append(
            Token(
                joined,
                parts[0][0],
                parts[-1][1],
                atom,
                atom + len(parts) - 1,
                hashtag=hashtag,
                joined=True,
                chunk=chunk,
            )
        )
    return tokens, atom + len(parts)


WORD_BREAKING_JOINERS = frozenset("-_/'’")


def _hyphenated(
    parts: list[tuple[int, int, str]], atom: int, hashtag: bool, chunk: int, text: str
) -> list[Token]:
    """Words between hyphens or apostrophes, each re-joined: "a.l-K.a.r.b.a.f.a.r.i"."""
    groups: list[list[int]] = [[0]]
    for k in range(1, len(parts)):
        between = text[parts[k - 1][1] : parts[k][0]]
        if WORD_BREAKING_JOINERS & set(between):
            groups.append([])
        groups[-1].append(k)
    if len(groups) == 1:
        return []
    return [
        Token(
            "".join(parts[k][2] for k in group),
            parts[group[0]][0],
            parts[group[-1]][1],
            atom + group[0],
            atom + group[-1],
            hashtag=hashtag,
            joined=True,
            chunk=chunk,
        )
        for group in groups
        if len(group) > 1
    ]


def _spaced_word(singles: list[tuple[Token, bool]]) -> list[Token]:
    """The word spelt by a run of one-letter parts, if enough of them stood alone."""
    if sum(alone for _, alone in singles) < MIN_SPACED_LETTERS:
        return []
    letters = [token for token, _ in singles]
    return [
        Token(
            "".join(t.text for t in letters),
            letters[0].start,
            letters[-1].end,
            letters[0].first_atom,
            letters[-1].last_atom,
            joined=True,
        )
    ]
