"""The repository interfaces, as backends import them, and the checks a backend runs on keys and file names.

The built-in backends live in :mod:`.inmemory`, :mod:`.local` and :mod:`.local_metadata`; the base class for a
metadata backend built on a few storage primitives in :mod:`.records`.
"""

from __future__ import annotations

from ..interfaces import ArtifactRepository, MetadataRepository
from ..names import check_artifact_key, check_artifact_name

__all__ = ["ArtifactRepository", "MetadataRepository", "check_artifact_key", "check_artifact_name"]
