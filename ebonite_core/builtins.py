"""The built-in plugin: the local and in-memory backends and the pickle serializer.

Registered by name like any plugin, through the same hooks, but without an entry point, so that built-in
types resolve without scanning installed distributions.
"""

from __future__ import annotations

from collections.abc import Iterable

from .hookspecs import hookimpl
from .model.serializer import ModelSerializer
from .repository import ArtifactRepository, MetadataRepository


@hookimpl
def ebonite_metadata_repositories() -> Iterable[type[MetadataRepository]]:
    from .repository.inmemory import InMemoryMetadataRepository
    from .repository.local import LocalMetadataRepository

    return [LocalMetadataRepository, InMemoryMetadataRepository]


@hookimpl
def ebonite_artifact_repositories() -> Iterable[type[ArtifactRepository]]:
    from .repository.inmemory import InMemoryArtifactRepository
    from .repository.local import LocalArtifactRepository

    return [LocalArtifactRepository, InMemoryArtifactRepository]


@hookimpl
def ebonite_model_serializers() -> Iterable[type[ModelSerializer]]:
    from .model.serializer import PickleSerializer

    return [PickleSerializer]
