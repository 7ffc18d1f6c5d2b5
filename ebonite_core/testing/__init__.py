"""Contract test suites for backends, shipped for backend authors (requires pytest).

Subclass a contract in a test module and override its one fixture::

    import functools

    import pytest
    from ebonite_core.testing import MetadataRepositoryContract

    class TestMyMetadata(MetadataRepositoryContract):
        @pytest.fixture
        def metadata_repository_factory(self, tmp_path):
            return functools.partial(MyMetadataRepository, tmp_path / "db")

Each call of the factory returns a new repository object on one shared store, empty at the start of each
test (``ArtifactRepositoryContract`` takes ``artifact_repository_factory``, ``ClientContract`` an ``ebnt``
fixture). ``MetadataRepositoryContract`` is made of four parts that can also run alone:
``MetadataStorageContract``, ``TagsContract``, ``AliasesContract`` and ``SearchContract``.
``SerializerContract`` checks a model serializer instead: see its docstring.

Importing this package has pytest rewrite the asserts of the contract modules, so that a failing contract
test shows the values it compared, whoever runs it.
"""

from __future__ import annotations

import pytest

# Before the contract modules are imported: pytest rewrites a module's asserts only when it imports it.
pytest.register_assert_rewrite(
    *(
        f"{__name__}.{module}"
        for module in (
            "aliases",
            "artifact",
            "checks",
            "client",
            "fixtures",
            "metadata",
            "processes",
            "search",
            "serializer",
            "stateful",
            "tags",
        )
    )
)

from .aliases import AliasesContract  # noqa: E402
from .artifact import ArtifactRepositoryContract  # noqa: E402
from .client import ClientContract  # noqa: E402
from .metadata import MetadataRepositoryContract, MetadataStorageContract  # noqa: E402
from .models import ScaleModel, make_model  # noqa: E402
from .search import SearchContract  # noqa: E402
from .serializer import SerializerContract  # noqa: E402
from .tags import TagsContract  # noqa: E402

__all__ = [
    "AliasesContract",
    "ArtifactRepositoryContract",
    "ClientContract",
    "MetadataRepositoryContract",
    "MetadataStorageContract",
    "ScaleModel",
    "SearchContract",
    "SerializerContract",
    "TagsContract",
    "make_model",
]
