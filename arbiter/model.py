"""Post, Match and Decision: the shapes of DESIGN.md's contracts, in Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("remove", "restrict", "label", "review", "allow")
SIGNALS = ("text", "hashtag", "ocr", "image", "video")
VIAS = (  # how a text (or OCR text) match was found, and how media matched
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
    "pdq",  # a photo matched a banked photo (or a crop of one)
    "vpdq",  # a video matched a banked video by its share of matching frames
    "pdq_frame",  # a frame of a video matched a banked photo
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
class MediaEvidence:
    """Where in a post's media a match was found, and against what."""

    media_id: str
    entry: str = ""  # the bank entry: its reference file, or hash list file:line
    distance: int | None = None  # PDQ Hamming distance
    shares: tuple[float, float] | None = None  # vPDQ: query and reference frame-match shares
    variant: str = ""  # the transform that matched, e.g. flip-h
    region: str = ""  # the reference region that matched, e.g. crop:0.85-tl
    seconds: float | None = None  # the video frame that matched a photo
    quality: int | None = None  # PDQ quality of the query hash
    box: tuple[int, int, int, int] | None = None  # OCR: the text's region in the image
    text: str = ""  # OCR: the recognized line(s) the match was found in
    suppressed_by: str = ""  # a benign bank entry matching the same item cancels the match

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"media_id": self.media_id}
        for name in MEDIA_FIELDS:
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaEvidence:
        """Read back what `as_dict` wrote."""
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)


MEDIA_FIELDS = (
    "entry",
    "distance",
    "shares",
    "variant",
    "region",
    "seconds",
    "quality",
    "box",
    "text",
    "suppressed_by",
)


@dataclass(frozen=True, slots=True)
class Match:
    """Evidence that a signal of a post refers to an entity.

    For text and hashtags `span` indexes the post's text; for OCR it indexes the text read
    from the image (`matched` holds the matched words, `media` says which image and where);
    for photos and videos the span is empty and `media` names the bank entry and distance.
    """

    entity: str
    signal: str
    span: tuple[int, int]
    matched: str
    via: str
    score: float
    media: MediaEvidence | None = None

    @property
    def suppressed(self) -> bool:
        """Cancelled by a benign bank entry matching the same media item."""
        return self.media is not None and bool(self.media.suppressed_by)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Match:
        """Read back what `as_dict` wrote."""
        start, end = data["span"]
        media = data.get("media")
        return cls(
            data["entity"],
            data["signal"],
            (start, end),
            data["matched"],
            data["via"],
            data["score"],
            MediaEvidence.from_dict(media) if media else None,
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "entity": self.entity,
            "signal": self.signal,
            "span": list(self.span),
            "matched": self.matched,
            "via": self.via,
            "score": self.score,
        }
        if self.media is not None:
            out["media"] = self.media.as_dict()
        return out


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
    media_errors: tuple[tuple[str, str, str], ...] = ()  # (media id, kind, reason)
    notes: tuple[str, ...] = ()  # e.g. why an automated action was held for review

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
            media_errors=tuple(
                (e["media_id"], e["kind"], e["reason"]) for e in data.get("media_errors", ())
            ),
            notes=tuple(data.get("notes", ())),
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
        if self.media_errors:
            out["media_errors"] = [
                {"media_id": m, "kind": k, "reason": r} for m, k, r in self.media_errors
            ]
        if self.notes:
            out["notes"] = list(self.notes)
        return out
