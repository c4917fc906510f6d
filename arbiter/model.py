"""Post, Match and Decision: the shapes of DESIGN.md's contracts, in Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("remove", "restrict", "label", "review", "allow")
SIGNALS = ("text", "hashtag", "ocr", "image", "video")
VIAS = (
    "exact",
    "script_variant",
    "transliteration",
    "homoglyph",
    "spacing",
    "leetspeak",
    "typo",
    "hashtag",
    "alias",
    "surname_context",
)


class PostError(ValueError):
    """A post that cannot be read (not an object, no id, wrong field types)."""


@dataclass(frozen=True, slots=True)
class Author:
    id: str = ""
    handle: str = ""
    country: str = ""


NO_AUTHOR = Author()


@dataclass(frozen=True, slots=True)
class Media:
    id: str
    type: str
    path: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Post:
    """A post as DESIGN.md defines it; only `id` is required."""

    id: str
    text: str = ""
    lang: str = ""
    created_at: str = ""
    author: Author = field(default_factory=Author)
    url: str = ""
    media: tuple[Media, ...] = ()

    @classmethod
    def from_dict(cls, data: Any) -> Post:
        """Build a post from decoded JSON, or raise PostError saying what is wrong."""
        if type(data) is not dict:
            raise PostError(f"a post must be a JSON object, not {_json_type(data)}")
        post_id = data.get("id")
        if type(post_id) is not str:
            if type(post_id) is not int:
                raise PostError("the post has no id")
            post_id = str(post_id)
        if not post_id:
            raise PostError("the post has no id")
        author = data.get("author")
        media = data.get("media")
        return cls(
            id=post_id,
            text=_string(data, "text"),
            lang=_string(data, "lang"),
            created_at=_string(data, "created_at"),
            author=_author(author) if author else NO_AUTHOR,
            url=_string(data, "url"),
            media=tuple(_media(m, i) for i, m in enumerate(_list(media))) if media else (),
        )

    def as_cel(self) -> dict[str, Any]:
        """The post as the `post` variable of a rule's CEL expression."""
        return {
            "id": self.id,
            "text": self.text,
            "lang": self.lang,
            "created_at": self.created_at,
            "url": self.url,
            "author": {
                "id": self.author.id,
                "handle": self.author.handle,
                "country": self.author.country,
            },
            "media": [{"id": m.id, "type": m.type} for m in self.media],
        }


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise PostError(f"{key} must be a string")


def _json_type(value: Any) -> str:
    names = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}
    return names.get(type(value), "null" if value is None else type(value).__name__)


def _author(value: Any) -> Author:
    if type(value) is not dict:
        raise PostError("author must be an object")
    return Author(
        id=_string(value, "id"), handle=_string(value, "handle"), country=_string(value, "country")
    )


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise PostError("media must be a list")
    return value


def _media(item: Any, index: int) -> Media:
    if not isinstance(item, dict):
        raise PostError(f"media[{index}] must be an object")
    return Media(
        id=_string(item, "id") or f"m{index}",
        type=_string(item, "type"),
        path=_string(item, "path"),
        url=_string(item, "url"),
    )


@dataclass(frozen=True, slots=True)
class Match:
    """Evidence that a signal of a post refers to an entity."""

    entity: str
    signal: str
    span: tuple[int, int]
    matched: str
    via: str
    score: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Match:
        """Read back what `as_dict` wrote."""
        start, end = data["span"]
        return cls(
            data["entity"],
            data["signal"],
            (start, end),
            data["matched"],
            data["via"],
            data["score"],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "signal": self.signal,
            "span": list(self.span),
            "matched": self.matched,
            "via": self.via,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What a policy decided about a post, with the evidence it rests on."""

    post_id: str
    action: str
    policy: str
    policy_version: int
    rule: str | None
    decided_at: str
    matches: tuple[Match, ...] = ()
    automated: bool = True
    territorial_scope: tuple[str, ...] = ()
    rule_errors: tuple[tuple[str, str], ...] = ()  # (rule id, why it could not be evaluated)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Read back what `as_dict` wrote."""
        return cls(
            post_id=data["post_id"],
            action=data["action"],
            policy=data["policy"],
            policy_version=data["policy_version"],
            rule=data["rule"],
            decided_at=data["decided_at"],
            matches=tuple(Match.from_dict(m) for m in data["matches"]),
            automated=data.get("automated", True),
            territorial_scope=tuple(data.get("territorial_scope", ())),
            rule_errors=tuple((e["rule"], e["error"]) for e in data.get("rule_errors", ())),
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "post_id": self.post_id,
            "action": self.action,
            "policy": self.policy,
            "policy_version": self.policy_version,
            "rule": self.rule,
            "automated": self.automated,
            "decided_at": self.decided_at,
            "matches": [m.as_dict() for m in self.matches],
        }
        if self.territorial_scope:
            out["territorial_scope"] = list(self.territorial_scope)
        if self.rule_errors:
            out["rule_errors"] = [{"rule": r, "error": e} for r, e in self.rule_errors]
        return out
