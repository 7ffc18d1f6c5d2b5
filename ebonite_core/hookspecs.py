"""The hooks a plugin implements. Each takes no arguments and returns the classes the plugin provides.

A plugin is a module with ``@hookimpl`` functions, declared in its distribution's ``pyproject.toml``::

    [project.entry-points.ebonite]
    myplugin = "ebonite_myplugin.plugin"

Import backend classes inside the hook's body, so that listing plugins never imports a driver.

A plugin module may declare the plugin API version it was written for, ``EBONITE_PLUGIN_API = 1``; a plugin
declaring another version is refused with :class:`~ebonite_core.errors.IncompatiblePluginError`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from .interfaces import ArtifactRepository, Command, MetadataRepository, ModelSerializer

PROJECT_NAME = "ebonite"
PLUGIN_API_VERSION = 1
"""The version of the plugin API: these hooks, the repository and serializer interfaces, their contracts."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def ebonite_metadata_repositories() -> Iterable[type[MetadataRepository]]:
    """Return the MetadataRepository subclasses this plugin provides, each naming itself with ``type``."""


@hookspec
def ebonite_artifact_repositories() -> Iterable[type[ArtifactRepository]]:
    """Return the ArtifactRepository subclasses this plugin provides, each naming itself with ``type``."""


@hookspec
def ebonite_model_serializers() -> Iterable[type[ModelSerializer]]:
    """Return the ModelSerializer subclasses this plugin provides, each naming itself with ``type``."""


@hookspec
def ebonite_commands() -> Iterable[type[Command]]:
    """Return the Command subclasses this plugin adds to the ``ebonite`` command, each naming itself with ``name``."""
