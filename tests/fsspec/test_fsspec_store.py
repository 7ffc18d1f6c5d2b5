"""The guarantees beyond the shipped contract, on real servers: the layout a server really holds, nothing
left behind by a failed push, maintenance that touches only what the store wrote (never through a symbolic
link), errors translated with the URL's password masked, and a dropped connection reopened."""

from __future__ import annotations

import logging
import os
import random
import string
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from ebonite_fsspec.errors import FsspecAccessError
from ebonite_fsspec.repository import MARKER, FsspecArtifactRepository
from fsspec_servers import PASSWORD, USER, AzuriteServer, FTPServer, Server
from fsspec_stores import A_WEEK_AGO, AZURE_CONTAINER, Store

from ebonite_core import Ebonite, LocalMetadataRepository
from ebonite_core.errors import RepositoryError
from ebonite_core.maintenance.gc import collect_garbage
from ebonite_core.testing import ScaleModel


def _file(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def test_a_key_on_the_server_is_its_files_and_the_stores_marker(store: Store, tmp_path: Path) -> None:
    repository = store.repository()
    repository.push(
        "k1", {"model.pkl": _file(tmp_path, "model.pkl", b"weights"), "meta.json": _file(tmp_path, "m", b"{}")}
    )
    assert repository.list_files("k1") == ["meta.json", "model.pkl"]
    assert repository.list_files("k10") == []
    if store.directory is not None:
        assert sorted(path.name for path in (store.directory / "k1").iterdir()) == [MARKER, "meta.json", "model.pkl"]
        assert list((store.directory / ".tmp").iterdir()) == [], "a finished push leaves nothing in .tmp"


# Not SFTP: asyncssh reads a file up to its stat size, 0 for /proc/self/mem, so its push does not fail.
@pytest.mark.parametrize("protocol", ["file", "memory", "ftp", "webdav", "azure"])
def test_a_push_that_fails_half_way_leaves_nothing(
    protocol: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The second file cannot be read (reading /proc/self/mem fails): the push fails, and neither the key nor a
    private directory stays on the server; the next push works."""
    store: Store = request.getfixturevalue(f"{protocol}_store")
    repository = store.repository()
    with pytest.raises(RepositoryError, match=r"Cannot push artifacts under key .k1. in .*OSError"):
        repository.push("k1", {"a.bin": _file(tmp_path, "a.bin", os.urandom(300_000)), "b.bin": Path("/proc/self/mem")})
    assert repository.keys() == {}
    assert repository.list_files("k1") == []
    if store.directory is not None:
        assert not (store.directory / "k1").exists()
        assert list((store.directory / ".tmp").iterdir()) == []
    repository.push("k1", {"a.bin": _file(tmp_path, "a.bin", b"again")})
    repository.download("k1", "a.bin", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"again"


def test_maintenance_deletes_only_what_the_store_wrote(store: Store, tmp_path: Path) -> None:
    """A user's folders next to the store's keys, and foreign entries in its private folders, survive gc and
    delete; an unfinished push of this store, older than the grace period, is removed."""
    for path in ("bert-base/config.json", "resnet50/weights.bin", "1/model.pkl", ".tmp/notours/x", ".trash/x.bin"):
        store.plant(path)
    stale = f".tmp/k9.{uuid.uuid4().hex}/model.pkl"  # what a killed push of this store leaves
    store.plant(stale)
    repository = store.repository()
    client = Ebonite(LocalMetadataRepository(tmp_path / "metadata.json"), repository)
    model = client.create_model(ScaleModel(2.0), [1.0], "kept")
    repository.push("10", {"model.pkl": _file(tmp_path, "model.pkl", b"unreferenced")})
    os.utime(store.directory / "10", (A_WEEK_AGO, A_WEEK_AGO)) if store.directory else None

    assert set(repository.keys()) == {model.artifact_key, "10"}
    for foreign in ("bert-base", "1"):  # there, but not written by this store: refused, left alone
        with pytest.raises(RepositoryError, match="not written by this store"):
            repository.delete(foreign)
    report = collect_garbage(client, older_than=timedelta(0))
    assert set(report.removed_keys) == {"10"}
    for path in ("bert-base/config.json", "resnet50/weights.bin", "1/model.pkl", ".tmp/notours/x", ".trash/x.bin"):
        assert store.planted(path), path
    assert not store.planted(stale) or not repository.protocol.renames
    assert client.get_model("kept", "default_task", "default_project").predict([3.0]) == [6.0]


@pytest.mark.parametrize("protocol", ["file", "sftp"])  # the protocols that show links to their clients
def test_maintenance_never_follows_a_symbolic_link(
    protocol: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store: Store = request.getfixturevalue(f"{protocol}_store")
    repository = store.repository()
    repository.push("real", {"model.pkl": _file(tmp_path, "model.pkl", b"data")})
    assert store.directory is not None
    victim = tmp_path / "victim"
    leftover_name = f"k.{uuid.uuid4().hex}"
    (victim / leftover_name).mkdir(parents=True)
    (victim / leftover_name / "precious").write_bytes(b"keep me")
    (victim / "other").mkdir()
    (victim / "other" / MARKER).write_bytes(b"{}")  # looks like a key of the store
    (victim / "other" / "precious").write_bytes(b"keep me too")
    for path in (victim / leftover_name / "precious", victim / leftover_name, victim / "other"):
        os.utime(path, (A_WEEK_AGO, A_WEEK_AGO))
    os.symlink(victim, store.directory / ".trash")
    (store.directory / ".tmp").mkdir(exist_ok=True)
    os.symlink(victim / leftover_name, store.directory / ".tmp" / f"k2.{uuid.uuid4().hex}")
    os.symlink(victim / "other", store.directory / "evil")

    assert set(repository.keys()) == {"real"}
    assert repository.clean_leftovers(older_than=datetime.now(timezone.utc)) == []
    repository.delete("evil")
    assert (victim / leftover_name / "precious").read_bytes() == b"keep me"
    assert (victim / "other" / "precious").read_bytes() == b"keep me too"


# The protocols that rename: object stores have no private folders (an unfinished push is a key, which the
# maintenance test above sees collected).
@pytest.mark.parametrize("protocol", ["file", "ftp", "sftp", "webdav"])
def test_leftovers_are_removed_once_older_than_the_grace_period(protocol: str, request: pytest.FixtureRequest) -> None:
    store: Store = request.getfixturevalue(f"{protocol}_store")
    assert store.directory is not None
    leftover = f".tmp/k9.{uuid.uuid4().hex}"
    store.plant(f"{leftover}/model.pkl")
    repository = store.repository()
    week_ago = datetime.now(timezone.utc) - timedelta(days=8)
    assert repository.clean_leftovers(week_ago) == []
    now = datetime.now(timezone.utc)
    assert repository.clean_leftovers(now, dry_run=True) == [f"{repository.where}/{leftover} (unfinished push)"]
    assert store.planted(f"{leftover}/model.pkl")
    assert repository.clean_leftovers(now) == [f"{repository.where}/{leftover} (unfinished push)"]
    assert not (store.directory / leftover).exists()


def _password() -> str:
    """A password drawn from every printable character, so that masking cannot rely on a friendly alphabet."""
    alphabet = string.printable.strip()
    return "".join(random.choice(alphabet) for _ in range(24)) + alphabet


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unreachable(protocol: str, password: str) -> FsspecArtifactRepository:
    port = _closed_port()
    url = {"ftp": "ftp", "sftp": "sftp", "webdav": "webdav+http"}[protocol]
    return FsspecArtifactRepository(
        f"{url}://{USER}:{quote(password, safe='')}@127.0.0.1:{port}/m", {"known_hosts": None} if url == "sftp" else {}
    )


# Not Azure: its SDK retries a refused connection for about 80 s (adlfs offers no way to say otherwise).
@pytest.mark.parametrize("protocol", ["ftp", "sftp", "webdav"])
def test_an_unreachable_server_is_a_repository_error_without_the_password(
    protocol: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password = _password()
    repository = _unreachable(protocol, password)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RepositoryError, match="cannot be reached") as raised:
        repository.push("k1", {"model.pkl": _file(tmp_path, "model.pkl", b"x")})
    _assert_hidden(password, raised.value, repository, caplog)
    assert repository.where in str(raised.value)


def _wrong_password(
    protocol: str, server_port: int, password: str, known_hosts: str | None
) -> FsspecArtifactRepository:
    if protocol == "ftp":
        return FsspecArtifactRepository(f"ftp://{USER}:{quote(password, safe='')}@127.0.0.1:{server_port}/m")
    if protocol == "sftp":
        return FsspecArtifactRepository(
            f"sftp://{USER}@127.0.0.1:{server_port}/m", {"password": password, "known_hosts": known_hosts}
        )
    return FsspecArtifactRepository(f"webdav+http://{USER}@127.0.0.1:{server_port}/m", {"password": password})


@pytest.mark.parametrize("protocol", ["ftp", "sftp", "webdav"])
def test_a_refused_password_is_an_access_error_that_never_shows_it(
    protocol: str, request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = request.getfixturevalue(f"{protocol}_server")
    password = _password()
    repository = _wrong_password(protocol, server.port, password, getattr(server, "known_hosts", None))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FsspecAccessError, match="access denied") as raised:
        repository.keys()
    assert isinstance(raised.value, PermissionError)
    _assert_hidden(password, raised.value, repository, caplog)


def test_a_refused_azure_key_is_an_access_error_that_never_shows_it(
    azurite_server: AzuriteServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = "V3J" + "".join(random.choice(string.ascii_letters) for _ in range(40)) + "=="
    connection = azurite_server.connection_string.replace(
        azurite_server.connection_string.split("AccountKey=")[1].split(";")[0], key
    )
    repository = FsspecArtifactRepository(f"abfs://{AZURE_CONTAINER}/m", {"connection_string": connection})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FsspecAccessError) as raised:
        repository.keys()
    _assert_hidden(key, raised.value, repository, caplog)


def _assert_hidden(
    secret: str, error: BaseException, repository: FsspecArtifactRepository, caplog: pytest.LogCaptureFixture
) -> None:
    shown = [str(error), repr(repository), caplog.text]
    cause = error.__cause__
    while cause is not None:
        shown.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    for text in shown:
        assert secret not in text and quote(secret, safe="") not in text, text


def test_a_connection_the_server_dropped_is_reopened(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """An FTP server closes idle control connections (here after one second); the next operation opens a new
    one instead of failing."""
    server = FTPServer(tmp_path_factory.mktemp("ftp-idle"), idle_timeout=1)
    server.start()
    try:
        repository = FsspecArtifactRepository(f"ftp://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{server.port}/m")
        repository.push("k1", {"model.pkl": _file(tmp_path, "model.pkl", b"first")})
        time.sleep(2)  # the server closes the idle connection meanwhile
        repository.push("k2", {"model.pkl": _file(tmp_path, "model.pkl", b"second")})
        assert set(repository.keys()) == {"k1", "k2"}
    finally:
        server.stop()


def test_an_sftp_server_whose_host_key_is_unknown_is_refused(sftp_server: Server, tmp_path: Path) -> None:
    """Host keys are checked by default (sshfs alone would not): an unknown server is an access error."""
    (tmp_path / "known_hosts").write_text("")
    repository = FsspecArtifactRepository(
        f"sftp://{USER}@127.0.0.1:{sftp_server.port}/m",
        {"password": PASSWORD, "known_hosts": str(tmp_path / "known_hosts")},
    )
    with pytest.raises(FsspecAccessError, match="host key is not trusted"):
        repository.keys()


@pytest.mark.parametrize("protocol", ["ftp", "sftp", "webdav"])
def test_transfers_stream_in_bounded_memory(protocol: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A 40 MiB file goes up and comes back while Python never holds more than a fraction of it (Azure's SDK
    sends files up to 64 MiB in one request, by design: benchmarks/fsspec_transfer.py measures it)."""
    import tracemalloc

    store: Store = request.getfixturevalue(f"{protocol}_store")
    source = tmp_path / "big.bin"
    with open(source, "wb") as file:
        for _ in range(40):
            file.write(os.urandom(1024 * 1024))
    repository = store.repository()
    repository.keys()  # connected before measuring
    tracemalloc.start()
    try:
        repository.push("big", {"model.bin": source})
        repository.download("big", "model.bin", tmp_path / "back.bin")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()
    assert peak < 16 * 1024 * 1024, f"{peak / 1024 / 1024:.1f} MiB held at once"
