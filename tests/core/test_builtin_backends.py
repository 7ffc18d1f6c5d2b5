"""The built-in backends keep the shipped contracts: the storage part of the metadata contract here, its tags,
aliases and search parts in test_tags.py, test_aliases.py and test_search.py."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import test_aliases
import test_search
import test_tags
from core_backends import InMemoryMetadata, LocalMetadata

from ebonite_core import ArtifactRepository, Ebonite, InMemoryArtifactRepository, LocalArtifactRepository
from ebonite_core.repository import KEY_MARKER, key_marker
from ebonite_core.testing import (
    ArtifactRepositoryContract,
    ClientContract,
    MetadataRepositoryContract,
    MetadataStorageContract,
)


class TestInMemoryMetadata(InMemoryMetadata, MetadataStorageContract):
    pass


class TestLocalMetadata(LocalMetadata, MetadataStorageContract):
    pass


def test_every_part_of_the_metadata_contract_runs_on_both_builtin_backends() -> None:
    """The metadata contract is split by area between four test modules: none of its parts may be left out."""
    modules = [sys.modules[__name__], test_tags, test_aliases, test_search]
    classes = [value for module in modules for value in vars(module).values() if isinstance(value, type)]
    for part in MetadataRepositoryContract.__bases__:
        for backend in (InMemoryMetadata, LocalMetadata):
            assert any(issubclass(cls, part) and issubclass(cls, backend) for cls in classes), (part, backend)


class InMemoryForeignEntries:
    """Files put into an in-memory repository's dict by someone other than push (it has no nesting)."""

    def __init__(self, repo: InMemoryArtifactRepository) -> None:
        self.repo = repo

    def plant(self, name: str) -> None:
        self.repo._files[name] = {"config.json": b"{}"}

    def present(self, name: str) -> bool:
        return self.repo._files.get(name) == {"config.json": b"{}"}


class TestInMemoryArtifacts(ArtifactRepositoryContract):
    supports_reopen = False
    supports_concurrent_processes = False

    @pytest.fixture
    def artifact_repository(self) -> InMemoryArtifactRepository:
        return InMemoryArtifactRepository()

    @pytest.fixture
    def foreign_entries(self, repo: InMemoryArtifactRepository) -> InMemoryForeignEntries:
        return InMemoryForeignEntries(repo)


class LocalForeignEntries:
    """A user's folder, holding a file and a nested registry's key with its marker, next to the keys."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def plant(self, name: str) -> None:
        inner = self.root / name / ("0" * 32)
        inner.mkdir(parents=True)
        (self.root / name / "config.json").write_text("{}")
        (inner / KEY_MARKER).write_bytes(key_marker("0" * 32))
        (inner / "model.pkl").write_bytes(b"theirs")

    def present(self, name: str) -> bool:
        return (self.root / name / "config.json").is_file() and (self.root / name / ("0" * 32) / "model.pkl").is_file()


class TestLocalArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, tmp_path: Path) -> Callable[[], LocalArtifactRepository]:
        return functools.partial(LocalArtifactRepository, tmp_path / "artifacts")

    @pytest.fixture
    def plant_leftover(self, tmp_path: Path) -> Callable[[ArtifactRepository], str]:
        def plant(repository: ArtifactRepository) -> str:
            unfinished = tmp_path / "artifacts" / ".tmp" / "0123abcd.5678"  # a push killed before its rename
            unfinished.mkdir(parents=True)
            (unfinished / "model.pkl").write_bytes(b"half")
            return ".tmp/0123abcd.5678"

        return plant

    @pytest.fixture
    def foreign_entries(self, repo: LocalArtifactRepository) -> LocalForeignEntries:
        return LocalForeignEntries(repo.root)


class TestInMemoryClient(ClientContract):
    # The random sequences and the 24 MiB model run at full size on the local store (below), where files are
    # staged, linked and fsynced; in memory they only re-check the client's logic.
    state_machine_examples = 5
    large_model_size = 1024 * 1024

    @pytest.fixture
    def ebnt(self) -> Ebonite:
        return Ebonite.inmemory()


class TestLocalClient(ClientContract):
    """The client contract at its full size: random sequences of operations, a 24 MiB model."""

    @pytest.fixture
    def ebnt(self, tmp_path: Path) -> Ebonite:
        return Ebonite.local(tmp_path / "store")
