"""The shipped contracts hold for FsspecArtifactRepository on every protocol, against real servers.

The artifact contract runs on all six protocols. The client contract (the whole user workflow and its
stateful test) runs on the two ways a push is made invisible until done: SFTP (a private directory renamed
into place, as FTP, WebDAV and file:// do) and Azure Blob (conditional writes under a fresh key, as GCS and
memory:// do). Running it on all six would double the plugin's test time for paths the artifact contract
already covers. Its random sequences run smaller than the default, as on S3 (``tests/s3/test_contract.py``):
they add nothing protocol-specific beyond what the artifact contract checks.
"""

from __future__ import annotations

import pytest
from fsspec_stores import ForeignEntries, Store

from ebonite_core import Ebonite, LocalMetadataRepository
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract


class TestFileArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, file_store: Store):
        return file_store.factory

    @pytest.fixture
    def foreign_entries(self, file_store: Store) -> ForeignEntries:
        return ForeignEntries(file_store)


class TestMemoryArtifacts(ArtifactRepositoryContract):
    supports_concurrent_processes = False  # memory:// lives in one process

    @pytest.fixture
    def artifact_repository_factory(self, memory_store: Store):
        return memory_store.factory

    @pytest.fixture
    def foreign_entries(self, memory_store: Store) -> ForeignEntries:
        return ForeignEntries(memory_store)


class TestFTPArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, ftp_store: Store):
        return ftp_store.factory

    @pytest.fixture
    def foreign_entries(self, ftp_store: Store) -> ForeignEntries:
        return ForeignEntries(ftp_store)


class TestSFTPArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, sftp_store: Store):
        return sftp_store.factory

    @pytest.fixture
    def foreign_entries(self, sftp_store: Store) -> ForeignEntries:
        return ForeignEntries(sftp_store)


class TestWebDAVArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, webdav_store: Store):
        return webdav_store.factory

    @pytest.fixture
    def foreign_entries(self, webdav_store: Store) -> ForeignEntries:
        return ForeignEntries(webdav_store)


class TestAzureArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, azure_store: Store):
        return azure_store.factory

    @pytest.fixture
    def foreign_entries(self, azure_store: Store) -> ForeignEntries:
        return ForeignEntries(azure_store)


class TestSFTPClient(ClientContract):
    state_machine_examples = 5

    @pytest.fixture
    def ebnt(self, sftp_store: Store, tmp_path) -> Ebonite:
        return Ebonite(LocalMetadataRepository(tmp_path / "metadata.json"), sftp_store.repository())


class TestAzureClient(ClientContract):
    state_machine_examples = 5

    @pytest.fixture
    def ebnt(self, azure_store: Store, tmp_path) -> Ebonite:
        return Ebonite(LocalMetadataRepository(tmp_path / "metadata.json"), azure_store.repository())
