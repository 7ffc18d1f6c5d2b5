"""The task page's table: what its URL asks for (filters, order, page, columns), the search that answers it,
and the URLs of its links.

Everything lives in the query string, so that a filtered, sorted view can be bookmarked and shared:

- ``tag=stage=production`` (repeatable): models with that tag;
- ``param=accuracy >= 0.9`` (repeatable, one per param): a comparison (``==``, ``!=``, ``<``, ``<=``, ``>``,
  ``>=``; ``=`` means ``==``); the value is a number if it reads as one, else text (quote it, ``"3"``, to
  compare with the text ``3``);
- ``sort=-params.accuracy``: any order of the search (``creation_date``, ``name``, ``author``, ``params.<key>``
  for numbers, ``text_params.<key>`` for strings, ``tags.<key>`` for a tag's value; ``-`` first for
  descending). Every column header is a link to its order: a param column sorts by its numbers if the page
  shows numbers in it, else by its strings; the Tags column's header has a link per tag key on the page
  (most common first), which sorts by that tag's value. An order by a field lists only the models that have
  a value of its kind for it (the page says so);
- ``limit`` (models per page), ``page`` (the search's page token) and ``start`` (the number of the page's
  first row, for display);
- ``col=accuracy`` (repeatable): the params shown as columns.

The search is the one the API uses (:class:`ebonite_core.query.ModelQuery` handed to the metadata
repository's ``search_models``): keyset pages, filtered and ordered by the store.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from ebonite_core.query import COMPARISONS, ModelPage, ModelQuery, is_number

from ..access import RegistryView

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
LIMITS = (25, 50, 100, 200)
MAX_AUTO_COLUMNS = 6
MAX_CONDITIONS = 20
_CONDITION = re.compile(r"^\s*(.+?)\s*(==|!=|>=|<=|=|<|>)\s*(.*?)\s*$", re.DOTALL)


@dataclass(frozen=True)
class TableQuery:
    """What a task page's URL asks for; :meth:`parse` checks it, :meth:`url` writes it back."""

    tags: tuple[str, ...] = ()  # "key=value"
    params: tuple[str, ...] = ()  # "key op value"
    sort: str = "-creation_date"
    limit: int = DEFAULT_LIMIT
    page: str | None = None
    start: int = 1
    columns: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, query: Mapping[str, str] | Any) -> TableQuery:
        """Read a request's query parameters (a Starlette ``QueryParams``); problems are collected in
        ``errors`` rather than raised, so that the page can show them next to the form."""
        errors: list[str] = []
        tags = tuple(text.strip() for text in query.getlist("tag") if text.strip())[:MAX_CONDITIONS]
        params = tuple(text.strip() for text in query.getlist("param") if text.strip())[:MAX_CONDITIONS]
        sort = query.get("sort") or "-creation_date"
        limit = _int(query.get("limit"), DEFAULT_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            errors.append(f"Models per page must be from 1 to {MAX_LIMIT}; showing {DEFAULT_LIMIT}.")
            limit = DEFAULT_LIMIT
        columns = tuple(dict.fromkeys(text for text in query.getlist("col") if text))
        return cls(
            tags=tags,
            params=params,
            sort=sort,
            limit=limit,
            page=query.get("page") or None,
            start=max(1, _int(query.get("start"), 1)),
            columns=columns,
            errors=tuple(errors),
        )

    # The search
    def tag_filter(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for text in self.tags:
            key, equals, value = text.partition("=")
            if not equals or not key.strip():
                raise ValueError(f"Tag condition {text!r}: write it as key=value.")
            found[key.strip()] = value.strip()
        return found

    def param_filter(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for text in self.params:
            match = _CONDITION.match(text)
            if match is None or not match.group(3):
                raise ValueError(
                    f"Param condition {text!r}: write it as key, a comparison ({', '.join(COMPARISONS)}) and a "
                    "value, e.g. accuracy >= 0.9."
                )
            key, op, value = match.group(1), match.group(2), match.group(3)
            if key in found:
                raise ValueError(f"Param {key!r} has two conditions: give one condition per param.")
            found[key] = ("==" if op == "=" else op, parse_value(value))
        return found

    def model_query(self, task_id: str) -> ModelQuery:
        """The search for this page of the task's models; ``ValueError`` for a bad filter, order or token."""
        return ModelQuery.create(
            task_id=task_id,
            tags=self.tag_filter(),
            params=self.param_filter(),
            order_by=self.sort,
            limit=self.limit,
            page_token=self.page,
        )

    @property
    def sort_field(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    # URLs
    def url(self, path: str, **changes: Any) -> str:
        """``path`` with this query (changed by ``changes``) in its query string; a new filter or order starts
        from the first page."""
        query = replace(self, **changes)
        pairs: list[tuple[str, Any]] = [("tag", text) for text in query.tags]
        pairs += [("param", text) for text in query.params]
        if query.sort != "-creation_date":
            pairs.append(("sort", query.sort))
        if query.limit != DEFAULT_LIMIT:
            pairs.append(("limit", query.limit))
        pairs += [("col", column) for column in query.columns]
        if query.page:
            pairs += [("page", query.page), ("start", query.start)]
        return f"{path}?{urlencode(pairs)}" if pairs else path

    def sort_url(self, path: str, field_name: str) -> str:
        """The link of a column header: sort by ``field_name``, or flip the order when it already is. Text
        sorts A to Z first, dates and numbers highest first."""
        if self.sort_field == field_name:
            sort = field_name if self.descending else f"-{field_name}"
        else:
            sort = field_name if is_text_order(field_name) else f"-{field_name}"
        return self.url(path, sort=sort, page=None, start=1)

    def sort_note(self) -> str | None:
        """What an order that leaves models out says above the table."""
        field_name = self.sort_field
        for prefix, kind in (("params.", "a number"), ("text_params.", "text")):
            if field_name.startswith(prefix):
                key = field_name[len(prefix) :]
                return f"Sorted by {key}: only models whose {key} is {kind} are listed."
        if field_name.startswith("tags."):
            return f"Sorted by the tag {field_name[len('tags.') :]}: only models with that tag are listed."
        if field_name == "author":
            return "Sorted by author: models without an author are not listed."
        return None

    def sort_options(self, page: TablePage | None) -> list[tuple[str, str]]:
        """The choices of the form's order menu: the fixed orders, the page's params and tags, and always the
        current order (so that applying a filter keeps it)."""
        options = [
            ("-creation_date", "Newest first"),
            ("creation_date", "Oldest first"),
            ("name", "Name, A to Z"),
            ("-name", "Name, Z to A"),
            ("author", "Author, A to Z"),
            ("-author", "Author, Z to A"),
        ]
        for key, field_name in page.column_sorts.items() if page else ():
            if field_name.startswith("params."):
                options += [(f"-{field_name}", f"{key}, highest first"), (field_name, f"{key}, lowest first")]
            else:
                options += [(field_name, f"{key}, A to Z"), (f"-{field_name}", f"{key}, Z to A")]
        for key in page.tag_keys if page else ():
            options += [(f"tags.{key}", f"tag {key}, A to Z"), (f"-tags.{key}", f"tag {key}, Z to A")]
        if self.sort not in {value for value, _ in options}:
            options.append((self.sort, self.sort))
        return options

    def aria_sort(self, field_name: str) -> str | None:
        if self.sort_field != field_name:
            return None
        return "descending" if self.descending else "ascending"


def is_text_order(field_name: str) -> bool:
    """Whether an order (without its ``-``) sorts text."""
    return field_name in ("name", "author") or field_name.startswith(("text_params.", "tags."))


def parse_value(text: str) -> str | int | float:
    """A condition's value: a number if it reads as a finite one, text otherwise (quotes keep text)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


@dataclass
class TablePage:
    """One page of a task's table, ready for the template."""

    models: ModelPage
    columns: list[str]
    available_columns: list[str]
    column_sorts: dict[str, str]  # param -> its order: params.<key> if the page shows numbers for it, else
    # text_params.<key> if strings (a param of only booleans or lists has none)
    tag_keys: list[str]  # the page's tag keys, most common first, and the sorted one: the Tags header's links
    aliases: dict[str, list[str]]  # model id -> its aliases

    @property
    def numeric_columns(self) -> set[str]:
        return {key for key, field_name in self.column_sorts.items() if field_name.startswith("params.")}


def search_page(view: RegistryView, task_id: str, table: TableQuery) -> TablePage:
    """The models of one page, the param columns to show, and each model's aliases.

    Columns: those the URL names, else the params the page's models have in common first, then the others,
    up to :data:`MAX_AUTO_COLUMNS`, with the sorted and filtered params always among them.
    """
    models = view.meta.search_models(table.model_query(task_id))
    task = view.meta.get_task_by_id(task_id)
    aliases: dict[str, list[str]] = {}
    if task is not None:
        for alias, model_id in sorted(view.meta.get_aliases(task).items()):
            aliases.setdefault(model_id, []).append(alias)
    counts: dict[str, int] = {}
    tag_counts: dict[str, int] = {}
    sorts: dict[str, str] = {}
    for model in models:
        for key, value in model.params.items():
            if is_scalar(value):
                counts[key] = counts.get(key, 0) + 1
            if is_number(value):
                sorts[key] = f"params.{key}"
            elif isinstance(value, str):
                sorts.setdefault(key, f"text_params.{key}")
        for key in model.tags:
            tag_counts[key] = tag_counts.get(key, 0) + 1
    available = sorted(counts, key=lambda key: (-counts[key], key))
    tag_keys = sorted(tag_counts, key=lambda key: (-tag_counts[key], key))
    wanted = list(table.param_filter())
    sort_field = table.sort_field
    if sort_field.startswith(("params.", "text_params.")):
        key = sort_field.partition(".")[2]
        wanted.insert(0, key)
        sorts[key] = sort_field
    elif sort_field.startswith("tags.") and sort_field[len("tags.") :] not in tag_keys:
        tag_keys.append(sort_field[len("tags.") :])
    if table.columns:
        columns = list(dict.fromkeys([*table.columns, *wanted]))
    else:
        columns = list(dict.fromkeys([*wanted, *available]))[: max(MAX_AUTO_COLUMNS, len(wanted))]
    column_sorts = dict(sorted(sorts.items()))
    return TablePage(models, columns, sorted(set(available) | set(columns)), column_sorts, tag_keys, aliases)


def is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def show_value(value: object) -> str:
    """A param or tag value as text: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def differing(values: Sequence[object]) -> bool:
    """Whether the values of one compare row differ (a missing value differs from any present one)."""
    return len({json.dumps(value, sort_keys=True, default=str) for value in values}) > 1
