"""Helpers shared by the ebonite-sqlalchemy tests (importable; conftest modules are not)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event

BACKENDS = ["sqlite-file", "sqlite-memory", "postgresql", "mariadb"]
SHARED_BACKENDS = ["sqlite-file", "postgresql", "mariadb"]  # databases several processes can open
SERVER_BACKENDS = ["postgresql", "mariadb"]


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """Record every SQL statement sent to the database through ``engine`` while the block runs."""
    statements: list[str] = []

    def record(connection: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
