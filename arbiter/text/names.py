"""What to look for: every entity's names, aliases, context terms and hashtags as phonetic keys.

A policy lists a name once. `NameIndex` derives from it the keys of its words
in each script family ("L" for Latin, Cyrillic and Greek after romanization;
"A" for Arabic script), the Arabic-script spellings of Latin names and the
Latin readings of Arabic-script names, the keys of the name written as one
word (hashtags), and one-deletion keys for typos. Lookups are dictionary hits
per token, so matching cost does not grow with the number of names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from arbiter.policy.model import Entity
from arbiter.text import alphabet
from arbiter.text.normalize import normalize
from arbiter.text.phonetic import (
    arabic_key,
    arabic_projections,
    deletions,
    latin_key,
    latin_readings,
    romanize,
    skeleton,
    skeletons,
)
from arbiter.text.tokens import tokenize

LATIN_ARTICLES = frozenset({"al", "el", "ul", "ol", "al'", "ad", "ar", "as", "at", "an", "az"})
ARABIC_ARTICLE = "ال"
TYPO_MIN_KEY = {"L": 5, "A": 4}
MIN_TRIGGER = 3  # words of fewer consonants ("Haj": J) are too common to search for alone


@dataclass(frozen=True, slots=True)
class Term:
    """One name, alias, context term or hashtag of an entity, as normalized words."""

    id: int
    entity: str
    kind: str  # name | alias | context | hashtag
    text: str
    words: tuple[str, ...]
    # Words distinctive enough to find a term by (consonant skeleton of 3 or more);
    # a typo is allowed in a word only while another trigger word stays intact.
    triggers: tuple[int, ...] = ()

    @property
    def adjacent_only(self) -> bool:
        """A name of short words only ("Ali Reza") counts only with its words side by side."""
        return len(self.words) > 1 and not self.triggers

    @property
    def surname_may_stand_alone(self) -> bool:
        return self.kind == "name" and len(self.words) > 1 and len(self.words) - 1 in self.triggers

    def allows_typo_in(self, position: int, skeleton_kept: bool) -> bool:
        """A typo needs another trigger word intact, or must leave the word's skeleton as it was."""
        if len(self.words) < 2:
            return False
        return skeleton_kept or any(p != position for p in self.triggers)


@dataclass(frozen=True, slots=True)
class WordRef:
    """Words [position, last] of a term that a key leads to (last > position: written as one)."""

    term: int
    position: int
    last: int = -1

    @property
    def end(self) -> int:
        return max(self.position, self.last)


@dataclass
class NameIndex:
    """Keys of every term of every entity, and of common given names."""

    terms: list[Term] = field(default_factory=list)
    exact: dict[str, list[WordRef]] = field(default_factory=lambda: defaultdict(list))
    fuzzy: dict[str, list[tuple[WordRef, str]]] = field(default_factory=lambda: defaultdict(list))
    joined: dict[str, list[WordRef]] = field(default_factory=lambda: defaultdict(list))
    given_names: set[str] = field(default_factory=set)
    own_words: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    word_forms: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)

    def skeletons(self, ref: WordRef) -> set[tuple[str, str]]:
        """Prefilter skeletons of every form of a term's word, with their script ("L" or "A")."""
        return {
            (key[0], s) for key in self.word_forms[(ref.term, ref.position)] for s in skeletons(key)
        }

    @classmethod
    def build(cls, entities: Iterable[Entity]) -> NameIndex:
        """Derive every key of every entity's terms."""
        index = cls()
        for entity in entities:
            index._add_entity(entity)
        for name in alphabet.given_names():
            for word in term_words(name):
                index.given_names.update(word_keys(word, readings=True))
        # Plain dicts look up faster and do not grow on a miss.
        index.exact = dict(index.exact)
        index.fuzzy = dict(index.fuzzy)
        index.joined = dict(index.joined)
        index.own_words = dict(index.own_words)
        return index

    def _add_entity(self, entity: Entity) -> None:
        groups = (
            ("name", entity.names),
            ("alias", entity.aliases),
            ("context", entity.context_terms),
            ("hashtag", entity.hashtags),
        )
        for kind, texts in groups:
            readings = not any(_is_latin_term(t) for t in texts)
            # A term also given in Arabic script needs no projected spellings when joined.
            projected = not any(_is_arabic_term(t) for t in texts)
            for text in texts:
                words: tuple[str, ...]
                if kind == "hashtag":
                    words = ("".join(term_words(text.lstrip("#"), keep_articles=True)),)
                else:
                    words = term_words(text)
                if not words or not words[0]:
                    continue
                forms = [
                    word_keys(word, readings=readings, projections=projected) for word in words
                ]
                term = Term(len(self.terms), entity.id, kind, text, words, _triggers(kind, forms))
                self.terms.append(term)
                self._add_term(term, forms, readings, projected)

    def _add_term(self, term: Term, forms: list[set[str]], readings: bool, projected: bool) -> None:
        for position, (word, keys) in enumerate(zip(term.words, forms, strict=True)):
            self.word_forms[(term.id, position)] = tuple(sorted(keys))
            ref = WordRef(term.id, position)
            for key in keys:
                self.exact.setdefault(key, []).append(ref)
            if term.kind in ("name", "alias"):
                self.own_words[term.entity].update(keys)
            if term.kind in ("name", "alias") and len(term.words) > 1:
                for key in word_keys(word, readings=False, projections=False):
                    if len(key) - 1 >= TYPO_MIN_KEY[key[0]]:
                        for variant in deletions(key) | {key}:
                            self.fuzzy.setdefault(variant, []).append((ref, key))
        if term.kind in ("name", "alias"):
            # Words written together: #QassemSoleimani, ابومهدی.
            n = len(term.words)
            for first in range(n):
                for last in range(first + 1, n):
                    joined = "".join(term.words[first : last + 1])
                    ref = WordRef(term.id, first, last)
                    for key in word_keys(joined, readings=readings, projections=projected):
                        self.joined.setdefault(key, []).append(ref)


