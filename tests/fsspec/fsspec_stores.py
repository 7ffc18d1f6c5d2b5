"""What the fsspec tests share besides fixtures: a store on one protocol (:class:`Store`) and the contract's
foreign entries (``service_unavailable`` is in ``tests/services.py``). A module of its own, not conftest.py:
every test directory has a conftest module, and which one ``from conftest import ...`` finds depends on what
pytest collected last."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
from ebonite_fsspec.repository import MARKER, FsspecArtifactRepository

AZURE_CONTAINER = "ebonite-tests"
A_WEEK_AGO = time.time() - 7 * 86400  # older than any grace period the tests use


@dataclass
class Store:
    """A fresh place to store artifacts on one protocol."""

    protocol: str
    url: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    directory: Path | None = None  # where the server keeps this store's files, when it serves a local directory

    @property
    def factory(self) -> Callable[[], FsspecArtifactRepository]:
        """A picklable callable opening a new repository object on this store."""
        return functools.partial(FsspecArtifactRepository, self.url, self.storage_options)

    def repository(self) -> FsspecArtifactRepository:
        return self.factory()

    @property
    def artifact_kwargs(self) -> dict[str, Any]:
        return {"url": self.url, "storage_options": self.storage_options} if self.storage_options else {"url": self.url}

    def plant(self, path: str, data: bytes = b"not ebonite's") -> None:
        """Write a file into the store's place as someone else would: without ebonite, dated a week ago."""
        if self.directory is not None:
            target = self.directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            for where in (target, *target.relative_to(self.directory).parents):
                os.utime(self.directory / where, (A_WEEK_AGO, A_WEEK_AGO))
        else:
            self._filesystem().pipe_file(f"{self.url.partition('://')[2]}/{path}", data)

    def planted(self, path: str) -> bool:
        """Whether the file at ``path`` (relative to the store's place) is there."""
        if self.directory is not None:
            return (self.directory / path).is_file()
        return bool(self._filesystem().isfile(f"{self.url.partition('://')[2]}/{path}"))

    def _filesystem(self) -> Any:
        if self.protocol == "memory":
            return fsspec.filesystem("memory")
        from adlfs import AzureBlobFileSystem

        return AzureBlobFileSystem(**self.storage_options, skip_instance_cache=True)


class ForeignEntries:
    """For the contract's ``foreign_entries``: a user's folder where a key would be, holding a file and, one
    level down, another registry's key with its own marker."""

    FILES = ("config.json", f"0123456789abcdef0123456789abcdef/{MARKER}", "0123456789abcdef0123456789abcdef/m.pkl")

    def __init__(self, store: Store) -> None:
        self.store = store

    def plant(self, name: str) -> None:
        for path in self.FILES:
            self.store.plant(f"{name}/{path}")

    def present(self, name: str) -> bool:
        return all(self.store.planted(f"{name}/{path}") for path in self.FILES)
