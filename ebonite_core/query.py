"""Searching models: the query a client hands to a metadata repository, and the page it gets back.

Filters (all optional, combined with AND):

- ``project_id`` / ``task_id``: only models of that project or task.
- ``tags``: ``{key: value}``; a model matches when it has every pair.
- ``params``: ``{key: value}`` for equality (a string or a number), or ``{key: (op, value)}`` with ``op`` one
  of ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (the last four need a number). A comparison with a number
  only matches params that are numbers (booleans are not), one with a string only params that are strings:
  ``("!=", 0.9)`` leaves out a model whose param is ``"n/a"``, or has no such param.
- ``created_after`` / ``created_before``: strict bounds on ``creation_date`` (timezone-aware).

Order: ``order_by`` is one of these, with a leading ``-`` for descending (default ``-creation_date``):

- ``creation_date``, ``name``;
- ``author``: models without an author are left out;
- ``params.<key>``: by the param's number; models whose param is not a number are left out;
- ``text_params.<key>``: by the param's text; models whose param is not a string are left out;
- ``tags.<key>``: by the value of that tag; models without the tag are left out.

Ordering by a field thus lists the models that have a value of its kind for it, in both directions (as
ordering by a param always did). Text sorts by code point. Ties are broken by id, in the same direction. Pages
are keyset-paginated: the page token records the last model's sort value and id, so that models added while a
client pages through results never shift later pages.
"""

from __future__ import annotations

import base64
import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .objects import Model, parse_timestamp

MAX_LIMIT = 1000
# Orders by a keyed field, ``<prefix>.<key>``, and the kind of value each sorts (the model's field it reads).
KEYED_ORDERS = ("params.", "text_params.", "tags.")
# The comparison operators of a param filter. Applied to values they give a bool; a SQL backend applies
# them to column expressions and gets the SQL comparison.
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def id_sort_key(model_id: str) -> tuple[int, int | str]:
    """Sort numeric ids as numbers (so that "10" follows "9"), others as text after them."""
    return (0, int(model_id)) if model_id.isdigit() else (1, model_id)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ParamCondition:
    key: str
    op: str
    value: str | int | float

    def matches(self, params: Mapping[str, Any]) -> bool:
        if self.key not in params:
            return False
        actual = params[self.key]
        if self.op in ("==", "!="):
            same_kind = (is_number(actual) and is_number(self.value)) or type(actual) is type(self.value) is str
            equal = same_kind and actual == self.value
            return equal if self.op == "==" else (same_kind and not equal)
        return is_number(actual) and COMPARISONS[self.op](actual, self.value)


def _conditions(params: Mapping[str, Any] | None) -> tuple[ParamCondition, ...]:
    conditions = []
    for key, wanted in (params or {}).items():
        if isinstance(wanted, tuple) and len(wanted) == 2:
            op, value = wanted
            if op not in COMPARISONS:
                raise ValueError(f"Unknown comparison {op!r} for param {key!r}: use one of {', '.join(COMPARISONS)}.")
            if op not in ("==", "!=") and not is_number(value):
                raise ValueError(f"Param {key!r}: {op} needs a number, not {value!r}.")
        else:
            op, value = "==", wanted
        if not (is_number(value) or isinstance(value, str)):
            raise ValueError(f"Param {key!r}: compare with a string or a number, not {value!r}.")
        if "\x00" in str(key) or (isinstance(value, str) and "\x00" in value):
            raise ValueError(f"Param {key!r}: no stored param holds a NUL character ('\\x00'); search without it.")
        conditions.append(ParamCondition(str(key), op, value))
    return tuple(conditions)


