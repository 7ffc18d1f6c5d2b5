"""The ``local`` artifact backend: plain files in a directory.

Safe with several processes sharing one store: artifacts are written into a private temporary directory and
renamed into place (the metadata backend is :mod:`.local_metadata`). Nothing here follows a symbolic link
below the store's root (see :mod:`.storefs`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ArtifactNotFoundError, RepositoryError
from ..interfaces import ArtifactRepository
from ..interfaces.artifact import KEY_MARKER, deletable_key, key_marker
from ..names import check_artifact_key, check_artifact_name, is_artifact_key
from .storefs import StoreDirectory, private_directory, remove_old


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts as plain files, ``<path>/<key>/<file name>`` (default ``.ebonite/artifacts`` under the
    working directory at construction).

    A push links or copies the files into ``<path>/.tmp/<key>.<random>/`` with the key's marker
    (``.ebonite-key``), fsyncs them and renames the directory to ``<path>/<key>``; a delete renames
    ``<path>/<key>`` into ``<path>/.trash/`` before removing it. Either way no other process ever sees half a
    key. ``durable=False`` skips fsync, as for :class:`LocalMetadataRepository`; after a power failure,
    ``load()`` refuses incomplete files by checksum.

    Only directories holding the marker are keys: a user's folder kept next to them is never listed, collected
    or cleared. Nothing here follows a symbolic link below ``path``: a link planted as a key, as a private
    folder (``.tmp``, ``.staging``, ``.trash``) or inside one is left alone (see :mod:`.storefs`).
    """

    type = "local"
    path_options = ("path",)
    PRIVATE_DIRS = (".tmp", ".staging", ".trash")

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

    def _open_root(self, create: bool = False) -> StoreDirectory:
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        return StoreDirectory.open(self.root)  # the root may be a link: where the user keeps the store

    def _not_ours(self, name: str) -> RepositoryError:
        return RepositoryError(
            f"{self.root / name} is not a directory ebonite made (a symbolic link or a file put there): it was "
            "left alone. Remove it by hand if it is not yours."
        )

    def clean_leftovers(self, older_than: datetime, dry_run: bool = False) -> list[str]:
        """What killed processes left in ``.tmp/`` (unfinished pushes), ``.staging/`` (files the client
        staged) and ``.trash/`` (unfinished deletes), judged by the newest write anywhere inside each entry,
        so that an operation still writing is never touched. Only real directories are removed; a link or
        a file under these names was not put there by ebonite and is left alone."""
        try:
            root = self._open_root()
        except (FileNotFoundError, NotADirectoryError):
            return []
        removed: list[str] = []
        with root:
            for purpose in self.PRIVATE_DIRS:
                with private_directory(root, purpose) as directory:
                    if directory is None:
                        if root.lstat(purpose) is not None:
                            _warn(f"{self._not_ours(purpose)}")
                        continue
                    found = remove_old(directory, directory.names(), older_than, dry_run)
                    removed += [f"{purpose}/{name}" for name in found]
        return removed

    def clear(self, referenced: frozenset[str] = frozenset()) -> None:
        """Remove every key this store wrote and what its private folders hold, and nothing else: a folder or
        file of someone else's in the same directory stays (``Ebonite.local(clear=True)``). A key is this
        store's when it has its marker, or when the store's metadata references it (``referenced``: keys
        written before markers existed)."""
        try:
            root = self._open_root()
        except (FileNotFoundError, NotADirectoryError):
            return
        with root:
            for name in root.names():
                if name in self.PRIVATE_DIRS:
                    with private_directory(root, name) as directory:
                        if directory is not None:
                            remove_old(directory, directory.names(), _FAR_FUTURE, dry_run=False)
                    _remove_if_empty(root, name)
                elif self._written(root, name) is not None or (name in referenced and deletable_key(name, False)):
                    self.delete(name)
            _remove_if_empty(root, ".trash")  # made by the deletes above
        with contextlib.suppress(OSError):
            self.root.rmdir()  # only when empty, and never through a link

    def push(self, key: str, files: Mapping[str, Path]) -> None:
        check_artifact_key(key)
        sources = {check_artifact_name(name): Path(source) for name, source in files.items()}
        try:
            root = self._open_root(create=True)
        except OSError as err:
            raise RepositoryError(f"Cannot write artifacts under {self.root}: {err.strerror or err}") from err
        with root, private_directory(root, ".tmp", create=True) as tmp:
            if root.lstat(key) is not None:
                raise FileExistsError(f"Artifact key {key!r} already exists in {self.root}.")
            if tmp is None:
                raise self._not_ours(".tmp")
            staging = f"{key}.{os.urandom(16).hex()}"
            try:
                with tmp.make_directory(staging) as directory:
                    with directory.create_file(KEY_MARKER) as marker:
                        marker.write(key_marker(key))
                    for name, source in sources.items():
                        self._link_or_copy(source, directory, name)
                    if self.durable:
                        for name in (KEY_MARKER, *sources):
                            directory.fsync(name)
                        directory.fsync()
                tmp.rename(staging, root, key)
                if self.durable:
                    root.fsync()
            except OSError as err:
                _discard(tmp, staging)
                if root.lstat(key) is not None:  # another push won the rename
                    raise FileExistsError(f"Artifact key {key!r} already exists in {self.root}.") from err
                if isinstance(err, FileNotFoundError) and err.filename in {os.fspath(p) for p in sources.values()}:
                    raise RepositoryError(f"Cannot push {err.filename}: the file is gone (deleted meanwhile).") from err
                raise RepositoryError(f"Cannot write artifacts under {self.root}: {err}") from err
            except BaseException:
                _discard(tmp, staging)
                raise

    def _link_or_copy(self, source: Path, directory: StoreDirectory, name: str) -> None:
        # A file the client staged in our staging directory is handed over and never written again, so it
        # can be linked instead of copied. Any other file stays its owner's: copying keeps a later change
        # to it from reaching the store.
        if self.root / ".staging" in source.absolute().parents and stat.S_ISREG(os.lstat(source).st_mode):
            try:
                directory.link(source, name)
                return
            except OSError:
                pass
        with open(source, "rb") as reader, directory.create_file(name) as writer:
            _copy_stream(reader, writer)

    def download(self, key: str, name: str, destination: Path) -> None:
        source = self._stored(key, name)
        try:
            shutil.copyfile(source, destination)
        except OSError as err:
            raise RepositoryError(f"Cannot copy {source} to {destination}: {err}") from err

    def local_path(self, key: str, name: str) -> Path | None:
        return self._stored(key, name)

    def _stored(self, key: str, name: str) -> Path:
        directory = self.root / check_artifact_key(key)
        path = directory / check_artifact_name(name)
        # Read in place, never through a link: a key or a file of a key is never one.
        if not (_has_type(directory, stat.S_IFDIR) and _has_type(path, stat.S_IFREG)):
            raise ArtifactNotFoundError(f"no file {path}.")
        return path

    def delete(self, key: str) -> None:
        check_artifact_key(key)
        try:
            root = self._open_root()
        except FileNotFoundError:
            return
        with root:
            status = root.lstat(key)
            if status is None:
                return
            if not stat.S_ISDIR(status.st_mode) or not deletable_key(key, self._written(root, key) is not None):
                raise self._not_ours(key)
            doomed = f"{key}.{os.urandom(16).hex()}"
            try:
                with private_directory(root, ".trash", create=True) as trash:
                    if trash is not None:
                        root.rename(key, trash, doomed)  # readers never see half a key
                        _discard(trash, doomed)
                        return
                # .trash is a link or a file that ebonite did not put there: never through it; in place,
                # the marker last, so that an interrupted delete leaves a key gc can still prove it wrote.
                with root.subdirectory(key) as directory:
                    for name in [*(name for name in directory.names() if name != KEY_MARKER), KEY_MARKER]:
                        directory.remove(name)
                root.remove_empty(key)
            except FileNotFoundError:
                return
            except OSError as err:
                raise RepositoryError(f"Cannot delete artifacts {self.root / key}: {err}") from err

    def list_files(self, key: str) -> list[str] | None:
        path = self.root / check_artifact_key(key)
        try:
            with StoreDirectory.open(path, follow=False) as directory:
                return [name for name in directory.names() if name != KEY_MARKER]
        except FileNotFoundError:
            return []
        except OSError:
            return [key]  # a stray file or link where a key directory should be

    def keys(self) -> dict[str, datetime]:
        try:
            root = self._open_root()
        except (FileNotFoundError, NotADirectoryError):
            return {}
        with root:
            found = {name: self._written(root, name) for name in root.names()}
        return {name: written for name, written in found.items() if written is not None}

    def key_written(self, key: str) -> datetime | None:
        try:
            with self._open_root() as root:
                return self._written(root, check_artifact_key(key))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _written(self, root: StoreDirectory, name: str) -> datetime | None:
        """When the key ``name`` was written, or ``None`` if ``name`` is not a real directory with its marker."""
        status = root.lstat(name)
        if status is None or not stat.S_ISDIR(status.st_mode) or not is_artifact_key(name):
            return None
        try:
            with root.subdirectory(name) as directory:
                if not directory.is_file(KEY_MARKER):
                    return None
        except OSError:  # swapped for a link meanwhile, or unreadable
            return None
        return datetime.fromtimestamp(status.st_mtime, timezone.utc)

    def staging_dir(self) -> Path | None:
        try:
            with self._open_root(create=True) as root, private_directory(root, ".staging", create=True) as staging:
                return staging.path if staging is not None else None
        except OSError:  # a read-only store: the client stages in the system's temporary directory
            return None


