"""Writing a model's files (hashed while written) and reading them back (checked before use)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import queue
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
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
    reach the disk while they are hashed.

    Small writes (a download's chunks as they arrive) are gathered into blocks of ``_PARALLEL_HASH_BYTES``,
    which two threads of their own write and hash while the caller goes on: receiving, writing and hashing
    overlap, each on large buffers (a thread per tiny chunk would spend its time taking turns at the GIL).
    A large write is hashed on the hashing thread while the caller's thread has the kernel copy the same bytes.
    At most a few blocks wait in memory; a small file is written and hashed when it is closed, with no thread.
    An error of the writing thread (a full disk) is raised by the next ``write``, ``flush`` or ``close``.
    """

    def __init__(self, path: Path, sync: bool = False) -> None:
        self._file = open(path, "wb")
        self._hash = hashlib.sha256()
        self._sync = sync
        self.size = 0
        self._batch: list[bytes] = []
        self._batched = 0
        self._writes: queue.Queue[_Block | None] = queue.Queue(2)  # the threads wait here, the caller when
        self._hashes: queue.Queue[_Block | None] = queue.Queue(2)  # they fall behind: bounded memory
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None

    def write(self, data: Any) -> int:
        self._raise_error()
        view = memoryview(data)
        if view.nbytes < _PARALLEL_HASH_BYTES:
            # Keep bytes as they are (immutable); copy a buffer the caller may change after write returns.
            self._batch.append(data if type(data) is bytes else view.tobytes())
            self._batched += view.nbytes
            if self._batched >= _PARALLEL_HASH_BYTES:
                self._submit()
        elif type(data) is bytes and not self._sync:
            # Immutable: both threads take it as it is, and the caller goes on (a download's next block).
            self._submit()  # the blocks go in order
            self._put(self._writes, _Block(data))
            self._put(self._hashes, _Block(data))
        else:
            self._drain()  # every earlier byte is in the file before these
            # Both hashing and writing release the GIL on large buffers: hash on the second thread while the
            # kernel copies the same bytes, which hides most of sha256's cost behind the write.
            hashed = self._put(self._hashes, _Block(view))
            try:
                self._file.write(view)
                if self._sync:
                    # sha256 is slower than the kernel's copy: put these bytes on the disk while the hash
                    # catches up, rather than leave the whole file to the repository's fsync after the last
                    # hash (1 GiB: push 1.0 s -> 0.7 s on this machine, benchmarks/large_artifact.py).
                    self._file.flush()
                    _fdatasync(self._file.fileno())
            finally:
                hashed.wait()  # the caller may reuse its buffer once write returns
        self.size += view.nbytes
        return view.nbytes

    def _submit(self) -> None:
        """Hand the batch, as one immutable block, to both threads."""
        if self._batch:
            block = _Block(self._batch[0] if len(self._batch) == 1 else b"".join(self._batch))
            self._batch, self._batched = [], 0
            self._put(self._writes, block)
            self._put(self._hashes, block)

    def _put(self, target: queue.Queue[_Block | None], block: _Block) -> threading.Event:
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._run, args=(self._writes, self._file.write), name="ebonite-write"),
                threading.Thread(target=self._run, args=(self._hashes, self._hash.update), name="ebonite-hash"),
            ]
            for thread in self._threads:
                thread.daemon = True
                thread.start()
        target.put(block)  # waits while that thread is behind
        return block.done

    def _run(self, blocks: queue.Queue[_Block | None], consume: Any) -> None:
        while (block := blocks.get()) is not None:
            try:
                if self._error is None:
                    consume(block.data)
            except BaseException as err:  # raised again on the caller's thread
                self._error = self._error or err
            finally:
                block.done.set()

    def _drain(self) -> None:
        """Write everything written so far into the file before returning (hashing keeps its order)."""
        if self._threads:
            self._submit()
            self._put(self._writes, _Block(b"")).wait()
        else:  # a small file so far: no threads
            for chunk in self._batch:
                self._file.write(chunk)
                self._hash.update(chunk)
            self._batch, self._batched = [], 0
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def flush(self) -> None:
        self._drain()
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._drain()
        finally:
            for target in (self._writes, self._hashes) if self._threads else ():
                target.put(None)
            for thread in self._threads:
                thread.join()
            self._threads = []
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def __enter__(self) -> _HashingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def hexdigest(self) -> str:
        """The sha256 of every byte written (the file must be closed)."""
        assert self._file.closed and self._error is None
        return self._hash.hexdigest()


