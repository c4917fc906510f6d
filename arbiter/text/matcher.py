"""Find every reference to a policy's entities in a text, with the evidence for each.

The rules, as the policy language promises them:
- a full name counts when its words appear in order, at most two words apart,
  in any script or spelling, with at most one word misspelt by one edit;
- a surname alone counts only when the post also has one of the entity's
  context terms, and not when a given name of someone else stands before it;
- an alias counts as written, except when a different surname follows it;
- a hashtag counts when it spells a name or alias, or is one the policy lists.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from arbiter.model import Match
from arbiter.policy.model import Entity
from arbiter.text import alphabet
from arbiter.text.names import NameIndex, Term, WordRef, strip_arabic_article
from arbiter.text.normalize import Normalized, homoglyph_reading, normalize, unleet
from arbiter.text.phonetic import (
    arabic_key,
    deletions,
    latin_key,
    romanize,
    skeleton,
    within_one_edit,
)
from arbiter.text.prefilter import Prefilter
from arbiter.text.tokens import Token, tokenize

MAX_GAP = 2  # words allowed between the words of a name
LOOKUP_CACHE = 1 << 16
SCORES = {
    "exact": 1.0,
    "script_variant": 0.98,
    "hashtag": 0.97,
    "alias": 0.95,
    "transliteration": 0.94,
    "homoglyph": 0.9,
    "spacing": 0.9,
    "leetspeak": 0.88,
    "typo": 0.85,
    "surname_context": 0.8,
}
# The most telling way a match was disguised names it.
VIA_PRECEDENCE = (
    "homoglyph",
    "leetspeak",
    "spacing",
    "typo",
    "hashtag",
    "surname_context",
    "alias",
    "transliteration",
    "script_variant",
    "exact",
)
ARABIC_PREFIXES = ("وال", "بال", "فال", "کال", "لل", "ال", "و", "ب", "ل")
ARABIC_SUFFIXES = ("هایش", "هایی", "های", "ها")
SURNAME_ENDINGS_LATIN = (
    "i",
    "y",
    "zadeh",
    "pour",
    "nejad",
    "ian",
    "ov",
    "ova",
    "ev",
    "eva",
    "oglu",
    "lu",
    "zade",
)
SURNAME_ENDINGS_ARABIC = ("ی", "زاده", "پور", "نژاد", "یان")
COMPAT_TAGS = ("<font>", "<wide>", "<narrow>", "<circle>", "<square>", "<super>", "<sub>")


@dataclass(frozen=True, slots=True)
class _Text:
    """One text as the matcher sees it: normalized, tokenized, each token's readings."""

    norm: Normalized
    tokens: list[Token]
    readings: list[list[tuple[str, frozenset[str]]]]
    plain_at: dict[int, int]  # atom -> index of the plain (not re-joined) token there

    def keys(self, index: int) -> set[str]:
        return {key for key, _ in self.readings[index]}


@dataclass(frozen=True, slots=True)
class Hit:
    """A token that reads as one word of a term."""

    token: int
    ref: WordRef
    flags: frozenset[str]
    typo: bool


