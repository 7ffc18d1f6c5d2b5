"""A metadata repository from five storage primitives: :class:`RecordMetadataRepository`.

A backend that stores records (a file per record, a key-value store, a document database) subclasses it and
implements five primitives; the base implements the whole :class:`MetadataRepository` contract on them: ids
and creation order, unique names, parents that must exist, deletes refused while children exist, aliases
kept within their task and dropped with their model, tags merged, copies returned, ids from users never
reaching the store unchecked. The built-in ``local`` and ``inmemory`` backends stand on it; see
``examples/ebonite-example-metadata`` for a complete backend in under 150 lines.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

from ..errors import (
    ExistingModelError,
    ExistingProjectError,
    ExistingTaskError,
    NonExistingProjectError,
    NonExistingTaskError,
    ProjectWithTasksError,
    TaskWithModelsError,
)
from ..interfaces import MetadataRepository
from ..interfaces.metadata import check_same
from ..objects import Model, Project, Task
from ..query import ModelPage, ModelQuery, ModelSummary, id_sort_key

Kind = Literal["projects", "tasks", "models", "counters"]
Record = dict[str, Any]
"""A project, task or model as :meth:`to_dict` gives it, with its ``id``; a task record also holds its
``aliases`` (``{alias: model id}``). A counter record is ``{"id": name, "next": number}``."""

# The field of each kind's records that holds the id of its parent, whose scope its name is unique in.
PARENT_FIELD = {"projects": None, "tasks": "project_id", "models": "task_id"}
MAX_ID_DIGITS = 20


def is_record_id(value: object) -> bool:
    """Whether ``value`` is an id this base hands out: a decimal number as text. Ids given by users are checked
    with it before they reach a primitive, so that ``"../x"`` never becomes part of a path or a key."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_DIGITS and value.isascii() and value.isdecimal()


