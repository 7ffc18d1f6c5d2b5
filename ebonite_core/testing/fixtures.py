"""The fixtures and capability flags every part of the metadata contract uses; a backend's test class
overrides a fixture and, where its backend honestly differs, a flag."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import pytest

from ..interfaces import MetadataRepository
from ..objects import Model, Project, Task
from ..repository.records import RecordMetadataRepository
from .capabilities import missing_factory

Factory = Callable[[], MetadataRepository]
DamageRecord = Callable[[MetadataRepository, Model], None]
PlantLeftover = Callable[[MetadataRepository], str]


def damage_through_the_primitives(repository: MetadataRepository, model: Model) -> None:
    """Break a stored model record the way a hand edit does (a file name that escapes the store, a negative
    size), through the primitives of a :class:`RecordMetadataRepository`."""
    assert isinstance(repository, RecordMetadataRepository)
    with repository.transaction():
        record = repository.load("models", str(model.id))
        assert record is not None
        repository.put("models", {**record, "artifacts": [{"name": "../../escape", "size": -1, "sha256": "x"}]})


class MetadataFixtures:
    """Override ``metadata_repository_factory`` to return a picklable callable that opens the store under test:
    each call returns a new repository object on one shared store, empty at the start of each test (for
    example ``functools.partial(MyRepository, tmp_path / "db")``). Backends that cannot be reopened or
    shared between processes override ``metadata_repository`` instead and switch the capabilities off.

    ``damage_model_record`` damages a stored model record as a hand edit would (backends on
    :class:`RecordMetadataRepository` get a default); ``plant_leftover`` leaves what an interrupted write of
    the backend leaves behind and returns a part of how ``clean_leftovers`` describes it (default: ``None``, a
    backend that leaves nothing).
    """

    supports_reopen: ClassVar[bool] = True
    """A second repository object on the same store sees the first one's changes."""
    supports_concurrent_processes: ClassVar[bool] = True
    """Several processes can use one store at once without losing or duplicating anything."""
    concurrent_processes: ClassVar[int] = 4
    supports_config: ClassVar[bool] = True
    """``config()`` returns the options that rebuild the repository: ``type(repo)(**repo.config())``."""
    supports_record_damage: ClassVar[bool] = True
    """The test class can damage a stored record (``damage_model_record``) to check it is refused on reading."""

    @pytest.fixture
    def metadata_repository_factory(self) -> Factory:
        raise missing_factory("metadata_repository", "supports_reopen = supports_concurrent_processes")

    @pytest.fixture
    def metadata_repository(self, metadata_repository_factory: Factory) -> MetadataRepository:
        return metadata_repository_factory()

    @pytest.fixture
    def repo(self, metadata_repository: MetadataRepository) -> MetadataRepository:
        return metadata_repository

    @pytest.fixture
    def task(self, repo: MetadataRepository) -> Task:
        project = repo.create_project(Project("project"))
        return repo.create_task(Task("task", project_id=project.id))

    @pytest.fixture
    def damage_model_record(self, repo: MetadataRepository) -> DamageRecord:
        if isinstance(repo, RecordMetadataRepository):
            return damage_through_the_primitives
        raise NotImplementedError(
            "Override the damage_model_record fixture (a function (repository, model) that breaks the stored "
            "record of the model, as a hand edit would), or declare supports_record_damage = False."
        )

    @pytest.fixture
    def plant_leftover(self) -> PlantLeftover | None:
        return None
