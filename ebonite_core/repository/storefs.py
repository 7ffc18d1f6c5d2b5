"""Reading, ageing and removing entries of a local store without ever following a symbolic link out of it.

A store's directories are opened once and their entries handled relative to the open directory (``dir_fd``),
so that a symbolic link planted anywhere inside, under any name, is never followed, and a directory swapped
for a link between a check and a removal is not followed either. The store's root itself may be a link (a
user's choice of where the store lives); nothing below it is followed. Where the platform has no ``dir_fd``
(Windows), entries are handled by path, checked with ``lstat`` first.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from ..errors import RepositoryError

_FD_SAFE = {os.open, os.stat, os.unlink, os.rmdir, os.mkdir, os.rename} <= os.supports_dir_fd and hasattr(
    os, "O_NOFOLLOW"
)
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


class StoreDirectory:
    """One directory of a store, opened so that its entries are looked at and removed without following links.

    Use as a context manager (it holds a file descriptor). :meth:`open` follows a link at ``path`` itself only
    when ``follow`` is true (for a store's root); :meth:`subdirectory` never does.
    """

    def __init__(self, path: Path, descriptor: int | None) -> None:
        self.path = path
        self.fd = descriptor

    @classmethod
    def open(cls, path: Path, follow: bool = True) -> StoreDirectory:
        """Open ``path``; ``NotADirectoryError`` (or ``OSError`` ``ELOOP``) when it is not a directory, or is a link
        and ``follow`` is false; ``FileNotFoundError`` when it is missing."""
        if not _FD_SAFE:
            status = os.stat(path, follow_symlinks=follow)
            if not stat.S_ISDIR(status.st_mode):
                raise NotADirectoryError(f"{path} is not a directory")
            return cls(path, None)
        flags = _DIRECTORY_FLAGS | (0 if follow else os.O_NOFOLLOW)
        return cls(path, os.open(path, flags))

    def __enter__(self) -> StoreDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _at(self, name: str) -> tuple[str, int | None]:
        return (name, self.fd) if self.fd is not None else (str(self.path / name), None)

    def lstat(self, name: str) -> os.stat_result | None:
        """The entry's own status (a link is not followed), or ``None`` when it is missing."""
        path, fd = self._at(name)
        try:
            return os.stat(path, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def is_directory(self, name: str) -> bool:
        status = self.lstat(name)
        return status is not None and stat.S_ISDIR(status.st_mode)

    def is_file(self, name: str) -> bool:
        status = self.lstat(name)
        return status is not None and stat.S_ISREG(status.st_mode)

    def names(self) -> list[str]:
        """The names of the entries, sorted; ``[]`` when the directory is gone."""
        try:
            with os.scandir(self.fd if self.fd is not None else self.path) as entries:
                return sorted(entry.name for entry in entries)
        except FileNotFoundError:
            return []

    def subdirectory(self, name: str, create: bool = False) -> StoreDirectory:
        """The directory ``name`` inside this one, never through a link (``OSError`` if it is one, or no
        directory); created first when ``create`` is true and it is missing."""
        path, fd = self._at(name)
        if create:
            try:
                os.mkdir(path, dir_fd=fd)
            except FileExistsError:
                pass
        if self.fd is None:
            status = os.stat(path, follow_symlinks=False)
            if not stat.S_ISDIR(status.st_mode):
                raise NotADirectoryError(f"{self.path / name} is not a directory")
            return StoreDirectory(self.path / name, None)
        return StoreDirectory(self.path / name, os.open(name, _DIRECTORY_FLAGS | os.O_NOFOLLOW, dir_fd=self.fd))

    def make_directory(self, name: str) -> StoreDirectory:
        """Create the new directory ``name`` (``FileExistsError`` if anything has that name) and open it."""
        path, fd = self._at(name)
        os.mkdir(path, dir_fd=fd)
        return self.subdirectory(name)

    def rename(self, name: str, target: StoreDirectory, new_name: str) -> None:
        """Move the entry ``name`` (whatever it is: a link moves as a link) to ``new_name`` in ``target``."""
        source, source_fd = self._at(name)
        destination, target_fd = target._at(new_name)
        os.rename(source, destination, src_dir_fd=source_fd, dst_dir_fd=target_fd)

    def last_written(self, name: str) -> float:
        """The newest modification time of the entry and, for a directory, of everything inside it."""
        status = self.lstat(name)
        if status is None:
            raise FileNotFoundError(str(self.path / name))
        newest = status.st_mtime
        if stat.S_ISDIR(status.st_mode):
            for times in self._walk(name, lambda entry: entry.st_mtime):
                newest = max(newest, times)
        return newest

    def _walk(self, name: str, pick: Callable[[os.stat_result], float]) -> Iterator[float]:
        if self.fd is None:
            for directory, subdirectories, files in os.walk(self.path / name):  # os.walk follows no link
                for entry in subdirectories + files:
                    try:
                        yield pick(os.lstat(os.path.join(directory, entry)))
                    except FileNotFoundError:
                        continue
            return
        for _, subdirectories, files, directory_fd in os.fwalk(name, dir_fd=self.fd):  # follows no link
            for entry in subdirectories + files:
                try:
                    yield pick(os.stat(entry, dir_fd=directory_fd, follow_symlinks=False))
                except FileNotFoundError:
                    continue

    def remove(self, name: str) -> None:
        """Remove the entry: a file or a link is unlinked (never followed), a directory removed with all it holds."""
        status = self.lstat(name)
        if status is None:
            return
        path, fd = self._at(name)
        if not stat.S_ISDIR(status.st_mode):
            os.unlink(path, dir_fd=fd)
            return
        if self.fd is None:
            shutil.rmtree(path)  # refuses a link at the top, follows none inside
            return
        with self.subdirectory(name) as inner:
            for entry in inner.names():
                inner.remove(entry)
        os.rmdir(name, dir_fd=self.fd)

    def remove_empty(self, name: str) -> None:
        """Remove the directory ``name`` if it is empty (``OSError`` otherwise, or if it is a link)."""
        path, fd = self._at(name)
        os.rmdir(path, dir_fd=fd)

    def create_file(self, name: str) -> BinaryIO:
        """A new file ``name`` opened for writing; ``FileExistsError`` if anything has that name (never follows
        a link planted there)."""
        path, fd = self._at(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        return os.fdopen(os.open(path, flags, 0o666, dir_fd=fd), "wb")

    def link(self, source: Path, name: str) -> None:
        """Hard-link the file at ``source`` as ``name`` here."""
        path, fd = self._at(name)
        os.link(source, path, dst_dir_fd=fd, follow_symlinks=False)

    def fsync(self, name: str | None = None) -> None:
        """Flush the entry ``name`` (or this directory itself) to the disk."""
        if name is None and self.fd is not None:
            os.fsync(self.fd)
            return
        path, fd = self._at(name) if name is not None else (str(self.path), None)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0), dir_fd=fd)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextmanager
def private_directory(root: StoreDirectory, name: str, create: bool = False) -> Iterator[StoreDirectory | None]:
    """A private directory of the store (``.tmp``...), or ``None`` when it is missing or is not a real directory:
    a link planted under its name is never followed, by anything."""
    try:
        directory = root.subdirectory(name, create=create)
    except OSError as err:
        status = root.lstat(name)
        if status is not None and stat.S_ISDIR(status.st_mode):
            raise  # a real directory that cannot be opened (permissions): say so
        if create and status is None:
            raise RepositoryError(f"Cannot create {root.path / name}: {err.strerror or err}") from err
        yield None  # missing, or a link or a file that the store did not put there
        return
    with directory:
        yield directory


def remove_old(
    directory: StoreDirectory,
    names: list[str],
    older_than: datetime,
    dry_run: bool,
    kind: int = stat.S_IFDIR,
) -> list[str]:
    """Remove each entry of ``names`` that is of ``kind`` (a real directory, or a regular file with
    ``stat.S_IFREG``) and whose newest write is older than ``older_than``; return the names of those removed
    (or that would be, with ``dry_run``). Anything else under these names (a link, a device...) was not
    written by the store: it is left alone, never followed.
    """
    removed = []
    limit = older_than.timestamp()
    for name in sorted(names):
        try:
            status = directory.lstat(name)
            if status is None or stat.S_IFMT(status.st_mode) != kind:
                continue
            if directory.last_written(name) >= limit:
                continue
            if not dry_run:
                directory.remove(name)
        except FileNotFoundError:  # removed by its owner meanwhile
            continue
        except (OSError, RecursionError) as err:  # RecursionError: a tree planted deeper than Python recurses
            raise RepositoryError(f"Cannot remove the leftover {directory.path / name}: {err}") from err
        removed.append(name)
    return removed
