"""One request's view of the registry: objects looked up by id and checked against the principal's roles.

Every lookup answers an object in a project the principal cannot see exactly as a missing one (the same
error class and message), so ids give nothing away either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ebonite_core.errors import (
    ArtifactNotFoundError,
    NonExistingModelError,
    NonExistingProjectError,
    NonExistingTaskError,
)

from .auth import require_role
from .protocol import role_rank

if TYPE_CHECKING:
    from ebonite_core import ArtifactRepository, Ebonite, MetadataRepository, Model, Project, Task

    from .state import Principal, ServerState


@dataclass
class Settings:
    """Limits of one server; every request body and header block is bounded."""

    max_json_bytes: int = 8 * 1024 * 1024
    max_upload_bytes: int = 1024**4  # 1 TiB: one push's files together
    max_header_bytes: int = 16 * 1024
    max_headers: int = 64


@dataclass
class ServerContext:
    """What every route works with: the registry it serves, the state file and the limits."""

    registry: Ebonite
    state: ServerState
    settings: Settings = field(default_factory=Settings)


class RegistryView:
    """The registry's projects, tasks and models as ``principal`` may see them: lookups by id checked against
    its roles. Needs no state file, so that the read-only ``ebonite ui`` uses the same checks as the server."""

    def __init__(self, registry: Ebonite, principal: Principal) -> None:
        self.registry = registry
        self.principal = principal

    @property
    def meta(self) -> MetadataRepository:
        return self.registry.meta_repo

    @property
    def artifacts(self) -> ArtifactRepository:
        return self.registry.artifact_repo

    def sees(self, project: Project | None) -> bool:
        return project is not None and self.principal.rank_in(project.name) is not None

    def require(self, project_name: str, role: str) -> None:
        require_role(self.principal, project_name, role)

    def registry_wide(self, role: str) -> bool:
        rank = self.principal.registry_wide_rank()
        return rank is not None and rank >= role_rank(role)

    def project(self, project_id: str, role: str) -> Project:
        project = self.meta.get_project_by_id(project_id)
        if not self.sees(project):
            raise NonExistingProjectError(f"Project with id {project_id!r} does not exist.")
        assert project is not None
        self.require(project.name, role)
        return project

    def task(self, task_id: str, role: str) -> tuple[Task, Project]:
        task = self.meta.get_task_by_id(task_id)
        project = self.meta.get_project_by_id(task.project_id) if task and task.project_id else None
        if task is None or not self.sees(project):
            raise NonExistingTaskError(f"Task with id {task_id!r} does not exist.")
        assert project is not None
        self.require(project.name, role)
        return task, project

    def model(self, model_id: str, role: str) -> tuple[Model, Task, Project]:
        model = self.meta.get_model_by_id(model_id)
        try:
            task, project = self.task(model.task_id, "read") if model and model.task_id else (None, None)
        except NonExistingTaskError:
            task = project = None
        if model is None or task is None or project is None:
            raise NonExistingModelError(f"Model with id {model_id!r} does not exist.")
        self.require(project.name, role)
        return model, task, project

    def visible_projects(self) -> list[Project]:
        names = self.principal.project_names()
        if names is None:
            return self.meta.get_projects()
        found = (self.meta.get_project_by_name(name) for name in sorted(names))
        return sorted((project for project in found if project is not None), key=_creation_order)


class Access(RegistryView):
    """The registry as ``principal`` may use it through the server: the lookups of :class:`RegistryView`, and
    artifact keys, which the state file tracks."""

    def __init__(self, context: ServerContext, principal: Principal) -> None:
        super().__init__(context.registry, principal)
        self.context = context

    @property
    def state(self) -> ServerState:
        return self.context.state

    # Artifact keys
    def authorize_key(self, key: str, role: str) -> None:
        """Allow ``role`` on the artifacts stored under ``key``, or raise ``ArtifactNotFoundError`` (the
        answer for a key that is missing or not the principal's to see) or ``AccessDeniedError``.

        A key belongs to the project of the model that references it; a key uploaded but not referenced
        yet belongs to the token that uploaded it.
        """
        if self.registry_wide(role):
            return
        record = self.state.key_record(key)
        if record is not None and record.project_id is None:
            if record.uploader is not None and record.uploader == self.principal.token_id:
                return
            raise _missing_key(key)
        if record is not None:
            project = self.meta.get_project_by_id(record.project_id)
            if not self.sees(project):
                raise _missing_key(key)
            assert project is not None
            self.require(project.name, role)
            return
        project = self._find_key(key)
        if project is None:
            raise _missing_key(key)
        self.require(project.name, role)

    def _find_key(self, key: str) -> Project | None:
        """The visible project whose models reference ``key`` (a key stored before the server recorded
        keys); it is recorded, so the walk happens once per key."""
        for project in self.visible_projects():
            for task in self.meta.get_tasks(project):
                if any(model.artifact_key == key for model in self.meta.get_models(task)):
                    self.state.assign_key(key, project.id)  # type: ignore[arg-type]
                    return project
        return None

    def visible_keys(self) -> set[str] | None:
        """The keys the principal may list (``None``: every key of the store)."""
        if self.registry_wide("read"):
            return None
        projects = self.visible_projects()
        referenced = {
            model.artifact_key
            for project in projects
            for task in self.meta.get_tasks(project)
            for model in self.meta.get_models(task)
            if model.artifact_key
        }
        project_ids = {project.id for project in projects if project.id is not None}
        return referenced | self.state.recorded_keys(project_ids, self.principal.token_id)


def _missing_key(key: str) -> ArtifactNotFoundError:
    return ArtifactNotFoundError(f"Artifact key {key!r} does not exist.")


def _creation_order(project: Project) -> tuple[object, str]:
    return (project.creation_date, project.id or "")
