"""Writing a model's files (hashed while written) and reading them back (checked before use)."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import ArtifactIntegrityError, ArtifactNotFoundError, EboniteError, RepositoryError
from ..interfaces import ArtifactRepository, ModelSerializer
from ..names import check_artifact_name
from ..objects import ArtifactFile, Model, is_additional_artifact

_CHUNK = 1024 * 1024
_PARALLEL_HASH_BYTES = 4 * 1024 * 1024
# fdatasync skips the file's timestamps; macOS and Windows have only fsync.
_fdatasync = getattr(os, "fdatasync", os.fsync)


def new_artifact_key() -> str:
    """A fresh random key for one push: never derived from names, never reused.

    32 lowercase hex digits, the format keys always had (they were ``uuid4().hex``: the ``uuid`` module imports
    ``platform`` before Python 3.12, 3 ms of ``import ebonite_core`` for 16 random bytes).
    """
    return os.urandom(16).hex()


class _HashingWriter:
    """A binary file that computes its size and sha256 while it is written; with ``sync``, large writes also
    reach the disk while they are hashed."""

    def __init__(self, path: Path, sync: bool = False) -> None:
        self._file = open(path, "wb")
        self._hash = hashlib.sha256()
        self._sync = sync
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data)
        if view.nbytes >= _PARALLEL_HASH_BYTES:
            # Both hashing and writing release the GIL on large buffers: hash on a second thread while the
            # kernel copies the same bytes, which hides most of sha256's cost behind the write.
            hasher = threading.Thread(target=self._hash.update, args=(view,))
            hasher.start()
            try:
                self._file.write(view)
                if self._sync:
                    # sha256 is slower than the kernel's copy: put these bytes on the disk while the hash
                    # catches up, rather than leave the whole file to the repository's fsync after the last
                    # hash (1 GiB: push 1.0 s -> 0.7 s on this machine, benchmarks/large_artifact.py).
                    self._file.flush()
                    _fdatasync(self._file.fileno())
            finally:
                hasher.join()
        else:
            self._file.write(view)
            self._hash.update(view)
        self.size += view.nbytes
        return view.nbytes

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def __enter__(self) -> _HashingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def private_directory(
    repository: ArtifactRepository | None, purpose: str, model_name: str
) -> tempfile.TemporaryDirectory[str]:
    """A temporary directory for the files of one push, load, copy... (``purpose``) of ``model_name``: in the
    staging directory of the ``repository`` they will be pushed into, or in the system's temporary directory
    (``repository`` ``None``: reading never writes into a store, which may be read-only).

    Named after this process, so that ``ebonite gc`` removes what a killed process left and never a running
    one's (:func:`ebonite_core.maintenance.gc.clean_temporary_files`); a failure to create it (a full disk)
    is a :class:`RepositoryError` naming where.
    """
    where = repository.staging_dir() if repository is not None else None
    try:
        return tempfile.TemporaryDirectory(prefix=f"ebonite-{purpose}-{os.getpid()}-", dir=where)
    except OSError as err:
        raise RepositoryError(
            f"Cannot create a directory for the files of model {model_name!r} ({purpose}) in "
            f"{where or tempfile.gettempdir()}: {err.strerror or err}. Nothing was changed."
        ) from err


def write_files(
    serializer: ModelSerializer, obj: Any, directory: Path, model_name: str = "the model", sync: bool = False
) -> tuple[list[ArtifactFile], dict[str, Any]]:
    """Serialize ``obj`` into ``directory``; return the manifest of the files written and the details the
    serializer returned (JSON data, recorded in the model's ``format``).

    ``sync`` writes large buffers through to the disk as they come (for a repository that fsyncs what it is
    given: see :attr:`ArtifactRepository.sync_staged_files`).

    Whatever the serializer raises (the object refusing to be pickled, a file name it may not use) becomes a
    ``ValueError`` naming the model and the serializer, chained to the original error; a failure to write
    (a full disk) becomes a :class:`RepositoryError` naming the directory.
    """
    writers: dict[str, _HashingWriter] = {}

    def open_file(name: str) -> IO[bytes]:
        if check_artifact_name(name) in writers:
            raise ValueError(f"Serializer {serializer.type!r} opened the artifact file {name!r} twice.")
        writers[name] = _HashingWriter(directory / name, sync)
        return writers[name]  # type: ignore[return-value]

    try:
        try:
            details = serializer.dump(obj, open_file)
            details = _json_details(serializer, details)
        finally:
            _close_all(writers.values())  # closing flushes: a full disk may only show here
    except OSError as err:
        raise RepositoryError(
            f"Cannot write the artifact files of model {model_name!r} into {directory}: {err.strerror or err}. "
            "Nothing was stored: free some space (or fix the permissions) and push again."
        ) from err
    except Exception as err:
        raise ValueError(
            f"Model {model_name!r} could not be serialized with {serializer.type!r}: {type(err).__name__}: {err}"
        ) from err
    if not writers:
        raise ValueError(f"Serializer {serializer.type!r} wrote no file.")
    return [ArtifactFile(name, writer.size, writer.hexdigest()) for name, writer in writers.items()], details


def _json_details(serializer: ModelSerializer, details: Any) -> dict[str, Any]:
    if details is None:
        return {}
    import json

    try:
        return json.loads(json.dumps(dict(details), allow_nan=False, ensure_ascii=False))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Serializer {serializer.type!r}: dump() must return a dict of JSON data or None: {err}"
        ) from err


def _close_all(writers: Iterable[_HashingWriter]) -> None:
    """Close every writer, then raise the first error any of them raised."""
    first: BaseException | None = None
    for writer in writers:
        try:
            writer.close()
        except BaseException as err:
            first = first or err
    if first is not None:
        raise first


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, artifact: ArtifactFile, model_name: str) -> None:
    """Raise :class:`ArtifactIntegrityError` unless ``path`` has the recorded size and sha256."""
    size = path.stat().st_size
    if size != artifact.size:
        raise ArtifactIntegrityError(
            f"Artifact file {artifact.name!r} of model {model_name!r} has {size} bytes, the manifest records "
            f"{artifact.size}: the stored file was changed or damaged. Restore it or push the model again."
        )
    sha256 = sha256_of(path)
    if sha256 != artifact.sha256:
        raise ArtifactIntegrityError(
            f"Artifact file {artifact.name!r} of model {model_name!r} has sha256 {sha256}, the manifest "
            f"records {artifact.sha256}: the stored file was changed or damaged. Restore it or push the "
            "model again."
        )


def read_object(
    serializer: ModelSerializer, repository: ArtifactRepository, model: Model, verify_while_loading: bool = False
) -> Any:
    """Fetch every file of ``model``, check it against the manifest, then deserialize the object.

    With ``verify_while_loading`` (the client passes it only for a safe format whose serializer asks for it,
    see :attr:`ModelSerializer.load_while_verifying`), the sha256 checks run on a second thread while the
    serializer reads, and the object is returned only once every file matched: about the time of one pass
    over the bytes instead of two.
    """
    if model.artifact_key is None or not model.artifacts:
        raise ArtifactNotFoundError(f"Model {model.name!r} has no stored artifacts.")
    with private_directory(None, "load", model.name) as temporary:
        paths: dict[str, Path] = {}
        checks: list[tuple[Path, ArtifactFile]] = []
        for artifact in model.artifacts:
            if is_additional_artifact(artifact.name):
                continue  # fetched for the user by ebonite_core.model.additional, never given to the serializer
            try:
                path = repository.local_path(model.artifact_key, artifact.name)
                if path is None:
                    path = download_file(repository, model, artifact.name, Path(temporary))
                if verify_while_loading:
                    path.stat()  # a missing file is reported now, as without the option
                    checks.append((path, artifact))
                else:
                    verify_file(path, artifact, model.name)
            except (ArtifactNotFoundError, FileNotFoundError) as err:
                # The repository names the file where it looked; say which model lost it. A file read in
                # place can also vanish after the repository found it: the model deleted by another process.
                raise _missing(artifact.name, model.name, err) from err
            paths[artifact.name] = path

        def open_file(name: str) -> IO[bytes]:
            if name not in paths:
                raise ArtifactNotFoundError(f"Model {model.name!r} has no artifact file {name!r}.")
            try:
                return open(paths[name], "rb")
            except FileNotFoundError as err:
                raise _missing(name, model.name, err) from err

        details = model.format.get("details") or {}
        if not checks:
            return serializer.load(open_file, details)
        return _load_while_verifying(lambda: serializer.load(open_file, details), checks, model.name)


def download_file(repository: ArtifactRepository, model: Model, name: str, directory: Path) -> Path:
    """Download one stored file of ``model`` into ``directory`` (unchecked: the caller verifies it)."""
    assert model.artifact_key is not None
    path = directory / check_artifact_name(name)
    try:
        repository.download(model.artifact_key, name, path)
    except OSError as err:
        if isinstance(err, EboniteError):
            raise
        # Writing the local copy failed (a full disk), not the repository.
        raise RepositoryError(
            f"Cannot fetch artifact file {name!r} of model {model.name!r} into {directory}: "
            f"{err.strerror or err}. Free some space there and load again."
        ) from err
    return path


def _load_while_verifying(load: Any, checks: list[tuple[Path, ArtifactFile]], model_name: str) -> Any:
    """``load()`` while a second thread checks every file; the verifier's error wins over the loader's."""
    failures: list[BaseException] = []

    def verify_all() -> None:
        try:
            for path, artifact in checks:
                try:
                    verify_file(path, artifact, model_name)
                except FileNotFoundError as err:
                    raise _missing(artifact.name, model_name, err) from err
        except BaseException as err:  # handed to the loading thread
            failures.append(err)

    verifier = threading.Thread(target=verify_all, name="ebonite-verify", daemon=True)
    verifier.start()
    try:
        obj = load()
    except BaseException as err:
        verifier.join()
        if failures:  # a changed file explains a failed load better than the loader does
            raise failures[0] from err
        raise
    verifier.join()
    if failures:
        raise failures[0]
    return obj


def _missing(name: str, model_name: str, err: Exception) -> ArtifactNotFoundError:
    where = f"{err.filename} is gone" if isinstance(err, FileNotFoundError) else str(err).rstrip(".")
    return ArtifactNotFoundError(
        f"Artifact file {name!r} of model {model_name!r} is missing: {where}. It was deleted from the artifact "
        "repository (by a delete of the model running meanwhile, or by hand): if the model is still listed, "
        "restore the file from a backup, or delete the model and push it again."
    )
