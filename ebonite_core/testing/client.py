"""The client-level contract: the whole user workflow on one metadata and one artifact repository."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import ClassVar

import pytest

from ..client import Ebonite
from ..errors import (
    ArtifactIntegrityError,
    ExistingModelError,
    InvalidNameError,
    NonExistingModelError,
    NonExistingProjectError,
    NonExistingTaskError,
    ProjectWithTasksError,
    TaskWithModelsError,
)
from ..model import RequirementsWarning, create_model
from ..objects import Model, Project, Task
from .models import ScaleModel
from .stateful import run_registry_machine

SAMPLE = [1.0, 2.0, 3.5]


class ClientContract:
    """Override the ``ebnt`` fixture to return a client on new, empty repositories for each test.

    ``state_machine_examples`` and ``state_machine_steps`` size the stateful property-based test; lower them
    for a slow backend rather than switching the test off. ``large_model_size`` is the size of the model pushed
    and loaded whole (24 MiB, past every buffer and multipart threshold of the client and the first-party
    backends).
    """

    state_machine_examples: ClassVar[int] = 20
    state_machine_steps: ClassVar[int] = 30
    large_model_size: ClassVar[int] = 24 * 1024 * 1024

    @pytest.fixture
    def ebnt(self) -> Ebonite:
        raise NotImplementedError("Override the ebnt fixture in your test class.")

    @pytest.fixture
    def task(self, ebnt: Ebonite) -> Task:
        return ebnt.get_or_create_task("project", "task")

    def test_push_get_load_predict(self, ebnt: Ebonite, task: Task) -> None:
        model = task.create_and_push_model(ScaleModel(3.0), SAMPLE, "scale", params={"factor": 3.0})
        assert model.id is not None and model.artifact_key
        fetched = ebnt.get_model("scale", task)
        assert fetched is not None and fetched is not model
        assert fetched.params == {"factor": 3.0}
        assert fetched.artifacts == model.artifacts
        assert fetched.predict(SAMPLE) == [3.0, 6.0, 10.5]
        assert "predict" in fetched.methods

    def test_get_model_by_names(self, ebnt: Ebonite, task: Task) -> None:
        task.create_and_push_model(ScaleModel(), SAMPLE, "scale")
        fetched = ebnt.get_model("scale", "task", "project", load_artifacts=True)
        assert fetched is not None and fetched.predict([1.0]) == [2.0]
        assert ebnt.get_model("missing", task) is None
        assert ebnt.get_model("scale", "no-task", "project") is None
        assert ebnt.get_model("scale", "task", "no-project") is None

    def test_create_model_on_the_client_uses_default_names(self, ebnt: Ebonite) -> None:
        model = ebnt.create_model(ScaleModel(), SAMPLE)
        assert model.name.startswith("pickle_model_")
        assert ebnt.get_model(model.name, "default_task", "default_project") is not None

    def test_an_object_of_another_registry_is_refused_and_nothing_else_is_deleted(
        self, ebnt: Ebonite, task: Task
    ) -> None:
        """``prod.delete_model(model_from_staging)``: the staging model's id names an unrelated model here.
        Refused with NonExistingModelError; that model keeps its metadata and its files. Likewise a task or a
        project object of another registry, and a stale copy of a model deleted since."""
        victim = task.create_and_push_model(ScaleModel(3.0), SAMPLE, "victim")
        foreign = Model.from_dict({**victim.to_dict(), "name": "staging-model", "artifact_key": "0" * 32})
        for attempt in (
            lambda: ebnt.delete_model(foreign),
            lambda: ebnt.set_model_tags(foreign, {"stage": "x"}),
            lambda: ebnt.set_alias(task, "champion", foreign),
        ):
            with pytest.raises(NonExistingModelError, match="not in this registry"):
                attempt()
        foreign_task = Task("staging-task", project_id=task.project_id, id=task.id)
        with pytest.raises(NonExistingTaskError):
            ebnt.delete_task(foreign_task, cascade=True)
        foreign_project = Project("staging-project", id=task.project_id)
        with pytest.raises(NonExistingProjectError):
            ebnt.delete_project(foreign_project, cascade=True)
        stored = ebnt.get_model("victim", task)
        assert stored is not None and stored.tags == {} and stored.predict([1.0]) == [3.0]
        stale = ebnt.get_model("victim", task)
        ebnt.delete_model(stored)
        with pytest.raises(NonExistingModelError):
            ebnt.delete_model(stale)

    def test_lists_and_navigation(self, ebnt: Ebonite, task: Task) -> None:
        task.create_and_push_model(ScaleModel(), SAMPLE, "a")
        task.create_and_push_model(ScaleModel(), SAMPLE, "b")
        assert [project.name for project in ebnt.get_projects()] == ["project"]
        project = ebnt.get_project("project")
        assert project is not None and [t.name for t in project.tasks] == ["task"]
        assert [model.name for model in task.models] == ["a", "b"]
        assert [model.name for model in ebnt.get_models("task", "project")] == ["a", "b"]
        assert task.models[0].task == task
        assert task.project == project
        with pytest.raises(NonExistingProjectError):
            ebnt.get_tasks("no-project")
        with pytest.raises(NonExistingTaskError):
            ebnt.get_models("no-task", "project")

    def test_a_stored_model_is_not_pushed_twice(self, ebnt: Ebonite, task: Task) -> None:
        model = task.create_and_push_model(ScaleModel(), SAMPLE, "scale")
        with pytest.raises(ExistingModelError):
            ebnt.push_model(model, task)
        other = ebnt.get_or_create_task("project", "other")
        with pytest.raises(ExistingModelError, match=r"already stored in task 'task'"):
            ebnt.push_model(model, other)
        with pytest.raises(ExistingModelError, match=r"'scale' already exists in task 'task'"):
            task.create_and_push_model(ScaleModel(), SAMPLE, "scale")
        assert len(ebnt.artifact_repo.keys()) == 1

    def test_same_model_name_in_two_tasks(self, ebnt: Ebonite, task: Task) -> None:
        other = ebnt.get_or_create_task("project", "other")
        task.create_and_push_model(ScaleModel(2.0), SAMPLE, "scale")
        other.create_and_push_model(ScaleModel(5.0), SAMPLE, "scale")
        assert ebnt.get_model("scale", task).predict([1.0]) == [2.0]
        assert ebnt.get_model("scale", other).predict([1.0]) == [5.0]

    @pytest.mark.parametrize("bad", ["../../etc", "a/b", "", " padded", "nul\x00", "..", "x" * 256])
    def test_invalid_names_are_refused_before_anything_is_written(self, ebnt: Ebonite, bad: str) -> None:
        with pytest.raises(InvalidNameError):
            ebnt.get_or_create_task(bad, "task")
        with pytest.raises(InvalidNameError):
            ebnt.get_or_create_task("project", bad)
        with pytest.raises(InvalidNameError):
            create_model(ScaleModel(), SAMPLE, bad)
        assert ebnt.get_projects() == []
        assert ebnt.artifact_repo.keys() == {}

    def test_failed_metadata_write_leaves_no_artifacts(self, ebnt: Ebonite, task: Task) -> None:
        ghost = Task("ghost", project_id=task.project_id, id="987654321")  # looks stored, is not
        with pytest.raises(NonExistingTaskError):
            ebnt.push_model(create_model(ScaleModel(), SAMPLE, "scale"), ghost)
        assert ebnt.artifact_repo.keys() == {}
        assert ebnt.get_models(task) == []

    def test_tampered_artifact_is_refused_on_load(self, ebnt: Ebonite, task: Task) -> None:
        stored = task.create_and_push_model(ScaleModel(), SAMPLE, "scale")
        assert stored.artifact_key is not None
        with tempfile.TemporaryDirectory() as directory:
            forged = Path(directory) / "model.pkl"
            forged.write_bytes(b"not the model")
            ebnt.artifact_repo.delete(stored.artifact_key)
            ebnt.artifact_repo.push(stored.artifact_key, {"model.pkl": forged})
        model = ebnt.get_model("scale", task)
        assert model is not None
        with pytest.raises(ArtifactIntegrityError, match=r"model\.pkl"):
            model.load()

    def test_delete_model_removes_its_artifacts(self, ebnt: Ebonite, task: Task) -> None:
        first = task.create_and_push_model(ScaleModel(), SAMPLE, "1")
        tenth = task.create_and_push_model(ScaleModel(10.0), SAMPLE, "10")
        ebnt.delete_model(first)
        assert ebnt.get_model("1", task) is None
        assert set(ebnt.artifact_repo.keys()) == {tenth.artifact_key}
        assert ebnt.get_model("10", task).predict([1.0]) == [10.0]

    def test_delete_without_cascade_refuses(self, ebnt: Ebonite, task: Task) -> None:
        task.create_and_push_model(ScaleModel(), SAMPLE, "scale")
        with pytest.raises(TaskWithModelsError):
            ebnt.delete_task(task)
        with pytest.raises(ProjectWithTasksError):
            ebnt.delete_project("project")
        assert ebnt.get_model("scale", task) is not None

    def test_cascade_deletes_remove_everything(self, ebnt: Ebonite, task: Task) -> None:
        task.create_and_push_model(ScaleModel(), SAMPLE, "a")
        ebnt.get_or_create_task("project", "other").create_and_push_model(ScaleModel(), SAMPLE, "b")
        ebnt.delete_project("project", cascade=True)
        assert ebnt.get_projects() == []
        assert ebnt.artifact_repo.keys() == {}

    def test_delete_task_with_cascade(self, ebnt: Ebonite, task: Task) -> None:
        task.create_and_push_model(ScaleModel(), SAMPLE, "a")
        ebnt.delete_task(task, cascade=True)
        assert ebnt.get_task("project", "task") is None
        assert ebnt.artifact_repo.keys() == {}

    def test_load_warns_when_a_requirement_differs(self, ebnt: Ebonite, task: Task) -> None:
        model = create_model(ScaleModel(), SAMPLE, "scale")
        model.requirements = {"pytest": "0.0.1"}
        ebnt.push_model(model, task)
        fetched = ebnt.get_model("scale", task)
        assert fetched is not None
        with pytest.warns(RequirementsWarning, match="pytest"):
            fetched.load()

    def test_loading_a_model_without_requirement_changes_does_not_warn(self, ebnt: Ebonite, task: Task) -> None:
        task.create_and_push_model(ScaleModel(), SAMPLE, "scale")
        with warnings.catch_warnings():
            warnings.simplefilter("error", RequirementsWarning)
            ebnt.get_model("scale", task).load()

    def test_large_model_round_trips(self, ebnt: Ebonite, task: Task) -> None:
        payload = bytes(range(256)) * (self.large_model_size // 256)
        task.create_and_push_model(ScaleModel(2.0, payload), SAMPLE, "big")
        loaded = ebnt.get_model("big", task).object
        assert loaded.payload == payload

    def test_random_operations_match_a_simple_model(self, ebnt: Ebonite) -> None:
        run_registry_machine(ebnt, self.state_machine_examples, self.state_machine_steps)

    # Tags, aliases and search through the client
    def test_tags_through_the_client(self, ebnt: Ebonite, task: Task) -> None:
        model = task.create_and_push_model(ScaleModel(), SAMPLE, "scale", tags={"stage": "candidate"})
        assert ebnt.get_model("scale", task).tags == {"stage": "candidate"}
        ebnt.set_model_tags(model, {"stage": "production", "data": "2026-11"})
        assert model.tags == {"stage": "production", "data": "2026-11"}
        ebnt.delete_model_tag(model, "data")
        assert ebnt.get_model("scale", task).tags == {"stage": "production"}
        for bad in ({"": "x"}, {"a/b": "x"}, {"k": 1}, {"k": "\x00"}, {"k" * 200: "x"}):
            with pytest.raises(InvalidNameError):
                ebnt.set_model_tags(model, bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidNameError):
            create_model(ScaleModel(), SAMPLE, "other", tags={"bad\n": "x"})
        assert ebnt.get_model("scale", task).tags == {"stage": "production"}

    def test_aliases_through_the_client(self, ebnt: Ebonite, task: Task) -> None:
        first = task.create_and_push_model(ScaleModel(1.0), SAMPLE, "first")
        second = task.create_and_push_model(ScaleModel(2.0), SAMPLE, "second")
        ebnt.set_alias(task, "champion", first)
        assert ebnt.get_model_by_alias(task, "champion").predict([1.0]) == [1.0]
        ebnt.set_alias(task, "champion", second)
        assert ebnt.get_model_by_alias(task, "champion").predict([1.0]) == [2.0]
        assert {alias: model.name for alias, model in ebnt.get_aliases(task).items()} == {"champion": "second"}
        with pytest.raises(InvalidNameError):
            ebnt.set_alias(task, "a@b", first)
        ebnt.delete_model(second)
        assert ebnt.get_model_by_alias(task, "champion") is None
        ebnt.set_alias(task, "champion", first)
        ebnt.delete_alias(task, "champion")
        assert ebnt.get_aliases(task) == {}

    def test_search_and_latest_through_the_client(self, ebnt: Ebonite, task: Task) -> None:
        other = ebnt.get_or_create_task("project", "other")
        assert ebnt.latest_model(task) is None
        for index, accuracy in enumerate([0.8, 0.95, 0.9]):
            task.create_and_push_model(
                ScaleModel(),
                SAMPLE,
                f"m{index}",
                params={"accuracy": accuracy},
                tags={"stage": "candidate" if index else "production"},
            )
        other.create_and_push_model(ScaleModel(), SAMPLE, "elsewhere", params={"accuracy": 0.99})
        latest = ebnt.latest_model("task", "project")
        assert latest is not None and latest.name == "m2" and not latest._loaded
        assert latest.predict([1.0]) == [2.0]
        best = ebnt.search_models(task=task, order_by="-params.accuracy", limit=1)
        assert [model.name for model in best] == ["m1"] and best.next_page_token is not None
        assert [m.name for m in ebnt.search_models(project="project", params={"accuracy": (">=", 0.9)})] == [
            "elsewhere",
            "m2",
            "m1",
        ]
        assert [m.name for m in ebnt.search_models(tags={"stage": "production"})] == ["m0"]
        with pytest.raises(ValueError, match="order by"):
            ebnt.search_models(order_by="size")
        with pytest.raises(ValueError, match="page token"):
            ebnt.search_models(page_token="garbage!")
        with pytest.raises(NonExistingProjectError):
            ebnt.search_models(project="missing")
        # Iterating and counting: every model once, across pages, with the same filters.
        assert [m.name for m in ebnt.iter_models(task=task, page_size=2)] == ["m0", "m1", "m2"]
        assert [m.name for m in ebnt.iter_models(page_size=1, order_by="-params.accuracy")] == [
            "elsewhere",
            "m1",
            "m2",
            "m0",
        ]
        assert [m.name for m in ebnt.iter_models(project="project", tags={"stage": "candidate"}, page_size=1)] == [
            "m1",
            "m2",
        ]
        assert ebnt.count_models(task=task) == 3 and ebnt.count_models() == 4
        assert ebnt.count_models(project="project", params={"accuracy": (">=", 0.9)}, tags={"stage": "candidate"}) == 2
