"""The ``zip`` artifact repository: each key is one zip file, written aside and linked into place."""

from __future__ import annotations

import os
import shutil
import uuid
import zipfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from ebonite_core import ArtifactNotFoundError, ArtifactRepository, RepositoryError
from ebonite_core.repository import KEY_MARKER, check_artifact_key, check_artifact_name, deletable_key, key_marker


class ZipArtifactRepository(ArtifactRepository):
    """Artifacts as ``<path>/<key>.zip``, one zip file per pushed model."""

    type = "zip"
    path_options = ("path",)  # relative to a config file's directory

    def __init__(self, path: str | os.PathLike[str] = "zip-artifacts") -> None:
        self.root = Path(path).absolute()

    def config(self) -> dict[str, str]:
        return {"path": str(self.root)}  # what rebuilds this repository: save_config, gc and copy need it

    def _archive(self, key: str) -> Path:
        return self.root / f"{check_artifact_key(key)}.zip"

    def push(self, key: str, files: Mapping[str, Path]) -> None:
        target = self._archive(key)
        names = {check_artifact_name(name): Path(path) for name, path in files.items()}
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{key}.{uuid.uuid4().hex}.partial"
        try:
            with zipfile.ZipFile(partial, "x") as archive:
                archive.writestr(KEY_MARKER, key_marker(key))  # proves to gc that this store wrote the key
                for name, path in names.items():
                    archive.write(path, arcname=name)  # streams the file in chunks
            with open(partial, "rb") as written:
                os.fsync(written.fileno())
            os.link(partial, target)  # atomic, and fails if the key exists: never overwrites
        except FileExistsError:
            raise FileExistsError(f"Artifact key {key!r} already exists in {self.root}.") from None
        except OSError as err:
            raise RepositoryError(f"Cannot write {target}: {err}") from err
        finally:
            partial.unlink(missing_ok=True)

    def download(self, key: str, name: str, destination: Path) -> None:
        archive_path = self._archive(key)
        check_artifact_name(name)
        try:
            with zipfile.ZipFile(archive_path) as archive, archive.open(name) as source:
                with open(destination, "wb") as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
        except (FileNotFoundError, KeyError) as err:
            raise ArtifactNotFoundError(f"No artifact file {name!r} in {archive_path}.") from err

    def delete(self, key: str) -> None:
        archive = self._archive(key)
        if archive.is_symlink() or (archive.exists() and not deletable_key(key, self._marked(archive))):
            raise RepositoryError(f"{archive} was not written by this store: it was left alone.")
        archive.unlink(missing_ok=True)

    def keys(self) -> dict[str, datetime]:
        """The archives holding the marker: a user's own zip files in the same directory are no keys."""
        if not self.root.is_dir():
            return {}
        return {
            path.stem: datetime.fromtimestamp(path.lstat().st_mtime, timezone.utc)
            for path in self.root.glob("*.zip")
            if not path.is_symlink() and self._marked(path)
        }

    @staticmethod
    def _marked(archive: Path) -> bool:
        try:
            with zipfile.ZipFile(archive) as opened:
                return KEY_MARKER in opened.namelist()
        except (OSError, zipfile.BadZipFile):
            return False
