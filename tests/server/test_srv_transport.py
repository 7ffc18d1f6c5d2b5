"""How the ``http`` client talks to a server: over TLS, through a configured proxy, and what it does when a
connection breaks under a download (files are downloaded in large blocks over ``http.client``, see
``ebonite_server/blocks.py``; everything else goes through httpx)."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ebonite_server.client import HttpArtifactRepository, HttpMetadataRepository
from ebonite_server.state import ServerState
from srv_processes import LOCAL_REGISTRY, LaunchedServer, serve

from ebonite_core import Ebonite, RepositoryError
from ebonite_core.model.storage import new_artifact_key
from ebonite_core.testing import ScaleModel

BODY = os.urandom(9 * 1024 * 1024 + 5)  # more than two of the client's blocks, and a tail


def _self_signed(directory: Path) -> tuple[Path, Path]:
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    return certificate, key


def test_a_model_is_pushed_and_loaded_over_tls_with_the_servers_certificate_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ebonite serve --ssl-certfile/--ssl-keyfile``; a client trusting the certificate (``SSL_CERT_FILE``, as
    httpx reads it) pushes and loads through it; one that does not is refused with a transport error."""
    certificate, key = _self_signed(tmp_path)
    (tmp_path / "registry.toml").write_text(LOCAL_REGISTRY)
    token = ServerState(tmp_path / "registry.server.sqlite3").create_token("p", "write")[0]
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    server = serve(tmp_path / "registry.toml", "--ssl-certfile", str(certificate), "--ssl-keyfile", str(key))
    clients = [HttpMetadataRepository(server.url, token), HttpArtifactRepository(server.url, token)]
    try:
        assert server.url.startswith("https://")
        ebnt = Ebonite(*clients)
        task = ebnt.get_or_create_task("p", "t")
        task.create_and_push_model(ScaleModel(3.0, BODY), [1.0], "m")
        loaded = ebnt.get_model("m", task).load()
        assert (loaded.object.payload, loaded.predict([2.0])) == (BODY, [6.0])
        monkeypatch.delenv("SSL_CERT_FILE")
        clients.append(HttpArtifactRepository(server.url, token))
        with pytest.raises(RepositoryError, match="CERTIFICATE_VERIFY_FAILED"):
            clients[-1].download(loaded.artifact_key or "", "model.pkl", tmp_path / "out")
    finally:
        for client in clients:
            client.close()  # else the server waits for their TLS goodbyes when it stops (30 s)
        server.stop()


