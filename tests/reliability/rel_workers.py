"""What the child processes of the crash and concurrency tests do.

Children are forked (they inherit the imports and the test's environment, and start in milliseconds) and
open their own client from a :class:`~rel_stores.StoreSpec`.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from typing import Any

from rel_stores import StoreSpec

from ebonite_core import ArtifactNotFoundError, Ebonite, ExistingModelError, NonExistingModelError
from ebonite_core.model import create_model
from ebonite_core.testing import ScaleModel

# Where a push is, as the crash child reports it through shared memory (which outlives a SIGKILL).
STARTED, UPLOADING, BETWEEN, WRITING_METADATA, METADATA_WRITTEN, RETURNED = range(1, 7)
PHASE_NAMES = {
    0: "before the push began",
    STARTED: "while serializing",
    UPLOADING: "while uploading the artifacts",
    BETWEEN: "between artifacts and metadata",
    WRITING_METADATA: "while writing the metadata",
    METADATA_WRITTEN: "after the metadata write",
    RETURNED: "the push had returned",
}
# Named points where the child kills itself, so that every phase is hit whatever the timing.
FAILPOINTS = ("uploading", "between", "metadata", "after-metadata")


def fork_context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("fork")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install_tracking(ebnt: Ebonite, phases: Any, failpoint: str | None) -> None:
    """Report the push's phase into ``phases`` (phase number, then a monotonic time per phase) and kill
    this process at ``failpoint``. The repositories still do all the real work: their classes only gain a
    subclass that notes when each step starts and ends."""

    def mark(phase: int) -> None:
        phases[phase] = time.monotonic()
        phases[0] = phase

    artifact_class, metadata_class = type(ebnt.artifact_repo), type(ebnt.meta_repo)

    class TrackedArtifacts(artifact_class):  # type: ignore[misc, valid-type]
        def push(self, key: str, files: Any) -> None:
            mark(UPLOADING)
            super().push(key, files)
            mark(BETWEEN)
            if failpoint == "between":
                _die()

    class TrackedMetadata(metadata_class):  # type: ignore[misc, valid-type]
        def create_model(self, model: Any) -> Any:
            mark(WRITING_METADATA)
            stored = super().create_model(model)
            mark(METADATA_WRITTEN)
            if failpoint == "after-metadata":
                _die()
            return stored

    ebnt.artifact_repo.__class__ = TrackedArtifacts
    ebnt.meta_repo.__class__ = TrackedMetadata
    if failpoint == "uploading":
        _fail_while_uploading(ebnt)
    elif failpoint == "metadata":
        _fail_while_writing_metadata(ebnt)


def _die_half_way(direction: str, object_key: str, transferred: int, total: int) -> None:
    """An S3 progress callback: die once half of an upload's bytes are sent."""
    if direction == "upload" and transferred * 2 >= total:
        _die()


def _fail_while_uploading(ebnt: Ebonite) -> None:
    if ebnt.artifact_repo.type == "s3":
        return  # the child opened the repository with progress=_die_half_way
    # The local repository writes a key into .tmp/ and renames it into place: die before the rename.
    real_rename = os.rename

    def rename(source: Any, destination: Any, *args: Any, **kwargs: Any) -> None:
        if "/.tmp/" in str(source):
            _die()
        real_rename(source, destination, *args, **kwargs)

    os.rename = rename  # this child only: it never returns from the push


def _fail_while_writing_metadata(ebnt: Ebonite) -> None:
    repository = ebnt.meta_repo
    if repository.type == "sqlalchemy":
        from sqlalchemy import event

        # Just before COMMIT: the model's rows are inserted in a transaction that is never committed.
        event.listen(repository.engine, "commit", lambda connection: _die())  # type: ignore[attr-defined]
    else:
        # The local repository writes a complete temporary file, then renames it over metadata.json.
        real_replace = os.replace

        def replace(source: Any, destination: Any, *args: Any, **kwargs: Any) -> None:
            if str(destination).endswith("metadata.json"):
                _die()
            real_replace(source, destination, *args, **kwargs)

        os.replace = replace


def crash_child(
    spec: StoreSpec, name: str, factor: float, payload_size: int, failpoint: str | None, phases: Any, ready: Any
) -> None:
    """Push one large model into task ``crash/task``; the parent (or a failpoint) kills this process."""
    uploading_s3 = failpoint == "uploading" and spec.artifact == "s3"
    ebnt = spec.open(progress=_die_half_way, progress_threshold=0) if uploading_s3 else spec.open()
    task = ebnt.get_task("crash", "task")
    assert task is not None
    _install_tracking(ebnt, phases, failpoint)
    model = create_model(ScaleModel(factor, random.Random(name).randbytes(payload_size)), [1.0], name)
    phases[STARTED] = time.monotonic()
    phases[0] = STARTED
    ready.set()
    ebnt.push_model(model, task)
    phases[RETURNED] = time.monotonic()
    phases[0] = RETURNED


