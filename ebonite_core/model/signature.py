"""Describe a method's input or output value as JSON-ready data, without importing numpy or pandas.

Arrays record their dtype and shape (the first axis, the batch, as ``None``); data frames their columns
and dtypes; series their name and dtype; lists and tuples the types of their items; dicts each value;
anything else its type.
"""

from __future__ import annotations

from typing import Any

_MAX_DICT_FIELDS = 100
_MAX_DEPTH = 3


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def describe(value: Any, _depth: int = 0) -> dict[str, Any]:
    """A JSON-ready description of ``value``'s type and shape."""
    module = type(value).__module__.split(".")[0]
    if module == "pandas" and hasattr(value, "columns") and hasattr(value, "dtypes"):
        return {
            "type": "pandas.DataFrame",
            "columns": [str(column) for column in value.columns],
            "dtypes": [str(dtype) for dtype in value.dtypes],
        }
    if module == "pandas" and hasattr(value, "dtype") and hasattr(value, "name"):
        return {
            "type": "pandas.Series",
            "name": None if value.name is None else str(value.name),
            "dtype": str(value.dtype),
        }
    if hasattr(value, "dtype") and hasattr(value, "shape") and isinstance(value.shape, tuple):
        shape = list(value.shape)
        return {"type": _type_name(value), "dtype": str(value.dtype), "shape": [None, *shape[1:]] if shape else []}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "item_types": sorted({_type_name(item) for item in value})}
    if isinstance(value, dict) and _depth < _MAX_DEPTH:
        fields = list(value.items())[:_MAX_DICT_FIELDS]
        return {"type": "dict", "fields": {str(key): describe(item, _depth + 1) for key, item in fields}}
    return {"type": _type_name(value)}
