"""Every check on a name or key before it is stored or reaches a store: the one home of these rules.

Names (projects, tasks, models, tags, aliases) are what users type and read back; artifact keys and file names
become path components and object keys in artifact stores. Backends call :func:`check_artifact_key` and
:func:`check_artifact_name` before building a path, because metadata can be edited by hand.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidNameError

MAX_NAME_LENGTH = 255
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 500


def check_name(name: object, kind: str = "name") -> str:
    """Return ``name`` if it may name a project, task or model; raise :class:`InvalidNameError` otherwise.

    A name is 1 to 255 characters of text, with no ``/``, ``\\``, NUL or other control character and no
    lone surrogate (which UTF-8, and so no backend, can store), is not ``.`` or ``..``, and has no leading or
    trailing whitespace. Names never become file paths or object keys, but these rules keep them printable
    and portable between backends.
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"A {kind} name must be a string, not {type(name).__name__}: {name!r}")
    problem = None
    if not name:
        problem = "it is empty"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"it is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
    elif name in (".", ".."):
        problem = "'.' and '..' are reserved"
    elif "/" in name or "\\" in name:
        problem = "it contains '/' or '\\'"
    elif _has_control_character(name):
        problem = "it contains a control character"
    elif has_lone_surrogate(name):
        problem = "it contains a lone surrogate (text that is not valid Unicode)"
    elif name != name.strip():
        problem = "it has leading or trailing whitespace"
    if problem:
        raise InvalidNameError(f"Invalid {kind} name {name!r}: {problem}.")
    return name


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate: what decoding invalid bytes with "surrogateescape" produces
    (file names, environment variables), and what UTF-8 cannot encode."""
    return not text.isascii() and any("\ud800" <= char <= "\udfff" for char in text)


def _has_control_character(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in text)


def check_tags(tags: object) -> dict[str, str]:
    """Return ``tags`` as a dict if every key is a valid name of at most 128 characters and every value a
    string of at most 500 characters without control characters or lone surrogates; raise
    :class:`InvalidNameError` otherwise."""
    if not isinstance(tags, dict):
        raise InvalidNameError(f"Tags must be a dict of strings, not {type(tags).__name__}.")
    for key, value in tags.items():
        check_name(key, "tag")
        if len(key) > MAX_TAG_KEY_LENGTH:
            raise InvalidNameError(f"Invalid tag name {key!r}: it is longer than {MAX_TAG_KEY_LENGTH} characters.")
        if not isinstance(value, str):
            raise InvalidNameError(f"Tag {key!r}: the value must be a string, not {type(value).__name__}.")
        if len(value) > MAX_TAG_VALUE_LENGTH or _has_control_character(value) or has_lone_surrogate(value):
            raise InvalidNameError(
                f"Tag {key!r}: the value must be at most {MAX_TAG_VALUE_LENGTH} characters, without control characters "
                "or lone surrogates."
            )
    return dict(tags)


def check_alias(alias: object) -> str:
    """Return ``alias`` if it may name an alias: a valid name without ``@`` (which separates it in paths)."""
    check_name(alias, "alias")
    if "@" in alias:  # type: ignore[operator]
        raise InvalidNameError(f"Invalid alias {alias!r}: it contains '@'.")
    return alias  # type: ignore[return-value]


# Keys are made by the client (a random hex string); file names by serializers. Both are checked again
# before they touch a store, so that a hand-edited metadata entry cannot reach outside it.
_LOCATION_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,254}")


def _check_location_part(label: str, part: object) -> str:
    if not isinstance(part, str) or not _LOCATION_PART.fullmatch(part) or ".." in part:
        raise ValueError(
            f"Invalid {label} {part!r}: use 1 to 255 letters, digits, '_', '-' or '.', "
            "not starting with '.' or '-' and without '..'."
        )
    return part


def check_artifact_key(key: object) -> str:
    """Return ``key`` if it is a safe single path component, else raise ``ValueError``.

    Allowed: 1 to 255 ASCII letters, digits, ``_``, ``-`` and ``.``, not starting with ``.`` or ``-``,
    never ``..``. Backends call this (and :func:`check_artifact_name`) before building a path or object key.
    """
    return _check_location_part("artifact key", key)


def is_artifact_key(name: object) -> bool:
    """Whether ``name`` passes :func:`check_artifact_key`: for listings, which skip what cannot be a key."""
    try:
        check_artifact_key(name)
    except ValueError:
        return False
    return True


def check_artifact_name(name: object) -> str:
    """Return ``name`` if it is a safe artifact file name (same rules as :func:`check_artifact_key`)."""
    return _check_location_part("artifact file name", name)
