"""Removing what interrupted pushes left: unreferenced artifact keys and backend leftovers.

A push uploads its artifacts first and writes the metadata last, so for a while its key is referenced by
no model. Only keys the artifact store can prove it wrote (their marker), last written before a grace period
(24 hours by default), are removed, so that a push still in progress is never collected, and a user's
folder or another registry's files never are; right before each deletion the key is checked again (still
the store's, still old, still unreferenced).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..client import Ebonite
from ..objects import utc_now
from ..repository.storefs import StoreDirectory, remove_old  # the same age rule as the local backend's leftovers
from .walk import referenced_keys

DEFAULT_GRACE = timedelta(hours=24)
# A grace period reaches back at most this far: beyond it, "now minus the grace period" leaves the calendar.
MAX_GRACE = timedelta(days=36500)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``7d``, ``1w`` or combinations such as ``1h30m``; ``0`` means no grace."""
    text = text.strip()
    if text == "0":
        return timedelta(0)
    position, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(
            f"Invalid duration {text!r}: use a number and a unit (s, m, h, d, w), e.g. 30m, 2h, 7d or 1h30m."
        )
    if seconds > MAX_GRACE.total_seconds():
        raise ValueError(f"Invalid duration {text!r}: at most {MAX_GRACE.days}d (100 years).")
    return timedelta(seconds=seconds)


def _cutoff(older_than: timedelta) -> datetime:
    """The time before which a key or leftover is old enough to collect; a grace period out of range is a
    ``ValueError`` (a negative one would collect pushes in progress)."""
    if not timedelta(0) <= older_than <= MAX_GRACE:
        raise ValueError(
            f"The grace period must be between 0 and {MAX_GRACE.days} days, not {older_than}: a negative one would "
            "collect the files of pushes in progress."
        )
    return utc_now() - older_than


@dataclass
class GarbageReport:
    dry_run: bool
    older_than: timedelta
    removed_keys: dict[str, datetime] = field(default_factory=dict)  # (or that would be, with dry_run)
    recent_keys: dict[str, datetime] = field(default_factory=dict)  # unreferenced but within the grace period
    leftovers: list[str] = field(default_factory=list)


def collect_garbage(client: Ebonite, older_than: timedelta = DEFAULT_GRACE, dry_run: bool = False) -> GarbageReport:
    """Remove artifact keys that no model references and that were last written before ``older_than``
    ago, then let each repository clean its own leftovers (``clean_leftovers``) older than that, and remove
    the client's own temporary directories that killed processes left (:func:`clean_temporary_files`)."""
    cutoff = _cutoff(older_than)
    report = GarbageReport(dry_run, older_than)
    # Keys first, then the models: a push that completes in between is seen as referenced.
    keys = client.artifact_repo.keys()  # only the keys the store can prove it wrote
    referenced = referenced_keys(client)
    for key, written in sorted(keys.items(), key=lambda item: item[1]):
        if key not in referenced:
            (report.removed_keys if written < cutoff else report.recent_keys)[key] = written
    if not dry_run:
        for key in list(report.removed_keys):
            if _still_garbage(client, key, cutoff):
                client.artifact_repo.delete(key)
            else:
                del report.removed_keys[key]
    report.leftovers += [
        f"artifact repository: {item}" for item in client.artifact_repo.clean_leftovers(cutoff, dry_run)
    ]
    report.leftovers += [f"metadata repository: {item}" for item in client.meta_repo.clean_leftovers(cutoff, dry_run)]
    report.leftovers += [f"temporary directory: {item}" for item in clean_temporary_files(cutoff, dry_run)]
    return report


def _still_garbage(client: Ebonite, key: str, cutoff: datetime) -> bool:
    """Right before deleting ``key``: is it still the store's, still old, and still referenced by no model?

    The listing above may be minutes old on a large store; meanwhile a push may have committed a model under a
    key judged unreferenced. Keys are never reused (a copy or push always writes under a fresh key), so a key
    that passes these checks holds no new content.
    """
    written = client.artifact_repo.key_written(key)
    return written is not None and written < cutoff and not client.meta_repo.references_artifact_key(key)


# The client's temporary directories, named after the process that made them: pushes stage files in them,
# loads download into them.
_TEMPORARY_NAME = re.compile(r"ebonite-[a-z]+-(\d+)-")


def clean_temporary_files(older_than: datetime, dry_run: bool = False) -> list[str]:
    """Remove the client's temporary directories that killed processes left in the system's temporary
    directory, last written before ``older_than``; return their paths.

    Backends without a staging directory of their own (S3, most third-party ones) have pushes stage their
    files there, so a killed push leaves a copy of the model that no repository knows about. A directory is
    removed only if the process named in it is gone (whatever the grace period, a running push keeps its
    files) and it belongs to this user.
    """
    base = Path(tempfile.gettempdir())
    try:
        directory = StoreDirectory.open(base)
    except OSError:
        return []
    with directory:
        names = []
        for name in directory.names():
            match = _TEMPORARY_NAME.match(name)
            status = directory.lstat(name) if match else None
            if match and status is not None and status.st_uid == os.getuid() and not _alive(int(match.group(1))):
                names.append(name)
        # remove_old takes real directories only: a link or a file of that name is never followed or removed.
        return [f"{base / name}" for name in remove_old(directory, names, older_than, dry_run)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid at all: leave it alone
    return True
