"""Several processes and threads on one database: nothing lost, names decided by the database, clean errors.

These run on the databases several processes can share: a SQLite file, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from ebonite_sqlalchemy.engine import is_deadlock
from ebonite_sqlalchemy.migrate import head_revision
from ebonite_sqlalchemy.schema import projects
from sql_helpers import BACKENDS, SERVER_BACKENDS, SHARED_BACKENDS
from sql_workers import open_together, push_models, race_for_names, run_processes, tag_and_move
from sqlalchemy import exc, text, update

from ebonite_core import Ebonite, InMemoryArtifactRepository, LocalArtifactRepository, Project, Task
from ebonite_core.testing import ScaleModel, make_model

PROCESSES = 4
PUSHES = 50


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_processes_pushing_at_once_into_an_empty_database_lose_nothing(
    db_url: str, tmp_path: Path, open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    """4 processes open the same empty database together (creating the schema once) and push 50 models each."""
    artifacts = tmp_path / "artifacts"
    results = run_processes(push_models, PROCESSES, db_url, str(artifacts), PUSHES)

    assert len({task_id for task_id, _ in results}) == 1, "get_or_create_task gave different tasks"
    pushed_ids = [model_id for _, ids in results for model_id in ids]
    assert len(set(pushed_ids)) == PROCESSES * PUSHES

    ebnt = Ebonite(open_repository(db_url), LocalArtifactRepository(artifacts))
    models = ebnt.get_models("task", "project")
    assert sorted(model.id for model in models) == sorted(pushed_ids)
    assert {model.name for model in models} == {
        f"process{index}-model{number}" for index in range(PROCESSES) for number in range(PUSHES)
    }
    assert len(ebnt.artifact_repo.keys()) == PROCESSES * PUSHES
    for index in range(PROCESSES):
        assert ebnt.get_model(f"process{index}-model{PUSHES - 1}", "task", "project").predict([1.0]) == [index]
    with ebnt.meta_repo.engine.connect() as connection:  # the schema was created exactly once
        assert connection.execute(text("SELECT COUNT(*) FROM ebonite_alembic_version")).scalar_one() == 1
        assert connection.execute(text("SELECT COUNT(*) FROM ebonite_projects")).scalar_one() == 1


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_processes_opening_an_empty_database_together_create_the_schema_once(
    backend: str, new_database: Callable[[str], str], open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    """6 processes open each of 5 empty databases at the same moment: none sees a half-made schema."""
    urls = [new_database(backend) for _ in range(5)]
    results = run_processes(open_together, 6, urls)
    assert all(revisions == [head_revision()] * len(urls) for revisions in results), results
    for url in urls:
        repository = open_repository(url)
        assert [project.name for project in repository.get_projects()] == ["project"]
        with repository.engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM ebonite_alembic_version")).scalar_one() == 1


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_processes_creating_the_same_names_at_once_get_one_winner(
    db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    """For each name one process wins; every other gets Existing*Error (never IntegrityError); and
    get_or_create_task called by all at once returns the same task to all."""
    open_repository(db_url).close()  # create the schema first: this test is about the names
    rounds = 8
    results = run_processes(race_for_names, PROCESSES, db_url, rounds)

    expected_losses = {"project": "ExistingProjectError", "task": "ExistingTaskError", "model": "ExistingModelError"}
    for number in range(rounds):
        outcomes = [result[number] for result in results]
        for kind, loss in expected_losses.items():
            seen = sorted(outcome[kind] for outcome in outcomes)
            assert seen == sorted(["won"] + [loss] * (PROCESSES - 1)), (number, kind, seen)
        assert len({outcome["shared task id"] for outcome in outcomes}) == 1, (number, outcomes)

    repository = open_repository(db_url)
    assert [project.name for project in repository.get_projects()] == [f"race-{n}" for n in range(rounds)]
    for project in repository.get_projects():
        assert sorted(task.name for task in repository.get_tasks(project)) == sorted(
            [project.name, f"shared-{project.name.split('-')[1]}"]
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_threads_sharing_one_repository(db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository]) -> None:
    """One repository (one engine and pool) used by 8 threads at once, sqlite:// included."""
    ebnt = Ebonite(open_repository(db_url), InMemoryArtifactRepository())
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(index: int) -> None:
        try:
            start.wait()
            task = ebnt.get_or_create_task("project", "task")
            for number in range(25):
                task.create_and_push_model(ScaleModel(), [1.0], f"thread{index}-model{number}")
                ebnt.get_models(task)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ebnt.get_models("task", "project")) == 200
    assert len(ebnt.get_projects()) == 1