@dataclasses.dataclass
class _Block:
    data: Any  # bytes, or a view of the caller's buffer that it keeps until ``done``
    done: threading.Event = dataclasses.field(default_factory=threading.Event)


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
    _check_measured(artifact, model_name, size)  # before reading it: a file of another size is not hashed
    _check_measured(artifact, model_name, size, sha256_of(path))


def _check_measured(artifact: ArtifactFile, model_name: str, size: int, sha256: str | None = None) -> None:
    """Raise :class:`ArtifactIntegrityError` unless ``size`` (and ``sha256``, when given) are the recorded ones."""
    if size != artifact.size:
        raise ArtifactIntegrityError(
            f"Artifact file {artifact.name!r} of model {model_name!r} has {size} bytes, the manifest records "
            f"{artifact.size}: the stored file was changed or damaged. Restore it or push the model again."
        )
    if sha256 is not None and sha256 != artifact.sha256:
        raise ArtifactIntegrityError(
            f"Artifact file {artifact.name!r} of model {model_name!r} has sha256 {sha256}, the manifest "
            f"records {artifact.sha256}: the stored file was changed or damaged. Restore it or push the "
            "model again."
        )


class _VerifyingReader(io.RawIOBase):
    """A stored file opened for a serializer's ``load`` that hashes every byte it hands out, in order: when
    ``load`` reads the file from its start to its end, the bytes checked against the manifest are the very
    bytes loaded, in one pass over them (see :func:`read_object`).

    A large ``readinto`` (a tensor read into its own memory) hashes each chunk on a second thread while the
    next chunk is read, and returns once all of its bytes are hashed (the caller may reuse the buffer). A
    ``seek`` elsewhere than the next byte to hash, or a call of ``fileno``, stops the hashing: the file is then
    checked on its own after ``load``.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)
        self._hash = hashlib.sha256()
        self._hasher: ThreadPoolExecutor | None = None
        self.hashed = 0
        self.in_order = True
        self.at_end = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if view.nbytes < _PARALLEL_HASH_BYTES:
            count = self._file.readinto(view) or 0
            self._update(view[:count])
            return count
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ebonite-verify")
        done, hashing = 0, []
        try:
            while done < view.nbytes:
                count = self._file.readinto(view[done : done + _PARALLEL_HASH_BYTES]) or 0
                if count == 0:
                    break
                hashing.append(self._hasher.submit(self._update, view[done : done + count]))
                done += count
        finally:
            for future in hashing:
                future.result()
        if done == 0:
            self._update(view[:0])
        return done

    def readall(self) -> bytes:
        data = self._file.readall()
        self._update(data)
        self._update(b"")  # readall stops at the end of the file
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._file.seek(offset, whence)
        if position != self.hashed:
            self.in_order = False
        return position

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        self.in_order = False  # whatever is read through the descriptor is not hashed here
        return self._file.fileno()

    def close(self) -> None:
        try:
            if self._hasher is not None:
                self._hasher.shutdown()
            self._file.close()
        finally:
            super().close()

    def _update(self, data: Any) -> None:
        if not self.in_order:
            return
        if not len(data):
            self.at_end = True
        self._hash.update(data)
        self.hashed += len(data)

    def check(self, artifact: ArtifactFile, model_name: str) -> bool:
        """Whether the file was read in order to its end (else it must be checked on its own); raise
        :class:`ArtifactIntegrityError` if it was and the bytes read differ from the manifest."""
        if not (self.in_order and self.at_end):
            return False
        _check_measured(artifact, model_name, self.hashed, self._hash.hexdigest())
        return True


def read_object(
    serializer: ModelSerializer, repository: ArtifactRepository, model: Model, verify_while_loading: bool = False
) -> Any:
    """Fetch every file of ``model``, check it against the manifest, then deserialize the object.

    With ``verify_while_loading`` (the client passes it only for a safe format whose serializer asks for it,
    see :attr:`ModelSerializer.load_while_verifying`), each file is hashed as the serializer reads it (the
    bytes checked are the bytes loaded, in one pass over them), a file it did not read in order to its end is
    checked after ``load``, and the object is returned only once every file matched.
    """
    if model.artifact_key is None or not model.artifacts:
        raise ArtifactNotFoundError(f"Model {model.name!r} has no stored artifacts.")
    with private_directory(None, "load", model.name) as temporary:
        paths: dict[str, Path] = {}
        checks: dict[str, ArtifactFile] = {}
        for artifact in model.artifacts:
            if is_additional_artifact(artifact.name):
                continue  # fetched for the user by ebonite_core.model.additional, never given to the serializer
            try:
                path = repository.local_path(model.artifact_key, artifact.name)
                checked = False
                if path is None:
                    path, checked = download_file(repository, model, artifact, Path(temporary))
                if checked:
                    pass  # hashed while it was written
                elif verify_while_loading:
                    path.stat()  # a missing file is reported now, as without the option
                    checks[artifact.name] = artifact
                else:
                    verify_file(path, artifact, model.name)
            except (ArtifactNotFoundError, FileNotFoundError) as err:
                # The repository names the file where it looked; say which model lost it. A file read in
                # place can also vanish after the repository found it: the model deleted by another process.
                raise _missing(artifact.name, model.name, err) from err
            paths[artifact.name] = path
        readers: dict[str, list[_VerifyingReader]] = {name: [] for name in checks}

        def open_file(name: str) -> IO[bytes]:
            if name not in paths:
                raise ArtifactNotFoundError(f"Model {model.name!r} has no artifact file {name!r}.")
            try:
                if name in checks:
                    readers[name].append(_VerifyingReader(paths[name]))
                    return io.BufferedReader(readers[name][-1], _CHUNK)
                return open(paths[name], "rb")
            except FileNotFoundError as err:
                raise _missing(name, model.name, err) from err

        details = model.format.get("details") or {}
        if not checks:
            return serializer.load(open_file, details)
        try:
            obj = serializer.load(open_file, details)
        except Exception:
            _check_loaded(paths, checks, {}, model.name)  # a changed file explains a failed load better
            raise
        _check_loaded(paths, checks, readers, model.name)
        return obj


def _check_loaded(
    paths: dict[str, Path],
    checks: dict[str, ArtifactFile],
    readers: dict[str, list[_VerifyingReader]],
    model_name: str,
) -> None:
    """Check each file of ``checks`` by what each of its readers hashed; a file that one of them did not read in
    order to its end, or that was never opened, is checked on its own."""
    for name, artifact in checks.items():
        try:
            opened = readers.get(name, [])
            read_whole = [reader.check(artifact, model_name) for reader in opened]  # raises on a mismatch
            if not opened or not all(read_whole):
                verify_file(paths[name], artifact, model_name)
        except FileNotFoundError as err:
            raise _missing(name, model_name, err) from err


def download_file(
    repository: ArtifactRepository, model: Model, artifact: ArtifactFile, directory: Path
) -> tuple[Path, bool]:
    """Download one stored file of ``model`` into ``directory``: ``(its path, whether it was checked)``.

    A repository that streams into a file (:meth:`ArtifactRepository.download_into`) writes into one that
    hashes what it receives, and the file is checked against the manifest here, from the bytes written: no
    second pass. Otherwise it is downloaded unchecked (``False``), for the caller to verify.
    """
    assert model.artifact_key is not None
    path = directory / check_artifact_name(artifact.name)
    try:
        with _HashingWriter(path) as writer:
            streamed = repository.download_into(model.artifact_key, artifact.name, writer)  # type: ignore[arg-type]
        if not streamed:
            path.unlink()  # the repository writes the file as it would anywhere
            repository.download(model.artifact_key, artifact.name, path)
    except OSError as err:
        if isinstance(err, EboniteError):
            raise
        # Writing the local copy failed (a full disk), not the repository.
        raise RepositoryError(
            f"Cannot fetch artifact file {artifact.name!r} of model {model.name!r} into {directory}: "
            f"{err.strerror or err}. Free some space there and load again."
        ) from err
    if streamed:
        _check_measured(artifact, model.name, writer.size, writer.hexdigest())
    return path, streamed


def _missing(name: str, model_name: str, err: Exception) -> ArtifactNotFoundError:
    where = f"{err.filename} is gone" if isinstance(err, FileNotFoundError) else str(err).rstrip(".")
    return ArtifactNotFoundError(
        f"Artifact file {name!r} of model {model_name!r} is missing: {where}. It was deleted from the artifact "
        "repository (by a delete of the model running meanwhile, or by hand): if the model is still listed, "
        "restore the file from a backup, or delete the model and push it again."
    )
