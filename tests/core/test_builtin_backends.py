"""The built-in backends keep the shipped contracts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from ebonite_core import (
    Ebonite,
    InMemoryArtifactRepository,
    InMemoryMetadataRepository,
    LocalArtifactRepository,
    LocalMetadataRepository,
    MetadataRepository,
)
from ebonite_core.repository.artifact import KEY_MARKER, key_marker
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract, MetadataRepositoryContract


class TestInMemoryMetadata(MetadataRepositoryContract):
    supports_reopen = False  # state lives in one object
    supports_concurrent_processes = False

    @pytest.fixture
    def metadata_repository(self) -> InMemoryMetadataRepository:
        return InMemoryMetadataRepository()


class ScanningMetadataRepository(InMemoryMetadataRepository):
    """Searches with the base class's default, as a third-party backend that does not override it would."""

    search_models = MetadataRepository.search_models


class TestDefaultSearch(MetadataRepositoryContract):
    supports_reopen = False
    supports_concurrent_processes = False

    @pytest.fixture
    def metadata_repository(self) -> MetadataRepository:
        return ScanningMetadataRepository()


class TestLocalMetadata(MetadataRepositoryContract):
    @pytest.fixture
    def metadata_repository_factory(self, tmp_path: Path) -> Callable[[], LocalMetadataRepository]:
        return functools.partial(LocalMetadataRepository, tmp_path / "metadata.json")


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
    def foreign_entries(self, repo: LocalArtifactRepository) -> LocalForeignEntries:
        return LocalForeignEntries(repo.root)


class TestInMemoryClient(ClientContract):
    @pytest.fixture
    def ebnt(self) -> Ebonite:
        return Ebonite.inmemory()


class TestLocalClient(ClientContract):
    @pytest.fixture
    def ebnt(self, tmp_path: Path) -> Ebonite:
        return Ebonite.local(tmp_path / "store")


class TestMixedClient(ClientContract):
    """Local metadata with in-memory artifacts, built by type names through custom_client."""

    @pytest.fixture
    def ebnt(self, tmp_path: Path) -> Ebonite:
        return Ebonite.custom_client("local", "inmemory", meta_kwargs={"path": tmp_path / "metadata.json"})


class TestLocalClientWithoutFsync(ClientContract):
    """durable=False only skips fsync: every guarantee the contract checks still holds."""

    @pytest.fixture
    def ebnt(self, tmp_path: Path) -> Ebonite:
        ebnt = Ebonite.local(tmp_path / "store", durable=False)
        assert not ebnt.meta_repo.durable and not ebnt.artifact_repo.durable
        return ebnt
