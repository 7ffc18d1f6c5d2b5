"""The load gate: whether a stored model may be loaded by a client, decided before any file is read.

A push records the model's format in its metadata: ``model.serializer`` (the type) and ``model.format``
(``{"safe": bool, "details": {...}}``, ``safe`` being what the serializer class declared). A client that
does not allow code-running formats (``allow_pickle=False``) loads a model only when **both** hold:

- the metadata records a safe format, so that what the registry wrote down when the files were stored
  decides, not the word of whatever plugin is installed at load time;
- the serializer class that will read the files declares itself safe, so that a metadata entry edited by
  hand to claim ``safe`` over a pickle file is refused (the pickle class declares itself unsafe).

A metadata entry that names a safe serializer over a file of another format reaches that serializer's
``load``, which never falls back to pickle: ``ebonite_core.testing.SerializerContract`` proves that poisoned
files are refused or loaded inert. The check lives here and runs in :meth:`Ebonite.load_object`, before the
files are fetched, so no serializer can skip it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import ConfigError, UnsafeModelError

if TYPE_CHECKING:
    from ..objects import Model
    from .serializer import ModelSerializer

ALLOW_PICKLE_VARIABLE = "EBONITE_ALLOW_PICKLE"
DEFAULT_ALLOW_PICKLE = True
"""Code-running formats load unless refused: the seed's flow (push with the core alone, load in another
process) stores pickle files, and must keep working. The README's "Safe models" section says why."""

SAFE_TEXT = "loads without running code"
UNSAFE_TEXT = "loading runs code from the file"

_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def parse_flag(value: object, where: str) -> bool:
    """A boolean option given as a bool or as text (``1``/``true``/``yes``/``on`` or ``0``/``false``/...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise ConfigError(f"{where} must be true or false (or 1/0, yes/no, on/off), not {value!r}.")


def resolve_allow_pickle(value: bool | None) -> bool:
    """``value`` if given, else ``$EBONITE_ALLOW_PICKLE`` if set, else :data:`DEFAULT_ALLOW_PICKLE`."""
    if value is not None:
        if not isinstance(value, bool):
            raise TypeError(f"allow_pickle must be True, False or None, not {value!r}")
        return value
    text = os.environ.get(ALLOW_PICKLE_VARIABLE)
    if text is None or not text.strip():
        return DEFAULT_ALLOW_PICKLE
    return parse_flag(text, f"The environment variable {ALLOW_PICKLE_VARIABLE}")


def recorded_safe(model: Model) -> bool:
    """Whether the model's metadata records a format that loads without running code."""
    return model.format.get("safe") is True


def loads_without_code(model: Model, serializer_class: type[ModelSerializer]) -> bool:
    """Whether both the metadata and the serializer class say that loading ``model`` runs no code."""
    return recorded_safe(model) and getattr(serializer_class, "safe", False) is True


def describe_format(model: Model) -> str:
    """``"skops: loads without running code"`` or ``"pickle: loading runs code from the file"``."""
    return f"{model.serializer}: {SAFE_TEXT if recorded_safe(model) else UNSAFE_TEXT}"


def check_load_allowed(model: Model, serializer_class: type[ModelSerializer], allow_pickle: bool) -> None:
    """Raise :class:`UnsafeModelError` unless the client may load ``model`` with ``serializer_class``."""
    if allow_pickle:
        return
    if loads_without_code(model, serializer_class):
        return
    declared = getattr(serializer_class, "safe", False) is True
    how = (
        "If you trust whoever wrote this registry, allow code-running formats: Ebonite(..., allow_pickle=True), "
        f"`allow_pickle = true` in the config file, or {ALLOW_PICKLE_VARIABLE}=1."
    )
    if recorded_safe(model):
        why = (
            f"its metadata records the format {model.serializer!r} as safe, but the installed {model.serializer!r} "
            f"serializer ({serializer_class.__module__}.{serializer_class.__qualname__}) declares that loading its "
            "files can run code: the metadata does not match the format"
        )
    elif declared:
        why = (
            f"its metadata does not record {model.serializer!r} as a safe format (it was pushed by a version that "
            "did not record formats, or edited): push it again to record its format"
        )
    else:
        why = f"it is stored as {model.serializer!r} ({UNSAFE_TEXT})"
    raise UnsafeModelError(
        f"Model {model.name!r} was not loaded: {why}, and this client refuses code-running formats "
        f"(allow_pickle=False). {how} Better, push it again with a safe serializer (e.g. pip install "
        "ebonite-skops); `ebonite verify --safe` lists the models that need a code-running format."
    )
