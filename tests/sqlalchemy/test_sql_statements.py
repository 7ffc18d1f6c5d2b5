"""The number of SQL statements per operation, counted with an SQLAlchemy event listener.

``get_model`` by names is at most 3 statements, listing a task's models is one statement whatever their
number, and a push costs the same number of statements however many models the task already has. Models
come with their tags in those same statements (no query per model); a search is one statement whatever
the number of models (on PostgreSQL, plus a bounded count per param condition), and so is following an
alias. Garbage collection's last check before each deletion
(``references_artifact_key``) is one statement that SQLite answers from an index.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from sql_helpers import count_statements

from ebonite_core import Ebonite, InMemoryArtifactRepository, create_model
from ebonite_core.query import ModelQuery
from ebonite_core.testing import ScaleModel, make_model

SAMPLE = [1.0, 2.0]
TAGS = {"stage": "candidate", "data": "2026-11"}


@pytest.fixture
def ebnt(repository: SQLAlchemyMetaRepository) -> Ebonite:
    return Ebonite(repository, InMemoryArtifactRepository())


def test_get_model_by_name_is_one_statement(ebnt: Ebonite, repository: SQLAlchemyMetaRepository) -> None:
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(), SAMPLE, "model", tags=TAGS)
    with count_statements(repository.engine) as statements:
        found = repository.get_model_by_name(task, "model")
    assert found is not None and found.tags == TAGS
    assert len(statements) == 1, statements
    with count_statements(repository.engine) as by_id:
        assert repository.get_model_by_id(found.id).tags == TAGS
    assert len(by_id) == 1, by_id


def test_client_get_model_by_names_is_at_most_three_statements(
    ebnt: Ebonite, repository: SQLAlchemyMetaRepository
) -> None:
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(), SAMPLE, "model", tags=TAGS)
    with count_statements(repository.engine) as by_names:
        found = ebnt.get_model("model", "task", "project")
    assert found is not None and found.name == "model" and found.tags == TAGS
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
            repository.create_model(make_model(f"m{index}", task.id, tags={"index": str(index), **TAGS}))
        created = total
        with count_statements(repository.engine) as statements:
            listed = ebnt.get_models(task)
        assert len(listed) == total
        assert [model.tags["index"] for model in listed] == [str(index) for index in range(total)]
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


@pytest.mark.parametrize("backend", ["sqlite-file", "postgresql", "mariadb"])
def test_a_push_with_tags_costs_the_same_statements_however_many_models_exist(
    ebnt: Ebonite, repository: SQLAlchemyMetaRepository
) -> None:
    task = ebnt.get_or_create_task("project", "task")
    per_push = []
    for index in range(60):
        model = create_model(ScaleModel(), SAMPLE, f"model-{index}", tags={**TAGS, "index": str(index)})
        with count_statements(repository.engine) as statements:
            ebnt.push_model(model, task)
        per_push.append(len(statements))
    assert set(per_push) == {per_push[0]}, per_push
    assert per_push[0] <= 3  # the name check, the model's INSERT, one INSERT for all of its tags
    assert ebnt.get_model("model-59", task).tags == {**TAGS, "index": "59"}


def _queries(task_id: str) -> dict[str, ModelQuery]:
    return {
        "newest": ModelQuery.create(task_id=task_id, limit=5),
        "by tag": ModelQuery.create(task_id=task_id, tags={"parity": "even", "stage": "candidate"}, limit=5),
        "by param": ModelQuery.create(task_id=task_id, params={"accuracy": (">=", 0.5), "kernel": "rbf"}, limit=5),
        "by param order": ModelQuery.create(order_by="-params.accuracy", limit=5),
        "by name, everywhere": ModelQuery.create(order_by="name", limit=5),
    }


def test_a_search_is_one_statement_whatever_the_number_of_models(
    ebnt: Ebonite, repository: SQLAlchemyMetaRepository
) -> None:
    """Filters, order, page token and the page's tags: one SELECT, for 30, 90 or 240 models alike."""
    task = ebnt.get_or_create_task("project", "task")
    counts: dict[str, list[int]] = {}
    created = 0
    for total in (30, 90, 240):
        for index in range(created, total):
            tags = {**TAGS, "parity": "even" if index % 2 == 0 else "odd"}
            params = {"accuracy": index / total, "kernel": "rbf" if index % 3 else "linear"}
            repository.create_model(make_model(f"m{index:03d}", task.id, tags=tags, params=params))
        created = total
        for name, query in _queries(task.id).items():
            with count_statements(repository.engine) as statements:
                page = repository.search_models(query)
            assert len(page) == 5 and page.next_page_token is not None, name
            assert all(model.tags["stage"] == "candidate" for model in page), name
            next_query = ModelQuery.create(**_arguments(query), page_token=page.next_page_token)
            with count_statements(repository.engine) as next_statements:
                next_page = repository.search_models(next_query)
            assert len(next_page) == 5 and not {model.id for model in page} & {model.id for model in next_page}
            counts.setdefault(name, []).extend([len(statements), len(next_statements)])
    # On PostgreSQL a search first counts the matches of each param condition, up to a bound (see
    # test_sql_registry.py): "by param" has two.
    probes = 2 if repository.engine.dialect.name == "postgresql" else 0
    assert counts == {name: [1 + (probes if name == "by param" else 0)] * 6 for name in counts}, counts


