"""The ``local`` backends: one ``metadata.json`` file, and artifacts as plain files in a directory.

Both are safe with several processes sharing one store: metadata changes happen under a file lock, on
freshly read state, and replace the file atomically; artifacts are written into a private temporary
directory and renamed into place.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ArtifactNotFoundError, MetadataCorruptError, RepositoryError
from ..objects import Model, Project, Task
from .artifact import KEY_MARKER, ArtifactRepository, check_artifact_key, check_artifact_name, deletable_key, key_marker
from .metadata import MetadataRepository
from .storefs import StoreDirectory, private_directory, remove_old
from .tables import State, Tables, check_state, empty_state

if TYPE_CHECKING:
    from ..query import ModelPage, ModelQuery  # imported when a search runs, not with the package

# Version 2 added model tags and task aliases. Older files are read and upgraded in memory; the next write
# saves them at the current version.
SCHEMA_VERSION = 2
TABLES = ("projects", "tasks", "models")
T = TypeVar("T")


@functools.cache
def _json() -> Any:
    # Imported on first use (json, shutil and uuid add milliseconds to `import ebonite_core`).
    import json

    return json


def _encode_json(value: Any) -> str:
    # Without indent, the json module uses its C encoder: several times faster than the indenting one.
    return _json().dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _random_suffix() -> str:
    import uuid

    return uuid.uuid4().hex


def _copy_file(source: Path, destination: Path) -> None:
    import shutil

    shutil.copyfile(source, destination)


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _EncodedTable:
    """One table of the metadata file as text, kept between writes.

    ``lines`` maps each row id to its line, in the state's insertion order (a new row is appended to both, a
    changed row keeps its place). ``body`` is the lines joined; appending a row extends it in place, any
    other change rebuilds it on the next write.
    """

    def __init__(self, rows: dict[str, dict[str, Any]]) -> None:
        self.lines = {row_id: self._line(row_id, row) for row_id, row in rows.items()}
        self.body = bytearray(b",\n".join(self.lines.values()))
        self.stale = False

    @staticmethod
    def _line(row_id: str, row: dict[str, Any]) -> bytes:
        return f"    {_encode_json(row_id)}: {_encode_json(row)}".encode()

    def put(self, row_id: str, row: dict[str, Any]) -> None:
        line = self._line(row_id, row)
        if row_id in self.lines:
            self.stale = True
        elif not self.stale:
            self.body += b",\n" + line if self.lines else line
        self.lines[row_id] = line

    def drop(self, row_id: str) -> None:
        if self.lines.pop(row_id, None) is not None:
            self.stale = True

    def chunks(self) -> list[bytes | bytearray]:
        if self.stale:
            self.body = bytearray(b",\n".join(self.lines.values()))
            self.stale = False
        return [b"{\n", self.body, b"\n  }"] if self.lines else [b"{}"]


class LocalMetadataRepository(MetadataRepository):
    """Metadata in one human-readable JSON file (default ``.ebonite/metadata.json`` under the working
    directory at construction).

    The file carries a ``schema_version``. It is re-read whenever its identity (inode, size, mtime) changed
    since this object last read it; every change takes the lock file ``<path>.lock``, re-reads, applies the
    change and replaces the file atomically (temporary file, fsync, ``os.replace``). A file that cannot be
    parsed or has an unknown schema raises :class:`MetadataCorruptError` and is never overwritten.

    ``durable=False`` skips fsync: a killed process still never leaves a half-visible model (every change is
    an atomic rename), but a power failure or an operating-system crash may lose the latest changes. fsync
    costs milliseconds per call on many disks; turn it off for large sweeps into scratch stores.
    """

    type = "local"
    path_options = ("path",)

    def __init__(
        self,
        path: str | os.PathLike[str] = ".ebonite/metadata.json",
        lock_timeout: float = 60.0,
        durable: bool = True,
    ) -> None:
        self.path = Path(path).absolute()
        self.lock_timeout = lock_timeout
        self.durable = durable
        self._tables = Tables()
        self._identity: tuple[int, int, int] | str | None = None  # None: never read; "missing": no file
        self._thread_lock = threading.RLock()
        self._file_lock: Any = None
        self._encoded: dict[str, _EncodedTable] = {}

    def __repr__(self) -> str:
        return f"LocalMetadataRepository({str(self.path)!r})"

    def config(self) -> dict[str, Any]:
        options: dict[str, Any] = {"path": str(self.path)}
        if self.lock_timeout != 60.0:
            options["lock_timeout"] = self.lock_timeout
        if not self.durable:
            options["durable"] = False
        return options

    def clean_leftovers(self, older_than: datetime, dry_run: bool = False) -> list[str]:
        """Temporary files of metadata writes that a killed process never renamed into place."""
        try:
            directory = StoreDirectory.open(self.path.parent)
        except (FileNotFoundError, NotADirectoryError):
            return []
        with directory:
            names = [name for name in directory.names() if fnmatch(name, f".{self.path.name}.*.tmp")]
            return remove_old(directory, names, older_than, dry_run, kind=stat.S_IFREG)

    # Reading and writing the file
    def _refresh(self) -> None:
        """Re-read the file if another process (or nobody yet) has read it since it last changed."""
        try:
            file = open(self.path, "rb")
        except FileNotFoundError:
            if self._identity != "missing":
                self._tables.replace(empty_state())
                self._identity = "missing"
            return
        except OSError as err:
            raise RepositoryError(f"Cannot read the metadata file {self.path}: {err}") from err
        with file:
            status = os.fstat(file.fileno())
            identity = (status.st_ino, status.st_size, status.st_mtime_ns)
            if identity == self._identity:
                return
            self._tables.replace(self._parse(file.read()))
            self._identity = identity

    def _parse(self, raw: bytes) -> State:
        try:
            document = _json().loads(raw)
        except (UnicodeDecodeError, ValueError) as err:  # JSONDecodeError is a ValueError
            raise MetadataCorruptError(
                f"The metadata file {self.path} is not valid JSON ({err}). It was left untouched: restore it "
                "from a backup, or move it away to start an empty store."
            ) from err
        if not isinstance(document, dict) or "schema_version" not in document:
            raise MetadataCorruptError(
                f"The metadata file {self.path} has no schema_version: it was not "
                "written by ebonite-core. It was left untouched."
            )
        version = document["schema_version"]
        if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
            raise MetadataCorruptError(
                f"The metadata file {self.path} has schema version {version!r}; this ebonite-core reads "
                f"versions 1 to {SCHEMA_VERSION}. Upgrade ebonite-core if the file is newer. It was left untouched."
            )
        state = {key: document.get(key) for key in empty_state()}
        if not isinstance(state["next_id"], int) or not all(
            isinstance(state[table], dict) for table in ("projects", "tasks", "models")
        ):
            raise MetadataCorruptError(
                f"The metadata file {self.path} is malformed: 'next_id' must be a "
                "number and 'projects', 'tasks', 'models' objects. It was left untouched."
            )
        if version < 2:
            for task in state["tasks"].values():
                if isinstance(task, dict):
                    task.setdefault("aliases", {})
            for model in state["models"].values():
                if isinstance(model, dict):
                    model.setdefault("tags", {})
        problems = check_state(state)
        if problems:
            more = (
                f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
                if len(problems) > 1
                else ""
            )
            raise MetadataCorruptError(
                f"The metadata file {self.path} is malformed: {problems[0]}{more}. It was left untouched: fix "
                "the entry by hand or restore the file from a backup; nothing is written until it reads back."
            )
        return state

    def _encode(self) -> list[bytes | bytearray]:
        """The whole file as a list of byte strings, one row per line.

        Only the rows ``Tables`` logged as changed are encoded again, and a new row is appended to the text
        kept from the last write: a push into a store of 10,000 models encodes and copies one row, not the
        file.
        """
        tables = self._tables
        if tables.replaced:
            self._encoded = {table: _EncodedTable(tables.state[table]) for table in TABLES}
            tables.replaced = False
        else:
            for table, row_id in tables.changes:
                row = tables.state[table].get(row_id)
                if row is None:
                    self._encoded[table].drop(row_id)
                else:
                    self._encoded[table].put(row_id, row)
        tables.changes.clear()
        parts: list[bytes | bytearray] = [
            f'{{\n  "schema_version": {SCHEMA_VERSION},\n  "next_id": {tables.state["next_id"]}'.encode()
        ]
        for table in TABLES:
            parts.append(f',\n  "{table}": '.encode())
            parts.extend(self._encoded[table].chunks())
        parts.append(b"\n}\n")
        return parts

    def _write(self) -> None:
        parts = self._encode()
        temporary = self.path.with_name(f".{self.path.name}.{_random_suffix()}.tmp")
        try:
            with open(temporary, "wb") as file:
                file.writelines(parts)
                file.flush()
                if self.durable:
                    os.fsync(file.fileno())
                status = os.fstat(file.fileno())
            os.replace(temporary, self.path)
            if self.durable:
                _fsync_directory(self.path.parent)
        except OSError as err:
            temporary.unlink(missing_ok=True)
            raise RepositoryError(f"Cannot write the metadata file {self.path}: {err}") from err
        self._identity = (status.st_ino, status.st_size, status.st_mtime_ns)

    def _read(self, query: Callable[[], T]) -> T:
        with self._thread_lock:
            self._refresh()
            return query()

    def _change(self, change: Callable[[], T]) -> T:
        from filelock import FileLock, Timeout  # costs ~40 ms to import: only when a store is written

        with self._thread_lock:
            if self._file_lock is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file_lock = FileLock(f"{self.path}.lock", timeout=self.lock_timeout)
            try:
                self._file_lock.acquire()
            except Timeout as err:
                raise RepositoryError(
                    f"Timed out after {self.lock_timeout} s waiting for the lock {self.path}.lock held by "
                    "another process."
                ) from err
            except OSError as err:  # a link planted as the lock (never followed), permissions
                raise RepositoryError(
                    f"Cannot take the lock {self.path}.lock: {err.strerror or err}. Nothing was changed; if it is "
                    "a symbolic link, remove it."
                ) from err
            try:
                self._refresh()
                try:
                    result = change()
                    self._write()
                except BaseException:
                    self._identity = None  # drop what was changed in memory: re-read on next use
                    raise
                return result
            finally:
                self._file_lock.release()

    # The MetadataRepository interface
    def get_projects(self) -> list[Project]:
        return self._read(self._tables.projects)

    def get_project_by_name(self, name: str) -> Project | None:
        return self._read(lambda: self._tables.project_by_name(name))

    def get_project_by_id(self, project_id: str) -> Project | None:
        return self._read(lambda: self._tables.project_by_id(project_id))

    def create_project(self, project: Project) -> Project:
        return self._change(lambda: self._tables.create_project(project))

    def delete_project(self, project: Project) -> None:
        self._change(lambda: self._tables.delete_project(project))

    def get_tasks(self, project: Project) -> list[Task]:
        return self._read(lambda: self._tables.tasks(project))

    def get_task_by_name(self, project: Project, name: str) -> Task | None:
        return self._read(lambda: self._tables.task_by_name(project, name))

    def get_task_by_id(self, task_id: str) -> Task | None:
        return self._read(lambda: self._tables.task_by_id(task_id))

    def create_task(self, task: Task) -> Task:
        return self._change(lambda: self._tables.create_task(task))

    def delete_task(self, task: Task) -> None:
        self._change(lambda: self._tables.delete_task(task))

    def get_models(self, task: Task) -> list[Model]:
        return self._read(lambda: self._tables.models(task))

    def get_model_by_name(self, task: Task, name: str) -> Model | None:
        return self._read(lambda: self._tables.model_by_name(task, name))

    def get_model_by_id(self, model_id: str) -> Model | None:
        return self._read(lambda: self._tables.model_by_id(model_id))

    def create_model(self, model: Model) -> Model:
        return self._change(lambda: self._tables.create_model(model))

    def delete_model(self, model: Model) -> None:
        self._change(lambda: self._tables.delete_model(model))

    def set_model_tags(self, model: Model, tags: dict[str, str]) -> Model:
        return self._change(lambda: self._tables.set_model_tags(model, tags))

    def delete_model_tag(self, model: Model, key: str) -> Model:
        return self._change(lambda: self._tables.delete_model_tag(model, key))

    def set_alias(self, task: Task, alias: str, model: Model) -> None:
        self._change(lambda: self._tables.set_alias(task, alias, model))

    def delete_alias(self, task: Task, alias: str) -> None:
        self._change(lambda: self._tables.delete_alias(task, alias))

    def get_aliases(self, task: Task) -> dict[str, str]:
        return self._read(lambda: self._tables.aliases(task))

    def search_models(self, query: ModelQuery) -> ModelPage:
        return self._read(lambda: self._tables.search_models(query))

    def references_artifact_key(self, key: str) -> bool:
        return self._read(lambda: self._tables.references_artifact_key(key))


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts as plain files, ``<path>/<key>/<file name>`` (default ``.ebonite/artifacts`` under the
    working directory at construction).

    A push links or copies the files into ``<path>/.tmp/<key>.<random>/`` with the key's marker
    (``.ebonite-key``), fsyncs them and renames the directory to ``<path>/<key>``; a delete renames
    ``<path>/<key>`` into ``<path>/.trash/`` before removing it. Either way no other process ever sees half a
    key. ``durable=False`` skips fsync, as for :class:`LocalMetadataRepository`; after a power failure,
    ``load()`` refuses incomplete files by checksum.

    Only directories holding the marker are keys: a user's folder kept next to them is never listed, collected
    or cleared. Nothing here follows a symbolic link below ``path``: a link planted as a key, as a private
    folder (``.tmp``, ``.staging``, ``.trash``) or inside one is left alone (see :mod:`.storefs`).
    """

    type = "local"
    path_options = ("path",)
    PRIVATE_DIRS = (".tmp", ".staging", ".trash")

    def __init__(self, path: str | os.PathLike[str] = ".ebonite/artifacts", durable: bool = True) -> None:
        self.root = Path(path).absolute()
        self.durable = durable

    def __repr__(self) -> str:
        return f"LocalArtifactRepository({str(self.root)!r})"

    @property
    def sync_staged_files(self) -> bool:  # type: ignore[override]
        return self.durable  # push fsyncs exactly when durable

    def config(self) -> dict[str, Any]:
        return {"path": str(self.root)} if self.durable else {"path": str(self.root), "durable": False}

    def _open_root(self, create: bool = False) -> StoreDirectory:
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        return StoreDirectory.open(self.root)  # the root may be a link: where the user keeps the store

    def _not_ours(self, name: str) -> RepositoryError:
        return RepositoryError(
            f"{self.root / name} is not a directory ebonite made (a symbolic link or a file put there): it was "
            "left alone. Remove it by hand if it is not yours."
        )

    def clean_leftovers(self, older_than: datetime, dry_run: bool = False) -> list[str]:
        """What killed processes left in ``.tmp/`` (unfinished pushes), ``.staging/`` (files the client
        staged) and ``.trash/`` (unfinished deletes), judged by the newest write anywhere inside each entry,
        so that an operation still writing is never touched. Only real directories are removed; a link or
        a file under these names was not put there by ebonite and is left alone."""
        try:
            root = self._open_root()
        except (FileNotFoundError, NotADirectoryError):
            return []
        removed: list[str] = []
        with root:
            for purpose in self.PRIVATE_DIRS:
                with private_directory(root, purpose) as directory:
                    if directory is None:
                        if root.lstat(purpose) is not None:
                            _warn(f"{self._not_ours(purpose)}")
                        continue
                    found = remove_old(directory, directory.names(), older_than, dry_run)
                    removed += [f"{purpose}/{name}" for name in found]
        return removed

    def clear(self, referenced: frozenset[str] = frozenset()) -> None:
        """Remove every key this store wrote and what its private folders hold, and nothing else: a folder or
        file of someone else's in the same directory stays (``Ebonite.local(clear=True)``). A key is this
        store's when it has its marker, or when the store's metadata references it (``referenced``: keys
        written before markers existed)."""
        try:
            root = self._open_root()
        except (FileNotFoundError, NotADirectoryError):
            return
        with root:
            for name in root.names():
                if name in self.PRIVATE_DIRS:
                    with private_directory(root, name) as directory:
                        if directory is not None:
                            remove_old(directory, directory.names(), _FAR_FUTURE, dry_run=False)
                    _remove_if_empty(root, name)
                elif self._written(root, name) is not None or (name in referenced and deletable_key(name, False)):
                    self.delete(name)
            _remove_if_empty(root, ".trash")  # made by the deletes above
        with contextlib.suppress(OSError):
            self.root.rmdir()  # only when empty, and never through a link

    def push(self, key: str, files: Mapping[str, Path]) -> None:
        check_artifact_key(key)
        sources = {check_artifact_name(name): Path(source) for name, source in files.items()}
        try:
            root = self._open_root(create=True)
        except OSError as err:
            raise RepositoryError(f"Cannot write artifacts under {self.root}: {err.strerror or err}") from err
        with root, private_directory(root, ".tmp", create=True) as tmp:
            if root.lstat(key) is not None:
                raise FileExistsError(f"Artifact key {key!r} already exists in {self.root}.")
            if tmp is None:
                raise self._not_ours(".tmp")
            staging = f"{key}.{_random_suffix()}"
            try:
                with tmp.make_directory(staging) as directory:
                    with directory.create_file(KEY_MARKER) as marker:
                        marker.write(key_marker(key))
                    for name, source in sources.items():
                        self._link_or_copy(source, directory, name)
                    if self.durable:
                        for name in (KEY_MARKER, *sources):
                            directory.fsync(name)
                        directory.fsync()
                tmp.rename(staging, root, key)
                if self.durable:
                    root.fsync()
            except OSError as err:
                _discard(tmp, staging)
                if root.lstat(key) is not None:  # another push won the rename
                    raise FileExistsError(f"Artifact key {key!r} already exists in {self.root}.") from err
                raise RepositoryError(f"Cannot write artifacts under {self.root}: {err}") from err
            except BaseException:
                _discard(tmp, staging)
                raise

    def _link_or_copy(self, source: Path, directory: StoreDirectory, name: str) -> None:
        # A file the client staged in our staging directory is handed over and never written again, so it
        # can be linked instead of copied. Any other file stays its owner's: copying keeps a later change
        # to it from reaching the store.
        if self.root / ".staging" in source.absolute().parents and stat.S_ISREG(os.lstat(source).st_mode):
            try:
                directory.link(source, name)
                return
            except OSError:
                pass
        with open(source, "rb") as reader, directory.create_file(name) as writer:
            _copy_stream(reader, writer)

    def download(self, key: str, name: str, destination: Path) -> None:
        source = self._stored(key, name)
        try:
            _copy_file(source, destination)
        except OSError as err:
            raise RepositoryError(f"Cannot copy {source} to {destination}: {err}") from err

    def local_path(self, key: str, name: str) -> Path | None:
        return self._stored(key, name)

    def _stored(self, key: str, name: str) -> Path:
        directory = self.root / check_artifact_key(key)
        path = directory / check_artifact_name(name)
        # Read in place, never through a link: a key or a file of a key is never one.
        if not (_has_type(directory, stat.S_IFDIR) and _has_type(path, stat.S_IFREG)):
            raise ArtifactNotFoundError(f"no file {path}.")
        return path

    def delete(self, key: str) -> None:
        check_artifact_key(key)
        try:
            root = self._open_root()
        except FileNotFoundError:
            return
        with root:
            status = root.lstat(key)
            if status is None:
                return
            if not stat.S_ISDIR(status.st_mode) or not deletable_key(key, self._written(root, key) is not None):
                raise self._not_ours(key)
            doomed = f"{key}.{_random_suffix()}"
            try:
                with private_directory(root, ".trash", create=True) as trash:
                    if trash is not None:
                        root.rename(key, trash, doomed)  # readers never see half a key
                        _discard(trash, doomed)
                        return
                # .trash is a link or a file that ebonite did not put there: never through it; in place,
                # the marker last, so that an interrupted delete leaves a key gc can still prove it wrote.
                with root.subdirectory(key) as directory:
                    for name in [*(name for name in directory.names() if name != KEY_MARKER), KEY_MARKER]:
                        directory.remove(name)
                root.remove_empty(key)
            except FileNotFoundError:
                return
            except OSError as err:
                raise RepositoryError(f"Cannot delete artifacts {self.root / key}: {err}") from err

    def list_files(self, key: str) -> list[str] | None:
        path = self.root / check_artifact_key(key)
        try:
            with StoreDirectory.open(path, follow=False) as directory:
                return [name for name in directory.names() if name != KEY_MARKER]
        except FileNotFoundError:
            return []
        except OSError:
            return [key]  # a stray file or link where a key directory should be

    def keys(self) -> dict[str, datetime]:
        try:
            root = self._open_root()
        except (FileNotFoundError, NotADirectoryError):
            return {}
        with root:
            found = {name: self._written(root, name) for name in root.names()}
        return {name: written for name, written in found.items() if written is not None}

    def key_written(self, key: str) -> datetime | None:
        try:
            with self._open_root() as root:
                return self._written(root, check_artifact_key(key))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _written(self, root: StoreDirectory, name: str) -> datetime | None:
        """When the key ``name`` was written, or ``None`` if ``name`` is not a real directory with its marker."""
        status = root.lstat(name)
        if status is None or not stat.S_ISDIR(status.st_mode) or not _is_key(name):
            return None
        try:
            with root.subdirectory(name) as directory:
                if not directory.is_file(KEY_MARKER):
                    return None
        except OSError:  # swapped for a link meanwhile, or unreadable
            return None
        return datetime.fromtimestamp(status.st_mtime, timezone.utc)

    def staging_dir(self) -> Path | None:
        try:
            with self._open_root(create=True) as root, private_directory(root, ".staging", create=True) as staging:
                return staging.path if staging is not None else None
        except OSError:  # a read-only store: the client stages in the system's temporary directory
            return None


