"""The Alembic migrations build exactly the schema the code describes, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from arbiter.store import Store
from arbiter.store.database import current_revision, downgrade, head_revision, migrate
from arbiter.store.schema import metadata


def test_the_migrated_schema_is_the_declared_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
    assert current_revision(store.engine) == head_revision()


def test_migrations_go_down_and_up_again(store: Store) -> None:
    downgrade(store.engine, "base")
    assert current_revision(store.engine) is None
    migrate(store.engine)
    assert current_revision(store.engine) == head_revision()
    assert store.verify_audit().ok  # the genesis head row is back
