"""The moderator console's pages: server-rendered HTML under /console, from the same process.

`console_router(ConsoleConfig(...))` returns the router `create_app(..., routers=[...])`
takes. Every route declares who may use it, as the API's routes do (`route_requirement`
reads it): pages take a signed-in moderator, admin or auditor; decisions take a moderator
(an admin does not moderate, an auditor only reads); sign-in, the stylesheet and the script
are public. Every change goes through the Store with the signed-in key's owner as the
moderator, under the service's write lock, so it reaches the audit log.

(No `from __future__ import annotations` here: FastAPI reads the routes' annotations, and
some of the names they use exist only inside `console_router`.)
"""

import os
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from arbiter.console import files, views
from arbiter.console.session import (
    ACTING_ROLES,
    COOKIE_PATH,
    ENTRY_ROLES,
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGN_IN_COOKIE,
    SIGN_IN_SECONDS,
    Session,
    Sessions,
    key_by_prefix,
    secret_from_environment,
)
from arbiter.model import Post
from arbiter.service.auth import Authenticator, Requirement, public
from arbiter.service.deciding import log_event
from arbiter.service.routes.common import Service
from arbiter.store import Store, StoreError
from arbiter.store.database import reading
from arbiter.store.moderation import HUMAN_ACTIONS, ModerationError
from arbiter.store.records import StoredDecision

PREFIX = "/console"
HERE = Path(__file__).resolve().parent
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
MAX_REASON = 2000
CONFIRM_ACTIONS = tuple(a for a in HUMAN_ACTIONS if a != "allow")  # what confirming may set
COUNTRY = re.compile(r"^[A-Z]{2}$")
LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
MEDIA_VARIABLE = "ARBITER_CONSOLE_MEDIA"  # folders posts' media paths are relative to
REFERENCES_VARIABLE = "ARBITER_CONSOLE_REFERENCES"  # folders bank entries are relative to
NOTICES = {
    "confirmed": "Review {ref} confirmed.",
    "changed": "Review {ref} decided: the moderator's decision now applies to the post.",
    "overturned": "Review {ref} overturned: the post is allowed.",
    "escalated": "Review {ref} escalated: it stays in the queue, flagged for a senior moderator.",
    "upheld": "Appeal {ref} decided: the decision is upheld.",
    "appeal-overturned": "Appeal {ref} decided: the decision is overturned.",
    "signed-out": "Signed out.",
}


@dataclass(frozen=True)
class ConsoleConfig:
    """Where the console finds media, and its session secret and lifetime."""

    media_roots: tuple[Path, ...] = ()  # posts' media paths are relative to these folders
    reference_roots: tuple[Path, ...] = ()  # bank entries (the policy's folder), likewise
    secret: bytes | None = None  # None: $ARBITER_CONSOLE_SECRET, else random per process
    session_seconds: int = SESSION_SECONDS
    page_size: int = 200

    @classmethod
    def from_environment(cls) -> "ConsoleConfig":
        """$ARBITER_CONSOLE_MEDIA and $ARBITER_CONSOLE_REFERENCES (folders separated by
        os.pathsep) and $ARBITER_CONSOLE_SECRET."""

        def folders(variable: str) -> tuple[Path, ...]:
            value = os.environ.get(variable, "")
            return tuple(Path(p) for p in value.split(os.pathsep) if p)

        return cls(folders(MEDIA_VARIABLE), folders(REFERENCES_VARIABLE))


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is signed in: the key's owner and role, and the session's CSRF token."""

    owner: str
    role: str
    prefix: str
    session: Session
    csrf: str

    @property
    def acts(self) -> bool:
        return self.role in ACTING_ROLES


# -- errors as pages ----------------------------------------------------------------------


class SignInRequired(Exception):
    """No session, or one that ended: go to the sign-in page."""


class ConsoleError(Exception):
    """A refusal shown as a page: 403 for a role or a CSRF token, 404 for what is missing."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class ConsoleRoute(APIRoute):
    """Routes whose refusals are pages (the API's are JSON) and whose missing session
    leads to the sign-in page; `console_router` makes a subclass bound to its Console."""

    console: "Console"

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                where = f"{PREFIX}/sign-in"
                if request.method == "GET":  # come back here; a form sent is not re-sent
                    target = request.url.path
                    if request.url.query:
                        target += "?" + request.url.query
                    where += f"?next={quote(target, safe='/')}"
                response = RedirectResponse(where, status_code=303)
                if request.cookies.get(SESSION_COOKIE):
                    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
                return response
            except ConsoleError as error:
                return self._error_page(error.status, error.title, error.message)
            except RequestValidationError:
                return self._error_page(404, "Not found", "There is no such page.")
            except StarletteHTTPException as error:
                if error.status_code == 404:
                    return self._error_page(404, "Not found", str(error.detail))
                raise

        return console_handler

    def _error_page(self, status: int, title: str, message: str) -> HTMLResponse:
        return self.console.render("error.html", status, title=title, message=message)


