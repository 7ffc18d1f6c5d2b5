"""Additional artifacts: extra files stored, checked and given back with a model (Ebonite 0.7's
``create_model(..., additional_artifacts=...)``), such as a vocabulary, a threshold table or a report.

- ``create_model`` takes ``{name: path or bytes}``; a name is a file name of letters, digits, ``_``, ``-`` and
  ``.``. Bytes are written to a private temporary file at once; a path is read at push.
- A push copies each file next to the serializer's files, hashing it as it goes, and records it in the
  manifest as ``additional.<name>`` (size and sha256): ``ebonite verify`` and ``ebonite copy`` treat it like
  every other file of the model.
- ``load()`` fetches them into a private directory, checks each against the manifest before the object is
  deserialized, and ``model.additional_artifacts`` maps each name to its local file. The directory is
  removed when the model object is garbage-collected (or by ``ebonite gc`` after a killed process).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..objects import ADDITIONAL_ARTIFACT_PREFIX, ArtifactFile, Model, is_additional_artifact
from ..repository import ArtifactRepository, check_artifact_name
from .storage import _CHUNK, _HashingWriter, download_file, private_directory, verify_file

AdditionalArtifacts = Mapping[str, "str | os.PathLike[str] | bytes | bytearray | memoryview"]


def collect(artifacts: AdditionalArtifacts | None) -> tuple[dict[str, Path], Any]:
    """Check ``{name: path or bytes}`` and return ``({name: local file}, directory holding the bytes)``.

    ``ValueError`` names the first bad entry: a name that is not a plain file name, a path that is not a
    readable regular file, a value that is neither a path nor bytes.
    """
    if not artifacts:
        return {}, None
    if not isinstance(artifacts, Mapping):
        raise ValueError(
            f"additional_artifacts must be a dict of {{name: path or bytes}}, not {type(artifacts).__name__}."
        )
    files: dict[str, Path] = {}
    directory: tempfile.TemporaryDirectory[str] | None = None
    for name, value in artifacts.items():
        try:
            check_artifact_name(ADDITIONAL_ARTIFACT_PREFIX + name if isinstance(name, str) else name)
        except ValueError as err:
            raise ValueError(f"additional_artifacts: {err}") from None
        if isinstance(value, (bytes, bytearray, memoryview)):
            if directory is None:
                directory = tempfile.TemporaryDirectory(prefix=f"ebonite-push-{os.getpid()}-")
            path = Path(directory.name) / name
            path.write_bytes(value)
            files[name] = path
        elif isinstance(value, (str, os.PathLike)):
            path = Path(value).absolute()
            if not path.is_file():
                raise ValueError(f"additional_artifacts: {name!r} names {path}, which is not an existing file.")
            files[name] = path
        else:
            raise ValueError(
                f"additional_artifacts: {name!r} must be a path (str or Path) or bytes, not {type(value).__name__}."
            )
    return files, directory


def write_files(model: Model, directory: Path, taken: set[str], sync: bool = False) -> list[ArtifactFile]:
    """Copy the model's additional artifacts into ``directory`` (hashing them) and return their manifest.

    ``taken`` are the serializer's file names, which may not use the ``additional.`` prefix.
    """
    clash = sorted(name for name in taken if is_additional_artifact(name))
    if clash:
        raise ValueError(
            f"The serializer {model.serializer!r} wrote {clash[0]!r}: names starting with "
            f"{ADDITIONAL_ARTIFACT_PREFIX!r} are reserved for additional artifacts."
        )
    manifest = []
    for name, source in model._additional.items():
        file_name = ADDITIONAL_ARTIFACT_PREFIX + name
        try:
            with open(source, "rb") as reader, _HashingWriter(directory / file_name, sync) as writer:
                shutil.copyfileobj(reader, writer, _CHUNK)  # type: ignore[misc]
        except FileNotFoundError as err:
            raise ValueError(
                f"Additional artifact {name!r} of model {model.name!r} is gone: {source} does not exist any more."
            ) from err
        manifest.append(ArtifactFile(file_name, writer.size, writer.hexdigest()))
    return manifest


def fetch(repository: ArtifactRepository, model: Model) -> tuple[dict[str, Path], Any]:
    """Download and check every additional artifact of a stored model into a private directory; return
    ``({name: local file}, directory)`` (``({}, None)`` when it has none)."""
    wanted = [artifact for artifact in model.artifacts if is_additional_artifact(artifact.name)]
    if not wanted:
        return {}, None
    directory = private_directory(None, "load", model.name)  # reading never writes into the store
    files: dict[str, Path] = {}
    try:
        for artifact in wanted:
            path, checked = download_file(repository, model, artifact, Path(directory.name))
            if not checked:
                verify_file(path, artifact, model.name)
            files[artifact.name[len(ADDITIONAL_ARTIFACT_PREFIX) :]] = path
    except BaseException:
        directory.cleanup()
        raise
    return files, directory
