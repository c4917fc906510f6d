"""The Mastodon adapter: an instance's admin webhooks in, Arbiter's decisions acted on back.

In: Mastodon's admin webhooks (docs.joinmastodon.org/admin/webhooks) `status.created`,
`status.updated` and `report.created`, signed `X-Hub-Signature: sha256=<hex HMAC-SHA256 of
the raw body>` with the webhook's secret. Each Status entity becomes an Arbiter Post and is
decided (`decide`, a callback the service passes in). Mastodon sends status webhooks only for
its own (local) accounts' posts; posts from other servers reach Arbiter only inside reports.

Back, only when a decision calls for it and the adapter is configured to (`act: true`):

- an account action, `POST /api/v1/admin/accounts/:id/action` with `type` sensitive,
  silence, suspend or disable, naming the report it answers and the rule in `text`;
- for a removal, a report naming the status and the rule (`POST /api/v1/reports`), or the
  report being answered, updated with the rule (`PUT /api/v1/admin/reports/:id`): Mastodon's
  API cannot delete one status, so the instance's moderators do it, and the action is kept in
  `platform_actions` as `awaiting` until Mastodon says the report was resolved;
- a reversal takes back what was done (`unsilence`, `unsuspend`, …), reopens the report the
  action had closed, and withdraws (resolves) a report Arbiter filed.

Which Mastodon measure each Arbiter action takes is `MastodonConfig.actions`; docs/mastodon.md
explains the choices. Every request to Mastodon, and its outcome, is a `platform_actions` row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, insert, select, update
from starlette.concurrency import run_in_threadpool

from arbiter.adapters.mastodon_api import ACCOUNT_ACTIONS, MastodonClient, MastodonError
from arbiter.model import Author, Media, Post
from arbiter.outbound.webhooks import SIGNATURE_HEADER, verify_signature
from arbiter.store.database import reading
from arbiter.store.records import StoredDecision, stored_decision
from arbiter.store.schema import decisions, platform_actions, posts

if TYPE_CHECKING:
    from arbiter.engine import Engine
    from arbiter.store import Store

PLATFORM = "mastodon"
HANDLED_EVENTS = ("status.created", "status.updated", "report.created", "report.updated")
MEASURES = ("none", "report", *[a for a in ACCOUNT_ACTIONS if a != "none"])
# Arbiter's actions (and `suspend`, an account decision) that may be mapped to a measure.
MAPPABLE = ("remove", "restrict", "label", "suspend")
# By default every action on a post asks the instance's moderators (a report); only a
# suspension Arbiter decided acts on the account by itself. docs/mastodon.md: why.
DEFAULT_ACTIONS: Mapping[str, str] = {
    "remove": "report",
    "restrict": "report",
    "label": "report",
    "suspend": "suspend",
}
MARKER = "[Arbiter]"  # starts every report comment and action text Arbiter writes
ACTING_KINDS = ("report", "account_action")
ENV = {
    "base_url": "ARBITER_MASTODON_URL",
    "token": "ARBITER_MASTODON_TOKEN",
    "webhook_secret": "ARBITER_MASTODON_WEBHOOK_SECRET",
    "events_secret": "ARBITER_MASTODON_EVENTS_SECRET",
}
CONFIG_VARIABLE = "ARBITER_MASTODON_CONFIG"

Decide = Callable[[Post], Sequence[StoredDecision]]


class MastodonConfigError(ValueError):
    """A configuration that cannot be used, with every problem in words."""


# Configuration --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MastodonConfig:
    """How to reach the instance and what Arbiter may do there."""

    base_url: str
    token: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)  # Mastodon signs its webhooks with it
    events_secret: str = field(default="", repr=False)  # Arbiter's webhooks to /events
    act: bool = False
    actions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    # Instance rule ids a report cites, by "policy/rule" or "policy" (GET /api/v1/instance/rules).
    rule_ids: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    resolve_allowed_reports: bool = False
    send_email_notification: bool = False
    forward_reports: bool = False
    instance_domain: str = ""
    id_prefix: str = ""

    def __post_init__(self) -> None:
        problems = []
        host = urlsplit(self.base_url).hostname
        if urlsplit(self.base_url).scheme not in ("http", "https") or not host:
            problems.append(f"base_url must be the instance's https:// address: {self.base_url!r}")
        for action, measure in self.actions.items():
            if action not in MAPPABLE:
                problems.append(f"actions: {action!r} is not one of {', '.join(MAPPABLE)}")
            elif measure not in MEASURES:
                problems.append(
                    f"actions.{action}: {measure!r} is not one of {', '.join(MEASURES)}"
                )
            elif action == "suspend" and measure == "report":
                problems.append("actions.suspend: an account decision has no status to report")
        if self.act and not self.token:
            problems.append("act is on but there is no token (ARBITER_MASTODON_TOKEN)")
        if problems:
            raise MastodonConfigError("; ".join(problems))
        # What is not mapped keeps its default: switching a measure off takes an explicit "none".
        object.__setattr__(self, "actions", {**DEFAULT_ACTIONS, **dict(self.actions)})
        domain = self.instance_domain or (host or "")
        object.__setattr__(self, "instance_domain", domain)
        object.__setattr__(self, "id_prefix", self.id_prefix or f"mastodon:{domain}:")

    def measure(self, action: str) -> str:
        return self.actions.get(action, "none")

    def rules_for(self, policy: str, rule: str | None) -> tuple[int, ...]:
        return tuple(self.rule_ids.get(f"{policy}/{rule}", self.rule_ids.get(policy, ())))

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> MastodonConfig:
        """Read a configuration (YAML's shape); secrets may come from the environment instead."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(data) - set(values))
        if unknown:
            raise MastodonConfigError(f"unknown setting(s): {', '.join(unknown)}")
        for name, variable in ENV.items():
            if env.get(variable):
                values[name] = env[variable]
        if "actions" in values:
            values["actions"] = dict(values["actions"] or {})
        if "rule_ids" in values:
            values["rule_ids"] = {
                str(k): tuple(int(i) for i in (v if isinstance(v, list) else [v]))
                for k, v in (values["rule_ids"] or {}).items()
            }
        if not values.get("base_url"):
            raise MastodonConfigError(f"base_url is missing (or set {ENV['base_url']})")
        return cls(**values)

    @classmethod
    def load(
        cls, path: str | Path | None = None, environ: Mapping[str, str] | None = None
    ) -> MastodonConfig | None:
        """The configuration in `path` (or $ARBITER_MASTODON_CONFIG), else from the environment
        alone; None when nothing configures Mastodon."""
        env = os.environ if environ is None else environ
        path = path or env.get(CONFIG_VARIABLE)
        data: Any = {}
        if path:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise MastodonConfigError(f"{path}: expected a mapping of settings")
        elif not env.get(ENV["base_url"]):
            return None
        return cls.from_mapping(data, env)


# HTML to text ---------------------------------------------------------------------------------

_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
_LINES = {"li", "tr", "dt", "dd"}
_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML's whitespace only: NBSP, ZWNJ and the like stay


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str | int] = []  # text, or a break: 1 = new line, 2 = new paragraph
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS or tag in _LINES:
            self.parts.append(2 if tag in _BLOCKS else 1)
        if tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS or tag in _LINES:
            self.parts.append(2 if tag in _BLOCKS else 1)
        if tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data if self.pre else _SPACE.sub(" ", data))

    def text(self) -> str:
        out: list[str] = []
        pending = 0
        for part in self.parts:
            if isinstance(part, int):
                pending = max(pending, part)
                continue
            if pending or not out or out[-1].endswith("\n"):
                part = part.lstrip(" ")
                if not part:
                    continue  # whitespace between blocks or after a line break
            if pending and out:
                out[-1] = out[-1].rstrip(" ")
                out.append("\n" * pending)
            pending = 0
            out.append(part)
        text = "".join(out)
        return "\n".join(line.rstrip(" ") for line in text.split("\n")).strip("\n ")


