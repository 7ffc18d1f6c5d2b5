"""Projects, tasks and models as plain dictionaries: the state shared by the in-memory and local backends.

The state is JSON-ready data (``{"projects": {id: {...}}, "tasks": ..., "models": ..., "next_id": n}``) so
that the local backend can write it as it is. Rows are ``to_dict()`` output; a task row also holds its
``aliases`` (``{alias: model id}``). A row is never changed in place: a change stores a new row dict and is
logged in ``changes`` (``replaced`` says the whole state was swapped), so that the local backend re-encodes
only what changed.

Every method works on the state it is given and raises the errors of the
:class:`~ebonite_core.repository.MetadataRepository` contract; callers provide the locking.
"""

from __future__ import annotations

from typing import Any

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
from ..objects import Model, Project, Task
from ..query import ModelPage, ModelQuery

State = dict[str, Any]


def empty_state() -> State:
    return {"next_id": 1, "projects": {}, "tasks": {}, "models": {}}


class Tables:
    """Queries and changes on a :data:`State`, with name indexes rebuilt whenever the state is replaced."""

    def __init__(self, state: State | None = None) -> None:
        self.replace(state if state is not None else empty_state())

    def replace(self, state: State) -> None:
        """Use ``state`` from now on (for instance after reading a file another process changed)."""
        self.state = state
        self.changes: list[tuple[str, str]] = []
        self.replaced = True
        self._project_names = {row["name"]: pid for pid, row in state["projects"].items()}
        self._task_names = {(row["project_id"], row["name"]): tid for tid, row in state["tasks"].items()}
        self._model_names = {(row["task_id"], row["name"]): mid for mid, row in state["models"].items()}

    # Every change goes through these two, which log it for the local backend's incremental encoding.
    def _put(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        self.state[table][row["id"]] = row
        self.changes.append((table, row["id"]))
        return row

    def _drop(self, table: str, row_id: str) -> None:
        del self.state[table][row_id]
        self.changes.append((table, row_id))

    def _new_id(self) -> str:
        # A counter kept in the state itself, so that an id is never reused, even after deletes.
        new_id = self.state["next_id"]
        self.state["next_id"] = new_id + 1
        return str(new_id)

    # Projects
    def projects(self) -> list[Project]:
        return [Project.from_dict(row) for row in self.state["projects"].values()]

    def project_by_id(self, project_id: str | None) -> Project | None:
        row = self.state["projects"].get(project_id)
        return Project.from_dict(row) if row else None

    def project_by_name(self, name: str) -> Project | None:
        return self.project_by_id(self._project_names.get(name))

    def create_project(self, project: Project) -> Project:
        if project.name in self._project_names:
            raise ExistingProjectError(f"Project {project.name!r} already exists.")
        row = {**project.to_dict(), "id": self._new_id()}
        self._put("projects", row)
        self._project_names[row["name"]] = row["id"]
        return Project.from_dict(row)

    def delete_project(self, project: Project) -> None:
        row = self.state["projects"].get(project.id)
        if row is None:
            raise NonExistingProjectError(f"Project {project.name!r} does not exist.")
        if any(key[0] == project.id for key in self._task_names):
            raise ProjectWithTasksError(f"Project {row['name']!r} has tasks: delete them first or pass cascade=True.")
        self._drop("projects", project.id)
        del self._project_names[row["name"]]

    # Tasks
    def tasks(self, project: Project) -> list[Task]:
        return [Task.from_dict(row) for row in self.state["tasks"].values() if row["project_id"] == project.id]

    def task_by_id(self, task_id: str | None) -> Task | None:
        row = self.state["tasks"].get(task_id)
        return Task.from_dict(row) if row else None

    def task_by_name(self, project: Project, name: str) -> Task | None:
        return self.task_by_id(self._task_names.get((project.id, name)))

    def create_task(self, task: Task) -> Task:
        project = self.state["projects"].get(task.project_id)
        if project is None:
            raise NonExistingProjectError(f"Project with id {task.project_id!r} does not exist.")
        if (task.project_id, task.name) in self._task_names:
            raise ExistingTaskError(f"Task {task.name!r} already exists in project {project['name']!r}.")
        row = {**task.to_dict(), "id": self._new_id(), "aliases": {}}
        self._put("tasks", row)
        self._task_names[(row["project_id"], row["name"])] = row["id"]
        return Task.from_dict(row)

    def delete_task(self, task: Task) -> None:
        row = self.state["tasks"].get(task.id)
        if row is None:
            raise NonExistingTaskError(f"Task {task.name!r} does not exist.")
        if any(key[0] == task.id for key in self._model_names):
            raise TaskWithModelsError(f"Task {row['name']!r} has models: delete them first or pass cascade=True.")
        self._drop("tasks", task.id)
        del self._task_names[(row["project_id"], row["name"])]

    # Models
    def models(self, task: Task) -> list[Model]:
        return [Model.from_dict(row) for row in self.state["models"].values() if row["task_id"] == task.id]

    def model_by_id(self, model_id: str | None) -> Model | None:
        row = self.state["models"].get(model_id)
        return Model.from_dict(row) if row else None

    def model_by_name(self, task: Task, name: str) -> Model | None:
        return self.model_by_id(self._model_names.get((task.id, name)))

    def create_model(self, model: Model) -> Model:
        task = self.state["tasks"].get(model.task_id)
        if task is None:
            raise NonExistingTaskError(f"Task with id {model.task_id!r} does not exist.")
        if (model.task_id, model.name) in self._model_names:
            raise ExistingModelError(f"Model {model.name!r} already exists in task {task['name']!r}.")
        row = {**model.to_dict(), "id": self._new_id()}
        self._put("models", row)
        self._model_names[(row["task_id"], row["name"])] = row["id"]
        return Model.from_dict(row)

    def delete_model(self, model: Model) -> None:
        row = self._model_row(model)
        task_row = self.state["tasks"][row["task_id"]]
        if model.id in task_row["aliases"].values():
            aliases = {alias: target for alias, target in task_row["aliases"].items() if target != model.id}
            self._put("tasks", {**task_row, "aliases": aliases})
        self._drop("models", model.id)
        del self._model_names[(row["task_id"], row["name"])]

    def _model_row(self, model: Model) -> dict[str, Any]:
        row = self.state["models"].get(model.id)
        if row is None:
            raise NonExistingModelError(f"Model {model.name!r} does not exist.")
        return row

    # Tags and aliases
    def set_model_tags(self, model: Model, tags: dict[str, str]) -> Model:
        row = self._model_row(model)
        row = self._put("models", {**row, "tags": {**row.get("tags", {}), **tags}})
        return Model.from_dict(row)

    def delete_model_tag(self, model: Model, key: str) -> Model:
        row = self._model_row(model)
        if key in row.get("tags", {}):
            tags = {name: value for name, value in row["tags"].items() if name != key}
            row = self._put("models", {**row, "tags": tags})
        return Model.from_dict(row)

    def _task_row(self, task: Task) -> dict[str, Any]:
        row = self.state["tasks"].get(task.id)
        if row is None:
            raise NonExistingTaskError(f"Task {task.name!r} does not exist.")
        return row

    def set_alias(self, task: Task, alias: str, model: Model) -> None:
        task_row, model_row = self._task_row(task), self._model_row(model)
        if model_row["task_id"] != task.id:
            raise ValueError(f"Model {model.name!r} is not in task {task.name!r}: an alias points within its task.")
        self._put("tasks", {**task_row, "aliases": {**task_row["aliases"], alias: model.id}})

    def delete_alias(self, task: Task, alias: str) -> None:
        task_row = self._task_row(task)
        if alias in task_row["aliases"]:
            aliases = {name: target for name, target in task_row["aliases"].items() if name != alias}
            self._put("tasks", {**task_row, "aliases": aliases})

    def aliases(self, task: Task) -> dict[str, str]:
        row = self.state["tasks"].get(task.id)
        return dict(row["aliases"]) if row else {}

    def search_models(self, query: ModelQuery) -> ModelPage:
        tasks = self.state["tasks"]
        rows = (
            row
            for row in self.state["models"].values()
            if (query.project_id is None or tasks[row["task_id"]]["project_id"] == query.project_id)
            and query.matches(row)
        )
        return query.page(rows)
