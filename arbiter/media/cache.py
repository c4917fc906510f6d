"""Remembering what was computed from a media file, so a second scan does not do it again.

Entries are keyed by (kind, key): the kind names what was computed and how
(e.g. "pdq", "ocr/1/fas+ara+eng"), the key is usually the content's SHA-256.
On disk the cache is one SQLite file in write-ahead-log mode with a busy
timeout, so several scanning processes can share it; each `put` is one
statement, atomic by itself. Each entry carries the format version it was
written with: when CACHE_VERSION (or the version given to `Cache`) changes,
older entries are ignored and then removed.

A cache that cannot be opened or written never fails a scan: it logs a warning
and keeps entries in memory instead.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

CACHE_VERSION = 1
FILE_NAME = "media-cache.sqlite3"
MEMORY_ENTRIES = 65_536  # entries an in-memory cache keeps (least recently used dropped)
BUSY_TIMEOUT_MS = 10_000

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


def default_cache_dir() -> Path:
    """$ARBITER_CACHE_DIR, else $XDG_CACHE_HOME/arbiter, else ~/.cache/arbiter."""
    explicit = os.environ.get("ARBITER_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is to be ignored
        return Path(xdg) / "arbiter"
    return Path.home() / ".cache" / "arbiter"


class Cache:
    """Bytes by (kind, key), in a folder (`path`) or, with None, in memory only."""

    def __init__(self, path: Path | None, *, version: int = CACHE_VERSION):
        self.version = version
        self.path = Path(path) / FILE_NAME if path is not None else None
        self._lock = threading.Lock()
        self._memory: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        if self.path is not None:
            try:
                self._connect()
            except (OSError, sqlite3.Error) as error:
                self._give_up(error)

    # -- the interface ----------------------------------------------------------------

    def get(self, kind: str, key: str) -> bytes | None:
        """The value stored for (kind, key) by this version, or None."""
        with self._lock:
            connection = self._current()
            if connection is None:
                value = self._memory.get((kind, key))
                if value is not None:
                    self._memory.move_to_end((kind, key))
                return value
            try:
                row = connection.execute(
                    "SELECT value FROM entries WHERE kind = ? AND key = ? AND version = ?",
                    (kind, key, self.version),
                ).fetchone()
            except sqlite3.Error as error:
                log.warning("media cache %s: read failed (%s)", self.path, error)
                return None
            return bytes(row[0]) if row is not None else None

    def put(self, kind: str, key: str, value: bytes) -> None:
        """Store `value` for (kind, key), replacing what was there."""
        with self._lock:
            connection = self._current()
            if connection is None:
                self._memory[(kind, key)] = bytes(value)
                self._memory.move_to_end((kind, key))
                while len(self._memory) > MEMORY_ENTRIES:
                    self._memory.popitem(last=False)
                return
            try:
                connection.execute(
                    "INSERT OR REPLACE INTO entries (kind, key, version, value) "
                    "VALUES (?, ?, ?, ?)",
                    (kind, key, self.version, sqlite3.Binary(value)),
                )
            except sqlite3.Error as error:
                log.warning("media cache %s: write failed (%s)", self.path, error)

    def __len__(self) -> int:
        with self._lock:
            connection = self._current()
            if connection is None:
                return len(self._memory)
            row = connection.execute(
                "SELECT count(*) FROM entries WHERE version = ?", (self.version,)
            ).fetchone()
            return int(row[0])

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the file ---------------------------------------------------------------------

    def _current(self) -> sqlite3.Connection | None:
        """This process's connection (a forked worker opens its own), or None: memory."""
        if self.path is None:
            return None
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        try:
            return self._connect()
        except (OSError, sqlite3.Error) as error:
            self._give_up(error)
            return None

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # autocommit: each put is its own transaction
            check_same_thread=False,  # guarded by self._lock
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")  # WAL: durable enough for a cache
            connection.executescript(_SCHEMA)
            self._drop_stale(connection)
        except sqlite3.Error:
            connection.close()
            raise
        self._connection = connection
        self._pid = os.getpid()
        return connection

    def _drop_stale(self, connection: sqlite3.Connection) -> None:
        """Remove entries of other versions, once per version change."""
        row = connection.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
        if row is not None and row[0] == str(self.version):
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("DELETE FROM entries WHERE version != ?", (self.version,))
            connection.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('version', ?)",
                (str(self.version),),
            )
            connection.execute("COMMIT")
        except sqlite3.Error:
            connection.execute("ROLLBACK")
            raise

    def _give_up(self, error: BaseException) -> None:
        log.warning("media cache %s unusable (%s); keeping results in memory", self.path, error)
        self.path = None
        self._connection = None
