"""The repository interfaces, as backends import them, and the helpers a backend needs: the checks it runs on
keys and file names, and the key marker that proves to maintenance which keys the store wrote.

The built-in backends live in :mod:`.inmemory`, :mod:`.local` and :mod:`.local_metadata`; the base class for a
metadata backend built on a few storage primitives in :mod:`.records`; walking a local store without
following links in :mod:`.storefs`.
"""

from __future__ import annotations

from ..interfaces import ArtifactRepository, MetadataRepository
from ..interfaces.artifact import KEY_MARKER, deletable_key, key_marker
from ..names import check_artifact_key, check_artifact_name, is_artifact_key

__all__ = [
    "KEY_MARKER",
    "ArtifactRepository",
    "MetadataRepository",
    "check_artifact_key",
    "check_artifact_name",
    "deletable_key",
    "is_artifact_key",
    "key_marker",
]
