"""The few Mastodon API methods the adapter calls, as Mastodon's documentation specifies them.

Each method names its page in https://docs.joinmastodon.org. Parameters go as form data
(the documentation's "Form data parameters"), arrays as repeated `name[]` fields, and every
request carries `Authorization: Bearer <token>`. The token belongs to a staff account with
the scopes `admin:write:accounts`, `admin:write:reports` and `write:reports` (and `read` for
`instance_rules`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

# An account action and the method that takes it back (methods/admin/accounts).
UNDO = {
    "sensitive": "unsensitive",
    "silence": "unsilence",
    "suspend": "unsuspend",
    "disable": "enable",
}
ACCOUNT_ACTIONS = ("none", *UNDO)
REPORT_CATEGORIES = ("spam", "legal", "violation", "other")
COMMENT_LIMIT = 1000  # the default maximum length of a report's comment


class MastodonError(RuntimeError):
    """Mastodon answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _form(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class MastodonClient:
    """A Mastodon instance's API, as one staff account's token sees it."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def _request(
        self, method: str, path: str, form: Sequence[tuple[str, object]] | None = None
    ) -> Any:
        data = [(name, _form(value)) for name, value in form or () if value is not None]
        try:
            response = self.client.request(
                method,
                self.base_url + path,
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                data=dict(_group(data)) if data else None,
            )
        except httpx.HTTPError as error:
            raise MastodonError(f"{method} {path}: {type(error).__name__}: {error}") from None
        if not 200 <= response.status_code < 300:
            try:
                detail = response.json().get("error", "")
            except ValueError:
                detail = response.text[:200]
            raise MastodonError(
                f"{method} {path}: HTTP {response.status_code} {detail}".rstrip(),
                response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            return None

    # methods/admin/accounts -------------------------------------------------------------------

    def account_action(
        self,
        account_id: str,
        action: str,
        *,
        report_id: str | None = None,
        text: str | None = None,
        send_email_notification: bool | None = None,
    ) -> None:
        """POST /api/v1/admin/accounts/:id/action (methods/admin/accounts#action).

        Also resolves the open reports against the account, `report_id` among them.
        """
        if action not in ACCOUNT_ACTIONS:
            raise ValueError(f"unknown account action {action!r}")
        self._request(
            "POST",
            f"/api/v1/admin/accounts/{quote(account_id, safe='')}/action",
            [
                ("type", action),
                ("report_id", report_id),
                ("text", text),
                ("send_email_notification", send_email_notification),
            ],
        )

    def undo_account_action(self, account_id: str, action: str) -> Any:
        """POST /api/v1/admin/accounts/:id/unsensitive | unsilence | unsuspend | enable."""
        if action not in UNDO:
            raise ValueError(f"no method takes back {action!r}")
        return self._request(
            "POST", f"/api/v1/admin/accounts/{quote(account_id, safe='')}/{UNDO[action]}"
        )

    # methods/reports and methods/admin/reports ------------------------------------------------

    def file_report(
        self,
        account_id: str,
        status_ids: Sequence[str],
        comment: str,
        *,
        category: str = "other",
        rule_ids: Sequence[int] = (),
        forward: bool = False,
    ) -> Any:
        """POST /api/v1/reports (methods/reports#post); returns the Report."""
        if category not in REPORT_CATEGORIES:
            raise ValueError(f"unknown report category {category!r}")
        form: list[tuple[str, object]] = [("account_id", account_id)]
        form += [("status_ids[]", s) for s in status_ids]
        form += [("comment", comment[:COMMENT_LIMIT]), ("forward", forward), ("category", category)]
        form += [("rule_ids[]", r) for r in rule_ids]
        return self._request("POST", "/api/v1/reports", form)

    def update_report(
        self, report_id: str, *, category: str | None = None, rule_ids: Sequence[int] = ()
    ) -> Any:
        """PUT /api/v1/admin/reports/:id (methods/admin/reports#update)."""
        form: list[tuple[str, object]] = [("category", category)]
        form += [("rule_ids[]", r) for r in rule_ids]
        return self._request("PUT", f"/api/v1/admin/reports/{quote(report_id, safe='')}", form)

    def resolve_report(self, report_id: str) -> Any:
        """POST /api/v1/admin/reports/:id/resolve (methods/admin/reports#resolve)."""
        return self._request("POST", f"/api/v1/admin/reports/{quote(report_id, safe='')}/resolve")

    def reopen_report(self, report_id: str) -> Any:
        """POST /api/v1/admin/reports/:id/reopen (methods/admin/reports#reopen)."""
        return self._request("POST", f"/api/v1/admin/reports/{quote(report_id, safe='')}/reopen")

    # methods/instance -------------------------------------------------------------------------

    def instance_rules(self) -> list[dict[str, Any]]:
        """GET /api/v1/instance/rules (methods/instance#rules): the ids reports may cite."""
        rules = self._request("GET", "/api/v1/instance/rules")
        return list(rules or [])


def _group(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str | list[str]]]:
    """Form fields for httpx: a `name[]` field repeated holds a list."""
    grouped: dict[str, str | list[str]] = {}
    for name, value in pairs:
        if name.endswith("[]"):
            existing = grouped.setdefault(name, [])
            assert isinstance(existing, list)
            existing.append(value)
        else:
            grouped[name] = value
    return list(grouped.items())