def _child_uses_inherited_repository(repository: SQLAlchemyMetaRepository, task: Task, results: object) -> None:
    # In the child, the fork handler has replaced the engine's pool: nothing the parent opened is in it.
    results.put(repository.engine.pool.checkedin())
    for number in range(5):
        repository.create_model(make_model(f"child-{number}", task.id))
    results.put(len(repository.get_models(task)))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="os.fork is POSIX-only")
@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_a_forked_child_never_shares_the_parents_connections(
    db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    repository = open_repository(db_url)
    task = repository.get_or_create_task(repository.get_or_create_project("project"), "task")
    assert repository.engine.pool.checkedin() >= 1, "the parent holds a pooled connection before forking"

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_child_uses_inherited_repository, args=(repository, task, results))
    child.start()
    pool_in_child, models_in_child = results.get(), results.get()
    child.join()
    assert child.exitcode == 0
    assert pool_in_child == 0
    assert models_in_child == 5

    # The parent's pooled connection is intact and sees the child's writes.
    for number in range(3):
        repository.create_model(make_model(f"parent-{number}", task.id))
    assert len(repository.get_models(task)) == 8


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_processes_tagging_the_same_models_and_moving_one_alias(
    db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    """Upserts on the same rows from 4 processes at once: no error (deadlocks are retried), no lost tag, and
    the alias always points at a model."""
    repository = open_repository(db_url)
    task = repository.get_or_create_task(repository.get_or_create_project("project"), "task")
    models = [repository.create_model(make_model(f"m{index}", task.id)) for index in range(3)]
    rounds = 20
    dangling = run_processes(tag_and_move, PROCESSES, db_url, task.id, [model.id for model in models], rounds)
    assert dangling == [0] * PROCESSES
    for model in models:
        tags = repository.get_model_by_id(model.id).tags
        assert {key: tags[key] for key in tags if key != "shared"} == {
            f"process{index}": str(rounds - 1) for index in range(PROCESSES)
        }
        assert tags["shared"] in {f"{index}-{rounds - 1}" for index in range(PROCESSES)}
    assert repository.get_model_by_alias(task, "champion").id in {model.id for model in models}
    assert list(repository.get_aliases(task)) == ["champion"]


@pytest.mark.parametrize("backend", SERVER_BACKENDS)
def test_a_deadlock_is_recognised_as_worth_retrying(
    db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    """Two transactions that lock two rows in opposite orders: the server breaks the deadlock by failing one,
    with the error that the repository's writes retry on."""
    repository = open_repository(db_url)
    ids = [repository.create_project(Project(name)).id for name in ("first", "second")]
    ready = threading.Barrier(2)
    errors: list[BaseException] = []

    def lock_both(order: list[str]) -> None:
        try:
            with repository.engine.begin() as connection:
                for step, project_id in enumerate(order):
                    connection.execute(update(projects).where(projects.c.id == int(project_id)).values(author="x"))
                    if step == 0:
                        ready.wait()
        except exc.DBAPIError as err:
            errors.append(err)

    threads = [threading.Thread(target=lock_both, args=(order,)) for order in (ids, ids[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 1, errors
    assert is_deadlock(errors[0]), errors[0]


def test_a_failed_write_is_rolled_back(repository: SQLAlchemyMetaRepository) -> None:
    """A refused insert leaves no half-done transaction behind on the pooled connection."""
    project = repository.create_project(Project("p"))
    for _ in range(3):
        with pytest.raises(ValueError):
            repository.create_project(Project("p"))
        with pytest.raises(LookupError):
            repository.create_task(Task("t", project_id="987654"))
    task = repository.create_task(Task("t", project_id=project.id))
    assert repository.get_tasks(project) == [task]
