"""Interrupted uploads leave nothing visible: a client that disconnects mid-upload, and a server killed
(SIGKILL) mid-upload. After either, no key and no model exist; a server's leftovers are for `ebonite gc`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ebonite_server.client import HttpArtifactRepository, HttpMetadataRepository
from ebonite_server.state import ServerState
from srv_processes import LOCAL_REGISTRY, run_ebonite, serve

from ebonite_core import ArtifactNotFoundError, Ebonite
from ebonite_core.testing import make_model

CHUNK = b"x" * (1024 * 1024)
SIZE = 64 * len(CHUNK)
WAIT_SECONDS = 60.0  # a bound on waiting for the server to receive the first bytes, not a time limit on it


def _registry(root: Path) -> Path:
    config = root / "registry.toml"
    config.write_text(LOCAL_REGISTRY)
    return config


def _staged(root: Path) -> list[Path]:
    """The files the server is receiving, in its private staging directories."""
    return [path for path in (root / "store").rglob("*") if path.is_file() and "ebonite-push-" in str(path)]


class StalledBody:
    """An upload body that sends half of the file, then waits until released, then fails or goes on."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        for index in range(SIZE // len(CHUNK)):
            if index == SIZE // len(CHUNK) // 2:
                self.release.wait(WAIT_SECONDS)
                raise ConnectionAbortedError("the client dies mid-upload")
            yield CHUNK


def _start_upload(url: str, token: str, key: str, body: StalledBody) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            httpx.put(
                f"{url}/api/v1/artifacts/{key}",
                params={"files": f"model.pkl:{SIZE}"},
                content=iter(body),
                headers={"Authorization": f"Bearer {token}", "Content-Length": str(SIZE)},
                timeout=120,
            )
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def _assert_nothing_visible(url: str, token: str, key: str, tmp_path: Path) -> None:
    ebnt = Ebonite(HttpMetadataRepository(url, token), HttpArtifactRepository(url, token))
    assert ebnt.artifact_repo.keys() == {}
    with pytest.raises(ArtifactNotFoundError):
        ebnt.artifact_repo.download(key, "model.pkl", tmp_path / "out")
    task = ebnt.get_or_create_task("p", "t")
    with pytest.raises(ArtifactNotFoundError):  # no model can claim what never fully arrived
        ebnt.meta_repo.create_model(make_model("ghost", task.id, artifact_key=key))
    assert ebnt.get_models(task) == []


@pytest.fixture
def token_root(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "registry"
    root.mkdir()
    _registry(root)
    return root, ServerState(root / "registry.server.sqlite3").create_token("p", "write")[0]


def test_a_client_that_disconnects_mid_upload_leaves_nothing(token_root: tuple[Path, str], tmp_path: Path) -> None:
    root, token = token_root
    server = serve(root / "registry.toml")
    try:
        body = StalledBody()
        thread, errors = _start_upload(server.url, token, "aa" * 16, body)
        _wait_for(lambda: any(path.stat().st_size > 0 for path in _staged(root)), "the server receive bytes")
        body.release.set()
        thread.join(WAIT_SECONDS)
        assert errors, "the upload should have failed on the client's side"
        _wait_for(lambda: not _staged(root), "the server remove its partial files")
        _assert_nothing_visible(server.url, token, "aa" * 16, tmp_path)
    finally:
        server.stop()


def test_a_server_killed_mid_upload_leaves_nothing_visible(token_root: tuple[Path, str], tmp_path: Path) -> None:
    root, token = token_root
    server = serve(root / "registry.toml")
    body = StalledBody()
    thread, errors = _start_upload(server.url, token, "bb" * 16, body)
    try:
        _wait_for(lambda: any(path.stat().st_size > 0 for path in _staged(root)), "the server receive bytes")
        server.kill()
    finally:
        body.release.set()
        thread.join(WAIT_SECONDS)
    assert errors
    assert _staged(root), "a killed server cannot clean up: its partial file stays, for ebonite gc"
    restarted = serve(root / "registry.toml")
    try:
        _assert_nothing_visible(restarted.url, token, "bb" * 16, tmp_path)
    finally:
        restarted.stop()
    collected = run_ebonite("gc", "--config", "registry.toml", "--older-than", "0s", cwd=root)
    assert collected.returncode == 0, collected.stderr
    assert not _staged(root)