def _arguments(query: ModelQuery) -> dict[str, object]:
    order = ("-" if query.descending else "") + query.order_field
    params = {condition.key: (condition.op, condition.value) for condition in query.params}
    return {
        "task_id": query.task_id,
        "tags": dict(query.tags),
        "params": params,
        "order_by": order,
        "limit": query.limit,
    }


def test_client_search_and_latest_model_are_one_statement(ebnt: Ebonite, repository: SQLAlchemyMetaRepository) -> None:
    task = ebnt.get_or_create_task("project", "task")
    for index in range(20):
        task.create_and_push_model(ScaleModel(), SAMPLE, f"m{index}", tags=TAGS, params={"accuracy": index / 20})
    with count_statements(repository.engine) as statements:
        latest = ebnt.latest_model(task)
        best = ebnt.search_models(task=task, tags=TAGS, order_by="-params.accuracy", limit=3)
    assert latest is not None and latest.name == "m19" and latest.tags == TAGS
    assert [model.name for model in best] == ["m19", "m18", "m17"]
    assert len(statements) == 2, statements


def test_following_an_alias_is_one_statement(ebnt: Ebonite, repository: SQLAlchemyMetaRepository) -> None:
    task = ebnt.get_or_create_task("project", "task")
    first = task.create_and_push_model(ScaleModel(), SAMPLE, "first", tags=TAGS)
    second = task.create_and_push_model(ScaleModel(), SAMPLE, "second")
    with count_statements(repository.engine) as moves:
        ebnt.set_alias(task, "champion", first)
        ebnt.set_alias(task, "champion", second)
        ebnt.set_alias(task, "champion", first)
    assert len(moves) == 3, moves  # one upsert per move
    with count_statements(repository.engine) as statements:
        found = ebnt.get_model_by_alias(task, "champion")
    assert found is not None and found.name == "first" and found.tags == TAGS
    assert len(statements) == 1, statements


def test_get_or_create_task_of_an_existing_task_only_reads(ebnt: Ebonite, repository: SQLAlchemyMetaRepository) -> None:
    ebnt.get_or_create_task("project", "task")
    with count_statements(repository.engine) as statements:
        ebnt.get_or_create_task("project", "task")
    assert len(statements) == 2 and all(statement.lstrip().upper().startswith("SELECT") for statement in statements)


@pytest.mark.parametrize("backend", ["sqlite-file"])
def test_gc_asks_about_a_key_with_one_index_lookup(ebnt: Ebonite, repository: SQLAlchemyMetaRepository) -> None:
    """``references_artifact_key`` (asked before each deletion gc makes) searches revision 0004's index on the
    artifact key rather than scanning every model: the plan SQLite gives for the very statement it runs."""
    task = ebnt.get_or_create_task("project", "task")
    pushed = task.create_and_push_model(ScaleModel(), SAMPLE, "model")
    with count_statements(repository.engine) as statements:
        assert repository.references_artifact_key(pushed.artifact_key)
    assert not repository.references_artifact_key("0" * 32)
    assert len(statements) == 1, statements
    arguments = (pushed.artifact_key, *[1] * (statements[0].count("?") - 1))  # the key, then LIMIT (and OFFSET)
    with repository.engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statements[0]}", arguments)]
    assert plan == ["SEARCH ebonite_models USING COVERING INDEX ix_ebonite_models_artifact_key (artifact_key=?)"]


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
