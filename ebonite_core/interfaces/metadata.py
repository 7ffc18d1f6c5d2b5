"""The metadata repository interface: where projects, tasks and models' metadata live."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from ..errors import (
    ExistingProjectError,
    ExistingTaskError,
    NonExistingModelError,
    NonExistingProjectError,
    NonExistingTaskError,
)
from ..masking import hide_url_secrets
from ..objects import Model, Project, Task
from ..query import MAX_LIMIT, ModelPage, ModelQuery, ModelSummary
from .artifact import config_not_supported

# What identifies an object beyond its id, which is unique only within one store: an object of another
# registry, or a stale copy of one deleted since, may carry the id of an unrelated object of this one.
IDENTITY: dict[type, tuple[str, ...]] = {
    Project: ("name",),
    Task: ("name", "project_id"),
    Model: ("name", "task_id", "artifact_key"),
}
_MISSING = {Project: NonExistingProjectError, Task: NonExistingTaskError, Model: NonExistingModelError}


def check_same(stored: Project | Task | Model | Mapping[str, Any] | None, given: Project | Task | Model) -> None:
    """Raise ``NonExisting*Error`` unless ``stored`` (what the store holds under ``given.id``: an object or a
    row) is ``given``: the same name, parent and, for a model, artifact key. Deletes and other changes call it
    before they act on an id, so that an object of another registry never changes this one."""
    kind = next(cls for cls in IDENTITY if isinstance(given, cls))
    fields = IDENTITY[kind]
    if stored is not None and all(_text(_field(stored, name)) == _text(getattr(given, name)) for name in fields):
        return
    what = kind.__name__.lower()
    raise _MISSING[kind](
        f"{kind.__name__} {given.name!r} (id {given.id!r}) is not in this registry: it was deleted, or the object "
        f"comes from another registry. Get the {what} from this registry (get_{what}) to change or delete it."
    )


def _field(source: Any, name: str) -> Any:
    return source.get(name) if isinstance(source, dict) else getattr(source, name)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)  # a SQL store's row holds ids as numbers


class MetadataRepository(ABC):
    """Stores projects, tasks and models' metadata (never the model binaries).

    The contract every implementation keeps (``ebonite_core.testing.MetadataRepositoryContract`` checks it):

    - ``create_*`` store a copy of the object with a fresh ``id`` assigned by the repository (an opaque,
      never-reused string) and return that copy; the argument is left unchanged.
    - Names are unique in their scope: a project in the repository, a task in its project, a model in its
      task. A clash raises ``Existing{Project,Task,Model}Error``, decided atomically by the repository (two
      processes creating one name at once get one winner), never by a check-then-insert in the caller.
    - A child needs its parent: ``create_task`` raises ``NonExistingProjectError`` and ``create_model``
      ``NonExistingTaskError`` when it is missing.
    - ``create_model`` is the single atomic write that makes a pushed model visible: all of its metadata
      (``artifact_key`` and ``artifacts`` included) appears at once or not at all.
    - Deletes refuse objects that still have children (``ProjectWithTasksError``, ``TaskWithModelsError``)
      and raise ``NonExisting*Error`` for objects that are gone; the client implements cascades.
    - Deletes, tags and aliases act on an object only if it is the stored one (:func:`check_same`: the same
      name, parent and, for a model, artifact key under its id), checked atomically with the change: an
      object of another registry or a stale copy is ``NonExisting*Error``, never applied to whatever holds
      its id here.
    - Getters return fresh copies (mutating one never changes the store); one-object getters return
      ``None`` when nothing matches; lists are in creation order.
    - The repository never stores absolute paths, endpoints or credentials inside the metadata.

    Optional methods, with defaults: ``search_models`` (built on the getters), ``count_models`` and
    ``summarize_models`` (built on ``search_models``; SQL backends do all three in the database), ``config`` (the
    constructor options, for ``Ebonite.save_config``; the default raises ``NotImplementedError``),
    ``clean_leftovers`` (what interrupted writes left behind, for ``ebonite gc``; the default finds nothing),
    ``references_artifact_key`` (whether a model records a key, for the check garbage collection makes right before
    each deletion; the default walks every model) and ``close``. ``path_options`` names the constructor options that
    are local paths (resolved relative to a config file's directory); ``hide_secrets`` finds the secrets inside
    option values (:func:`ebonite_core.masking.hide_url_secrets`).

    Write your own::

        class MyMetadataRepository(MetadataRepository):
            type = "mine"                      # the name users pass to Ebonite.custom_client(metadata=...)

            def __init__(self, url: str) -> None: ...
            def get_projects(self) -> list[Project]: ...
            # ... and the other abstract methods below; then register the class through the
            # ebonite_metadata_repositories hook (see docs/writing-a-backend.md).
            def config(self): return {"url": self.url}   # optional: lets save_config write this store
    """

    type: ClassVar[str]
    path_options: ClassVar[tuple[str, ...]] = ()

    # Projects
    @abstractmethod
    def get_projects(self) -> list[Project]:
        """Every project."""

    @abstractmethod
    def get_project_by_name(self, name: str) -> Project | None:
        """The project called ``name``, or ``None``."""

    @abstractmethod
    def get_project_by_id(self, project_id: str) -> Project | None:
        """The project with this id, or ``None``."""

    @abstractmethod
    def create_project(self, project: Project) -> Project:
        """Store a new project; ``ExistingProjectError`` if the name is taken."""

    @abstractmethod
    def delete_project(self, project: Project) -> None:
        """Delete a project that has no tasks (``ProjectWithTasksError`` otherwise)."""

    # Tasks
    @abstractmethod
    def get_tasks(self, project: Project) -> list[Task]:
        """Every task of ``project``."""

    @abstractmethod
    def get_task_by_name(self, project: Project, name: str) -> Task | None:
        """The task of ``project`` called ``name``, or ``None``."""

    @abstractmethod
    def get_task_by_id(self, task_id: str) -> Task | None:
        """The task with this id, or ``None``."""

    @abstractmethod
    def create_task(self, task: Task) -> Task:
        """Store a new task in the project ``task.project_id``; ``ExistingTaskError`` if the name is taken."""

    @abstractmethod
    def delete_task(self, task: Task) -> None:
        """Delete a task that has no models (``TaskWithModelsError`` otherwise)."""

    # Models
    @abstractmethod
    def get_models(self, task: Task) -> list[Model]:
        """Every model of ``task``."""

    @abstractmethod
    def get_model_by_name(self, task: Task, name: str) -> Model | None:
        """The model of ``task`` called ``name``, or ``None``."""

    @abstractmethod
    def get_model_by_id(self, model_id: str) -> Model | None:
        """The model with this id, or ``None``."""

    @abstractmethod
    def create_model(self, model: Model) -> Model:
        """Store a new model in the task ``model.task_id``, atomically; ``ExistingModelError`` if taken."""

    @abstractmethod
    def delete_model(self, model: Model) -> None:
        """Delete a model's metadata (its artifacts are the client's business)."""

    # Tags and aliases
    @abstractmethod
    def set_model_tags(self, model: Model, tags: dict[str, str]) -> Model:
        """Add or overwrite ``tags`` (already validated) on a stored model, atomically; return the stored model.

        ``NonExistingModelError`` if the model is gone.
        """

    @abstractmethod
    def delete_model_tag(self, model: Model, key: str) -> Model:
        """Remove the tag ``key`` (nothing happens if there is none); return the stored model."""

    @abstractmethod
    def set_alias(self, task: Task, alias: str, model: Model) -> None:
        """Point the alias (already validated) of ``task`` at ``model``, replacing its target atomically.

        The model must belong to the task (``ValueError`` otherwise); ``NonExistingModelError`` if it is gone.
        Deleting a model removes the aliases pointing at it, in the same atomic change.
        """

    @abstractmethod
    def delete_alias(self, task: Task, alias: str) -> None:
        """Remove an alias of ``task`` (nothing happens if there is none)."""

    @abstractmethod
    def get_aliases(self, task: Task) -> dict[str, str]:
        """``{alias: model id}`` for every alias of ``task``."""

    # Shared logic, built on the methods above; backends may override it with something faster.
    def get_model_by_alias(self, task: Task, alias: str) -> Model | None:
        """The model the alias of ``task`` points at, or ``None``."""
        model_id = self.get_aliases(task).get(alias)
        return self.get_model_by_id(model_id) if model_id is not None else None

    def search_models(self, query: ModelQuery) -> ModelPage:
        """One page of the models that match ``query`` (see :mod:`ebonite_core.query` for the semantics).

        This default walks every project, task and model; a backend that can filter and sort in its store
        (SQL) should override it.
        """
        projects = [self.get_project_by_id(query.project_id)] if query.project_id else self.get_projects()
        rows = []
        for project in projects:
            if project is None:
                continue
            tasks = [self.get_task_by_id(query.task_id)] if query.task_id else self.get_tasks(project)
            for task in tasks:
                if task is None or task.project_id != project.id:
                    continue
                rows.extend(row for row in map(Model.to_dict, self.get_models(task)) if query.matches(row))
        return query.page(rows)

    def count_models(self, query: ModelQuery) -> int:
        """How many models match ``query`` (its order, limit and page token aside).

        This default counts through :meth:`search_models`, page by page (memory stays bounded); a backend
        that can count in its store (SQL) should override it.
        """
        count, query = 0, replace(query, limit=MAX_LIMIT, after=None)
        while True:
            page = self.search_models(query)
            count += len(page)
            if page.next_page_token is None:
                return count
            query = replace(query, after=query.decode_token(page.next_page_token))

    def summarize_models(self, query: ModelQuery) -> ModelSummary:
        """How many models match ``query`` (its order, limit and page token aside), the total size of their
        artifacts and the creation date of the newest: what the web UI's registry page shows per task.

        This default reads them through :meth:`search_models`, page by page (memory stays bounded); a backend
        that can aggregate in its store (SQL) should override it.
        """
        summary, query = ModelSummary(), replace(query, limit=MAX_LIMIT, after=None)
        while True:
            page = self.search_models(query)
            summary = summary.add(ModelSummary.of_models(page))
            if page.next_page_token is None:
                return summary
            query = replace(query, after=query.decode_token(page.next_page_token))

    def references_artifact_key(self, key: str) -> bool:
        """Whether a stored model records ``key`` as its artifact key: what garbage collection asks right
        before deleting an unreferenced key. This default walks every model; backends that can look the key
        up should override it."""
        return any(
            model.artifact_key == key
            for project in self.get_projects()
            for task in self.get_tasks(project)
            for model in self.get_models(task)
        )

    def get_or_create_project(self, name: str) -> Project:
        """The project called ``name``, created if missing; safe when several processes race to create it."""
        project = self.get_project_by_name(name)
        if project is not None:
            return project
        try:
            return self.create_project(Project(name))
        except ExistingProjectError:
            project = self.get_project_by_name(name)
            if project is None:  # created and deleted again in between: let the caller retry
                raise
            return project

    def get_or_create_task(self, project: Project, name: str) -> Task:
        """The task of ``project`` called ``name``, created if missing; safe under concurrent creation."""
        task = self.get_task_by_name(project, name)
        if task is not None:
            return task
        try:
            return self.create_task(Task(name, project_id=project.id))
        except ExistingTaskError:
            task = self.get_task_by_name(project, name)
            if task is None:
                raise
            return task

    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this repository: ``type(self)(**repo.config())``.

        Values are JSON data (str, int, float, bool, lists, dicts; leave out options at their default
        rather than returning ``None``, which TOML cannot write). Return secrets as they are (a password in
        a database URL included): the caller masks them. Subclasses that add constructor options must
        override this. The default raises ``NotImplementedError``.
        """
        raise NotImplementedError(config_not_supported(self, "metadata"))

    @classmethod
    def hide_secrets(cls, option: str, value: str, hide: Callable[[str, str], str]) -> str:
        """``value`` (of the constructor option ``option``) with every secret inside it replaced by
        ``hide(label, secret)``, for masking and for ``save_config``. The default finds a URL's password and
        secret query parameters with :mod:`urllib.parse` (:func:`ebonite_core.masking.hide_url_secrets`);
        a backend whose driver reads URLs its own way overrides it with the driver's parser. Options named
        like a secret (``password``, ``token``...) are hidden whole before this is asked."""
        return hide_url_secrets(value, hide)

    def clean_leftovers(self, older_than: datetime, dry_run: bool = False) -> list[str]:
        """Remove what interrupted writes of this backend left behind and last wrote before ``older_than``
        (temporary files...); return a description of each thing removed, or that would be with
        ``dry_run``. The default finds nothing.
        """
        return []

    def close(self) -> None:  # noqa: B027 - optional, with a default that does nothing
        """Release connections, locks or files; the default does nothing."""
