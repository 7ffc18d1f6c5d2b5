"""The ``jsondir`` metadata repository: every project, task and model as ``<path>/<kind>/<id>.json``."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ebonite_core.errors import MetadataCorruptError, RepositoryError
from ebonite_core.repository.records import Kind, Record, RecordMetadataRepository


class JsonDirMetadataRepository(RecordMetadataRepository):
    """One JSON file per record, changed under the lock file ``<path>/.lock``.

    The base class implements the contract (ids, creation order, names, parents, aliases, tags, copies) on the
    five primitives below; every record is replaced atomically, so a reader sees it whole, old or new.
    """

    type = "jsondir"
    path_options = ("path",)  # relative to a config file's directory

    def __init__(self, path: str | os.PathLike[str] = "jsondir-metadata", lock_timeout: float = 60.0) -> None:
        self.root = Path(path).absolute()
        self.lock_timeout = lock_timeout
        self._lock = FileLock(str(self.root / ".lock"), timeout=lock_timeout)

    def __repr__(self) -> str:
        return f"JsonDirMetadataRepository({str(self.root)!r})"

    def config(self) -> dict[str, Any]:
        options: dict[str, Any] = {"path": str(self.root)}
        if self.lock_timeout != 60.0:
            options["lock_timeout"] = self.lock_timeout
        return options

    # The five primitives
    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()  # every process and thread: names are checked and ids counted under it
        except (OSError, Timeout) as err:
            raise RepositoryError(f"Cannot lock {self.root}: {err}") from err
        try:
            yield
        finally:
            self._lock.release()

    def load(self, kind: Kind, record_id: str) -> Record | None:
        try:
            return self._read(self._path(kind, record_id))
        except FileNotFoundError:
            return None

    def scan(self, kind: Kind) -> list[Record]:
        directory = self.root / kind
        try:
            names = sorted(name for name in os.listdir(directory) if name.endswith(".json"))
        except FileNotFoundError:
            return []
        records = []
        for name in names:
            try:
                records.append(self._read(directory / name))
            except FileNotFoundError:  # deleted since the listing
                continue
        return records

    def put(self, kind: Kind, record: Record) -> None:
        path = self._path(kind, record["id"])
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, path)
        except OSError as err:
            temporary.unlink(missing_ok=True)
            raise RepositoryError(f"Cannot write {path}: {err}") from err

    def delete(self, kind: Kind, record_id: str) -> None:
        self._path(kind, record_id).unlink()

    # Helpers
    def _path(self, kind: Kind, record_id: str) -> Path:
        return self.root / kind / f"{record_id}.json"  # the base passes only ids it made: decimal numbers

    def _read(self, path: Path) -> Record:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise MetadataCorruptError(f"The metadata record {path} is not valid JSON: {err}") from err

    def clean_leftovers(self, older_than: datetime, dry_run: bool = False) -> list[str]:
        """Temporary files of writes that a killed process never renamed into place."""
        removed = []
        for path in sorted(self.root.glob("*/.*.tmp")):
            if datetime.fromtimestamp(path.stat().st_mtime, timezone.utc) < older_than:
                if not dry_run:
                    path.unlink(missing_ok=True)
                removed.append(path.relative_to(self.root).as_posix())
        return removed
