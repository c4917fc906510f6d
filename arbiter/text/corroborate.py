"""A second look at a post the prefilter passed on one word: could the rest of a name be there?

Many names share a word's skeleton with everyday words ("bakery" and Bakari,
Persian کرد and Karad). A full name needs its other words too, each within one
edit (which is at most two in a skeleton); a surname alone needs a context term
of its entity. Both are checked here on the post's skeleton words, in C, before
the exact matcher is run. Like the prefilter, this may pass a post that does not
match, never the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from arbiter.text.names import TYPO_MIN_KEY, NameIndex, WordRef

Requirement = tuple[int, int] | None  # (term, position of the word that was found), or nothing
SKELETON_EDITS = 2  # one edit of a key is at most two in its squeezed skeleton


class Corroborator:
    """What each found word of each term still needs before the matcher is worth running."""

    def __init__(self, index: NameIndex, prefixes: tuple[str, ...]):
        self.prefixes = tuple(p for p in prefixes if p)
        self.others: dict[int, list[list[str]]] = {}  # term -> skeletons of each word
        self.typo_ok: dict[int, list[bool]] = {}  # term -> whether each word may be misspelt
        self.alone: dict[int, str] = {}  # term -> entity, if its surname may stand alone
        self.context: dict[str, set[str]] = {}  # skeleton -> entities it is context for
        for term in index.terms:
            forms = [
                sorted({s for _, s in index.skeletons(WordRef(term.id, p))})
                for p in range(len(term.words))
            ]
            if term.kind == "context":
                for skeleton in forms[0]:
                    self.context.setdefault(skeleton, set()).add(term.entity)
                continue
            self.others[term.id] = forms
            self.typo_ok[term.id] = [
                any(len(k) - 1 >= TYPO_MIN_KEY[k[0]] for k in index.word_forms[(term.id, p)])
                for p in range(len(term.words))
            ]
            if term.surname_may_stand_alone:
                self.alone[term.id] = term.entity
        self._context_inside = ahocorasick.Automaton()
        for skeleton, entities in self.context.items():
            if skeleton:
                self._context_inside.add_word(skeleton, entities)
        if self.context:
            self._context_inside.make_automaton()

    def plausible(
        self, requirements: Iterable[Requirement], words: set[str], inside_words: bool = False
    ) -> bool:
        """Whether any found word has what it needs among the post's skeleton words.

        `inside_words` also finds context terms inside words (hashtags: "#IRGCcommander").
        """
        requirements = list(requirements)
        if any(r is None for r in requirements):
            return True
        words = words | {w[len(p) :] for w in words for p in self.prefixes if w.startswith(p)}
        choices = sorted(w for w in words if w)
        context = {e for w in words for e in self.context.get(w, ())}
        if inside_words and len(self._context_inside):
            for _, entities in self._context_inside.iter(" ".join(choices)):
                context |= entities
        for requirement in requirements:
            assert requirement is not None
            term, position = requirement
            forms = self.others[term]
            if position == len(forms) - 1 and self.alone.get(term) in context:
                return True
            if self._rest_of_name(forms, self.typo_ok[term], position, words, choices):
                return True
        return False

    def _rest_of_name(
        self,
        forms: list[list[str]],
        typo_ok: list[bool],
        found: int,
        words: set[str],
        choices: list[str],
    ) -> bool:
        """Every other word present as written, or (one of them, if it may be) misspelt."""
        typos = 0
        for position, spellings in enumerate(forms):
            if position == found or any(s in words for s in spellings):
                continue
            if not typo_ok[position] or typos or not self._near(spellings, choices):
                return False
            typos += 1
        return True

    @staticmethod
    def _near(spellings: list[str], choices: list[str]) -> bool:
        return any(
            not skeleton
            or process.extractOne(
                skeleton, choices, scorer=Levenshtein.distance, score_cutoff=SKELETON_EDITS
            )
            is not None
            for skeleton in spellings
        )
