"""The errors ebonite-core raises.

Every error subclasses :class:`EboniteError` and the builtin it resembles, so that ``except LookupError``
and ``except ValueError`` keep working::

    EboniteError
    ├── UnknownBackendError (LookupError)         no backend class provides the type asked for
    ├── DuplicateBackendError (ValueError)        two backend classes claim the same type
    ├── IncompatiblePluginError (ImportError)     a plugin written for another plugin API version
    ├── NonExistingError (LookupError)
    │   ├── NonExistingProjectError
    │   ├── NonExistingTaskError
    │   └── NonExistingModelError
    ├── ExistingError (ValueError)
    │   ├── ExistingProjectError
    │   ├── ExistingTaskError
    │   └── ExistingModelError
    ├── ProjectWithTasksError (ValueError)        delete without cascade of a project that has tasks
    ├── TaskWithModelsError (ValueError)          delete without cascade of a task that has models
    ├── InvalidNameError (ValueError)             a project, task or model name that is not allowed
    ├── ArtifactError
    │   ├── ArtifactNotFoundError (LookupError)   a stored file is missing
    │   └── ArtifactIntegrityError (ValueError)   a stored file's size or sha256 differs from the manifest
    ├── MetadataCorruptError                      a metadata store that cannot be read or has an unknown schema
    ├── ConfigError (ValueError)                  a client config that is missing, unreadable or incomplete
    ├── SharedStoreError (ValueError)             a copy whose target keeps its artifacts in the source's store
    ├── UnsafeModelError (PermissionError)        loading the model needs a code-running format the client refuses
    └── RepositoryError (OSError)                 a backend failed (unreachable, denied, ...); see __cause__

Backends translate their driver's errors into these with ``raise ... from err``.
"""

from __future__ import annotations


class EboniteError(Exception):
    """Base class of every error raised by ebonite-core and its backends."""


class UnknownBackendError(EboniteError, LookupError):
    """No installed backend provides the requested type."""


class DuplicateBackendError(EboniteError, ValueError):
    """Two backend classes claim the same type name."""


class IncompatiblePluginError(EboniteError, ImportError):
    """A plugin declares a plugin API version (``EBONITE_PLUGIN_API``) this ebonite-core does not provide."""


class NonExistingError(EboniteError, LookupError):
    """A project, task or model that the operation needs does not exist."""


class NonExistingProjectError(NonExistingError):
    """The project does not exist."""


class NonExistingTaskError(NonExistingError):
    """The task does not exist."""


class NonExistingModelError(NonExistingError):
    """The model does not exist."""


class ExistingError(EboniteError, ValueError):
    """An object with this name already exists in its scope."""


class ExistingProjectError(ExistingError):
    """A project with this name already exists."""


class ExistingTaskError(ExistingError):
    """A task with this name already exists in the project."""


class ExistingModelError(ExistingError):
    """A model with this name already exists in the task (or this model object is already stored)."""

    @classmethod
    def taken(cls, model_name: str, task_name: str) -> ExistingModelError:
        """The error for a push of a model called ``model_name`` into a task that has one."""
        return cls(
            f"Model {model_name!r} already exists in task {task_name!r}: give the new model another name, or "
            f"delete the stored one first (ebnt.delete_model(ebnt.get_model({model_name!r}, task)))."
        )


class ProjectWithTasksError(EboniteError, ValueError):
    """The project still has tasks; delete them first or pass ``cascade=True``."""


class TaskWithModelsError(EboniteError, ValueError):
    """The task still has models; delete them first or pass ``cascade=True``."""


class InvalidNameError(EboniteError, ValueError):
    """A project, task or model name that is not allowed (see :func:`ebonite_core.objects.check_name`)."""


class ArtifactError(EboniteError):
    """Base class of artifact problems."""


class ArtifactNotFoundError(ArtifactError, LookupError):
    """A file the manifest lists is missing from the artifact repository."""


class ArtifactIntegrityError(ArtifactError, ValueError):
    """A stored file's size or sha256 differs from what the manifest recorded."""


class MetadataCorruptError(EboniteError):
    """The metadata store cannot be read, or was written with a schema this version does not know."""


class ConfigError(EboniteError, ValueError):
    """A client configuration that cannot be used: a missing or unreadable file, a missing section or
    environment variable, options a backend does not accept."""


class UnsafeModelError(EboniteError, PermissionError):
    """The model is stored in a format whose loading can run code from its files (pickle), or its metadata
    and its serializer disagree on that, and the client does not allow such formats (``allow_pickle=False``).
    Raised before any of its files is fetched or read."""


class RepositoryError(EboniteError, OSError):
    """A backend failed to do its job: unreachable, access denied, out of space... The cause is chained."""


class SharedStoreError(EboniteError, ValueError):
    """The target of a copy stores its artifacts where the source does: two registries sharing one artifact
    store would each collect the other's files as unreferenced."""
