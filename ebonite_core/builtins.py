"""The built-in plugin: the local and in-memory backends, the pickle serializer and the ``ebonite`` commands.

Registered by name like any plugin, through the same hooks, but without an entry point, so that built-in
types resolve without scanning installed distributions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .hookspecs import hookimpl
from .model.serializer import ModelSerializer
from .repository import ArtifactRepository, MetadataRepository

if TYPE_CHECKING:
    from .cli.command import Command


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


@hookimpl
def ebonite_commands() -> Iterable[type[Command]]:
    from .cli.browse import LsCommand, ShowCommand
    from .cli.maintain import CopyCommand, GcCommand, VerifyCommand
    from .cli.manage import PluginsCommand, RmCommand

    return [LsCommand, ShowCommand, RmCommand, VerifyCommand, GcCommand, CopyCommand, PluginsCommand]
