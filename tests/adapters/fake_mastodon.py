"""A fake Mastodon instance on loopback (FastAPI served by uvicorn in a thread).

It implements only the methods the adapter calls, with the paths, HTTP methods, form fields
and answers docs.joinmastodon.org gives them, refuses a wrong token as Mastodon does (401),
and records every request so tests can check exactly what was asked.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TOKEN = "staff-access-token-0123456789"
RULES = [{"id": "1", "text": "No spam"}, {"id": "2", "text": "No glorification of violence"}]


@dataclass
class Call:
    method: str
    path: str
    authorization: str | None
    content_type: str
    form: dict[str, list[str]] = field(default_factory=dict)


class ServerThread:
    """Serve an ASGI app with uvicorn on 127.0.0.1, on a port the OS picks."""

    def __init__(self, app: Any):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.socket.close()


class FakeMastodon:
    """The instance: `calls` holds every request; `fail[(method, path)]` makes the next N fail."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[Call] = []
        self.fail: dict[tuple[str, str], list[int]] = {}
        self.next_report = 500
        self.reports: dict[str, dict[str, Any]] = {}
        self.app = self._build()
        self.thread = ServerThread(self.app)

    @property
    def url(self) -> str:
        return self.thread.url

    def __enter__(self) -> FakeMastodon:
        self.thread.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.__exit__(*exc)

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    def _build(self) -> FastAPI:
        app = FastAPI()
        fake = self

        async def recorded(request: Request) -> JSONResponse | None:
            form: dict[str, list[str]] = {}
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("application/x-www-form-urlencoded"):
                data = await request.form()
                for key in data:
                    form[key] = [str(v) for v in data.getlist(key)]
            call = Call(
                request.method,
                request.url.path,
                request.headers.get("authorization"),
                content_type,
                form,
            )
            fake.calls.append(call)
            if call.authorization != f"Bearer {fake.token}":
                return JSONResponse({"error": "The access token is invalid"}, 401)
            failing = fake.fail.get((call.method, call.path))
            if failing:
                return JSONResponse({"error": "Something went wrong"}, failing.pop(0))
            return None

        def admin_account(account_id: str, **state: bool) -> dict[str, Any]:
            return {
                "id": account_id,
                "username": "alice",
                "domain": None,
                "suspended": False,
                "silenced": False,
                "sensitized": False,
                "disabled": False,
                **state,
                "account": {"id": account_id, "username": "alice", "acct": "alice"},
            }

        # methods/admin/accounts#action: form `type` (required), report_id, text, ...
        @app.post("/api/v1/admin/accounts/{account_id}/action")
        async def action(account_id: str, request: Request) -> Any:
            refused = await recorded(request)
            if refused:
                return refused
            kind = fake.calls[-1].form.get("type", [""])[0]
            if kind not in ("none", "sensitive", "disable", "silence", "suspend"):
                return JSONResponse({"error": "Record invalid"}, 422)
            report = fake.calls[-1].form.get("report_id", [None])[0]
            if report is not None:
                if report not in fake.reports:
                    return JSONResponse({"error": "Record not found"}, 404)
                fake.reports[report]["action_taken"] = True  # the action resolves the report
            return {}

        # methods/admin/accounts#unsilence, #unsuspend, #unsensitive, #enable
        @app.post("/api/v1/admin/accounts/{account_id}/{undo}")
        async def undo(account_id: str, undo: str, request: Request) -> Any:
            refused = await recorded(request)
            if refused:
                return refused
            if undo not in ("unsilence", "unsuspend", "unsensitive", "enable"):
                return JSONResponse({"error": "Record not found"}, 404)
            return admin_account(account_id)

        # methods/reports#post: account_id (required), status_ids[], comment, forward,
        # category, rule_ids[] (violation needs valid rule ids)
        @app.post("/api/v1/reports")
        async def file_report(request: Request) -> Any:
            refused = await recorded(request)
            if refused:
                return refused
            form = fake.calls[-1].form
            if not form.get("account_id"):
                return JSONResponse({"error": "Record not found"}, 404)
            rule_ids = form.get("rule_ids[]", [])
            category = "violation" if rule_ids else form.get("category", ["other"])[0]
            valid = {r["id"] for r in RULES}
            if category == "violation" and (not rule_ids or set(rule_ids) - valid):
                return JSONResponse(
                    {"error": "Validation failed: Rule ids does not reference valid rules"}, 422
                )
            report_id = str(fake.next_report)
            fake.next_report += 1
            report = {
                "id": report_id,
                "action_taken": False,
                "action_taken_at": None,
                "category": category,
                "comment": form.get("comment", [""])[0],
                "forwarded": form.get("forward", ["false"])[0] == "true",
                "created_at": "2026-11-25T10:00:00.000Z",
                "status_ids": form.get("status_ids[]", []),
                "rule_ids": rule_ids or None,
                "target_account": {"id": form["account_id"][0], "username": "alice"},
            }
            fake.reports[report_id] = report
            return report

        # methods/admin/reports#update: category, rule_ids[]
        @app.put("/api/v1/admin/reports/{report_id}")
        async def update_report(report_id: str, request: Request) -> Any:
            refused = await recorded(request)
            if refused:
                return refused
            report = fake.reports.setdefault(report_id, {"id": report_id, "action_taken": False})
            form = fake.calls[-1].form
            report.update(category=form.get("category", ["other"])[0])
            return report

        # methods/admin/reports#resolve and #reopen
        @app.post("/api/v1/admin/reports/{report_id}/{verb}")
        async def resolve_or_reopen(report_id: str, verb: str, request: Request) -> Any:
            refused = await recorded(request)
            if refused:
                return refused
            if verb not in ("resolve", "reopen"):
                return JSONResponse({"error": "Record not found"}, 404)
            report = fake.reports.setdefault(report_id, {"id": report_id})
            report["action_taken"] = verb == "resolve"
            return report

        # methods/instance#rules
        @app.get("/api/v1/instance/rules")
        async def rules(request: Request) -> Any:
            refused = await recorded(request)
            return refused or RULES

        @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
        async def anything_else(rest: str, request: Request) -> Any:
            await recorded(request)
            return JSONResponse({"error": "Record not found"}, 404)

        return app
