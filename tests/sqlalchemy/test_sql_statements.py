"""The number of SQL statements per operation, counted with an SQLAlchemy event listener.

``get_model`` by names is at most 3 statements, listing a task's models is one statement whatever their
number, and a push costs the same number of statements however many models the task already has.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from sql_helpers import count_statements

from ebonite_core import Ebonite, InMemoryArtifactRepository, create_model
from ebonite_core.testing import ScaleModel, make_model

SAMPLE = [1.0, 2.0]


@pytest.fixture
def ebnt(repository: SQLAlchemyMetaRepository) -> Ebonite:
    return Ebonite(repository, InMemoryArtifactRepository())


def test_get_model_by_name_is_one_statement(ebnt: Ebonite, repository: SQLAlchemyMetaRepository) -> None:
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(), SAMPLE, "model")
    with count_statements(repository.engine) as statements:
        found = repository.get_model_by_name(task, "model")
    assert found is not None and len(statements) == 1, statements


def test_client_get_model_by_names_is_at_most_three_statements(
    ebnt: Ebonite, repository: SQLAlchemyMetaRepository
) -> None:
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(), SAMPLE, "model")
    with count_statements(repository.engine) as by_names:
        found = ebnt.get_model("model", "task", "project")
    assert found is not None and found.name == "model"
    assert len(by_names) <= 3, by_names
    with count_statements(repository.engine) as by_task:
        assert ebnt.get_model("model", task) is not None
    assert len(by_task) == 1, by_task
    with count_statements(repository.engine) as missing:
        assert ebnt.get_model("nothing", "task", "project") is None
    assert len(missing) <= 3, missing


@pytest.mark.parametrize("backend", ["sqlite-file", "postgresql", "mariadb"])
def test_listing_a_tasks_models_is_one_statement_whatever_their_number(
    repository: SQLAlchemyMetaRepository, ebnt: Ebonite
) -> None:
    task = ebnt.get_or_create_task("project", "task")
    counts, created = [], 0
    for total in (1, 10, 200):
        for index in range(created, total):
            repository.create_model(make_model(f"m{index}", task.id))
        created = total
        with count_statements(repository.engine) as statements:
            listed = ebnt.get_models(task)
        assert len(listed) == total
        counts.append(len(statements))
    assert counts == [1, 1, 1]


def test_listing_projects_and_tasks_is_one_statement(ebnt: Ebonite, repository: SQLAlchemyMetaRepository) -> None:
    for index in range(5):
        ebnt.get_or_create_task("project", f"task{index}")
    project = ebnt.get_project("project")
    with count_statements(repository.engine) as statements:
        assert len(ebnt.get_projects()) == 1
        assert len(ebnt.get_tasks(project)) == 5
    assert len(statements) == 2, statements


@pytest.mark.parametrize("backend", ["sqlite-file", "postgresql", "mariadb"])
def test_a_push_costs_the_same_statements_however_many_models_exist(
    ebnt: Ebonite, repository: SQLAlchemyMetaRepository
) -> None:
    task = ebnt.get_or_create_task("project", "task")
    per_push = []
    for index in range(120):
        model = create_model(ScaleModel(), SAMPLE, f"model-{index}")
        with count_statements(repository.engine) as statements:
            ebnt.push_model(model, task)
        per_push.append(len(statements))
    assert set(per_push) == {per_push[0]}, per_push
    assert per_push[0] <= 2  # the client's "is the name free" check, then one INSERT
    assert len(ebnt.get_models(task)) == 120


def test_get_or_create_task_of_an_existing_task_only_reads(ebnt: Ebonite, repository: SQLAlchemyMetaRepository) -> None:
    ebnt.get_or_create_task("project", "task")
    with count_statements(repository.engine) as statements:
        ebnt.get_or_create_task("project", "task")
    assert len(statements) == 2 and all(statement.lstrip().upper().startswith("SELECT") for statement in statements)


def test_the_count_listener_sees_every_statement(tmp_path: Path) -> None:
    """The listener is not blind: a repository operation that runs several statements is counted fully."""
    repository = SQLAlchemyMetaRepository(f"sqlite:///{tmp_path / 'db'}")
    try:
        with count_statements(repository.engine) as statements:
            repository.get_projects()
            repository.get_project_by_name("x")
            repository.get_project_by_id("1")
        assert len(statements) == 3
    finally:
        repository.close()
