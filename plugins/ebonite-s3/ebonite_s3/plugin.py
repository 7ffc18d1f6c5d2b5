"""The plugin module named by the ``ebonite`` entry point: hook implementations only.

The backend class is imported inside the hook's body, so that importing this module (as ``ebonite plugins``
does) never imports boto3.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ebonite_core import hookimpl

if TYPE_CHECKING:
    from ebonite_core.repository import ArtifactRepository


@hookimpl
def ebonite_artifact_repositories() -> Iterable[type[ArtifactRepository]]:
    from .repository import S3ArtifactRepository

    return [S3ArtifactRepository]
