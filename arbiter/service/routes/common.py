"""What every router shares: the service object, errors, documented responses, decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from arbiter.model import Decision
from arbiter.service.auth import Authenticator
from arbiter.service.deciding import Decider
from arbiter.service.limits import Rate
from arbiter.service.live import LivePolicy
from arbiter.service.metrics import Metrics
from arbiter.service.routes.schemas import MAX_INT, DecisionOut, ErrorOut
from arbiter.store import Store, StoreError
from arbiter.store.records import StoredDecision

DEFAULT_RATE = Rate(per_second=100.0, burst=200.0)


@dataclass(frozen=True, slots=True)
class Settings:
    """The service's limits; `arbiter serve` sets them from its options."""

    max_body_bytes: int = 1_000_000
    max_batch_bytes: int = 16_000_000
    rate: Rate = DEFAULT_RATE  # per key and process; 0/s: no limit
    key_cache_seconds: float = 1.0  # a key revoked elsewhere is refused within this time
    policy_refresh_seconds: float = 1.0  # other workers' policy uploads are followed this fast
    max_pending_batch_posts: int = 100_000


@dataclass(frozen=True, slots=True)
class Service:
    """Everything a route needs, on `app.state.service`."""

    store: Store
    live: LivePolicy
    decider: Decider
    authenticator: Authenticator
    metrics: Metrics
    settings: Settings


async def service(request: Request) -> Service:
    """The dependency that hands a route the service (async: no trip to the threadpool)."""
    found: Service = request.app.state.service
    return found


def actor(role: str, owner: str) -> str:
    """How the audit log names a key's owner acting in a role: `admin:alice`."""
    return f"{role}:{owner}"


# -- errors -------------------------------------------------------------------------------

DESCRIPTIONS = {
    400: "Bad request.",
    401: "No API key, or a malformed, unknown, wrong or revoked one.",
    403: "The key's role may not call this endpoint.",
    404: "Not found.",
    409: "The request conflicts with the record (e.g. already decided).",
    413: "The request body is over the size limit.",
    422: "The request is not valid; `problems` says where and why.",
    429: "Too many requests for this key; retry after `Retry-After` seconds.",
    503: "Not ready: no live policy, or the database is unreachable.",
}
AUTH = (401, 403, 429, 503)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of a route (each an ErrorOut)."""
    return {code: {"model": ErrorOut, "description": DESCRIPTIONS[code]} for code in codes}


def not_found(message: str) -> HTTPException:
    return HTTPException(404, message)


def conflict(message: str) -> HTTPException:
    return HTTPException(409, message)


def refused(error: ValueError) -> HTTPException:
    """A store's refusal: 404 when it names something missing, else 409."""
    message = str(error)
    return not_found(message) if message.startswith("no ") else conflict(message)


# -- decisions ----------------------------------------------------------------------------


def find_decision(store: Store, ref: str) -> StoredDecision:
    """A decision by id or puid, or 404."""
    if ref.isascii() and ref.isdigit():
        number = int(ref)
        if not 1 <= number <= MAX_INT:
            raise not_found(f"no decision {ref}")
        key: int | str = number
    elif ref.isdigit() or len(ref) > 64 or "\x00" in ref:
        raise not_found("no such decision")
    else:
        key = ref
    try:
        return store.decision(key)
    except StoreError as error:
        raise not_found(str(error)) from None


def decision_data(stored: StoredDecision, fresh: Decision | None = None) -> dict[str, Any]:
    """The API's view of a stored decision (with the engine's rule errors, when just made),
    as the dict a route with `response_model=DecisionOut` validates once."""
    data: dict[str, Any] = stored.as_dict()
    if fresh is not None and fresh.rule_errors:
        data["rule_errors"] = [{"rule": r, "error": e} for r, e in fresh.rule_errors]
    return data


def decision_out(stored: StoredDecision, fresh: Decision | None = None) -> DecisionOut:
    """The API's view of a stored decision, as a model (for nesting in other bodies)."""
    return DecisionOut.model_validate(decision_data(stored, fresh))


class ApiError(Exception):
    """An error with a code and, for invalid input, the problems found (ErrorOut)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        problems: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.problems = problems or []
        self.headers = headers