def test_with_a_proxy_configured_downloads_go_through_httpx(
    local_server: LaunchedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http.client would not honour a proxy: where the environment names one, files come through httpx, which
    does (here the proxy is configured but bypassed for 127.0.0.1, so the server answers directly)."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    local_server.reset()
    repository = HttpArtifactRepository(local_server.url, local_server.token)
    assert repository.connection.blocks is None
    ebnt = Ebonite(HttpMetadataRepository(local_server.url, local_server.token), repository)
    task = ebnt.get_or_create_task("p", "t")
    task.create_and_push_model(ScaleModel(2.0, BODY), [1.0], "m")
    assert ebnt.get_model("m", task).load().object.payload == BODY


class RawServer:
    """A bare HTTP/1.1 server on 127.0.0.1 for what a real server does only rarely: each accepted connection is
    handed to ``answer(connection, index)``, run on a thread of its own."""

    def __init__(self, answer: Callable[[socket.socket, int], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.answer = answer
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.answer, args=(connection, self.connections), daemon=True).start()

    def close(self) -> None:
        self.listener.close()


def _read_request(connection: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        data = connection.recv(65536)
        if not data:
            return b""
        head += data
    return head


def _answer(connection: socket.socket, body: bytes, length: int) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % length + body)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket, int], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Callable[[socket.socket, int], None]) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_a_kept_connection_the_server_closed_is_replaced_once(raw_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A server closes an idle kept-alive connection when it likes (uvicorn after 5 s): the next download on
    it is sent again on a new connection, not reported as a failure."""

    def answer_once_then_close(connection: socket.socket, index: int) -> None:
        with connection:
            if _read_request(connection):
                _answer(connection, BODY, len(BODY))  # keep-alive, as HTTP/1.1 defaults to

    server = raw_server(answer_once_then_close)
    repository = HttpArtifactRepository(server.url, "token")
    for attempt in range(3):
        repository.download(new_artifact_key(), "model.pkl", tmp_path / f"out{attempt}")
        assert (tmp_path / f"out{attempt}").read_bytes() == BODY
    assert server.connections == 3


def test_a_download_cut_short_is_a_repository_error_and_leaves_no_file(raw_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The server announces more bytes than it sends and closes: http.client would end the body quietly, the
    client reports the connection closed early (not a checksum mismatch later), and keeps no partial file."""

    def answer_half(connection: socket.socket, index: int) -> None:
        with connection:
            if _read_request(connection):
                _answer(connection, BODY[: len(BODY) // 2], len(BODY))

    server = raw_server(answer_half)
    repository = HttpArtifactRepository(server.url, "token")
    with pytest.raises(RepositoryError, match=f"closed {len(BODY) - len(BODY) // 2} bytes early"):
        repository.download(new_artifact_key(), "model.pkl", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_thread_that_ends_leaves_no_connection_open(raw_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each thread downloads over a connection of its own, kept for its next download; when the thread ends,
    its connection goes with it (threads that come and go, one per request, would else leave a socket each)."""
    closed: list[threading.Event] = []

    def serve_until_closed(connection: socket.socket, index: int) -> None:
        closed.append(threading.Event())
        with connection:
            while _read_request(connection):
                _answer(connection, BODY, len(BODY))
        closed[index - 1].set()

    server = raw_server(serve_until_closed)
    repository = HttpArtifactRepository(server.url, "token")
    for index in range(4):
        thread = threading.Thread(target=repository.download, args=(new_artifact_key(), "m", tmp_path / f"{index}"))
        thread.start()
        thread.join()
    assert [path.read_bytes() == BODY for path in sorted(tmp_path.iterdir())] == [True] * 4
    gc.collect()
    assert len(closed) == 4 and all(event.wait(30) for event in closed)


@pytest.mark.parametrize("answer", [b"<html>a proxy's page</html>", b'{"name": "not a model"}'])
def test_a_success_answer_the_client_cannot_read_is_never_taken_for_a_refusal(  # type: ignore[no-untyped-def]
    raw_server, tmp_path: Path, answer: bytes
) -> None:
    """A push or a model's creation answered 201 with a body that is not the stored model (a proxy's page, a
    server of another version) may have stored the model all the same. The client raises a RepositoryError,
    after which the core asks the store before removing any file; a ValueError or MetadataCorruptError would
    count as a refusal, and the core would remove the files of a model that may be visible."""

    def created(connection: socket.socket, index: int) -> None:
        with connection:
            head = _read_request(connection)
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            received = len(head.split(b"\r\n\r\n", 1)[1])
            while received < length:
                received += len(connection.recv(65536))
            connection.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n" % len(answer) + answer)

    import hashlib

    from ebonite_core import Task
    from ebonite_core.objects import ArtifactFile
    from ebonite_core.testing import make_model

    server = raw_server(created)
    (tmp_path / "model.pkl").write_bytes(b"abc")
    manifest = [ArtifactFile("model.pkl", 3, hashlib.sha256(b"abc").hexdigest())]
    model = make_model("m", "1", artifact_key=new_artifact_key(), artifacts=manifest)
    task = Task("task", id="1", project_id="1")
    with pytest.raises(RepositoryError, match="cannot read"):
        HttpArtifactRepository(server.url, "t").push_model_files(
            str(model.artifact_key), {"model.pkl": tmp_path / "model.pkl"}, model, task
        )
    with pytest.raises(RepositoryError, match="cannot read"):
        HttpMetadataRepository(server.url, "t").create_model(model)