def html_to_text(html: str) -> str:
    """A status's HTML `content` as the text its author wrote.

    Paragraphs become blank lines, `<br>` a line break; links read as their full address
    (Mastodon hides part of it in `invisible` spans), mentions as `@name`, hashtags as `#tag`;
    character references are decoded; custom emoji stay `:shortcode:`. Text in any script is
    kept in its logical order, with ZWNJ, direction marks and the like untouched.
    """
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    return parser.text()


def _timestamp(value: Any) -> str:
    """Mastodon's `2019-12-08T03:48:33.901Z` as the store writes times: `2019-12-08T03:48:33Z`."""
    text = str(value or "")
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]00:?00)?$", text)
    return f"{match.group(1)}Z" if match else text


def status_to_post(status: Mapping[str, Any], config: MastodonConfig) -> Post:
    """An Arbiter Post from a Mastodon Status entity (docs: entities/Status)."""
    account = status.get("account") or {}
    acct = str(account.get("acct") or account.get("username") or "")
    username, _, domain = acct.partition("@")
    text = html_to_text(str(status.get("content") or ""))
    spoiler = str(status.get("spoiler_text") or "").strip()
    if spoiler:  # a content warning is the author's words too
        text = f"{spoiler}\n\n{text}" if text else spoiler
    folded = text.casefold()
    missing = [
        f"#{tag['name']}"
        for tag in status.get("tags") or []
        if tag.get("name") and f"#{tag['name']}".casefold() not in folded
    ]
    if missing:
        text = (text + "\n\n" if text else "") + " ".join(missing)
    media: list[Media] = []
    for attachment in status.get("media_attachments") or []:
        kind = attachment.get("type")
        url = attachment.get("url") or attachment.get("preview_url") or ""
        if kind in ("image", "video", "gifv") and url:
            media.append(
                Media(
                    id=str(attachment.get("id") or f"m{len(media)}"),
                    type="image" if kind == "image" else "video",
                    url=str(url),
                )
            )
    prefix = config.id_prefix
    return Post(
        id=f"{prefix}{status['id']}",
        text=text,
        lang=str(status.get("language") or ""),
        created_at=_timestamp(status.get("created_at")),
        author=Author(
            id=f"{prefix}{account['id']}" if account.get("id") else "",
            handle=f"{username}@{domain or config.instance_domain}" if username else "",
        ),
        url=str(status.get("url") or status.get("uri") or ""),
        media=tuple(media),
    )


