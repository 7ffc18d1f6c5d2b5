"""The built-in backends keep the shipped contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebonite_core import (
    Ebonite,
    InMemoryArtifactRepository,
    InMemoryMetadataRepository,
    LocalArtifactRepository,
    LocalMetadataRepository,
)
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract, MetadataRepositoryContract


class TestInMemoryMetadata(MetadataRepositoryContract):
    @pytest.fixture
    def metadata_repository(self) -> InMemoryMetadataRepository:
        return InMemoryMetadataRepository()


class TestLocalMetadata(MetadataRepositoryContract):
    @pytest.fixture
    def metadata_repository(self, tmp_path: Path) -> LocalMetadataRepository:
        return LocalMetadataRepository(tmp_path / "metadata.json")


class TestInMemoryArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository(self) -> InMemoryArtifactRepository:
        return InMemoryArtifactRepository()


class TestLocalArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository(self, tmp_path: Path) -> LocalArtifactRepository:
        return LocalArtifactRepository(tmp_path / "artifacts")


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
