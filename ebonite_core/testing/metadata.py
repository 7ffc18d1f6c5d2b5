"""The contract every MetadataRepository keeps (see its docstring)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest

from ..errors import (
    ExistingModelError,
    ExistingProjectError,
    ExistingTaskError,
    NonExistingModelError,
    NonExistingProjectError,
    NonExistingTaskError,
    ProjectWithTasksError,
    TaskWithModelsError,
)
from ..objects import ArtifactFile, Model, Project, Task
from ..repository import MetadataRepository
from .capabilities import missing_factory, requires
from .models import make_model
from .processes import run_together
from .registry import RegistryFeaturesContract

Factory = Callable[[], MetadataRepository]


def _race(worker: int, ready: Callable[[], Any], factory: Factory) -> dict[str, Any]:
    """One process of the concurrency test: create shared and own names as soon as every process is ready."""
    repo = factory()
    ready()
    outcome: dict[str, Any] = {}
    try:
        repo.create_project(Project("race"))
        outcome["project"] = "created"
    except ExistingProjectError:
        outcome["project"] = "existing"
    project = repo.get_project_by_name("race")
    task = repo.get_or_create_task(project, "task")
    outcome["task_id"] = task.id
    try:
        repo.create_model(make_model("contested", task.id))
        outcome["model"] = "created"
    except ExistingModelError:
        outcome["model"] = "existing"
    outcome["own"] = [repo.create_model(make_model(f"w{worker}-{index}", task.id)).id for index in range(10)]
    repo.close()
    return outcome


class MetadataRepositoryContract(RegistryFeaturesContract):
    """The MetadataRepository contract.

    Override ``metadata_repository_factory`` to return a picklable callable that opens the store under test:
    each call returns a new repository object on one shared store, empty at the start of each test (for
    example ``functools.partial(MyRepository, tmp_path / "db")``). Backends that cannot be reopened or
    shared between processes override ``metadata_repository`` instead and switch the capabilities off.
    """

    supports_reopen: ClassVar[bool] = True
    """A second repository object on the same store sees the first one's changes."""
    supports_concurrent_processes: ClassVar[bool] = True
    """Several processes can use one store at once without losing or duplicating anything."""
    concurrent_processes: ClassVar[int] = 4

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

    # Projects
    def test_empty_repository_has_nothing(self, repo: MetadataRepository) -> None:
        assert repo.get_projects() == []
        assert repo.get_project_by_name("anything") is None
        assert repo.get_project_by_id("1") is None
        assert repo.get_task_by_id("1") is None
        assert repo.get_model_by_id("1") is None

    def test_create_project_assigns_a_string_id_and_keeps_fields(self, repo: MetadataRepository) -> None:
        when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
        project = Project("project", author="alice", creation_date=when)
        stored = repo.create_project(project)
        assert isinstance(stored.id, str) and stored.id
        assert project.id is None, "create_project must not change its argument"
        assert (stored.name, stored.author, stored.creation_date) == ("project", "alice", when)
        assert repo.get_project_by_name("project") == stored
        assert repo.get_project_by_id(stored.id) == stored
        assert repo.get_projects() == [stored]

    def test_creation_date_stays_timezone_aware(self, repo: MetadataRepository) -> None:
        when = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=3)))
        stored = repo.create_project(Project("p", creation_date=when))
        fetched = repo.get_project_by_id(stored.id)
        assert fetched is not None and fetched.creation_date.tzinfo is not None
        assert fetched.creation_date == when

    def test_project_names_are_unique(self, repo: MetadataRepository) -> None:
        repo.create_project(Project("project"))
        with pytest.raises(ExistingProjectError):
            repo.create_project(Project("project"))
        assert len(repo.get_projects()) == 1

    def test_names_are_case_and_unicode_exact(self, repo: MetadataRepository) -> None:
        names = ["Model", "model", "modèle", "模型", "x" * 255, "a b"]
        for name in names:
            repo.create_project(Project(name))
        assert sorted(project.name for project in repo.get_projects()) == sorted(names)
        for name in names:
            found = repo.get_project_by_name(name)
            assert found is not None and found.name == name

    def test_lists_come_in_creation_order(self, repo: MetadataRepository) -> None:
        names = ["b", "a", "c", "10", "2"]
        for name in names:
            repo.create_project(Project(name))
        assert [project.name for project in repo.get_projects()] == names

    def test_get_or_create_project_is_idempotent(self, repo: MetadataRepository) -> None:
        first = repo.get_or_create_project("project")
        assert repo.get_or_create_project("project") == first
        assert len(repo.get_projects()) == 1

    def test_returned_objects_are_copies(self, repo: MetadataRepository, task: Task) -> None:
        project = repo.get_projects()[0]
        project.name = "changed"
        assert repo.get_project_by_name("project") is not None
        model = repo.create_model(make_model("m", task.id))
        model.params["alpha"] = 99
        model.params["layers"].append("x")
        model.methods.clear()
        fetched = repo.get_model_by_id(model.id)
        assert fetched is not None
        assert fetched.params == {"alpha": 0.5, "layers": [1, 2, {"deep": "ünïcode"}]}
        assert "predict" in fetched.methods
        fetched.requirements["numpy"] = "0"
        assert repo.get_models(task)[0].requirements == {"numpy": "2.0.0"}

    def test_delete_project(self, repo: MetadataRepository) -> None:
        project = repo.create_project(Project("project"))
        repo.delete_project(project)
        assert repo.get_project_by_name("project") is None
        assert repo.get_projects() == []
        with pytest.raises(NonExistingProjectError):
            repo.delete_project(project)

    def test_project_with_tasks_is_not_deleted(self, repo: MetadataRepository, task: Task) -> None:
        project = repo.get_project_by_id(task.project_id)
        assert project is not None
        with pytest.raises(ProjectWithTasksError):
            repo.delete_project(project)
        assert repo.get_task_by_id(task.id) == task

    # Tasks
    def test_task_names_are_scoped_by_project(self, repo: MetadataRepository) -> None:
        first = repo.create_project(Project("first"))
        second = repo.create_project(Project("second"))
        task_one = repo.create_task(Task("task", project_id=first.id))
        task_two = repo.create_task(Task("task", project_id=second.id))
        assert task_one.id != task_two.id
        assert repo.get_task_by_name(first, "task") == task_one
        assert repo.get_task_by_name(second, "task") == task_two
        with pytest.raises(ExistingTaskError):
            repo.create_task(Task("task", project_id=first.id))
        assert repo.get_tasks(first) == [task_one]

    def test_task_needs_an_existing_project(self, repo: MetadataRepository) -> None:
        with pytest.raises(NonExistingProjectError):
            repo.create_task(Task("task", project_id="424242"))

    def test_task_fields_round_trip(self, repo: MetadataRepository) -> None:
        project = repo.create_project(Project("project"))
        task = Task("task", project_id=project.id, author="bob")
        stored = repo.create_task(task)
        assert task.id is None
        assert repo.get_task_by_id(stored.id) == stored
        assert (stored.name, stored.project_id, stored.author) == ("task", project.id, "bob")

    def test_get_or_create_task_is_idempotent(self, repo: MetadataRepository) -> None:
        project = repo.create_project(Project("project"))
        first = repo.get_or_create_task(project, "task")
        assert repo.get_or_create_task(project, "task") == first
        assert len(repo.get_tasks(project)) == 1

    def test_delete_task(self, repo: MetadataRepository, task: Task) -> None:
        repo.delete_task(task)
        assert repo.get_task_by_id(task.id) is None
        with pytest.raises(NonExistingTaskError):
            repo.delete_task(task)

    def test_task_with_models_is_not_deleted(self, repo: MetadataRepository, task: Task) -> None:
        repo.create_model(make_model("m", task.id))
        with pytest.raises(TaskWithModelsError):
            repo.delete_task(task)
        assert repo.get_task_by_id(task.id) == task

    # Models
    def test_model_metadata_round_trips(self, repo: MetadataRepository, task: Task) -> None:
        model = make_model(
            "model", task.id, artifacts=[ArtifactFile("a.bin", 0, "e3" * 32), ArtifactFile("b.bin", 2**40, "ff" * 32)]
        )
        stored = repo.create_model(model)
        assert model.id is None
        fetched = repo.get_model_by_name(task, "model")
        assert fetched == stored
        assert fetched is not None
        for field in (
            "name",
            "task_id",
            "serializer",
            "methods",
            "requirements",
            "python_version",
            "params",
            "description",
            "author",
            "creation_date",
            "artifact_key",
            "artifacts",
        ):
            assert getattr(fetched, field) == getattr(model, field), field

    def test_model_names_are_scoped_by_task(self, repo: MetadataRepository, task: Task) -> None:
        other = repo.create_task(Task("other", project_id=task.project_id))
        first = repo.create_model(make_model("model", task.id))
        second = repo.create_model(make_model("model", other.id))
        assert first.id != second.id
        with pytest.raises(ExistingModelError):
            repo.create_model(make_model("model", task.id))
        assert [model.id for model in repo.get_models(task)] == [first.id]
        assert [model.id for model in repo.get_models(other)] == [second.id]

    def test_model_needs_an_existing_task(self, repo: MetadataRepository) -> None:
        with pytest.raises(NonExistingTaskError):
            repo.create_model(make_model("model", "424242"))

    def test_names_that_prefix_each_other_never_collide(self, repo: MetadataRepository, task: Task) -> None:
        stored = {
            name: repo.create_model(make_model(name, task.id, artifact_key=f"key{name}"))
            for name in ["1", "10", "100", "1.0"]
        }
        for name, model in stored.items():
            fetched = repo.get_model_by_name(task, name)
            assert fetched is not None and fetched.id == model.id and fetched.artifact_key == f"key{name}"
        repo.delete_model(stored["1"])
        assert repo.get_model_by_name(task, "1") is None
        assert {model.name for model in repo.get_models(task)} == {"10", "100", "1.0"}

    def test_delete_model_frees_the_name_and_never_reuses_ids(self, repo: MetadataRepository, task: Task) -> None:
        first = repo.create_model(make_model("model", task.id))
        repo.delete_model(first)
        assert repo.get_model_by_id(first.id) is None
        with pytest.raises(NonExistingModelError):
            repo.delete_model(first)
        second = repo.create_model(make_model("model", task.id))
        assert second.id != first.id

    def test_an_object_of_another_registry_never_changes_the_one_with_its_id(
        self, repo: MetadataRepository, task: Task
    ) -> None:
        """Ids are unique within one store only: a model, task or project object of another registry (or a stale
        copy) that carries the id of an unrelated one here is refused, and nothing changes."""
        here = repo.create_model(make_model("here", task.id, artifact_key="k-here"))
        repo.set_alias(task, "champion", here)
        for changes in ({"name": "there"}, {"artifact_key": "k-there"}, {"task_id": "999999"}):
            foreign = Model.from_dict({**here.to_dict(), **changes})  # same id, another model
            with pytest.raises(NonExistingModelError):
                repo.delete_model(foreign)
            with pytest.raises(NonExistingModelError):
                repo.set_model_tags(foreign, {"stage": "x"})
            with pytest.raises(NonExistingModelError):
                repo.delete_model_tag(foreign, "stage")
            with pytest.raises(NonExistingModelError):
                repo.set_alias(task, "other", foreign)
        empty = repo.create_task(Task("empty", project_id=task.project_id))
        with pytest.raises(NonExistingTaskError):
            repo.delete_task(Task("other", project_id=task.project_id, id=empty.id))
        project = repo.get_project_by_id(task.project_id)
        assert project is not None
        with pytest.raises(NonExistingProjectError):
            repo.delete_project(Project("other", id=project.id))
        stored = repo.get_model_by_id(here.id)
        assert stored is not None and stored.tags == {} and stored.name == "here"
        assert repo.get_aliases(task) == {"champion": here.id}
        assert repo.get_task_by_id(empty.id) is not None

    def test_models_list_in_creation_order(self, repo: MetadataRepository, task: Task) -> None:
        names = [f"model-{index}" for index in (3, 1, 2, 10)]
        for name in names:
            repo.create_model(make_model(name, task.id))
        assert [model.name for model in repo.get_models(task)] == names

    def test_many_models_in_one_task(self, repo: MetadataRepository, task: Task) -> None:
        for index in range(60):
            repo.create_model(make_model(f"m{index}", task.id, artifact_key=f"k{index}"))
        models = repo.get_models(task)
        assert len(models) == 60
        assert len({model.id for model in models}) == 60
        assert repo.get_model_by_name(task, "m59").artifact_key == "k59"

    # Capabilities
    @requires("supports_reopen")
    def test_a_reopened_store_sees_every_change(
        self, repo: MetadataRepository, task: Task, request: pytest.FixtureRequest
    ) -> None:
        metadata_repository_factory = request.getfixturevalue("metadata_repository_factory")
        model = repo.create_model(make_model("model", task.id))
        other = metadata_repository_factory()
        assert other.get_model_by_name(task, "model") == model
        assert other.get_task_by_id(task.id) == task
        other.delete_model(model)
        other.close()
        assert repo.get_model_by_id(model.id) is None
        again = metadata_repository_factory().create_model(make_model("model", task.id))
        assert again.id != model.id

    @requires("supports_concurrent_processes")
    def test_concurrent_processes_agree_on_names_and_lose_nothing(
        self, repo: MetadataRepository, request: pytest.FixtureRequest
    ) -> None:
        count = self.concurrent_processes
        outcomes = run_together(_race, count, request.getfixturevalue("metadata_repository_factory"))
        assert sorted(outcome["project"] for outcome in outcomes) == ["created"] + ["existing"] * (count - 1)
        assert sorted(outcome["model"] for outcome in outcomes) == ["created"] + ["existing"] * (count - 1)
        assert len({outcome["task_id"] for outcome in outcomes}) == 1
        project = repo.get_project_by_name("race")
        assert project is not None
        [task] = repo.get_tasks(project)
        models = repo.get_models(task)
        own_ids = [model_id for outcome in outcomes for model_id in outcome["own"]]
        assert len(models) == 1 + 10 * count == len({model.id for model in models})
        assert set(own_ids) <= {model.id for model in models}
