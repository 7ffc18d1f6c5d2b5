"""Registry features: model tags, task aliases, and params in a column of their own for search.

Revision ID: 0003
Revises: 0002
Create Date: 2026-02-02

- ``ebonite_model_tags(model_id, key, value)``: primary key (model_id, key), an index on (key, value) for
  searching by tag; deleting a model deletes its tags (``ON DELETE CASCADE``).
- ``ebonite_task_aliases(task_id, alias, model_id)``: primary key (task_id, alias); deleting a model deletes
  the aliases pointing at it; an index on model_id makes that cascade cheap.
- ``ebonite_models.params``: the model's params move out of the ``data`` document into a JSON column of
  their own, so that a search parses a few bytes per model rather than its whole analysis (signatures can be
  large). Existing rows are moved by one UPDATE per database, in SQL.
- An index on ``ebonite_models(task_id, creation_date, id)``: a search in a task, newest first (the default
  order), reads the newest rows in order and stops after one page, instead of sorting the whole task
  (``benchmarks/search.py`` measured it; the plugin's README has the figures).

Types are spelled out here, as in 0001: a migration must keep building the schema of its own revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MYSQL_OPTIONS = {
    f"{prefix}_{option}": value
    for prefix in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_bin"))
}

# Moving params out of data and back, per database: (upgrade, downgrade). Params first, then data: MySQL
# evaluates the assignments of an UPDATE left to right, each one seeing the previous ones.
_MOVE_PARAMS = {
    "sqlite": (
        "UPDATE ebonite_models SET params = COALESCE(json_extract(data, '$.params'), '{}'), "
        "data = json_remove(data, '$.params')",
        "UPDATE ebonite_models SET data = json_set(data, '$.params', json(COALESCE(params, '{}')))",
    ),
    "postgresql": (
        "UPDATE ebonite_models SET params = COALESCE(data -> 'params', '{}'::json), "
        "data = (data::jsonb - 'params')::json",
        "UPDATE ebonite_models SET data = (data::jsonb || jsonb_build_object('params', "
        "COALESCE(params::jsonb, '{}'::jsonb)))::json",
    ),
    "mysql": (
        "UPDATE ebonite_models SET params = COALESCE(JSON_EXTRACT(data, '$.params'), JSON_OBJECT()), "
        "data = JSON_REMOVE(data, '$.params')",
        "UPDATE ebonite_models SET data = JSON_SET(data, '$.params', "
        "COALESCE(JSON_EXTRACT(params, '$'), JSON_OBJECT()))",
    ),
}


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _text(length: int) -> sa.types.TypeEngine:
    exact = mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin")
    return sa.String(length).with_variant(exact, "mysql", "mariadb")


def _move_params(direction: int) -> None:
    name = op.get_bind().dialect.name
    statements = _MOVE_PARAMS.get("mysql" if name == "mariadb" else name)
    if statements is None:
        raise NotImplementedError(f"ebonite-sqlalchemy cannot migrate a {name} database.")
    op.execute(statements[direction])


def upgrade() -> None:
    op.add_column("ebonite_models", sa.Column("params", sa.JSON(), nullable=True))
    _move_params(0)
    op.create_index("ix_ebonite_models_task_id_creation_date_id", "ebonite_models", ["task_id", "creation_date", "id"])
    op.create_table(
        "ebonite_model_tags",
        sa.Column("model_id", _id(), nullable=False),
        sa.Column("key", _text(128), nullable=False),
        sa.Column("value", _text(500), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "key", name="pk_ebonite_model_tags"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["ebonite_models.id"],
            name="fk_ebonite_model_tags_model_id_ebonite_models",
            ondelete="CASCADE",
        ),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_ebonite_model_tags_key_value", "ebonite_model_tags", ["key", "value"])
    op.create_table(
        "ebonite_task_aliases",
        sa.Column("task_id", _id(), nullable=False),
        sa.Column("alias", _text(255), nullable=False),
        sa.Column("model_id", _id(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "alias", name="pk_ebonite_task_aliases"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["ebonite_tasks.id"], name="fk_ebonite_task_aliases_task_id_ebonite_tasks"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["ebonite_models.id"],
            name="fk_ebonite_task_aliases_model_id_ebonite_models",
            ondelete="CASCADE",
        ),
        **MYSQL_OPTIONS,
    )
    op.create_index("ix_ebonite_task_aliases_model_id", "ebonite_task_aliases", ["model_id"])


def downgrade() -> None:
    # Tags and aliases have no place in revision 0002: they are dropped. Params go back into data.
    op.drop_table("ebonite_task_aliases")
    op.drop_table("ebonite_model_tags")
    op.drop_index("ix_ebonite_models_task_id_creation_date_id", table_name="ebonite_models")
    _move_params(1)
    op.drop_column("ebonite_models", "params")