# Signatures -----------------------------------------------------------------------------------


def hub_signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value Mastodon sends: `sha256=<hex HMAC-SHA256 of the body>`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_hub_signature(secret: str, header: str | None, body: bytes) -> bool:
    """Whether Mastodon signed exactly `body` with the webhook's `secret`."""
    if not secret or not header:
        return False
    return hmac.compare_digest(hub_signature(secret, body), header.strip())


# Deciding with a Store and an Engine ------------------------------------------------------------


def store_decider(store: Store, engine: Engine) -> Decide:
    """Decide with `engine`, record in `store`, return the decisions now standing on the post
    and a suspension in force on its author (acting on one twice is prevented by the adapter)."""

    def decide(post: Post) -> list[StoredDecision]:
        store.record(engine.policy, [(post, engine.evaluate(post))])
        standing = [
            d
            for d in store.decisions_of(post.id)
            if d.mode == "live" and d.status in ("in_force", "pending_review")
        ]
        if post.author.id:
            standing += [
                d
                for d in store.decisions_of(post.author.id, subject="account")
                if d.status == "in_force" and d.decision.action == "suspend"
            ]
        return standing

    return decide


# The adapter ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Handled:
    """What to answer a webhook with."""

    status: int
    body: dict[str, Any]


class SignatureRejected(ValueError):
    """The request's signature did not verify."""


