"""Projects, tasks and models.

Revision ID: 0001
Revises:
Create Date: 2026-01-15

Types are spelled out here rather than imported from ``ebonite_sqlalchemy.schema``: a migration must keep
creating the schema of its own revision whatever later versions of the package change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL_OPTIONS = {
    f"{prefix}_{option}": value
    for prefix in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", "utf8mb4_bin"))
}


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _name() -> sa.types.TypeEngine:
    exact = mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_bin")
    return sa.String(255).with_variant(exact, "mysql", "mariadb")


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "ebonite_projects",
        sa.Column("id", _id(), autoincrement=True),
        sa.Column("name", _name(), nullable=False),
        sa.Column("author", sa.String(255), nullable=True),
        sa.Column("creation_date", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ebonite_projects"),
        sa.UniqueConstraint("name", name="uq_ebonite_projects_name"),
        sqlite_autoincrement=True,
        **MYSQL_OPTIONS,
    )
    op.create_table(
        "ebonite_tasks",
        sa.Column("id", _id(), autoincrement=True),
        sa.Column("project_id", _id(), nullable=False),
        sa.Column("name", _name(), nullable=False),
        sa.Column("author", sa.String(255), nullable=True),
        sa.Column("creation_date", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ebonite_tasks"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["ebonite_projects.id"], name="fk_ebonite_tasks_project_id_ebonite_projects"
        ),
        sa.UniqueConstraint("project_id", "name", name="uq_ebonite_tasks_project_id_name"),
        sqlite_autoincrement=True,
        **MYSQL_OPTIONS,
    )
    op.create_table(
        "ebonite_models",
        sa.Column("id", _id(), autoincrement=True),
        sa.Column("task_id", _id(), nullable=False),
        sa.Column("name", _name(), nullable=False),
        sa.Column("author", sa.String(255), nullable=True),
        sa.Column("creation_date", _timestamp(), nullable=False),
        sa.Column("artifact_key", sa.String(255), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ebonite_models"),
        sa.ForeignKeyConstraint(["task_id"], ["ebonite_tasks.id"], name="fk_ebonite_models_task_id_ebonite_tasks"),
        sa.UniqueConstraint("task_id", "name", name="uq_ebonite_models_task_id_name"),
        sqlite_autoincrement=True,
        **MYSQL_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("ebonite_models")
    op.drop_table("ebonite_tasks")
    op.drop_table("ebonite_projects")