def _triggers(kind: str, forms: list[set[str]]) -> tuple[int, ...]:
    """The distinctive words a match cannot do without: a strong surname, the strongest other.

    A word is distinctive when every spelling has a consonant skeleton of at least
    MIN_TRIGGER letters. A term with no such word has no triggers: its words must
    then stand side by side, and a surname alone does not count.
    """
    if kind == "context":
        return ()
    if len(forms) == 1:
        return (0,)
    strength = [min((_consonants(k) for k in keys), default=0) for keys in forms]
    strong = [p for p in range(len(forms)) if strength[p] >= MIN_TRIGGER]
    last = len(forms) - 1
    chosen = [last] if kind == "name" and last in strong else []
    ranked = sorted((p for p in strong if p not in chosen), key=lambda p: (-strength[p], -p))
    chosen += ranked[: 2 - len(chosen)]
    return tuple(sorted(chosen))


def _consonants(key: str) -> int:
    return sum(1 for letter in skeleton(key) if letter not in "AEO")


def _is_arabic_term(text: str) -> bool:
    return any(alphabet.script_of(ch) == "arabic" for ch in normalize(text).text)


def _is_latin_term(text: str) -> bool:
    return any(
        alphabet.script_of(ch) in ("latin", "cyrillic", "greek") for ch in normalize(text).text
    )


def term_words(text: str, keep_articles: bool = False) -> tuple[str, ...]:
    """The normalized words of a policy term, Arabic and Latin articles removed."""
    tokens = [t for t in tokenize(normalize(text)) if not t.joined]
    words = [t.text for t in tokens]
    if keep_articles:
        return tuple(words)
    kept = []
    for i, word in enumerate(words):
        if word in LATIN_ARTICLES and i + 1 < len(words):
            continue
        kept.append(strip_arabic_article(word))
    return tuple(kept)


def strip_arabic_article(word: str) -> str:
    if word.startswith(ARABIC_ARTICLE) and len(word) > 3 and alphabet.is_arabic_letter(word[2]):
        return word[2:]
    return word


def word_keys(word: str, readings: bool, projections: bool = True) -> set[str]:
    """Prefixed keys of one normalized word: "L…" Latin keys, "A…" Arabic-script keys."""
    scripts = {alphabet.script_of(ch) for ch in word if ch.isalpha()}
    keys: set[str] = set()
    if "arabic" in scripts:
        key = arabic_key(word)
        if key:
            keys.add("A" + key)
            if readings:
                keys.update("L" + k for k in latin_readings(key))
    elif scripts:
        latin = romanize(word)
        key = latin_key(latin)
        if key:
            keys.add("L" + key)
            if projections:
                keys.update("A" + k for k in arabic_projections(latin))
    return keys
