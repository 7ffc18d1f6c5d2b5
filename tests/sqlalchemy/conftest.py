"""Fixtures for the ebonite-sqlalchemy tests: real SQLite files, PostgreSQL and MariaDB servers.

The servers start once per session (on free loopback ports, in temporary directories) and only when a test
needs them; each test gets a fresh, empty database on them. A server that cannot be started skips its
tests, or fails them under ``EBONITE_REQUIRE_SERVICES=1`` (see ``tests/services.py``).

Test modules here are named ``test_sql_*`` and helpers ``sql_*``: pytest imports test directories without
``__init__.py`` by their base names, so names must not clash with other directories' (nor with the
``sqlalchemy`` package, which is why this directory has no ``__init__.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from services import service_unavailable
from sql_helpers import BACKENDS
from sql_servers import Server, ServerUnavailable, start_server


def _server_fixture(kind: str) -> Callable[[pytest.FixtureRequest], Iterator[Server]]:
    def fixture(request: pytest.FixtureRequest) -> Iterator[Server]:
        try:
            server = start_server(kind)
        except ServerUnavailable as err:
            service_unavailable(f"{kind} server unavailable: {err}")
            raise  # not reached: service_unavailable skips or fails
        yield server
        server.stop()

    fixture.__name__ = f"{kind}_server"
    return fixture


postgresql_server = pytest.fixture(scope="session")(_server_fixture("postgresql"))
mariadb_server = pytest.fixture(scope="session")(_server_fixture("mariadb"))


@pytest.fixture
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A factory: ``new_database(backend)`` is the URL of a new, empty database (dropped after the test)."""
    created: list[tuple[Server, str]] = []
    counter = itertools.count(1)

    def make(backend: str) -> str:
        if backend == "sqlite-file":
            return f"sqlite:///{tmp_path / f'registry-{next(counter)}.db'}"
        if backend == "sqlite-memory":
            return "sqlite://"
        server: Server = request.getfixturevalue(f"{backend}_server")
        url = server.create_database()
        created.append((server, url))
        return url

    yield make
    for server, url in created:
        server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The kind of database a test runs on; override with ``@pytest.mark.parametrize("backend", ...)``."""
    return request.param


@pytest.fixture
def db_url(backend: str, new_database: Callable[[str], str]) -> str:
    """A new, empty database of the test's backend."""
    return new_database(backend)


@pytest.fixture
def open_repository() -> Iterator[Callable[..., SQLAlchemyMetaRepository]]:
    """A factory for repositories that are all closed after the test."""
    opened: list[SQLAlchemyMetaRepository] = []

    def make(db_uri: str, **kwargs: object) -> SQLAlchemyMetaRepository:
        repository = SQLAlchemyMetaRepository(db_uri, **kwargs)
        opened.append(repository)
        return repository

    yield make
    for repository in opened:
        repository.close()


@pytest.fixture
def repository(db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository]) -> SQLAlchemyMetaRepository:
    """A repository on a new, empty database of the test's backend."""
    return open_repository(db_url)
