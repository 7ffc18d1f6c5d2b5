"""Making a stored model visible: the one metadata write after its files are stored, and what a failed write
means for those files. Every push (:meth:`Ebonite.push_model`) and ``ebonite copy`` record models this way.

A write that raised may have taken effect all the same: a database that committed, but whose answer was lost
with the connection. Removing the files then would leave a visible model without them, so the store is asked
first (:func:`outcome_of_failed_write`); the files are removed only when the write certainly did not take
effect, and kept for ``ebonite gc`` when the store cannot tell.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from .errors import MetadataCorruptError

if TYPE_CHECKING:
    from .interfaces import ArtifactRepository, MetadataRepository
    from .objects import Model, Task


class WriteOutcome(enum.Enum):
    """What a metadata write that raised did, as far as the store can tell afterwards."""

    STORED = "it took effect"
    ABSENT = "it did not take effect"
    UNKNOWN = "the store cannot tell"


def record_model(metadata: MetadataRepository, artifacts: ArtifactRepository, staged: Model, task: Task) -> Model:
    """Write the metadata of ``staged``, a new model of ``task`` whose files are stored under its artifact key
    in ``artifacts``: the one atomic write that makes it visible. Returns the stored model, also when the
    write raised but took effect; otherwise the error is raised, see :func:`recorded_despite`."""
    try:
        return metadata.create_model(staged)
    except BaseException as err:
        return recorded_despite(metadata, artifacts, err, staged, task)


def recorded_despite(
    metadata: MetadataRepository, artifacts: ArtifactRepository, err: BaseException, staged: Model, task: Task
) -> Model:
    """The stored model if the write of ``staged`` that raised ``err`` took effect all the same; otherwise
    ``err`` is raised again, once the files are removed if the write certainly did not take effect."""
    assert staged.artifact_key is not None
    outcome, stored = outcome_of_failed_write(metadata, err, task, staged)
    if outcome is WriteOutcome.STORED and stored is not None:
        return stored
    if outcome is WriteOutcome.ABSENT:
        discard_artifacts(artifacts, staged.artifact_key)
    raise err


def outcome_of_failed_write(
    metadata: MetadataRepository, err: BaseException, task: Task, staged: Model
) -> tuple[WriteOutcome, Model | None]:
    """Whether the metadata write of ``staged`` that raised ``err`` took effect, with the stored model when it
    did.

    A refusal (the name is taken, the task is gone, invalid metadata) wrote nothing. Any other failure may
    have come after the write took effect, so the store is asked: the model stored under this write's key
    means it succeeded. When the store cannot answer either, the answer is ``UNKNOWN``: the files are kept,
    so that a stored model loads, and unreferenced files are what ``ebonite gc`` removes.
    """
    refusal = isinstance(err, (ValueError, TypeError, LookupError, MetadataCorruptError))
    if refusal and not isinstance(err, OSError):
        return WriteOutcome.ABSENT, None
    import logging  # deferred: only a failed write logs (importing logging costs 3 ms)

    logger = logging.getLogger(__name__)
    try:
        found = metadata.get_model_by_name(task, staged.name)
    except Exception:
        logger.warning(
            "The metadata write of model %r failed (%s: %s) and the store cannot say whether it took effect; "
            "its artifacts under key %s are kept: `ebonite gc` removes them if no model references them.",
            staged.name,
            type(err).__name__,
            err,
            staged.artifact_key,
        )
        return WriteOutcome.UNKNOWN, None
    if found is not None and found.artifact_key == staged.artifact_key:
        logger.warning(
            "The metadata write of model %r reported %s: %s, but the model is stored: the write succeeded.",
            staged.name,
            type(err).__name__,
            err,
        )
        return WriteOutcome.STORED, found
    return WriteOutcome.ABSENT, None


def discard_artifacts(artifacts: ArtifactRepository, key: str) -> None:
    """Remove the files under ``key``; a failure is logged in one line (``ebonite gc`` removes what is left)."""
    try:
        artifacts.delete(key)
    except Exception as err:  # the original error matters more
        import logging

        logger = logging.getLogger(__name__)
        # One line: during an outage the push's own error follows, and a chained traceback here would bury it.
        # The traceback is there for whoever turns on DEBUG.
        logger.warning(
            "Could not remove the artifacts under key %s (%s: %s); `ebonite gc` removes them later.",
            key,
            type(err).__name__,
            " ".join(str(err).split()),
        )
        logger.debug("Removing the artifacts under key %s failed:", key, exc_info=True)
