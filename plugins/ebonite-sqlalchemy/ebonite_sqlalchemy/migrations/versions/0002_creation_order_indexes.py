"""Indexes that list a project's tasks and a task's models in creation order without sorting.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-16

``get_tasks`` and ``get_models`` filter on the parent id and order by id. The unique (parent, name)
constraints of 0001 find the rows but leave them in name order, so a large task's models had to be sorted
on every listing; an index on (parent id, id) returns them in order.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ebonite_tasks_project_id_id", "ebonite_tasks", ["project_id", "id"])
    op.create_index("ix_ebonite_models_task_id_id", "ebonite_models", ["task_id", "id"])


def downgrade() -> None:
    # MySQL/MariaDB uses these indexes for the foreign keys too; it keeps the unique constraints for that.
    op.drop_index("ix_ebonite_models_task_id_id", table_name="ebonite_models")
    op.drop_index("ix_ebonite_tasks_project_id_id", table_name="ebonite_tasks")
