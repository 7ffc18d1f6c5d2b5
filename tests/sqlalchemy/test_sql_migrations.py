"""Schema revisions: an empty database starts at the newest, an older one is refused or upgraded, a newer one
is refused, and the migrations build exactly the schema the repository queries."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from ebonite_sqlalchemy import SchemaVersionError, SQLAlchemyMetaRepository
from ebonite_sqlalchemy.migrate import alembic_config, head_revision, script_directory
from ebonite_sqlalchemy.schema import VERSION_TABLE, UTCDateTime, metadata
from sql_helpers import SHARED_BACKENDS, migrate_to
from sqlalchemy import JSON, column, create_engine, insert, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ebonite_core import Model
from ebonite_core.query import ModelQuery, ModelSummary
from ebonite_core.testing import make_model

FIRST_REVISION = "0001"
REVISIONS = [FIRST_REVISION, "0002", "0003", "0004", "0005"]

# The tables as revision 0002 had them, for writing what an older release wrote: params inside ``data``.
LEGACY_PROJECTS = table("ebonite_projects", column("id"), column("name"), column("creation_date", UTCDateTime()))
LEGACY_TASKS = table(
    "ebonite_tasks", column("id"), column("project_id"), column("name"), column("creation_date", UTCDateTime())
)
LEGACY_MODELS = table(
    "ebonite_models",
    column("id"),
    column("task_id"),
    column("name"),
    column("author"),
    column("creation_date", UTCDateTime()),
    column("artifact_key"),
    column("data", JSON()),
)
LEGACY_COLUMNS = ("id", "name", "task_id", "author", "creation_date", "artifact_key", "tags")


def set_recorded_revision(db_url: str, revision: str) -> None:
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = :revision"), {"revision": revision})
    finally:
        engine.dispose()


def index_names(db_url: str, table: str) -> set[str]:
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        return {index["name"] for index in inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


def write_legacy_models(db_url: str, models: list[Model]) -> None:
    """Store ``models`` in project "legacy", task "task" of a database at revision 0002, as 0002 stored them."""
    engine = create_engine(db_url, poolclass=NullPool)
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    try:
        with engine.begin() as connection:
            connection.execute(insert(LEGACY_PROJECTS).values(name="legacy", creation_date=when))
            project_id = connection.execute(select(LEGACY_PROJECTS.c.id)).scalar_one()
            connection.execute(insert(LEGACY_TASKS).values(project_id=project_id, name="task", creation_date=when))
            task_id = connection.execute(select(LEGACY_TASKS.c.id)).scalar_one()
            for model in models:
                document = model.to_dict()
                data = {key: value for key, value in document.items() if key not in LEGACY_COLUMNS}
                assert "params" in data
                connection.execute(
                    insert(LEGACY_MODELS).values(
                        task_id=task_id,
                        name=model.name,
                        author=model.author,
                        creation_date=model.creation_date,
                        artifact_key=model.artifact_key,
                        data=data,
                    )
                )
    finally:
        engine.dispose()


def test_the_package_ships_a_linear_history_of_five_revisions() -> None:
    revisions = list(script_directory().walk_revisions())
    assert [revision.revision for revision in reversed(revisions)] == REVISIONS
    assert head_revision() == "0005"


def test_an_empty_database_is_created_at_the_newest_revision(
    repository: SQLAlchemyMetaRepository, backend: str
) -> None:
    assert repository.revision == head_revision()
    with repository.engine.connect() as connection:
        recorded = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        tables = set(inspect(connection).get_table_names())
    assert recorded == [head_revision()]
    assert {"ebonite_projects", "ebonite_tasks", "ebonite_models", VERSION_TABLE} <= tables


def test_migrations_build_the_schema_the_repository_queries(repository: SQLAlchemyMetaRepository) -> None:
    """Autogenerate finds no difference between the migrated database and ``schema.metadata``."""
    with repository.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "version_table": VERSION_TABLE})
        differences = compare_metadata(context, metadata)
    assert differences == []


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_a_database_at_the_first_revision_is_refused_then_upgraded(
    db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    migrate_to(db_url, FIRST_REVISION)
    engine = create_engine(db_url, poolclass=NullPool)
    when = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=timezone.utc)
    with engine.begin() as connection:  # data written by an older release, straight into the 0001 tables
        connection.execute(
            text("INSERT INTO ebonite_projects (name, author, creation_date) VALUES ('old', 'ann', :when)"),
            {"when": when.replace(tzinfo=None) if engine.dialect.name != "postgresql" else when},
        )
    engine.dispose()

    with pytest.raises(SchemaVersionError) as refused:
        open_repository(db_url)
    message = str(refused.value)
    assert f"revision '{FIRST_REVISION}'" in message and f"revision '{head_revision()}'" in message
    assert "python -m ebonite_sqlalchemy upgrade" in message and "upgrade=True" in message
    assert make_url(db_url).render_as_string(hide_password=True) in message
    assert (refused.value.current, refused.value.head) == (FIRST_REVISION, head_revision())
    assert "ix_ebonite_models_task_id_id_creation_date" not in index_names(db_url, "ebonite_models"), (
        "refusal changed nothing"
    )

    upgraded = open_repository(db_url, upgrade=True)
    assert upgraded.revision == head_revision()
    assert "ix_ebonite_models_task_id_id_creation_date" in index_names(db_url, "ebonite_models")
    project = upgraded.get_project_by_name("old")
    assert project is not None and (project.author, project.creation_date) == ("ann", when)
    task = upgraded.get_or_create_task(project, "task")
    upgraded.create_model(make_model("model", task.id))
    assert [model.name for model in open_repository(db_url).get_models(task)] == ["model"]


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_the_upgrade_command_named_in_the_error_works(db_url: str, open_repository: Callable) -> None:
    migrate_to(db_url, FIRST_REVISION)
    run = [sys.executable, "-m", "ebonite_sqlalchemy"]
    current = subprocess.run([*run, "current", db_url], capture_output=True, text=True, check=True)
    assert f"revision {FIRST_REVISION}" in current.stdout and f"newest known: {head_revision()}" in current.stdout
    upgrade = subprocess.run([*run, "upgrade", db_url], capture_output=True, text=True, check=True)
    assert f"upgraded from {FIRST_REVISION} to {head_revision()}" in upgrade.stdout
    password = make_url(db_url).password
    assert not password or password not in upgrade.stdout + current.stdout
    assert open_repository(db_url).revision == head_revision()
    again = subprocess.run([*run, "upgrade", db_url], capture_output=True, text=True, check=True)
    assert "already at the newest revision" in again.stdout


def test_the_upgrade_command_reports_errors_without_the_password() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ebonite_sqlalchemy", "upgrade", "nosuchdialect://user:s3cret@localhost/db"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "error:" in result.stderr and "user:***@localhost" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
@pytest.mark.parametrize("upgrade", [False, True])
def test_a_database_at_an_unknown_newer_revision_is_refused(
    db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository], upgrade: bool
) -> None:
    open_repository(db_url).close()
    set_recorded_revision(db_url, "9999_from_the_future")
    with pytest.raises(SchemaVersionError) as refused:
        open_repository(db_url, upgrade=upgrade)
    message = str(refused.value)
    assert "'9999_from_the_future'" in message and f"'{head_revision()}'" in message
    assert "newer ebonite-sqlalchemy" in message


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_migrations_downgrade_to_nothing_and_upgrade_again(db_url: str, open_repository: Callable) -> None:
    open_repository(db_url).close()
    migrate_to(db_url, "head")
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        with engine.connect() as connection:
            left = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
        assert left == set()
    finally:
        engine.dispose()
    repository = open_repository(db_url)
    assert repository.revision == head_revision() and repository.get_projects() == []


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_a_database_at_0002_with_models_is_refused_then_upgraded_and_keeps_them(
    db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository]
) -> None:
    """Revision 0003 adds the tag and alias tables and moves params out of ``data``, 0004 indexes the params,
    0005 adds up each model's artifact sizes: the models survive them all, and search and summaries find them
    through the new columns and indexes."""
    migrate_to(db_url, "0002")
    when = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc)
    legacy = [
        make_model("accurate", params={"accuracy": 0.95, "kernel": "rbf", "clé": 1}, creation_date=when),
        make_model("sloppy", params={"accuracy": 0.5, "nested": {"deep": [1, "ü"]}}, creation_date=when),
        make_model("plain", params={}, creation_date=when, artifacts=[]),
        make_model(
            "odd", params={"accuracy": True, "kernel": "r" * 300, "k" * 300: 2, "big": 10**400}, creation_date=when
        ),
    ]
    write_legacy_models(db_url, legacy)

    with pytest.raises(SchemaVersionError) as refused:
        open_repository(db_url)
    message = str(refused.value)
    assert "revision '0002'" in message and f"revision '{head_revision()}'" in message
    assert "python -m ebonite_sqlalchemy upgrade" in message and "upgrade=True" in message
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        assert "ebonite_model_tags" not in inspect(engine).get_table_names(), "the refusal changed nothing"
    finally:
        engine.dispose()

    upgraded = open_repository(db_url, upgrade=True)
    assert upgraded.revision == head_revision()
    project = upgraded.get_project_by_name("legacy")
    task = upgraded.get_task_by_name(project, "task")
    models = upgraded.get_models(task)
    assert [model.name for model in models] == ["accurate", "sloppy", "plain", "odd"]
    for model, original in zip(models, legacy, strict=True):
        for field in ("params", "methods", "requirements", "artifacts", "description", "creation_date"):
            assert getattr(model, field) == getattr(original, field), (model.name, field)
        assert model.tags == {}
    found = upgraded.search_models(ModelQuery.create(params={"accuracy": (">=", 0.9)}))
    assert [model.name for model in found] == ["accurate"]
    assert [model.name for model in upgraded.search_models(ModelQuery.create(params={"clé": 1}))] == ["accurate"]
    by_accuracy = upgraded.search_models(ModelQuery.create(order_by="params.accuracy"))  # booleans are no number
    assert [model.name for model in by_accuracy] == ["sloppy", "accurate"]
    by_kernel = upgraded.search_models(ModelQuery.create(order_by="text_params.kernel"))
    assert [model.name for model in by_kernel] == ["accurate", "odd"]
    size = sum(artifact.size for model in legacy for artifact in model.artifacts)
    assert upgraded.summarize_models(ModelQuery.create(task_id=task.id)) == ModelSummary(4, size, when)
    for params, expected in [
        ({"kernel": "rbf"}, ["accurate"]),
        ({"kernel": "r" * 300}, ["odd"]),
        ({"k" * 300: 2}, ["odd"]),
    ]:
        assert [model.name for model in upgraded.search_models(ModelQuery.create(params=params))] == expected
    with upgraded.engine.connect() as connection:  # moved, not copied
        documents = connection.execute(select(LEGACY_MODELS.c.data)).scalars().all()
    assert all("params" not in document for document in documents)

    upgraded.set_model_tags(models[1], {"stage": "candidate"})
    upgraded.set_alias(task, "champion", models[0])
    assert upgraded.get_model_by_alias(task, "champion").name == "accurate"
    assert [m.name for m in upgraded.search_models(ModelQuery.create(tags={"stage": "candidate"}))] == ["sloppy"]
    upgraded.create_model(make_model("new", task.id, tags={"stage": "candidate"}))
    assert [model.name for model in open_repository(db_url).get_models(task)] == [
        "accurate",
        "sloppy",
        "plain",
        "odd",
        "new",
    ]


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_downgrading_0003_puts_params_back_into_data(db_url: str, open_repository: Callable) -> None:
    repository = open_repository(db_url)
    task = repository.get_or_create_task(repository.get_or_create_project("project"), "task")
    params = {"accuracy": 0.9, "kernel": "rbf", "nested": {"list": [1, 2.5, "ü"]}}
    model = repository.create_model(make_model("model", task.id, params=params, tags={"stage": "x"}))
    repository.set_alias(task, "champion", model)
    repository.close()

    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0002")
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            columns = {info["name"] for info in inspect(connection).get_columns("ebonite_models")}
            [document] = connection.execute(select(LEGACY_MODELS.c.data)).scalars().all()
        assert not {"ebonite_model_tags", "ebonite_task_aliases"} & tables
        assert "params" not in columns
        assert document["params"] == params
        assert "ix_ebonite_models_task_id_creation_date_id" not in index_names(db_url, "ebonite_models")
    finally:
        engine.dispose()
    again = open_repository(db_url, upgrade=True)
    assert again.get_model_by_id(model.id).params == params


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_plans_with_fresh_statistics_after_an_upgrade(db_url: str, open_repository: Callable) -> None:
    """Revision 0005 changes the collation of columns searched by (ALTER COLUMN TYPE drops their statistics) and
    rewrites every model row: it analyses those tables, or PostgreSQL plans tag searches blind until autovacuum
    comes (measured at 1,000,000 models: two tags 10 -> 102 ms, three 24 -> 173 ms)."""
    migrate_to(db_url, "0002")
    write_legacy_models(db_url, [make_model("m", params={"accuracy": 0.9, "kernel": "rbf"})])
    open_repository(db_url, upgrade=True)
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            # ANALYZE writes each column's statistics (for tables that hold rows), in the upgrade's transaction.
            analysed = connection.execute(text("SELECT DISTINCT tablename FROM pg_stats")).scalars()
            assert {"ebonite_models", "ebonite_model_params"} <= set(analysed)
    finally:
        engine.dispose()
