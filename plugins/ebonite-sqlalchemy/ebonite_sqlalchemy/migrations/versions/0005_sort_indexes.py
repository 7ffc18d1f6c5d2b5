"""Indexes for ordering a search by author, by a string param and by a tag's value.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Search orders by ``author``, ``text_params.<key>`` and ``tags.<key>`` as well (issue 21: a table sorted by
any column); each walks an index in order rather than sorting the candidates:

- ``ebonite_models``: (task_id, author, id) for a task's models by author, (author, id) across tasks;
- ``ebonite_model_tags``: (key, task_id, value, model_id) for a task's models by a tag's value (across tasks,
  0004's (key, value, model_id) serves);
- a string param walks 0004's (key, text, model_id).

On PostgreSQL ``author``, the tags' ``value`` and the params' ``text`` take the ``"C"`` collation, as
``name`` did in 0004: search orders by code point, and an index in the database's own collation cannot serve
``ORDER BY ... COLLATE "C"``. Equality is unchanged. MySQL/MariaDB already sort these columns by code point
(``utf8mb4_bin``), SQLite by its ``BINARY`` collation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (table, column, length, nullable): the PostgreSQL columns that take the "C" collation.
_SORTED_COLUMNS = (
    ("ebonite_models", "author", 255, True),
    ("ebonite_model_tags", "value", 500, False),
    ("ebonite_model_params", "text", 255, True),
)
_INDEXES = (
    ("ix_ebonite_models_task_id_author_id", "ebonite_models", ["task_id", "author", "id"]),
    ("ix_ebonite_models_author_id", "ebonite_models", ["author", "id"]),
    ("ix_ebonite_model_tags_key_task_id_value_model_id", "ebonite_model_tags", ["key", "task_id", "value", "model_id"]),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length, nullable in _SORTED_COLUMNS:
            op.alter_column(table, column, type_=sa.String(length, collation="C"), existing_nullable=nullable)
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length, nullable in _SORTED_COLUMNS:
            op.alter_column(table, column, type_=sa.String(length), existing_nullable=nullable)
