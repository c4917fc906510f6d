"""The HTTP API's app factory: `create_app(store, engine)` returns a FastAPI app.

`arbiter serve` builds one per worker process (`app_from_environment`); tests build
them directly. Other parts of the service (the console, webhooks, banks) pass their
own routers: `create_app(store, engine, routers=[...])`; each of their routes must
declare its roles with `require(...)` (tests/service/test_auth.py fails otherwise).
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from arbiter.engine import Engine
from arbiter.service import keys
from arbiter.service.auth import Authenticator, route_requirement
from arbiter.service.deciding import Decider
from arbiter.service.limits import BodyLimit, Rate, RateLimiter
from arbiter.service.live import LivePolicy
from arbiter.service.metrics import Metrics, MetricsMiddleware
from arbiter.service.routes import ROUTERS
from arbiter.service.routes.common import ApiError, Service, Settings
from arbiter.service.routes.schemas import COUNTRY, NOT_BLANK
from arbiter.store import Store

CONFIG_VARIABLE = "ARBITER_SERVE_CONFIG"  # how `arbiter serve` hands its options to workers
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}
DESCRIPTION = """\
Arbiter decides posts against a policy and keeps the record: every decision with its
evidence, the review queue, appeals, authority orders and a tamper-evident audit log.

**Authentication.** Every `/v1` endpoint takes an API key:
`Authorization: Bearer arb_<prefix>_<secret>` (create one with
`arbiter keys create --owner NAME --role ROLE`, or `POST /v1/keys`). A key has one role,
and each endpoint lists the roles it admits (`x-roles`); roles do not include one
another — an admin does not moderate:

| role | may |
|---|---|
| `ingest` | submit posts, read decisions, statements and notices, relay an author's appeal |
| `moderator` | work the review queue and decide appeals; read decisions and policies |
| `admin` | upload and read policies, manage API keys, record authority orders |
| `auditor` | read the audit log and verify it, decisions, statements, appeals, orders |

Whatever a call changes is logged in the audit chain with the key's owner as the
actor (`moderator:alice`, `admin:ops`, `ingest:mastodon`).

**Errors** are JSON: `{"error": code, "message": text, "problems": [...]}`; invalid input
is a 4xx naming where and why. Bodies over the size limit get 413; a key over its
rate limit gets 429 with `Retry-After`.
"""
TAGS = [
    {"name": "posts and decisions", "description": "Posts in, decisions out."},
    {"name": "reviews and appeals", "description": "People deciding."},
    {"name": "administration", "description": "Policies, orders, keys."},
    {"name": "audit", "description": "The tamper-evident log."},
    {"name": "operations", "description": "Probes and metrics (no key needed)."},
]


def arbiter_version() -> str:
    try:
        return version("arbiter-moderation")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def create_app(
    store: Store,
    engine: Engine | None = None,
    *,
    settings: Settings | None = None,
    routers: Sequence[APIRouter] = (),
    owns_store: bool = False,
    policy_id: str | None = None,
) -> FastAPI:
    """The API over `store`, deciding with `engine`'s policy, which is made live. Without
    one it follows the store's live version of `policy_id` (or the store's only live
    policy, or the first one uploaded)."""
    settings = settings or Settings()
    live = LivePolicy(store, engine, settings.policy_refresh_seconds, policy_id)
    deciders: list[Decider] = []
    metrics = Metrics(store, extra=lambda: {"batch_posts_pending": float(deciders[0].pending)})
    decider = Decider(store, metrics.decided, settings.max_pending_batch_posts)
    deciders.append(decider)
    authenticator = Authenticator(
        store.engine, RateLimiter(settings.rate), settings.key_cache_seconds, decider.writing
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        decider.open()
        if live.loaded().live is None:  # compile the live policy before the first request
            await run_in_threadpool(live.refresh, True)
        live.start()
        yield
        live.stop()
        decider.close()
        if owns_store:
            store.close()

    app = FastAPI(
        title="Arbiter",
        version=arbiter_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.service = Service(store, live, decider, authenticator, metrics, settings)
    app.state.authenticator = authenticator
    for router in (*ROUTERS, *routers):
        app.include_router(router)
    _handle_errors(app)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        limits={"/v1/posts:batch": settings.max_batch_bytes},
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


# -- errors -------------------------------------------------------------------------------


def _error(
    status: int,
    message: str,
    problems: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> JSONResponse:
    body = {
        "error": code or ERROR_CODES.get(status, "error"),
        "message": _printable(message),
        "problems": [
            {k: _printable(v) if isinstance(v, str) else v for k, v in p.items()}
            for p in problems or []
        ],
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _printable(text: str) -> str:
    """An error message as UTF-8 can carry it: bad input quoted back may hold lone surrogates."""
    return _SURROGATES.sub("\ufffd", text)


_SURROGATES = re.compile("[\ud800-\udfff]")


PATTERN_WORDS = {
    NOT_BLANK: "must not be blank",
    keys.OWNER: "must be printable characters, not all blank",
    COUNTRY: "must be a two-letter country code (ISO 3166-1), e.g. DE",
}
_TYPE_TAGS = frozenset(
    {"str", "int", "float", "bool", "none", "list", "dict", "constrained-str", "constrained-int"}
)


def _location(loc: Sequence[Any]) -> str:
    """`body.posts.0.id` from pydantic's location, without its union-member tags."""
    parts = [
        str(p)
        for p in loc
        if not (isinstance(p, str) and (p in _TYPE_TAGS or "[" in p or "(" in p))
    ]
    return ".".join(parts)


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "json_invalid":
        return f"not valid JSON: {context.get('error', 'cannot be decoded')}"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        return PATTERN_WORDS.get(pattern, f"must match the pattern {pattern}")
    if kind in ("model_attributes_type", "dict_type") and tuple(error.get("loc", ())) == ("body",):
        return "must be a JSON object (sent as Content-Type: application/json)"
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")