# -- the console --------------------------------------------------------------------------


def _when(value: str | None) -> str:
    """2026-11-25T10:00:00Z as 2026-11-25 10:00 UTC."""
    if not value:
        return ""
    found = views.parse_time(value)
    return found.strftime("%Y-%m-%d %H:%M UTC") if found else value


def _lang(value: str) -> str:
    return value if LANG.match(value or "") else ""


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class Console:
    """The console's state: configuration, sessions and templates."""

    def __init__(self, config: ConsoleConfig):
        self.config = config
        self.sessions = Sessions(
            config.secret if config.secret is not None else secret_from_environment(),
            config.session_seconds,
        )
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(
            when=_when, lang=_lang, excerpt=_excerpt, age=views.age, basename=_basename
        )
        self.templates.globals.update(
            prefix=PREFIX, version=_static_version(), severity=views.SEVERITY
        )

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("who", None)
        context.setdefault("notice", "")
        context.setdefault("error", "")
        context.setdefault("error_title", "")
        context.setdefault("section", "")
        context.setdefault("nav", None)
        context.setdefault("prev_url", None)
        context.setdefault("next_url", None)
        html = self.templates.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _static_version() -> str:
    stamps = [int((HERE / "static" / name).stat().st_mtime) for name in STATIC]
    return str(max(stamps))


def _service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


@dataclass(frozen=True, slots=True)
class Nav:
    reviews: int
    appeals: int
    failing: int
    awaiting: int


def _nav(store: Store) -> Nav:
    from arbiter.adapters.mastodon import platform_actions_of
    from arbiter.outbound.webhooks import failing_deliveries

    return Nav(
        views.queue_counts(store).total,
        views.open_appeal_count(store),
        len(failing_deliveries(store, 100)),
        len(platform_actions_of(store, "awaiting", 100)),
    )


@dataclass
class Sent:
    """What a decision form sent back, to show it again with a refusal."""

    form: str = ""
    reason: str = ""
    action: str = ""
    scope: str = ""


