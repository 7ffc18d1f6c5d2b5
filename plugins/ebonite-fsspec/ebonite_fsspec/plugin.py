"""The plugin module named by the ``ebonite`` entry point: hook implementations only.

The backend class is imported inside the hook's body; it imports fsspec and the protocol's package only
when a repository is built, so that ``ebonite plugins`` imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ebonite_core import hookimpl

if TYPE_CHECKING:
    from ebonite_core.repository import ArtifactRepository

EBONITE_PLUGIN_API = 1


@hookimpl
def ebonite_artifact_repositories() -> Iterable[type[ArtifactRepository]]:
    from .repository import FsspecArtifactRepository

    return [FsspecArtifactRepository]
