"""Rule conditions in CEL: compiled once per policy, evaluated per post.

A condition sees one variable, `post` (its fields as in DESIGN.md), and the
function `mentions(entity)` / `mentions(entity, signal)`. Evaluation results
are cached on exactly what a condition can see: the set of mentions and the
post fields it names, so the millions of posts that mention nothing cost one
evaluation per distinct combination, not one per post.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cel

from arbiter.model import Post
from arbiter.policy.model import Rule

Mention = tuple[str, str]  # (entity id, signal)

# Functions and macros of standard CEL and of the cel library's stdlib.
STANDARD_FUNCTIONS = frozenset(
    [
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "bool",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "has",
        "all",
        "exists",
        "exists_one",
        "map",
        "filter",
        "max",
        "min",
        "lowerAscii",
        "upperAscii",
        "trim",
        "split",
        "join",
        "replace",
        "indexOf",
        "lastIndexOf",
        "substring",
        "charAt",
        "format",
        "getFullYear",
        "getMonth",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
        "quote",
        "reverse",
        "sort",
    ]
)
ENGINE_FUNCTIONS = frozenset({"mentions"})
_CALL = re.compile(r"\b(mentions)\s*\(([^()]*)\)")
_ARGS = re.compile(r"""^\s*(['"])(.*?)\1\s*(?:,\s*(['"])(.*?)\3\s*)?$""")
_POST_FIELD = re.compile(r"\bpost((?:\.[A-Za-z_]\w*)+)")
_POST_WORD = re.compile(r"\bpost\b")
_STRING_LITERAL = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")


class RuleSyntaxError(ValueError):
    """A condition that is not valid CEL, or calls something Arbiter does not provide."""


@dataclass(frozen=True, slots=True)
class EntityCall:
    function: str
    entity: str | None
    signal: str | None


def parse_rule(when: str) -> Any:
    """Compile a condition, or raise RuleSyntaxError with the parser's message."""
    try:
        program = cel.compile(when)
    except (ValueError, RuntimeError) as error:
        raise RuleSyntaxError(_first_lines(str(error))) from None
    unknown = [
        name
        for name in program.functions()
        if name[0] not in "_!@" and name not in STANDARD_FUNCTIONS | ENGINE_FUNCTIONS
    ]
    if unknown:
        raise RuleSyntaxError(
            f"unknown function {', '.join(sorted(unknown))}() "
            f"(Arbiter provides {', '.join(sorted(ENGINE_FUNCTIONS))})"
        )
    _dry_run(program)
    return program


def _dry_run(program: Any) -> None:
    """Evaluate once with every mention true and once with none, to catch undefined names."""
    for answer in (True, False):
        context = cel.Context()
        context.add_function("mentions", lambda *args, _a=answer: _a)
        context.add_variable("post", _EMPTY_POST)
        try:
            program.execute(context)
        except RuntimeError as error:
            if "Undefined variable" in str(error):
                raise RuleSyntaxError(_first_lines(str(error))) from None
        except (TypeError, ValueError):
            pass  # depends on the post; reported per post at evaluation


_EMPTY_POST: dict[str, Any] = {
    "id": "",
    "text": "",
    "lang": "",
    "created_at": "",
    "url": "",
    "author": {"id": "", "handle": "", "country": ""},
    "media": [],
}


def _first_lines(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines()[:3] if line.strip())


def entity_references(when: str) -> list[EntityCall]:
    """The mentions() calls of a condition, with their literal arguments (None if not literal)."""
    calls = []
    for match in _CALL.finditer(when):
        args = _ARGS.match(match.group(2))
        if args:
            calls.append(EntityCall(match.group(1), args.group(2), args.group(4)))
        else:
            calls.append(EntityCall(match.group(1), None, None))
    return calls


KNOWN_FIELDS = frozenset(
    {
        "id",
        "text",
        "lang",
        "created_at",
        "url",
        "media",
        "author",
        "author.id",
        "author.handle",
        "author.country",
    }
)


def post_fields(when: str) -> tuple[str, ...] | None:
    """Post fields a condition reads ("lang", "author.country"); None if it uses the whole post."""
    code = _STRING_LITERAL.sub("''", when)
    fields = set()
    for match in _POST_FIELD.finditer(code):
        path = match.group(1)[1:].split(".")
        if code[match.end() :].lstrip().startswith("("):
            path = path[:-1]  # post.text.startsWith(...) reads post.text
        dotted = ".".join(path)
        if dotted not in KNOWN_FIELDS:
            return None
        fields.add(dotted)
    if len(_POST_WORD.findall(code)) != len(_POST_FIELD.findall(code)):
        return None  # post used as a value (post["text"], size(post)): no safe projection
    return tuple(sorted(fields))


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """A rule whose condition could not be evaluated for a post (treated as not holding)."""

    rule: str
    error: str


class CompiledRules:
    """A policy's rules, compiled; `first_match` finds the rule that decides a post."""

    def __init__(self, rules: Iterable[Rule], cache_size: int = 65536):
        self.rules = tuple(rules)
        self._programs = [parse_rule(rule.when) for rule in self.rules]
        projections = [post_fields(rule.when) for rule in self.rules]
        self._fields: tuple[str, ...] | None = (
            None
            if any(p is None for p in projections)
            else tuple(sorted({f for p in projections if p for f in p}))
        )
        self._reads = [_signals_read(rule.when) for rule in self.rules]
        self._mentions: frozenset[Mention] = frozenset()
        self._context = cel.Context()
        self._context.add_function("mentions", self._mentions_function)
        self._cache: dict[Any, tuple[Rule | None, tuple[RuleFailure, ...]]] = {}
        self._cache_size = cache_size

    def could_change(self, signal: str, decided: Rule | None) -> bool:
        """Whether more mentions by `signal` could change which rule decides a post.

        Only a rule before the deciding one can take over, if it reads the signal; the
        deciding rule itself could stop holding only if it negates a mention.
        """
        for rule, reads in zip(self.rules, self._reads, strict=True):
            if rule is decided:
                return reads.negated and (reads.all or signal in reads.signals)
            if reads.all or signal in reads.signals:
                return True
        return False

    def _mentions_function(self, entity: str, signal: str | None = None) -> bool:
        if signal is None:
            return any(e == entity for e, _ in self._mentions)
        return (entity, signal) in self._mentions

    def first_match(
        self, post: Post, mentions: frozenset[Mention]
    ) -> tuple[Rule | None, tuple[RuleFailure, ...]]:
        """The first rule whose condition holds, and any rules that failed to evaluate."""
        key = None
        if self._fields is not None:
            key = (mentions, tuple(_field(post, f) for f in self._fields))
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        result = self._evaluate(post.as_cel(), mentions)
        if key is not None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[key] = result
        return result

    def _evaluate(
        self, post: dict[str, Any], mentions: frozenset[Mention]
    ) -> tuple[Rule | None, tuple[RuleFailure, ...]]:
        self._mentions = mentions
        self._context.add_variable("post", post)
        failures: list[RuleFailure] = []
        for rule, program in zip(self.rules, self._programs, strict=True):
            try:
                holds = program.execute(self._context)
            except (RuntimeError, TypeError, ValueError, KeyError) as error:
                failures.append(RuleFailure(rule.id, _first_lines(str(error))))
                continue
            if holds is True:
                return rule, tuple(failures)
            if not isinstance(holds, bool):
                failures.append(RuleFailure(rule.id, f"condition gave {holds!r}, not a bool"))
        return None, tuple(failures)


@dataclass(frozen=True, slots=True)
class _Reads:
    signals: frozenset[str]
    all: bool  # mentions(e) without a signal, or arguments that are not literals
    negated: bool  # the condition may turn false when a mention appears


_NEGATION = re.compile(r"==\s*false|false\s*==|!=\s*true|true\s*!=|\?")  # ?: can invert too


def _signals_read(when: str) -> _Reads:
    calls = entity_references(when)
    code = _STRING_LITERAL.sub("''", when)
    return _Reads(
        signals=frozenset(c.signal for c in calls if c.signal),
        all=any(c.signal is None for c in calls),
        negated="!" in code.replace("!=", "") or bool(_NEGATION.search(code)),
    )


def _field(post: Post, dotted: str) -> Any:
    value: Any = post
    for part in dotted.split("."):
        value = getattr(value, part, None)
    if isinstance(value, (list, tuple)):
        return repr(value)
    return value
