"""The ``local`` metadata backend: every project, task and model in one human-readable ``metadata.json``.

Several processes can share the file. Every change takes the lock file ``<path>.lock``, makes sure the state
in memory is the file's, applies the change and replaces the file atomically. Whether the state in memory is
the file's is decided from the file's ``generation``, a token every write changes, read from the file itself,
and never from the file's inode, size or modification time alone, which a file system with coarse timestamps
can show unchanged across two writes (``os.replace`` alternates between inode numbers); they only add a
second reason to read again (a hand edit that kept the generation).
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from ..errors import InvalidNameError, MetadataCorruptError, RepositoryError
from ..names import check_artifact_key, check_name
from ..objects import parse_timestamp, record_problem
from .memory import TABLES, RecordTables, State, empty_state
from .records import Kind, Record
from .storefs import StoreDirectory, remove_old

# Version 2 added model tags and task aliases. Older files are read and upgraded in memory; the next write
# saves them at the current version. The generation (added within version 2) is read when present.
SCHEMA_VERSION = 2
# The file starts with its schema version and generation, so that a reader learns whether its state is
# current from the first bytes, without parsing the rest.
_HEADER = re.compile(rb'\A\{\s*"schema_version": *\d+,\s*"generation": *"([0-9a-f]{16})"')
_HEADER_BYTES = 128
_MISSING = "missing"  # the generation of a store whose file does not exist


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _encode_json(value: Any) -> str:
    # Without indent, the json module uses its C encoder: several times faster than the indenting one.
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def check_state(state: State) -> list[str]:
    """Every problem of a state read from a file, in words (an empty list for a sound one).

    Checked: each record is well formed (:func:`ebonite_core.objects.record_problem`), its ``id`` is its key
    and its name is valid and unique in its scope; parents and alias targets exist; every model has an
    artifact key and a manifest; ``next_id`` is above every id in use (a lower one would hand out an id again
    and overwrite a record). It builds no objects, and runs only when the file changed: for 10,000 models
    about 50 ms on a 2-core machine, a third of the time spent parsing the JSON.
    """
    problems: list[str] = []
    largest_id = 0
    names: set[tuple[str, str | None, str]] = set()
    parents: dict[str, State] = {"tasks": state["projects"], "models": state["tasks"]}

    def problem_of(kind: Kind, record_id: str, record: Any) -> str | None:
        nonlocal largest_id
        singular = kind[:-1]
        if not isinstance(record, dict):
            return f"{singular} {record_id!r} is not an object"
        if record.get("id") != record_id:
            return f"{singular} {record_id!r} has the id {record.get('id')!r}, which differs from its key"
        if not record_id.isdecimal() or not record_id.isascii():
            return f"{singular} {record_id!r}: ids are numbers"
        largest_id = max(largest_id, int(record_id))
        try:
            check_name(record.get("name"), singular)
            parse_timestamp(record.get("creation_date"))  # type: ignore[arg-type]
        except InvalidNameError as err:
            return f"{singular} {record_id!r}: {err}"
        except ValueError:
            return f"{singular} {record_id!r} has no valid creation_date ({record.get('creation_date')!r})"
        problem = record_problem(singular, record)
        if problem is not None:
            return problem
        parent_field = {"tasks": "project_id", "models": "task_id"}.get(kind)
        parent = record.get(parent_field) if parent_field else None
        if parent_field and parent not in parents[kind]:
            what = f"{singular} {record_id!r} ({record['name']!r})"
            return f"{what} is in {parent_field.removesuffix('_id')} {parent!r}, which does not exist"
        if (kind, parent, record["name"]) in names:
            return f"two {kind} {'of ' + repr(parent) + ' ' if parent else ''}are called {record['name']!r}"
        names.add((kind, parent, record["name"]))
        if kind == "tasks" and not isinstance(record.get("aliases", {}), dict):
            return f"task {record_id!r} ({record['name']!r}): 'aliases' is not an object"
        if kind == "models":
            try:
                check_artifact_key(record.get("artifact_key"))
            except ValueError as err:
                return f"model {record_id!r} ({record['name']!r}) has an invalid artifact key: {err}"
            if not record.get("artifacts"):
                return f"model {record_id!r} ({record['name']!r}) has no list of artifact files ('artifacts')"
        return None

    for kind in TABLES:
        for record_id, record in state[kind].items():
            problem = problem_of(kind, record_id, record)
            if problem is not None:
                problems.append(problem)
    for task_id, task in state["tasks"].items():
        for alias, target in (task.get("aliases") or {}).items() if isinstance(task, dict) else ():
            model = state["models"].get(target)
            if not isinstance(model, dict) or model.get("task_id") != task_id:
                problems.append(f"alias {alias!r} of task {task_id!r} points at model {target!r}, not one of its own")
    next_id = state["next_id"]
    if isinstance(next_id, bool) or not isinstance(next_id, int) or next_id <= largest_id:
        problems.append(f"next_id is {next_id!r}, but ids up to {largest_id} are in use (it must be larger)")
    return problems


class _EncodedTable:
    """One table of the metadata file as text, kept between writes.

    ``lines`` maps each record id to its line, in the state's insertion order (a new record is appended to
    both, a changed record keeps its place). ``body`` is the lines joined; appending a record extends it in
    place, any other change rebuilds it on the next write.
    """

    def __init__(self, records: dict[str, Record]) -> None:
        self.lines = {record_id: self._line(record_id, record) for record_id, record in records.items()}
        self.body = bytearray(b",\n".join(self.lines.values()))
        self.stale = False

    @staticmethod
    def _line(record_id: str, record: Record) -> bytes:
        return f"    {_encode_json(record_id)}: {_encode_json(record)}".encode()

    def put(self, record_id: str, record: Record) -> None:
        line = self._line(record_id, record)
        if record_id in self.lines:
            self.stale = True
        elif not self.stale:
            self.body += b",\n" + line if self.lines else line
        self.lines[record_id] = line

    def drop(self, record_id: str) -> None:
        if self.lines.pop(record_id, None) is not None:
            self.stale = True

    def chunks(self) -> list[bytes | bytearray]:
        if self.stale:
            self.body = bytearray(b",\n".join(self.lines.values()))
            self.stale = False
        return [b"{\n", self.body, b"\n  }"] if self.lines else [b"{}"]


class LocalMetadataRepository(RecordTables):
    """Metadata in one human-readable JSON file (default ``.ebonite/metadata.json`` under the working
    directory at construction).

    The file carries a ``schema_version`` and a ``generation`` that every write changes. A reader re-reads
    the file when its generation differs from the one in memory; every change takes the lock file
    ``<path>.lock``, does the same check under the lock, applies the change and replaces the file atomically
    (temporary file, fsync, ``os.replace``). A file that cannot be parsed or has an unknown schema raises
    :class:`MetadataCorruptError` and is never overwritten.

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
        self._generation: str | None = None  # None: not known (never read, or a file written without one)
        self._identity: tuple[int, int, int] | None = None  # the file's (inode, size, mtime) when last read
        self._thread_lock = threading.RLock()
        self._file_lock: Any = None
        self._in_transaction = False
        self._changes: list[tuple[Kind, str]] = []
        self._encoded: dict[str, _EncodedTable] | None = None  # None: encode every table on the next write
        self._use_file_state(empty_state(), None)

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
        """Temporary files of metadata writes that a killed process never renamed into place: regular files
        only (a link planted under such a name is left alone, never followed)."""
        try:
            directory = StoreDirectory.open(self.path.parent)
        except (FileNotFoundError, NotADirectoryError):
            return []
        with directory:
            names = [name for name in directory.names() if fnmatch(name, f".{self.path.name}.*.tmp")]
            return remove_old(directory, names, older_than, dry_run, kind=stat.S_IFREG)

    # The base's locking: reads refresh under the thread lock, changes also hold the file lock
    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._thread_lock:
            self._refresh()
            yield

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._thread_lock:
            if self._in_transaction:  # a change inside a change joins it: one write at the outer one's end
                yield
                return
            with self._locked_file():
                self._in_transaction = True
                try:
                    self._refresh()
                    try:
                        yield
                    except BaseException:
                        if self._changes:  # a change that failed half-way: drop it, read the file on next use
                            self._generation = None
                        raise
                    if self._changes:
                        self._write()
                finally:
                    self._in_transaction = False

    @contextmanager
    def _locked_file(self) -> Iterator[None]:
        from filelock import FileLock, Timeout  # costs ~40 ms to import: only when a store is written

        if self._file_lock is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file_lock = FileLock(f"{self.path}.lock", timeout=self.lock_timeout)
        try:
            self._file_lock.acquire()
        except Timeout as err:
            raise RepositoryError(
                f"Timed out after {self.lock_timeout} s waiting for the lock {self.path}.lock held by another process."
            ) from err
        except OSError as err:  # a link planted as the lock (never followed), permissions
            raise RepositoryError(
                f"Cannot take the lock {self.path}.lock: {err.strerror or err}. Nothing was changed; if it is "
                "a symbolic link, remove it."
            ) from err
        try:
            yield
        finally:
            self._file_lock.release()

    # The change log, for writing only the records that changed
    def put(self, kind: Kind, record: Record) -> None:
        super().put(kind, record)
        self._changes.append((kind, record["id"]))

    def delete(self, kind: Kind, record_id: str) -> None:
        super().delete(kind, record_id)
        self._changes.append((kind, record_id))

    # Reading and writing the file
    def _use_file_state(self, state: State, generation: str | None) -> None:
        self.use_state(state)
        self._generation = generation
        self._changes = []
        self._encoded = None

    def _refresh(self) -> None:
        """Read the file again unless the state in memory is the file's: the same generation, and the same
        inode, size and modification time (never these alone)."""
        try:
            file = open(self.path, "rb")
        except FileNotFoundError:
            if self._generation != _MISSING:
                self._use_file_state(empty_state(), _MISSING)
            return
        except OSError as err:
            raise RepositoryError(f"Cannot read the metadata file {self.path}: {err}") from err
        with file:
            # Both must match: the generation catches two writes the file's status cannot tell apart (coarse
            # timestamps, a reused inode), the status an edit by another tool that kept the generation.
            status = os.fstat(file.fileno())
            identity = (status.st_ino, status.st_size, status.st_mtime_ns)
            head = file.read(_HEADER_BYTES)
            match = _HEADER.match(head)
            if match is not None and match.group(1).decode() == self._generation and identity == self._identity:
                return
            state, generation = self._parse(head + file.read())
        self._use_file_state(state, generation)
        self._identity = identity

    def _parse(self, raw: bytes) -> tuple[State, str | None]:
        try:
            document = json.loads(raw)
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
        if not isinstance(state["next_id"], int) or not all(isinstance(state[table], dict) for table in TABLES):
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
        generation = document.get("generation")
        return state, generation if isinstance(generation, str) else None

    def _encode(self, generation: str) -> list[bytes | bytearray]:
        """The whole file as a list of byte strings, one record per line.

        Only the records logged as changed are encoded again, and a new record is appended to the text kept
        from the last write: a push into a store of 10,000 models encodes and copies one record, not the file.
        """
        if self._encoded is None:
            self._encoded = {table: _EncodedTable(self.state[table]) for table in TABLES}
        else:
            for kind, record_id in self._changes:
                record = self.state[kind].get(record_id)
                if record is None:
                    self._encoded[kind].drop(record_id)
                else:
                    self._encoded[kind].put(record_id, record)
        self._changes.clear()
        parts: list[bytes | bytearray] = [
            f'{{\n  "schema_version": {SCHEMA_VERSION},\n  "generation": "{generation}",\n'
            f'  "next_id": {self.state["next_id"]}'.encode()
        ]
        for table in TABLES:
            parts.append(f',\n  "{table}": '.encode())
            parts.extend(self._encoded[table].chunks())
        parts.append(b"\n}\n")
        return parts

    def _write(self) -> None:
        generation = os.urandom(8).hex()  # random: a file deleted and written anew never repeats one
        parts = self._encode(generation)
        temporary = self.path.with_name(f".{self.path.name}.{os.urandom(16).hex()}.tmp")
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
        except BaseException as err:
            temporary.unlink(missing_ok=True)
            self._generation = None  # the state in memory is not the file's: read the file on next use
            if isinstance(err, OSError):
                raise RepositoryError(f"Cannot write the metadata file {self.path}: {err}") from err
            raise
        self._generation = generation
        self._identity = (status.st_ino, status.st_size, status.st_mtime_ns)
