"""Copying projects, tasks and models, artifacts included, from one registry into another.

Idempotent and resumable:

- A model whose name already exists in the target task with the same manifest (file names, sizes, sha256)
  is left as it is; with a different manifest it is a conflict, reported and never overwritten.
- Each model is copied like a push: artifacts first, under a fresh key, checked against the manifest on
  arrival (read back from the target), then its metadata in one atomic write. A model is visible in the
  target only once complete; a metadata write that fails is handled as a push's is
  (:mod:`ebonite_core.recording`): the files are removed only if the write certainly did not take effect.
- Copy never deletes in the target anything this run did not create, and never reuses a key name: what a
  killed copy left (files under a key no model references) is the target's garbage, which ``ebonite gc``
  removes after its grace period; the next run writes the model under another fresh key. A decision gc
  made about the old key can therefore never hit the new files.
- A target whose artifact store is the source's (the same directory or bucket prefix under another name)
  is refused with :class:`~ebonite_core.errors.SharedStoreError` before anything is copied: two registries
  sharing one artifact store would each collect the other's files as unreferenced.
- Projects and tasks keep their names, authors and creation dates; models keep all their metadata, tags
  included. Aliases of the copied models are copied when the target task has no alias of that name.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..client import Ebonite
from ..errors import (
    ArtifactError,
    ArtifactIntegrityError,
    ArtifactNotFoundError,
    ExistingModelError,
    ExistingProjectError,
    ExistingTaskError,
    SharedStoreError,
)
from ..model.storage import new_artifact_key, private_directory, verify_file
from ..names import check_artifact_name
from ..objects import Model, Project, Task
from ..recording import record_model
from .verify import check_file
from .walk import RegistryPath, model_path, tasks_under, walk


@dataclass
class CopyOutcome:
    """What happened to one model: ``copied``, ``present`` (already there), ``conflict`` or ``failed``."""

    path: str
    status: str
    size: int
    detail: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "status": self.status, "size": self.size, "detail": self.detail}


def _manifest(model: Model) -> list[tuple[str, int, str]]:
    return sorted((artifact.name, artifact.size, artifact.sha256) for artifact in model.artifacts)


class _Copier:
    def __init__(self, source: Ebonite, target: Ebonite, on_bytes: Callable[[int], None] | None) -> None:
        self.source, self.target, self.on_bytes = source, target, on_bytes
        self.projects: dict[str, Project] = {}
        self.tasks: dict[tuple[str, str], Task] = {}
        self.task_pairs: dict[tuple[str, str], tuple[Task, Task]] = {}  # (source task, target task)
        # Source models that an alias points at -> their name, once they are in the target (aliases are few:
        # this stays small however many models are copied).
        self.alias_targets: set[str] = set()
        self.copied_names: dict[str, str] = {}

    def project(self, project: Project) -> Project:
        if project.name not in self.projects:
            found = self.target.meta_repo.get_project_by_name(project.name)
            if found is None:
                try:
                    copy = Project(project.name, author=project.author, creation_date=project.creation_date)
                    found = self.target.meta_repo.create_project(copy)
                except ExistingProjectError:  # created by someone else meanwhile
                    found = self.target.meta_repo.get_project_by_name(project.name)
            assert found is not None
            self.projects[project.name] = found
        return self.projects[project.name]

    def task(self, project: Project, task: Task) -> Task:
        name = (project.name, task.name)
        if name not in self.tasks:
            target_project = self.project(project)
            found = self.target.meta_repo.get_task_by_name(target_project, task.name)
            if found is None:
                copy = Task(task.name, target_project.id, author=task.author, creation_date=task.creation_date)
                try:
                    found = self.target.meta_repo.create_task(copy)
                except ExistingTaskError:
                    found = self.target.meta_repo.get_task_by_name(target_project, task.name)
            assert found is not None
            self.tasks[name] = found
            self.task_pairs[name] = (task, found)
            self.alias_targets.update(self.source.meta_repo.get_aliases(task).values())
        return self.tasks[name]

    def copy_aliases(self) -> None:
        for source_task, target_task in self.task_pairs.values():
            taken = self.target.meta_repo.get_aliases(target_task)
            for alias, model_id in self.source.meta_repo.get_aliases(source_task).items():
                if alias in taken or model_id not in self.copied_names:
                    continue  # never move an alias the target already has
                model = self.target.meta_repo.get_model_by_name(target_task, self.copied_names[model_id])
                if model is not None:
                    self.target.meta_repo.set_alias(target_task, alias, model)

    def copy(self, project: Project, task: Task, model: Model) -> CopyOutcome:
        location = model_path(project, task, model)
        size = sum(artifact.size for artifact in model.artifacts)
        target_task = self.task(project, task)
        existing = self.target.meta_repo.get_model_by_name(target_task, model.name)
        if existing is not None:
            return self._compare(location, size, model, existing)
        if not model.artifact_key or not model.artifacts:
            return CopyOutcome(location, "failed", size, "the source records no artifact files for it")
        with private_directory(self.target.artifact_repo, "copy", model.name) as tmp:
            try:
                files = self._fetch(model, Path(tmp))
            except ArtifactError as err:
                return CopyOutcome(location, "failed", size, f"in the source: {err}")
            key = new_artifact_key()  # never the source's key, nor one a killed copy left: gc may be judging it
            try:
                self._push(key, files)
            except Exception:
                # Files read in place from the source vanish when the model is deleted there meanwhile (another
                # process's `ebonite rm`): a failure of that model in the source, not of the target.
                gone = [name for name, path in files.items() if not path.exists()]
                if not gone:
                    raise
                detail = f"in the source: artifact file {gone[0]!r} was deleted while it was copied"
                return CopyOutcome(location, "failed", size, detail)
        return self._commit(location, size, model, target_task, key)

    def _push(self, key: str, files: dict[str, Path]) -> None:
        try:
            self.target.artifact_repo.push(key, files)
        except FileExistsError:
            raise  # someone else's key: not ours to remove
        except BaseException:
            self._discard(key)  # a push that failed half-way must leave nothing behind
            raise

    def _discard(self, key: str) -> None:
        try:
            self.target.artifact_repo.delete(key)
        except Exception:  # the original error matters more; the next copy or `ebonite gc` removes it
            pass

    def _compare(self, location: str, size: int, model: Model, existing: Model) -> CopyOutcome:
        if _manifest(existing) == _manifest(model):
            return CopyOutcome(location, "present", size)
        return CopyOutcome(
            location, "conflict", size, "the target holds a different model of this name; it was left as it is"
        )

    def _fetch(self, model: Model, scratch: Path) -> dict[str, Path]:
        """Local paths of the source files, each checked against the manifest before it is sent on."""
        assert model.artifact_key is not None
        files = {}
        for artifact in model.artifacts:
            path = self.source.artifact_repo.local_path(model.artifact_key, artifact.name)
            if path is None:
                path = scratch / check_artifact_name(artifact.name)
                self.source.artifact_repo.download(model.artifact_key, artifact.name, path)
            try:
                verify_file(path, artifact, model.name)
            except FileNotFoundError as err:  # found, then deleted before it was read: deleted meanwhile
                raise ArtifactNotFoundError(f"Artifact file {path} was deleted while it was read.") from err
            files[artifact.name] = path
        return files

    def _commit(self, location: str, size: int, model: Model, target_task: Task, key: str) -> CopyOutcome:
        try:
            self._check_arrival(model, key)
            copy = Model.from_dict({**model.to_dict(), "id": None, "task_id": target_task.id, "artifact_key": key})
        except BaseException:
            self._discard(key)  # leave nothing unreferenced behind
            raise
        try:
            # As a push does: the files are removed only if the write certainly did not take effect.
            record_model(self.target.meta_repo, self.target.artifact_repo, copy, target_task)
        except ExistingModelError:  # another process copied it meanwhile (this copy's files are removed)
            existing = self.target.meta_repo.get_model_by_name(target_task, model.name)
            if existing is None:
                raise
            return self._compare(location, size, model, existing)
        if self.on_bytes is not None:
            self.on_bytes(size)
        return CopyOutcome(location, "copied", size)

    def _check_arrival(self, model: Model, key: str) -> None:
        with private_directory(None, "arrival", model.name) as tmp:
            for artifact in model.artifacts:
                difference = check_file(self.target.artifact_repo, key, artifact, Path(tmp))
                if difference is not None:
                    raise ArtifactIntegrityError(
                        f"Artifact file {artifact.name!r} of model {model.name!r} arrived damaged in the target "
                        f"({difference}); nothing was recorded. Run the copy again."
                    )


def copy_models(
    source: Ebonite,
    target: Ebonite,
    path: RegistryPath | None = None,
    on_outcome: Callable[[CopyOutcome], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """Copy the projects, tasks and models under ``path`` from ``source`` into ``target``, a page of models
    at a time (memory does not grow with the number of models).

    ``on_outcome`` is called after each model with what happened to it, ``on_bytes`` with the bytes of
    each model copied (for a progress bar). Backend failures propagate (run again to resume); a model that
    fails its source checksum is reported as ``failed`` and the others are still copied. A target that keeps
    its artifacts in the source's store raises :class:`~ebonite_core.errors.SharedStoreError` before anything
    is copied.
    """
    check_separate_stores(source, target)
    path = path or RegistryPath()
    copier = _Copier(source, target, on_bytes)
    for project, tasks in tasks_under(source, path):
        copier.project(project)
        for task in tasks:
            copier.task(project, task)  # empty tasks (and projects) are copied too
    for project, task, model in walk(source, path):
        outcome = copier.copy(project, task, model)
        if outcome.status in ("copied", "present") and model.id in copier.alias_targets:
            copier.copied_names[model.id] = model.name
        if on_outcome is not None:
            on_outcome(outcome)
    copier.copy_aliases()


def check_separate_stores(source: Ebonite, target: Ebonite) -> None:
    """Raise :class:`SharedStoreError` when the target's artifact store is the source's.

    Configurations cannot tell (one directory under two paths, a link, a bind mount, one bucket behind two
    endpoints), so the target is asked to store a small probe under a fresh key, and the source whether it
    sees that key; the probe is deleted again (it is the only thing the check writes).
    """
    probe = new_artifact_key()
    with tempfile.TemporaryDirectory(prefix="ebonite-probe-") as scratch:
        path = Path(scratch) / "probe"
        path.write_bytes(b"ebonite copy: is the target's artifact store the source's?\n")
        target.artifact_repo.push(probe, {"probe": path})
    try:
        shared = source.artifact_repo.key_written(probe) is not None
    finally:
        target.artifact_repo.delete(probe)
    if shared:
        raise SharedStoreError(
            f"The target keeps its artifacts in the source's artifact store ({target.artifact_repo!r} is "
            f"{source.artifact_repo!r}): nothing was copied. Two registries must not share one artifact store, "
            "or each one's `ebonite gc` would remove the other's files. Point the target's [artifact] section at "
            "another location; the files are copied there, and the source stays as it is."
        )
