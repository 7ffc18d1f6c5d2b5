"""Client configuration files: reading them, expanding environment variables, writing them without secrets.

A configuration names a metadata and an artifact repository by ``type``, with their constructor options::

    # ebonite.toml
    [metadata]
    type = "sqlalchemy"
    db_uri = "postgresql+psycopg://ml:${EBONITE_DB_PASSWORD}@db.example.com/registry"

    [artifact]
    type = "s3"
    bucket_name = "models"
    endpoint = "${S3_ENDPOINT:-http://127.0.0.1:9000}"

The same document in JSON (``.json``) works too. A top-level ``allow_pickle = false`` (written before the
tables in TOML) makes the client refuse code-running model formats (see :mod:`ebonite_core.model.safety`).
Rules:

- ``${NAME}`` in any string is replaced by the environment variable ``NAME`` (an unset one is an error that
  names it); ``${NAME:-fallback}`` uses ``fallback`` when ``NAME`` is unset or empty; ``$${`` writes a literal
  ``${``.
- Options a repository lists in ``path_options`` (``path`` for the ``local`` types) are local paths: a
  relative one in a file is taken relative to the file's directory, not to the working directory.
- Writing (:func:`save_config`) never puts a secret in clear unless asked: an option whose name says it is
  a secret (``password``, ``secret``, ``token``, ``key``, ... but not ``key_prefix``, ``access_key_id``) and
  the secrets inside a URL (its password, query parameters such as ``password=``), found by the parser of
  the library that reads the URL (the repository class's ``hide_secrets``, see :mod:`ebonite_core.masking`),
  become ``${EBONITE_<KIND>_<OPTION>[_<PART>]}`` references, to be set in the environment of whoever loads
  the file (to the text the URL had there). Options that were read as ``${...}`` references are written
  back as the same references.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import plugins
from .errors import ConfigError
from .interfaces import ArtifactRepository
from .masking import hide_option_secrets, masked_options
from .options import check_options
from .plugins import resolve

KINDS = ("metadata", "artifact")
CLIENT_OPTIONS = ("allow_pickle",)  # top-level keys beside the tables: options of the client itself
CONFIG_VARIABLE = "EBONITE_CONFIG"

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class RepositoryConfig:
    """One repository's part of a configuration: its ``type`` and constructor options."""

    type: str
    options: dict[str, Any] = field(default_factory=dict)
    raw_options: dict[str, Any] = field(default_factory=dict)  # before ${...} expansion, to write back


@dataclass
class ClientConfig:
    metadata: RepositoryConfig
    artifact: RepositoryConfig
    source: str  # where it came from, for error messages
    allow_pickle: bool | None = None  # None: not in the file (the environment or the default decides)