def validation_problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Readable problems from FastAPI's validation errors: where, and what is wrong."""
    merged: dict[str, list[str]] = {}
    for error in errors:
        loc = tuple(error.get("loc", ()))
        message = _message(error)
        if error.get("type") == "json_invalid":  # its location is (body, character offset)
            if len(loc) > 1:
                message += f" (at character {loc[1]})"
            loc = loc[:1]
        location = _location(loc)
        messages = merged.setdefault(location, [])
        if message not in messages:
            messages.append(message)
    return [
        {"location": location, "message": " or ".join(messages)}
        for location, messages in merged.items()
    ]


def _handle_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = validation_problems(error.errors())
        first = problems[0] if problems else {"location": "", "message": "is not valid"}
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        where = f"{first['location']}: " if first["location"] else ""
        return _error(422, f"the request is not valid: {where}{first['message']}{more}", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400 and error.detail == "There was an error parsing the body":
            # FastAPI's answer to a body it cannot decode (e.g. not UTF-8): invalid input.
            problem = {"location": "body", "message": "not valid JSON: it cannot be decoded"}
            return _error(422, "the request is not valid: body: not valid JSON", [problem])
        headers = dict(error.headers) if error.headers else None
        return _error(error.status_code, str(error.detail), headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return _error(error.status, error.message, error.problems, error.headers, error.error)

    @app.exception_handler(OperationalError)
    async def database_down(_: Request, error: OperationalError) -> JSONResponse:
        return _error(
            503,
            f"the database does not answer: {error.orig}",
            headers={"Retry-After": "5"},
        )


# -- the OpenAPI document -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation of the app: method, path template and the route (or its context)."""

    method: str
    path: str
    route: Any


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every API operation of the app, routers included (FastAPI resolves those lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers: the routes are flat
        contexts: list[Any] = [r for r in app.routes if isinstance(r, APIRoute)]
    else:
        contexts = [
            c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)
        ]
    return [
        Endpoint(method, context.path_format, context)
        for context in contexts
        for method in sorted(context.methods or ())
    ]


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, each operation carrying its roles (`x-roles`)."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    for endpoint in endpoints(app):
        requirement = route_requirement(endpoint.route)
        operation = schema["paths"].get(endpoint.path, {}).get(endpoint.method.lower())
        if operation is None:  # a route left out of the document (the console's pages)
            continue
        if requirement is not None:
            operation["x-roles"] = list(requirement.roles)
            if requirement.public:
                operation["security"] = []
                roles = "none (no key needed)"
            else:
                roles = ", ".join(f"`{r}`" for r in requirement.roles)
            text = operation.get("description", "")
            operation["description"] = f"**Roles:** {roles}.\n\n{text}".strip()
    return schema


def openapi_json() -> str:
    """The document as written to openapi.json at the repository's root."""
    app = create_app(Store(create_engine("sqlite://")), None, settings=Settings())
    return json.dumps(openapi_document(app), indent=2, ensure_ascii=False) + "\n"


# -- for `arbiter serve`'s worker processes -----------------------------------------------


def app_from_environment() -> FastAPI:
    """The app as `arbiter serve` configured it ($ARBITER_SERVE_CONFIG, JSON)."""
    config = json.loads(os.environ[CONFIG_VARIABLE])
    store = Store.open(config["db"])
    settings = Settings(
        max_body_bytes=int(config["max_body_bytes"]),
        max_batch_bytes=int(config["max_batch_bytes"]),
        rate=Rate(float(config["rate"]), float(config["burst"])),
        key_cache_seconds=float(config["key_cache_seconds"]),
        policy_refresh_seconds=float(config["policy_refresh_seconds"]),
    )
    from arbiter.console import ConsoleConfig, console_router  # the moderator console

    console = console_router(ConsoleConfig.from_environment())
    # `arbiter serve` made its policy live before starting the workers; a worker follows the
    # store (activating it again here would undo an upload a faster worker already took).
    app = create_app(
        store,
        None,
        settings=settings,
        owns_store=True,
        routers=[console],
        policy_id=config["policy"],
    )
    # What is alive now (modules, the compiled policy) lives as long as the process: keep it
    # out of the garbage collector's full passes, which otherwise stall requests.
    gc.collect()
    gc.freeze()
    return app


def write_openapi(path: Path) -> None:
    path.write_text(openapi_json(), encoding="utf-8")
