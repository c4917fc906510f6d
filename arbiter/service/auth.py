"""Who is calling: bearer API keys, one role each, and the `require(*roles)` dependency.

Every route declares who may call it with a dependency made by `require(...)` (or
`public()` for the probes): the dependency authenticates the key (401 when it is
missing, malformed, unknown, wrong or revoked), checks the role (403), spends a
token of the key's rate limit (429) and returns the `Principal`, whose owner the
route records as the actor of whatever it changes.

Roles are least-privilege; none includes another:

- `ingest`    a platform's integration: submits posts, reads decisions, statements
              and notices, relays an author's appeal;
- `moderator` the review queue and appeals (also reads decisions and policies);
- `admin`     policies, API keys, authority orders (and banks); does not moderate;
- `auditor`   reads: the audit log and its verification, decisions, statements,
              appeals, orders, policies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from arbiter.engine import utc_now
from arbiter.service import keys
from arbiter.service.limits import RateLimiter, retry_after

ROLES = keys.ROLES
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An Arbiter API key: `Authorization: Bearer arb_<prefix>_<secret>`.",
)
TOUCH_EVERY = 60.0  # seconds between writes of a key's last_used_at


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as its key says: recorded as the actor of what it changes."""

    owner: str
    role: str
    prefix: str
    key_id: int = 0


class Authenticator:
    """Looks keys up (with a short cache), notes their use, and holds their rate limits."""

    def __init__(
        self,
        engine: Engine,
        limiter: RateLimiter,
        cache_seconds: float = 1.0,
        writing: threading.RLock | None = None,
    ):
        self.engine = engine
        self.writing = writing or threading.RLock()
        self.limiter = limiter
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, keys.ApiKey | None]] = {}
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()

    async def authenticate(self, presented: str) -> keys.ApiKey | None:
        """The active key `presented` is, or None."""
        now = time.monotonic()
        cached = self._cache.get(presented)
        if cached is not None and now - cached[0] < self.cache_seconds:
            key = cached[1]
        else:
            key = await run_in_threadpool(keys.lookup, self.engine, presented)
            if self.cache_seconds > 0 and keys.parse_key(presented) is not None:
                with self._lock:
                    if len(self._cache) > 10_000:  # a flood of made-up keys must not grow it
                        self._cache.clear()
                    self._cache[presented] = (now, key)
        if key is not None and now - self._touched.get(key.id, -TOUCH_EVERY) >= TOUCH_EVERY:
            self._touched[key.id] = now
            await run_in_threadpool(self._touch, key.id)
        return key

    def _touch(self, key_id: int) -> None:
        with self.writing:
            keys.touch(self.engine, key_id, utc_now())

    def forget(self, prefix: str | None = None) -> None:
        """Drop cached lookups (all, or those of one key): a revocation here takes effect now."""
        with self._lock:
            if prefix is None:
                self._cache.clear()
            else:
                for presented in [k for k in self._cache if k.startswith(f"arb_{prefix}_")]:
                    del self._cache[presented]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer realm="arbiter"'})


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


class Requirement:
    """The dependency a route declares its roles with; `roles` empty means public."""

    def __init__(self, roles: tuple[str, ...]):
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown role(s): {', '.join(unknown)}")
        self.roles = roles
        self.__name__ = f"require_{'_'.join(roles) or 'public'}"

    def __repr__(self) -> str:
        return f"require{self.roles!r}"

    @property
    def public(self) -> bool:
        return not self.roles


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets in a key with one of `roles` and returns its Principal."""
    requirement = Requirement(roles)

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("an API key is required: Authorization: Bearer <key>")
        authenticator: Authenticator = request.app.state.authenticator
        key = await authenticator.authenticate(credentials.credentials)
        if key is None:
            raise _unauthorized("the API key is not valid (malformed, unknown, wrong or revoked)")
        if key.role not in roles:
            raise HTTPException(
                403,
                f"{_article(key.role)} {key.role} key may not do this; it takes a key with "
                f"the role {' or '.join(roles)}",
            )
        wait = authenticator.limiter.take(key.prefix)
        if wait > 0:
            raise HTTPException(
                429,
                "too many requests for this key; slow down",
                headers={"Retry-After": retry_after(wait)},
            )
        principal = Principal(key.owner, key.role, key.prefix, key.id)
        request.state.principal = principal
        return principal

    dependency.requirement = requirement  # type: ignore[attr-defined]
    return dependency


def public() -> Callable[..., Awaitable[None]]:
    """The dependency of a route anyone may call (the health probes, the metrics)."""

    async def dependency() -> None:
        return None

    dependency.requirement = Requirement(())  # type: ignore[attr-defined]
    return dependency


def requirement_of(call: object) -> Requirement | None:
    """The Requirement a dependency callable declares, if it is one of ours."""
    found = getattr(call, "requirement", None)
    return found if isinstance(found, Requirement) else None


def route_requirement(route: object) -> Requirement | None:
    """The roles an APIRoute declares through its dependencies (None: it declares none)."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    found: Requirement | None = None
    while stack:
        dep = stack.pop()
        requirement = requirement_of(dep.call)
        if requirement is not None:
            if found is not None and found.roles != requirement.roles:
                raise ValueError(f"{route}: declares roles twice ({found!r}, {requirement!r})")
            found = requirement
        stack.extend(dep.dependencies)
    return found
