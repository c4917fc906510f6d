"""API keys: created once, shown once, stored as a SHA-256 of the whole key, looked up by prefix.

A key reads `arb_<prefix>_<secret>`: the prefix (12 hex digits) is not secret — it is
shown in listings and names the key in the audit log and on revocation — and the
secret is 32 random bytes (43 URL-safe characters). The database holds only the
SHA-256 of the whole key, so a copy of it lets nobody call the service, and the
presented key is compared with `hmac.compare_digest`. Creating and revoking a key are
audit-log events, with whoever did it as the actor.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from arbiter.engine import utc_now
from arbiter.store import audit
from arbiter.store.database import reading
from arbiter.store.schema import api_keys

ROLES = ("ingest", "moderator", "admin", "auditor")
KEY_PREFIX = "arb"
PREFIX_HEX = 12  # 48 bits: enough that two keys never share one, short enough to read out
SECRET_BYTES = 32
# arb_<12 hex>_<43 url-safe base64 characters>
KEY_PATTERN = re.compile(r"^arb_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# Printable, not blank (also the JSON schema's pattern for an owner, hence the \u escapes).
OWNER = r"^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$"
OWNER_PATTERN = re.compile(OWNER)
# Compared against when the prefix is unknown, so both paths cost the same.
_DUMMY_HASH = hashlib.sha256(b"arbiter: no such key").hexdigest()


class KeyRefused(ValueError):
    """A key request refused: an unknown role or prefix, a key already revoked."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as stored (never the secret)."""

    id: int
    prefix: str
    owner: str
    role: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "owner": self.owner,
            "role": self.role,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
        }


def hash_key(key: str) -> str:
    """What the database keeps of a key: SHA-256 of all of it, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key(key: str) -> tuple[str, str] | None:
    """The (prefix, secret) of a well-formed key, else None."""
    match = KEY_PATTERN.match(key)
    return (match.group(1), match.group(2)) if match else None


def check_owner(owner: str) -> str:
    if len(owner) > 200 or not OWNER_PATTERN.match(owner):
        raise KeyRefused("the owner must be 1-200 printable characters, not all blank")
    return owner


def create_key(
    engine: Engine, owner: str, role: str, actor: str, clock: Callable[[], str] = utc_now
) -> tuple[ApiKey, str]:
    """A new key for `owner` with one `role`; returns it and the full key, the only time it
    exists in clear."""
    if role not in ROLES:
        raise KeyRefused(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    owner = check_owner(owner)
    at = clock()
    with engine.begin() as connection:
        while True:
            prefix = secrets.token_hex(PREFIX_HEX // 2)
            taken = connection.execute(
                select(api_keys.c.id).where(api_keys.c.prefix == prefix)
            ).first()
            if taken is None:
                break
        key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        key_id = int(
            connection.execute(
                insert(api_keys)
                .values(
                    prefix=prefix,
                    secret_hash=hash_key(key),
                    owner=owner,
                    role=role,
                    created_at=at,
                )
                .returning(api_keys.c.id)
            ).scalar_one()
        )
        event = audit.Event(
            "api_key",
            actor,
            f"api_key:{prefix}",
            {"action": "created", "owner": owner, "role": role},
        )
        audit.append(connection, [event], at)
    return ApiKey(key_id, prefix, owner, role, at, None, None), key


def revoke_key(
    engine: Engine, prefix: str, actor: str, clock: Callable[[], str] = utc_now
) -> ApiKey:
    """Revoke the key with `prefix`: from now on it is refused (401)."""
    at = clock()
    with engine.begin() as connection:
        row = connection.execute(
            select(api_keys).where(api_keys.c.prefix == prefix).with_for_update()
        ).first()
        if row is None:
            raise KeyRefused(f"no key with prefix {prefix}")
        if row.revoked_at is not None:
            raise KeyRefused(f"key {prefix} was already revoked at {row.revoked_at}")
        connection.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=at))
        event = audit.Event(
            "api_key",
            actor,
            f"api_key:{prefix}",
            {"action": "revoked", "owner": row.owner, "role": row.role},
        )
        audit.append(connection, [event], at)
    return ApiKey(row.id, row.prefix, row.owner, row.role, row.created_at, at, row.last_used_at)


def list_keys(engine: Engine) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included."""
    with reading(engine) as connection:
        rows = connection.execute(select(api_keys).order_by(api_keys.c.id)).all()
    return [_key(row) for row in rows]


def lookup(engine: Engine, presented: str) -> ApiKey | None:
    """The active key `presented` is, or None: malformed, unknown, wrong secret or revoked."""
    parsed = parse_key(presented)
    if parsed is None:
        return None
    with reading(engine) as connection:
        row = connection.execute(select(api_keys).where(api_keys.c.prefix == parsed[0])).first()
    expected = row.secret_hash if row is not None else _DUMMY_HASH
    if not hmac.compare_digest(hash_key(presented), expected) or row is None:
        return None
    key = _key(row)
    return key if key.active else None


def touch(engine: Engine, key_id: int, at: str) -> None:
    """Note when a key was last used (the service does it at most once a minute per key)."""
    with engine.begin() as connection:
        connection.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at))


def _key(row: Any) -> ApiKey:
    return ApiKey(
        row.id, row.prefix, row.owner, row.role, row.created_at, row.revoked_at, row.last_used_at
    )
