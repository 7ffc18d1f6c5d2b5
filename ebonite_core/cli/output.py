"""Printing for people (aligned plain-text tables, sizes, dates) and for machines (JSON).

Everything ``ebonite`` writes to the terminal goes through :func:`echo` (or :func:`terminal` where a library
writes for us): descriptions, names, param keys, column names, tags, file names and error messages come from
a store that someone else may have written, and must never move the cursor, clear the screen, hide or
reorder text, nor show a secret.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import IO, Any

from ..masking import mask

_KEPT_FORMAT_CHARACTERS = {"\u200d"}  # the zero-width joiner inside emoji sequences


def _unsafe(char: str) -> bool:
    """Control characters (C0, DEL, C1: terminal escapes), lone surrogates, line and paragraph separators, and
    the invisible format characters that reorder or hide text (bidi overrides, zero-width spaces...)."""
    category = unicodedata.category(char)
    if category == "Cf":
        return char not in _KEPT_FORMAT_CHARACTERS and not "\U000e0020" <= char <= "\U000e007f"  # emoji tags
    return category in ("Cc", "Cs", "Zl", "Zp")


def terminal(text: object) -> str:
    """``text`` made safe for a terminal: secrets masked (:func:`ebonite_core.masking.mask`), every unsafe
    character shown as its escape (``\\x1b``, ``\\n``, ``\\u202e``), so that one value is one line."""
    text = mask(str(text))
    if text.isprintable():  # the common case, in C
        return text
    return "".join(char.encode("unicode_escape").decode("ascii") if _unsafe(char) else char for char in text)


def echo(text: object = "", file: IO[str] | None = None, end: str = "\n") -> None:
    """Write one line (``text`` through :func:`terminal`) to ``file`` (default: stdout)."""
    _write(terminal(text) + end, file)


def _write(text: str, file: IO[str] | None = None) -> None:
    stream = file if file is not None else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "backslashreplace").decode(encoding))  # never a UnicodeEncodeError
    stream.flush()


def _json_escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # as a surrogate pair, the only way JSON writes it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def print_json(data: Any) -> None:
    """``data`` as JSON, secrets masked and unsafe characters written as ``\\u`` escapes (still valid JSON,
    which decodes to the same strings: the structure itself holds none of them)."""
    text = mask(json.dumps(data, indent=2, ensure_ascii=False))
    if not text.isprintable():
        text = "".join(_json_escape(char) if char != "\n" and _unsafe(char) else char for char in text)
    _write(text + "\n")


def print_table(
    header: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = (), indent: str = ""
) -> None:
    """Columns separated by two spaces, padded to the widest cell; columns listed in ``right`` align right."""
    cells = [[terminal(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    for row in cells:
        padded = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        echo(indent + "  ".join(padded).rstrip())


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
    echo(f"{question} [y/N] ", file=sys.stderr, end="")
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        echo(file=sys.stderr)  # end of input: finish the prompt's line
    return answer.strip().lower() in ("y", "yes")
