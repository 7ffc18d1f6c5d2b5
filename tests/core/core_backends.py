"""The built-in metadata backends as contract test classes take them: mixed into each part of the metadata
contract by the test module of that part (test_builtin_backends.py, test_tags.py, test_aliases.py,
test_search.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from ebonite_core import InMemoryMetadataRepository, LocalMetadataRepository, MetadataRepository


class InMemoryMetadata:
    supports_reopen = False  # state lives in one object
    supports_concurrent_processes = False

    @pytest.fixture
    def metadata_repository(self) -> InMemoryMetadataRepository:
        return InMemoryMetadataRepository()


class LocalMetadata:
    @pytest.fixture
    def metadata_repository_factory(self, tmp_path: Path) -> Callable[[], LocalMetadataRepository]:
        return functools.partial(LocalMetadataRepository, tmp_path / "metadata.json")

    @pytest.fixture
    def plant_leftover(self, tmp_path: Path) -> Callable[[MetadataRepository], str]:
        def plant(repository: MetadataRepository) -> str:
            # What a process killed between writing the new file and renaming it into place leaves.
            (tmp_path / ".metadata.json.0123abcd.tmp").write_text("{")
            return ".metadata.json.0123abcd.tmp"

        return plant
