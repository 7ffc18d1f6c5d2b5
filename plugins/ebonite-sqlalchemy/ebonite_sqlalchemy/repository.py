"""``SQLAlchemyMetaRepository``: projects, tasks and models' metadata in a SQL database."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import URL, ColumnElement, Connection, Row, Table, Text, delete, exc, insert, literal, select

from ebonite_core.errors import (
    ExistingModelError,
    ExistingProjectError,
    ExistingTaskError,
    MetadataCorruptError,
    NonExistingModelError,
    NonExistingProjectError,
    NonExistingTaskError,
    ProjectWithTasksError,
    RepositoryError,
    TaskWithModelsError,
)
from ebonite_core.names import check_alias, check_name, check_tags
from ebonite_core.objects import Model, Project, Task, check_storable
from ebonite_core.query import ModelPage, ModelQuery
from ebonite_core.repository import MetadataRepository

from .dialects import JsonObjectAgg, exact_equals, family, upsert
from .engine import (
    FOREIGN_KEY,
    constraint_violation,
    database_errors,
    hide_url_secrets,
    is_deadlock,
    is_memory_sqlite,
    make_engine,
)
from .migrate import ensure_schema
from .schema import (
    MODEL_COLUMNS,
    NAME_LENGTH,
    model_params,
    model_tags,
    models,
    param_index_rows,
    projects,
    task_aliases,
    tasks,
)
from .search import RARE_MATCHES, count_statement, match_probes, search_statement

_MAX_ID = 2**63 - 1
_DEADLOCK_RETRIES = 3
T = TypeVar("T")


def _row_id(value: str | None) -> int | None:
    """The integer key behind an id the core hands back, or ``None`` for anything this store never made."""
    if not isinstance(value, str) or not value.isdecimal() or not value.isascii():
        return None
    number = int(value)
    return number if 0 < number <= _MAX_ID else None


def _not_here(obj: Project | Task | Model) -> str:
    kind = type(obj).__name__
    return (
        f"{kind} {obj.name!r} (id {obj.id!r}) is not in this registry: it was deleted, or the object comes from "
        f"another registry. Get the {kind.lower()} from this registry to change or delete it."
    )


def _check_author(author: str | None) -> str | None:
    if author is not None and len(author) > NAME_LENGTH:
        raise ValueError(f"An author name is at most {NAME_LENGTH} characters, got {len(author)}.")
    return author


_PROJECT = select(projects.c.id, projects.c.name, projects.c.author, projects.c.creation_date)
_TASK = select(tasks.c.id, tasks.c.name, tasks.c.project_id, tasks.c.author, tasks.c.creation_date)
# A model's tags come with it, aggregated into one JSON object by a correlated subquery: every getter stays
# one statement, whatever the number of models it returns (no query per model).
_TAGS = (
    select(JsonObjectAgg(model_tags.c.key, model_tags.c.value))
    .where(model_tags.c.model_id == models.c.id)
    .scalar_subquery()
)
_MODEL = select(
    models.c.id,
    models.c.name,
    models.c.task_id,
    models.c.author,
    models.c.creation_date,
    models.c.artifact_key,
    models.c.data,
    models.c.params,
    _TAGS.label("tags"),
)


def _project(row: Row[Any]) -> Project:
    return Project(name=row.name, id=str(row.id), author=row.author, creation_date=row.creation_date)


def _task(row: Row[Any]) -> Task:
    return Task(
        name=row.name,
        project_id=str(row.project_id),
        id=str(row.id),
        author=row.author,
        creation_date=row.creation_date,
    )


def _model(row: Row[Any]) -> Model:
    # from_dict copies the nested data and fills in fields the document may lack.
    return Model.from_dict(
        {
            **row.data,
            "id": str(row.id),
            "name": row.name,
            "task_id": str(row.task_id),
            "author": row.author,
            "creation_date": row.creation_date.isoformat(),
            "artifact_key": row.artifact_key,
            "params": row.params or {},
            "tags": row.tags or {},  # NULL from PostgreSQL's and MariaDB's aggregate of no rows
        }
    )


def _tag_rows(model_id: int, task_id: int, creation_date: datetime, tags: dict[str, str]) -> list[dict[str, Any]]:
    """A model's rows of ``ebonite_model_tags``, with the task and creation date that search walks them by."""
    return [
        {"model_id": model_id, "key": key, "value": value, "task_id": task_id, "creation_date": creation_date}
        for key, value in tags.items()
    ]


