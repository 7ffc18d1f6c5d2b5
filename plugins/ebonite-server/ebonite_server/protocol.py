"""What the client and the server agree on: the API's prefix, roles, tokens' shape, the upload's file list and
how errors cross the wire.

An error travels as ``{"error": {"type": "NonExistingModelError", "message": "..."}}`` with the status code
:func:`status_of` gives; the client raises the class of that name (the nearest class both sides know), so a
``NonExistingModelError`` on the server is a ``NonExistingModelError`` on the client.
"""

from __future__ import annotations

import re

from ebonite_core import errors as core_errors
from ebonite_core.errors import RepositoryError

API_PREFIX = "/api/v1"
TOKEN_PREFIX = "ebt"
MAX_TOKEN_LENGTH = 256
ROLES = ("read", "write", "admin")
"""Each role can do what the ones before it can."""
ALL_PROJECTS = "*"
"""The project of a grant that covers every project of the registry."""


class AccessDeniedError(RepositoryError, PermissionError):
    """The server refused: the token's role is too weak for the operation on a project it can see (403)."""


class UnauthenticatedError(AccessDeniedError):
    """The server refused: no token where anonymous access is off, or an unknown, revoked or malformed token
    (401)."""


def role_rank(role: str) -> int:
    """0 for read, 1 for write, 2 for admin; ``ValueError`` for anything else."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise ValueError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.") from None


# Errors
def _wire_classes() -> dict[str, type[BaseException]]:
    classes: dict[str, type[BaseException]] = {
        name: value
        for name, value in vars(core_errors).items()
        if isinstance(value, type) and issubclass(value, core_errors.EboniteError)
    }
    for ours in (AccessDeniedError, UnauthenticatedError):
        classes[ours.__name__] = ours
    for builtin in (ValueError, LookupError, FileExistsError, TypeError):
        classes[builtin.__name__] = builtin
    return classes


WIRE_CLASSES = _wire_classes()
"""The error classes that cross the wire by name: the core's, ours, and a few builtins."""

_STATUS = (
    (UnauthenticatedError, 401),
    (AccessDeniedError, 403),
    (core_errors.NonExistingError, 404),
    (core_errors.ArtifactNotFoundError, 404),
    (core_errors.ExistingError, 409),
    (FileExistsError, 409),
    (core_errors.ProjectWithTasksError, 409),
    (core_errors.TaskWithModelsError, 409),
    (core_errors.ArtifactIntegrityError, 422),
    (core_errors.RepositoryError, 503),
    (core_errors.MetadataCorruptError, 500),
    (ValueError, 400),
    (TypeError, 400),
    (LookupError, 404),
)


def wire_name(error: BaseException) -> str:
    """The name of the nearest class of ``error`` that the client knows."""
    for cls in type(error).__mro__:
        if WIRE_CLASSES.get(cls.__name__) is cls:
            return cls.__name__
    return "EboniteError"


def status_of(error: BaseException) -> int:
    """The HTTP status an error is answered with (500 for anything unexpected)."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_from_wire(status: int, body: object) -> BaseException:
    """The exception a client raises for an error answer of the server."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return RepositoryError(f"The ebonite server answered {status} without an error description.")
    cls = WIRE_CLASSES.get(str(error.get("type")), RepositoryError)
    if status == 401:
        cls = UnauthenticatedError
    return cls(error["message"])


# Uploads: PUT /artifacts/{key}?files=name:size,name:size with the files' bytes one after the other as body.
_FILE_ENTRY = re.compile(r"([^:,]+):(\d{1,20})")


def encode_files(sizes: dict[str, int]) -> str:
    """The ``files`` query parameter of an upload: ``name:size`` pairs in body order."""
    return ",".join(f"{name}:{size}" for name, size in sizes.items())


def decode_files(text: str) -> dict[str, int]:
    """Parse the ``files`` parameter; ``ValueError`` if it is malformed or names a file twice."""
    from ebonite_core.repository import check_artifact_name

    sizes: dict[str, int] = {}
    for entry in text.split(",") if text else ():
        match = _FILE_ENTRY.fullmatch(entry)
        if match is None:
            raise ValueError(f"Malformed files entry {entry[:80]!r}: expected name:size.")
        name = check_artifact_name(match.group(1))
        if name in sizes:
            raise ValueError(f"The upload names the file {name!r} twice.")
        sizes[name] = int(match.group(2))
    if not sizes:
        raise ValueError("An upload needs at least one file: files=name:size,...")
    return sizes
