"""``search_models`` as one SELECT: every filter, the order and the keyset page are decided by the database.

The statement has two levels. The inner one finds the page: it filters (task or project, one ``EXISTS`` per
tag, one JSON comparison per param, creation bounds), orders by the sort value and the id in the same
direction, starts strictly beyond the page token's (value, id), and keeps ``limit + 1`` rows, the last of
which only says that there is a next page. The outer one reads those rows' columns and tags, so that the
wide columns and the tag aggregation are computed for one page, never for every candidate.

Semantics are those of :mod:`ebonite_core.query`; :mod:`.dialects` has what differs between databases.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, and_, exists, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ebonite_core.query import COMPARISONS, ModelQuery, ParamCondition

from .dialects import exact_equals, param_number, param_string
from .schema import model_tags, models, tasks


def _sort_expression(query: ModelQuery, dialect_family: str) -> ColumnElement[Any]:
    if query.order_field == "creation_date":
        return models.c.creation_date
    if query.order_field == "name":
        # Code point order, as the other backends sort names: SQLite's BINARY and MySQL's utf8mb4_bin already
        # do; PostgreSQL's database collation may not, its "C" collation does.
        return models.c.name.collate("C") if dialect_family == "postgresql" else models.c.name
    assert query.order_param is not None
    return param_number(dialect_family, models.c.params, query.order_param)


def _param_condition(condition: ParamCondition, dialect_family: str) -> ColumnElement[bool]:
    if isinstance(condition.value, str):  # only == and != take a string (ModelQuery checks)
        text = param_string(dialect_family, models.c.params, condition.key)
        equal = exact_equals(dialect_family, text, condition.value)
        return equal if condition.op == "==" else and_(text.is_not(None), not_(equal))
    number = param_number(dialect_family, models.c.params, condition.key)
    # A float, so that an integer beyond 64 bits binds on every driver; the database compares doubles anyway.
    return COMPARISONS[condition.op](number, float(condition.value))


def search_statement(
    query: ModelQuery, dialect_family: str, model_select: Select[Any], row_id: Callable[[str | None], int | None]
) -> Select[Any] | None:
    """The SELECT of one page of ``query`` (``limit + 1`` rows at most), or ``None`` if nothing can match.

    ``model_select`` selects a model's columns and tags from ``models``; ``row_id`` turns an id the core
    hands back into the table's key (``None`` for an id this store never made).
    """
    conditions: list[ColumnElement[bool]] = []
    if query.task_id is not None:
        task_id = row_id(query.task_id)
        if task_id is None:
            return None
        conditions.append(models.c.task_id == task_id)
    if query.project_id is not None:
        project_id = row_id(query.project_id)
        if project_id is None:
            return None
        conditions.append(models.c.task_id.in_(select(tasks.c.id).where(tasks.c.project_id == project_id)))
    for key, value in query.tags:
        conditions.append(
            exists().where(
                model_tags.c.model_id == models.c.id,
                exact_equals(dialect_family, model_tags.c.key, key),
                exact_equals(dialect_family, model_tags.c.value, value),
            )
        )
    conditions.extend(_param_condition(condition, dialect_family) for condition in query.params)
    if query.created_after is not None:
        conditions.append(models.c.creation_date > query.created_after)
    if query.created_before is not None:
        conditions.append(models.c.creation_date < query.created_before)

    sort = _sort_expression(query, dialect_family)
    if query.order_param is not None:
        conditions.append(sort.is_not(None))  # ordering by a param leaves out models where it is no number
    beyond = operator.lt if query.descending else operator.gt
    if query.after is not None:
        # The value's kind was checked when the query was built; a float binds beyond 64 bits on every driver.
        value, last_id = query.after[0], row_id(query.after[1])
        if query.order_param is not None:
            value = float(value)
        if last_id is None:
            raise ValueError(f"Invalid page token: {query.after[1]!r} is not a model id of this store.")
        conditions.append(or_(beyond(sort, value), and_(sort == value, beyond(models.c.id, last_id))))

    def direction(column: ColumnElement[Any]) -> ColumnElement[Any]:
        return column.desc() if query.descending else column.asc()

    page = (
        select(models.c.id.label("id"), sort.label("sort_value"))
        .where(*conditions)
        .order_by(direction(sort), direction(models.c.id))
        .limit(query.limit + 1)
        .subquery("page")
    )
    return model_select.join(page, page.c.id == models.c.id).order_by(
        direction(page.c.sort_value), direction(page.c.id)
    )
