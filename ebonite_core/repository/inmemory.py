"""The ``inmemory`` backends: per-instance state that lives as long as the repository object."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ArtifactNotFoundError, RepositoryError
from ..interfaces import ArtifactRepository
from ..interfaces.artifact import deletable_key
from ..names import check_artifact_key, check_artifact_name
from ..objects import utc_now
from .memory import RecordTables, empty_state


class InMemoryMetadataRepository(RecordTables):
    """Metadata kept in this object only; getters return copies. Thread-safe: one lock around every read and
    every change."""

    type = "inmemory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.use_state(empty_state())

    def transaction(self) -> AbstractContextManager[Any]:
        return self._lock

    def reading(self) -> AbstractContextManager[Any]:
        return self._lock

    def config(self) -> dict[str, Any]:
        return {}  # a new, empty store: the content lives and dies with this object


class InMemoryArtifactRepository(ArtifactRepository):
    """Artifact bytes kept in this object only. Thread-safe; meant for tests and throwaway sessions."""

    type = "inmemory"

    def __init__(self) -> None:
        self._files: dict[str, dict[str, bytes]] = {}
        self._written: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def config(self) -> dict[str, Any]:
        return {}  # a new, empty store: the content lives and dies with this object

    def push(self, key: str, files: Mapping[str, Path]) -> None:
        check_artifact_key(key)
        stored = {}
        for name, path in files.items():
            stored[check_artifact_name(name)] = Path(path).read_bytes()
        with self._lock:
            if key in self._files:
                raise FileExistsError(f"Artifact key {key!r} already exists.")
            self._files[key] = stored
            self._written[key] = utc_now()

    def download(self, key: str, name: str, destination: Path) -> None:
        check_artifact_key(key)
        check_artifact_name(name)
        with self._lock:
            data = self._files.get(key, {}).get(name)
        if data is None:
            raise ArtifactNotFoundError(f"No artifact file {name!r} under key {key!r} in memory.")
        with open(destination, "wb") as target:
            target.write(data)

    def delete(self, key: str) -> None:
        check_artifact_key(key)
        with self._lock:
            if key in self._files and not deletable_key(key, key in self._written):
                raise RepositoryError(f"Artifact key {key!r} was not pushed into this repository: it was left alone.")
            self._files.pop(key, None)
            self._written.pop(key, None)

    def list_files(self, key: str) -> list[str] | None:
        with self._lock:
            return sorted(self._files.get(check_artifact_key(key), {}))

    def keys(self) -> dict[str, datetime]:
        with self._lock:
            return dict(self._written)