def _is_key(name: str) -> bool:
    try:
        check_artifact_key(name)
    except ValueError:
        return False
    return True


def _has_type(path: Path, kind: int) -> bool:
    try:
        return stat.S_IFMT(os.lstat(path).st_mode) == kind
    except OSError:
        return False


def _remove_if_empty(directory: StoreDirectory, name: str) -> None:
    with contextlib.suppress(OSError):
        directory.remove_empty(name)


def _discard(directory: StoreDirectory, name: str) -> None:
    """Remove what this process wrote; what cannot be removed now is left for ``ebonite gc``."""
    try:
        directory.remove(name)
    except (OSError, RecursionError):
        pass


def _copy_stream(reader: Any, writer: Any) -> None:
    """Copy one open file into another: in the kernel where it can (sendfile), else in 1 MiB chunks."""
    import shutil

    try:
        offset, size = 0, os.fstat(reader.fileno()).st_size
        while offset < size:
            sent = os.sendfile(writer.fileno(), reader.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
        if offset >= size:
            return
        reader.seek(offset)
        writer.seek(offset)
    except (AttributeError, OSError):  # no sendfile between these files: copy in Python
        reader.seek(0)
        writer.seek(0)
        writer.truncate()
    shutil.copyfileobj(reader, writer, 1024 * 1024)


def _warn(message: str) -> None:
    import logging

    logging.getLogger(__name__).warning("%s", message)


_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


__all__ = ["LocalArtifactRepository", "LocalMetadataRepository"]