class TextMatcher:
    """Matches text against the entities of one policy."""

    def __init__(self, entities: tuple[Entity, ...] | list[Entity]):
        self.index = NameIndex.build(entities)
        self.prefilter = Prefilter.build(self.index)
        self._stopwords = alphabet.stopwords()
        self._lookups: dict[str, tuple[tuple[WordRef, bool, bool], ...]] = {}

    def find(self, text: str, signal: str = "text") -> list[Match]:
        """All matches in `text`; most texts are ruled out by the prefilter in microseconds."""
        if not text or not self.prefilter.may_match(text):
            return []
        return self.find_exhaustive(text, signal)

    def find_exhaustive(self, text: str, signal: str = "text") -> list[Match]:
        """All matches in `text`, without the prefilter."""
        norm = normalize(text)
        tokens = tokenize(norm)
        if not tokens:
            return []
        seen = _Text(
            norm,
            tokens,
            [self._readings(token) for token in tokens],
            {t.first_atom: i for i, t in enumerate(tokens) if not t.joined},
        )
        hits = self._hits(seen.readings)
        context = self._entities_in_context(seen, hits)
        return _best_per_span(self._terms(seen, hits, context, signal))

    # -- readings: what a token could be read as ---------------------------------------

    def _readings(self, token: Token) -> list[tuple[str, frozenset[str]]]:
        structure = set()
        if token.joined and not token.hashtag:
            structure.add("spacing")
        if token.hashtag:
            structure.add("hashtag")
        return [(key, frozenset(structure | flag)) for key, flag in word_readings(token.text)]

    def _hits(self, readings: list[list[tuple[str, frozenset[str]]]]) -> list[Hit]:
        hits: list[Hit] = []
        for position, token_readings in enumerate(readings):
            for key, flags in token_readings:
                for ref, typo, joined in self._lookup(key):
                    if joined:
                        hits.append(Hit(position, ref, flags - {"spacing"}, False))
                    elif typo:
                        hits.append(Hit(position, ref, flags | {"typo"}, True))
                    else:
                        hits.append(Hit(position, ref, flags, False))
        return hits

    def _lookup(self, key: str) -> tuple[tuple[WordRef, bool, bool], ...]:
        """Every term word a key reads as: (ref, by a typo, written together); cached per key."""
        cached = self._lookups.get(key)
        if cached is not None:
            return cached
        index = self.index
        found = [(ref, False, False) for ref in index.exact.get(key, ())]
        found += [(ref, False, True) for ref in index.joined.get(key, ())]
        if len(key) - 1 >= 4:
            seen: set[tuple[WordRef, str]] = set()
            for variant in deletions(key) | {key}:
                for ref, name_key in index.fuzzy.get(variant, ()):
                    if (ref, name_key) in seen or name_key == key:
                        continue
                    seen.add((ref, name_key))
                    kept = (key[0], skeleton(key)) in index.skeletons(ref)
                    if within_one_edit(key, name_key) and index.terms[ref.term].allows_typo_in(
                        ref.position, kept
                    ):
                        found.append((ref, True, False))
        if len(self._lookups) >= LOOKUP_CACHE:
            self._lookups.clear()
        result = self._lookups[key] = tuple(found)
        return result

    # -- assembling terms from hits -----------------------------------------------------

    def _entities_in_context(self, seen: _Text, hits: list[Hit]) -> set[str]:
        by_term = _group(hits, self.index.terms, kinds=("context",))
        found = set()
        for term_id, positions in by_term.items():
            term = self.index.terms[term_id]
            if _sequences(term, positions, seen.tokens, allow_typo=False):
                found.add(term.entity)
        return found

    def _terms(self, seen: _Text, hits: list[Hit], context: set[str], signal: str) -> list[Match]:
        terms, tokens = self.index.terms, seen.tokens
        matches: list[Match] = []
        by_term = _group(hits, terms, kinds=("name", "alias", "hashtag"))
        full_name_tokens: dict[str, set[int]] = defaultdict(set)
        for term_id, positions in by_term.items():
            term = terms[term_id]
            if term.kind == "hashtag":
                for hit in positions.get(0, ()):
                    if tokens[hit.token].hashtag and not hit.typo:
                        matches.append(self._match(term, [hit], seen, "hashtag"))
                continue
            for sequence in _sequences(term, positions, tokens, allow_typo=True):
                if term.kind == "alias" and self._names_someone_else(term, sequence[-1], seen):
                    continue
                if term.kind == "name":
                    full_name_tokens[term.entity].update(h.token for h in sequence)
                matches.append(self._match(term, sequence, seen, signal))
        for term_id, positions in by_term.items():
            term = terms[term_id]
            if not term.surname_may_stand_alone or term.entity not in context:
                continue
            for hit in positions.get(len(term.words) - 1, ()):
                if hit.typo or hit.token in full_name_tokens[term.entity]:
                    continue
                if self._given_name_before(term.entity, hit.token, seen):
                    continue
                matches.append(self._match(term, [hit], seen, signal, kind="surname_context"))
        return matches

    def _names_someone_else(self, term: Term, last: Hit, seen: _Text) -> bool:
        """An alias or first name directly followed by a different surname."""
        following = seen.plain_at.get(seen.tokens[last.token].last_atom + 1)
        if following is None:
            return False
        token, keys = seen.tokens[following], seen.keys(following)
        if keys & self.index.own_words.get(term.entity, set()):
            return False
        if token.text in self._stopwords or self._is_context(term.entity, keys):
            return False
        return _looks_like_surname(token, seen.norm) or bool(keys & self.index.given_names)

    def _given_name_before(self, entity: str, position: int, seen: _Text) -> bool:
        """A surname preceded by someone else's given name: "Leila Soleimani", "Farah Soleimani"."""
        before = seen.plain_at.get(seen.tokens[position].first_atom - 1)
        if before is None:
            return False
        keys = seen.keys(before)
        own = self.index.own_words.get(entity, set())
        if (
            keys & own
            or self._is_context(entity, keys)
            or seen.tokens[before].text in self._stopwords
        ):
            return False
        return bool(keys & self.index.given_names) or _capitalized_name(
            seen.tokens[before], seen.norm
        )

    def _is_context(self, entity: str, keys: set[str]) -> bool:
        for key in keys:
            for ref in self.index.exact.get(key, ()):
                term = self.index.terms[ref.term]
                if term.entity == entity and term.kind == "context":
                    return True
        return False

    def _match(
        self, term: Term, sequence: list[Hit], seen: _Text, signal: str, kind: str | None = None
    ) -> Match:
        tokens, norm = seen.tokens, seen.norm
        first, last = tokens[sequence[0].token], tokens[sequence[-1].token]
        start, end = norm.original_span(first.start, last.end)
        if first.hashtag and norm.original[start - 1 : start] == "#":
            start -= 1
        flags: set[str] = set()
        for hit in sequence:
            flags |= hit.flags | _disguise_flags(tokens[hit.token], norm)
            written = "".join(term.words[hit.ref.position : hit.ref.end + 1])
            if not hit.typo and _plain_word(tokens[hit.token].text) != written:
                flags.add("transliteration")
        kind = kind or term.kind
        if kind in ("alias", "surname_context"):
            flags.add(kind)
        if term.kind == "hashtag":
            flags.discard("transliteration")
        via = next((v for v in VIA_PRECEDENCE if v in flags), "exact")
        score = min([SCORES[f] for f in flags if f in SCORES] or [1.0])
        in_hashtag = all(tokens[h.token].hashtag for h in sequence)
        return Match(
            entity=term.entity,
            signal="hashtag" if in_hashtag and signal == "text" else signal,
            span=(start, end),
            matched=norm.original[start:end],
            via=via,
            score=round(score, 3),
        )


