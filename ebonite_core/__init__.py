"""ebonite-core: persist machine-learning models in pluggable metadata and artifact repositories.

Importing this package loads no plugin and imports no driver; backends are found when first asked for.
"""

from __future__ import annotations

from .client import Ebonite
from .errors import (
    ArtifactIntegrityError,
    ArtifactNotFoundError,
    ConfigError,
    DuplicateBackendError,
    EboniteError,
    ExistingModelError,
    ExistingProjectError,
    ExistingTaskError,
    IncompatiblePluginError,
    InvalidNameError,
    MetadataCorruptError,
    NonExistingModelError,
    NonExistingProjectError,
    NonExistingTaskError,
    ProjectWithTasksError,
    RepositoryError,
    SharedStoreError,
    TaskWithModelsError,
    UnknownBackendError,
    UnsafeModelError,
)
from .hookspecs import hookimpl
from .interfaces import ArtifactRepository, MetadataRepository, ModelSerializer
from .model import PickleSerializer, RequirementsWarning, create_model
from .objects import ArtifactFile, Model, Project, Task
from .repository.inmemory import InMemoryArtifactRepository, InMemoryMetadataRepository
from .repository.local import LocalArtifactRepository
from .repository.local_metadata import LocalMetadataRepository

__version__ = "0.1.0"

__all__ = [
    "ArtifactFile",
    "ArtifactIntegrityError",
    "ArtifactNotFoundError",
    "ArtifactRepository",
    "ConfigError",
    "DuplicateBackendError",
    "Ebonite",
    "EboniteError",
    "ExistingModelError",
    "ExistingProjectError",
    "ExistingTaskError",
    "InMemoryArtifactRepository",
    "InMemoryMetadataRepository",
    "IncompatiblePluginError",
    "InvalidNameError",
    "LocalArtifactRepository",
    "LocalMetadataRepository",
    "MetadataCorruptError",
    "MetadataRepository",
    "Model",
    "ModelSerializer",
    "NonExistingModelError",
    "NonExistingProjectError",
    "NonExistingTaskError",
    "PickleSerializer",
    "Project",
    "ProjectWithTasksError",
    "RepositoryError",
    "RequirementsWarning",
    "SharedStoreError",
    "Task",
    "TaskWithModelsError",
    "UnknownBackendError",
    "UnsafeModelError",
    "__version__",
    "create_model",
    "hookimpl",
]
