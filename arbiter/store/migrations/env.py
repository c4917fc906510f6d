"""Alembic environment: runs on the connection `arbiter.store.database.migrate` hands it."""

from __future__ import annotations

from alembic import context

from arbiter.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `arbiter db upgrade` or arbiter.store.database.migrate")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
