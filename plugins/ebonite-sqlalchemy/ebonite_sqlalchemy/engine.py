"""Making the engine for a database URL, and turning driver errors into ebonite errors.

Every message names the database by its URL with its secrets masked (:func:`mask_url`). Engines are disposed in a forked
child (without closing the parent's connections), as SQLAlchemy's pooling documentation asks.
"""

from __future__ import annotations

import os
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, exc, make_url
from sqlalchemy.pool import StaticPool

from ebonite_core.errors import ConfigError, RepositoryError
from ebonite_core.masking import MASK, is_secret_name, mask, remember

SQLITE_BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for another process's write lock

# Kinds of constraint violation, worked out from the driver's error (see constraint_violation).
UNIQUE = "unique"
FOREIGN_KEY = "foreign key"

_POSTGRESQL_STATES = {"23505": UNIQUE, "23503": FOREIGN_KEY}
# MySQL/MariaDB error numbers: duplicate entry; cannot delete a parent row / add a child row.
_MYSQL_CODES = {1062: UNIQUE, 1586: UNIQUE, 1451: FOREIGN_KEY, 1452: FOREIGN_KEY, 1216: FOREIGN_KEY, 1217: FOREIGN_KEY}
_SQLITE_NAMES = {
    "SQLITE_CONSTRAINT_UNIQUE": UNIQUE,
    "SQLITE_CONSTRAINT_PRIMARYKEY": UNIQUE,
    "SQLITE_CONSTRAINT_FOREIGNKEY": FOREIGN_KEY,
}


def hide_url_secrets(text: str, hide: Callable[[str, str], str]) -> str:
    """``text``, a database URL, with its secrets replaced by ``hide(label, secret)``, found by SQLAlchemy's own
    parser (``make_url``): the password (``password``), however the URL spells it (``ml:s3/cr#t@host`` is
    SQLAlchemy's password ``s3/cr#t``), and query parameters named like a secret (``query_password``:
    libpq takes ``?password=...``). What ``hide`` returns is put in verbatim: ``***`` to show the URL,
    ``${VARIABLE}`` to save it. A URL with no secret comes back as it was.

    Text that SQLAlchemy cannot parse is hidden from the first ``:`` after the scheme up to the last ``@``:
    whatever the mistake, nothing that could be part of a password is shown.
    """
    try:
        url = make_url(text)
    except (exc.ArgumentError, ValueError, TypeError):
        scheme, separator, rest = text.partition("://")
        if not separator:
            scheme, rest = "", text
        user_info, at, host = rest.rpartition("@")
        if not at or ":" not in user_info:
            return text
        user, _, password = user_info.partition(":")
        return f"{scheme}{separator}{user}:{hide('password', password)}@{host}"
    replacements: dict[str, str] = {}

    def placeholder(label: str, secret: str) -> str:
        token = f"EBONITESECRET{uuid.uuid4().hex}"  # letters and digits: rendered verbatim
        replacements[token] = hide(label, secret)
        return token

    if url.password:
        url = url.set(password=placeholder("password", url.password))
    for name, value in url.query.items():
        if is_secret_name(name):
            values = (value,) if isinstance(value, str) else value
            url = url.update_query_dict({name: [placeholder(f"query_{name}", item) for item in values]})
    if not replacements:
        return text
    rendered = url.render_as_string(hide_password=False)
    for token, replacement in replacements.items():
        rendered = rendered.replace(token, replacement)
    return rendered


def mask_url(url: str | URL) -> str:
    """The URL as text with every secret replaced by ``***`` and remembered, so that
    :func:`ebonite_core.masking.mask` hides it wherever else it shows up (a driver's message, a log line)."""
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    return hide_url_secrets(text, _mask_and_remember)


def _mask_and_remember(label: str, secret: str) -> str:
    remember(secret)
    return MASK


def _hide_password(err: BaseException, text: str) -> None:
    """Mask the URL in ``err``'s message too: chained into tracebacks and logs, it must not show a password.

    (SQLAlchemy 2.0 quotes an unparseable URL in its ArgumentError; 2.1 no longer does.)
    """
    masked = mask_url(text)
    if masked != text:
        err.args = tuple(arg.replace(text, masked) if isinstance(arg, str) else arg for arg in err.args)


