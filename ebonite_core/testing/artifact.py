"""The contract every ArtifactRepository keeps (see its docstring)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest

from ..errors import ArtifactNotFoundError, EboniteError
from ..repository import KEY_MARKER, ArtifactRepository
from .capabilities import missing_factory, requires
from .checks import clean_every_leftover
from .processes import run_together

Factory = Callable[[], ArtifactRepository]


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def _push_keys(worker: int, ready: Callable[[], Any], factory: Factory) -> dict[str, Any]:
    """One process of the concurrency test: push its own keys while the others push and delete theirs."""
    repo = factory()
    with tempfile.TemporaryDirectory() as directory:
        ready()
        for index in range(8):
            key = f"w{worker}k{index}"
            repo.push(key, {"model.pkl": _write(Path(directory), f"f{index}", key.encode() * 1000)})
            if index % 2:
                repo.delete(key)
    repo.close()
    return {}


class ForeignEntries(Protocol):
    """What the ``foreign_entries`` fixture returns: files the store did not write, where a key would be."""

    def plant(self, name: str) -> None:
        """Put ``name`` where a key of that name would be, as a user's folder or another registry nested under
        the store's root would: files inside it, and one level down a key of the nested registry with its own
        marker (``<root>/<name>/<inner key>/.ebonite-key``), but no marker at ``<root>/<name>/.ebonite-key``."""

    def present(self, name: str) -> bool:
        """Whether everything :meth:`plant` put under ``name`` is still there."""


class ArtifactRepositoryContract:
    """The ArtifactRepository contract.

    Override ``artifact_repository_factory`` to return a picklable callable that opens the store under test:
    each call returns a new repository object on one shared store, empty at the start of each test. Backends
    that cannot be reopened or shared between processes override ``artifact_repository`` instead and switch
    the capabilities off. ``large_file_size`` sets the size of the file used to check streaming transfers;
    raise it above your backend's multipart threshold. ``plant_leftover`` leaves what an interrupted
    operation of the backend leaves behind and returns a part of how ``clean_leftovers`` describes it
    (default: ``None``, a backend that leaves nothing).
    """

    supports_reopen: ClassVar[bool] = True
    """A second repository object on the same store sees the first one's files."""
    supports_concurrent_processes: ClassVar[bool] = True
    """Several processes can push and delete in one store at once."""
    concurrent_processes: ClassVar[int] = 4
    large_file_size: ClassVar[int] = 12 * 1024 * 1024
    supports_config: ClassVar[bool] = True
    """``config()`` returns the options that rebuild the repository: ``type(repo)(**repo.config())``."""

    @pytest.fixture
    def artifact_repository_factory(self) -> Factory:
        raise missing_factory("artifact_repository", "supports_reopen = supports_concurrent_processes")

    @pytest.fixture
    def artifact_repository(self, artifact_repository_factory: Factory) -> ArtifactRepository:
        return artifact_repository_factory()

    @pytest.fixture
    def repo(self, artifact_repository: ArtifactRepository) -> ArtifactRepository:
        return artifact_repository

    @pytest.fixture
    def plant_leftover(self) -> Callable[[ArtifactRepository], str] | None:
        return None

    @pytest.fixture
    def foreign_entries(self, repo: ArtifactRepository) -> ForeignEntries:
        raise NotImplementedError(
            "Override the foreign_entries fixture: it returns an object with plant(name) and present(name) that "
            "puts files where a key called name would be in your backend's layout, without the key's marker "
            "(see ebonite_core.testing.artifact.ForeignEntries)."
        )

    @pytest.fixture
    def source(self, tmp_path: Path) -> Path:
        directory = tmp_path / "source"
        directory.mkdir()
        return directory

    def _download(self, repo: ArtifactRepository, key: str, name: str, tmp_path: Path) -> bytes:
        destination = tmp_path / f"downloaded-{key}-{name}"
        repo.download(key, name, destination)
        return destination.read_bytes()

    def test_push_and_download_round_trip(self, repo: ArtifactRepository, source: Path, tmp_path: Path) -> None:
        contents = {"model.pkl": bytes(range(256)) * 10, "empty.bin": b"", "meta.json": b'{"a": 1}'}
        repo.push("key1", {name: _write(source, name, data) for name, data in contents.items()})
        for name, data in contents.items():
            assert self._download(repo, "key1", name, tmp_path) == data

    def test_push_leaves_the_source_files(self, repo: ArtifactRepository, source: Path) -> None:
        path = _write(source, "model.pkl", b"data")
        repo.push("key1", {"model.pkl": path})
        assert path.read_bytes() == b"data"

    def test_large_file_round_trips(self, repo: ArtifactRepository, source: Path, tmp_path: Path) -> None:
        data = os.urandom(1024 * 1024) * (self.large_file_size // (1024 * 1024)) + b"tail"
        repo.push("big", {"model.pkl": _write(source, "model.pkl", data)})
        assert self._download(repo, "big", "model.pkl", tmp_path) == data

    def test_an_existing_key_is_never_overwritten(self, repo: ArtifactRepository, source: Path, tmp_path: Path) -> None:
        repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"first")})
        with pytest.raises((FileExistsError, EboniteError)):
            repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"second")})
        assert self._download(repo, "key1", "model.pkl", tmp_path) == b"first"

    def test_missing_files_raise_artifact_not_found(
        self, repo: ArtifactRepository, source: Path, tmp_path: Path
    ) -> None:
        with pytest.raises(ArtifactNotFoundError):
            repo.download("nokey", "model.pkl", tmp_path / "out")
        repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"data")})
        with pytest.raises(ArtifactNotFoundError):
            repo.download("key1", "other.pkl", tmp_path / "out")

    def test_delete_removes_one_key_and_never_its_prefix_siblings(
        self, repo: ArtifactRepository, source: Path, tmp_path: Path
    ) -> None:
        for key in ("1", "10", "100", "1a"):
            repo.push(key, {"model.pkl": _write(source, "model.pkl", key.encode())})
        repo.delete("1")
        with pytest.raises(ArtifactNotFoundError):
            repo.download("1", "model.pkl", tmp_path / "out")
        for key in ("10", "100", "1a"):
            assert self._download(repo, key, "model.pkl", tmp_path) == key.encode()
        assert set(repo.keys()) == {"10", "100", "1a"}

    def test_delete_of_a_missing_key_is_not_an_error(self, repo: ArtifactRepository) -> None:
        repo.delete("never-pushed")

    def test_a_deleted_key_can_be_pushed_again(self, repo: ArtifactRepository, source: Path, tmp_path: Path) -> None:
        repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"first")})
        repo.delete("key1")
        repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"second")})
        assert self._download(repo, "key1", "model.pkl", tmp_path) == b"second"

    def test_keys_lists_stored_keys_with_aware_times(self, repo: ArtifactRepository, source: Path) -> None:
        assert dict(repo.keys()) == {}
        for key in ("a1", "b2"):
            repo.push(key, {"x.bin": _write(source, "x.bin", b"x"), "y.bin": _write(source, "y.bin", b"y")})
        keys = repo.keys()
        assert set(keys) == {"a1", "b2"}
        assert all(when.tzinfo is not None for when in keys.values())

    @pytest.mark.parametrize("bad", ["../escape", "a/b", ".hidden", "..", "", "a\\b", "-flag", "x" * 300])
    def test_unsafe_keys_and_names_are_refused(
        self, repo: ArtifactRepository, source: Path, tmp_path: Path, bad: str
    ) -> None:
        path = _write(source, "model.pkl", b"data")
        with pytest.raises(ValueError):
            repo.push(bad, {"model.pkl": path})
        with pytest.raises(ValueError):
            repo.push("goodkey", {bad: path})
        with pytest.raises(ValueError):
            repo.download(bad, "model.pkl", tmp_path / "out")
        with pytest.raises(ValueError):
            repo.delete(bad)
        assert set(repo.keys()) == set()

    def test_only_keys_the_store_wrote_are_listed_or_deleted(
        self, repo: ArtifactRepository, source: Path, foreign_entries: ForeignEntries
    ) -> None:
        """A user's folder next to the keys, or a registry nested under this one's root, is never a key: not
        listed, not deleted, whatever its name (even one in the format of ebonite's keys)."""
        for name in ("bert-base", "resnet50", "teamb"):
            foreign_entries.plant(name)
        repo.push("mine", {"model.pkl": _write(source, "model.pkl", b"mine")})
        assert set(repo.keys()) == {"mine"}
        assert repo.key_written("mine") is not None and repo.key_written("bert-base") is None
        for name in ("bert-base", "teamb"):
            with pytest.raises(EboniteError):
                repo.delete(name)
        assert all(foreign_entries.present(name) for name in ("bert-base", "resnet50", "teamb"))
        assert repo.list_files("mine") in (None, ["model.pkl"]), f"{KEY_MARKER} is no artifact file"
        repo.delete("mine")
        assert set(repo.keys()) == set() and foreign_entries.present("resnet50")

    def test_download_into_when_offered_writes_the_stored_bytes(
        self, repo: ArtifactRepository, source: Path, tmp_path: Path
    ) -> None:
        contents = {"model.pkl": os.urandom(3 * 1024 * 1024 + 5), "empty.bin": b""}
        repo.push("key1", {name: _write(source, name, data) for name, data in contents.items()})
        for name, data in contents.items():
            with open(tmp_path / name, "wb") as file:
                streamed = repo.download_into("key1", name, file)
            assert (tmp_path / name).read_bytes() == (data if streamed else b""), "False: nothing written"
        if streamed:  # a missing file is refused as download refuses it
            with open(tmp_path / "other.pkl", "wb") as file, pytest.raises(ArtifactNotFoundError):
                repo.download_into("key1", "other.pkl", file)

    def test_local_path_when_offered_reads_the_stored_bytes(self, repo: ArtifactRepository, source: Path) -> None:
        repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"stored")})
        path = repo.local_path("key1", "model.pkl")
        if path is not None:
            assert Path(path).read_bytes() == b"stored"

    # Capabilities
    @requires("supports_reopen")
    def test_a_reopened_store_sees_every_file(
        self, repo: ArtifactRepository, source: Path, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        artifact_repository_factory = request.getfixturevalue("artifact_repository_factory")
        repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"stored")})
        other = artifact_repository_factory()
        assert self._download(other, "key1", "model.pkl", tmp_path) == b"stored"
        other.delete("key1")
        assert set(repo.keys()) == set()

    @requires("supports_concurrent_processes")
    def test_concurrent_processes_push_and_delete_without_interference(
        self, repo: ArtifactRepository, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        count = self.concurrent_processes
        run_together(_push_keys, count, request.getfixturevalue("artifact_repository_factory"))
        expected = {f"w{worker}k{index}" for worker in range(count) for index in range(0, 8, 2)}
        assert set(repo.keys()) == expected
        for key in expected:
            assert self._download(repo, key, "model.pkl", tmp_path) == key.encode() * 1000

    @requires("supports_config")
    def test_config_rebuilds_an_equivalent_repository(
        self, repo: ArtifactRepository, source: Path, tmp_path: Path
    ) -> None:
        """``type(repo)(**repo.config())`` is the same store: ``save_config``, ``--config``, ``gc`` and ``copy``
        rebuild repositories this way."""
        repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"stored")})
        options = repo.config()
        assert json.loads(json.dumps(options)) == options, f"config() is not JSON data: {options!r}"
        rebuilt = type(repo)(**options)
        try:
            assert rebuilt.config() == options
            if self.supports_reopen:
                assert self._download(rebuilt, "key1", "model.pkl", tmp_path) == b"stored", options
        finally:
            rebuilt.close()

    def test_clean_leftovers_removes_only_leftovers(
        self,
        repo: ArtifactRepository,
        source: Path,
        tmp_path: Path,
        plant_leftover: Callable[[ArtifactRepository], str] | None,
    ) -> None:
        """``clean_leftovers`` (what ``ebonite gc`` calls) reports, then removes, what interrupted operations
        left, and never a stored key, even when everything counts as old."""
        repo.push("key1", {"model.pkl": _write(source, "model.pkl", b"stored")})
        clean_every_leftover(repo, plant_leftover(repo) if plant_leftover is not None else None)
        assert set(repo.keys()) == {"key1"}
        assert self._download(repo, "key1", "model.pkl", tmp_path) == b"stored"
