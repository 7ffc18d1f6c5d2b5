"""The module the ``ebonite`` entry point names: hook implementations only, importing nothing heavy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ebonite_core import hookimpl

if TYPE_CHECKING:
    from ebonite_core import ArtifactRepository, MetadataRepository
    from ebonite_core.cli import Command

EBONITE_PLUGIN_API = 1


@hookimpl
def ebonite_metadata_repositories() -> Iterable[type[MetadataRepository]]:
    from .client import HttpMetadataRepository

    return [HttpMetadataRepository]


@hookimpl
def ebonite_artifact_repositories() -> Iterable[type[ArtifactRepository]]:
    from .client import HttpArtifactRepository

    return [HttpArtifactRepository]


@hookimpl
def ebonite_commands() -> Iterable[type[Command]]:
    from .commands import ServeCommand, TokenCommand, UiCommand

    return [ServeCommand, TokenCommand, UiCommand]
