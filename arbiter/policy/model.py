"""A policy as Arbiter holds it after loading: entities, rules and grounds."""

from __future__ import annotations

from dataclasses import dataclass, field

from arbiter.policy.enforcement import Enforcement

ENTITY_KINDS = ("person", "organization", "topic")
GROUND_TYPES = ("incompatible_content", "illegal_content")


@dataclass(frozen=True, slots=True)
class Entity:
    """Something a policy designates, named once per script."""

    id: str
    kind: str
    names: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    context_terms: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    reference_media: tuple[str, ...] = ()
    reference_hashes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BenignBank:
    """Known-benign media (e.g. a news agency's wire photos): a match here cancels a
    designated entity's match on the same media item."""

    id: str
    reference_media: tuple[str, ...] = ()
    reference_hashes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: a CEL condition and the action taken when it holds."""

    id: str
    when: str
    action: str
    territorial_scope: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class Grounds:
    """What a statement of reasons cites for the policy's decisions."""

    type: str
    terms: str = ""
    legal_ground: str = ""
    category: str = ""  # a DSA STATEMENT_CATEGORY_* key; the loader fills the default
    keywords: tuple[str, ...] = ()  # DSA KEYWORD_* keys
    reference_url: str = ""  # where the cited terms or law can be read
    illegal: bool | None = None  # incompatible content that is also illegal; None: not stated


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy: every entity a rule names exists, every CEL expression compiles."""

    id: str
    version: int
    title: str
    grounds: Grounds
    entities: tuple[Entity, ...]
    rules: tuple[Rule, ...]
    source: str = ""  # the file it was loaded from
    text: str = ""  # the file's text, verbatim
    enforcement: Enforcement = field(default_factory=Enforcement)
    benign: tuple[BenignBank, ...] = ()

    def entity(self, entity_id: str) -> Entity:
        for entity in self.entities:
            if entity.id == entity_id:
                return entity
        raise KeyError(entity_id)
