"""``search_models`` as one SELECT: every filter, the order and the keyset page are decided by the database.

The statement has two levels. The inner one finds the page: it filters (task or project, one ``IN
(subquery)`` on the tag index per tag, one on the params index per param, creation bounds), orders by the
sort value and the id in the same direction, starts strictly beyond the page token's (value, id), and
keeps ``limit + 1`` rows, the last of which only says that there is a next page. Ordering by a param joins
that param's row of the params index and orders by its number, so the database walks that index in order;
a search by tags, newest first, joins the first tag's row and orders by the creation date it copies, so the
database walks that tag's models only.
The outer one reads those rows' columns and tags, so that the wide columns and the tag aggregation are
computed for one page, never for every candidate. On PostgreSQL, :func:`match_probes` counts each param
condition's matches first (up to a bound, in the search's snapshot), so that the list of a rare condition's
matches is capped at its count and PostgreSQL plans with the true number.

Semantics are those of :mod:`ebonite_core.query`; :mod:`.dialects` has what differs between databases.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import FromClause, Select, and_, exists, func, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ebonite_core.query import COMPARISONS, ModelQuery, ParamCondition

from .dialects import exact_equals, param_number, param_string
from .schema import PARAM_KEY_LENGTH, PARAM_TEXT_LENGTH, model_params, model_tags, models, tasks


def _indexed(condition: ParamCondition) -> bool:
    """Whether ``ebonite_model_params`` answers ``condition`` exactly: its key is there, and a string it
    compares with is shorter than the stored prefix (a prefix of 255 characters equals no shorter string)."""
    if len(condition.key) > PARAM_KEY_LENGTH:
        return False
    return not isinstance(condition.value, str) or len(condition.value) < PARAM_TEXT_LENGTH


def _compare(
    condition: ParamCondition, dialect_family: str, text: ColumnElement[Any], number: ColumnElement[Any]
) -> ColumnElement[bool]:
    """``condition`` on a param whose value is ``text`` when it is a string, ``number`` when it is a number
    (each ``NULL`` otherwise)."""
    if isinstance(condition.value, str):  # only == and != take a string (ModelQuery checks)
        equal = exact_equals(dialect_family, text, condition.value)
        return equal if condition.op == "==" else and_(text.is_not(None), not_(equal))
    # A float, so that an integer beyond 64 bits binds on every driver; the database compares doubles anyway.
    return COMPARISONS[condition.op](number, float(condition.value))


def _indexed_condition(condition: ParamCondition, params: Any, dialect_family: str) -> ColumnElement[bool]:
    """``condition`` on a row of ``params`` (the table or an alias of it) that holds the param."""
    return _compare(condition, dialect_family, params.c.text, params.c.number)


def _json_condition(condition: ParamCondition, dialect_family: str) -> ColumnElement[bool]:
    """``condition`` read from the ``params`` JSON, for what the index does not answer (see :func:`_indexed`)."""
    text = param_string(dialect_family, models.c.params, condition.key)
    number = param_number(dialect_family, models.c.params, condition.key)
    return _compare(condition, dialect_family, text, number)


def _member_of(dialect_family: str, model_id: ColumnElement[Any], ids: Select[Any]) -> ColumnElement[bool]:
    """``model_id IN (ids)``: PostgreSQL and MariaDB plan it as a semi-join, from whichever side their
    statistics favour. SQLite's planner, whose statistics cannot tell a rare value from a common one, would
    start from the list and sort all of it; ``+id`` keeps it walking the order's index instead, checking each
    model against the list built once (a whole walk of 100,000 models costs about 10 ms, a sort of a common
    value's 30,000 far more)."""
    return (model_id + 0 if dialect_family == "sqlite" else model_id).in_(ids)


def _has_param(condition: ParamCondition, dialect_family: str) -> tuple[ColumnElement[bool], ...]:
    """``condition`` on the rows of ``ebonite_model_params``, for a condition :func:`_indexed` answers."""
    return (
        exact_equals(dialect_family, model_params.c.key, condition.key),
        _indexed_condition(condition, model_params, dialect_family),
    )


def _param_condition(
    condition: ParamCondition, dialect_family: str, model_id: ColumnElement[Any], match_count: int | None
) -> ColumnElement[bool]:
    if not _indexed(condition):
        return _json_condition(condition, dialect_family)
    has_param = _has_param(condition, dialect_family)
    if dialect_family == "sqlite" and condition.op == "!=":
        # != matches most models: on SQLite, check each model walked by its primary key rather than build
        # the list of nearly all of them (at 100,000 models: 33 ms -> 12 ms).
        return exists().where(model_params.c.model_id == model_id, *has_param)
    matches = select(model_params.c.model_id).where(*has_param)
    if match_count is not None:
        # Counted in this transaction's snapshot (see match_probes): the LIMIT leaves out no match, and it
        # is the estimate PostgreSQL plans with.
        matches = matches.limit(match_count)
    return _member_of(dialect_family, model_id, matches)


# PostgreSQL estimates a param condition from the statistics of every param's numbers (or strings) together:
# ``accuracy > 0.999`` looks as common as ``number > 0.999`` over accuracies, layers and learning rates (a
# quarter of the rows), so it walks the task newest first, probing each model: a thousand probes per match.
# Counted first, a condition with at most this many matches is searched with its list of matches capped at
# the count, and PostgreSQL, told the truth, reads and sorts those matches instead. At 1,000,000 models,
# walking costs about 2 µs per model walked (``limit`` / the share of matches), reading the matches about
# 10 µs per match: they meet near 5,000 matches (EXPLAIN ANALYZE: 2,923 matches 25 ms against a walk of
# 80 ms, 4,920 26 ms against 30 ms, 10,039 40 ms against 13 ms). Beyond the bound PostgreSQL plans alone.
RARE_MATCHES = 5000


def match_probes(
    query: ModelQuery, dialect_family: str, bound: int = RARE_MATCHES
) -> list[tuple[ParamCondition, Select[Any]]]:
    """On PostgreSQL, for each param condition that the search reads as a list of matching models, a
    ``SELECT count(*)`` of its matches up to ``bound + 1`` (an index-only scan of at most that many entries
    of ``(key, number, model_id)`` or ``(key, text, model_id)``). The caller runs them and the search in one
    snapshot (``REPEATABLE READ``) and hands :func:`search_statement` the counts of at most ``bound``.
    Other databases: none (SQLite's planner keeps no statistics that would use it, MariaDB takes no
    ``LIMIT`` in ``IN``)."""
    if dialect_family != "postgresql":
        return []
    ordered = _ordered_param_conditions(query)
    probes = []
    for condition in query.params:
        if _indexed(condition) and condition not in ordered:
            matches = select(model_params.c.model_id).where(*_has_param(condition, dialect_family)).limit(bound + 1)
            probes.append((condition, select(func.count()).select_from(matches.subquery())))
    return probes


def _ordered_param_conditions(query: ModelQuery) -> list[ParamCondition]:
    """The number conditions on the param the search orders by: they bound the walk of that param's rows."""
    order_param = query.order_param
    if order_param is None or len(order_param) > PARAM_KEY_LENGTH:
        return []
    return [c for c in query.params if c.key == order_param and not isinstance(c.value, str)]


def _sort_expression(query: ModelQuery, dialect_family: str) -> ColumnElement[Any]:
    if query.order_field == "creation_date":
        return models.c.creation_date
    # Code point order, as the other backends sort names: SQLite's BINARY and MySQL's utf8mb4_bin already
    # do; on PostgreSQL the column's "C" collation does (revision 0004), and saying so keeps it explicit.
    return models.c.name.collate("C") if dialect_family == "postgresql" else models.c.name


@dataclass
class _Filtered:
    """What a query selects from and filters on, and the columns it orders by."""

    source: FromClause
    conditions: list[ColumnElement[bool]]
    sort: ColumnElement[Any]
    tie: ColumnElement[Any]


def _filtered(
    query: ModelQuery,
    dialect_family: str,
    row_id: Callable[[str | None], int | None],
    match_counts: Mapping[ParamCondition, int],
) -> _Filtered | None:
    # What the database walks in order: the models (by creation date or name), the first tag's rows (by
    # creation date, which each tag row copies: only the tagged models are walked), or a param's rows.
    source: FromClause = models
    tie: ColumnElement[Any] = models.c.id
    task_column, date_column = models.c.task_id, models.c.creation_date
    conditions: list[ColumnElement[bool]] = []
    tags = list(query.tags)
    param_conditions = list(query.params)
    order_param = query.order_param
    if order_param is None and query.order_field == "creation_date" and tags:
        key, value = tags.pop(0)
        ordered_tag = model_tags.alias("ordered_tag")
        source = models.join(
            ordered_tag,
            and_(
                ordered_tag.c.model_id == models.c.id,
                exact_equals(dialect_family, ordered_tag.c.key, key),
                exact_equals(dialect_family, ordered_tag.c.value, value),
            ),
        )
        tie, task_column, date_column = ordered_tag.c.model_id, ordered_tag.c.task_id, ordered_tag.c.creation_date
        sort = date_column
    elif order_param is None:
        sort = _sort_expression(query, dialect_family)
    elif len(order_param) > PARAM_KEY_LENGTH:
        sort = param_number(dialect_family, models.c.params, order_param)
        conditions.append(sort.is_not(None))  # ordering by a param leaves out models where it is no number
    else:
        # Ordering by a param walks the params index in order: join the param's row, and put the number
        # conditions on that same param on the joined row, so that they bound the walk.
        ordered = model_params.alias("ordered_param")
        source = models.join(
            ordered,
            and_(ordered.c.model_id == models.c.id, exact_equals(dialect_family, ordered.c.key, order_param)),
        )
        sort, tie = ordered.c.number, ordered.c.model_id
        conditions.append(sort.is_not(None))
        same = _ordered_param_conditions(query)
        conditions.extend(_indexed_condition(condition, ordered, dialect_family) for condition in same)
        param_conditions = [c for c in param_conditions if c not in same]

    if query.task_id is not None:
        task_id = row_id(query.task_id)
        if task_id is None:
            return None
        conditions.append(task_column == task_id)
    if query.project_id is not None:
        project_id = row_id(query.project_id)
        if project_id is None:
            return None
        conditions.append(task_column.in_(select(tasks.c.id).where(tasks.c.project_id == project_id)))
    if query.created_after is not None:
        conditions.append(date_column > query.created_after)
    if query.created_before is not None:
        conditions.append(date_column < query.created_before)
    # Filters on the model's id test the id the walk already has (the tag's or param's row), so that SQLite
    # checks them before reading the model's row.
    for key, value in tags:
        tagged = select(model_tags.c.model_id).where(
            exact_equals(dialect_family, model_tags.c.key, key),
            exact_equals(dialect_family, model_tags.c.value, value),
        )
        conditions.append(_member_of(dialect_family, tie, tagged))
    conditions.extend(
        _param_condition(condition, dialect_family, tie, match_counts.get(condition)) for condition in param_conditions
    )
    return _Filtered(source, conditions, sort, tie)


def count_statement(
    query: ModelQuery, dialect_family: str, row_id: Callable[[str | None], int | None]
) -> Select[Any] | None:
    """``SELECT count(*)`` of the models ``query`` matches (order, limit and page token aside), or ``None``
    if nothing can match."""
    filtered = _filtered(query, dialect_family, row_id, {})
    if filtered is None:
        return None
    return select(func.count()).select_from(filtered.source).where(*filtered.conditions)


def search_statement(
    query: ModelQuery,
    dialect_family: str,
    model_select: Select[Any],
    row_id: Callable[[str | None], int | None],
    match_counts: Mapping[ParamCondition, int] | None = None,
) -> Select[Any] | None:
    """The SELECT of one page of ``query`` (``limit + 1`` rows at most), or ``None`` if nothing can match.

    ``model_select`` selects a model's columns and tags from ``models``; ``row_id`` turns an id the core
    hands back into the table's key (``None`` for an id this store never made); ``match_counts`` has the
    number of matches of param conditions counted by :func:`match_probes` in the snapshot this statement
    will run in.
    """
    filtered = _filtered(query, dialect_family, row_id, match_counts or {})
    if filtered is None:
        return None
    conditions, sort, tie = list(filtered.conditions), filtered.sort, filtered.tie
    if query.after is not None:
        # The value's kind was checked when the query was built; a float binds beyond 64 bits on every driver.
        value, last_id = query.after[0], row_id(query.after[1])
        if query.order_param is not None:
            value = float(value)
        if last_id is None:
            raise ValueError(f"Invalid page token: {query.after[1]!r} is not a model id of this store.")
        # Strictly beyond (value, id), spelled so that the first part bounds an index scan on every database
        # (PostgreSQL and SQLite would take a row comparison too; MariaDB may not).
        up_to, beyond = (operator.le, operator.lt) if query.descending else (operator.ge, operator.gt)
        conditions.append(and_(up_to(sort, value), or_(beyond(sort, value), beyond(tie, last_id))))

    def direction(column: ColumnElement[Any]) -> ColumnElement[Any]:
        return column.desc() if query.descending else column.asc()

    page = (
        select(tie.label("id"), sort.label("sort_value"))
        .select_from(filtered.source)
        .where(*conditions)
        .order_by(direction(sort), direction(tie))
        .limit(query.limit + 1)
        .subquery("page")
    )
    return model_select.join(page, page.c.id == models.c.id).order_by(
        direction(page.c.sort_value), direction(page.c.id)
    )
