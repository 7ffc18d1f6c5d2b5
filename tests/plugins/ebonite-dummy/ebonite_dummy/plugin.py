"""The plugin module named by the entry point: hook implementations only, classes imported on demand."""

from __future__ import annotations

from ebonite_core import hookimpl


@hookimpl
def ebonite_artifact_repositories():
    from .backend import DummyArtifactRepository

    return [DummyArtifactRepository]


@hookimpl
def ebonite_model_serializers():
    from .backend import EchoSerializer

    return [EchoSerializer]


@hookimpl
def ebonite_commands():
    from .command import DummyCommand

    return [DummyCommand]
