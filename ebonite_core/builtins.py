"""The built-in plugin: the local and in-memory backends, the pickle serializer and the ``ebonite`` commands.

Registered by name like any plugin, through the same hooks, but without an entry point, so that built-in
types resolve without scanning installed distributions.
"""

from __future__ import annotations

from collections.abc import Iterable

from .cli.browse import LsCommand, ShowCommand
from .cli.maintain import CopyCommand, GcCommand, VerifyCommand
from .cli.manage import PluginsCommand, RmCommand
from .hookspecs import hookimpl
from .interfaces import ArtifactRepository, Command, MetadataRepository, ModelSerializer
from .model.serializer import PickleSerializer
from .repository.inmemory import InMemoryArtifactRepository, InMemoryMetadataRepository
from .repository.local import LocalArtifactRepository
from .repository.local_metadata import LocalMetadataRepository


@hookimpl
def ebonite_metadata_repositories() -> Iterable[type[MetadataRepository]]:
    return [LocalMetadataRepository, InMemoryMetadataRepository]


@hookimpl
def ebonite_artifact_repositories() -> Iterable[type[ArtifactRepository]]:
    return [LocalArtifactRepository, InMemoryArtifactRepository]


@hookimpl
def ebonite_model_serializers() -> Iterable[type[ModelSerializer]]:
    return [PickleSerializer]


@hookimpl
def ebonite_commands() -> Iterable[type[Command]]:
    return [LsCommand, ShowCommand, RmCommand, VerifyCommand, GcCommand, CopyCommand, PluginsCommand]
