"""Project, Task and Model: plain dataclasses, their records (``to_dict``/``from_dict``) and the checks on them.

Objects returned by an :class:`~ebonite_core.Ebonite` client keep a private reference to it (``_client``),
so that ``project.tasks``, ``task.models``, ``task.create_and_push_model(...)`` and ``model.load()`` work.
Objects built by hand are unbound until a client stores them. This module sits below everything that stores
or analyses models: what a bound object needs of its client is the :class:`Client` protocol.
"""

from __future__ import annotations

import copy
import getpass
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from .errors import MetadataCorruptError
from .names import (
    MAX_NAME_LENGTH,
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_alias,
    check_artifact_key,
    check_artifact_name,
    check_name,
    check_tags,
)

# The name checks lived here first: they stay importable from here (plugins do), their home is names.py.
__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_TAG_KEY_LENGTH",
    "MAX_TAG_VALUE_LENGTH",
    "ArtifactFile",
    "Client",
    "Model",
    "Project",
    "Task",
    "check_alias",
    "check_manifest",
    "check_name",
    "check_storable",
    "check_tags",
    "current_user",
    "parse_timestamp",
    "utc_now",
]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def current_user() -> str | None:
    """The login name of the user running this process, recorded as the author of what it creates."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment or the password database (some containers)
        return None


def check_storable(model: Model) -> None:
    """Raise ``ValueError`` unless every backend can store the model's metadata and give it back unchanged:
    JSON data (no sets, bytes or objects), numbers JSON has (no NaN or infinity), and text that UTF-8 can
    encode (no lone surrogate) and PostgreSQL can store (no NUL character). The client checks this before
    uploading anything; a backend that stores JSON may call it again before it writes."""
    for field_name, value in model.to_dict().items():
        try:
            json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except UnicodeEncodeError as err:
            bad = err.object[err.start : err.end]
            raise ValueError(
                f"Model {model.name!r} cannot be stored: its {field_name} holds text that is not valid Unicode "
                f"(the lone surrogate {bad!r}), which no backend can store (metadata is UTF-8)."
            ) from err
        except ValueError as err:
            raise ValueError(
                f"Model {model.name!r} cannot be stored: its {field_name} holds a NaN or an infinity, which JSON "
                "cannot represent."
            ) from err
        except TypeError as err:
            raise ValueError(
                f"Model {model.name!r} cannot be stored: its {field_name} is not JSON data ({err})."
            ) from err
        if _holds_nul(value):
            raise ValueError(
                f"Model {model.name!r} cannot be stored: its {field_name} holds a NUL character ('\\x00'), which "
                "PostgreSQL cannot store in text. Remove it (or replace it) and push again."
            )


def _holds_nul(value: Any) -> bool:
    """Whether a string of ``value`` (JSON data: a string, or a key or item of a dict or list at any depth)
    holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    return False


class _Lookups(Protocol):
    def get_project_by_id(self, project_id: str) -> Project | None: ...
    def get_task_by_id(self, task_id: str) -> Task | None: ...


class Client(Protocol):
    """What objects returned by a client call on it: the part of :class:`~ebonite_core.Ebonite` they use."""

    @property
    def meta_repo(self) -> _Lookups: ...
    def get_tasks(self, project: Project) -> list[Task]: ...
    def get_or_create_task(self, project: Project, task_name: str) -> Task: ...
    def get_models(self, task: Task) -> list[Model]: ...
    def push_model(self, model: Model, task: Task | None = None) -> Model: ...
    def create_model(self, obj: Any, input_data: Any, model_name: str | None = None, **kwargs: Any) -> Model: ...
    def load_object(self, model: Model) -> Any: ...


def _client_of(obj: Project | Task | Model) -> Client:
    if obj._client is None:
        raise ValueError(
            f"{type(obj).__name__} {obj.name!r} is not bound to an Ebonite client: "
            "get it from a client, or push it with one first."
        )
    return obj._client


def _stored_id(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"an id must be a non-empty string, not {value!r}")
    return value


def _timestamp(value: datetime) -> str:
    return value.isoformat()