# Reading
def _read_file(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigError(f"Config file {path} must end in .json or .toml, to say how to read it.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"Config file {path} does not exist: check the path (given by --config or {CONFIG_VARIABLE})."
        ) from None
    except OSError as err:
        raise ConfigError(f"Cannot read the config file {path}: {err.strerror or err}.") from err
    try:
        if suffix == ".json":
            document = json.loads(data)
        else:  # tomllib is imported here: most users never write a TOML file (1.5 ms of `import ebonite_core`)
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10 has the tomli backport instead
                import tomli as tomllib
            document = tomllib.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ConfigError(f"Config file {path} is not valid {suffix[1:].upper()}: {err}.") from err
    if not isinstance(document, dict):
        raise ConfigError(f"Config file {path} must hold a table (an object) with 'metadata' and 'artifact'.")
    return document


def expand(value: Any, where: str = "config") -> Any:
    """``value`` with every ``${NAME}`` / ``${NAME:-fallback}`` in its strings replaced from the environment."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, fallback = match.group(1), match.group(2)
            found = os.environ.get(name)
            if found is None or (found == "" and fallback is not None):
                if fallback is not None:
                    return fallback
                raise ConfigError(f"{where} refers to the environment variable {name}, which is not set: set it.")
            return found

        return _REFERENCE.sub(substitute, value)
    if isinstance(value, list):
        return [expand(item, where) for item in value]
    if isinstance(value, dict):
        return {key: expand(item, f"{where}.{key}") for key, item in value.items()}
    return value


def escape(value: Any) -> Any:
    """``value`` with every ``${`` written ``$${``, so that :func:`expand` gives it back unchanged."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, list):
        return [escape(item) for item in value]
    if isinstance(value, dict):
        return {key: escape(item) for key, item in value.items()}
    return value


def parse_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> ClientConfig:
    """Read and check a configuration (a ``.json``/``.toml`` path, or a mapping); expand its references."""
    if isinstance(source, Mapping):
        document, base, label = dict(source), None, "config"
    else:
        path = Path(source)
        document, base, label = _read_file(path), path.absolute().parent, f"config file {path}"
    unknown = sorted(set(document) - set(KINDS) - set(CLIENT_OPTIONS))
    if unknown:
        raise ConfigError(
            f"{label} has unknown sections {unknown}: only 'metadata', 'artifact' and 'allow_pickle' are read."
        )
    parts = {}
    for kind in KINDS:
        section = document.get(kind)
        if not isinstance(section, Mapping) or not isinstance(section.get("type"), str):
            raise ConfigError(
                f'{label} needs a \'{kind}\' table with a \'type\', e.g. {{"{kind}": {{"type": "local"}}}}.'
            )
        raw = {key: value for key, value in section.items() if key != "type"}
        where = f"{label}: {kind}"
        type_name = expand(section["type"], f"{where}.type")
        parts[kind] = RepositoryConfig(type_name, expand(raw, where), raw)
    allow_pickle = None
    if "allow_pickle" in document:
        from .model.safety import parse_flag

        allow_pickle = parse_flag(expand(document["allow_pickle"], f"{label}: allow_pickle"), f"{label}: allow_pickle")
    config = ClientConfig(parts["metadata"], parts["artifact"], label, allow_pickle)
    if base is not None:
        _resolve_paths(config, base)
    return config


def _repository_class(kind: str, type_name: str) -> type[Any]:
    return resolve(kind, type_name)  # type: ignore[arg-type]


def _resolve_paths(config: ClientConfig, base: Path) -> None:
    for kind in KINDS:
        part: RepositoryConfig = getattr(config, kind)
        cls = _repository_class(kind, part.type)
        for option in getattr(cls, "path_options", ()):
            value = part.options.get(option)
            if isinstance(value, str) and not Path(value).expanduser().is_absolute():
                part.options[option] = str(base / value)


def build_repositories(parts: Mapping[str, tuple[str, Mapping[str, Any]]], source: str | None = None) -> dict[str, Any]:
    """Construct repositories given as ``{kind: (type name, options)}``, once every one's options are checked:
    an option a constructor does not take, or a required one left out, is a :class:`ConfigError` naming the
    closest match (see :mod:`ebonite_core.options`), raised before any repository is opened. ``source`` (a
    config file) is named in the message."""
    classes = {}
    for kind, (type_name, options) in parts.items():
        cls = classes[kind] = _repository_class(kind, type_name)
        masked_options(cls, options)  # remembered before a constructor may fail with them in its message
        check_options(f"{plugins.KINDS[kind][1]} type {type_name!r} ({cls.__qualname__})", cls, options, source)
    return {kind: classes[kind](**options) for kind, (_, options) in parts.items()}


# Writing
def _variable_name(*parts: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", "_".join(("EBONITE", *(part for part in parts if part))).upper()).strip("_")


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\$\{[^}]*\}", value) is not None


def mask_secrets(
    options: dict[str, Any], prefix: str, needed: list[str], repository_class: type | None = None
) -> dict[str, Any]:
    """``options`` with secrets replaced by ``${VARIABLE}`` references; the variables are added to ``needed``.

    Secrets are whole options named like one, and what the repository class's ``hide_secrets`` finds inside
    the others (a URL's password, as the URL spells it: set the variable to that text). Values that already
    are a ``${...}`` reference are left as they are.
    """

    def hide(option: str, label: str, secret: str) -> str:
        if _is_reference(secret):
            return secret
        variable = _variable_name(prefix, option, label)
        needed.append(variable)
        return f"${{{variable}}}"

    return hide_option_secrets(repository_class or ArtifactRepository, options, hide)


def _portable_path(value: str, base: Path) -> str:
    """A path inside the config file's directory is written relative to it, so the two can move together."""
    path = Path(value)
    try:
        return path.relative_to(base).as_posix() or "."
    except ValueError:
        return value


def repository_options(repository: Any, kind: str) -> tuple[str, dict[str, Any]]:
    """``(type, options)`` of a repository, from its ``config()`` method."""
    options = repository.config()
    if not isinstance(options, dict):
        raise TypeError(f"{type(repository).__qualname__}.config() must return a dict, not {options!r}.")
    return repository.type, dict(options)


def config_document(
    repositories: Mapping[str, Any],
    path: Path | None,
    *,
    include_secrets: bool = False,
    raw_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The document that rebuilds ``repositories`` (``{"metadata": repo, "artifact": repo}``) when written
    at ``path``, and the environment variables it needs (secrets masked unless ``include_secrets``)."""
    base = path.absolute().parent if path is not None else None
    document: dict[str, Any] = {}
    needed: list[str] = []
    for kind in KINDS:
        repository = repositories[kind]
        type_name, options = repository_options(repository, kind)
        path_options = set(getattr(type(repository), "path_options", ()))
        raw = (raw_options or {}).get(kind, {})
        written: dict[str, Any] = {}
        for name, value in options.items():
            if (
                name in raw
                and _has_reference(raw[name])
                and _reads_back_as(raw[name], name in path_options, base) == value
            ):
                written[name] = raw[name]  # a ${...} reference that still gives this value: keep it
            elif name in path_options and isinstance(value, str) and base is not None:
                written[name] = escape(_portable_path(value, base))
            else:
                written[name] = escape(value)
        if not include_secrets:
            written = mask_secrets(written, kind, needed, type(repository))
        document[kind] = {"type": type_name, **written}
    return document, needed


def _has_reference(value: Any) -> bool:
    if isinstance(value, str):
        return _REFERENCE.search(value) is not None
    if isinstance(value, list):
        return any(_has_reference(item) for item in value)
    if isinstance(value, dict):
        return any(_has_reference(item) for item in value.values())
    return False


def _reads_back_as(raw: Any, is_path: bool, base: Path | None) -> Any:
    try:
        value = expand(raw)
    except ConfigError:
        return object()  # never equal: the variable is gone, write the current value instead
    if is_path and isinstance(value, str) and base is not None and not Path(value).expanduser().is_absolute():
        return str(base / value)
    return value


def save_document(document: dict[str, Any], path: Path) -> None:
    """Write ``document`` as JSON or TOML, chosen by the extension of ``path``."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    elif suffix == ".toml":
        text = toml_dumps(document)
    else:
        raise ConfigError(f"Cannot write {path}: a config file must end in .json or .toml.")
    path.write_text(text, encoding="utf-8")


# TOML writing: the shape is tables of scalars, lists and nested tables, which needs 40 lines rather than a
# dependency. ``None`` has no TOML form: such options are left out (the constructor default applies).
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # 'nan', 'inf' and '1e-05' are TOML too
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value if item is not None) + "]"
    if isinstance(value, dict):
        items = (f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(items) + "}"
    raise ConfigError(f"Cannot write {value!r} ({type(value).__name__}) in a TOML config file.")


def toml_dumps(document: dict[str, Any], _prefix: str = "") -> str:
    """A TOML document for a dict of tables (nested dicts become sub-tables, ``None`` values are left out)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in document.items():
        if isinstance(value, dict):
            tables.append((f"{_prefix}{_toml_key(str(key))}", value))
        elif value is not None:
            lines.append(f"{_toml_key(str(key))} = {_toml_value(value)}")
    chunks = ["\n".join(lines)] if lines else []
    for name, table in tables:
        chunks.append(f"[{name}]\n" + toml_dumps(table, f"{name}.").rstrip("\n"))
    return "\n\n".join(chunk for chunk in chunks if chunk) + "\n"
