"""The shipped contracts hold for S3ArtifactRepository on moto's server and on SeaweedFS."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest
from ebonite_s3.repository import S3ArtifactRepository
from s3_servers import Location, repository_arguments

from ebonite_core import Ebonite, LocalMetadataRepository
from ebonite_core.repository import KEY_MARKER
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract

MiB = 1024 * 1024


class S3ForeignEntries:
    """Objects put into the bucket under the store's prefix by someone else: a user's, or a registry whose prefix
    is inside this one's (``<prefix>/<name>``), with a key and its marker one level down."""

    def __init__(self, repo: S3ArtifactRepository) -> None:
        self.repo = repo
        self.inner = "0" * 32

    def _objects(self, name: str) -> list[str]:
        return [f"{name}/config.json", f"{name}/{self.inner}/{KEY_MARKER}", f"{name}/{self.inner}/model.pkl"]

    def plant(self, name: str) -> None:
        for key in self._objects(name):
            self.repo.client.put_object(Bucket=self.repo.bucket_name, Key=self.repo._root + key, Body=b"theirs")

    def present(self, name: str) -> bool:
        listing = self.repo.client.list_objects_v2(Bucket=self.repo.bucket_name, Prefix=f"{self.repo._root}{name}/")
        found = {item["Key"][len(self.repo._root) :] for item in listing.get("Contents", ())}
        return found == set(self._objects(name))


class TestS3Artifacts(ArtifactRepositoryContract):
    large_file_size = 12 * MiB  # above the 5 MiB multipart threshold of the test repositories: three parts

    @pytest.fixture
    def artifact_repository_factory(self, location: Location) -> Callable[[], S3ArtifactRepository]:
        """Repository objects on one fresh bucket or prefix; picklable, for the multi-process tests."""
        return functools.partial(S3ArtifactRepository, **repository_arguments(location))

    @pytest.fixture
    def artifact_repository(self, artifact_repository_factory: Callable[[], S3ArtifactRepository]):
        repository = artifact_repository_factory()
        assert repository.multipart_threshold < self.large_file_size
        yield repository
        repository.close()

    @pytest.fixture
    def foreign_entries(self, repo: S3ArtifactRepository) -> S3ForeignEntries:
        return S3ForeignEntries(repo)


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
class TestS3Client(ClientContract):
    """Local metadata, S3 artifacts: the whole user workflow, on SeaweedFS, the server that checks signatures and
    checksums (the repository itself keeps the artifact contract on both servers). The 24 MiB model goes through
    multipart transfers both ways; the random sequences, which add nothing S3-specific beyond what the artifact
    contract checks, run smaller than the default."""

    state_machine_examples = 5

    @pytest.fixture
    def ebnt(self, repository: S3ArtifactRepository, tmp_path: Path) -> Ebonite:
        return Ebonite(LocalMetadataRepository(tmp_path / "metadata.json"), repository)