@dataclass(frozen=True)
class ModelQuery:
    """What :meth:`MetadataRepository.search_models` looks for; build it with :meth:`create`."""

    project_id: str | None = None
    task_id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    params: tuple[ParamCondition, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    order_field: str = "creation_date"  # "creation_date", "name", "author" or "<params|text_params|tags>.<key>"
    descending: bool = True
    limit: int = 100
    after: tuple[Any, str] | None = None
    """(sort value, id) of the previous page's last model: results start strictly beyond it."""

    def __post_init__(self) -> None:
        # A page token is user input, and a query can be built without create(): a sort value of the wrong
        # type is refused here, once, rather than when a backend compares it with its own values.
        if self.after is not None:
            value, model_id = self.after
            valid = (
                isinstance(value, datetime) and value.tzinfo is not None
                if self.order_field == "creation_date"
                else is_number(value)
                if self.order_param is not None
                else isinstance(value, str)
            )
            if not valid or not isinstance(model_id, str):
                raise ValueError(f"Invalid page token: {value!r} is not a value of {self.order_field}.")

    @classmethod
    def create(
        cls,
        *,
        project_id: str | None = None,
        task_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        order_by: str = "-creation_date",
        limit: int = 100,
        page_token: str | None = None,
    ) -> ModelQuery:
        """Check and normalise the arguments of ``Ebonite.search_models``; ``ValueError`` on bad input."""
        descending = order_by.startswith("-")
        order_field = order_by.lstrip("-")
        if order_field not in ("creation_date", "name", "author") and not any(
            order_field.startswith(prefix) and len(order_field) > len(prefix) for prefix in KEYED_ORDERS
        ):
            raise ValueError(
                f"Cannot order by {order_by!r}: use creation_date, name, author, params.<key> (numbers), "
                "text_params.<key> (strings) or tags.<key>, '-' first for descending."
            )
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {limit!r}.")
        for bound in (created_after, created_before):
            if bound is not None and (not isinstance(bound, datetime) or bound.tzinfo is None):
                raise ValueError("created_after and created_before must be timezone-aware datetimes.")
        if tags is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise ValueError("tags must map strings to strings.")
        if "\x00" in order_by or any("\x00" in k + v for k, v in (tags or {}).items()):
            raise ValueError("No stored tag or param name holds a NUL character ('\\x00'): search without it.")
        query = cls(
            project_id=project_id,
            task_id=task_id,
            tags=tuple(sorted((tags or {}).items())),
            params=_conditions(params),
            created_after=created_after,
            created_before=created_before,
            order_field=order_field,
            descending=descending,
            limit=limit,
        )
        if page_token is not None:
            query = cls(**{**query.__dict__, "after": query.decode_token(page_token)})
        return query

    @property
    def order_param(self) -> str | None:
        """The key of the numeric param this query orders by, if it orders by one."""
        return self._order_key("params.")

    @property
    def order_text_param(self) -> str | None:
        """The key of the string param this query orders by, if it orders by one."""
        return self._order_key("text_params.")

    @property
    def order_tag(self) -> str | None:
        """The key of the tag whose value this query orders by, if it orders by one."""
        return self._order_key("tags.")

    def _order_key(self, prefix: str) -> str | None:
        return self.order_field[len(prefix) :] if self.order_field.startswith(prefix) else None

    # Working on rows: ``Model.to_dict()`` output, the shape the in-memory and local backends keep.
    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether a model row passes every filter (the project filter is the caller's: rows lack it)."""
        if self.task_id is not None and row["task_id"] != self.task_id:
            return False
        tags = row.get("tags") or {}
        if any(tags.get(key) != value for key, value in self.tags):
            return False
        params = row.get("params") or {}
        if not all(condition.matches(params) for condition in self.params):
            return False
        if self.created_after is not None or self.created_before is not None:
            created = parse_timestamp(row["creation_date"])
            if self.created_after is not None and not created > self.created_after:
                return False
            if self.created_before is not None and not created < self.created_before:
                return False
        return self.has_sort_value(row)

    def has_sort_value(self, row: Mapping[str, Any]) -> bool:
        """Whether a model row has a value of this query's order (see the module's docstring)."""
        if self.order_field in ("creation_date", "name"):
            return True
        if self.order_field == "author":
            return isinstance(row.get("author"), str)
        if self.order_tag is not None:
            return self.order_tag in (row.get("tags") or {})
        value = (row.get("params") or {}).get(self.order_param or self.order_text_param)
        return is_number(value) if self.order_param is not None else isinstance(value, str)

    def sort_value(self, row: Mapping[str, Any]) -> Any:
        if self.order_field == "creation_date":
            return parse_timestamp(row["creation_date"])
        if self.order_field in ("name", "author"):
            return row[self.order_field]
        if self.order_tag is not None:
            return row["tags"][self.order_tag]
        return row["params"][self.order_param or self.order_text_param]

    def page(self, rows: Iterable[Mapping[str, Any]], id_key: Callable[[str], Any] = id_sort_key) -> ModelPage:
        """Sort, skip to the token and cut one page from rows that already passed :meth:`matches`."""
        keyed = sorted(
            ((self.sort_value(row), id_key(row["id"]), row) for row in rows),
            key=lambda item: (item[0], item[1]),
            reverse=self.descending,
        )
        if self.after is not None:
            after = (self.after[0], id_key(self.after[1]))
            beyond = operator.lt if self.descending else operator.gt
            keyed = [item for item in keyed if beyond((item[0], item[1]), after)]
        return self.page_of([Model.from_dict(dict(row)) for _, _, row in keyed[: self.limit + 1]])

    def page_of(self, models: list[Model]) -> ModelPage:
        """The page for the first ``limit + 1`` models that match, in order: the extra one only says that there
        is a next page, whose token :meth:`next_token` makes from the page's last model."""
        page = ModelPage(models[: self.limit])
        if len(models) > self.limit:
            page.next_page_token = self.next_token(page[-1])
        return page

    def next_token(self, last: Model) -> str:
        """The page token that continues after ``last``, the last model of a page."""
        assert last.id is not None
        return self.encode_token(self.sort_value(last.to_dict()), last.id)

    # Page tokens
    def encode_token(self, value: Any, model_id: str) -> str:
        """A page token for ``order_by`` this query's: the sort value and the id to continue after."""
        encoded = value.isoformat() if isinstance(value, datetime) else value
        raw = json.dumps([self.order_field, encoded, model_id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode_token(self, token: str) -> tuple[Any, str]:
        """``(sort value, id)`` from a page token made by :meth:`encode_token` for the same ``order_by``; the
        values are checked when the query is built with them."""
        try:
            order_field, value, model_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (ValueError, TypeError) as err:
            raise ValueError(f"Invalid page token {token!r}.") from err
        if order_field != self.order_field:
            raise ValueError(f"The page token was made for order_by {order_field!r}, not {self.order_field!r}.")
        if order_field == "creation_date":
            try:
                value = parse_timestamp(value)
            except (TypeError, ValueError) as err:
                raise ValueError(f"Invalid page token {token!r}: {value!r} is not a timestamp.") from err
        return value, str(model_id)


class ModelPage(list[Model]):
    """One page of search results (metadata only); ``next_page_token`` is ``None`` on the last page."""

    next_page_token: str | None = None


@dataclass(frozen=True)
class ModelSummary:
    """What :meth:`MetadataRepository.summarize_models` answers: how many models match a query, the total size
    of their artifacts (bytes, from the manifests) and the creation date of the newest (``None`` if none)."""

    count: int = 0
    size: int = 0
    last_created: datetime | None = None

    def add(self, other: ModelSummary) -> ModelSummary:
        """The summary of this summary's models and ``other``'s together."""
        dates = [date for date in (self.last_created, other.last_created) if date is not None]
        return ModelSummary(self.count + other.count, self.size + other.size, max(dates, default=None))

    @classmethod
    def of_models(cls, models: Iterable[Model]) -> ModelSummary:
        """The summary of models (a page of search results)."""
        count = size = 0
        last: datetime | None = None
        for model in models:
            count += 1
            size += sum(artifact.size for artifact in model.artifacts)
            last = model.creation_date if last is None or model.creation_date > last else last
        return cls(count, size, last)

    @classmethod
    def of_rows(cls, rows: Iterable[Mapping[str, Any]]) -> ModelSummary:
        """The summary of model rows (``Model.to_dict()`` output), in one pass that builds no object."""
        count = size = 0
        last: datetime | None = None
        for row in rows:
            count += 1
            size += sum(int(artifact.get("size") or 0) for artifact in row.get("artifacts") or ())
            created = parse_timestamp(row["creation_date"])
            last = created if last is None or created > last else last
        return cls(count, size, last)