class RecordMetadataRepository(MetadataRepository):
    """The whole :class:`MetadataRepository` contract on five primitives a backend implements.

    The primitives (records are plain JSON data; ``kind`` is ``"projects"``, ``"tasks"``, ``"models"`` or
    ``"counters"``):

    - :meth:`transaction`: a context manager holding the store's lock, for every process and thread, around
      each change. Inside it, :meth:`load` and :meth:`scan` see the latest state (a backend that caches
      decides freshness here, under the lock, from something every write changes), and what :meth:`put` and
      :meth:`delete` do is visible to others at its exit at the latest.
    - :meth:`load`: one record by id, or ``None``.
    - :meth:`scan`: every record of a kind, in any order.
    - :meth:`put`: store a record (new or replacing the one with its id).
    - :meth:`delete`: remove one record.

    What the base guarantees on them: ids are decimal numbers from a counter taken under the lock (never
    reused, even after deletes), and lists come in creation order, sorted by id, whatever order ``scan``
    gives; names are checked for clashes and parents for existence inside the transaction that writes; a
    change writes its records in an order that readers can never catch half-way into a dangling alias (a
    model's aliases go before the model), so a store that writes records one by one needs no atomicity across
    records; every object returned is built from a record, a fresh copy; ids given by users are refused
    before they reach a primitive (:func:`is_record_id`); a change to an object applies only to its own
    record, never to one of another object that holds its id (``check_same``); a damaged record is a
    ``MetadataCorruptError``.

    Fast paths a backend may override, each with a default on the primitives: :meth:`reading` (a context
    for reads: the in-memory and local backends take their lock and refresh there), :meth:`find` (one
    record by name, from an index), :meth:`children` (the tasks of a project, the models of a task),
    :meth:`new_id` (a counter kept elsewhere), ``search_models``, ``count_models`` and
    ``references_artifact_key``.
    """

    # The primitives
    @abstractmethod
    def transaction(self) -> AbstractContextManager[Any]:
        """Hold the store's lock around one change (see the class docstring)."""

    @abstractmethod
    def load(self, kind: Kind, record_id: str) -> Record | None:
        """The record of ``kind`` with this id, or ``None``."""

    @abstractmethod
    def scan(self, kind: Kind) -> Iterable[Record]:
        """Every record of ``kind``, in any order."""

    @abstractmethod
    def put(self, kind: Kind, record: Record) -> None:
        """Store ``record`` (called inside :meth:`transaction`): a new one, or a new version of one."""

    @abstractmethod
    def delete(self, kind: Kind, record_id: str) -> None:
        """Remove the record of ``kind`` with this id (called inside :meth:`transaction`)."""

    # Fast paths, with defaults built on the primitives
    def reading(self) -> AbstractContextManager[Any]:
        """A context around each read (a getter, a search): the default does nothing."""
        return nullcontext()

    def find(self, kind: Kind, parent_id: str | None, name: str) -> Record | None:
        """The record of ``kind`` called ``name`` under ``parent_id`` (``None`` for projects), or ``None``."""
        return next((record for record in self.children(kind, parent_id) if record.get("name") == name), None)

    def children(self, kind: Kind, parent_id: str | None) -> Iterable[Record]:
        """The records of ``kind`` under ``parent_id``: the tasks of a project, the models of a task."""
        parent_field = PARENT_FIELD[kind]
        if parent_field is None:
            return self.scan(kind)
        return (record for record in self.scan(kind) if record.get(parent_field) == parent_id)

    def new_id(self) -> str:
        """A fresh id (called inside :meth:`transaction`): the next value of a counter record, so that ids
        are never reused and follow the order of creation, in every process."""
        counter = self.load("counters", "ids") or {"id": "ids", "next": 1}
        self.put("counters", {"id": "ids", "next": counter["next"] + 1})
        return str(counter["next"])

    # Reading
    def _record(self, kind: Kind, record_id: object) -> Record | None:
        return self.load(kind, record_id) if is_record_id(record_id) else None  # type: ignore[arg-type]

    def _listed(self, records: Iterable[Record], build: Any) -> list[Any]:
        objects = [build(record) for record in records]
        return sorted(objects, key=lambda obj: id_sort_key(obj.id))

    def get_projects(self) -> list[Project]:
        with self.reading():
            return self._listed(self.scan("projects"), Project.from_dict)

    def get_project_by_name(self, name: str) -> Project | None:
        with self.reading():
            record = self.find("projects", None, name)
        return Project.from_dict(record) if record is not None else None

    def get_project_by_id(self, project_id: str) -> Project | None:
        with self.reading():
            record = self._record("projects", project_id)
        return Project.from_dict(record) if record is not None else None

    def get_tasks(self, project: Project) -> list[Task]:
        if not is_record_id(project.id):
            return []
        with self.reading():
            return self._listed(self.children("tasks", project.id), Task.from_dict)

    def get_task_by_name(self, project: Project, name: str) -> Task | None:
        if not is_record_id(project.id):
            return None
        with self.reading():
            record = self.find("tasks", project.id, name)
        return Task.from_dict(record) if record is not None else None

    def get_task_by_id(self, task_id: str) -> Task | None:
        with self.reading():
            record = self._record("tasks", task_id)
        return Task.from_dict(record) if record is not None else None

    def get_models(self, task: Task) -> list[Model]:
        if not is_record_id(task.id):
            return []
        with self.reading():
            return self._listed(self.children("models", task.id), Model.from_dict)

    def get_model_by_name(self, task: Task, name: str) -> Model | None:
        if not is_record_id(task.id):
            return None
        with self.reading():
            record = self.find("models", task.id, name)
        return Model.from_dict(record) if record is not None else None

    def get_model_by_id(self, model_id: str) -> Model | None:
        with self.reading():
            record = self._record("models", model_id)
        return Model.from_dict(record) if record is not None else None

    def get_aliases(self, task: Task) -> dict[str, str]:
        with self.reading():
            record = self._record("tasks", task.id)
        return dict(record.get("aliases") or {}) if record is not None else {}

    def get_model_by_alias(self, task: Task, alias: str) -> Model | None:
        with self.reading():
            record = self._record("tasks", task.id)
            model_id = (record.get("aliases") or {}).get(alias) if record is not None else None
            model = self._record("models", model_id)
        return Model.from_dict(model) if model is not None else None

    def search_models(self, query: ModelQuery) -> ModelPage:
        """The models that match ``query``, filtered on their records; only the page is built as objects."""
        with self.reading():
            return query.page(record for record in self._search_candidates(query) if query.matches(record))

    def count_models(self, query: ModelQuery) -> int:
        """How many models match ``query``: one pass over the candidate records, building no object."""
        with self.reading():
            return sum(1 for record in self._search_candidates(query) if query.matches(record))

    def summarize_models(self, query: ModelQuery) -> ModelSummary:
        """Count, total artifact size and newest creation date of the models that match ``query``: one pass
        over the candidate records, building no object."""
        with self.reading():
            return ModelSummary.of_rows(record for record in self._search_candidates(query) if query.matches(record))

    def references_artifact_key(self, key: str) -> bool:
        """Whether a model record holds ``key``: one pass over the records, building no object."""
        with self.reading():
            return any(record.get("artifact_key") == key for record in self.scan("models"))

    def _search_candidates(self, query: ModelQuery) -> Iterator[Record]:
        if query.task_id is not None:
            yield from self.children("models", query.task_id) if is_record_id(query.task_id) else ()
        elif query.project_id is not None:
            for task in list(self.children("tasks", query.project_id)) if is_record_id(query.project_id) else ():
                yield from self.children("models", task["id"])
        else:
            yield from self.scan("models")

    # Changing: every check and every write of one change inside one transaction
    def _existing(self, kind: Kind, obj: Project | Task | Model) -> Record:
        """The stored record of ``obj``, checked to be ``obj``'s (:func:`check_same`): a stale copy or an object
        of another registry that holds the id of an unrelated record here is ``NonExisting*Error``."""
        record = self._record(kind, obj.id)
        check_same(record, obj)
        return record  # type: ignore[return-value]

    def create_project(self, project: Project) -> Project:
        with self.transaction():
            if self.find("projects", None, project.name) is not None:
                raise ExistingProjectError(f"Project {project.name!r} already exists.")
            record = {**project.to_dict(), "id": self.new_id()}
            self.put("projects", record)
        return Project.from_dict(record)

    def delete_project(self, project: Project) -> None:
        with self.transaction():
            record = self._existing("projects", project)
            if next(iter(self.children("tasks", record["id"])), None) is not None:
                raise ProjectWithTasksError(
                    f"Project {record['name']!r} has tasks: delete them first or pass cascade=True."
                )
            self.delete("projects", record["id"])

    def create_task(self, task: Task) -> Task:
        with self.transaction():
            project = self._record("projects", task.project_id)
            if project is None:
                raise NonExistingProjectError(f"Project with id {task.project_id!r} does not exist.")
            if self.find("tasks", project["id"], task.name) is not None:
                raise ExistingTaskError(f"Task {task.name!r} already exists in project {project['name']!r}.")
            record = {**task.to_dict(), "id": self.new_id(), "aliases": {}}
            self.put("tasks", record)
        return Task.from_dict(record)

    def delete_task(self, task: Task) -> None:
        with self.transaction():
            record = self._existing("tasks", task)
            if next(iter(self.children("models", record["id"])), None) is not None:
                raise TaskWithModelsError(
                    f"Task {record['name']!r} has models: delete them first or pass cascade=True."
                )
            self.delete("tasks", record["id"])

    def create_model(self, model: Model) -> Model:
        with self.transaction():
            task = self._record("tasks", model.task_id)
            if task is None:
                raise NonExistingTaskError(f"Task with id {model.task_id!r} does not exist.")
            if self.find("models", task["id"], model.name) is not None:
                raise ExistingModelError(f"Model {model.name!r} already exists in task {task['name']!r}.")
            record = {**model.to_dict(), "id": self.new_id()}
            self.put("models", record)
        return Model.from_dict(record)

    def delete_model(self, model: Model) -> None:
        with self.transaction():
            record = self._existing("models", model)
            task = self._record("tasks", record["task_id"])
            aliases = (task or {}).get("aliases") or {}
            if task is not None and record["id"] in aliases.values():
                # The aliases go first: a reader between the two writes sees a model without aliases, never
                # an alias to nothing.
                kept = {alias: target for alias, target in aliases.items() if target != record["id"]}
                self.put("tasks", {**task, "aliases": kept})
            self.delete("models", record["id"])

    def set_model_tags(self, model: Model, tags: dict[str, str]) -> Model:
        with self.transaction():
            record = self._existing("models", model)
            record = {**record, "tags": {**(record.get("tags") or {}), **tags}}
            self.put("models", record)
        return Model.from_dict(record)

    def delete_model_tag(self, model: Model, key: str) -> Model:
        with self.transaction():
            record = self._existing("models", model)
            tags = record.get("tags") or {}
            if key in tags:
                record = {**record, "tags": {name: value for name, value in tags.items() if name != key}}
                self.put("models", record)
        return Model.from_dict(record)

    def set_alias(self, task: Task, alias: str, model: Model) -> None:
        with self.transaction():
            task_record = self._existing("tasks", task)
            model_record = self._existing("models", model)
            if model_record["task_id"] != task_record["id"]:
                raise ValueError(f"Model {model.name!r} is not in task {task.name!r}: an alias points within its task.")
            aliases = {**(task_record.get("aliases") or {}), alias: model_record["id"]}
            self.put("tasks", {**task_record, "aliases": aliases})

    def delete_alias(self, task: Task, alias: str) -> None:
        with self.transaction():
            record = self._existing("tasks", task)
            aliases = record.get("aliases") or {}
            if alias in aliases:
                self.put(
                    "tasks", {**record, "aliases": {name: target for name, target in aliases.items() if name != alias}}
                )
