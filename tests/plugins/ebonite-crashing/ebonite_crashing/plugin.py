"""The plugin module named by the entry point."""

from __future__ import annotations

from ebonite_core import hookimpl


@hookimpl
def ebonite_artifact_repositories():
    from .backend import CrashingArtifactRepository

    return [CrashingArtifactRepository]
