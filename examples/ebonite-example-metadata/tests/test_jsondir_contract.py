"""The example metadata backend runs ebonite-core's contract suites, found through its installed entry point."""

from __future__ import annotations

import functools

import pytest

from ebonite_core import Ebonite
from ebonite_core.plugins import resolve
from ebonite_core.testing import ClientContract, MetadataRepositoryContract


class TestJsonDirMetadata(MetadataRepositoryContract):
    @pytest.fixture
    def metadata_repository_factory(self, tmp_path):
        return functools.partial(resolve("metadata", "jsondir"), tmp_path / "records")

    @pytest.fixture
    def plant_leftover(self, tmp_path):
        def plant(repository):
            (tmp_path / "records" / "models").mkdir(parents=True, exist_ok=True)
            (tmp_path / "records" / "models" / ".7.json.0123.tmp").write_text("{")  # a write killed mid-way
            return "models/.7.json.0123.tmp"

        return plant


class TestJsonDirClient(ClientContract):
    @pytest.fixture
    def ebnt(self, tmp_path):
        return Ebonite.custom_client(
            "jsondir",
            "local",
            meta_kwargs={"path": tmp_path / "records"},
            artifact_kwargs={"path": tmp_path / "artifacts"},
        )
