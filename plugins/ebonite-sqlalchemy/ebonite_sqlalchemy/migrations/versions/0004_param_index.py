"""Search at a million models: an index of the models' params, and indexes for searches across tasks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

- ``ebonite_model_params(model_id, key, number, text)``: one row per param that is a number or a string
  (whose key is at most 255 characters), primary key (model_id, key), deleted with its model (``ON DELETE
  CASCADE``). ``number`` holds a number param as a double, ``text`` the first 255 characters of a string
  param. The ``params`` JSON column stays the model's record; this table is an index of it: ordering by a
  param (``-params.accuracy``) walks the index on (key, number, model_id) instead of reading and sorting
  the JSON of every model, and a param filter finds its candidates in that index. Existing models' params
  are copied in by one ``INSERT ... SELECT`` (PostgreSQL, SQLite) or in batches (MariaDB/MySQL, whose
  ``JSON_TABLE`` needs MariaDB 10.6).
- The tag index gains ``model_id`` (key, value, model_id), so that checking a model's tag reads the index
  alone; tags gain a copy of their model's ``task_id`` and ``creation_date`` (filled here by one UPDATE), and
  an index on (key, value, task_id, creation_date, model_id): a search by tag, newest first, walks the
  tagged models in that order instead of every model of the task.
- ``ebonite_models``: an index on ``artifact_key``, so that the check garbage collection makes right before
  each deletion ("does a model record this key?") is one index lookup; indexes on (creation_date, id) and
  (name, id), so that a search across tasks (by project, or over the whole registry) walks its order instead
  of sorting every candidate; the (task_id, id) index of 0002 gains ``creation_date``, so that a search
  starting from a rare tag or param reads the creation dates it sorts from that index alone, not from each
  model's row. On PostgreSQL ``name`` takes the ``"C"`` collation (code point order, which search
  promises): an index in the database's own collation cannot serve ``ORDER BY name COLLATE "C"``. Equality
  is unchanged. Also on PostgreSQL, statistics of tags' (key, value) and string params' (key, text) pairs
  (``CREATE STATISTICS``), so that the planner knows how common a tag is.

Types are spelled out here, as in 0001: a migration must keep building the schema of its own revision.
"""

from __future__ import annotations

import json
import math

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MYSQL_OPTIONS = {
    f"{prefix}_{option}": value
    for prefix in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_bin"))
}
INDEXED_LENGTH = 255
MAX_DOUBLE = "1.7976931348623157e308"
_BATCH = 1000

# Every param that is a number or a string, from the params JSON of every model, in one statement.
_COPY_PARAMS = {
    "postgresql": f"""
        INSERT INTO ebonite_model_params (model_id, key, number, text)
        SELECT m.id, p.key,
               CASE WHEN json_typeof(p.value) = 'number' THEN (p.value #>> '{{}}')::double precision END,
               CASE WHEN json_typeof(p.value) = 'string' THEN left(p.value #>> '{{}}', {INDEXED_LENGTH}) END
        FROM ebonite_models AS m, json_each(m.params) AS p
        WHERE json_typeof(m.params) = 'object' AND char_length(p.key) <= {INDEXED_LENGTH}
          AND (json_typeof(p.value) = 'string'
               OR json_typeof(p.value) = 'number' AND abs((p.value #>> '{{}}')::numeric) <= {MAX_DOUBLE})
    """,
    "sqlite": f"""
        INSERT INTO ebonite_model_params (model_id, key, number, text)
        SELECT m.id, p.key,
               CASE WHEN p.type IN ('integer', 'real') THEN p.value END,
               CASE WHEN p.type = 'text' THEN substr(p.value, 1, {INDEXED_LENGTH}) END
        FROM ebonite_models AS m, json_each(m.params) AS p
        WHERE json_type(m.params) = 'object' AND length(p.key) <= {INDEXED_LENGTH}
          AND (p.type = 'text' OR p.type IN ('integer', 'real') AND abs(p.value) <= {MAX_DOUBLE})
    """,
}


# Each tag gets its model's task and creation date.
_COPY_TAG_ORDER = {
    "postgresql": "UPDATE ebonite_model_tags AS t SET task_id = m.task_id, creation_date = m.creation_date "
    "FROM ebonite_models AS m WHERE m.id = t.model_id",
    "sqlite": "UPDATE ebonite_model_tags SET (task_id, creation_date) = "
    "(SELECT task_id, creation_date FROM ebonite_models WHERE ebonite_models.id = ebonite_model_tags.model_id)",
    "mysql": "UPDATE ebonite_model_tags AS t JOIN ebonite_models AS m ON m.id = t.model_id "
    "SET t.task_id = m.task_id, t.creation_date = m.creation_date",
}


