"""The module the entry point names: hook implementations only, so that listing plugins stays cheap."""

from __future__ import annotations

from ebonite_core import hookimpl

EBONITE_PLUGIN_API = 1


@hookimpl
def ebonite_artifact_repositories():
    from .zipstore import ZipArtifactRepository

    return [ZipArtifactRepository]
