"""Registry paths (``PROJECT[/TASK[/MODEL]]`` or ``PROJECT/TASK@ALIAS``) and walking the models under one."""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..client import Ebonite
from ..errors import InvalidNameError, NonExistingModelError, NonExistingProjectError, NonExistingTaskError
from ..objects import Model, Project, Task, check_alias, check_name


@dataclass(frozen=True)
class RegistryPath:
    """``PROJECT[/TASK[/MODEL]]``, ``PROJECT/TASK@ALIAS`` (the model an alias points at), or the whole
    registry when every part is ``None``.

    Names cannot contain ``/``, so the path splits without ambiguity. In ``PROJECT/TASK@ALIAS`` the alias
    follows the last ``@``; a trailing ``/`` is ignored and turns that off, so ``PROJECT/my@task/`` names a
    task whose name holds an ``@``.
    """

    project: str | None = None
    task: str | None = None
    model: str | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> RegistryPath:
        """Parse a path; a malformed one raises :class:`InvalidNameError` saying what is wrong."""
        if text is None or text in ("", "/"):
            return cls()
        parts = text[:-1].split("/") if text.endswith("/") else text.split("/")
        if len(parts) > 3:
            raise InvalidNameError(
                f"Invalid path {text!r}: a path is PROJECT, PROJECT/TASK, PROJECT/TASK/MODEL or PROJECT/TASK@ALIAS."
            )
        alias = None
        if len(parts) == 2 and "@" in parts[1] and not text.endswith("/"):
            parts[1], alias = parts[1].rsplit("@", 1)
            check_alias(alias)
        for kind, part in zip(("project", "task", "model"), parts, strict=False):
            check_name(part, kind)
        return cls(*parts, alias=alias)

    @property
    def depth(self) -> int:
        return sum(part is not None for part in (self.project, self.task, self.model or self.alias))

    def __str__(self) -> str:
        text = "/".join(part for part in (self.project, self.task, self.model) if part is not None)
        return f"{text}@{self.alias}" if self.alias is not None else text


def model_path(project: Project, task: Task, model: Model | None = None) -> str:
    return "/".join(part.name for part in (project, task, model) if part is not None)


_LIST_HINT = "run `ebonite ls` to see what the registry holds"


def find(client: Ebonite, path: RegistryPath) -> tuple[Project | None, Task | None, Model | None]:
    """The objects a path names (``None`` beyond its depth); a missing one raises ``NonExisting*Error``."""
    project = task = model = None
    if path.project is not None:
        project = client.get_project(path.project)
        if project is None:
            raise NonExistingProjectError(f"Project {path.project!r} does not exist: {_LIST_HINT}.")
    if project is not None and path.task is not None:
        task = client.get_task(project, path.task)
        if task is None:
            raise NonExistingTaskError(
                f"Task {path.task!r} does not exist in project {project.name!r}: run `ebonite ls {project.name}`."
            )
    if task is not None and path.alias is not None:
        model = client.get_model_by_alias(task, path.alias)
        if model is None:
            where = model_path(project, task)  # type: ignore[arg-type]
            raise NonExistingModelError(
                f"Alias {path.alias!r} is not set on {where}: run `ebonite show` on one of its models "
                f"(`ebonite ls {where}`) to see their aliases."
            )
    if task is not None and path.model is not None:
        model = client.get_model(path.model, task)
        if model is None:
            raise NonExistingModelError(
                f"Model {path.model!r} does not exist in {model_path(project, task)}: "  # type: ignore[arg-type]
                f"run `ebonite ls {model_path(project, task)}`."  # type: ignore[arg-type]
            )
    return project, task, model


def tasks_under(client: Ebonite, path: RegistryPath) -> Iterator[tuple[Project, list[Task]]]:
    """The projects under ``path`` with their tasks (all of them, or the one the path names), in creation order."""
    project, task, _ = find(client, path)
    for each_project in [project] if project is not None else client.get_projects():
        yield each_project, [task] if task is not None else client.get_tasks(each_project)


def walk(client: Ebonite, path: RegistryPath = RegistryPath()) -> Iterator[tuple[Project, Task, Model]]:
    """Every model under ``path`` with its project and task, in creation order, read a page at a time:
    memory holds one page whatever the size of the registry."""
    project, task, model = find(client, path)
    if model is not None:
        assert project is not None and task is not None
        yield project, task, model
        return
    for each_project, tasks in tasks_under(client, path):
        for each_task in tasks:
            for each_model in client.iter_models(task=each_task):
                yield each_project, each_task, each_model


class KeySet:
    """A set of artifact keys held in 8 bytes per key (a sorted array of 64-bit hashes), for walks of
    registries of millions of models.

    Membership may answer yes for a key never added (for a million keys, about one chance in 10^13 per
    question), never no for a key added: use it only where a wrong yes is harmless (``gc`` keeps a key it
    should have removed; ``verify`` leaves one unreferenced key unreported).
    """

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._sorted = array("q", sorted(_hash(key) for key in keys))
        self._added: set[int] = set()  # keys added later, about 60 bytes each

    def add(self, key: str) -> None:
        self._added.add(_hash(key))

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        wanted = _hash(key)
        if wanted in self._added:
            return True
        index = bisect_left(self._sorted, wanted)
        return index < len(self._sorted) and self._sorted[index] == wanted

    def __len__(self) -> int:
        return len(self._sorted) + len(self._added)


def _hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def referenced_keys(client: Ebonite) -> KeySet:
    """The artifact key of every model in the registry (8 bytes per model in memory)."""
    return KeySet(model.artifact_key for _, _, model in walk(client) if model.artifact_key)
