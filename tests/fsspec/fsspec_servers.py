"""Real servers for the fsspec tests, each its own process on 127.0.0.1 with a port chosen by binding port 0.

- FTP: pyftpdlib, one user whose home is a temporary directory.
- SFTP: an asyncssh server with a throwaway host key, one user with a password, chrooted to a directory.
- WebDAV: wsgidav on cheroot, one user with a password, its root a directory.
- Azure Blob: Azurite (``npm install azurite@3``, done by ``.ci/install-services``), the documented
  development account.

Run as a script (``python fsspec_servers.py PROTOCOL ROOT USER PASSWORD``), this module is the server process
for FTP, SFTP and WebDAV: it prints ``listening PORT`` once it accepts connections and serves until killed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).parents[1]))  # services.py, also in a server's own process (run as a script)
from services import stop_process

STARTUP_SECONDS = 60.0  # a bounded wait for a server to answer; a slow start is reported, not awaited forever
USER = "ml"
PASSWORD = "s3cr:t@pw#1"  # characters that need care in a URL: the tests prove it never shows
URL_PASSWORD = "urlpw-7f3e"  # a password that can stand in a URL as it is
AZURITE_ACCOUNT = "devstoreaccount1"
# The documented, public development key of Azurite (not a secret).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_DIRECTORY = Path(__file__).parents[2] / ".services" / "azurite"
_LISTENING = re.compile(rb"listening (\d+)|successfully listens on http://127\.0\.0\.1:(\d+)")


class ServerUnavailable(RuntimeError):
    """A server could not be started; the reason says why."""


class Server:
    """One server process serving ``root`` (a local directory), started by :meth:`start`."""

    kind = "?"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.root = workdir / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def command(self) -> list[str]:
        return [sys.executable, __file__, self.kind, str(self.root), USER, PASSWORD, str(self.workdir)]

    def start(self) -> None:
        log = open(self.workdir / "server.log", "ab")
        try:
            self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=log, cwd=self.workdir)
        finally:
            log.close()
        assert self.process.stdout is not None
        self.port = self._read_port(self.process.stdout)

    def _read_port(self, stream: IO[bytes]) -> int:
        deadline = time.monotonic() + STARTUP_SECONDS
        os.set_blocking(stream.fileno(), False)
        seen = b""
        while time.monotonic() < deadline:
            chunk = stream.read() or b""
            seen += chunk
            if match := _LISTENING.search(seen):
                return int(match.group(1) or match.group(2))
            if self.process is not None and self.process.poll() is not None:
                raise ServerUnavailable(f"{self.kind} exited with code {self.process.returncode}: {self.log_tail()}")
            time.sleep(0.05)
        self.stop()
        raise ServerUnavailable(f"{self.kind} did not start listening within {STARTUP_SECONDS} s: {self.log_tail()}")

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds: the data is throwaway, and Azurite waits for its
        clients' idle keep-alive connections to close before it exits."""
        stop_process(self.process, grace)
        self.process = None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join((self.workdir / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class FTPServer(Server):
    kind = "ftp"

    def __init__(self, workdir: Path, idle_timeout: float = 0) -> None:
        super().__init__(workdir)
        self.idle_timeout = idle_timeout

    def command(self) -> list[str]:
        return [*super().command(), str(self.idle_timeout)]


class SFTPServer(Server):
    kind = "sftp"

    @property
    def known_hosts(self) -> str:
        """A known_hosts file holding the server's throwaway host key, written when the server started."""
        return str(self.workdir / "known_hosts")


class WebDAVServer(Server):
    kind = "webdav"


class AzuriteServer(Server):
    kind = "azurite"

    def command(self) -> list[str]:
        executable = AZURITE_DIRECTORY / "node_modules" / ".bin" / "azurite-blob"
        if not executable.exists() or shutil.which("node") is None:
            raise ServerUnavailable(f"Azurite is not installed in {AZURITE_DIRECTORY} (run .ci/install-services)")
        return [
            str(executable),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--location",
            str(self.root),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ]

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT};"
        )


SERVERS: dict[str, type[Server]] = {
    server.kind: server for server in (FTPServer, SFTPServer, WebDAVServer, AzuriteServer)
}


# The server processes
def _serve_ftp(root: str, user: str, password: str, idle_timeout: float = 0) -> None:
    import logging

    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer as PyFTPServer

    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, root, perm="elradfmwMT")
    # No pause after a failed login (pyftpdlib waits 3 s): the tests try wrong passwords on purpose.
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "auth_failed_timeout": 0})
    if idle_timeout:
        handler.timeout = idle_timeout  # seconds before an idle control connection is closed
    server = PyFTPServer(("127.0.0.1", 0), handler)
    print(f"listening {server.address[1]}", flush=True)
    server.serve_forever()


def _serve_sftp(root: str, user: str, password: str, workdir: str) -> None:
    import asyncio

    import asyncssh

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            return username == user and given == password

    async def main() -> None:
        key = asyncssh.generate_private_key("ssh-ed25519")
        server = await asyncssh.create_server(
            Server,
            "127.0.0.1",
            0,
            server_host_keys=[key],
            sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=root.encode()),
            allow_scp=False,
        )
        port = server.sockets[0].getsockname()[1]
        public = key.export_public_key("openssh").decode().strip()
        Path(workdir, "known_hosts").write_text(f"[127.0.0.1]:{port} {public}\n")
        print(f"listening {port}", flush=True)
        await server.serve_forever()

    asyncio.run(main())


def _serve_webdav(root: str, user: str, password: str) -> None:
    import logging

    from cheroot import wsgi
    from wsgidav.wsgidav_app import WsgiDAVApp

    app = WsgiDAVApp(
        {
            "provider_mapping": {"/": root},
            "simple_dc": {"user_mapping": {"*": {user: {"password": password}}}},
            "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
            "verbose": 0,
            "logging": {"enable": False, "enable_loggers": []},
            "lock_storage": True,
        }
    )
    logging.getLogger("wsgidav").setLevel(logging.ERROR)
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=8)
    server.prepare()
    print(f"listening {server.bind_addr[1]}", flush=True)
    server.serve()


if __name__ == "__main__":
    protocol, root_directory, user_name, user_password, *rest = sys.argv[1:]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if protocol == "ftp":
        _serve_ftp(root_directory, user_name, user_password, float(rest[1]) if len(rest) > 1 else 0)
    elif protocol == "sftp":
        _serve_sftp(root_directory, user_name, user_password, rest[0])
    elif protocol == "webdav":
        _serve_webdav(root_directory, user_name, user_password)
    else:
        raise SystemExit(f"unknown protocol {protocol!r}")
