"""Contract test suites for backends, shipped for backend authors (requires pytest).

Subclass a contract in a test module and override its one fixture::

    import pytest
    from ebonite_core.testing import MetadataRepositoryContract

    class TestMyMetadata(MetadataRepositoryContract):
        @pytest.fixture
        def metadata_repository(self, tmp_path):
            return MyMetadataRepository(tmp_path / "db")

Each fixture must return a new, empty repository for every test. ``SerializerContract`` checks a model
serializer instead: see its docstring.
"""

from __future__ import annotations

from .artifact import ArtifactRepositoryContract
from .client import ClientContract
from .metadata import MetadataRepositoryContract
from .models import ScaleModel, make_model
from .serializer import SerializerContract

__all__ = [
    "ArtifactRepositoryContract",
    "ClientContract",
    "MetadataRepositoryContract",
    "ScaleModel",
    "SerializerContract",
    "make_model",
]
