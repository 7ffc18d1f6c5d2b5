"""What differs between SQLite, PostgreSQL and MySQL/MariaDB: upserts, JSON aggregation, reading one JSON param.

Every function takes the dialect's *family*: ``"sqlite"``, ``"postgresql"`` or ``"mysql"`` (MariaDB included,
whatever the URL calls it). The expressions keep the search semantics of :mod:`ebonite_core.query`:

- a param compared with a number matches only JSON numbers (``true`` is not 1), one compared with a string
  only JSON strings; a missing param matches nothing, not even ``!=``;
- strings compare exactly. On MySQL/MariaDB the ``utf8mb4_bin`` collation ignores trailing spaces
  (``'a' = 'a '``), so equality also compares the lengths there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Dialect,
    Double,
    Insert,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import JSON

SUPPORTED = ("sqlite", "postgresql", "mysql")


def family(dialect: Dialect) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (for MySQL and MariaDB); ``ValueError`` for other databases."""
    name = "mysql" if dialect.name in ("mysql", "mariadb") else dialect.name
    if name not in SUPPORTED:
        raise ValueError(f"ebonite-sqlalchemy supports SQLite, PostgreSQL and MySQL/MariaDB, not {dialect.name}.")
    return name


# Upserts: one statement that inserts a row or, when its primary key exists, updates it. Atomic on every
# dialect (no window where the row is missing), unlike a delete-then-insert or a check-then-insert.
def upsert(
    dialect_family: str,
    table: Table,
    rows: list[dict[str, Any]] | Select[Any],
    keys: Sequence[str],
    updated: str,
    new_value: Any = None,
) -> Insert:
    """Insert ``rows`` (a list of value dicts, or a SELECT giving the table's columns in order) into ``table``;
    where the primary key ``keys`` already exists, set its column ``updated`` instead: to ``new_value`` when
    given, else to the value the clashing row brought."""
    dml = {"sqlite": sqlite, "postgresql": postgresql, "mysql": mysql}[dialect_family]
    statement = dml.insert(table)
    if isinstance(rows, Select):
        # SQLite needs a WHERE in an INSERT ... SELECT ... ON CONFLICT (a parsing ambiguity); ours have one.
        statement = statement.from_select([column.name for column in table.columns], rows)
    else:
        statement = statement.values(rows)
    if dialect_family == "mysql":
        value = statement.inserted[updated] if new_value is None else new_value
        return statement.on_duplicate_key_update({updated: value})
    value = statement.excluded[updated] if new_value is None else new_value
    return statement.on_conflict_do_update(index_elements=list(keys), set_={updated: value})


class JsonObjectAgg(FunctionElement[Any]):
    """``{key: value, ...}`` over the rows of a group, as a JSON object (``NULL`` or ``{}`` for no rows)."""

    type = JSON()
    inherit_cache = True
    name = "json_object_agg"


@compiles(JsonObjectAgg)
def _json_object_agg(element: JsonObjectAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object_agg({compiler.process(element.clauses, **kw)})"  # PostgreSQL


@compiles(JsonObjectAgg, "sqlite")
def _json_group_object(element: JsonObjectAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_object({compiler.process(element.clauses, **kw)})"


@compiles(JsonObjectAgg, "mysql")
@compiles(JsonObjectAgg, "mariadb")
def _json_objectagg(element: JsonObjectAgg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"JSON_OBJECTAGG({compiler.process(element.clauses, **kw)})"  # MariaDB 10.5+, MySQL 5.7.22+


def exact_equals(dialect_family: str, expression: ColumnElement[str], value: str) -> ColumnElement[bool]:
    """``expression = value``, exactly: on MySQL/MariaDB trailing spaces count too (see the module docstring).

    The plain equality stays first so that an index on ``expression`` still finds the candidates.
    """
    equal = expression == value
    if dialect_family == "mysql":
        return and_(equal, func.char_length(expression) == len(value))
    return equal


def _mysql_member(params: ColumnElement[Any], key: str) -> ColumnElement[Any]:
    # MariaDB compares a path's member name with the key as spelled inside the stored document, escapes
    # included. A quoted path member takes JSON's escapes, so spell the key as json.dumps wrote it (the
    # default serializer: \u00e9 for "é"); for a non-ASCII key, also as a serializer with ensure_ascii=False
    # (an engine's json_serializer) would have written it.
    spellings = dict.fromkeys([json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1]])
    members = [func.JSON_EXTRACT(params, literal(f'$."{spelling}"', String)) for spelling in spellings]
    return members[0] if len(members) == 1 else func.coalesce(*members)


def _sqlite_member(params: ColumnElement[Any], key: str, numbers: bool) -> ColumnElement[Any]:
    # json_each rather than a path: SQLite before 3.45 cannot spell a key holding '"' in a path, and compares
    # path members with the escaped text of the document. json_each yields each member's decoded key, its
    # SQL value and its JSON type ('integer', 'real', 'text', 'true', 'false', 'null', 'object', 'array').
    member = func.json_each(params).table_valued("key", "value", "type")
    types = ("integer", "real") if numbers else ("text",)
    return (
        select(case((member.c.type.in_(types), member.c.value)))
        .where(member.c.key == literal(key, String))
        .scalar_subquery()
    )


def _postgresql_member(params: ColumnElement[Any], key: str) -> tuple[ColumnElement[Any], ColumnElement[str]]:
    """The member ``key`` of the JSON object ``params`` (``->``, to ask its JSON type) and its text (``->>``)."""
    return (
        params.op("->", return_type=JSON)(literal(key, String)),
        params.op("->>", return_type=String)(literal(key, String)),
    )


def param_number(dialect_family: str, params: ColumnElement[Any], key: str) -> ColumnElement[float]:
    """The param ``key`` of the JSON object ``params`` as a double, or ``NULL`` unless it is a JSON number."""
    if dialect_family == "sqlite":
        return _sqlite_member(params, key, numbers=True)
    if dialect_family == "postgresql":
        # CASE, not AND: PostgreSQL may evaluate either side of an AND first, and the cast fails on text.
        member, text = _postgresql_member(params, key)
        return case((func.json_typeof(member) == "number", cast(text, Double)))
    extracted = _mysql_member(params, key)
    numeric = ("INTEGER", "UNSIGNED INTEGER", "DOUBLE", "DECIMAL")  # JSON_TYPE's names; BOOLEAN is apart
    return case((func.JSON_TYPE(extracted).in_(numeric), cast(extracted, Double)))


def param_string(dialect_family: str, params: ColumnElement[Any], key: str) -> ColumnElement[str]:
    """The param ``key`` of the JSON object ``params`` as text, or ``NULL`` unless it is a JSON string."""
    if dialect_family == "sqlite":
        return _sqlite_member(params, key, numbers=False)
    if dialect_family == "postgresql":
        member, text = _postgresql_member(params, key)
        return case((func.json_typeof(member) == "string", text))
    extracted = _mysql_member(params, key)
    return case((func.JSON_TYPE(extracted) == "STRING", func.JSON_UNQUOTE(extracted)))