# PostgreSQL: statistics of the (key, value) pairs together. Alone, the planner multiplies the frequency of
# the key by that of the value and underestimates a common tag by 3x: it then sorts every model that has
# three common tags rather than walk one tag's models in order (100 ms against 20 ms at a million models).
_STATISTICS = (
    "ebonite_model_tags_key_value (mcv) ON key, value FROM ebonite_model_tags",
    "ebonite_model_params_key_text (mcv) ON key, text FROM ebonite_model_params",
)


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _text(length: int) -> sa.types.TypeEngine:
    exact = mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin")
    return sa.String(length).with_variant(exact, "mysql", "mariadb")


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _double(value: int | float) -> float | None:
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _param_rows(model_id: int, params: object) -> list[dict[str, object]]:
    """The index rows of one model's params, as the repository writes them on every push: a string's first
    255 characters, a number as a double; keys longer than 255 characters and numbers no double holds are
    left out (search reads those from the JSON)."""
    rows: list[dict[str, object]] = []
    for key, value in (params if isinstance(params, dict) else {}).items():
        if len(key) > INDEXED_LENGTH:
            continue
        if isinstance(value, str):
            rows.append({"model_id": model_id, "key": key, "number": None, "text": value[:INDEXED_LENGTH]})
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and _double(value) is not None:
            rows.append({"model_id": model_id, "key": key, "number": _double(value), "text": None})
    return rows


def _copy_params_in_batches(dialect: str) -> None:
    """MariaDB/MySQL: read the models' params by id ranges and insert their index rows."""
    connection = op.get_bind()
    models = sa.table("ebonite_models", sa.column("id"), sa.column("params"))
    params = sa.table("ebonite_model_params", *(sa.column(name) for name in ("model_id", "key", "number", "text")))
    last = 0
    while True:
        batch = connection.execute(
            sa.select(models.c.id, models.c.params).where(models.c.id > last).order_by(models.c.id).limit(_BATCH)
        ).all()
        if not batch:
            return
        rows = [row for model_id, document in batch for row in _param_rows(model_id, _decode(document))]
        if rows:
            connection.execute(sa.insert(params), rows)
        last = batch[-1][0]


def _decode(document: object) -> object:
    return json.loads(document) if isinstance(document, (str, bytes)) else document


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "ebonite_model_params",
        sa.Column("model_id", _id(), nullable=False),
        sa.Column("key", _text(INDEXED_LENGTH), nullable=False),
        sa.Column("number", sa.Double(), nullable=True),
        sa.Column("text", _text(INDEXED_LENGTH), nullable=True),
        sa.PrimaryKeyConstraint("model_id", "key", name="pk_ebonite_model_params"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["ebonite_models.id"],
            name="fk_ebonite_model_params_model_id_ebonite_models",
            ondelete="CASCADE",
        ),
        **MYSQL_OPTIONS,
    )
    if dialect in _COPY_PARAMS:
        op.execute(_COPY_PARAMS[dialect])
    else:
        _copy_params_in_batches(dialect)
    # After the copy: building an index once is cheaper than keeping it up to date row by row.
    for column in ("number", "text"):
        op.create_index(
            f"ix_ebonite_model_params_key_{column}_model_id", "ebonite_model_params", ["key", column, "model_id"]
        )
    op.add_column("ebonite_model_tags", sa.Column("task_id", _id(), nullable=True))
    op.add_column("ebonite_model_tags", sa.Column("creation_date", _timestamp(), nullable=True))
    op.execute(_COPY_TAG_ORDER[dialect if dialect in _COPY_TAG_ORDER else "mysql"])
    op.create_index("ix_ebonite_model_tags_key_value_model_id", "ebonite_model_tags", ["key", "value", "model_id"])
    op.create_index(
        "ix_ebonite_model_tags_key_value_task_id_creation_date",
        "ebonite_model_tags",
        ["key", "value", "task_id", "creation_date", "model_id"],
    )
    op.drop_index("ix_ebonite_model_tags_key_value", table_name="ebonite_model_tags")
    if dialect == "postgresql":
        op.alter_column("ebonite_models", "name", type_=sa.String(255, collation="C"), existing_nullable=False)
        for statement in _STATISTICS:
            op.execute(f"CREATE STATISTICS {statement}")
    op.create_index("ix_ebonite_models_creation_date_id", "ebonite_models", ["creation_date", "id"])
    op.create_index("ix_ebonite_models_name_id", "ebonite_models", ["name", "id"])
    op.create_index("ix_ebonite_models_task_id_id_creation_date", "ebonite_models", ["task_id", "id", "creation_date"])
    op.drop_index("ix_ebonite_models_task_id_id", table_name="ebonite_models")
    op.create_index("ix_ebonite_models_artifact_key", "ebonite_models", ["artifact_key"])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_ebonite_models_artifact_key", table_name="ebonite_models")
    op.create_index("ix_ebonite_models_task_id_id", "ebonite_models", ["task_id", "id"])
    op.drop_index("ix_ebonite_models_task_id_id_creation_date", table_name="ebonite_models")
    op.drop_index("ix_ebonite_models_name_id", table_name="ebonite_models")
    op.drop_index("ix_ebonite_models_creation_date_id", table_name="ebonite_models")
    if dialect == "postgresql":
        op.alter_column("ebonite_models", "name", type_=sa.String(255), existing_nullable=False)
        for statement in _STATISTICS:
            op.execute(f"DROP STATISTICS IF EXISTS {statement.split()[0]}")
    op.create_index("ix_ebonite_model_tags_key_value", "ebonite_model_tags", ["key", "value"])
    op.drop_index("ix_ebonite_model_tags_key_value_task_id_creation_date", table_name="ebonite_model_tags")
    op.drop_index("ix_ebonite_model_tags_key_value_model_id", table_name="ebonite_model_tags")
    op.drop_column("ebonite_model_tags", "creation_date")
    op.drop_column("ebonite_model_tags", "task_id")
    op.drop_table("ebonite_model_params")
