"""The tables, as SQLAlchemy Core objects: what the repository queries and what the migrations must create.

The migrations in ``migrations/versions`` are the source of truth for the database; this module describes
the same schema for queries (a test compares a migrated database with it on every dialect). Choices that
hold for every dialect:

- Ids are integers that are never reused (``AUTOINCREMENT`` on SQLite, sequences on PostgreSQL, InnoDB's
  persistent counter on MariaDB); the repository shows them to the core as strings.
- Names are ``VARCHAR(255)`` and compare exactly (case and accents matter): on MySQL/MariaDB they use the
  ``utf8mb4_bin`` collation, because the server default is case-insensitive.
- Every timestamp is stored in UTC and read back timezone-aware (``TIMESTAMP WITH TIME ZONE`` on
  PostgreSQL, ``DATETIME(6)`` holding UTC elsewhere).
- A model's analysed data (methods, requirements, manifest, ...) is one JSON document; what the repository
  looks models up by (name, task) is in columns with a unique constraint. Its ``params`` are a JSON document
  of their own (revision 0003), so that searching them parses a few bytes per model, not the whole analysis.
- Tags and aliases have tables of their own (revision 0003), with the indexes that search and lookups need.
- Every order search offers walks an index (revision 0005 adds the author's and a task's tag values'); on
  PostgreSQL the text columns search orders by (name, author, tag values, string params) have the ``"C"``
  collation, so that those indexes serve the code point order search promises.
- ``ebonite_model_params`` (revision 0004) is an index of the ``params`` JSON, kept by the repository in
  the transaction that writes the model: a row per param that is a number (as a double) or a string (its
  first 255 characters), so that search filters and orders by a param through a B-tree, not by reading JSON.
- Foreign keys between projects, tasks and models have no ``ON DELETE`` action: deleting a parent that has
  children is refused by the database. A model's tags and the aliases pointing at it are its own data:
  their foreign keys to the model cascade, so that deleting the model removes them in the same statement.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator, TypeEngine

from ebonite_core.names import MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH

NAME_LENGTH = 255
TAG_KEY_LENGTH = MAX_TAG_KEY_LENGTH  # 128
TAG_VALUE_LENGTH = MAX_TAG_VALUE_LENGTH  # 500
PARAM_KEY_LENGTH = 255  # longer keys are not in the params index: search reads them from the JSON
PARAM_TEXT_LENGTH = 255  # the index holds a string param's first 255 characters
VERSION_TABLE = "ebonite_alembic_version"  # not "alembic_version": the database may be shared with an app

# Constraint and index names that are the same on every dialect, so that migrations can refer to them.
NAMING_CONVENTION = {
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Table options for MySQL and MariaDB (SQLAlchemy reads them under either dialect name).
MYSQL_OPTIONS: dict[str, str] = {
    f"{prefix}_{option}": value
    for prefix in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_bin"))
}


def id_type() -> TypeEngine[int]:
    """``BIGINT``, except on SQLite, where only ``INTEGER PRIMARY KEY`` can be ``AUTOINCREMENT``."""
    return BigInteger().with_variant(Integer(), "sqlite")


def name_type(length: int = NAME_LENGTH) -> TypeEngine[str]:
    """``VARCHAR(length)`` that compares exactly on every dialect."""
    binary = mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin")
    return String(length).with_variant(binary, "mysql", "mariadb")


def sorted_name_type(length: int = NAME_LENGTH) -> TypeEngine[str]:
    """:func:`name_type` whose indexes sort by code point on every dialect: on PostgreSQL the ``"C"``
    collation (revision 0004 for names, 0005 for tag values and string params), as the database's own may
    sort otherwise."""
    return name_type(length).with_variant(String(length, collation="C"), "postgresql")


def sorted_text_type(length: int = NAME_LENGTH) -> TypeEngine[str]:
    """``VARCHAR(length)`` in the table's collation (binary on MySQL/MariaDB), ``"C"`` on PostgreSQL (revision
    0005): what search orders by and does not look up by equality, such as the author."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def timestamp_type() -> TypeEngine[datetime]:
    """The column type under :class:`UTCDateTime`: microsecond precision on every dialect."""
    return DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores an aware datetime in UTC; always reads back an aware datetime in UTC.

    PostgreSQL keeps the offset itself (``TIMESTAMP WITH TIME ZONE``); SQLite and MySQL/MariaDB have no
    zone-aware type, so the UTC wall time is stored and the zone is put back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(timestamp_type())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Timestamps must be timezone-aware, got {value!r}.")
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = MetaData(naming_convention=NAMING_CONVENTION)

