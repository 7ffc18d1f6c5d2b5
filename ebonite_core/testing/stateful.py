"""A stateful property-based test: random sequences of client operations, checked against a plain model.

The machine drives a real client (whatever its backends) through ``get_or_create_task``, pushes, loads and
deletes (with and without cascade), and after every step compares what the client lists with what a few
dictionaries say it should, artifacts included: no model may lose its files, no deleted model may leave any.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ..client import Ebonite
from ..errors import ExistingModelError, ProjectWithTasksError, TaskWithModelsError
from .models import ScaleModel

# Few names, so that operations often meet: "1" and "10" prefix each other, "é" is not ASCII.
NAMES = st.sampled_from(["a", "1", "10", "é"])


class RegistryMachine(RuleBasedStateMachine):
    """Expected state: ``{project: {task: {model: factor}}}``; a model's prediction reveals its factor."""

    ebnt: Ebonite

    def __init__(self) -> None:
        super().__init__()
        # Every example starts from an empty registry, emptied through the API under test.
        for project in self.ebnt.get_projects():
            self.ebnt.delete_project(project, cascade=True)
        assert self.ebnt.get_projects() == [] and dict(self.ebnt.artifact_repo.keys()) == {}
        self.expected: dict[str, dict[str, dict[str, float]]] = {}

    def _has_task(self, project: str, task: str) -> bool:
        return task in self.expected.get(project, {})

    @initialize(project=NAMES, task=NAMES)
    def first_task(self, project: str, task: str) -> None:
        self.get_or_create_task(project, task)

    @rule(project=NAMES, task=NAMES)
    def get_or_create_task(self, project: str, task: str) -> None:
        created = self.ebnt.get_or_create_task(project, task)
        assert (created.name, created.project.name) == (task, project)
        self.expected.setdefault(project, {}).setdefault(task, {})

    @precondition(lambda self: any(self.expected.values()))
    @rule(data=st.data(), model=NAMES, factor=st.integers(-3, 3))
    def push(self, data: st.DataObject, model: str, factor: int) -> None:
        project = data.draw(st.sampled_from(sorted(p for p, tasks in self.expected.items() if tasks)))
        task_name = data.draw(st.sampled_from(sorted(self.expected[project])))
        task = self.ebnt.get_task(project, task_name)
        assert task is not None
        if model in self.expected[project][task_name]:
            with pytest.raises(ExistingModelError):
                task.create_and_push_model(ScaleModel(float(factor)), [1.0], model)
        else:
            task.create_and_push_model(ScaleModel(float(factor)), [1.0], model)
            self.expected[project][task_name][model] = float(factor)

    @rule(project=NAMES, task=NAMES, model=NAMES)
    def load(self, project: str, task: str, model: str) -> None:
        found = self.ebnt.get_model(model, task, project)
        factor = self.expected.get(project, {}).get(task, {}).get(model)
        if factor is None:
            assert found is None
        else:
            assert found is not None and found.predict([1.0]) == [factor]

    @rule(project=NAMES, task=NAMES, model=NAMES)
    def delete_model(self, project: str, task: str, model: str) -> None:
        found = self.ebnt.get_model(model, task, project)
        if model not in self.expected.get(project, {}).get(task, {}):
            assert found is None
            return
        assert found is not None
        self.ebnt.delete_model(found)
        del self.expected[project][task][model]

    @rule(project=NAMES, task=NAMES, cascade=st.booleans())
    def delete_task(self, project: str, task: str, cascade: bool) -> None:
        found = self.ebnt.get_task(project, task)
        if not self._has_task(project, task):
            assert found is None
            return
        assert found is not None
        if self.expected[project][task] and not cascade:
            with pytest.raises(TaskWithModelsError):
                self.ebnt.delete_task(found)
            return
        self.ebnt.delete_task(found, cascade=cascade)
        del self.expected[project][task]

    @rule(project=NAMES, cascade=st.booleans())
    def delete_project(self, project: str, cascade: bool) -> None:
        if project not in self.expected:
            assert self.ebnt.get_project(project) is None
            return
        if self.expected[project] and not cascade:
            with pytest.raises(ProjectWithTasksError):
                self.ebnt.delete_project(project)
            return
        self.ebnt.delete_project(project, cascade=cascade)
        del self.expected[project]

    @invariant()
    def listings_match_the_expected_state(self) -> None:
        projects = {project.name: project for project in self.ebnt.get_projects()}
        assert set(projects) == set(self.expected)
        referenced = set()
        for name, project in projects.items():
            tasks = {task.name: task for task in self.ebnt.get_tasks(project)}
            assert set(tasks) == set(self.expected[name])
            for task_name, task in tasks.items():
                models = self.ebnt.get_models(task)
                assert {model.name for model in models} == set(self.expected[name][task_name])
                referenced |= {model.artifact_key for model in models}
        assert set(self.ebnt.artifact_repo.keys()) == referenced


def run_registry_machine(ebnt: Ebonite, examples: int, steps: int) -> None:
    """Run :class:`RegistryMachine` against ``ebnt`` for ``examples`` sequences of up to ``steps`` steps."""
    machine: Callable[[], RegistryMachine] = type("Machine", (RegistryMachine,), {"ebnt": ebnt})
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None),
    )
