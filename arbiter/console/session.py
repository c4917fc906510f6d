"""Console sessions: an API key signs in once; a signed cookie carries the session after that.

The cookie holds `<prefix>.<expires>.<nonce>.<mac>`: the key's prefix (not secret: it names
the key in listings and in the audit log), when the session ends (Unix seconds), 16 random
bytes, and an HMAC-SHA256 of the three under a server secret. Nothing else is kept on the
server, so no table and no migration are needed; on every request the key is looked up by
its prefix, and a revoked key (or one whose role may not use the console) ends the session
at once. The full key is never stored anywhere by the console: it is checked at sign-in
(like a bearer key, through the service's Authenticator) and forgotten.

The cookie is HttpOnly, SameSite=Strict, scoped to /console, and Secure when the console is
served over https (uvicorn's `--proxy-headers` makes a TLS-terminating proxy's scheme count).

CSRF: SameSite=Strict is not relied on alone. Every form carries a synchronizer token, the
HMAC of the session's nonce under the same secret (with a different label): it is tied to
the session, differs from one sign-in to the next, cannot be computed without the secret,
and is compared in constant time on every POST. The sign-in form itself is protected the
same way against login CSRF, with the nonce of a short-lived pre-session cookie.

Signing out deletes the cookie and remembers the session's nonce until it would have
expired, so a copy of the cookie is refused from then on (by this process: with several
worker processes, give them one `ARBITER_CONSOLE_SECRET`; a copy replayed to another worker
still ends at its expiry or when the key is revoked).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from arbiter.service import keys
from arbiter.store.database import reading
from arbiter.store.schema import api_keys

SESSION_COOKIE = "arbiter_console"
SIGN_IN_COOKIE = "arbiter_console_sign_in"
COOKIE_PATH = "/console"
SECRET_VARIABLE = "ARBITER_CONSOLE_SECRET"
SESSION_SECONDS = 8 * 3600  # a shift
SIGN_IN_SECONDS = 600  # to fill in the sign-in form
ENTRY_ROLES = ("moderator", "admin", "auditor")  # may open the console
ACTING_ROLES = ("moderator",)  # may decide reviews and appeals (an admin does not moderate)

_TOKEN = re.compile(r"^([0-9a-f]{12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([0-9a-f]{64})$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{22}$")


def secret_from_environment() -> bytes:
    """$ARBITER_CONSOLE_SECRET (shared by all workers), else a random one for this process."""
    given = os.environ.get(SECRET_VARIABLE, "")
    if given:
        if len(given) < 32:
            raise ValueError(f"{SECRET_VARIABLE} must be at least 32 characters")
        return given.encode()
    return secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in console session (as its cookie says; the key is re-checked separately)."""

    prefix: str
    expires: int
    nonce: str


class Sessions:
    """Issues and reads session cookies and CSRF tokens under one secret."""

    def __init__(
        self,
        secret: bytes,
        seconds: int = SESSION_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        if len(secret) < 16:
            raise ValueError("the console's secret must be at least 16 bytes")
        self._secret = secret
        self.seconds = seconds
        self.clock = clock
        self._ended: dict[str, int] = {}  # nonce -> expiry, of sessions signed out
        self._lock = threading.Lock()

    def _mac(self, label: str, message: str) -> str:
        return hmac.new(self._secret, f"{label}\0{message}".encode(), hashlib.sha256).hexdigest()

    # Sessions ---------------------------------------------------------------------------

    def issue(self, prefix: str) -> tuple[str, Session]:
        """A new session for the key with `prefix`: the cookie's value and the session."""
        session = Session(prefix, int(self.clock()) + self.seconds, secrets.token_urlsafe(16))
        body = f"{session.prefix}.{session.expires}.{session.nonce}"
        return f"{body}.{self._mac('session', body)}", session

    def read(self, token: str | None) -> Session | None:
        """The session a cookie carries, or None: malformed, forged, expired or signed out."""
        if not token or len(token) > 200:
            return None
        found = _TOKEN.match(token)
        if found is None:
            return None
        prefix, expires, nonce, mac = found.groups()
        body = f"{prefix}.{expires}.{nonce}"
        if not hmac.compare_digest(self._mac("session", body), mac):
            return None
        if int(expires) <= self.clock():
            return None
        with self._lock:
            if nonce in self._ended:
                return None
        return Session(prefix, int(expires), nonce)

    def end(self, session: Session) -> None:
        """Sign out: this session's cookie is refused from now on (by this process)."""
        now = self.clock()
        with self._lock:
            for nonce in [n for n, until in self._ended.items() if until <= now]:
                del self._ended[nonce]
            self._ended[session.nonce] = session.expires

    # CSRF -------------------------------------------------------------------------------

    def csrf_token(self, session: Session) -> str:
        """The synchronizer token every form of this session carries."""
        return self._mac("csrf", session.nonce)

    def csrf_ok(self, session: Session, presented: str | None) -> bool:
        return _same(self.csrf_token(session), presented)

    def sign_in_nonce(self) -> str:
        """A fresh nonce for the pre-session cookie of the sign-in form."""
        return secrets.token_urlsafe(16)

    def sign_in_token(self, nonce: str) -> str:
        return self._mac("sign-in", nonce)

    def sign_in_ok(self, nonce: str | None, presented: str | None) -> bool:
        if not nonce or not presented or not _NONCE.match(nonce):
            return False
        return _same(self.sign_in_token(nonce), presented)


def _same(expected: str, presented: str | None) -> bool:
    """Constant-time equality of a token and what a form sent (any characters)."""
    if not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))


def key_by_prefix(engine: Engine, prefix: str) -> keys.ApiKey | None:
    """The active key with `prefix`, or None (unknown or revoked)."""
    with reading(engine) as connection:
        row = connection.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()
    if row is None or row.revoked_at is not None:
        return None
    return keys.ApiKey(
        row.id, row.prefix, row.owner, row.role, row.created_at, row.revoked_at, row.last_used_at
    )
