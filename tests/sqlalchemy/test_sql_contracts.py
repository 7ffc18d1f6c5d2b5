"""SQLAlchemyMetaRepository keeps the core's contracts on SQLite (file and memory), PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from sql_helpers import SHARED_BACKENDS, RepositoryFactory, empty_the_model_document

from ebonite_core import Ebonite, LocalArtifactRepository, MetadataRepository, Model
from ebonite_core.testing import ClientContract, MetadataRepositoryContract


class SQLMetadataContract(MetadataRepositoryContract):
    @pytest.fixture
    def damage_model_record(self) -> Callable[[MetadataRepository, Model], None]:
        return empty_the_model_document


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
class TestMetadataContract(SQLMetadataContract):
    """The databases several repository objects and processes can share: a SQLite file, PostgreSQL, MariaDB.

    The factory lets the contract reopen the database and race processes on it (names, aliases).
    """

    @pytest.fixture
    def metadata_repository_factory(self, db_url: str) -> Iterator[RepositoryFactory]:
        factory = RepositoryFactory(db_url)
        yield factory
        factory.close()


class TestInMemoryMetadataContract(SQLMetadataContract):
    """``sqlite://``: a private database that lives in its repository's one connection."""

    supports_reopen = False  # a second repository object opens a second, empty database
    supports_concurrent_processes = False  # another process cannot see it at all

    @pytest.fixture
    def metadata_repository(self, open_repository: Callable[..., SQLAlchemyMetaRepository]) -> SQLAlchemyMetaRepository:
        return open_repository("sqlite://")


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
class TestClientContract(ClientContract):
    """The whole client workflow on SQL metadata and local artifacts, once per database engine (the private
    in-memory SQLite database is SQLite again: it keeps the metadata contract only).

    The artifacts are local files, pushed at full size by the core's local client contract: a small large model
    here. The random sequences run smaller than the default on each of the three engines.
    """

    state_machine_examples = 8
    large_model_size = 1024 * 1024

    @pytest.fixture
    def ebnt(self, repository: SQLAlchemyMetaRepository, tmp_path: Path) -> Ebonite:
        return Ebonite(repository, LocalArtifactRepository(tmp_path / "artifacts"))


def test_four_byte_characters_in_names_and_data(repository: SQLAlchemyMetaRepository) -> None:
    """Names and JSON data keep characters outside the BMP (MariaDB needs utf8mb4 for them)."""
    from ebonite_core import Project, Task
    from ebonite_core.testing import make_model

    project = repository.create_project(Project("🤖 project"))
    task = repository.create_task(Task("タスク 🧪", project_id=project.id))
    repository.create_model(make_model("模型 🚀", task.id, params={"emoji": "🎯", "text": "𝄞 clef"}))
    fetched = repository.get_model_by_name(task, "模型 🚀")
    assert fetched is not None and fetched.params == {"emoji": "🎯", "text": "𝄞 clef"}
    assert repository.get_project_by_name("🤖 project") == project
    assert repository.get_model_by_name(task, "模型 🚀".upper()) is not None  # no letters: same name
    assert repository.get_project_by_name("🤖 PROJECT") is None


def test_ids_are_decimal_strings_and_unknown_ids_find_nothing(repository: SQLAlchemyMetaRepository) -> None:
    from ebonite_core import Project

    project = repository.create_project(Project("p"))
    assert project.id is not None and project.id.isdecimal()
    for bogus in ("0", "-1", "abc", "", " 1", "1.0", "99999999999999999999999", "\u0661"):
        assert repository.get_project_by_id(bogus) is None, bogus
        assert repository.get_task_by_id(bogus) is None, bogus
        assert repository.get_model_by_id(bogus) is None, bogus


def test_repository_resolves_by_type_name(db_url: str, tmp_path: Path, open_repository: Callable) -> None:
    """custom_client builds the repository from its type name and keyword arguments."""
    ebnt = Ebonite.custom_client(
        "sqlalchemy", "local", meta_kwargs={"db_uri": db_url}, artifact_kwargs={"path": tmp_path / "a"}
    )
    try:
        assert isinstance(ebnt.meta_repo, SQLAlchemyMetaRepository)
        task = ebnt.get_or_create_task("p", "t")
        assert ebnt.get_task("p", "t") == task
    finally:
        ebnt.close()
