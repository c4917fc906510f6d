"""Mastodon webhook payloads shaped as docs.joinmastodon.org shows them.

`status()` follows entities/Status (content as Mastodon renders it: paragraphs, `h-card`
mentions, `mention hashtag` links, links split into `invisible`/`ellipsis` spans), and
`report()` follows the `report.created` example in admin/webhooks (an Admin::Report with
Admin::Account target and REST Status entities).
"""

from __future__ import annotations

import json
from typing import Any

from arbiter.adapters.mastodon import hub_signature

WEBHOOK_SECRET = "mastodon-webhook-secret-0123456789abcdef"
EVENTS_SECRET = "whsec_arbiter-events-0123456789abcdef"
DOMAIN = "example.social"


def hashtag(name: str) -> str:
    return (
        f'<a href="https://{DOMAIN}/tags/{name}" class="mention hashtag" rel="tag">'
        f"#<span>{name}</span></a>"
    )


def mention(user: str) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="https://{DOMAIN}/@{user}" '
        f'class="u-url mention">@<span>{user}</span></a></span>'
    )


def account(account_id: str = "7", acct: str = "alice") -> dict[str, Any]:
    username = acct.split("@")[0]
    host = acct.split("@")[1] if "@" in acct else DOMAIN
    return {
        "id": account_id,
        "username": username,
        "acct": acct,
        "display_name": username.title(),
        "locked": False,
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": "2023-07-13T00:00:00.000Z",
        "note": "",
        "url": f"https://{host}/@{username}",
        "uri": f"https://{host}/users/{username}",
        "avatar": f"https://{host}/avatars/original/missing.png",
        "avatar_static": f"https://{host}/avatars/original/missing.png",
        "header": f"https://{host}/headers/original/missing.png",
        "header_static": f"https://{host}/headers/original/missing.png",
        "followers_count": 2,
        "following_count": 2,
        "statuses_count": 95,
        "last_status_at": "2026-11-24",
        "emojis": [],
        "fields": [],
    }


def status(
    status_id: str,
    content: str,
    *,
    author: dict[str, Any] | None = None,
    tags: list[str] = (),  # type: ignore[assignment]
    media: list[dict[str, Any]] = (),  # type: ignore[assignment]
    language: str | None = "en",
    spoiler: str = "",
) -> dict[str, Any]:
    who = author or account()
    host = who["url"].split("/")[2]
    return {
        "id": status_id,
        "created_at": "2026-11-24T11:29:13.901Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": bool(spoiler),
        "spoiler_text": spoiler,
        "visibility": "public",
        "language": language,
        "uri": f"https://{host}/users/{who['username']}/statuses/{status_id}",
        "url": f"https://{host}/@{who['username']}/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": content,
        "reblog": None,
        "application": {"name": "Web", "website": None},
        "account": who,
        "media_attachments": list(media),
        "mentions": [],
        "tags": [{"name": t, "url": f"https://{DOMAIN}/tags/{t}"} for t in tags],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def attachment(media_id: str, kind: str, url: str | None = None) -> dict[str, Any]:
    ext = {"image": "jpeg", "video": "mp4", "gifv": "mp4", "audio": "mp3"}[kind]
    base = f"https://files.{DOMAIN}/media_attachments/files/{media_id}"
    return {
        "id": media_id,
        "type": kind,
        "url": url if url is not None else f"{base}/original/a.{ext}",
        "preview_url": f"{base}/small/a.png",
        "remote_url": None,
        "meta": {},
        "description": None,
        "blurhash": None,
    }


def report(report_id: str, statuses: list[dict[str, Any]], comment: str = "") -> dict[str, Any]:
    """An Admin::Report as the report.created example of admin/webhooks shows it."""
    target = statuses[0]["account"] if statuses else account()
    reporter = account("9", "bob")
    return {
        "id": report_id,
        "action_taken": False,
        "action_taken_at": None,
        "category": "other",
        "comment": comment,
        "forwarded": False,
        "created_at": "2026-11-24T13:34:00.351Z",
        "updated_at": "2026-11-24T13:34:00.351Z",
        "account": {"id": "9", "username": "bob", "domain": None, "account": reporter},
        "target_account": {
            "id": target["id"],
            "username": target["username"],
            "domain": target["acct"].split("@")[1] if "@" in target["acct"] else None,
            "account": target,
        },
        "assigned_account": None,
        "action_taken_by_account": None,
        "statuses": statuses,
        "rules": [],
    }


def event(name: str, obj: dict[str, Any]) -> bytes:
    """The webhook body: {"event", "created_at", "object"} (admin/webhooks)."""
    return json.dumps(
        {"event": name, "created_at": "2026-11-25T09:00:00.000Z", "object": obj}
    ).encode()


def signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature": hub_signature(secret, body), "Content-Type": "application/json"}
