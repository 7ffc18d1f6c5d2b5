"""The example backend runs ebonite-core's contract suites, found through its installed entry point."""

from __future__ import annotations

import functools

import pytest

from ebonite_core import Ebonite
from ebonite_core.plugins import resolve
from ebonite_core.testing import ArtifactRepositoryContract, ClientContract


class TestZipArtifacts(ArtifactRepositoryContract):
    @pytest.fixture
    def artifact_repository_factory(self, tmp_path):
        return functools.partial(resolve("artifact", "zip"), tmp_path / "zips")


class TestZipClient(ClientContract):
    @pytest.fixture
    def ebnt(self, tmp_path):
        return Ebonite.custom_client(
            "local",
            "zip",
            meta_kwargs={"path": tmp_path / "metadata.json"},
            artifact_kwargs={"path": tmp_path / "zips"},
        )