def parse_timestamp(value: str) -> datetime:
    """A stored ISO timestamp as an aware datetime (UTC when it names no zone); ``ValueError`` otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"creation_date must be an ISO date string, not {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"creation_date {value!r} is not an ISO date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


_RECORD_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


def _problem(err: BaseException) -> str:
    problem = f"{err.args[0]!r} is missing" if isinstance(err, KeyError) and err.args else str(err)
    return problem.rstrip(".")


def _record_name(kind: str, data: object) -> str:
    if isinstance(data, dict):
        return f"{kind} {data.get('name')!r} (id {data.get('id')!r})"
    return f"{kind} entry {data!r:.80}"


def _malformed(kind: str, data: object, err: BaseException) -> MetadataCorruptError:
    """The error for a stored record that cannot be read back: it names the record and what is wrong.

    Backends add where the record is stored (a file, a database); the record itself is never "repaired".
    """
    return MetadataCorruptError(f"The stored {_record_name(kind, data)} is malformed: {_problem(err)}.")


def record_problem(kind: str, data: object) -> str | None:
    """What is wrong with a stored record of ``kind`` (``"project"``, ``"task"`` or ``"model"``), in words that
    name it, or ``None`` for a well-formed one: the checks ``from_dict`` makes, without building an object (a
    store that reads many records at once checks them this way)."""
    try:
        _FIELDS[kind](data)
    except _RECORD_ERRORS as err:
        return f"{_record_name(kind, data)}: {_problem(err)}"
    return None


def _project_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "id": _stored_id(data["id"]),
        "author": data.get("author"),
        "creation_date": parse_timestamp(data["creation_date"]),
    }


def _task_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {**_project_fields(data), "project_id": _stored_id(data["project_id"])}


def _model_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of a model record, checked; nested values are the record's own (not copied)."""
    key = data.get("artifact_key")
    if key is not None:
        check_artifact_key(key)
    nested_fields = ("methods", "requirements", "params", "tags", "format")
    nested = {field_name: data.get(field_name) or {} for field_name in nested_fields}
    for field_name, value in nested.items():
        if not isinstance(value, dict):
            raise TypeError(f"{field_name!r} must be an object, not {data[field_name]!r:.80}")
    if not isinstance(nested["format"].get("details") or {}, dict):
        raise TypeError(f"'format' details must be an object, not {nested['format']['details']!r:.80}")
    if not isinstance(data["serializer"], str):
        raise TypeError(f"'serializer' must be a string, not {data['serializer']!r:.80}")
    return {
        **nested,
        "name": data["name"],
        "serializer": data["serializer"],
        "python_version": data.get("python_version") or "",
        "description": data.get("description"),
        "author": data.get("author"),
        "creation_date": parse_timestamp(data["creation_date"]),
        "id": None if data.get("id") is None else _stored_id(data["id"]),
        "task_id": None if data.get("task_id") is None else _stored_id(data["task_id"]),
        "artifact_key": key,
        "artifacts": check_manifest(data.get("artifacts") or []),
    }