class _Violation(Exception):
    """A write refused by a unique or foreign-key constraint; the caller says what it means."""

    def __init__(self, kind: str, cause: exc.IntegrityError) -> None:
        super().__init__(kind)
        self.kind = kind
        self.cause = cause

    @classmethod
    def of(cls, err: exc.IntegrityError, url: str) -> _Violation | RepositoryError:
        kind = constraint_violation(err)
        if kind is None:  # a NOT NULL or CHECK constraint: a bug, not a user error
            return RepositoryError(f"Metadata database {url} refused a write: {err.orig}")
        return cls(kind, err)


class SQLAlchemyMetaRepository(MetadataRepository):
    """Metadata in a SQL database through SQLAlchemy 2: SQLite, PostgreSQL or MySQL/MariaDB.

    ``db_uri`` is a SQLAlchemy URL, e.g. ``sqlite:///registry.db``, ``postgresql+psycopg://user:pw@host/db``
    or ``mysql+pymysql://user:pw@host/db?charset=utf8mb4``; ``engine_kwargs`` go to
    :func:`sqlalchemy.create_engine` (``pool_size``, ``pool_pre_ping``, ``connect_args``...).

    Opening the repository connects once: an empty database gets the schema at the newest revision (under
    a lock, so that processes starting together create it once). A database at an older revision is
    refused with the command that upgrades it, unless ``upgrade=True``; a newer one is refused. Failures
    to connect raise :class:`~ebonite_core.errors.RepositoryError` naming the URL with its password masked.

    Every operation runs in its own short transaction on a pooled connection, so one repository may be
    shared by threads. Uniqueness of names and the refusal to delete a parent with children are decided by
    the database's constraints, which makes them safe between processes. The engine is disposed by
    :meth:`close`, and in a forked child its pooled connections are dropped (never shared).
    """

    type: ClassVar[str] = "sqlalchemy"

    def __init__(self, db_uri: str | URL, upgrade: bool = False, **engine_kwargs: Any) -> None:
        self.engine, self.url = make_engine(db_uri, engine_kwargs)
        self._db_uri = db_uri if isinstance(db_uri, str) else db_uri.render_as_string(hide_password=False)
        self._engine_kwargs = dict(engine_kwargs)
        try:
            self._family = family(self.engine.dialect)
        except ValueError as err:
            self.engine.dispose()
            raise RepositoryError(f"Cannot use {self.url}: {err}") from err
        # An in-memory SQLite database is one connection shared by all threads: take turns using it.
        self._lock: Any = threading.RLock() if is_memory_sqlite(self.engine.url) else nullcontext()
        self._closed = False
        # PostgreSQL: a param condition with at most this many matches is searched from its matches (see
        # ebonite_sqlalchemy.search.RARE_MATCHES); the tests lower it to take both paths with a few models.
        self._rare_param_matches = RARE_MATCHES
        try:
            with database_errors(self.url):
                self.revision = ensure_schema(self.engine, self.url, upgrade=upgrade)
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"SQLAlchemyMetaRepository({self.url!r})"

    @classmethod
    def hide_secrets(cls, option: str, value: str, hide: Callable[[str, str], str]) -> str:
        """The secrets of ``db_uri`` as SQLAlchemy reads them (see :func:`.engine.hide_url_secrets`)."""
        if option == "db_uri":
            return hide_url_secrets(value, hide)
        return super().hide_secrets(option, value, hide)

    def config(self) -> dict[str, Any]:
        """``db_uri`` (its password included: ``Ebonite.save_config`` masks it) and the engine options, for
        writing this repository to a config file; engine options must be JSON data to be written."""
        return {"db_uri": self._db_uri, **self._engine_kwargs}

    def close(self) -> None:
        """Close every pooled connection; the repository cannot be used afterwards."""
        self._closed = True
        self.engine.dispose()

    # Connections: one per operation, translated errors
    @contextmanager
    def _connection(self, write: bool = False) -> Iterator[Connection]:
        if self._closed:
            raise RepositoryError(f"{self!r} is closed.")
        with self._lock, database_errors(self.url):
            if write:
                with self.engine.begin() as connection:
                    yield connection
            else:
                with self.engine.connect() as connection:
                    yield connection

    def _write(self, change: Callable[[Connection], T]) -> T:
        """Run ``change`` in a transaction, again if the database broke a deadlock by rolling it back.

        Only for changes that are safe to repeat. Constraint violations are the caller's (IntegrityError).
        """
        for attempt in range(_DEADLOCK_RETRIES):
            try:
                with self._connection(write=True) as connection:
                    return change(connection)
            except RepositoryError as err:
                cause = err.__cause__
                if attempt + 1 == _DEADLOCK_RETRIES or not isinstance(cause, exc.DBAPIError) or not is_deadlock(cause):
                    raise
        raise AssertionError("not reached")

    def _one(self, query: Any) -> Row[Any] | None:
        with self._connection() as connection, self._readable_rows():
            return connection.execute(query).first()

    def _all(self, query: Any) -> list[Row[Any]]:
        with self._connection() as connection, self._readable_rows():
            return list(connection.execute(query))

    @contextmanager
    def _readable_rows(self) -> Iterator[None]:
        """Around fetching rows: a stored value the column type cannot read back (text that is not JSON or
        not a date, which only SQLite lets a person write) is a :class:`MetadataCorruptError` naming the row."""
        try:
            yield
        except ValueError as err:  # json.JSONDecodeError included
            problem = "text that is not valid JSON" if isinstance(err, json.JSONDecodeError) else "a value"
            raise MetadataCorruptError(
                f"The metadata database {self.url} holds {problem} that cannot be read back ({err})"
                f"{self._bad_row()}: it was edited by hand or damaged. It was left untouched: fix or delete that row."
            ) from err

    def _bad_row(self) -> str:
        """Where the unreadable value is, found by reading every row as raw text (only after such an error)."""
        checks = {"creation_date": datetime.fromisoformat, "data": json.loads, "params": json.loads}
        for table in (projects, tasks, models):
            columns = [column for column in checks if column in table.c]
            query = select(table.c.id, table.c.name, *[table.c[column].cast(Text) for column in columns])
            try:
                with self._connection() as connection:
                    rows = connection.execute(query).all()
            except Exception:  # the hint is a courtesy: never hide the error it explains
                return ""
            for row in rows:
                for column, value in zip(columns, row[2:], strict=True):
                    try:
                        if value is not None:
                            checks[column](value)
                    except ValueError:
                        return f" in column {column!r} of {table.name} row {row.id} ({row.name!r})"
        return ""

    def _to_model(self, row: Row[Any]) -> Model:
        try:
            return _model(row)
        except MetadataCorruptError as err:
            raise MetadataCorruptError(
                f"The metadata database {self.url}: {err} It was left untouched: fix or delete that row."
            ) from err

    def _violation(self, err: exc.IntegrityError) -> _Violation:
        """The unique or foreign-key constraint ``err`` broke; any other constraint raises RepositoryError."""
        violation = _Violation.of(err, self.url)
        if isinstance(violation, RepositoryError):
            raise violation from err
        return violation

    def _insert(self, table: Table, values: dict[str, Any]) -> int:
        """Insert one row and return its new id; :class:`_Violation` if a constraint refused it."""
        try:
            return self._write(
                lambda connection: connection.execute(insert(table).values(**values)).inserted_primary_key[0]
            )
        except exc.IntegrityError as err:
            raise _Violation.of(err, self.url) from err

    def _delete(self, table: Table, row_id: int | None, *identity: ColumnElement[bool]) -> int:
        """Delete one row by id, if it also matches ``identity`` (see :meth:`_same`), and return how many rows
        went; :class:`_Violation` if a constraint refused."""
        if row_id is None:
            return 0
        try:
            return self._write(
                lambda connection: connection.execute(delete(table).where(table.c.id == row_id, *identity)).rowcount
            )
        except exc.IntegrityError as err:
            raise _Violation.of(err, self.url) from err

    def _same(self, obj: Project | Task | Model) -> list[ColumnElement[bool]]:
        """Conditions that the row with ``obj``'s id is ``obj``: the same name and parent (and artifact key), so
        that an object of another registry, or a stale copy, never changes an unrelated row that has its id
        (the same check as ``ebonite_core.interfaces.metadata.check_same``, in the statement itself)."""
        if isinstance(obj, Model):
            table, parent = models, ("task_id", obj.task_id)
        elif isinstance(obj, Task):
            table, parent = tasks, ("project_id", obj.project_id)
        else:
            return [exact_equals(self._family, projects.c.name, obj.name)]
        conditions = [exact_equals(self._family, table.c.name, obj.name), table.c[parent[0]] == _row_id(parent[1])]
        if isinstance(obj, Model):
            key = models.c.artifact_key
            conditions.append(key.is_(None) if obj.artifact_key is None else key == obj.artifact_key)
        return conditions

    def _name_of(self, table: Table, row_id: int | None) -> str:
        """A parent's name for an error message, or its id if it cannot be read."""
        try:
            row = self._one(select(table.c.name).where(table.c.id == row_id))
        except RepositoryError:
            row = None
        return repr(row.name) if row is not None else f"with id {row_id}"

    # Projects
    def get_projects(self) -> list[Project]:
        return [_project(row) for row in self._all(_PROJECT.order_by(projects.c.id))]

    def get_project_by_name(self, name: str) -> Project | None:
        row = self._one(_PROJECT.where(projects.c.name == name))
        return _project(row) if row is not None else None

    def get_project_by_id(self, project_id: str) -> Project | None:
        row_id = _row_id(project_id)
        row = self._one(_PROJECT.where(projects.c.id == row_id)) if row_id is not None else None
        return _project(row) if row is not None else None

    def create_project(self, project: Project) -> Project:
        values = {
            "name": check_name(project.name, "project"),
            "author": _check_author(project.author),
            "creation_date": project.creation_date,
        }
        try:
            new_id = self._insert(projects, values)
        except _Violation as violation:
            raise ExistingProjectError(f"Project {project.name!r} already exists.") from violation.cause
        return Project(name=project.name, id=str(new_id), author=project.author, creation_date=project.creation_date)

    def delete_project(self, project: Project) -> None:
        try:
            deleted = self._delete(projects, _row_id(project.id), *self._same(project))
        except _Violation as violation:
            raise ProjectWithTasksError(
                f"Project {project.name!r} has tasks: delete them first or pass cascade=True."
            ) from violation.cause
        if deleted == 0:
            raise NonExistingProjectError(_not_here(project))

    # Tasks
    def get_tasks(self, project: Project) -> list[Task]:
        row_id = _row_id(project.id)
        if row_id is None:
            return []
        return [_task(row) for row in self._all(_TASK.where(tasks.c.project_id == row_id).order_by(tasks.c.id))]

    def get_task_by_name(self, project: Project, name: str) -> Task | None:
        row_id = _row_id(project.id)
        if row_id is None:
            return None
        row = self._one(_TASK.where(tasks.c.project_id == row_id, tasks.c.name == name))
        return _task(row) if row is not None else None

    def get_task_by_id(self, task_id: str) -> Task | None:
        row_id = _row_id(task_id)
        row = self._one(_TASK.where(tasks.c.id == row_id)) if row_id is not None else None
        return _task(row) if row is not None else None

    def create_task(self, task: Task) -> Task:
        project_id = _row_id(task.project_id)
        if project_id is None:
            raise NonExistingProjectError(f"Project with id {task.project_id!r} does not exist.")
        values = {
            "name": check_name(task.name, "task"),
            "project_id": project_id,
            "author": _check_author(task.author),
            "creation_date": task.creation_date,
        }
        try:
            new_id = self._insert(tasks, values)
        except _Violation as violation:
            if violation.kind == FOREIGN_KEY:
                raise NonExistingProjectError(
                    f"Project with id {task.project_id!r} does not exist."
                ) from violation.cause
            raise ExistingTaskError(
                f"Task {task.name!r} already exists in project {self._name_of(projects, project_id)}."
            ) from violation.cause
        return Task(
            name=task.name,
            project_id=str(project_id),
            id=str(new_id),
            author=task.author,
            creation_date=task.creation_date,
        )

    def delete_task(self, task: Task) -> None:
        try:
            deleted = self._delete(tasks, _row_id(task.id), *self._same(task))
        except _Violation as violation:
            raise TaskWithModelsError(
                f"Task {task.name!r} has models: delete them first or pass cascade=True."
            ) from violation.cause
        if deleted == 0:
            raise NonExistingTaskError(_not_here(task))

    # Models
    def get_models(self, task: Task) -> list[Model]:
        row_id = _row_id(task.id)
        if row_id is None:
            return []
        return [
            self._to_model(row) for row in self._all(_MODEL.where(models.c.task_id == row_id).order_by(models.c.id))
        ]

    def get_model_by_name(self, task: Task, name: str) -> Model | None:
        row_id = _row_id(task.id)
        if row_id is None:
            return None
        row = self._one(_MODEL.where(models.c.task_id == row_id, models.c.name == name))
        return self._to_model(row) if row is not None else None

    def get_model_by_id(self, model_id: str) -> Model | None:
        row_id = _row_id(model_id)
        row = self._one(_MODEL.where(models.c.id == row_id)) if row_id is not None else None
        return self._to_model(row) if row is not None else None

    def references_artifact_key(self, key: str) -> bool:
        """One query, an index lookup (revision 0004's index on ``artifact_key``)."""
        return self._one(select(models.c.id).where(models.c.artifact_key == key).limit(1)) is not None

    def create_model(self, model: Model) -> Model:
        task_id = _row_id(model.task_id)
        if task_id is None:
            raise NonExistingTaskError(f"Task with id {model.task_id!r} does not exist.")
        # PostgreSQL and MariaDB refuse a NaN with a driver error, and SQLite's JSON functions would fail every
        # later search that reads it: refuse it clearly, before anything is written.
        check_storable(model)
        document = model.to_dict()
        tags = check_tags(model.tags)
        values = {
            "name": check_name(model.name, "model"),
            "task_id": task_id,
            "author": _check_author(model.author),
            "creation_date": model.creation_date,
            "artifact_key": model.artifact_key,
            "params": document["params"],
            "data": {key: value for key, value in document.items() if key not in MODEL_COLUMNS},
        }

        def write(connection: Connection) -> int:
            # The model, its tags and its params' index in one transaction: a push appears whole or not at all.
            new_id = connection.execute(insert(models).values(**values)).inserted_primary_key[0]
            if tags:
                connection.execute(insert(model_tags).values(_tag_rows(new_id, task_id, model.creation_date, tags)))
            indexed = param_index_rows(new_id, document["params"])
            if indexed:
                connection.execute(insert(model_params).values(indexed))
            return new_id

        try:
            new_id = self._write(write)
        except exc.IntegrityError as err:
            if self._violation(err).kind == FOREIGN_KEY:
                raise NonExistingTaskError(f"Task with id {model.task_id!r} does not exist.") from err
            raise ExistingModelError(
                f"Model {model.name!r} already exists in task {self._name_of(tasks, task_id)}."
            ) from err
        return Model.from_dict({**document, "id": str(new_id), "task_id": str(task_id)})

    def delete_model(self, model: Model) -> None:
        # One DELETE: the model's tags and the aliases pointing at it go with it (ON DELETE CASCADE).
        deleted = self._delete(models, _row_id(model.id), *self._same(model))
        if deleted == 0:
            raise NonExistingModelError(_not_here(model))

    # Tags
    def _changed_model(self, model: Model, change: Callable[[Connection, int], object]) -> Model:
        """Run ``change(connection, model id)`` and read the model back, in one transaction."""
        model_id = _row_id(model.id)

        def run(connection: Connection) -> Row[Any] | None:
            if model_id is None:
                return None
            found = connection.execute(select(models.c.id).where(models.c.id == model_id, *self._same(model)))
            if found.first() is None:
                return None  # gone, or an object of another registry: never change the row that has its id
            change(connection, model_id)
            with self._readable_rows():
                return connection.execute(_MODEL.where(models.c.id == model_id)).first()

        try:
            row = self._write(run)
        except exc.IntegrityError as err:  # the tags' foreign key: the model is gone
            self._violation(err)
            raise NonExistingModelError(_not_here(model)) from err
        if row is None:
            raise NonExistingModelError(_not_here(model))
        return self._to_model(row)

    def set_model_tags(self, model: Model, tags: dict[str, str]) -> Model:
        tags = check_tags(tags)

        def change(connection: Connection, model_id: int) -> None:
            where = connection.execute(select(models.c.task_id, models.c.creation_date).where(models.c.id == model_id))
            found = where.first()
            if tags and found is not None:  # a model gone meanwhile is reported by the caller
                rows = _tag_rows(model_id, found.task_id, found.creation_date, tags)
                connection.execute(upsert(self._family, model_tags, rows, ("model_id", "key"), "value"))

        return self._changed_model(model, change)

    def delete_model_tag(self, model: Model, key: str) -> Model:
        def change(connection: Connection, model_id: int) -> None:
            connection.execute(
                delete(model_tags).where(
                    model_tags.c.model_id == model_id, exact_equals(self._family, model_tags.c.key, key)
                )
            )

        return self._changed_model(model, change)

    # Aliases
    def set_alias(self, task: Task, alias: str, model: Model) -> None:
        """One upsert whose row comes from the model itself, found in this task: moving an alias replaces its
        target in place (it never points at nothing), and the last of two concurrent moves wins."""
        alias = check_alias(alias)
        task_id, model_id = _row_id(task.id), _row_id(model.id)
        if task_id is None:
            raise NonExistingTaskError(f"Task {task.name!r} does not exist.")
        if model_id is None:
            raise NonExistingModelError(_not_here(model))
        source = select(literal(task_id, models.c.task_id.type), literal(alias, task_aliases.c.alias.type), models.c.id)
        source = source.where(models.c.id == model_id, models.c.task_id == task_id, *self._same(model))
        statement = upsert(self._family, task_aliases, source, ("task_id", "alias"), "model_id", model_id)

        def change(connection: Connection) -> int | None:
            """The task of the model, or ``None`` if it is gone."""
            # SQLAlchemy keeps an INSERT's rowcount only when asked to.
            if connection.execute(statement, execution_options={"preserve_rowcount": True}).rowcount > 0:
                return task_id
            # No row written (or a driver that cannot tell, -1): the model is gone or in another task, or the
            # alias already pointed at it and the database counted the unchanged row as 0.
            query = select(models.c.task_id).where(models.c.id == model_id, *self._same(model))
            found = connection.execute(query).first()
            return found.task_id if found is not None else None

        try:
            owner = self._write(change)
        except exc.IntegrityError as err:  # the model was deleted between the SELECT and the foreign key check
            self._violation(err)
            raise NonExistingModelError(_not_here(model)) from err
        if owner is None:
            raise NonExistingModelError(_not_here(model))
        if owner != task_id:
            raise ValueError(f"Model {model.name!r} is not in task {task.name!r}: an alias points within its task.")

    def delete_alias(self, task: Task, alias: str) -> None:
        task_id = _row_id(task.id)

        def change(connection: Connection) -> bool:
            condition = exact_equals(self._family, task_aliases.c.alias, alias)
            if connection.execute(delete(task_aliases).where(task_aliases.c.task_id == task_id, condition)).rowcount:
                return True
            return connection.execute(select(tasks.c.id).where(tasks.c.id == task_id)).first() is not None

        if task_id is None or not self._write(change):
            raise NonExistingTaskError(f"Task {task.name!r} does not exist.")

    def get_aliases(self, task: Task) -> dict[str, str]:
        task_id = _row_id(task.id)
        if task_id is None:
            return {}
        query = select(task_aliases.c.alias, task_aliases.c.model_id).where(task_aliases.c.task_id == task_id)
        return {row.alias: str(row.model_id) for row in self._all(query.order_by(task_aliases.c.alias))}

    def get_model_by_alias(self, task: Task, alias: str) -> Model | None:
        """One statement: the alias joined to its model (and the model's tags)."""
        task_id = _row_id(task.id)
        if task_id is None:
            return None
        query = _MODEL.join(task_aliases, task_aliases.c.model_id == models.c.id).where(
            task_aliases.c.task_id == task_id, exact_equals(self._family, task_aliases.c.alias, alias)
        )
        row = self._one(query)
        return self._to_model(row) if row is not None else None

    # Search
    def search_models(self, query: ModelQuery) -> ModelPage:
        """One SELECT for the page, tags included (see :mod:`ebonite_sqlalchemy.search`); on PostgreSQL,
        first a bounded count of each param condition's matches, in the same snapshot."""
        probes = match_probes(query, self._family, self._rare_param_matches)
        with self._connection() as connection:
            if probes:  # one snapshot for the counts and the search: a count bounds its condition's matches
                connection.execution_options(isolation_level="REPEATABLE READ")
            counts = {condition: connection.execute(probe).scalar_one() for condition, probe in probes}
            rare = {condition: count for condition, count in counts.items() if count <= self._rare_param_matches}
            statement = search_statement(query, self._family, _MODEL, _row_id, rare)
            if statement is None:
                return ModelPage()
            with self._readable_rows():
                rows = list(connection.execute(statement))
        return query.page_of([self._to_model(row) for row in rows])

    def count_models(self, query: ModelQuery) -> int:
        """One ``SELECT count(*)`` with the search's filters."""
        statement = count_statement(query, self._family, _row_id)
        if statement is None:
            return 0
        with self._connection() as connection:
            return connection.execute(statement).scalar_one()
