"""Tags, aliases and search where SQL databases differ from Python: collations, JSON types, key spelling,
column lengths, cascades and page tokens. (The core's contract covers the features themselves.)"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from ebonite_sqlalchemy.schema import model_tags, task_aliases
from sql_helpers import count_statements
from sql_servers import Server
from sqlalchemy import func, select

from ebonite_core import NonExistingModelError, NonExistingTaskError, Project, Task
from ebonite_core.objects import MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH
from ebonite_core.query import ModelQuery
from ebonite_core.testing import make_model

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def task(repository: SQLAlchemyMetaRepository) -> Task:
    project = repository.create_project(Project("project"))
    return repository.create_task(Task("task", project_id=project.id))


def names(repository: SQLAlchemyMetaRepository, **arguments: object) -> list[str]:
    return [model.name for model in repository.search_models(ModelQuery.create(**arguments))]


def test_strings_compare_exactly(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    """Case and trailing spaces count, in tags and in params (MariaDB's utf8mb4_bin ignores trailing spaces)."""
    for index, value in enumerate(["rbf", "RBF", "rbf ", "rbf  ", "rbé"]):
        repository.create_model(
            make_model(f"m{index}", task.id, tags={"kernel": value}, params={"kernel": value}, creation_date=START)
        )
    for index, value in enumerate(["rbf", "RBF", "rbf ", "rbf  ", "rbé"]):
        assert names(repository, tags={"kernel": value}) == [f"m{index}"], value
        assert names(repository, params={"kernel": value}) == [f"m{index}"], value
    assert names(repository, tags={"kernel ": "rbf"}) == []
    assert names(repository, params={"kernel": ("!=", "rbf")}, order_by="name") == ["m1", "m2", "m3", "m4"]
    assert names(repository, order_by="name") == ["m0", "m1", "m2", "m3", "m4"]


@pytest.mark.parametrize("key", ['w k."', "a\\b", 'a\\"b', "é", "", "a.b", "$", "x[0]", "it's", "a\tb", "😀", "*"])
def test_any_param_key_can_be_searched_and_ordered_by(
    repository: SQLAlchemyMetaRepository, task: Task, key: str
) -> None:
    """Keys that JSON paths must quote or escape: SQLite, PostgreSQL and MariaDB spell them differently."""
    for index, value in enumerate([0.5, 2, "text", True]):
        repository.create_model(make_model(f"m{index}", task.id, params={key: value, "other": 1}))
    assert names(repository, params={key: (">=", 0.5)}, order_by="name") == ["m0", "m1"]
    assert names(repository, params={key: "text"}) == ["m2"]
    if key:  # "params." names no key: ModelQuery refuses it
        assert names(repository, order_by=f"-params.{key}") == ["m1", "m0"]


INJECTIONS = ["x' OR '1'='1", "'; DROP TABLE models; --", '" OR 1=1 --', "a') OR ('a'='a", "$.x') IS NOT NULL --"]


def test_search_values_and_keys_are_never_sql(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    """Injection strings as tag keys and values, param keys and values, and in names: found exactly where
    stored, nowhere else, and every table still there."""
    repository.create_model(make_model("plain", task.id, params={"kernel": "rbf"}))
    for index, payload in enumerate(INJECTIONS):
        model = make_model(f"m{index}{payload}", task.id, params={payload: payload}, tags={"stage": payload})
        repository.create_model(model)
        assert names(repository, tags={"stage": payload}) == [f"m{index}{payload}"]
        assert names(repository, params={payload: payload}) == [f"m{index}{payload}"]
        assert names(repository, params={"kernel": payload}) == []
        assert names(repository, tags={payload: "x"}) == []
    assert len(names(repository)) == len(INJECTIONS) + 1


def test_non_ascii_param_keys_whatever_the_json_serializer(db_url: str, open_repository: Callable) -> None:
    """The default serializer escapes "é" as \\u00e9 inside the stored JSON; an engine's json_serializer may not."""
    repository = open_repository(db_url, json_serializer=lambda value: json.dumps(value, ensure_ascii=False))
    task = repository.get_or_create_task(repository.get_or_create_project("project"), "task")
    repository.create_model(make_model("model", task.id, params={"clé": 0.5, "😀": "yes", "plain": 1}))
    assert names(repository, params={"clé": (">", 0.1), "😀": "yes", "plain": 1}) == ["model"]
    assert names(repository, order_by="params.clé") == ["model"]


def test_params_match_json_types_only(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    values = {"int": 1, "float": 1.0, "true": True, "false": False, "null": None, "text1": "1", "list": [1], "obj": {}}
    for name, value in values.items():
        repository.create_model(make_model(name, task.id, params={"x": value}, creation_date=START))
    assert names(repository, params={"x": 1}, order_by="name") == ["float", "int"]
    assert names(repository, params={"x": ("<=", 1)}, order_by="name") == ["float", "int"]
    assert names(repository, params={"x": ("!=", 0)}, order_by="name") == ["float", "int"]
    assert names(repository, params={"x": "1"}) == ["text1"]
    assert names(repository, params={"x": ("!=", "2")}) == ["text1"]
    assert names(repository, order_by="params.x") == ["int", "float"], "a tie is broken by id"


def test_large_and_negative_numbers(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    for name, value in {"huge": 10**30, "tiny": -1e-300, "big": 2**62, "negative": -5}.items():
        repository.create_model(make_model(name, task.id, params={"x": value}, creation_date=START))
    assert names(repository, params={"x": (">", 10**20)}) == ["huge"]
    assert names(repository, params={"x": ("<", 0)}, order_by="name") == ["negative", "tiny"]
    assert names(repository, order_by="-params.x") == ["huge", "big", "tiny", "negative"]


def test_non_finite_params_are_refused_before_anything_is_written(
    repository: SQLAlchemyMetaRepository, task: Task
) -> None:
    """JSON has no NaN or infinity: PostgreSQL and MariaDB would refuse the document, and SQLite's JSON
    functions would fail every later search on it."""
    for bad in (math.nan, math.inf, {"nested": -math.inf}):
        with pytest.raises(ValueError, match="NaN or an infinity"):
            repository.create_model(make_model("model", task.id, params={"x": bad}))
    assert repository.get_models(task) == []


def test_longest_tags_fit_every_database(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    """A 128-character key and a 500-character value of 4-byte characters fit the columns and the index."""
    key, value = "🔑" * MAX_TAG_KEY_LENGTH, "🎯" * MAX_TAG_VALUE_LENGTH
    model = repository.create_model(make_model("model", task.id, tags={key: value}))
    assert repository.get_model_by_id(model.id).tags == {key: value}
    assert names(repository, tags={key: value}) == ["model"]
    longest_alias = "🏆" * 255
    repository.set_alias(task, longest_alias, model)
    assert repository.get_aliases(task) == {longest_alias: model.id}


def test_tags_with_quotes_and_backslashes_come_back_intact(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    tags = {'say "hi"': 'C:\\path\\"x"', "json": '{"a": [1]}', "spaces": "  both  "}
    model = repository.create_model(make_model("model", task.id, tags=tags))
    assert repository.get_model_by_id(model.id).tags == tags
    assert repository.search_models(ModelQuery.create(tags={"json": '{"a": [1]}'}))[0].tags == tags


def test_deleting_a_model_leaves_no_tag_or_alias_rows(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    model = repository.create_model(make_model("model", task.id, tags={"a": "1", "b": "2"}))
    kept = repository.create_model(make_model("kept", task.id, tags={"a": "1"}))
    repository.set_alias(task, "champion", model)
    repository.set_alias(task, "other", model)
    repository.set_alias(task, "stable", kept)
    repository.delete_model(model)
    with repository.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(model_tags)).scalar_one() == 1
        assert connection.execute(select(task_aliases.c.alias)).scalars().all() == ["stable"]
    repository.delete_model(kept)
    repository.delete_task(task)  # no model left: the task goes, aliases never hold it back
    assert repository.get_task_by_id(task.id) is None


def test_alias_moves_and_refusals(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    other_task = repository.create_task(Task("other", project_id=task.project_id))
    model = repository.create_model(make_model("model", task.id))
    foreign = repository.create_model(make_model("foreign", other_task.id))
    repository.set_alias(task, "champion", model)
    repository.set_alias(task, "champion", model)  # already there: MySQL/MariaDB count no changed row
    assert repository.get_aliases(task) == {"champion": model.id}
    with pytest.raises(ValueError, match="not in task"):
        repository.set_alias(task, "champion", foreign)
    ghost = make_model("ghost", task.id, id="987654")
    with pytest.raises(NonExistingModelError):
        repository.set_alias(task, "champion", ghost)
    assert repository.get_model_by_alias(task, "champion") == model
    assert repository.get_model_by_alias(task, "champion ") is None, "alias names compare exactly"
    repository.delete_alias(task, "champion ")
    assert repository.get_aliases(task) == {"champion": model.id}
    with pytest.raises(NonExistingTaskError):
        repository.delete_alias(Task("gone", project_id=task.project_id, id="987654"), "champion")


def test_tags_compare_exactly_when_deleted(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    model = repository.create_model(make_model("model", task.id, tags={"stage": "x"}))
    assert repository.delete_model_tag(model, "stage ").tags == {"stage": "x"}
    assert repository.delete_model_tag(model, "Stage").tags == {"stage": "x"}
    assert repository.delete_model_tag(model, "stage").tags == {}


def test_a_page_token_with_a_foreign_id_is_a_value_error(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    """The core checks a token's sort value (its contract tests that); the id is this backend's to check."""
    repository.create_model(make_model("model", task.id))
    for bogus in ("not-an-id", "-1", "99999999999999999999999"):
        token = ModelQuery.create().encode_token(START, bogus)
        with pytest.raises(ValueError, match="page token"):
            repository.search_models(ModelQuery.create(page_token=token))


def test_unknown_ids_find_nothing(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    repository.create_model(make_model("model", task.id))
    for bogus in ("abc", "0", "987654"):
        assert repository.search_models(ModelQuery.create(task_id=bogus)) == []
        assert repository.search_models(ModelQuery.create(project_id=bogus)) == []
        assert repository.get_model_by_alias(Task("t", id=bogus), "champion") is None
        assert repository.get_aliases(Task("t", id=bogus)) == {}


def test_search_pages_through_equal_creation_dates_by_id(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    """Models created in the same microsecond: the id breaks the tie, so paging neither skips nor repeats."""
    for index in range(7):
        when = START + timedelta(seconds=index // 3)
        repository.create_model(make_model(f"m{index}", task.id, creation_date=when))
    seen, token = [], None
    while True:
        page = repository.search_models(ModelQuery.create(limit=2, page_token=token))
        seen += [model.name for model in page]
        token = page.next_page_token
        if token is None:
            break
    assert seen == ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]


def _every_page(repository: SQLAlchemyMetaRepository, **arguments: object) -> list[str]:
    seen, token = [], None
    while True:
        page = repository.search_models(ModelQuery.create(limit=2, page_token=token, **arguments))
        seen += [model.name for model in page]
        if (token := page.next_page_token) is None:
            return seen


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_counts_a_param_conditions_matches_before_searching(
    repository: SQLAlchemyMetaRepository, task: Task
) -> None:
    """A condition with at most the bound's matches is searched from its list of matches, capped at their
    count in the same snapshot; one with more, as on every database. Both find every match, page by page."""
    for index in range(12):
        params = {"accuracy": index / 12, "kernel": "rbf" if index % 4 else "linear"}
        repository.create_model(make_model(f"m{index:02d}", task.id, params=params, creation_date=START))
    repository._rare_param_matches = 4  # 3 matches of "linear" and of accuracy > 0.7, 9 of "rbf"
    expected = {
        "kernel": (["m08", "m04", "m00"], {"kernel": "linear"}),
        "range": (["m11", "m10", "m09"], {"accuracy": (">", 0.7)}),
        "common": ([f"m{index:02d}" for index in range(11, -1, -1) if index % 4], {"kernel": "rbf"}),
        "both": (["m11", "m10", "m09"], {"kernel": "rbf", "accuracy": (">", 0.7)}),
    }
    for name, (found, params) in expected.items():
        with count_statements(repository.engine) as statements:
            assert names(repository, task_id=task.id, params=params) == found, name
        assert len(statements) == 1 + len(params), (name, statements)  # a count per condition, then the search
        assert _every_page(repository, task_id=task.id, params=params) == found, name
        assert _every_page(repository, task_id=task.id, params=params, order_by="name") == sorted(found), name


def test_name_order_is_code_point_order(repository: SQLAlchemyMetaRepository, task: Task) -> None:
    """As the other backends sort names (Python's str order), whatever the database's collation."""
    model_names = ["b", "B", "a", "Z", "é", "e", "10", "9", "模型", "🚀", "a b", "ab"]
    for name in model_names:
        repository.create_model(make_model(name, task.id))
    assert names(repository, order_by="name") == sorted(model_names)
    assert names(repository, order_by="-name", limit=3) == sorted(model_names, reverse=True)[:3]
    first = repository.search_models(ModelQuery.create(order_by="name", limit=5))
    rest = repository.search_models(ModelQuery.create(order_by="name", limit=100, page_token=first.next_page_token))
    assert [model.name for model in [*first, *rest]] == sorted(model_names)


def test_name_order_ignores_a_linguistic_database_collation(
    postgresql_server: Server, open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    """A PostgreSQL database whose default collation is ICU's root locale sorts "a" before "B"; search still
    sorts names by code point ("B" first), as the other backends do (the column's collation is "C")."""
    name = "icu_names"
    with postgresql_server.admin().connect() as connection:
        connection.exec_driver_sql(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'und' "
            "LOCALE 'C.UTF-8'"
        )
    url = postgresql_server.url(name)
    try:
        repository = open_repository(url)
        task = repository.get_or_create_task(repository.get_or_create_project("project"), "task")
        for model_name in ["b", "B", "a", "A"]:
            repository.create_model(make_model(model_name, task.id))
        with repository.engine.connect() as connection:  # the database's own order is linguistic
            linguistic = (
                connection.exec_driver_sql('SELECT name FROM ebonite_models ORDER BY name COLLATE "default"')
                .scalars()
                .all()
            )
        assert linguistic == ["a", "A", "b", "B"]
        assert names(repository, order_by="name") == ["A", "B", "a", "b"]
        repository.close()
    finally:
        postgresql_server.drop_database(url)