@lru_cache(maxsize=1 << 16)
def word_readings(word: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """Every prefixed key a normalized word could be read as, with the disguise it implies."""
    scripts = {alphabet.script_of(ch) for ch in word if ch.isalpha()}
    plain: frozenset[str] = frozenset()
    if "arabic" in scripts and scripts & {"latin", "cyrillic", "greek"}:
        return ()  # Arabic and Latin letters glued into one word spell neither
    if "arabic" in scripts:
        keys = (arabic_key(form) for form in _arabic_forms(word))
        return tuple(("A" + key, plain) for key in keys if key)
    if not scripts or scripts == {"other"}:
        return ()
    latin = romanize(word)
    out = [("L" + latin_key(latin), plain)]
    if "х" in word:  # Russian writes both Arabic h and kh as х
        out.append(("L" + latin_key(romanize(word.replace("х", "һ"))), plain))
    out += [("L" + latin_key(reading), LEETSPEAK) for reading in unleet(latin)]
    if scripts & {"cyrillic", "greek"}:
        looks_like = homoglyph_reading(word)
        if looks_like:
            out.append(("L" + latin_key(looks_like), HOMOGLYPH))
    return tuple((key, flags) for key, flags in out if len(key) > 1)


LEETSPEAK, HOMOGLYPH = frozenset({"leetspeak"}), frozenset({"homoglyph"})


def _plain_word(word: str) -> str:
    """A token without an Arabic article, to compare with a policy's word."""
    return strip_arabic_article(word)


def _arabic_forms(word: str) -> list[str]:
    """A word with and without the clitics Arabic and Persian attach to names."""
    forms = [word]
    for prefix in ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            forms.append(word[len(prefix) :])
            break
    for form in list(forms):
        for suffix in ARABIC_SUFFIXES:
            if form.endswith(suffix) and len(form) - len(suffix) >= 3:
                forms.append(form[: -len(suffix)])
                break
    return forms


def _disguise_flags(token: Token, norm: Normalized) -> frozenset[str]:
    """homoglyph and script_variant flags, read off the token's original characters."""
    start, end = norm.original_span(token.start, token.end)
    flags = set()
    scripts = set()
    for ch in norm.original[start:end]:
        folded = alphabet.fold_char(ch)
        if folded.isalpha() and len(folded) == 1:
            scripts.add(alphabet.script_of(folded))
        if ch.isascii():
            continue
        if unicodedata.decomposition(ch).startswith(COMPAT_TAGS):
            flags.add("homoglyph")
        elif (
            ch in alphabet.ARABIC_VARIANTS
            or ch == alphabet.TATWEEL
            or unicodedata.category(ch) in ("Mn", "Cf")
        ):
            flags.add("script_variant")
    if len(scripts & {"latin", "cyrillic", "greek"}) > 1:
        flags.add("homoglyph")  # one word written in two look-alike alphabets
    return frozenset(flags)


def _looks_like_surname(token: Token, norm: Normalized) -> bool:
    start, _ = norm.original_span(token.start, token.end)
    first = norm.original[start] if start < len(norm.original) else ""
    text = token.text
    if text.isascii():
        if first.isupper() and not norm.original.isupper():
            return True
        return len(text) >= 4 and text.endswith(SURNAME_ENDINGS_LATIN)
    return len(text) >= 4 and text.endswith(SURNAME_ENDINGS_ARABIC)


def _capitalized_name(token: Token, norm: Normalized) -> bool:
    """A capitalized Latin word, not an abbreviation ("Gen."), in text that is not all capitals."""
    start, end = norm.original_span(token.start, token.end)
    word = norm.original[start:end]
    followed_by_dot = norm.original[end : end + 1] == "."
    return (
        token.text.isascii()
        and len(word) >= 3
        and word[:1].isupper()
        and not word.isupper()
        and not followed_by_dot
        and not norm.original.isupper()
    )


def _group(
    hits: list[Hit], terms: list[Term], kinds: tuple[str, ...]
) -> dict[int, dict[int, list[Hit]]]:
    grouped: dict[int, dict[int, list[Hit]]] = defaultdict(lambda: defaultdict(list))
    for hit in hits:
        if terms[hit.ref.term].kind in kinds:
            grouped[hit.ref.term][hit.ref.position].append(hit)
    return grouped


def _sequences(
    term: Term, positions: dict[int, list[Hit]], tokens: list[Token], allow_typo: bool
) -> list[list[Hit]]:
    """Runs of hits spelling every word of `term` in order, near each other."""
    n = len(term.words)
    max_gap = 0 if term.adjacent_only else MAX_GAP
    results: list[list[Hit]] = []
    # Hits come in token order; their first atoms let nearby hits be found by bisection.
    atoms = {p: [tokens[h.token].first_atom for h in hits] for p, hits in positions.items()}

    def extend(sequence: list[Hit], typos: int) -> None:
        following = sequence[-1].ref.end + 1
        if following == n:
            results.append(list(sequence))
            return
        previous = tokens[sequence[-1].token]
        candidates = positions.get(following, [])
        first = bisect_left(atoms.get(following, []), previous.last_atom + 1)
        last = bisect_right(atoms.get(following, []), previous.last_atom + 1 + max_gap)
        for hit in candidates[first:last]:
            token = tokens[hit.token]
            # Not half in a hashtag and half outside it, nor across two hashtags.
            same_place = token.hashtag == previous.hashtag and (
                not token.hashtag or token.chunk == previous.chunk
            )
            if same_place and typos + hit.typo <= 1:
                sequence.append(hit)
                extend(sequence, typos + hit.typo)
                sequence.pop()

    for hit in positions.get(0, ()):
        if hit.typo and not allow_typo:
            continue
        extend([hit], int(hit.typo))
    return results


def _best_per_span(matches: list[Match]) -> list[Match]:
    """The strongest match of an entity where one match's span contains another's."""
    longest = max((m.span[1] - m.span[0] for m in matches), default=0)
    kept: dict[str, list[tuple[int, int]]] = defaultdict(list)  # entity -> spans, by start
    chosen: list[Match] = []
    for match in sorted(matches, key=lambda m: (-m.score, m.span[0] - m.span[1], m.span)):
        spans = kept[match.entity]
        # Only spans starting within `longest` before this one can contain or be contained.
        low = bisect_left(spans, (match.span[0] - longest, -1))
        high = bisect_right(spans, (match.span[1], match.span[1]))
        if any(_nested(span, match.span) for span in spans[low:high]):
            continue
        insort(spans, match.span)
        chosen.append(match)
    return sorted(chosen, key=lambda m: (m.span, m.entity))


def _nested(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return (a[0] <= b[0] and b[1] <= a[1]) or (b[0] <= a[0] and a[1] <= b[1])
