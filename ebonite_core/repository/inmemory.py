"""The ``inmemory`` backends: per-instance state that lives as long as the repository object."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ArtifactNotFoundError, RepositoryError
from ..objects import Model, Project, Task, utc_now
from .artifact import ArtifactRepository, check_artifact_key, check_artifact_name, deletable_key
from .metadata import MetadataRepository
from .tables import Tables

if TYPE_CHECKING:
    from ..query import ModelPage, ModelQuery  # imported when a search runs, not with the package


class InMemoryMetadataRepository(MetadataRepository):
    """Metadata kept in this object only; getters return copies. Thread-safe."""

    type = "inmemory"

    def __init__(self) -> None:
        self._tables = Tables()
        self._lock = threading.RLock()

    def config(self) -> dict[str, Any]:
        return {}  # a new, empty store: the content lives and dies with this object

    def get_projects(self) -> list[Project]:
        with self._lock:
            return self._tables.projects()

    def get_project_by_name(self, name: str) -> Project | None:
        with self._lock:
            return self._tables.project_by_name(name)

    def get_project_by_id(self, project_id: str) -> Project | None:
        with self._lock:
            return self._tables.project_by_id(project_id)

    def create_project(self, project: Project) -> Project:
        with self._lock:
            return self._tables.create_project(project)

    def delete_project(self, project: Project) -> None:
        with self._lock:
            self._tables.delete_project(project)

    def get_tasks(self, project: Project) -> list[Task]:
        with self._lock:
            return self._tables.tasks(project)

    def get_task_by_name(self, project: Project, name: str) -> Task | None:
        with self._lock:
            return self._tables.task_by_name(project, name)

    def get_task_by_id(self, task_id: str) -> Task | None:
        with self._lock:
            return self._tables.task_by_id(task_id)

    def create_task(self, task: Task) -> Task:
        with self._lock:
            return self._tables.create_task(task)

    def delete_task(self, task: Task) -> None:
        with self._lock:
            self._tables.delete_task(task)

    def get_models(self, task: Task) -> list[Model]:
        with self._lock:
            return self._tables.models(task)

    def get_model_by_name(self, task: Task, name: str) -> Model | None:
        with self._lock:
            return self._tables.model_by_name(task, name)

    def get_model_by_id(self, model_id: str) -> Model | None:
        with self._lock:
            return self._tables.model_by_id(model_id)

    def create_model(self, model: Model) -> Model:
        with self._lock:
            return self._tables.create_model(model)

    def delete_model(self, model: Model) -> None:
        with self._lock:
            self._tables.delete_model(model)

    def set_model_tags(self, model: Model, tags: dict[str, str]) -> Model:
        with self._lock:
            return self._tables.set_model_tags(model, tags)

    def delete_model_tag(self, model: Model, key: str) -> Model:
        with self._lock:
            return self._tables.delete_model_tag(model, key)

    def set_alias(self, task: Task, alias: str, model: Model) -> None:
        with self._lock:
            self._tables.set_alias(task, alias, model)

    def delete_alias(self, task: Task, alias: str) -> None:
        with self._lock:
            self._tables.delete_alias(task, alias)

    def get_aliases(self, task: Task) -> dict[str, str]:
        with self._lock:
            return self._tables.aliases(task)

    def search_models(self, query: ModelQuery) -> ModelPage:
        with self._lock:
            return self._tables.search_models(query)

    def references_artifact_key(self, key: str) -> bool:
        with self._lock:
            return self._tables.references_artifact_key(key)


class InMemoryArtifactRepository(ArtifactRepository):
    """Artifact bytes kept in this object only. Thread-safe; meant for tests and throwaway sessions."""

    type = "inmemory"

    def __init__(self) -> None:
        self._files: dict[str, dict[str, bytes]] = {}
        self._written: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def config(self) -> dict[str, Any]:
        return {}  # a new, empty store: the content lives and dies with this object

    def push(self, key: str, files: Mapping[str, Path]) -> None:
        check_artifact_key(key)
        stored = {}
        for name, path in files.items():
            stored[check_artifact_name(name)] = Path(path).read_bytes()
        with self._lock:
            if key in self._files:
                raise FileExistsError(f"Artifact key {key!r} already exists.")
            self._files[key] = stored
            self._written[key] = utc_now()

    def download(self, key: str, name: str, destination: Path) -> None:
        check_artifact_key(key)
        check_artifact_name(name)
        with self._lock:
            data = self._files.get(key, {}).get(name)
        if data is None:
            raise ArtifactNotFoundError(f"No artifact file {name!r} under key {key!r} in memory.")
        with open(destination, "wb") as target:
            target.write(data)

    def delete(self, key: str) -> None:
        check_artifact_key(key)
        with self._lock:
            if key in self._files and not deletable_key(key, key in self._written):
                raise RepositoryError(f"Artifact key {key!r} was not pushed into this repository: it was left alone.")
            self._files.pop(key, None)
            self._written.pop(key, None)

    def list_files(self, key: str) -> list[str] | None:
        with self._lock:
            return sorted(self._files.get(check_artifact_key(key), {}))

    def keys(self) -> dict[str, datetime]:
        with self._lock:
            return dict(self._written)