projects = Table(
    "ebonite_projects",
    metadata,
    Column("id", id_type(), primary_key=True, autoincrement=True),
    Column("name", name_type(), nullable=False),
    Column("author", String(NAME_LENGTH), nullable=True),
    Column("creation_date", UTCDateTime(), nullable=False),
    UniqueConstraint("name"),
    sqlite_autoincrement=True,
    **MYSQL_OPTIONS,
)

tasks = Table(
    "ebonite_tasks",
    metadata,
    Column("id", id_type(), primary_key=True, autoincrement=True),
    Column("project_id", id_type(), ForeignKey(projects.c.id), nullable=False),
    Column("name", name_type(), nullable=False),
    Column("author", String(NAME_LENGTH), nullable=True),
    Column("creation_date", UTCDateTime(), nullable=False),
    UniqueConstraint("project_id", "name"),  # also the index for get_task_by_name
    Index("ix_ebonite_tasks_project_id_id", "project_id", "id"),  # get_tasks, in creation order (revision 0002)
    sqlite_autoincrement=True,
    **MYSQL_OPTIONS,
)

models = Table(
    "ebonite_models",
    metadata,
    Column("id", id_type(), primary_key=True, autoincrement=True),
    Column("task_id", id_type(), ForeignKey(tasks.c.id), nullable=False),
    Column("name", sorted_name_type(), nullable=False),
    Column("author", sorted_text_type(), nullable=True),
    Column("creation_date", UTCDateTime(), nullable=False),
    Column("artifact_key", String(NAME_LENGTH), nullable=True),
    Column("data", JSON(), nullable=False),  # everything else Model.to_dict() holds
    # Nullable only because revision 0003 adds it to existing tables: NOT NULL would need a server default,
    # which MySQL refuses on JSON columns. Every write sets it, and 0003 filled it for the models it found.
    Column("params", JSON(), nullable=True),
    # The total size of the model's artifacts (bytes, from the manifest in ``data``), so that a task's summary
    # (count, size, last push) is one aggregate over an index (revision 0005; nullable only because 0005 adds
    # it to existing rows, which it fills).
    Column("artifact_size", BigInteger(), nullable=True),
    UniqueConstraint("task_id", "name"),  # also the index for get_model_by_name
    # get_models, in creation order (revision 0002); with the creation dates that a search starting from a
    # rare tag or param sorts by, so that it reads no model's row for them (revision 0004)
    Index("ix_ebonite_models_task_id_id_creation_date", "task_id", "id", "creation_date"),
    # Searching a task newest first (the default order, latest_model): the newest rows without a sort, and a
    # filtered search stops as soon as it has a page (revision 0003).
    Index("ix_ebonite_models_task_id_creation_date_id", "task_id", "creation_date", "id"),
    # The same orders across tasks: a search by project or over the whole registry (revision 0004).
    Index("ix_ebonite_models_creation_date_id", "creation_date", "id"),
    Index("ix_ebonite_models_name_id", "name", "id"),
    # A task's summary, read from the index alone (revision 0005).
    Index("ix_ebonite_models_task_id_creation_date_artifact_size", "task_id", "creation_date", "artifact_size"),
    # Ordering by author, in a task and across tasks (revision 0005).
    Index("ix_ebonite_models_task_id_author_id", "task_id", "author", "id"),
    Index("ix_ebonite_models_author_id", "author", "id"),
    # "Does a model record this artifact key?", which gc asks right before each deletion (revision 0004).
    Index("ix_ebonite_models_artifact_key", "artifact_key"),
    sqlite_autoincrement=True,
    **MYSQL_OPTIONS,
)

