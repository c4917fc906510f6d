"""Statements of reasons (DSA Art. 17) in the DSA Transparency Database API format.

`content_statement` and `account_statement` build what the database receives: pure functions
of the decision, the policy and the facts the store knows, holding no personal data (no post
text, post id or url, author id or handle, matched text). `user_notice` wraps a statement for
the affected user, adding their own post and the redress open to them (Art. 17(3)(f)).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from arbiter.model import ACTIONS, Decision, Match, Post
from arbiter.policy.model import Policy
from arbiter.report import dsa

# Restricting actions and the visibility restriction each imposes. `review` restricts
# nothing while the review is pending and `allow` nothing at all: neither owes a statement.
VISIBILITY_BY_ACTION = {
    "remove": "DECISION_VISIBILITY_CONTENT_REMOVED",
    "restrict": "DECISION_VISIBILITY_CONTENT_DISABLED",
    "label": "DECISION_VISIBILITY_CONTENT_LABELLED",
}
CONTENT_TYPE_BY_SIGNAL = {
    "text": "CONTENT_TYPE_TEXT",
    "hashtag": "CONTENT_TYPE_TEXT",
    "ocr": "CONTENT_TYPE_IMAGE",
    "image": "CONTENT_TYPE_IMAGE",
    "video": "CONTENT_TYPE_VIDEO",
}
CONTENT_TYPE_BY_MEDIA = {
    "image": "CONTENT_TYPE_IMAGE",
    "video": "CONTENT_TYPE_VIDEO",
    "audio": "CONTENT_TYPE_AUDIO",
}
AUTOMATED_DECISION = {
    "fully": "AUTOMATED_DECISION_FULLY",
    "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not": "AUTOMATED_DECISION_NOT_AUTOMATED",
}
# ISO 3166 says GR; the EU's own style guide (and some platforms) say EL.
COUNTRY_ALIASES = {"EL": "GR"}

DEFAULT_CATEGORY = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
ORDER_CATEGORY = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"  # an order that names no category

ODS_LIST_URL = "https://digital-strategy.ec.europa.eu/en/policies/dsa-out-court-dispute-settlement"

_VIA_PHRASES = {
    "exact": "an exact mention",
    "script_variant": "a mention in a script variant",
    "transliteration": "a transliterated mention",
    "homoglyph": "a mention disguised with look-alike characters",
    "spacing": "a mention split by spaces or punctuation",
    "leetspeak": "a mention in leetspeak",
    "typo": "a misspelt mention",
    "hashtag": "a hashtag",
    "alias": "a mention by an alias",
    "surname_context": "a surname with context terms",
}
_SIGNAL_PHRASES = {
    "text": "text",
    "hashtag": "hashtag",
    "ocr": "text in an image",
    "image": "image",
    "video": "video",
}
_DECIDED = {
    "fully": "decided automatically",
    "partially": "decided automatically and confirmed by a moderator",
    "not": "decided by a moderator",
}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class StatementError(ValueError):
    """Facts from which no valid statement of reasons can be built."""


@dataclass(frozen=True, slots=True)
class AuthorityOrder:
    """An order of a judicial or administrative authority that caused the decision (Art. 9)."""

    authority: str  # the authority's name, e.g. "Landgericht Berlin"
    legal_basis: str  # the law the order applies
    reference: str  # the order's own reference number
    issued_on: str  # YYYY-MM-DD
    category: str = ""  # the STATEMENT_CATEGORY_* key the order's subject falls under, if known

    def __post_init__(self) -> None:
        _text(self.authority, "the authority", dsa.MAX_LENGTHS["source_identity"])
        _text(
            self.legal_basis,
            "the order's legal basis",
            dsa.MAX_LENGTHS["illegal_content_legal_ground"],
        )
        _text(self.reference, "the order's reference", 500)
        _date(self.issued_on, "the order's date")
        if self.category and self.category not in dsa.CATEGORIES:
            raise StatementError(f"unknown DSA category {self.category!r}")


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """What the store knows about a decision beyond the decision itself."""

    puid: str  # unique forever per platform, e.g. "arbiter-d-000123"
    application_date: str  # YYYY-MM-DD, when the decision took effect
    automated_detection: bool
    automated_decision: str  # "fully" | "partially" | "not"
    authority: AuthorityOrder | None = None
    account_restriction_until: str | None = None  # YYYY-MM-DD; account statements only

    def __post_init__(self) -> None:
        if len(self.puid) > dsa.MAX_LENGTHS["puid"] or not dsa.PUID_PATTERN.fullmatch(self.puid):
            raise StatementError(f"puid {self.puid!r} must be 1 to 500 letters, digits, '-' or '_'")
        _date(self.application_date, "application_date", dsa.APPLICATION_DATE_MIN)
        if self.automated_decision not in AUTOMATED_DECISION:
            raise StatementError(
                f"automated_decision {self.automated_decision!r} must be one of "
                f"{', '.join(AUTOMATED_DECISION)}"
            )
        if self.account_restriction_until is not None:
            _date(self.account_restriction_until, "account_restriction_until")
            # The API documentation asks for it; the validator does not check it.
            if self.account_restriction_until < self.application_date:
                raise StatementError("account_restriction_until is before application_date")


@dataclass(frozen=True, slots=True)
class Strike:
    """A decision that counted against an account, as its own statement recorded it."""

    puid: str  # the puid of that decision's statement of reasons
    policy: str
    policy_version: int
    rule: str
    content_date: str
    content_types: tuple[str, ...]

    def __post_init__(self) -> None:
        if not dsa.PUID_PATTERN.fullmatch(self.puid):
            raise StatementError(f"strike puid {self.puid!r} is not a valid puid")
        _date(self.content_date, "a strike's content_date", dsa.CONTENT_DATE_MIN)
        if not self.content_types or not set(self.content_types) <= set(dsa.CONTENT_TYPES):
            raise StatementError(f"strike {self.puid} has no valid content types")

    @classmethod
    def of(cls, decision: Decision, statement: Mapping[str, object]) -> Strike:
        """The strike a decision and the statement filed for it make."""
        content_types = statement.get("content_type")
        if not isinstance(content_types, list):
            raise StatementError("the statement has no content_type")
        return cls(
            puid=str(statement.get("puid", "")),
            policy=decision.policy,
            policy_version=decision.policy_version,
            rule=decision.rule or "",
            content_date=str(statement.get("content_date", "")),
            content_types=tuple(str(t) for t in content_types),
        )


def content_statement(
    decision: Decision, policy: Policy, post: Post, facts: StatementFacts
) -> dict[str, object] | None:
    """The statement of reasons for a decision on a post; None for `review` and `allow`."""
    if decision.action not in ACTIONS:
        raise StatementError(f"unknown action {decision.action!r}")
    visibility = VISIBILITY_BY_ACTION.get(decision.action)
    if visibility is None:
        return None
    if decision.post_id != post.id:
        raise StatementError("the decision is about another post")
    if (decision.policy, decision.policy_version) != (policy.id, policy.version):
        raise StatementError(
            f"the decision applies {decision.policy} version {decision.policy_version}, "
            f"not {policy.id} version {policy.version}"
        )
    if decision.rule is None or all(rule.id != decision.rule for rule in policy.rules):
        raise StatementError(f"the decision's rule {decision.rule!r} is not in the policy")
    if facts.account_restriction_until is not None:
        raise StatementError("a decision on a post restricts no account")

    # A rule that names no territory acts everywhere, so in every EU/EEA state.
    scope = decision.territorial_scope or dsa.TERRITORIAL_CODES
    kept, dropped = territories(scope)
    entities = _entities(policy, decision.matches)
    subject = f"content referring to {_join(entities)}" if entities else "content"
    why = (
        f"Under its {policy.title} policy ({policy.id}, version {policy.version}) the "
        f"platform acts on {subject} by rule '{decision.rule}'; the rule held for this content."
    )
    content_types = _content_types(decision.matches, post)
    out: dict[str, object] = {
        "decision_visibility": [visibility],
        **_grounds(policy, facts, why),
        "content_type": content_types,
        "content_date": _content_date(post.created_at, decision.decided_at),
        "application_date": facts.application_date,
        "decision_facts": _clip(
            " ".join(
                [
                    _how(policy, decision.rule, facts),
                    *_evidence(policy, decision.matches),
                    _effect(decision.action, decision.territorial_scope, kept, dropped),
                ]
            ),
            "decision_facts",
        ),
        **_source(facts),
    }
    if "CONTENT_TYPE_OTHER" in content_types:
        out["content_type_other"] = "a post without text or recognised media"
    language = content_language(post.lang)
    if language:
        out["content_language"] = language
    # Withheld only outside the EU/EEA: the database has no code for that, so no scope.
    if kept:
        out["territorial_scope"] = kept
    return _ordered(out)


def account_statement(
    strikes: Sequence[Strike], policy: Policy, facts: StatementFacts, threshold: int | None = None
) -> dict[str, object]:
    """The statement of reasons for suspending an account for its `strikes` under `policy`."""
    if not strikes:
        raise StatementError("an account suspension needs the strikes it rests on")
    for strike in strikes:
        if strike.policy != policy.id:
            raise StatementError(f"strike {strike.puid} is under {strike.policy}, not {policy.id}")
    n = len(strikes)
    why = (
        f"Under its {policy.title} policy ({policy.id}) the platform suspends accounts that "
        f"repeatedly post content it acts on; {n} decision{'s' if n != 1 else ''} on this "
        "account's content counted."
    )
    until = facts.account_restriction_until
    order = facts.authority
    head = (
        f"The account was suspended {'until ' + until if until else 'with no end date set'} "
        f"after {n} decision{'s' if n != 1 else ''} on its content under the policy "
        f"'{policy.title}' ({policy.id})"
        + (f", {threshold} being the policy's threshold" if threshold else "")
        + (f", on an order of {order.authority} (reference {order.reference})" if order else "")
        + f"; {_DECIDED[facts.automated_decision]}. Strikes, by statement of reasons:"
    )
    listed = [
        f"{s.puid} (version {s.policy_version}, rule '{s.rule}', content of {s.content_date})"
        for s in strikes
    ]
    out: dict[str, object] = {
        "decision_account": "DECISION_ACCOUNT_SUSPENDED",
        **_grounds(policy, facts, why, subject="Content the account posted"),
        "content_type": _in_schema_order(t for s in strikes for t in s.content_types),
        "content_date": max(s.content_date for s in strikes),
        "application_date": facts.application_date,
        "decision_facts": _listing(head, listed, dsa.MAX_LENGTHS["decision_facts"]),
        **_source(facts),
    }
    if until:
        out["end_date_account_restriction"] = until
    return _ordered(out)


def user_notice(
    statement: Mapping[str, object],
    decision_id: str,
    post: Post | None = None,
    appeal_url: str = "",
) -> dict[str, object]:
    """What the affected user receives: the statement, their post, and every way to contest it."""
    appeal: dict[str, object] = {
        "route": "internal_complaint",
        "legal_basis": "DSA Art. 20",
        "how": f"arbiter appeal file {decision_id}",
        "description": (
            "You can appeal to the platform, free of charge, for six months after the decision; "
            "your appeal is not decided by automated means alone."
        ),
    }
    if appeal_url:
        appeal["url"] = appeal_url
    notice: dict[str, object] = {
        "decision_id": decision_id,
        "summary": _summary(statement),
        "statement": dict(statement),
        "redress": [
            appeal,
            {
                "route": "out_of_court_dispute_settlement",
                "legal_basis": "DSA Art. 21",
                "how": "Choose any dispute settlement body certified for this kind of dispute.",
                "url": ODS_LIST_URL,
                "description": (
                    "A certified out-of-court body can review the decision, also after an "
                    "appeal; it costs you nothing or a nominal fee, and its outcome does not "
                    "bind you."
                ),
            },
            {
                "route": "judicial_redress",
                "legal_basis": "DSA Art. 21(1), third subparagraph",
                "how": "Bring the matter before a court under the applicable law.",
                "description": "You can go to court at any stage, whatever else you do.",
            },
        ],
    }
    if post is not None:
        notice["post"] = {"id": post.id, "url": post.url} if post.url else {"id": post.id}
    return notice


def territories(codes: Iterable[str]) -> tuple[list[str], list[str]]:
    """The EU/EEA codes among `codes` (EL read as GR), sorted as the database stores them,
    and the codes dropped."""
    kept: set[str] = set()
    dropped: list[str] = []
    for code in codes:
        code = COUNTRY_ALIASES.get(code.upper(), code.upper())
        if code in dsa.TERRITORIAL_CODES:
            kept.add(code)
        elif code not in dropped:
            dropped.append(code)
    return sorted(kept), dropped


def content_language(lang: str) -> str | None:
    """The database's code for a post's language tag (`fa`, `fa-IR` -> FA), or None."""
    primary = re.split(r"[-_]", lang.strip(), maxsplit=1)[0].upper()
    return primary if primary in dsa.LANGUAGES else None


def _grounds(
    policy: Policy, facts: StatementFacts, why: str, subject: str = "The content"
) -> dict[str, object]:
    """The decision ground, its explanation and the category; `why` ends each explanation."""
    grounds = policy.grounds
    order = facts.authority
    out: dict[str, object]
    if order is not None:
        out = {
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "illegal_content_legal_ground": order.legal_basis,
            "illegal_content_explanation": _clip(
                f"{order.authority} ordered the platform to act against {subject.lower()} (order "
                f"{order.reference} of {order.issued_on}) under {order.legal_basis}. {why}",
                "illegal_content_explanation",
            ),
        }
        # "Other violation of the terms" does not describe illegal content.
        own = grounds.category if grounds.category != DEFAULT_CATEGORY else ""
        out["category"] = order.category or own or ORDER_CATEGORY
    elif grounds.type == "illegal_content":
        if not grounds.category:
            raise StatementError(f"policy {policy.id}: illegal_content grounds need a category")
        out = {
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "illegal_content_legal_ground": _clip(
                grounds.legal_ground, "illegal_content_legal_ground"
            ),
            "illegal_content_explanation": _clip(
                f"{subject} is illegal under {grounds.legal_ground}. {why}",
                "illegal_content_explanation",
            ),
            "category": grounds.category,
        }
    else:
        out = {
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": _clip(
                grounds.terms or policy.title, "incompatible_content_ground"
            ),
            "incompatible_content_explanation": _clip(
                f"{subject} is incompatible with {grounds.terms or 'the terms'}. {why}",
                "incompatible_content_explanation",
            ),
            "category": grounds.category or DEFAULT_CATEGORY,
        }
        if grounds.illegal is not None:
            out["incompatible_content_illegal"] = "Yes" if grounds.illegal else "No"
    if grounds.keywords:
        out["category_specification"] = list(grounds.keywords)
    # The policy's link cites the policy's ground, which an order replaces.
    if grounds.reference_url and order is None:
        out["decision_ground_reference_url"] = grounds.reference_url
    return out


def _source(facts: StatementFacts) -> dict[str, object]:
    """Who or what set the decision off, how automated it was, and its puid."""
    out: dict[str, object] = {}
    if facts.authority is not None:
        out["source_type"] = "SOURCE_TYPE_OTHER_NOTIFICATION"
        out["source_identity"] = facts.authority.authority
    else:
        # The database drops source_identity for own-initiative decisions: none is sent.
        out["source_type"] = "SOURCE_VOLUNTARY"
    out["automated_detection"] = "Yes" if facts.automated_detection else "No"
    out["automated_decision"] = AUTOMATED_DECISION[facts.automated_decision]
    out["puid"] = facts.puid
    return out


def _how(policy: Policy, rule: str, facts: StatementFacts) -> str:
    detection = "Automated detection" if facts.automated_detection else "Detection by a person"
    decided = _DECIDED[facts.automated_decision]
    order = facts.authority
    cause = (
        f" Acted on an order of {order.authority} (reference {order.reference}, issued "
        f"{order.issued_on}) under {order.legal_basis}."
        if order
        else ""
    )
    return (
        f"{detection} under the policy '{policy.title}' ({policy.id}, version "
        f"{policy.version}), rule '{rule}'; {decided}.{cause}"
    )


def _evidence(policy: Policy, matches: Sequence[Match]) -> list[str]:
    """One sentence per entity: how each signal referred to it, never what it said."""
    by_entity: dict[str, list[Match]] = {}
    for match in matches:
        by_entity.setdefault(match.entity, []).append(match)
    sentences = []
    for entity_id, found in by_entity.items():
        kinds: list[str] = []
        for match in found:
            phrase = _match_phrase(match)
            if phrase not in kinds:
                kinds.append(phrase)
        best = max(m.score for m in found)
        sentences.append(
            f"Evidence for {_entity_name(policy, entity_id)}: {', '.join(kinds)}; "
            f"{len(found)} match{'es' if len(found) != 1 else ''}, best score {best:.2f}."
        )
    return sentences


def _match_phrase(match: Match) -> str:
    signal = _SIGNAL_PHRASES.get(match.signal, "another signal")
    if match.signal in ("image", "video") and match.via not in _VIA_PHRASES:
        return f"a match with a reference {signal}"
    return f"{_VIA_PHRASES.get(match.via, 'a match')} ({signal})"


def _effect(action: str, scope: Sequence[str], kept: list[str], dropped: list[str]) -> str:
    done = {
        "remove": "The content was removed",
        "restrict": "Access to the content was disabled",
        "label": "The content was labelled",
    }[action]
    if not scope:
        return f"{done}."
    places = [f"in {', '.join(kept)}"] if kept else []
    if dropped:
        places.append(f"outside the EU/EEA in {', '.join(dropped)}")
    return f"{done} {' and '.join(places)}" + (" only." if not kept else ".")


def _entities(policy: Policy, matches: Sequence[Match]) -> list[str]:
    seen: list[str] = []
    for match in matches:
        if match.entity not in seen:
            seen.append(match.entity)
    return [_entity_name(policy, e) for e in seen]


def _entity_name(policy: Policy, entity_id: str) -> str:
    # The designated entity's canonical name: a public figure or topic, not the user.
    try:
        entity = policy.entity(entity_id)
    except KeyError:
        return f"the entity {entity_id}"
    return f"the designated {entity.kind} {entity.names[0]} (entity {entity.id})"


def _content_types(matches: Sequence[Match], post: Post) -> list[str]:
    found = [
        CONTENT_TYPE_BY_SIGNAL[m.signal] for m in matches if m.signal in CONTENT_TYPE_BY_SIGNAL
    ]
    found += [CONTENT_TYPE_BY_MEDIA[m.type] for m in post.media if m.type in CONTENT_TYPE_BY_MEDIA]
    if not found:
        # A rule on the post's metadata alone: the post itself is what was acted on.
        found = ["CONTENT_TYPE_TEXT" if post.text else "CONTENT_TYPE_OTHER"]
    return _in_schema_order(found)


def _in_schema_order(types: Iterable[str]) -> list[str]:
    present = set(types)
    return [t for t in dsa.CONTENT_TYPES if t in present]


def _content_date(created_at: str, decided_at: str) -> str:
    """The post's date in UTC, else the decision's, clamped to the range the database takes."""
    day = _day(created_at) or _day(decided_at)
    if day is None:
        raise StatementError("neither the post nor the decision has a readable date")
    return min(max(day, dsa.CONTENT_DATE_MIN), dsa.DATE_MAX)


def _day(timestamp: str) -> str | None:
    try:
        moment = datetime.fromisoformat(timestamp.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def _summary(statement: Mapping[str, object]) -> str:
    keys: list[object] = []
    visibility = statement.get("decision_visibility")
    if isinstance(visibility, list):
        keys += visibility
    keys += [statement.get(k) for k in ("decision_account", "decision_ground", "category")]
    parts = [dsa.LABELS[k] for k in keys if isinstance(k, str) and k in dsa.LABELS]
    until = statement.get("end_date_account_restriction")
    if until:
        parts.append(f"Until {until}")
    scope = statement.get("territorial_scope")
    if isinstance(scope, list) and scope and set(scope) != set(dsa.TERRITORIAL_CODES):
        parts.append(f"In {', '.join(str(c) for c in scope)}")
    return ". ".join(parts) + "."


def _ordered(statement: dict[str, object]) -> dict[str, object]:
    return {key: statement[key] for key in dsa.FIELDS if key in statement}


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _clip(text: str, field: str) -> str:
    limit = dsa.MAX_LENGTHS[field]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listing(head: str, items: Sequence[str], limit: int) -> str:
    """`head` and as many `items` as fit in `limit` characters, saying how many were left out."""
    text = head
    for i, item in enumerate(items):
        rest = len(items) - i - 1
        piece = f" {item}{';' if rest else '.'}"
        # Room is kept for saying how many are left out, should the next item not fit.
        if len(text) + len(piece) + (len(f" …and {rest} more.") if rest else 0) > limit:
            return _clip(f"{text} …and {rest + 1} more.", "decision_facts")
        text += piece
    return _clip(text, "decision_facts")


def _text(value: str, what: str, limit: int) -> None:
    if not value.strip():
        raise StatementError(f"{what} must not be empty")
    if len(value) > limit:
        raise StatementError(f"{what} is longer than {limit} characters")


def _date(value: str, what: str, low: str = "0001-01-01") -> str:
    """`value` if it is a real YYYY-MM-DD date between `low` and 2038-01-01."""
    try:
        valid = bool(_DATE.fullmatch(value)) and bool(date.fromisoformat(value))
    except ValueError:
        valid = False
    if not valid:
        raise StatementError(f"{what} {value!r} is not a YYYY-MM-DD date")
    if not low <= value <= dsa.DATE_MAX:
        raise StatementError(f"{what} {value} is outside {low}..{dsa.DATE_MAX}")
    return value