@dataclass
class Project:
    """A container for tasks. Its name is unique in a registry."""

    name: str
    id: str | None = None
    author: str | None = field(default_factory=current_user)
    creation_date: datetime = field(default_factory=utc_now)
    _client: Client | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def tasks(self) -> list[Task]:
        """The tasks of this project, fetched from its client."""
        return _client_of(self).get_tasks(self)

    def get_or_create_task(self, task_name: str) -> Task:
        """Return the task of this project called ``task_name``, creating it if needed."""
        return _client_of(self).get_or_create_task(self, task_name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "author": self.author,
            "creation_date": _timestamp(self.creation_date),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Project:
        """Build a project from :meth:`to_dict`'s output; :class:`MetadataCorruptError` if it is malformed."""
        try:
            return cls(**_project_fields(data))
        except _RECORD_ERRORS as err:
            raise _malformed("project", data, err) from err


@dataclass
class Task:
    """A container for the models trained for one problem (one model per experiment)."""

    name: str
    project_id: str | None = None
    id: str | None = None
    author: str | None = field(default_factory=current_user)
    creation_date: datetime = field(default_factory=utc_now)
    _client: Client | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def project(self) -> Project:
        """The project this task belongs to."""
        project = _client_of(self).meta_repo.get_project_by_id(self.project_id) if self.project_id else None
        if project is None:
            raise ValueError(f"Task {self.name!r} belongs to no stored project.")
        project._client = self._client
        return project

    @property
    def models(self) -> list[Model]:
        """The models of this task, fetched from its client (metadata only)."""
        return _client_of(self).get_models(self)

    def push_model(self, model: Model) -> Model:
        """Store ``model`` in this task."""
        return _client_of(self).push_model(model, self)

    def create_and_push_model(self, obj: Any, input_data: Any, model_name: str | None = None, **kwargs: Any) -> Model:
        """Analyse ``obj`` on ``input_data`` (see :func:`ebonite_core.create_model`) and store it here."""
        return _client_of(self).create_model(obj, input_data, model_name, task=self, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "project_id": self.project_id,
            "author": self.author,
            "creation_date": _timestamp(self.creation_date),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        """Build a task from :meth:`to_dict`'s output; :class:`MetadataCorruptError` if it is malformed."""
        try:
            return cls(**_task_fields(data))
        except _RECORD_ERRORS as err:
            raise _malformed("task", data, err) from err


ADDITIONAL_ARTIFACT_PREFIX = "additional."
"""Manifest entries named ``additional.<name>`` are the model's additional artifacts, not its serializer's."""


def is_additional_artifact(file_name: str) -> bool:
    return file_name.startswith(ADDITIONAL_ARTIFACT_PREFIX)


@dataclass(frozen=True)
class ArtifactFile:
    """One stored file of a model, as recorded in its manifest."""

    name: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactFile:
        """Build a manifest entry; ``ValueError`` (or ``KeyError``, ``TypeError``) if it is malformed."""
        name, size, sha256 = data["name"], data["size"], data["sha256"]
        check_artifact_name(name)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"the size of artifact file {name!r} must be a number of bytes, not {size!r}")
        if not isinstance(sha256, str) or len(sha256) != 64 or not set(sha256) <= set("0123456789abcdef"):
            raise ValueError(f"the sha256 of artifact file {name!r} must be 64 hexadecimal digits, not {sha256!r}")
        return cls(name=name, size=size, sha256=sha256)


def check_manifest(items: object) -> list[ArtifactFile]:
    """The manifest a stored model record lists (``[{"name", "size", "sha256"}, ...]``) as ArtifactFiles;
    ``ValueError`` naming the entry and the problem if any entry is malformed (an unsafe file name, a size that
    is no number of bytes, a sha256 that is not 64 hexadecimal digits). The one check of a manifest read back."""
    if not isinstance(items, list):
        raise TypeError(f"'artifacts' must be a list of files, not {items!r:.80}")
    manifest = []
    for number, item in enumerate(items, 1):
        try:
            manifest.append(ArtifactFile.from_dict(item))
        except _RECORD_ERRORS as err:
            problem = f"{err.args[0]!r} is missing" if isinstance(err, KeyError) and err.args else str(err)
            raise ValueError(f"artifact entry {number}: {problem.rstrip('.')}") from err
    return manifest


@dataclass
class Model:
    """A trained object, what was learnt about it from a data sample, and where its files are stored.

    ``methods`` maps each exposed method (``predict``, ``predict_proba``, ... or ``__call__``) to its input
    and output signature; ``requirements`` maps distribution names to the versions installed when the model
    was created. ``artifact_key`` and ``artifacts`` (the manifest) are set when the model is pushed.
    ``tags`` are short strings to find models by (see :meth:`Ebonite.search_models`).
    ``format`` is recorded at push: ``{"safe": bool, "details": {...}}``, whether the serializer declared
    that loading its files runs no code, and what its ``dump`` returned (see :mod:`ebonite_core.model.safety`).
    Create one with :func:`ebonite_core.create_model`.
    """

    name: str
    serializer: str
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    requirements: dict[str, str] = field(default_factory=dict)
    python_version: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    author: str | None = field(default_factory=current_user)
    creation_date: datetime = field(default_factory=utc_now)
    id: str | None = None
    task_id: str | None = None
    artifact_key: str | None = None
    artifacts: list[ArtifactFile] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    format: dict[str, Any] = field(default_factory=dict)
    _client: Client | None = field(default=None, init=False, repr=False, compare=False)
    _object: Any = field(default=None, init=False, repr=False, compare=False)
    _loaded: bool = field(default=False, init=False, repr=False, compare=False)
    # name -> local file of each additional artifact, and the private directory that holds them (removed when
    # the model object is garbage-collected): see ebonite_core.model.additional.
    _additional: dict[str, Path] = field(default_factory=dict, init=False, repr=False, compare=False)
    _additional_directory: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def task(self) -> Task:
        """The task this model is stored in."""
        task = _client_of(self).meta_repo.get_task_by_id(self.task_id) if self.task_id else None
        if task is None:
            raise ValueError(f"Model {self.name!r} is not stored in any task.")
        task._client = self._client
        return task

    @property
    def object(self) -> Any:
        """The trained Python object, loaded from the artifact repository on first use."""
        if not self._loaded:
            self.load()
        return self._object

    @property
    def additional_artifacts(self) -> dict[str, Path]:
        """The extra files given to ``create_model(additional_artifacts=...)``, by name, as local files.

        For a stored model they are fetched and checked against the manifest by :meth:`load` (called on
        first use), into a private directory that lives as long as this model object: read them, copy them
        elsewhere to keep them. Writing to them changes nothing stored.
        """
        if not self._loaded and any(is_additional_artifact(artifact.name) for artifact in self.artifacts):
            self.load()
        return dict(self._additional)

    def load(self) -> Model:
        """Fetch the artifacts, check them against the manifest and deserialize the object; return self.

        A model stored with a code-running format (pickle) is refused with
        :class:`~ebonite_core.errors.UnsafeModelError` by a client created with ``allow_pickle=False``.
        """
        if not self._loaded:
            self._object = _client_of(self).load_object(self)
            self._loaded = True
        return self

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call one of the recorded ``methods`` on the object, loading it first if needed."""
        if method not in self.methods:
            available = ", ".join(sorted(self.methods)) or "none"
            raise ValueError(f"Model {self.name!r} exposes no method {method!r} (it exposes: {available}).")
        target = self.object
        function = target if method == "__call__" else getattr(target, method)
        return function(*args, **kwargs)

    def predict(self, data: Any) -> Any:
        """Call the object's ``predict`` (or, for a plain callable, the object itself) on ``data``."""
        method = "__call__" if "predict" not in self.methods and "__call__" in self.methods else "predict"
        return self.call(method, data)

    def predict_proba(self, data: Any) -> Any:
        """Call the object's ``predict_proba`` on ``data``."""
        return self.call("predict_proba", data)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the object itself (for a model made from a plain callable), or else its ``predict``."""
        method = "predict" if "__call__" not in self.methods and "predict" in self.methods else "__call__"
        return self.call(method, *args, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The metadata of this model as JSON-ready data (the object itself is not included)."""
        return {
            "id": self.id,
            "name": self.name,
            "task_id": self.task_id,
            "serializer": self.serializer,
            "methods": copy.deepcopy(self.methods),
            "requirements": dict(self.requirements),
            "python_version": self.python_version,
            "params": copy.deepcopy(self.params),
            "description": self.description,
            "author": self.author,
            "creation_date": _timestamp(self.creation_date),
            "artifact_key": self.artifact_key,
            "artifacts": [artifact.to_dict() for artifact in self.artifacts],
            "tags": dict(self.tags),
            "format": copy.deepcopy(self.format),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        """Build a model from :meth:`to_dict`'s output; nested values are copied.

        A malformed record (a field missing or of the wrong type, an artifact key or file name that is not
        a safe path component) raises :class:`MetadataCorruptError` naming the model and the problem.
        """
        try:
            fields = _model_fields(data)
        except _RECORD_ERRORS as err:
            raise _malformed("model", data, err) from err
        return cls(
            **{
                **fields,
                "methods": copy.deepcopy(fields["methods"]),
                "requirements": dict(fields["requirements"]),
                "params": copy.deepcopy(fields["params"]),
                "tags": dict(fields["tags"]),
                "format": copy.deepcopy(fields["format"]),
            }
        )


_FIELDS = {"project": _project_fields, "task": _task_fields, "model": _model_fields}