def is_memory_sqlite(url: URL) -> bool:
    """Whether the URL names a private in-memory SQLite database (one per connection)."""
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database or url.query.get("mode") == "memory"


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite enforces foreign keys only when asked, on each connection; the repository relies on them to
    # refuse a task in a missing project and the delete of a project that still has tasks.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def make_engine(db_uri: str | URL, engine_kwargs: dict[str, Any]) -> tuple[Engine, str]:
    """An engine for ``db_uri`` and the URL to show in messages; :class:`RepositoryError` if impossible.

    Nothing connects yet. SQLite gets foreign keys on and a busy timeout; ``sqlite://`` (in memory) gets a
    single shared connection (``StaticPool``), since every new connection would be a new, empty database.
    A database server gets ``pool_pre_ping=True`` unless the caller says otherwise: a pooled connection
    that died with a server restart, a failover or an idle timeout is replaced before use, instead of
    failing the first operation after the server came back.
    """
    try:
        url = make_url(db_uri)
    except (exc.ArgumentError, ValueError, TypeError) as err:
        _hide_password(err, str(db_uri))
        raise RepositoryError(f"Malformed database URL {mask_url(str(db_uri))!r}: {err}") from err
    shown = mask_url(url)
    if url.drivername.partition("+")[0] == "postgres":
        # The scheme Heroku and libpq print; SQLAlchemy knows the dialect as "postgresql" only.
        raise ConfigError(
            f"Database URL {shown!r}: SQLAlchemy does not know the scheme 'postgres://'. Write "
            f"'postgresql+psycopg://...' (psycopg 3: pip install 'ebonite-sqlalchemy[postgresql]')."
        )
    kwargs = dict(engine_kwargs)
    if url.get_backend_name() == "sqlite":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT)
        if is_memory_sqlite(url):
            kwargs.setdefault("poolclass", StaticPool)
            connect_args.setdefault("check_same_thread", False)
        kwargs["connect_args"] = connect_args
    else:
        kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = create_engine(url, **kwargs)
    except ImportError as err:
        raise RepositoryError(
            f"Cannot use {shown}: its database driver is not installed ({err}). For PostgreSQL install "
            "psycopg and write postgresql+psycopg://...; for MariaDB/MySQL install PyMySQL and write "
            "mysql+pymysql://... (pip install 'ebonite-sqlalchemy[postgresql]' or '[mysql]')."
        ) from err
    except (exc.ArgumentError, TypeError, ValueError) as err:  # unknown dialect, bad engine arguments
        raise RepositoryError(f"Cannot create an engine for {shown}: {err}") from err
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    if not is_memory_sqlite(url):
        # An in-memory database lives in its one connection: a forked child keeps its private copy.
        _FORK_SENSITIVE.add(engine)
    return engine, shown


@contextmanager
def database_errors(shown: str) -> Iterator[None]:
    """Turn connection and other driver failures into :class:`RepositoryError` naming the database."""
    try:
        yield
    except exc.IntegrityError:
        raise  # the caller knows which constraint it risked
    except exc.DBAPIError as err:
        # A server that cannot be reached raises OperationalError; so does SQLite for a local file that is
        # locked or on a full disk, where "reach" would send the user looking for a network problem.
        unreachable = isinstance(err, (exc.OperationalError, exc.InterfaceError)) and not shown.startswith("sqlite")
        action = "reach" if unreachable else "use"
        raise RepositoryError(f"Cannot {action} the metadata database {shown}: {mask(str(err.orig))}") from err
    except exc.SQLAlchemyError as err:
        raise RepositoryError(f"Metadata database {shown} failed: {mask(str(err))}") from err


def constraint_violation(err: exc.IntegrityError) -> str | None:
    """:data:`UNIQUE`, :data:`FOREIGN_KEY` or ``None``: which kind of constraint the statement broke.

    Read from the driver's error code (psycopg and psycopg2 SQLSTATE, MySQL error numbers, sqlite3 error
    names) and, for other drivers, from the message.
    """
    orig = err.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in _POSTGRESQL_STATES:
        return _POSTGRESQL_STATES[state]
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_CODES:
        return _MYSQL_CODES[args[0]]
    name = getattr(orig, "sqlite_errorname", None)
    if name in _SQLITE_NAMES:
        return _SQLITE_NAMES[name]
    text = str(orig).lower()
    if "foreign key" in text:
        return FOREIGN_KEY
    if "unique" in text or "duplicate" in text:
        return UNIQUE
    return None


def is_deadlock(err: exc.DBAPIError) -> bool:
    """Whether the database rolled the transaction back to break a deadlock (worth running it again)."""
    orig = err.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in ("40P01", "40001"):  # PostgreSQL: deadlock detected, serialization failure
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] == 1213  # MySQL/MariaDB: deadlock found when trying to get lock


# Engines to dispose in a forked child: pooled connections (sockets, SQLite file handles) must never be
# shared by two processes. dispose(close=False) drops the child's references without closing the parent's.
_FORK_SENSITIVE: weakref.WeakSet[Engine] = weakref.WeakSet()


def _dispose_after_fork() -> None:
    for engine in list(_FORK_SENSITIVE):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):  # not on Windows, where there is no fork
    os.register_at_fork(after_in_child=_dispose_after_fork)