class MastodonAdapter:
    """Turns an instance's webhooks into decisions, and decisions into actions there."""

    def __init__(
        self,
        store: Store,
        config: MastodonConfig,
        decide: Decide,
        client: MastodonClient | None = None,
    ):
        self.store = store
        self.config = config
        self.decide = decide
        self.client = client or MastodonClient(config.base_url, config.token)

    def close(self) -> None:
        self.client.close()

    # In -----------------------------------------------------------------------------------

    def receive(self, body: bytes, signature: str | None) -> Handled:
        """A webhook request from Mastodon: verify, then handle; raises SignatureRejected."""
        if not verify_hub_signature(self.config.webhook_secret, signature, body):
            raise SignatureRejected("the X-Hub-Signature does not match the body")
        try:
            payload = json.loads(body)
        except ValueError:
            return Handled(400, {"error": "bad_request", "message": "the body is not JSON"})
        if not isinstance(payload, dict) or not isinstance(payload.get("object"), dict):
            return Handled(400, {"error": "bad_request", "message": "no event object"})
        return self.handle(payload)

    def handle(self, payload: Mapping[str, Any]) -> Handled:
        """A verified webhook payload: `{"event": …, "created_at": …, "object": {…}}`."""
        event = str(payload.get("event") or "")
        obj: Mapping[str, Any] = payload.get("object") or {}
        if event not in HANDLED_EVENTS:
            return Handled(202, {"event": event, "ignored": "not an event Arbiter handles"})
        if event == "report.updated":
            return Handled(200, {"event": event, "actions": self._report_updated(obj)})
        report_id: str | None = None
        statuses: list[Mapping[str, Any]]
        if event == "report.created":
            if str(obj.get("comment") or "").startswith(MARKER):
                return Handled(202, {"event": event, "ignored": "a report Arbiter filed"})
            if not obj.get("id"):
                return Handled(400, {"error": "bad_request", "message": "a report without an id"})
            report_id = str(obj["id"])
            statuses = list(obj.get("statuses") or [])
        else:
            statuses = [obj.get("reblog") or obj]  # a boost is judged by what it boosts
        decided: list[dict[str, Any]] = []
        actions: list[dict[str, Any]] = []
        for status in statuses:
            post = status_to_post(status, self.config)
            for stored in self.decide(post):
                answering = report_id if stored.subject == "post" else None
                if answering is not None:
                    self._link_report(stored, answering)
                decided.append(
                    {
                        "id": stored.id,
                        "subject": stored.subject,
                        "post_id": stored.decision.post_id,
                        "action": stored.decision.action,
                        "status": stored.status,
                    }
                )
                actions += self.act(stored, report_id=answering)
        return Handled(200, {"event": event, "decisions": decided, "actions": actions})

    def receive_event(self, body: bytes, signature: str | None) -> Handled:
        """Arbiter's own webhook (docs/webhooks.md) about a decision: act on it if it is ours.

        Register `/v1/adapters/mastodon/events` with `arbiter webhooks add` to act on decisions
        made later (moderators, appeals, suspensions, reversals), with the outbox's retries:
        a failed request to Mastodon answers 502, so the delivery is tried again.
        """
        if not verify_signature(self.config.events_secret, signature, body):
            raise SignatureRejected(f"the {SIGNATURE_HEADER} does not match the body")
        try:
            payload = json.loads(body)
            decision_id = int(payload["decision"]["id"])
        except (ValueError, KeyError, TypeError):
            return Handled(400, {"error": "bad_request", "message": "not an Arbiter event"})
        try:
            stored = self.store.decision(decision_id)
        except ValueError:
            return Handled(202, {"ignored": f"no decision {decision_id} in this store"})
        actions = self.act(stored)
        failed = [a for a in actions if a["status"] == "failed"]
        return Handled(502 if failed else 200, {"decision": decision_id, "actions": actions})

    # Back ---------------------------------------------------------------------------------

    def owns(self, decision: StoredDecision) -> bool:
        return decision.decision.post_id.startswith(self.config.id_prefix)

    def remote(self, arbiter_id: str) -> str:
        """A Mastodon id from an Arbiter post or author id."""
        return arbiter_id.removeprefix(self.config.id_prefix)

    def act(self, decision: StoredDecision, report_id: str | None = None) -> list[dict[str, Any]]:
        """Do on the instance what `decision` calls for, once; returns what was asked.

        The decision's row is locked while acting, so the webhook handler and the events route
        (or two service workers) never act on one decision twice.
        """
        if not self.config.act or decision.mode != "live" or not self.owns(decision):
            return []
        with self.store.engine.begin() as connection:
            locked = connection.execute(
                select(decisions).where(decisions.c.id == decision.id).with_for_update()
            ).first()
            if locked is None:
                return []
            decision = stored_decision(locked)
            if decision.status not in ("in_force", "pending_review"):
                return []  # superseded meanwhile: the decision that replaced it is acted on
            done = _actions(connection, decision.id)
            records: list[dict[str, Any]] = []
            previous = _decision(connection, decision.supersedes) if decision.supersedes else None
            if previous is not None and previous.status == "reversed":
                records += self._undo(connection, decision, previous, done)
            if decision.status != "in_force":
                return records  # a review: nothing happens until a person decides
            if decision.subject == "post" and report_id is None:
                report_id = _report_of(connection, decision.decision.post_id)
            if decision.decision.action == "allow":
                wanted = report_id and self.config.resolve_allowed_reports
                if wanted and report_id and not _has(done, "report_resolve"):
                    records.append(self._resolve(connection, decision, report_id))
                return records
            if _has(done, *ACTING_KINDS):
                return records
            measure = self.config.measure(decision.decision.action)
            if measure == "report" and decision.subject == "post":
                records.append(self._report(connection, decision, report_id))
            elif measure in ACCOUNT_ACTIONS and measure != "none":
                records.append(self._account_action(connection, decision, measure, report_id))
            return records

    def _author(self, connection: Connection, decision: StoredDecision) -> str:
        if decision.subject == "account":
            return self.remote(decision.decision.post_id)
        author = connection.execute(
            select(posts.c.author_id).where(posts.c.id == decision.decision.post_id)
        ).scalar()
        return self.remote(str(author or ""))

    def _text(self, connection: Connection, decision: StoredDecision) -> str:
        d = decision.decision
        words = f"{MARKER} decision {decision.puid}: {d.action} under policy {d.policy}"
        words += f" v{d.policy_version}"
        if d.rule:
            words += f", rule {d.rule}"
        try:
            terms = self.store.policy(d.policy, d.policy_version).grounds.terms
        except ValueError:
            terms = ""
        if terms:
            words += f" ({terms})"
        if decision.reason:
            words += f". {decision.reason}"
        if decision.subject == "post":
            url = connection.execute(select(posts.c.url).where(posts.c.id == d.post_id)).scalar()
            if url:
                words += f". Status: {url}"
        return words + "."

    def _report(
        self, connection: Connection, decision: StoredDecision, report_id: str | None
    ) -> dict[str, Any]:
        d = decision.decision
        rules = self.config.rules_for(d.policy, d.rule)
        category = "violation" if rules else "other"  # violation needs valid rule ids
        status_id = self.remote(d.post_id)
        detail: dict[str, Any] = {"status_id": status_id, "category": category}
        if rules:
            detail["rule_ids"] = list(rules)
        try:
            if report_id is not None:
                # Answer the report the instance already has, citing the rule.
                if rules:
                    self.client.update_report(report_id, category=category, rule_ids=rules)
                detail["updated"] = True
                remote = report_id
            else:
                comment = self._text(connection, decision)
                filed = self.client.file_report(
                    self._author(connection, decision),
                    [status_id],
                    comment,
                    category=category,
                    rule_ids=rules,
                    forward=self.config.forward_reports,
                )
                remote = str((filed or {}).get("id") or "")
                detail["comment"] = comment
        except MastodonError as error:
            return self._record(connection, decision, "report", report_id, "failed", detail, error)
        # Mastodon cannot delete one status through its API: its moderators do, on the report.
        return self._record(connection, decision, "report", remote, "awaiting", detail)

    def _account_action(
        self,
        connection: Connection,
        decision: StoredDecision,
        measure: str,
        report_id: str | None,
    ) -> dict[str, Any]:
        account = self._author(connection, decision)
        text = self._text(connection, decision)
        detail: dict[str, Any] = {"type": measure, "text": text}
        if report_id:
            detail["report_id"] = report_id
        try:
            self.client.account_action(
                account,
                measure,
                report_id=report_id,
                text=text,
                send_email_notification=self.config.send_email_notification,
            )
        except MastodonError as error:
            return self._record(
                connection, decision, "account_action", account, "failed", detail, error
            )
        return self._record(connection, decision, "account_action", account, "done", detail)

    def _resolve(
        self, connection: Connection, decision: StoredDecision, report_id: str
    ) -> dict[str, Any]:
        try:
            self.client.resolve_report(report_id)
        except MastodonError as error:
            return self._record(
                connection, decision, "report_resolve", report_id, "failed", {}, error
            )
        return self._record(connection, decision, "report_resolve", report_id, "done", {})

    def _undo(
        self,
        connection: Connection,
        decision: StoredDecision,
        reversed_: StoredDecision,
        done: list[Any],
    ) -> list[dict[str, Any]]:
        """Take back what the overturned decision did on the instance."""
        records = []
        for row in _actions(connection, reversed_.id):
            detail = json.loads(row.detail)
            if row.kind == "account_action" and row.status == "done":
                if not _has(done, "account_action_undo"):
                    try:
                        self.client.undo_account_action(row.remote_id, detail["type"])
                    except MastodonError as error:
                        records.append(
                            self._record(
                                connection,
                                decision,
                                "account_action_undo",
                                row.remote_id,
                                "failed",
                                {"undoes": row.id, "type": detail["type"]},
                                error,
                            )
                        )
                        continue
                    records.append(
                        self._record(
                            connection,
                            decision,
                            "account_action_undo",
                            row.remote_id,
                            "done",
                            {"undoes": row.id, "type": detail["type"]},
                        )
                    )
                answered = detail.get("report_id")
                if answered and not _has(done, "report_reopen"):
                    # The action closed the report; it is open again for the instance to judge.
                    try:
                        self.client.reopen_report(answered)
                    except MastodonError as error:
                        records.append(
                            self._record(
                                connection,
                                decision,
                                "report_reopen",
                                answered,
                                "failed",
                                {"undoes": row.id},
                                error,
                            )
                        )
                        continue
                    records.append(
                        self._record(
                            connection,
                            decision,
                            "report_reopen",
                            answered,
                            "done",
                            {"undoes": row.id},
                        )
                    )
            elif row.kind == "report" and row.status == "awaiting" and not detail.get("updated"):
                if _has(done, "report_withdraw"):
                    continue
                # The report Arbiter filed is no longer wanted: resolve it with no action.
                try:
                    self.client.resolve_report(row.remote_id)
                except MastodonError as error:
                    records.append(
                        self._record(
                            connection,
                            decision,
                            "report_withdraw",
                            row.remote_id,
                            "failed",
                            {"undoes": row.id},
                            error,
                        )
                    )
                    continue
                connection.execute(
                    update(platform_actions)
                    .where(platform_actions.c.id == row.id)
                    .values(status="withdrawn", updated_at=self.store.clock())
                )
                records.append(
                    self._record(
                        connection,
                        decision,
                        "report_withdraw",
                        row.remote_id,
                        "done",
                        {"undoes": row.id},
                    )
                )
        return records

    def _link_report(self, decision: StoredDecision, report_id: str) -> None:
        """Remember that the instance's report `report_id` is about this decision's post."""
        with self.store.engine.begin() as connection:
            known = connection.execute(
                select(platform_actions.c.id).where(
                    platform_actions.c.decision_id == decision.id,
                    platform_actions.c.platform == PLATFORM,
                    platform_actions.c.kind == "report_received",
                    platform_actions.c.remote_id == report_id,
                )
            ).first()
            if known is None:
                self._record(connection, decision, "report_received", report_id, "done", {})

    def _report_updated(self, report: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A report Arbiter filed was resolved on the instance: what it awaited was decided."""
        if not report.get("action_taken"):
            return []
        report_id = str(report.get("id") or "")
        at = self.store.clock()
        changed = []
        with self.store.engine.begin() as connection:
            for row in connection.execute(
                select(platform_actions).where(
                    platform_actions.c.platform == PLATFORM,
                    platform_actions.c.kind == "report",
                    platform_actions.c.remote_id == report_id,
                    platform_actions.c.status == "awaiting",
                )
            ).all():
                detail = json.loads(row.detail)
                detail["resolved_at"] = report.get("action_taken_at")
                by = (report.get("action_taken_by_account") or {}).get("username")
                if by:
                    detail["resolved_by"] = by
                connection.execute(
                    update(platform_actions)
                    .where(platform_actions.c.id == row.id)
                    .values(status="done", detail=json.dumps(detail), updated_at=at)
                )
                changed.append({"id": row.id, "kind": "report", "status": "done"})
        return changed

    def _record(
        self,
        connection: Connection,
        decision: StoredDecision,
        kind: str,
        remote_id: str | None,
        status: str,
        detail: dict[str, Any],
        error: Exception | None = None,
    ) -> dict[str, Any]:
        """Keep what was asked of the instance, and how it went, as a platform_actions row."""
        if error is not None:
            detail = {**detail, "error": str(error)}
        at = self.store.clock()
        action_id = connection.execute(
            insert(platform_actions)
            .values(
                decision_id=decision.id,
                platform=PLATFORM,
                kind=kind,
                remote_id=remote_id,
                status=status,
                detail=json.dumps(detail, ensure_ascii=False),
                created_at=at,
                updated_at=at,
            )
            .returning(platform_actions.c.id)
        ).scalar_one()
        return {
            "id": int(action_id),
            "decision_id": decision.id,
            "kind": kind,
            "remote_id": remote_id,
            "status": status,
            "detail": detail,
        }


# platform_actions ------------------------------------------------------------------------------


def _decision(connection: Connection, decision_id: int) -> StoredDecision | None:
    row = connection.execute(select(decisions).where(decisions.c.id == decision_id)).first()
    return stored_decision(row) if row is not None else None


def _actions(connection: Connection, decision_id: int) -> list[Any]:
    return list(
        connection.execute(
            select(platform_actions)
            .where(
                platform_actions.c.decision_id == decision_id,
                platform_actions.c.platform == PLATFORM,
            )
            .order_by(platform_actions.c.id)
        ).all()
    )


def _has(rows: Sequence[Any], *kinds: str) -> bool:
    return any(r.kind in kinds and r.status in ("done", "awaiting", "withdrawn") for r in rows)


def _report_of(connection: Connection, post_id: str) -> str | None:
    """The latest report the instance holds about a post, if one reached Arbiter."""
    found = connection.execute(
        select(platform_actions.c.remote_id)
        .join(decisions, decisions.c.id == platform_actions.c.decision_id)
        .where(
            decisions.c.post_id == post_id,
            decisions.c.subject == "post",
            platform_actions.c.platform == PLATFORM,
            platform_actions.c.kind == "report_received",
        )
        .order_by(platform_actions.c.id.desc())
    ).first()
    return str(found.remote_id) if found is not None else None


def platform_actions_of(
    store: Store, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """What the adapter asked of the instance, newest first (the console shows `awaiting`)."""
    query = (
        select(platform_actions, decisions.c.post_id, decisions.c.action)
        .join(decisions, decisions.c.id == platform_actions.c.decision_id)
        .where(platform_actions.c.platform == PLATFORM)
        .order_by(platform_actions.c.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(platform_actions.c.status == status)
    with reading(store.engine) as connection:
        return [
            {**dict(row._mapping), "detail": json.loads(row.detail)}
            for row in connection.execute(query)
        ]


# HTTP ------------------------------------------------------------------------------------------


def mastodon_router(adapter: MastodonAdapter, dependencies: Sequence[Any] = ()) -> APIRouter:
    """`POST /v1/adapters/mastodon/webhook` (Mastodon's webhooks, signed with the webhook's
    secret: no API key) and `POST /v1/adapters/mastodon/events` (Arbiter's own webhooks,
    signed with `events_secret`). `dependencies` apply to both, e.g. `[Depends(public())]`."""
    router = APIRouter(
        prefix="/v1/adapters/mastodon", tags=["mastodon"], dependencies=list(dependencies)
    )

    async def answer(
        call: Callable[[bytes, str | None], Handled], body: bytes, sig: str | None
    ) -> JSONResponse:
        try:
            handled = await run_in_threadpool(call, body, sig)
        except SignatureRejected as error:
            return JSONResponse({"error": "unauthorized", "message": str(error)}, 401)
        return JSONResponse(handled.body, handled.status)

    @router.post("/webhook", response_model=None)
    async def webhook(request: Request) -> JSONResponse:
        """Mastodon's admin webhooks: status.created, status.updated, report.created,
        report.updated; other events are answered 202 and ignored."""
        body = await request.body()
        return await answer(adapter.receive, body, request.headers.get("X-Hub-Signature"))

    @router.post("/events", response_model=None)
    async def events(request: Request) -> JSONResponse:
        """Arbiter's decision, reversal and suspension webhooks, to act on the instance."""
        body = await request.body()
        return await answer(adapter.receive_event, body, request.headers.get(SIGNATURE_HEADER))

    return router


def adapter_from_environment(store: Store, decide: Decide) -> MastodonAdapter | None:
    """The adapter $ARBITER_MASTODON_CONFIG (or $ARBITER_MASTODON_URL …) configures, if any."""
    config = MastodonConfig.load()
    return None if config is None else MastodonAdapter(store, config, decide)
