"""Inserting many rows at once, inside the caller's transaction.

On PostgreSQL the rows go in with one `COPY … FROM STDIN` (psycopg 3's `write_row`,
which escapes text, tabs, newlines and backslashes for COPY's text format and writes
None as NULL): no statement per row, no parameters to bind. On SQLite the rows go to
the driver's `executemany` as tuples, past SQLAlchemy's per-row parameter processing.
Any other database gets SQLAlchemy's executemany.

Neither path reads anything back: a caller that needs the ids the database gave the
rows reads them afterwards (the store does so under the audit chain's locked head,
which keeps writers in line).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, exc, insert


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert `rows` (mappings with the same keys, the columns to fill) into `table`."""
    if not rows:
        return 0
    columns = tuple(rows[0])
    if len(columns) == 1:
        (column,) = columns
        return insert_tuples(connection, table, columns, ((row[column],) for row in rows))
    return insert_tuples(connection, table, columns, map(itemgetter(*columns), rows))


def insert_tuples(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    values: Iterable[Sequence[Any]],
) -> int:
    """Insert rows given as sequences of values in the order of `columns`; the rows written."""
    for column in columns:
        if column not in table.c:
            raise ValueError(f"{table.name} has no column {column!r}")
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    target = f"{dialect.identifier_preparer.format_table(table)} ({', '.join(map(quote, columns))})"
    if dialect.name == "postgresql":
        return _copy(connection, f"COPY {target} FROM STDIN", values)
    if dialect.name == "sqlite":
        rows = values if isinstance(values, list) else list(values)
        if rows:
            marks = ", ".join("?" * len(columns))
            connection.exec_driver_sql(f"INSERT INTO {target} VALUES ({marks})", rows)
        return len(rows)
    dicts = [dict(zip(columns, row, strict=True)) for row in values]
    if dicts:
        connection.execute(insert(table), dicts)
    return len(dicts)


def fetch_all(connection: Connection, query: str) -> list[tuple[Any, ...]]:
    """Rows of a query without parameters, as the driver's tuples, in the caller's transaction.

    For the thousands of rows a batch reads back, SQLAlchemy's result rows cost more than
    the query: this skips them. Only for columns that need no conversion (text, integers).
    """
    with _driver_cursor(connection, query) as cursor:
        cursor.execute(query)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _copy(connection: Connection, statement: str, values: Iterable[Sequence[Any]]) -> int:
    """COPY on the connection's own psycopg connection: the same transaction as the caller's."""
    count = 0
    with _driver_cursor(connection, statement) as cursor, cursor.copy(statement) as copy:
        write = copy.write_row
        for row in values:
            write(row)
            count += 1
    return count


@contextmanager
def _driver_cursor(connection: Connection, statement: str) -> Iterator[Any]:
    """A cursor of the DBAPI connection under `connection`; its errors raised as SQLAlchemy's
    (IntegrityError, OperationalError, …), as if the statement had gone through it."""
    if not connection.in_transaction():
        connection.begin()  # as SQLAlchemy's autobegin would: the caller commits or not
    driver: Any = connection.connection.driver_connection
    try:
        cursor = driver.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
    except connection.dialect.loaded_dbapi.Error as error:
        raise exc.DBAPIError.instance(
            statement,
            None,
            error,
            connection.dialect.loaded_dbapi.Error,
            dialect=connection.dialect,
        ) from error
