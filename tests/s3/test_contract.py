"""The shipped contracts hold for S3ArtifactRepository on moto's server and on SeaweedFS."""

from __future__ import annotations

from pathlib import Path

import pytest
from ebonite_s3.repository import S3ArtifactRepository

from ebonite_core import Ebonite, LocalMetadataRepository
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract

MiB = 1024 * 1024


class TestS3Artifacts(ArtifactRepositoryContract):
    large_file_size = 12 * MiB  # above the 5 MiB multipart threshold of the test repositories: three parts

    @pytest.fixture
    def artifact_repository(self, repository: S3ArtifactRepository) -> S3ArtifactRepository:
        assert repository.multipart_threshold < self.large_file_size
        return repository


class TestS3Client(ClientContract):
    """Local metadata, S3 artifacts: the whole user workflow."""

    @pytest.fixture
    def ebnt(self, repository: S3ArtifactRepository, tmp_path: Path) -> Ebonite:
        return Ebonite(LocalMetadataRepository(tmp_path / "metadata.json"), repository)
