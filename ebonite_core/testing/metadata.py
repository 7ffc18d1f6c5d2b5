"""The contract every MetadataRepository keeps (see its docstring): :class:`MetadataRepositoryContract`, made of
the storage part here and the tags, aliases and search parts (:mod:`.tags`, :mod:`.aliases`, :mod:`.search`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ..errors import (
    ExistingModelError,
    ExistingProjectError,
    ExistingTaskError,
    MetadataCorruptError,
    NonExistingModelError,
    NonExistingProjectError,
    NonExistingTaskError,
    ProjectWithTasksError,
    TaskWithModelsError,
)
from ..interfaces import MetadataRepository
from ..objects import ArtifactFile, Model, Project, Task
from .aliases import AliasesContract
from .capabilities import requires
from .checks import clean_every_leftover, refused
from .fixtures import DamageRecord, Factory, MetadataFixtures, PlantLeftover
from .models import make_model
from .processes import run_together
from .search import SearchContract
from .tags import TagsContract

# Ids no store hands out, each of which some store could take for a path, a key or a query.
HOSTILE_IDS = ["../x", "..", "/etc/passwd", "1/../1", "", " 1", "1\x00", "%2e%2e", "\uff11", "9" * 300]


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


class MetadataStorageContract(MetadataFixtures):
    """Projects, tasks and models: ids, names, parents, deletes, copies, reopening, concurrency, records read
    back, configuration and leftovers (part of :class:`MetadataRepositoryContract`)."""

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
        with refused(ExistingProjectError, "create_project(Project('project')) when 'project' exists"):
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
        # Neither name order nor id order as text ("10" before "2"): twelve projects, ids past 9.
        names = ["b", "a", "c", "10", "2", *(f"p{number}" for number in range(5, 12))]
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
        with refused(NonExistingProjectError, f"delete_project() of project {project.id!r}, already deleted"):
            repo.delete_project(project)

    def test_project_with_tasks_is_not_deleted(self, repo: MetadataRepository, task: Task) -> None:
        project = repo.get_project_by_id(task.project_id)
        assert project is not None
        with refused(ProjectWithTasksError, f"delete_project() of project {project.id!r}, which has task {task.id!r}"):
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
        with refused(ExistingTaskError, f"create_task(Task('task')) when project {first.id!r} has a task 'task'"):
            repo.create_task(Task("task", project_id=first.id))
        assert repo.get_tasks(first) == [task_one]

    def test_task_needs_an_existing_project(self, repo: MetadataRepository) -> None:
        with refused(NonExistingProjectError, "create_task() in project '424242', which does not exist"):
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
        with refused(NonExistingTaskError, f"delete_task() of task {task.id!r}, already deleted"):
            repo.delete_task(task)

    def test_task_with_models_is_not_deleted(self, repo: MetadataRepository, task: Task) -> None:
        repo.create_model(make_model("m", task.id))
        with refused(TaskWithModelsError, f"delete_task() of task {task.id!r}, which has model 'm'"):
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
        with refused(ExistingModelError, f"create_model() of 'model' when task {task.id!r} has a model 'model'"):
            repo.create_model(make_model("model", task.id))
        assert [model.id for model in repo.get_models(task)] == [first.id]
        assert [model.id for model in repo.get_models(other)] == [second.id]

    def test_model_needs_an_existing_task(self, repo: MetadataRepository) -> None:
        with refused(NonExistingTaskError, "create_model() in task '424242', which does not exist"):
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
        with refused(NonExistingModelError, f"delete_model() of model {first.id!r}, already deleted"):
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

    # Ids, records read back, configuration, leftovers
    def test_ids_from_users_never_reach_the_store(self, repo: MetadataRepository, task: Task) -> None:
        """An id that is not one the store handed out finds nothing and changes nothing: ids are often built
        into paths, keys and queries, and ``get_model_by_id("../x")`` must never reach outside the store."""
        project = repo.get_project_by_id(str(task.project_id))
        model = repo.create_model(make_model("model", task.id))
        for bad in HOSTILE_IDS:
            assert repo.get_project_by_id(bad) is None, f"get_project_by_id({bad!r})"
            assert repo.get_task_by_id(bad) is None, f"get_task_by_id({bad!r})"
            assert repo.get_model_by_id(bad) is None, f"get_model_by_id({bad!r})"
            assert repo.get_tasks(Project("p", id=bad)) == [], f"get_tasks() of project {bad!r}"
            assert repo.get_models(Task("t", id=bad)) == [], f"get_models() of task {bad!r}"
            with refused(NonExistingModelError, f"delete_model() of model {bad!r}"):
                repo.delete_model(make_model("model", task.id, id=bad))
            with refused(NonExistingTaskError, f"delete_task() of task {bad!r}"):
                repo.delete_task(Task("task", project_id=task.project_id, id=bad))
            with refused(NonExistingProjectError, f"delete_project() of project {bad!r}"):
                repo.delete_project(Project("project", id=bad))
            with refused(NonExistingTaskError, f"create_model() in task {bad!r}"):
                repo.create_model(make_model("other", bad))
        assert repo.get_projects() == [project] and repo.get_tasks(project) == [task]  # type: ignore[arg-type]
        assert repo.get_models(task) == [model]

    @requires("supports_record_damage")
    def test_a_damaged_record_is_a_metadata_corrupt_error(
        self, repo: MetadataRepository, task: Task, damage_model_record: DamageRecord
    ) -> None:
        """A record that cannot be read back (edited by hand, written by a buggy tool) is refused with
        ``MetadataCorruptError`` naming it, never returned half-read and never "repaired"."""
        model = repo.create_model(make_model("damaged", task.id))
        damage_model_record(repo, model)
        reads: dict[str, Callable[[], object]] = {
            f"get_model_by_id({model.id!r})": lambda: repo.get_model_by_id(str(model.id)),
            "get_model_by_name(task, 'damaged')": lambda: repo.get_model_by_name(task, "damaged"),
            "get_models(task)": lambda: repo.get_models(task),
        }
        for call, read in reads.items():
            with pytest.raises(MetadataCorruptError) as raised:
                read()
            message = str(raised.value)
            assert "damaged" in message or str(model.id) in message, f"{call}: {message}"

    @requires("supports_config")
    def test_config_rebuilds_an_equivalent_repository(
        self, repo: MetadataRepository, task: Task, request: pytest.FixtureRequest
    ) -> None:
        """``type(repo)(**repo.config())`` is the same store: ``save_config``, ``--config``, ``gc`` and ``copy``
        rebuild repositories this way."""
        model = repo.create_model(make_model("model", task.id))
        options = repo.config()
        assert json.loads(json.dumps(options)) == options, f"config() is not JSON data: {options!r}"
        rebuilt = type(repo)(**options)
        try:
            assert rebuilt.config() == options
            if self.supports_reopen:
                assert rebuilt.get_model_by_id(str(model.id)) == model, f"{type(repo).__name__}(**{options!r})"
        finally:
            rebuilt.close()

    def test_clean_leftovers_removes_only_leftovers(
        self, repo: MetadataRepository, task: Task, plant_leftover: PlantLeftover | None
    ) -> None:
        """``clean_leftovers`` (what ``ebonite gc`` calls) reports, then removes, what interrupted writes left,
        and never anything stored, even when everything counts as old."""
        model = repo.create_model(make_model("model", task.id))
        clean_every_leftover(repo, plant_leftover(repo) if plant_leftover is not None else None)
        assert repo.get_model_by_id(str(model.id)) == model and repo.get_models(task) == [model]


class MetadataRepositoryContract(MetadataStorageContract, TagsContract, AliasesContract, SearchContract):
    """The MetadataRepository contract: every part of it. Subclass it and override one fixture (see
    :class:`~ebonite_core.testing.fixtures.MetadataFixtures` for the fixtures and capability flags)."""