def console_router(config: ConsoleConfig | None = None) -> APIRouter:
    """The console's router, mounted at /console."""
    console = Console(config or ConsoleConfig.from_environment())
    route_class = type("BoundConsoleRoute", (ConsoleRoute,), {"console": console})
    router = APIRouter(
        prefix=PREFIX, route_class=route_class, include_in_schema=False, tags=["console"]
    )

    # -- who is signed in ---------------------------------------------------------------

    def signed_in(*roles: str) -> Callable[..., Viewer]:
        """A dependency admitting a console session whose key has one of `roles`."""
        requirement = Requirement(roles)

        def dependency(request: Request) -> Viewer:
            session = console.sessions.read(request.cookies.get(SESSION_COOKIE))
            if session is None:
                raise SignInRequired()
            key = key_by_prefix(_service(request).store.engine, session.prefix)
            if key is None or key.role not in ENTRY_ROLES:
                raise SignInRequired()  # revoked since: the session ends now
            if key.role not in roles:
                raise ConsoleError(
                    403,
                    "Not allowed",
                    f"Your key's role ({key.role}) may not do this here; it takes "
                    f"{' or '.join(roles)}.",
                )
            return Viewer(
                key.owner, key.role, key.prefix, session, console.sessions.csrf_token(session)
            )

        dependency.requirement = requirement  # type: ignore[attr-defined]
        return dependency

    Reader = Annotated[Viewer, Depends(signed_in(*ENTRY_ROLES))]
    Actor = Annotated[Viewer, Depends(signed_in(*ACTING_ROLES))]
    Public = Annotated[None, Depends(public())]
    FormText = Annotated[str, Form()]

    def check_form(request: Request, who: Viewer, csrf: str) -> None:
        """The synchronizer token must be this session's, and a browser's Origin ours."""
        if not console.sessions.csrf_ok(who.session, csrf):
            raise ConsoleError(
                403,
                "Refused: the form's security token is missing or wrong",
                "Nothing was changed. Reload the page and submit the form again.",
            )
        origin = request.headers.get("origin")
        if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
            raise ConsoleError(403, "Refused", "The form was sent from another site.")

    def page(
        request: Request, who: Viewer | None, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        store = _service(request).store
        notice = ""
        done = request.query_params.get("done", "")
        ref = request.query_params.get("ref", "")
        if done in NOTICES and (ref.isdigit() or not ref) and len(ref) < 12:
            notice = NOTICES[done].format(ref=ref)
        context.setdefault("notice", notice)
        return console.render(
            template,
            status,
            who=who,
            csrf=who.csrf if who else "",
            nav=_nav(store) if who else None,
            now=store.clock(),
            **context,
        )

    # -- sign-in and sign-out -----------------------------------------------------------

    def sign_in_page(
        request: Request, status: int = 200, error: str = "", next_: str = ""
    ) -> HTMLResponse:
        nonce = console.sessions.sign_in_nonce()
        response = console.render(
            "sign_in.html",
            status,
            token=console.sessions.sign_in_token(nonce),
            error=error,
            next=_local(next_),
            notice=NOTICES["signed-out"]
            if request.query_params.get("done") == "signed-out"
            else "",
        )
        response.set_cookie(
            SIGN_IN_COOKIE,
            nonce,
            max_age=SIGN_IN_SECONDS,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.get("")
    @router.get("/")
    def home(_: Public) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/queue", status_code=303)

    @router.get("/sign-in")
    def sign_in_form(
        request: Request, _: Public, next: Annotated[str, Query(max_length=2000)] = ""
    ) -> Response:
        session = console.sessions.read(request.cookies.get(SESSION_COOKIE))
        if session is not None and key_by_prefix(_service(request).store.engine, session.prefix):
            return RedirectResponse(_local(next) or f"{PREFIX}/queue", status_code=303)
        return sign_in_page(request, next_=next)

    @router.post("/sign-in")
    async def sign_in(
        request: Request,
        _: Public,
        key: FormText = "",
        csrf: FormText = "",
        next: FormText = "",
    ) -> Response:
        if not console.sessions.sign_in_ok(request.cookies.get(SIGN_IN_COOKIE), csrf):
            return sign_in_page(
                request,
                403,
                "The sign-in form had expired or was not sent from this page; try again.",
                next,
            )
        authenticator: Authenticator = request.app.state.authenticator
        found = await authenticator.authenticate(key.strip()) if len(key) < 200 else None
        if found is None:
            return sign_in_page(
                request, 401, "This key is not valid: malformed, unknown, wrong or revoked.", next
            )
        if found.role not in ENTRY_ROLES:
            return sign_in_page(
                request,
                403,
                f"{_article(found.role).capitalize()} {found.role} key cannot open the console: "
                "it takes a moderator, admin or auditor key.",
                next,
            )
        token, _session = console.sessions.issue(found.prefix)
        response = RedirectResponse(_local(next) or f"{PREFIX}/queue", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=console.sessions.seconds,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
        return response

    @router.post("/sign-out")
    def sign_out(request: Request, who: Reader, csrf: FormText = "") -> Response:
        check_form(request, who, csrf)
        console.sessions.end(who.session)
        response = RedirectResponse(f"{PREFIX}/sign-in?done=signed-out", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return response

    # -- the queue ------------------------------------------------------------------------

    @router.get("/queue")
    def queue(request: Request, who: Reader) -> HTMLResponse:
        store = _service(request).store
        return page(
            request,
            who,
            "queue.html",
            section="queue",
            rows=views.queue(store, console.config.page_size),
            counts=views.queue_counts(store),
        )

    # -- a post, for a review or a decision -------------------------------------------------

    def post_context(request: Request, decision: StoredDecision) -> dict[str, Any]:
        store = _service(request).store
        post = _post_of(store, decision)
        everything = store.decisions_of(post.id, decision.subject) if post.id else [decision]
        media, stray = views.media_views(
            decision,
            post,
            console.config.media_roots,
            console.config.reference_roots,
            PREFIX,
        )
        ids = [d.id for d in everything]
        try:
            state = store.post_state(post.id) if decision.subject == "post" else ""
        except StoreError:
            state = ""
        return {
            "decision": decision,
            "post": post,
            "pieces": views.text_pieces(post.text, decision.decision.matches),
            "media": media,
            "stray": stray,
            "rule": views.rule_view(store, decision),
            "history": views.history(store, post, everything),
            "decisions": everything,
            "reviews": views.reviews_of(store, ids),
            "appeals": views.appeals_of(store, ids),
            "state": state,
        }

    def review_page(
        request: Request,
        who: Viewer,
        review_id: int,
        status: int = 200,
        error: str = "",
        sent: Sent | None = None,
    ) -> Response:
        store = _service(request).store
        row = views.review_row(store, review_id)
        if row is None:
            raise ConsoleError(404, "Not found", f"There is no review {review_id}.")
        if row.reason == "appeal" and not error:
            appeal = _appeal_for(store, row.decision_id)
            if appeal is not None:
                return RedirectResponse(f"{PREFIX}/appeals/{appeal}", status_code=303)
        decision = store.decision(row.decision_id)
        order = views.queue_order(store)
        previous, following = views.neighbours(order, review_id)
        escalation = _escalations(store).get(review_id)
        return page(
            request,
            who,
            "post.html",
            status,
            section="queue",
            review=row,
            appeal=None,
            escalation=escalation,
            error=error,
            error_title="Refused:" if error else "",
            sent=sent or Sent(),
            prev_url=f"{PREFIX}/reviews/{previous}" if previous else None,
            next_url=f"{PREFIX}/reviews/{following}" if following else None,
            position=(order.index(review_id) + 1) if review_id in order else None,
            queued=len(order),
            actions=CONFIRM_ACTIONS,
            **post_context(request, decision),
        )

    @router.get("/reviews/{review_id}")
    def review(request: Request, who: Reader, review_id: int) -> Response:
        return review_page(request, who, review_id)

    @router.post("/reviews/{review_id}/{verb}")
    def decide_review(
        request: Request,
        who: Actor,
        review_id: int,
        verb: Literal["confirm", "overturn", "escalate"],
        csrf: FormText = "",
        reason: FormText = "",
        action: FormText = "",
        scope: FormText = "",
    ) -> Response:
        check_form(request, who, csrf)
        svc = _service(request)
        store = svc.store
        sent = Sent(verb, reason, action, scope)
        row = views.review_row(store, review_id)
        if row is None:
            raise ConsoleError(404, "Not found", f"There is no review {review_id}.")
        note = reason.strip()
        problem = _reason_problem(note)
        if problem:
            return review_page(request, who, review_id, 422, problem, sent)
        order = views.queue_order(store)
        if verb == "escalate":
            if row.status != "open":
                return review_page(
                    request, who, review_id, 409, f"review {review_id} is already closed", sent
                )
            decision = store.decision(row.decision_id)
            log_event(
                store,
                views.ESCALATED,
                f"moderator:{who.owner}",
                f"decision:{decision.puid}",
                {"review": review_id, "note": note},
                svc.decider.writing,
            )
            if row.reason == "appeal":
                appeal = _appeal_for(store, row.decision_id)
                if appeal is not None:
                    return _redirect(f"{PREFIX}/appeals/{appeal}", "escalated", review_id)
            return _redirect(f"{PREFIX}/reviews/{review_id}", "escalated", review_id)
        if row.reason == "appeal":
            return review_page(
                request,
                who,
                review_id,
                409,
                "this review is an appeal: decide it on the appeal's page",
                sent,
            )
        decision = store.decision(row.decision_id)
        territorial: tuple[str, ...] = ()
        if verb == "overturn":
            chosen = "allow"
        else:
            chosen = action or (
                decision.decision.action if decision.decision.action in HUMAN_ACTIONS else ""
            )
            if chosen not in CONFIRM_ACTIONS:
                return review_page(
                    request, who, review_id, 422, "choose the action the post deserves", sent
                )
            territorial = tuple(scope.upper().replace(",", " ").split())
            if any(not COUNTRY.match(c) for c in territorial):
                return review_page(
                    request,
                    who,
                    review_id,
                    422,
                    "where: two-letter country codes (ISO 3166-1), e.g. DE FR",
                    sent,
                )
        try:
            with svc.decider.writing:
                new = store.decide_review(review_id, who.owner, chosen, note, territorial)
        except (ModerationError, StoreError) as error:
            return review_page(request, who, review_id, 409, str(error), sent)
        if new is not None:
            svc.metrics.decided(new)
        done = "overturned" if verb == "overturn" else ("changed" if new else "confirmed")
        _, following = views.neighbours(order, review_id)
        if following is None:
            previous, _ = views.neighbours(order, review_id)
            following = previous
        target = f"{PREFIX}/reviews/{following}" if following else f"{PREFIX}/queue"
        return _redirect(target, done, review_id)

    @router.get("/decisions/{decision_id}")
    def decision_page(request: Request, who: Reader, decision_id: int) -> HTMLResponse:
        store = _service(request).store
        try:
            decision = store.decision(decision_id)
        except StoreError:
            raise ConsoleError(404, "Not found", f"There is no decision {decision_id}.") from None
        return page(
            request,
            who,
            "post.html",
            review=None,
            appeal=None,
            escalation=None,
            sent=Sent(),
            actions=(),
            position=None,
            queued=0,
            **post_context(request, decision),
        )

    @router.get("/posts")
    def find_post(
        request: Request, who: Reader, id: Annotated[str, Query(max_length=200)] = ""
    ) -> Response:
        found = _service(request).store.decisions_of(id) if id else []
        if not found:
            raise ConsoleError(404, "Not found", "No decision about that post is stored.")
        return RedirectResponse(f"{PREFIX}/decisions/{found[-1].id}", status_code=303)

    # -- appeals ----------------------------------------------------------------------------

    @router.get("/appeals")
    def appeals(request: Request, who: Reader) -> HTMLResponse:
        store = _service(request).store
        return page(
            request,
            who,
            "appeals.html",
            section="appeals",
            open=views.appeal_list(store, "open", console.config.page_size),
            decided=views.appeal_list(store, "decided", 50),
        )

    def appeal_page(
        request: Request,
        who: Viewer,
        appeal_id: int,
        status: int = 200,
        error: str = "",
        sent: Sent | None = None,
    ) -> HTMLResponse:
        store = _service(request).store
        row = views.appeal_row(store, appeal_id)
        if row is None:
            raise ConsoleError(404, "Not found", f"There is no appeal {appeal_id}.")
        decision = store.decision(row.decision_id)
        review_id = views.review_of_appeal(store, decision.id) if row.status == "open" else None
        return page(
            request,
            who,
            "post.html",
            status,
            section="appeals",
            review=None,
            appeal=row,
            appeal_review=review_id,
            escalation=_escalations(store).get(review_id) if review_id else None,
            error=error,
            error_title="Refused:" if error else "",
            sent=sent or Sent(),
            actions=_lesser_actions(decision),
            position=None,
            queued=0,
            **post_context(request, decision),
        )

    @router.get("/appeals/{appeal_id}")
    def appeal(request: Request, who: Reader, appeal_id: int) -> HTMLResponse:
        return appeal_page(request, who, appeal_id)

    @router.post("/appeals/{appeal_id}/decide")
    def decide_appeal(
        request: Request,
        who: Actor,
        appeal_id: int,
        csrf: FormText = "",
        outcome: FormText = "",
        reason: FormText = "",
        action: FormText = "",
    ) -> Response:
        check_form(request, who, csrf)
        svc = _service(request)
        sent = Sent(outcome, reason, action)
        note = reason.strip()
        problem = _reason_problem(note)
        if outcome not in ("upheld", "overturned"):
            problem = "choose to uphold or to overturn the decision"
        if problem:
            return appeal_page(request, who, appeal_id, 422, problem, sent)
        chosen = action or "allow"
        try:
            with svc.decider.writing:
                new = svc.store.decide_appeal(appeal_id, who.owner, outcome, note, chosen)
        except (ModerationError, StoreError) as error:
            return appeal_page(request, who, appeal_id, 409, str(error), sent)
        if new is not None:
            svc.metrics.decided(new)
        done = "upheld" if outcome == "upheld" else "appeal-overturned"
        return _redirect(f"{PREFIX}/appeals", done, appeal_id)

    # -- operations -----------------------------------------------------------------------

    @router.get("/operations")
    def operations(request: Request, who: Reader) -> HTMLResponse:
        from arbiter.adapters.mastodon import platform_actions_of
        from arbiter.outbound.webhooks import failing_deliveries

        store = _service(request).store
        return page(
            request,
            who,
            "operations.html",
            section="operations",
            failing=failing_deliveries(store, 100),
            awaiting=platform_actions_of(store, "awaiting", 100),
        )

    # -- files ----------------------------------------------------------------------------

    @router.get("/media/{decision_id}/{kind}/{index}")
    def media(
        request: Request,
        who: Reader,
        decision_id: int,
        kind: Literal["posted", "reference", "benign"],
        index: int,
    ) -> Response:
        store = _service(request).store
        try:
            decision = store.decision(decision_id)
        except StoreError:
            raise ConsoleError(404, "Not found", "No such file.") from None
        found = None
        if kind == "posted":
            post = _post_of(store, decision)
            if 0 <= index < len(post.media) and post.media[index].path:
                found = files.shown(post.media[index].path, console.config.media_roots)
        elif 0 <= index < len(decision.decision.matches):
            evidence = decision.decision.matches[index].media
            source = ""
            if evidence is not None:
                source = (
                    evidence.entry
                    if kind == "reference"
                    else views.benign_source(evidence.suppressed_by)
                )
            if source and not files.hash_list_entry(source):
                found = files.shown(source, console.config.reference_roots)
        if found is None:
            raise ConsoleError(404, "Not found", "No such file under the console's media roots.")
        return FileResponse(
            found.path,
            media_type=found.media_type,
            headers={
                "Cache-Control": "private, max-age=300",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Content-Disposition": "inline",
            },
        )

    @router.get("/static/{name}")
    def static(_: Public, name: str) -> Response:
        if name not in STATIC:
            raise ConsoleError(404, "Not found", "No such file.")
        return FileResponse(
            HERE / "static" / name,
            media_type=STATIC[name],
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    return router


# -- helpers ------------------------------------------------------------------------------


def _local(target: str) -> str:
    """`target` if it is a page of the console (no open redirect), else ""."""
    if not target.startswith(PREFIX + "/") or target.startswith("//") or "\\" in target:
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return ""
    return target


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _redirect(target: str, done: str, ref: int) -> RedirectResponse:
    return RedirectResponse(f"{target}?done={done}&ref={ref}", status_code=303)


def _reason_problem(note: str) -> str:
    if not note:
        return "a reason in words is required"
    if len(note) > MAX_REASON:
        return f"the reason is too long (at most {MAX_REASON} characters)"
    return ""


def _post_of(store: Store, decision: StoredDecision) -> Post:
    if decision.subject != "post":
        return Post(id=decision.decision.post_id)
    try:
        return store.post(decision.decision.post_id)
    except StoreError:
        return Post(id=decision.decision.post_id)


def _appeal_for(store: Store, decision_id: int) -> int | None:
    found = views.appeals_of(store, [decision_id])
    open_ = [a for a in found if a.status == "open"]
    chosen = open_[-1] if open_ else (found[-1] if found else None)
    return int(chosen.id) if chosen is not None else None


def _escalations(store: Store) -> dict[int, views.Escalation]:
    with reading(store.engine) as connection:
        return views.escalations(connection)


def _lesser_actions(decision: StoredDecision) -> tuple[str, ...]:
    """What an overturned appeal may put instead: allow, or a less severe action."""
    rank = views.SEVERITY.get(decision.decision.action, 9)
    lesser = [a for a in HUMAN_ACTIONS if a != "allow" and views.SEVERITY[a] > rank]
    return ("allow", *lesser)
