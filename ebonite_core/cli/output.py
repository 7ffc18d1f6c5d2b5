"""Printing for people (aligned plain-text tables, sizes, dates) and for machines (JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


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