def concurrency_worker(
    index: int, barrier: Any, spec: StoreSpec, names: list[str], max_operations: int, seconds: float
) -> list[tuple[Any, ...]]:
    """Mix pushes, gets, lists and deletes on a few shared names; return the log of acknowledged operations.

    Stops after ``max_operations`` or ``seconds``, whichever comes first. Each entry says what the store
    acknowledged: ``("push", name, key, factor)``, ``("push refused", name)``, ``("get", name, key, value)``,
    ``("get none", name)``, ``("get deleted", name, key)``, ``("list", count)``, ``("delete", name, key)``,
    ``("delete gone", name, key)`` (deleted by another process meanwhile), ``("delete none", name)``. Any
    other error fails the test through ``run_processes``.
    """
    rng = random.Random(index)
    ebnt = spec.open()
    log: list[tuple[Any, ...]] = []
    try:
        task = ebnt.get_or_create_task("concurrency", "task")
        barrier.wait()
        deadline = time.monotonic() + seconds
        for number in range(max_operations):
            if time.monotonic() > deadline:
                break
            name = rng.choice(names)
            operation = rng.choices(("push", "get", "list", "delete"), weights=(4, 3, 2, 2))[0]
            if operation == "push":
                factor = float(index * 10_000 + number)
                try:
                    stored = task.create_and_push_model(ScaleModel(factor), [1.0], name)
                except ExistingModelError:
                    log.append(("push refused", name))
                else:
                    log.append(("push", name, stored.artifact_key, factor))
            elif operation == "get":
                found = ebnt.get_model(name, task)
                if found is None:
                    log.append(("get none", name))
                    continue
                try:
                    value = found.predict([1.0])[0]
                except ArtifactNotFoundError:
                    # Only a model deleted meanwhile may lose its files.
                    assert ebnt.meta_repo.get_model_by_id(found.id) is None, f"{name}: files gone, metadata kept"
                    log.append(("get deleted", name, found.artifact_key))
                else:
                    log.append(("get", name, found.artifact_key, value))
            elif operation == "list":
                models = ebnt.get_models(task)
                listed = [model.name for model in models]
                assert len(listed) == len(set(listed)), f"duplicate names listed: {listed}"
                assert all(model.artifact_key and model.artifacts for model in models), "a half-visible model"
                log.append(("list", len(models)))
            else:
                found = ebnt.get_model(name, task)
                if found is None:
                    log.append(("delete none", name))
                    continue
                key = found.artifact_key
                try:
                    ebnt.delete_model(found)
                except NonExistingModelError:
                    log.append(("delete gone", name, key))
                else:
                    log.append(("delete", name, key))
        return log
    finally:
        ebnt.close()


def maintenance_worker(
    index: int, barrier: Any, spec: StoreSpec, names: list[str], target: StoreSpec, seconds: float
) -> list[tuple[Any, ...]]:
    """What an operator (or a cron job) runs while others push and delete: ``ebonite gc`` (default grace
    period), ``verify``, ``copy`` into ``target`` and ``rm`` of a model, in turns, for ``seconds``.

    Returns its log: ``("gc", removed keys)``, ``("verify", [(kind, path, key)...])``, ``("copy", {status:
    count})``, and the deletes in the workers' format (``("delete", name, key)``, ``("delete gone", ...)``,
    ``("delete none", name)``), so that the store can be checked against all acknowledged operations.
    """
    from ebonite_core.maintenance import collect_garbage, copy_models, verify

    rng = random.Random(index)
    ebnt, copy = spec.open(), target.open()
    log: list[tuple[Any, ...]] = []
    try:
        barrier.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            log.append(("gc", sorted(collect_garbage(ebnt).removed_keys)))
            log.append(("verify", [(p.kind, p.path, p.key) for p in verify(ebnt).problems]))
            statuses = [outcome.status for outcome in copy_models(ebnt, copy)]
            log.append(("copy", {status: statuses.count(status) for status in set(statuses)}))
            name = rng.choice(names)
            found = ebnt.get_model(name, "task", "concurrency")  # `ebonite rm concurrency/task/NAME`
            if found is None:
                log.append(("delete none", name))
                continue
            try:
                ebnt.delete_model(found)
            except NonExistingModelError:
                log.append(("delete gone", name, found.artifact_key))
            else:
                log.append(("delete", name, found.artifact_key))
        return log
    finally:
        ebnt.close()
        copy.close()


def workers_and_maintenance(
    index: int,
    barrier: Any,
    spec: StoreSpec,
    names: list[str],
    max_operations: int,
    seconds: float,
    target: StoreSpec,
) -> list[tuple[Any, ...]]:
    """Process 0 runs :func:`maintenance_worker`, every other one :func:`concurrency_worker`."""
    if index == 0:
        return maintenance_worker(index, barrier, spec, names, target, seconds)
    return concurrency_worker(index, barrier, spec, names, max_operations, seconds)
