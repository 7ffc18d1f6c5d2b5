"""Repository interfaces; the built-in backends live in :mod:`.local` and :mod:`.inmemory`."""

from __future__ import annotations

from .artifact import ArtifactRepository, check_artifact_key, check_artifact_name
from .metadata import MetadataRepository

__all__ = ["ArtifactRepository", "MetadataRepository", "check_artifact_key", "check_artifact_name"]
