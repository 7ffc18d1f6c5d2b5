"""The ``local`` artifact backend: plain files in a directory, and the file helpers both local backends use.

Safe with several processes sharing one store: artifacts are written into a private temporary directory and
renamed into place (the metadata backend is :mod:`.local_metadata`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ArtifactNotFoundError, RepositoryError
from ..interfaces import ArtifactRepository
from ..names import check_artifact_key, check_artifact_name


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _last_written(path: Path) -> float:
    """The newest modification time of ``path`` and, for a directory, of everything inside it."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for directory, subdirectories, files in os.walk(path):
            for name in subdirectories + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(directory, name)).st_mtime)
                except FileNotFoundError:
                    continue
    return newest


def _remove_old(entries: Iterable[Path], older_than: datetime, dry_run: bool, base: Path) -> list[str]:
    removed = []
    limit = older_than.timestamp()
    for entry in sorted(entries):
        try:
            if _last_written(entry) >= limit:
                continue
            if not dry_run:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        except FileNotFoundError:  # removed by its owner meanwhile
            continue
        except OSError as err:
            raise RepositoryError(f"Cannot remove the leftover {entry}: {err}") from err
        removed.append(entry.relative_to(base).as_posix())
    return removed


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts as plain files, ``<path>/<key>/<file name>`` (default ``.ebonite/artifacts`` under the
    working directory at construction).

    A push links or copies the files into ``<path>/.tmp/<key>.<random>/``, fsyncs them and renames the
    directory to ``<path>/<key>``; a delete renames ``<path>/<key>`` away before removing it. Either way no
    other process ever sees half a key. ``durable=False`` skips fsync, as for
    :class:`LocalMetadataRepository`; after a power failure, ``load()`` refuses incomplete files by checksum.
    """

    type = "local"
    path_options = ("path",)
    PRIVATE_DIRS = ("tmp", "staging", "trash")

    def __init__(self, path: str | os.PathLike[str] = ".ebonite/artifacts", durable: bool = True) -> None:
        self.root = Path(path).absolute()
        self.durable = durable

    def __repr__(self) -> str:
        return f"LocalArtifactRepository({str(self.root)!r})"

    @property
    def sync_staged_files(self) -> bool:  # type: ignore[override]
        return self.durable  # push fsyncs exactly when durable

    def config(self) -> dict[str, Any]:
        return {"path": str(self.root)} if self.durable else {"path": str(self.root), "durable": False}

    def clean_leftovers(self, older_than: datetime, dry_run: bool = False) -> list[str]:
        """What killed processes left in ``.tmp/`` (unfinished pushes), ``.staging/`` (files the client
        staged) and ``.trash/`` (unfinished deletes), judged by the newest write anywhere inside each entry,
        so that an operation still writing is never touched."""
        entries: list[Path] = []
        for purpose in self.PRIVATE_DIRS:
            try:
                entries.extend((self.root / f".{purpose}").iterdir())
            except (FileNotFoundError, NotADirectoryError):
                continue
        return _remove_old(entries, older_than, dry_run, self.root)

    def _private_dir(self, purpose: str) -> Path:
        directory = self.root / f".{purpose}"
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def push(self, key: str, files: Mapping[str, Path]) -> None:
        target = self.root / check_artifact_key(key)
        if target.exists():
            raise FileExistsError(f"Artifact key {key!r} already exists in {self.root}.")
        try:
            staging = self._private_dir("tmp") / f"{key}.{uuid.uuid4().hex}"
            staging.mkdir()
        except OSError as err:
            raise RepositoryError(f"Cannot write artifacts under {self.root}: {err}") from err
        try:
            for name, source in files.items():
                destination = staging / check_artifact_name(name)
                self._link_or_copy(Path(source), destination)
                if self.durable:
                    with open(destination, "rb") as file:
                        os.fsync(file.fileno())
            if self.durable:
                _fsync_directory(staging)
            os.rename(staging, target)
            if self.durable:
                _fsync_directory(self.root)
        except OSError as err:
            shutil.rmtree(staging, ignore_errors=True)
            if target.exists():  # another push won the rename
                raise FileExistsError(f"Artifact key {key!r} already exists in {self.root}.") from err
            raise RepositoryError(f"Cannot write artifacts under {self.root}: {err}") from err
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _link_or_copy(self, source: Path, destination: Path) -> None:
        # A file the client staged in our staging directory is handed over and never written again, so it
        # can be linked instead of copied. Any other file stays its owner's: copying keeps a later change
        # to it from reaching the store.
        if self.root / ".staging" in source.absolute().parents:
            try:
                os.link(source, destination)
                return
            except OSError:
                pass
        shutil.copyfile(source, destination)

    def download(self, key: str, name: str, destination: Path) -> None:
        source = self._stored(key, name)
        try:
            shutil.copyfile(source, destination)
        except OSError as err:
            raise RepositoryError(f"Cannot copy {source} to {destination}: {err}") from err

    def local_path(self, key: str, name: str) -> Path | None:
        return self._stored(key, name)

    def _stored(self, key: str, name: str) -> Path:
        path = self.root / check_artifact_key(key) / check_artifact_name(name)
        if not path.is_file():
            raise ArtifactNotFoundError(f"no file {path}.")
        return path

    def delete(self, key: str) -> None:
        target = self.root / check_artifact_key(key)
        doomed = self.root / ".trash" / f"{key}.{uuid.uuid4().hex}"
        try:
            self._private_dir("trash")
            os.rename(target, doomed)
        except FileNotFoundError:
            return
        except OSError as err:
            raise RepositoryError(f"Cannot delete artifacts {target}: {err}") from err
        shutil.rmtree(doomed, ignore_errors=True)

    def list_files(self, key: str) -> list[str] | None:
        try:
            return sorted(entry.name for entry in os.scandir(self.root / check_artifact_key(key)))
        except FileNotFoundError:
            return []
        except NotADirectoryError:
            return [key]  # a stray file where a key directory should be

    def keys(self) -> dict[str, datetime]:
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return {}
        return {
            entry.name: datetime.fromtimestamp(entry.stat().st_mtime, timezone.utc)
            for entry in entries
            if entry.is_dir() and not entry.name.startswith(".")
        }

    def staging_dir(self) -> Path | None:
        try:
            return self._private_dir("staging")
        except OSError:
            return None


__all__ = ["LocalArtifactRepository"]
