"""Printing for people (aligned plain-text tables, sizes, dates) and for machines (JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from itertools import islice
from typing import Any


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def json_text(data: Any) -> str:
    """One value as JSON on one line, for output streamed piece by piece."""
    return json.dumps(data, ensure_ascii=False)


def print_table(
    header: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = (), indent: str = ""
) -> None:
    """Columns separated by two spaces, padded to the widest cell; columns listed in ``right`` align right."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    for row in cells:
        padded = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print(indent + "  ".join(padded).rstrip())


def print_table_streamed(
    header: Sequence[str], rows: Iterable[Sequence[object]], right: Sequence[int] = (), sample: int = 100
) -> int:
    """:func:`print_table` for rows that come a page at a time: the widths are those of the header and the
    first ``sample`` rows, printed at once; a later, wider cell pushes its row out of line rather than hold
    every row in memory. Returns how many rows were printed (the header is printed only if there are rows)."""
    iterator = iter(rows)
    first = list(islice(iterator, sample))
    if not first:
        return 0
    cells = [[str(cell) for cell in row] for row in [header, *first]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]

    def line(row: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    for row in cells:
        print(line(row))
    count = len(first)
    for row in iterator:
        print(line([str(cell) for cell in row]))
        count += 1
    return count


def print_json_with_list(document: Any, where: Sequence[str | int], items: Iterable[Any]) -> None:
    """Print ``document`` as JSON with a list placed at ``where`` (keys and indexes leading to it) whose
    items are printed as they come: a list of a million models is never held at once."""
    marker = "\x00items\x00"
    place = document
    for step in where[:-1]:
        place = place[step]  # type: ignore[index]
    place[where[-1]] = marker  # type: ignore[index]
    head, tail = json.dumps(document, indent=2, ensure_ascii=False).split(json.dumps(marker), 1)
    print(head + "[", end="")
    for index, item in enumerate(items):
        print(("," if index else "") + "\n  " + json.dumps(item, ensure_ascii=False), end="")
    print("\n]" + tail)


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 model``, ``2 models``, ``0 models`` (``plural_form`` for nouns that do not take an ``s``)."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


def size(count: int) -> str:
    """``512 B``, ``1.5 KiB``, ``12.0 MiB``..."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def date(value: datetime) -> str:
    """A timestamp in UTC, to the second."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


def signature(description: dict[str, Any]) -> str:
    """A short text for a recorded input or output signature (see ``ebonite_core.model.signature``)."""
    kind = description.get("type", "?")
    if "dtype" in description and "shape" in description:
        shape = ", ".join("*" if axis is None else str(axis) for axis in description["shape"])
        return f"{kind}[{description['dtype']}, ({shape})]"
    if "columns" in description:
        columns = ", ".join(f"{c}: {d}" for c, d in zip(description["columns"], description["dtypes"], strict=False))
        return f"{kind}[{columns}]"
    if kind == "pandas.Series":
        return f"{kind}[{description.get('name')}: {description.get('dtype')}]"
    if "item_types" in description:
        return f"{kind}[{' | '.join(description['item_types']) or '-'}]"
    if "fields" in description:
        return "{" + ", ".join(f"{key}: {signature(value)}" for key, value in description["fields"].items()) + "}"
    return str(kind)


def ask(question: str) -> bool:
    """Ask a yes/no question on stderr and read the answer from stdin; only ``y``/``yes`` say yes."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        print(file=sys.stderr)  # end of input: finish the prompt's line
    return answer.strip().lower() in ("y", "yes")
