"""The four extension points, each a small ABC whose docstring carries its contract: what a plugin subclasses.

They depend on nothing above the objects they describe, so that ``hookspecs`` (and any plugin) can import
them without importing the machinery that uses them.
"""

from __future__ import annotations

from .artifact import ArtifactRepository
from .command import Command
from .metadata import MetadataRepository
from .serializer import ModelSerializer, OpenFile

__all__ = ["ArtifactRepository", "Command", "MetadataRepository", "ModelSerializer", "OpenFile"]
