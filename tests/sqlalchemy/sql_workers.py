"""Work done by the child processes of the concurrency tests, and the helper that runs them.

Kept apart from the test modules so that a spawned child imports only this (no pytest fixtures).
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable
from typing import Any

from ebonite_sqlalchemy import SQLAlchemyMetaRepository

from ebonite_core import (
    Ebonite,
    ExistingModelError,
    ExistingProjectError,
    ExistingTaskError,
    LocalArtifactRepository,
    Project,
    Task,
)
from ebonite_core.testing import ScaleModel, make_model

Worker = Callable[..., Any]


def _context() -> multiprocessing.context.BaseContext:
    # fork starts children in milliseconds; each child builds its own repository (and the engine module
    # disposes inherited engines in the child anyway). spawn where fork does not exist.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _entry(worker: Worker, index: int, barrier: Any, results: Any, arguments: tuple[Any, ...]) -> None:
    try:
        results.put((index, True, worker(index, barrier, *arguments)))
    except BaseException as err:  # reported to the parent, which fails the test with it
        results.put((index, False, f"{type(err).__name__}: {err}\n{traceback.format_exc()}"))


def run_processes(worker: Worker, processes: int, *arguments: Any) -> list[Any]:
    """Run ``worker(index, barrier, *arguments)`` in ``processes`` processes at once; their results by index.

    The barrier lets the workers start their racing step together. A worker that raises fails the test
    with its traceback; a worker that dies without reporting is detected too.
    """
    context = _context()
    barrier = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(target=_entry, args=(worker, index, barrier, results, arguments)) for index in range(processes)
    ]
    for child in children:
        child.start()
    reported: dict[int, Any] = {}
    failures: list[str] = []
    while len(reported) + len(failures) < processes:
        try:
            index, ok, value = results.get(timeout=1.0)
        except queue.Empty:
            if not any(child.is_alive() for child in children) and results.empty():
                failures.append(f"children died without reporting: exit codes {[c.exitcode for c in children]}")
                barrier.abort()
                break
            continue
        if ok:
            reported[index] = value
        else:
            failures.append(f"process {index}: {value}")
            barrier.abort()  # release the others instead of leaving them waiting for the failed one
    for child in children:
        child.join()
    assert not failures, "\n".join(failures)
    assert [child.exitcode for child in children] == [0] * processes
    return [reported[index] for index in range(processes)]


def push_models(index: int, barrier: Any, db_uri: str, artifacts: str, count: int) -> tuple[str, list[str]]:
    """Open the (possibly empty) database together with the others, then push ``count`` models."""
    barrier.wait()
    ebnt = Ebonite(SQLAlchemyMetaRepository(db_uri), LocalArtifactRepository(artifacts))
    try:
        task = ebnt.get_or_create_task("project", "task")
        ids = [
            task.create_and_push_model(ScaleModel(float(index)), [1.0], f"process{index}-model{number}").id
            for number in range(count)
        ]
        return str(task.id), ids
    finally:
        ebnt.close()


def race_for_names(index: int, barrier: Any, db_uri: str, rounds: int) -> list[dict[str, str]]:
    """Each round, create the same project, task and model as every other process at the same moment.

    Returns, per round, what happened to this process ("won" or the error's class name) and the id that
    ``get_or_create_task`` gave it for a task all processes asked for at once.
    """
    repository = SQLAlchemyMetaRepository(db_uri)
    outcomes = []

    def attempt(create: Callable[[Any], object], new_object: object, expected: type[Exception]) -> str:
        barrier.wait()
        try:
            create(new_object)
        except expected as err:
            return type(err).__name__
        return "won"

    try:
        for number in range(rounds):
            name = f"race-{number}"
            outcome = {"project": attempt(repository.create_project, Project(name), ExistingProjectError)}
            project = repository.get_project_by_name(name)
            assert project is not None
            outcome["task"] = attempt(repository.create_task, Task(name, project.id), ExistingTaskError)
            task = repository.get_task_by_name(project, name)
            assert task is not None
            outcome["model"] = attempt(repository.create_model, make_model(name, task.id), ExistingModelError)
            barrier.wait()
            outcome["shared task id"] = str(repository.get_or_create_task(project, f"shared-{number}").id)
            outcomes.append(outcome)
        return outcomes
    finally:
        repository.close()


def open_together(index: int, barrier: Any, db_uris: list[str]) -> list[str]:
    """For each (empty) database, open it at the same moment as the other processes and use it."""
    revisions = []
    for db_uri in db_uris:
        barrier.wait()
        repository = SQLAlchemyMetaRepository(db_uri)
        try:
            repository.get_or_create_project("project")
            revisions.append(repository.revision)
        finally:
            repository.close()
    return revisions


def tag_and_move(index: int, barrier: Any, db_uri: str, task_id: str, model_ids: list[str], rounds: int) -> int:
    """Each round, tag every model with this process's round number and move the shared alias to one of them.

    Returns how many times the alias, read right after a move, pointed at nothing.
    """
    repository = SQLAlchemyMetaRepository(db_uri)
    try:
        task = repository.get_task_by_id(task_id)
        models = [repository.get_model_by_id(model_id) for model_id in model_ids]
        barrier.wait()
        dangling = 0
        for number in range(rounds):
            for model in models:
                repository.set_model_tags(model, {f"process{index}": str(number), "shared": f"{index}-{number}"})
            repository.set_alias(task, "champion", models[(index + number) % len(models)])
            if repository.get_model_by_alias(task, "champion") is None:
                dangling += 1
        return dangling
    finally:
        repository.close()
