"""Schema revisions: create an empty database at the newest revision, refuse a stale or unknown one.

The Alembic migrations ship inside the package (``ebonite_sqlalchemy/migrations``) and are run
programmatically on a connection that holds a migration lock, so that several processes opening one empty
database at once create the schema exactly once:

- PostgreSQL: a transaction-scoped advisory lock (``pg_advisory_xact_lock``); the DDL runs in that
  transaction, so a failed migration leaves nothing behind.
- MySQL/MariaDB: a named lock (``GET_LOCK``) scoped to the database's name. MySQL commits DDL implicitly,
  so a migration that fails halfway must be finished by hand (``python -m ebonite_sqlalchemy upgrade``).
- SQLite: ``BEGIN EXCLUSIVE``, which also makes the migration one transaction.
- Other databases: no lock; if the migration fails because another process got there first, the revision
  is read again and accepted when it is the newest.

The version is recorded in the table ``ebonite_alembic_version``, not Alembic's default, so that the
database may also hold another application's Alembic-managed tables.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

from ebonite_core.errors import MetadataCorruptError, RepositoryError

from .schema import VERSION_TABLE

SCRIPT_LOCATION = "ebonite_sqlalchemy:migrations"
LOCK_TIMEOUT = 300  # seconds a process waits for another one's migration (MySQL/MariaDB's GET_LOCK)
# A fixed 63-bit key for PostgreSQL's advisory lock, derived from a name so it is recognisable in pg_locks.
_ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"ebonite_sqlalchemy.migrate").digest()[:8], "big") >> 1


class SchemaVersionError(MetadataCorruptError):
    """The database's schema revision is not the one this version of ebonite-sqlalchemy works with.

    ``current`` is the database's revision, ``head`` the newest this package ships.
    """

    def __init__(self, message: str, current: str | None, head: str) -> None:
        super().__init__(message)
        self.current = current
        self.head = head


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the packaged migrations, running on ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    """The packaged revisions (read once per process)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this package ships."""
    head = script_directory().get_current_head()
    assert head is not None, "ebonite_sqlalchemy ships no migrations: the package is broken"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` for a database without our tables."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _is_known(revision: str) -> bool:
    try:
        return script_directory().get_revision(revision) is not None
    except CommandError:
        return False


def check_revision(current: str | None, shown: str, upgrade: bool) -> bool:
    """Whether the database needs migrating; :class:`SchemaVersionError` if it may not be used as it is."""
    head = head_revision()
    if current == head:
        return False
    if current is None or (upgrade and _is_known(current)):
        return True
    from . import __version__

    if not _is_known(current):
        raise SchemaVersionError(
            f"The metadata database {shown} is at schema revision {current!r}, which ebonite-sqlalchemy "
            f"{__version__} does not know (its newest revision is {head!r}). It was created or upgraded by a "
            "newer ebonite-sqlalchemy: upgrade this one (pip install -U ebonite-sqlalchemy).",
            current,
            head,
        )
    raise SchemaVersionError(
        f"The metadata database {shown} is at schema revision {current!r}; ebonite-sqlalchemy {__version__} "
        f"needs revision {head!r}. Back the database up, then upgrade it with "
        f"`python -m ebonite_sqlalchemy upgrade '{shown}'` (put the real password in the URL), or open it "
        "once with SQLAlchemyMetaRepository(db_uri, upgrade=True) "
        "(meta_kwargs={'db_uri': ..., 'upgrade': True}).",
        current,
        head,
    )


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction, holding the database's migration lock (see the module docstring)."""
    backend = engine.dialect.name
    if backend in ("mysql", "mariadb"):
        with engine.connect() as connection:
            # Named locks are server-wide: include the database name so that databases do not wait on
            # each other. Names are limited to 64 characters.
            database = connection.execute(text("SELECT DATABASE()")).scalar() or ""
            name = f"ebonite_sqlalchemy:{database}"[:64]
            acquired = connection.execute(
                text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": LOCK_TIMEOUT}
            ).scalar()
            connection.commit()
            if acquired != 1:
                raise RepositoryError(
                    f"Timed out after {LOCK_TIMEOUT} s waiting for another process to migrate the database "
                    f"(MySQL lock {name!r})."
                )
            try:
                with connection.begin():
                    yield connection
            finally:
                connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
                connection.commit()
        return
    with engine.begin() as connection:
        if backend == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        elif backend == "sqlite":
            # The sqlite3 driver would begin a transaction only before the first INSERT; take the write
            # lock now, before reading the revision, so that a second process waits here.
            connection.exec_driver_sql("BEGIN EXCLUSIVE")
        yield connection


def ensure_schema(engine: Engine, shown: str, upgrade: bool = False) -> str:
    """Make the database usable at the newest revision and return it.

    An empty database is created at the newest revision. An older one is upgraded only when ``upgrade``
    is true; otherwise, and for a revision this package does not know, :class:`SchemaVersionError`.
    """
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:  # the usual case: no lock needed
            return head
    try:
        # Decide only under the lock: on MySQL/MariaDB, whose DDL is not transactional, a database being
        # migrated by another process shows its intermediate revisions to readers outside the lock.
        with _migration_lock(engine) as connection:
            if check_revision(current_revision(connection), shown, upgrade):
                command.upgrade(alembic_config(connection), "head")
    except SchemaVersionError:
        raise
    except Exception:
        # Without a lock (other dialects), a concurrent process may have created the schema first.
        if not _reached(engine, head):
            raise
    return head


def _reached(engine: Engine, head: str) -> bool:
    try:
        with engine.connect() as connection:
            return current_revision(connection) == head
    except Exception:  # the caller re-raises the error that matters
        return False
