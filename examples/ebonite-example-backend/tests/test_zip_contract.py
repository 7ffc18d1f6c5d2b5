"""The example backend runs ebonite-core's contract suites, found through its installed entry point."""

from __future__ import annotations

import functools
import zipfile

import pytest

from ebonite_core import Ebonite
from ebonite_core.plugins import resolve
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract


class ZipForeignEntries:
    """A user's own zip file, and a folder, next to the store's archives."""

    def __init__(self, root):
        self.root = root

    def plant(self, name):
        self.root.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(self.root / f"{name}.zip", "w") as archive:
            archive.writestr("weights.bin", b"theirs")
        (self.root / name).mkdir()

    def present(self, name):
        return (self.root / f"{name}.zip").is_file() and (self.root / name).is_dir()


class TestZipArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, tmp_path):
        return functools.partial(resolve("artifact", "zip"), tmp_path / "zips")

    @pytest.fixture
    def foreign_entries(self, repo):
        return ZipForeignEntries(repo.root)


class TestZipClient(ClientContract):
    @pytest.fixture
    def ebnt(self, tmp_path):
        return Ebonite.custom_client(
            "local",
            "zip",
            meta_kwargs={"path": tmp_path / "metadata.json"},
            artifact_kwargs={"path": tmp_path / "zips"},
        )
