"""Helpers shared by the ebonite-sqlalchemy tests (importable; conftest modules are not)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from ebonite_sqlalchemy.schema import models
from sqlalchemy import Engine, create_engine, event, update
from sqlalchemy.pool import NullPool

from ebonite_core import MetadataRepository, Model

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


def empty_the_model_document(repository: MetadataRepository, model: Model) -> None:
    """What a hand edit with a SQL shell can do: the model's JSON document emptied (the contract's
    ``damage_model_record``; the test server's damage route uses it too)."""
    assert isinstance(repository, SQLAlchemyMetaRepository) and model.id is not None
    with repository.engine.begin() as connection:
        connection.execute(update(models).where(models.c.id == int(model.id)).values(data={}))


class RepositoryFactory:
    """A picklable callable that opens a new repository on one database, for the contract's reopen and
    multi-process tests; :meth:`close` closes what it opened in this process."""

    def __init__(self, db_uri: str) -> None:
        self.db_uri = db_uri
        self._opened: list[SQLAlchemyMetaRepository] = []

    def __call__(self) -> SQLAlchemyMetaRepository:
        repository = SQLAlchemyMetaRepository(self.db_uri)
        self._opened.append(repository)
        return repository

    def __getstate__(self) -> dict[str, Any]:
        return {"db_uri": self.db_uri}  # a child process opens its own repositories

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["db_uri"])  # type: ignore[misc]

    def close(self) -> None:
        for repository in self._opened:
            repository.close()


def migrate_to(db_url: str, revision: str) -> None:
    """Bring a database to ``revision`` with the packaged migrations, without the repository's checks."""
    from alembic import command
    from ebonite_sqlalchemy.migrate import alembic_config

    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()
