"""Bad input gives a clear RepositoryError naming the database with its password masked, chained to the
driver's error; and the repository refuses use after close."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from sql_helpers import SERVER_BACKENDS
from sql_servers import Server, free_port
from sqlalchemy import exc

from ebonite_core import ConfigError, Ebonite, Project, RepositoryError

SECRET = "n0t-the-Password"


def assert_clear(error: RepositoryError, masked_url: str) -> None:
    message = str(error)
    assert masked_url in message, message
    assert SECRET not in message
    assert error.__cause__ is not None, "the driver's error must be chained"
    assert SECRET not in str(error.__cause__)


def _server(request: pytest.FixtureRequest, backend: str) -> Server:
    return request.getfixturevalue(f"{backend}_server")


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "mysql+pymysql"])
def test_unreachable_database(driver: str) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(RepositoryError, match="Cannot reach") as raised:
        SQLAlchemyMetaRepository(f"{driver}://someone:{SECRET}@127.0.0.1:{port}/registry")
    assert_clear(raised.value, f"{driver}://someone:***@127.0.0.1:{port}/registry")
    assert isinstance(raised.value.__cause__, exc.OperationalError)


@pytest.mark.parametrize("backend", SERVER_BACKENDS)
def test_wrong_password(request: pytest.FixtureRequest, backend: str) -> None:
    server = _server(request, backend)
    url = server.url(server.admin_database, password=SECRET)
    with pytest.raises(RepositoryError, match="Cannot reach") as raised:
        SQLAlchemyMetaRepository(url)
    assert_clear(raised.value, url.replace(SECRET, "***"))
    assert "password" in str(raised.value).lower() or "denied" in str(raised.value).lower()


@pytest.mark.parametrize("backend", SERVER_BACKENDS)
def test_missing_database(request: pytest.FixtureRequest, backend: str) -> None:
    server = _server(request, backend)
    url = server.url("no_such_database")
    with pytest.raises(RepositoryError) as raised:
        SQLAlchemyMetaRepository(url)
    assert "no_such_database" in str(raised.value) and "***" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://someone:{secret}@127.0.0.1:notaport/db", "someone:***@127.0.0.1:notaport/db"),
        ("this is not a URL, someone:{secret}@host", "this is not a URL"),
        ("nosuchdialect://someone:{secret}@127.0.0.1/db", "nosuchdialect://someone:***@127.0.0.1/db"),
        ("postgresql+nosuchdriver://someone:{secret}@127.0.0.1/db", "postgresql+nosuchdriver://someone:***@"),
    ],
)
def test_malformed_urls(url: str, shown: str) -> None:
    with pytest.raises(RepositoryError) as raised:
        SQLAlchemyMetaRepository(url.format(secret=SECRET))
    assert_clear(raised.value, shown)


def test_a_driver_that_is_not_installed_is_named() -> None:
    assert importlib.util.find_spec("pg8000") is None, "this test needs a PostgreSQL driver that is not installed"
    with pytest.raises(RepositoryError, match="driver is not installed") as raised:
        SQLAlchemyMetaRepository(f"postgresql+pg8000://someone:{SECRET}@127.0.0.1/db")
    assert_clear(raised.value, "postgresql+pg8000://someone:***@127.0.0.1/db")
    assert "psycopg" in str(raised.value)


def test_a_postgres_scheme_says_what_to_write() -> None:
    with pytest.raises(ConfigError) as raised:
        SQLAlchemyMetaRepository(f"postgres://someone:{SECRET}@127.0.0.1/db")
    assert "Write 'postgresql+psycopg://...'" in str(raised.value)
    assert "postgres://someone:***@127.0.0.1/db" in str(raised.value) and SECRET not in str(raised.value)


def test_a_mistyped_option_names_db_uri(tmp_path: Path) -> None:
    """The repository passes unknown options on to create_engine, yet ``uri`` is taken for ``db_uri``."""
    with pytest.raises(ConfigError) as raised:
        Ebonite.custom_client("sqlalchemy", "inmemory", meta_kwargs={"uri": f"sqlite:///{tmp_path / 'db'}"})
    assert "'uri' (did you mean 'db_uri'?) and needs the option 'db_uri'" in str(raised.value)
    assert "metadata repository type 'sqlalchemy'" in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_bad_engine_arguments_are_a_repository_error(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="Cannot create an engine"):
        SQLAlchemyMetaRepository(f"sqlite:///{tmp_path / 'db'}", no_such_engine_option=1)


def test_errors_reach_the_client_unchanged(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(RepositoryError):
        Ebonite.custom_client(
            "sqlalchemy", "inmemory", meta_kwargs={"db_uri": f"postgresql+psycopg://u:{SECRET}@127.0.0.1:{port}/x"}
        )


def test_a_closed_repository_refuses_to_work(db_url: str, open_repository: Callable) -> None:
    repository = open_repository(db_url)
    repository.create_project(Project("p"))
    repository.close()
    with pytest.raises(RepositoryError, match="closed"):
        repository.get_projects()
    with pytest.raises(RepositoryError, match="closed"):
        repository.create_project(Project("q"))


def test_a_database_that_goes_away_gives_repository_errors(
    request: pytest.FixtureRequest, open_repository: Callable
) -> None:
    """Dropping the database under an open repository: operations fail with RepositoryError, not a driver error."""
    server = _server(request, "postgresql")
    url = server.create_database()
    repository = open_repository(url)
    repository.create_project(Project("p"))
    server.drop_database(url)  # FORCE: terminates the repository's pooled connection
    with pytest.raises(RepositoryError, match="Cannot reach"):
        repository.get_projects()
    with pytest.raises(RepositoryError):
        repository.create_project(Project("q"))


def test_author_names_longer_than_the_column_are_refused(repository: SQLAlchemyMetaRepository) -> None:
    with pytest.raises(ValueError, match="author"):
        repository.create_project(Project("p", author="x" * 256))
    assert repository.get_projects() == []


def test_a_url_quoted_inside_a_parse_error_is_masked_there_too() -> None:
    """SQLAlchemy 2.0 quotes an unparseable URL in its error; the chained error must not show the password."""
    from ebonite_sqlalchemy.engine import _hide_password

    text = f"postgresql+psycopg:/someone:{SECRET}@host/db"
    err = ValueError(f"Could not parse SQLAlchemy URL from string '{text}'")
    _hide_password(err, text)
    assert SECRET not in str(err) and "***@host/db" in str(err)
