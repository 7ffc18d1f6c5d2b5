"""The Ebonite client: one metadata repository and one artifact repository, and what users do with them."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from .config import CONFIG_VARIABLE, build_repositories, config_document, parse_config, save_document
from .errors import (
    ExistingModelError,
    MetadataCorruptError,
    NonExistingProjectError,
    NonExistingTaskError,
)
from .interfaces import ArtifactRepository, MetadataRepository, ModelSerializer
from .interfaces.metadata import check_same
from .masking import mask, remember_repository
from .model import additional
from .model.create import create_model
from .model.requirements import check_requirements
from .model.safety import check_load_allowed, loads_without_code, resolve_allow_pickle
from .model.storage import new_artifact_key, private_directory, read_object, write_files
from .names import check_alias, check_name, check_tags
from .objects import Model, Project, Task, check_storable
from .plugins import resolve
from .query import ModelPage, ModelQuery
from .recording import discard_artifacts, record_model, recorded_despite
from .repository.inmemory import InMemoryArtifactRepository, InMemoryMetadataRepository
from .repository.local import LocalArtifactRepository
from .repository.local_metadata import LocalMetadataRepository

ProjectRef = Project | str
TaskRef = Task | str
T = TypeVar("T", Project, Task, Model)


def _bind(obj: Any, client: Ebonite) -> Any:
    if obj is not None:
        obj._client = client
    return obj


class Ebonite:
    """A client composed of a metadata repository and an artifact repository.

    Everything below works the same whatever the repositories are::

        ebnt = Ebonite.local()                                   # or inmemory(), custom_client(...)
        task = ebnt.get_or_create_task("my_project", "my_task")
        model = task.create_and_push_model(trained, sample, "my_model")
        ebnt.get_model("my_model", task).predict(sample)

    ``allow_pickle=False`` refuses to load models stored in a format whose loading can run code from the file
    (pickle), with :class:`~ebonite_core.errors.UnsafeModelError`, before any of their files is read.
    ``None`` (the default) takes ``$EBONITE_ALLOW_PICKLE`` when it is set, else allows them (see
    :mod:`ebonite_core.model.safety`); ``client.allow_pickle`` holds the result.
    """

    def __init__(
        self,
        metadata_repository: MetadataRepository,
        artifact_repository: ArtifactRepository,
        allow_pickle: bool | None = None,
    ):
        if not isinstance(metadata_repository, MetadataRepository):
            raise TypeError(f"metadata_repository must be a MetadataRepository, not {metadata_repository!r}")
        if not isinstance(artifact_repository, ArtifactRepository):
            raise TypeError(f"artifact_repository must be an ArtifactRepository, not {artifact_repository!r}")
        self.meta_repo = metadata_repository
        self.artifact_repo = artifact_repository
        self.allow_pickle = resolve_allow_pickle(allow_pickle)
        self._allow_pickle_setting = allow_pickle  # as given (None: from the environment), for save_config
        self._raw_options: dict[str, dict[str, Any]] = {}  # as read by from_config, for save_config
        for repository in (metadata_repository, artifact_repository):
            remember_repository(repository)  # their secrets are masked in whatever mentions them from now on

    def __repr__(self) -> str:
        return mask(f"Ebonite({self.meta_repo!r}, {self.artifact_repo!r})")

    # Factories
    @classmethod
    def local(
        cls,
        path: str | os.PathLike[str] | None = None,
        clear: bool = False,
        durable: bool = True,
        allow_pickle: bool | None = None,
    ) -> Ebonite:
        """A client on a local store: ``<path>/metadata.json`` and files under ``<path>/artifacts/``.

        ``path`` defaults to ``.ebonite`` in the working directory. ``clear=True`` first removes what a
        store wrote there (the metadata file, its lock and the artifacts), and nothing else.
        ``durable=False`` skips fsync (see :class:`~ebonite_core.LocalMetadataRepository`).
        """
        root = Path(path if path is not None else ".ebonite")
        artifacts = LocalArtifactRepository(root / "artifacts", durable=durable)
        if clear:
            metadata = LocalMetadataRepository(root / "metadata.json")
            try:  # keys from before markers: the store's own when its metadata references them
                referenced = frozenset(
                    model.artifact_key
                    for project in metadata.get_projects()
                    for task in metadata.get_tasks(project)
                    for model in metadata.get_models(task)
                    if model.artifact_key
                )
            except MetadataCorruptError:
                referenced = frozenset()
            for name in ("metadata.json", "metadata.json.lock"):
                (root / name).unlink(missing_ok=True)  # unlinks a link, never what it points at
            artifacts.clear(referenced)
        return cls(
            LocalMetadataRepository(root / "metadata.json", durable=durable), artifacts, allow_pickle=allow_pickle
        )

    @classmethod
    def inmemory(cls, allow_pickle: bool | None = None) -> Ebonite:
        """A client whose repositories live in this process only."""
        return cls(InMemoryMetadataRepository(), InMemoryArtifactRepository(), allow_pickle=allow_pickle)

    @classmethod
    def custom_client(
        cls,
        metadata: str | MetadataRepository,
        artifact: str | ArtifactRepository,
        meta_kwargs: dict[str, Any] | None = None,
        artifact_kwargs: dict[str, Any] | None = None,
        allow_pickle: bool | None = None,
    ) -> Ebonite:
        """A client from two repository types (their ``type`` names) or instances.

        Types resolve through plugins: ``local`` and ``inmemory`` are built in; others (``sqlalchemy``,
        ``s3``, third-party ones) come from installed packages. An unknown type raises
        :class:`~ebonite_core.errors.UnknownBackendError` naming what is installed and what to install; an
        option the type does not take (or a required one left out) a :class:`~ebonite_core.errors.ConfigError`
        naming the closest match.
        """
        by_type: dict[str, tuple[str, dict[str, Any]]] = {}
        if isinstance(metadata, str):
            by_type["metadata"] = (metadata, meta_kwargs or {})
        elif meta_kwargs:
            raise TypeError("meta_kwargs only apply when metadata is a type name.")
        if isinstance(artifact, str):
            by_type["artifact"] = (artifact, artifact_kwargs or {})
        elif artifact_kwargs:
            raise TypeError("artifact_kwargs only apply when artifact is a type name.")
        built = build_repositories(by_type)
        return cls(built.get("metadata", metadata), built.get("artifact", artifact), allow_pickle=allow_pickle)

    @classmethod
    def from_config(cls, config: str | os.PathLike[str] | Mapping[str, Any]) -> Ebonite:
        """A client from a configuration: a ``.toml`` or ``.json`` file, or the same data as a mapping::

            [metadata]
            type = "local"
            path = "registry/metadata.json"     # relative to the file's directory

            [artifact]
            type = "s3"
            bucket_name = "models"
            endpoint = "${S3_ENDPOINT}"            # from the environment

        A top-level ``allow_pickle = false`` (before the tables) refuses code-running formats (see
        :class:`Ebonite`); without it, ``$EBONITE_ALLOW_PICKLE`` or the default decides.

        ``${NAME}`` is replaced by the environment variable (``${NAME:-fallback}`` has a fallback, ``$${`` is a
        literal ``${``). A missing file or variable, a missing section or an option the backend does not take
        raises :class:`~ebonite_core.errors.ConfigError`; an unknown type ``UnknownBackendError``. See
        :mod:`ebonite_core.config`.
        """
        parsed = parse_config(config)
        parts = {"metadata": parsed.metadata, "artifact": parsed.artifact}
        built = build_repositories({kind: (part.type, part.options) for kind, part in parts.items()}, parsed.source)
        client = cls(built["metadata"], built["artifact"], allow_pickle=parsed.allow_pickle)
        client._raw_options = {"metadata": parsed.metadata.raw_options, "artifact": parsed.artifact.raw_options}
        return client

    @classmethod
    def from_env(cls) -> Ebonite:
        """The client the environment names: the config file ``$EBONITE_CONFIG`` if set, else
        :meth:`local` (``.ebonite`` in the working directory). The ``ebonite`` command resolves its client the
        same way, unless ``--config`` names a file."""
        path = os.environ.get(CONFIG_VARIABLE)
        return cls.from_config(path) if path else cls.local()

    def save_config(self, path: str | os.PathLike[str], include_secrets: bool = False) -> list[str]:
        """Write the configuration that rebuilds this client to ``path`` (``.toml`` or ``.json``).

        Secrets are not written in clear unless ``include_secrets=True``: options named like a secret
        (``password``, ``secret_key``, ``token``...) and passwords inside URLs become ``${EBONITE_...}``
        references; the names of these environment variables are returned, for whoever loads the file to set.
        Options that were loaded as ``${...}`` references are written back as the same references. Local
        paths inside the file's directory are written relative to it. Each repository must implement
        ``config()`` (the built-in ones do); otherwise ``NotImplementedError``.
        """
        target = Path(path)
        document, needed = config_document(
            {"metadata": self.meta_repo, "artifact": self.artifact_repo},
            target,
            include_secrets=include_secrets,
            raw_options=self._raw_options,
        )
        if self._allow_pickle_setting is not None:  # one taken from the environment stays the environment's
            document = {"allow_pickle": self._allow_pickle_setting, **document}
        save_document(document, target)
        return needed

    def close(self) -> None:
        """Close both repositories."""
        self.meta_repo.close()
        self.artifact_repo.close()

    # Projects
    def get_projects(self) -> list[Project]:
        """Every project."""
        return [_bind(project, self) for project in self.meta_repo.get_projects()]

    def get_project(self, name: str) -> Project | None:
        """The project called ``name``, or ``None``."""
        return _bind(self.meta_repo.get_project_by_name(name), self)

    def create_project(self, name: str) -> Project:
        """Create a project; ``ExistingProjectError`` if the name is taken."""
        return _bind(self.meta_repo.create_project(Project(check_name(name, "project"))), self)

    def get_or_create_project(self, name: str) -> Project:
        """The project called ``name``, created if missing."""
        return _bind(self.meta_repo.get_or_create_project(check_name(name, "project")), self)

    def delete_project(self, project: ProjectRef, cascade: bool = False) -> None:
        """Delete a project; with ``cascade=True`` its tasks and their models (artifacts included) too.

        Without cascade, a project that has tasks raises ``ProjectWithTasksError``.
        """
        project = self._own(self._project(project))
        if cascade:
            for task in self.meta_repo.get_tasks(project):
                self.delete_task(task, cascade=True)
        self.meta_repo.delete_project(project)

    def _project(self, project: ProjectRef) -> Project:
        if isinstance(project, Project):
            return project
        found = self.meta_repo.get_project_by_name(check_name(project, "project"))
        if found is None:
            raise NonExistingProjectError(f"Project {project!r} does not exist.")
        return found

    # Tasks
    def get_tasks(self, project: ProjectRef) -> list[Task]:
        """Every task of a project (an object or a name; ``NonExistingProjectError`` if there is none)."""
        return [_bind(task, self) for task in self.meta_repo.get_tasks(self._project(project))]

    def get_task(self, project: ProjectRef, task_name: str) -> Task | None:
        """The task ``task_name`` of ``project``, or ``None`` if either does not exist."""
        if not isinstance(project, Project):
            found = self.meta_repo.get_project_by_name(project)
            if found is None:
                return None
            project = found
        return _bind(self.meta_repo.get_task_by_name(project, task_name), self)

    def create_task(self, project: ProjectRef, task_name: str) -> Task:
        """Create a task in an existing project; ``ExistingTaskError`` if the name is taken."""
        task = Task(check_name(task_name, "task"), project_id=self._own(self._project(project)).id)
        return _bind(self.meta_repo.create_task(task), self)

    def get_or_create_task(self, project: ProjectRef, task_name: str) -> Task:
        """The task ``task_name`` of ``project``, creating the project and the task if needed."""
        check_name(task_name, "task")
        if isinstance(project, Project):
            self._own(project)
        else:
            project = self.meta_repo.get_or_create_project(check_name(project, "project"))
        return _bind(self.meta_repo.get_or_create_task(project, task_name), self)

    def delete_task(self, task: Task, cascade: bool = False) -> None:
        """Delete a task; with ``cascade=True`` its models (artifacts included) too.

        Without cascade, a task that has models raises ``TaskWithModelsError``.
        """
        self._own(task)
        if cascade:
            for model in self.meta_repo.get_models(task):
                self.delete_model(model)
        self.meta_repo.delete_task(task)

    def _task(self, task: TaskRef, project: ProjectRef | None) -> Task:
        if isinstance(task, Task):
            return task
        if project is None:
            raise ValueError(f"Task {task!r} is given by name: pass its project too.")
        found = self.get_task(project, task)
        if found is None:
            raise NonExistingTaskError(f"Task {task!r} does not exist in project {project!r}.")
        return found

    # Models
    def get_models(self, task: TaskRef, project: ProjectRef | None = None) -> list[Model]:
        """Every model of a task (metadata only; each loads on first use)."""
        return [_bind(model, self) for model in self.meta_repo.get_models(self._task(task, project))]

    def get_model(
        self, model_name: str, task: TaskRef, project: ProjectRef | None = None, load_artifacts: bool = False
    ) -> Model | None:
        """The model ``model_name`` of ``task`` (a Task, or a task name with its project), or ``None``.

        Only the metadata is fetched unless ``load_artifacts=True``; ``model.load()`` or calling a method
        such as ``model.predict(...)`` fetches and checks the artifacts.
        """
        if not isinstance(task, Task):
            if project is None:
                raise ValueError(f"Task {task!r} is given by name: pass its project too.")
            task = self.get_task(project, task)
            if task is None:
                return None
        model = _bind(self.meta_repo.get_model_by_name(task, model_name), self)
        if model is not None and load_artifacts:
            model.load()
        return model

    def push_model(self, model: Model, task: Task | None = None) -> Model:
        """Store ``model`` (from :func:`create_model`) in ``task``; return it, now bound to this client.

        Artifacts are written first under a fresh key, then the metadata in one atomic write; if anything
        fails, the uploaded artifacts are removed and nothing becomes visible. A metadata write that fails
        after it took effect (a database's answer lost with the connection) is recognised: the stored model
        is returned. When the store cannot tell (still unreachable), the error is raised and the artifacts are
        kept for ``ebonite gc``, never removed from under a model that may be visible.
        """
        task = self._push_target(model, task)
        stored = self._push_and_record(model, task)
        model.id, model.task_id, model.artifact_key, model.artifacts, model.format = (
            stored.id,
            task.id,
            stored.artifact_key,
            stored.artifacts,
            stored.format,
        )
        return _bind(model, self)

    def _push_target(self, model: Model, task: Task | None) -> Task:
        """The stored task ``model`` goes into, after every check that can refuse the push before a byte is
        written: a model object already stored, no task, an invalid name, metadata no backend can store, no
        object, a name taken (checked early, or by the upload's own request when the artifact repository
        :meth:`~ArtifactRepository.records_models`; the metadata store decides atomically when it records)."""
        if model.id is not None:
            home = self.meta_repo.get_task_by_id(model.task_id) if model.task_id else None
            where = f"task {home.name!r}" if home else "another registry"
            raise ExistingModelError(
                f"Model {model.name!r} is already stored in {where}; create a new model object to store it again."
            )
        if task is None:
            task = self.meta_repo.get_task_by_id(model.task_id) if model.task_id else None
            if task is None:
                raise ValueError(f"Model {model.name!r} names no stored task: pass the task to push it into.")
        if task.id is None:
            raise NonExistingTaskError(f"Task {task.name!r} is not stored: create it with get_or_create_task.")
        self._own(task)
        check_name(model.name, "model")
        check_storable(model)
        if model._object is None:
            raise ValueError(f"Model {model.name!r} holds no object to store: build it with create_model().")
        if (
            not self.artifact_repo.records_models(self.meta_repo)  # else checked by the push's own request
            and self.meta_repo.get_model_by_name(task, model.name) is not None
        ):
            raise ExistingModelError.taken(model.name, task.name)
        return task

    def _push_and_record(self, model: Model, task: Task) -> Model:
        """Serialize the model's object (and its additional artifacts), store the files under a fresh key and
        record the model with its manifest and format (what the load gate reads: whether the serializer
        declares its files safe to load, and what its ``dump`` returned); the stored model.

        The files are written to a private directory first. An artifact repository that
        :meth:`~ArtifactRepository.records_models` may record the model in the same request as its files;
        otherwise the metadata is written after the files, in one atomic write. Nothing is left behind when
        this fails, except artifacts that a model may reference (see :mod:`ebonite_core.recording`)."""
        serializer_class = resolve("serializer", model.serializer)
        serializer: ModelSerializer = serializer_class()
        key = new_artifact_key()
        sync = self.artifact_repo.sync_staged_files
        records = self.artifact_repo.records_models(self.meta_repo)
        staged: Model | None = None
        try:
            with private_directory(self.artifact_repo, "push", model.name) as directory:
                manifest, details = write_files(serializer, model._object, Path(directory), model.name, sync=sync)
                manifest += additional.write_files(model, Path(directory), {item.name for item in manifest}, sync)
                form = {"safe": serializer_class.safe is True, "details": details}
                staged = dataclasses.replace(model, task_id=task.id, artifact_key=key, artifacts=manifest, format=form)
                files = {artifact.name: Path(directory) / artifact.name for artifact in manifest}
                stored = self.artifact_repo.push_model_files(key, files, staged, task)
        except BaseException as err:
            if staged is None or not records:
                discard_artifacts(self.artifact_repo, key)
                raise
            return recorded_despite(self.meta_repo, self.artifact_repo, err, staged, task)
        return stored if stored is not None else record_model(self.meta_repo, self.artifact_repo, staged, task)

    def create_model(
        self,
        obj: Any,
        input_data: Any,
        model_name: str | None = None,
        *,
        project_name: str = "default_project",
        task_name: str = "default_task",
        task: Task | None = None,
        **kwargs: Any,
    ) -> Model:
        """Analyse ``obj`` (see :func:`ebonite_core.create_model`) and push it into ``project_name/task_name``,
        or into ``task`` when it is given (what ``task.create_and_push_model`` does).

        The project and task are created if missing, once the analysis has succeeded: an object that cannot
        be serialized, a sample the model rejects, invalid params or an invalid name change nothing.
        """
        model = create_model(obj, input_data, model_name, **kwargs)
        return self.push_model(model, task if task is not None else self.get_or_create_task(project_name, task_name))

    def delete_model(self, model: Model) -> None:
        """Delete a model: its metadata first (so it is never visible half-deleted), then its artifacts.

        A model object of another registry, or a stale copy of one deleted since, is refused with
        ``NonExistingModelError``: its id may name an unrelated model here, which is never touched.
        """
        self.meta_repo.delete_model(self._own(model))
        if model.artifact_key:
            discard_artifacts(self.artifact_repo, model.artifact_key)
        model.id = None

    # Tags, aliases and search
    def set_model_tags(self, model: Model, tags: dict[str, str]) -> Model:
        """Add or overwrite tags on a stored model; ``model.tags`` shows the stored tags afterwards."""
        stored = self.meta_repo.set_model_tags(self._own(model), check_tags(tags))
        model.tags = stored.tags
        return model

    def delete_model_tag(self, model: Model, key: str) -> Model:
        """Remove one tag from a stored model (nothing happens if it has no such tag)."""
        model.tags = self.meta_repo.delete_model_tag(self._own(model), key).tags
        return model

    def set_alias(self, task: Task, alias: str, model: Model) -> None:
        """Point ``alias`` (such as ``"champion"``) of ``task`` at one of its models; moving it is atomic.

        Deleting the model removes the aliases that point at it.
        """
        self.meta_repo.set_alias(self._own(task), check_alias(alias), self._own(model))

    def get_model_by_alias(self, task: Task, alias: str) -> Model | None:
        """The model ``alias`` of ``task`` points at, or ``None`` (metadata only)."""
        return _bind(self.meta_repo.get_model_by_alias(task, alias), self)

    def get_aliases(self, task: Task) -> dict[str, Model]:
        """Every alias of ``task`` with the model it points at."""
        found = {
            alias: self.meta_repo.get_model_by_id(model_id)
            for alias, model_id in self.meta_repo.get_aliases(task).items()
        }
        return {alias: _bind(model, self) for alias, model in found.items() if model is not None}

    def delete_alias(self, task: Task, alias: str) -> None:
        """Remove an alias of ``task`` (nothing happens if there is none)."""
        self.meta_repo.delete_alias(self._own(task), alias)

    def _own(self, obj: T) -> T:
        """``obj`` if it is this registry's, else ``NonExisting*Error``: ids are unique only within one store,
        so an object of another registry, or a copy of one made elsewhere, may carry the id of an unrelated
        object here. Every change by id checks this first (see ``check_same``); an object this client handed
        out costs no read."""
        if getattr(obj, "_client", None) is self:
            # Handed out by this client: its id names it here (ids are never reused; if it was deleted since,
            # the change fails as for a missing one, and the repositories check name and parent as well).
            return obj
        stored: Any = None
        if obj.id is not None:
            if isinstance(obj, Model):
                stored = self.meta_repo.get_model_by_id(obj.id)
            elif isinstance(obj, Task):
                stored = self.meta_repo.get_task_by_id(obj.id)
            else:
                stored = self.meta_repo.get_project_by_id(obj.id)
        check_same(stored, obj)
        return obj

    def search_models(
        self,
        project: ProjectRef | None = None,
        task: TaskRef | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        order_by: str = "-creation_date",
        limit: int = 100,
        page_token: str | None = None,
    ) -> ModelPage:
        """One page of models (metadata only) matching every filter given; ``page.next_page_token`` gets the next.

        ``params`` compares numbers with ``{"accuracy": (">=", 0.9)}`` (``==``, ``!=``, ``<``, ``<=``, ``>``,
        ``>=``) and strings or numbers for equality with ``{"kernel": "rbf"}``. ``order_by`` is
        ``creation_date``, ``name``, ``author``, ``params.<key>`` (numbers), ``text_params.<key>`` (strings) or
        ``tags.<key>``, ``-`` first for descending; ordering by a field lists only the models that have a value
        of its kind for it. See
        :mod:`ebonite_core.query` for the details.
        """
        query = self._query(
            project, task, tags, params, created_after, created_before, order_by, limit=limit, page_token=page_token
        )
        page = self.meta_repo.search_models(query)
        for model in page:
            _bind(model, self)
        return page

    def iter_models(
        self,
        project: ProjectRef | None = None,
        task: TaskRef | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        order_by: str = "creation_date",
        page_size: int = 500,
    ) -> Iterator[Model]:
        """Every model matching the filters (those of :meth:`search_models`), oldest first by default, read
        page by page: memory holds one page, whatever the size of the registry.

        Pages are keyset pages: a model pushed while the iteration runs is met if it sorts after the current
        page, and no model is met twice. Without ``project`` and ``task``, the whole registry.
        """
        token: str | None = None
        while True:
            page = self.search_models(
                project, task, tags, params, created_after, created_before, order_by, page_size, token
            )
            yield from page
            token = page.next_page_token
            if token is None:
                return

    def count_models(
        self,
        project: ProjectRef | None = None,
        task: TaskRef | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> int:
        """How many models match the filters (those of :meth:`search_models`); one ``count`` in SQL."""
        return self.meta_repo.count_models(
            self._query(project, task, tags, params, created_after, created_before, "creation_date")
        )

    def _query(
        self,
        project: ProjectRef | None,
        task: TaskRef | None,
        tags: dict[str, str] | None,
        params: dict[str, Any] | None,
        created_after: datetime | None,
        created_before: datetime | None,
        order_by: str,
        limit: int = 100,
        page_token: str | None = None,
    ) -> ModelQuery:
        project_id = task_id = None
        if task is not None:
            task_id = self._task(task, project).id
        elif project is not None:
            project_id = self._project(project).id
        return ModelQuery.create(
            project_id=project_id,
            task_id=task_id,
            tags=tags,
            params=params,
            created_after=created_after,
            created_before=created_before,
            order_by=order_by,
            limit=limit,
            page_token=page_token,
        )

    def latest_model(self, task: TaskRef, project: ProjectRef | None = None) -> Model | None:
        """The newest model of a task, or ``None`` if it has none."""
        page = self.search_models(task=task, project=project, limit=1)
        return page[0] if page else None

    def load_object(self, model: Model) -> Any:
        """Fetch, check and deserialize the object of a stored model (``model.load()`` calls this); its
        additional artifacts are fetched and checked with it (``model.additional_artifacts``).

        The load gate runs first: with ``allow_pickle=False``, a model whose format can run code is refused
        with :class:`~ebonite_core.errors.UnsafeModelError` before any of its files is fetched.
        """
        serializer_class = resolve("serializer", model.serializer)
        check_load_allowed(model, serializer_class, self.allow_pickle)
        check_requirements(model.requirements, model.name)
        files, directory = additional.fetch(self.artifact_repo, model)
        overlap = serializer_class.load_while_verifying is True and loads_without_code(model, serializer_class)
        try:
            obj = read_object(serializer_class(), self.artifact_repo, model, verify_while_loading=overlap)
        except BaseException:
            if directory is not None:
                directory.cleanup()
            raise
        model._additional, model._additional_directory = files, directory
        return obj