def _has_type(path: Path, kind: int) -> bool:
    try:
        return stat.S_IFMT(os.lstat(path).st_mode) == kind
    except OSError:
        return False


def _remove_if_empty(directory: StoreDirectory, name: str) -> None:
    with contextlib.suppress(OSError):
        directory.remove_empty(name)


def _discard(directory: StoreDirectory, name: str) -> None:
    """Remove what this process wrote; what cannot be removed now is left for ``ebonite gc``."""
    try:
        directory.remove(name)
    except (OSError, RecursionError):
        pass


def _copy_stream(reader: BinaryIO, writer: BinaryIO) -> None:
    """Copy one open file into another: in the kernel where it can (sendfile), else in 1 MiB chunks."""
    try:
        offset, size = 0, os.fstat(reader.fileno()).st_size
        while offset < size:
            sent = os.sendfile(writer.fileno(), reader.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
        if offset >= size:
            return
        reader.seek(offset)
        writer.seek(offset)
    except (AttributeError, OSError):  # no sendfile between these files: copy in Python
        reader.seek(0)
        writer.seek(0)
        writer.truncate()
    shutil.copyfileobj(reader, writer, 1024 * 1024)


def _warn(message: str) -> None:
    import logging  # deferred: only a failed clean-up warns, and logging costs 3 ms of `import ebonite_core`

    logging.getLogger(__name__).warning("%s", message)


_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


__all__ = ["LocalArtifactRepository"]