model_tags = Table(
    "ebonite_model_tags",
    metadata,
    Column("model_id", id_type(), ForeignKey(models.c.id, ondelete="CASCADE"), primary_key=True),
    Column("key", name_type(TAG_KEY_LENGTH), primary_key=True),
    Column("value", sorted_name_type(TAG_VALUE_LENGTH), nullable=False),
    # The model's task and creation date, copied (revision 0004; nullable only because 0004 adds them to
    # existing rows, which it fills): a search by tag, newest first, walks the tag's own rows in that order.
    Column("task_id", id_type(), nullable=True),
    Column("creation_date", UTCDateTime(), nullable=True),
    Index("ix_ebonite_model_tags_key_value_model_id", "key", "value", "model_id"),  # "has this model the tag?"
    Index(
        "ix_ebonite_model_tags_key_value_task_id_creation_date", "key", "value", "task_id", "creation_date", "model_id"
    ),
    # Ordering a task's models by a tag's value walks that tag's rows of the task in order (revision 0005);
    # across tasks, the (key, value, model_id) index above serves.
    Index("ix_ebonite_model_tags_key_task_id_value_model_id", "key", "task_id", "value", "model_id"),
    **MYSQL_OPTIONS,
)

model_params = Table(
    "ebonite_model_params",
    metadata,
    Column("model_id", id_type(), ForeignKey(models.c.id, ondelete="CASCADE"), primary_key=True),
    Column("key", name_type(PARAM_KEY_LENGTH), primary_key=True),
    Column("number", Double(), nullable=True),
    Column("text", sorted_name_type(PARAM_TEXT_LENGTH), nullable=True),
    # Search by a param, and ordering by one (its number or its text), walk these indexes (revision 0004).
    Index("ix_ebonite_model_params_key_number_model_id", "key", "number", "model_id"),
    Index("ix_ebonite_model_params_key_text_model_id", "key", "text", "model_id"),
    **MYSQL_OPTIONS,
)

task_aliases = Table(
    "ebonite_task_aliases",
    metadata,
    Column("task_id", id_type(), ForeignKey(tasks.c.id), primary_key=True),
    Column("alias", name_type(), primary_key=True),
    Column("model_id", id_type(), ForeignKey(models.c.id, ondelete="CASCADE"), nullable=False),
    Index("ix_ebonite_task_aliases_model_id", "model_id"),  # the cascade when a model is deleted
    **MYSQL_OPTIONS,
)

# Model fields kept in columns or tables of their own; every other key of Model.to_dict() goes into the JSON
# ``data`` column.
MODEL_COLUMNS = ("id", "name", "task_id", "author", "creation_date", "artifact_key", "params", "tags")


def artifact_size(document: dict[str, Any]) -> int:
    """The ``artifact_size`` column of a model: the sizes in its manifest (``Model.to_dict()["artifacts"]``)
    added up. Revision 0005 computes the same for the models it finds."""
    return sum(int(artifact.get("size") or 0) for artifact in document.get("artifacts") or ())


def param_index_rows(model_id: int, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``ebonite_model_params`` rows of one model: a string param's first characters, a number param as
    a double. Keys longer than :data:`PARAM_KEY_LENGTH` and numbers no double holds are left out (a search
    by them reads the JSON). Revision 0004 computes the same rows for the models it finds."""
    rows = []
    for key, value in params.items():
        if len(key) > PARAM_KEY_LENGTH:
            continue
        if isinstance(value, str):
            rows.append({"model_id": model_id, "key": key, "number": None, "text": value[:PARAM_TEXT_LENGTH]})
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and _double(value) is not None:
            rows.append({"model_id": model_id, "key": key, "number": _double(value), "text": None})
    return rows


def _double(value: int | float) -> float | None:
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a double's range
        return None
    return number if math.isfinite(number) else None
