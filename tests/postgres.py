"""A real PostgreSQL server for the tests: $ARBITER_TEST_DATABASE_URL, or one started here.

Started servers come from the installed binaries (initdb, pg_ctl), listen only on a
Unix socket in a temporary folder, and are stopped when the tests end. Each test
gets its own database, copied from a template that already holds the schema.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from arbiter.store.database import connect, database_url, migrate

TEMPLATE = "arbiter_template"


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        candidates.append(bindir)
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and os.access(Path(folder) / "initdb", os.X_OK):
            return Path(folder)
    return None


class Server:
    """A cluster in a temporary folder; `url(db)` names a database on it."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="arbiter-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.socket.mkdir()
        self.log = self.root / "server.log"
        # initdb refuses to run as root; hand the folder to the postgres account then.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        options = f"-k {self.socket} -c listen_addresses='' -c fsync=off -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket}"

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [*self.as_user, str(self.bindir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr}{result.stdout}{log}")


class Databases:
    """Hands out fresh, migrated databases on one server."""

    def __init__(self, admin_url: str):
        self.admin_url = database_url(admin_url)
        self.admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self._execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        self._execute(f"CREATE DATABASE {TEMPLATE}")
        engine = connect(self._url(TEMPLATE))
        migrate(engine)
        engine.dispose()

    @contextmanager
    def fresh(self) -> Iterator[str]:
        name = f"arbiter_test_{uuid.uuid4().hex[:12]}"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        try:
            yield self._url(name)
        finally:
            self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        self.admin.dispose()

    def _url(self, name: str) -> str:
        return str(sa.make_url(self.admin_url).set(database=name).render_as_string(False))

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(sql)
