"""Throwaway PostgreSQL and MariaDB servers on loopback ports, as ``/work/shared/SERVICES.md`` describes.

Used by the tests' session fixtures and by ``benchmarks/sql_push.py`` and ``benchmarks/search.py``. Each
server lives in its own temporary directory, listens on 127.0.0.1 only, requires a password over TCP (so
that a wrong password is refused), and is stopped and removed by :meth:`stop`. Running as root, the servers
run as the ``postgres`` and ``mysql`` users, as their binaries insist.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TypeVar

from services import stop_process
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

USER = "ebonite"
PASSWORD = "ebonite-test-password"
STARTUP_TIMEOUT = 60.0


class ServerUnavailable(RuntimeError):
    """The server could not be started here (binaries missing, start-up failed); the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], what: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120, **kwargs)
    except (OSError, subprocess.SubprocessError) as err:
        output = getattr(err, "stderr", "") or getattr(err, "stdout", "") or ""
        raise ServerUnavailable(f"{what} failed: {err} {output.strip()[-2000:]}") from err


def _as_user(user: str) -> list[str]:
    """Prefix that runs a command as ``user`` when we are root (initdb and pg_ctl refuse to run as root)."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _private_dir(owner: str) -> Path:
    """A fresh directory the server's user may write into, readable by us."""
    root = Path(tempfile.mkdtemp(prefix=f"ebonite-{owner}-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, owner, owner)
    return root


class Server:
    """A running server: :meth:`url` for a database, :meth:`create_database` for a fresh one."""

    kind = ""
    driver = ""
    admin_database = ""

    def __init__(self) -> None:
        self.port = 0
        self.root: Path | None = None
        self._admin: Engine | None = None
        self._counter = itertools.count(1)

    def url(self, database: str, password: str = PASSWORD, user: str = USER) -> str:
        return f"{self.driver}://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(
                self.url(self.admin_database), isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0
            )
        return self._admin

    def start(self) -> Server:
        raise NotImplementedError

    def create_database(self, prefix: str = "test") -> str:
        """Create a new, empty database and return its URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        with self.admin().connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
            self._admin = None
        self._stop()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _stop(self) -> None:
        raise NotImplementedError


def _wait_for(engine_url: str, what: str, log: Path | None) -> None:
    """Wait until a plain connection succeeds (the servers print "ready" before accepting TCP)."""
    engine = create_engine(engine_url, poolclass=NullPool)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except Exception as err:
                if time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
                    raise ServerUnavailable(f"{what} did not accept connections: {err}\n{tail}") from err
                time.sleep(0.1)
    finally:
        engine.dispose()


class PostgresServer(Server):
    kind = "postgresql"
    driver = "postgresql+psycopg"
    admin_database = "postgres"

    def __init__(self) -> None:
        super().__init__()
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not candidates and not shutil.which("initdb"):
            raise ServerUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed.")
        self.bin = Path(candidates[-1]).parent if candidates else Path(shutil.which("initdb") or "").parent
        self.data: Path | None = None

    def socket_url(self, url: str, password: str, query: str = "") -> str:
        """The database of ``url`` reached through the server's Unix socket, where it trusts every local
        connection: any ``password`` in the URL (as written: percent-encoded or not) is accepted and ignored,
        which lets a test hand a repository passwords of its choice. ``query`` adds parameters."""
        database = url.rsplit("/", 1)[1]
        extra = f"&{query}" if query else ""
        return f"{self.driver}://{USER}:{password}@/{database}?host={self.root}&port={self.port}{extra}"

    def start(self) -> PostgresServer:
        self.root = _private_dir("postgres")
        self.data = self.root / "data"
        password_file = self.root / "password"
        password_file.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres", "postgres")
        _run(
            [
                *_as_user("postgres"),
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            "initdb",
        )
        for attempt in range(3):  # the free port may be taken between probing and binding it
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            try:
                _run(
                    [
                        *_as_user("postgres"),
                        str(self.bin / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-l",
                        str(self.root / "server.log"),
                        "-w",
                        "-o",
                        options,
                        "start",
                    ],
                    "pg_ctl start",
                )
                break
            except ServerUnavailable:
                if attempt == 2:
                    log = self.root / "server.log"
                    raise ServerUnavailable(
                        "PostgreSQL did not start: " + (log.read_text()[-2000:] if log.exists() else "")
                    ) from None
        _wait_for(self.url("postgres"), "PostgreSQL", self.root / "server.log")
        return self

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin().connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _stop(self) -> None:
        if self.data is not None and self.data.exists():
            subprocess.run(
                [*_as_user("postgres"), str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )


class MariaDBServer(Server):
    kind = "mariadb"
    driver = "mysql+pymysql"
    admin_database = "mysql"

    def __init__(self) -> None:
        super().__init__()
        self.server = shutil.which("mariadbd") or (
            "/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None
        )
        self.install = shutil.which("mariadb-install-db")
        self.client = shutil.which("mariadb")
        if not (self.server and self.install and self.client):
            raise ServerUnavailable(
                "MariaDB is not installed (apt-get install mariadb-server; `make services` does it as root)."
            )
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str, password: str = PASSWORD, user: str = USER) -> str:
        return super().url(database, password, user) + "?charset=utf8mb4"

    def start(self) -> MariaDBServer:
        self.root = _private_dir("mysql")
        data = self.root / "data"
        socket_path = self.root / "sock"
        user_options = ["--user=mysql"] if os.geteuid() == 0 else []
        _run(
            [
                self.install,
                *user_options,
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            "mariadb-install-db",
        )
        log = self.root / "server.log"
        for attempt in range(3):
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    self.server,
                    "--no-defaults",
                    *user_options,
                    f"--datadir={data}",
                    f"--socket={socket_path}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    "--skip-log-bin",
                    "--skip-name-resolve",
                    f"--log-error={log}",
                    f"--pid-file={self.root / 'server.pid'}",
                    "--innodb-flush-log-at-trx-commit=0",
                    "--innodb-buffer-pool-size=64M",
                    "--max-connections=300",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline and self.process.poll() is None:
                ping = subprocess.run(
                    ["mariadb-admin", f"--socket={socket_path}", "-uroot", "ping"], capture_output=True, timeout=30
                )
                if ping.returncode == 0:
                    break
                time.sleep(0.1)
            if self.process.poll() is None:
                break
            if attempt == 2:
                raise ServerUnavailable("MariaDB did not start: " + (log.read_text()[-2000:] if log.exists() else ""))
        _run(
            [
                self.client,
                f"--socket={socket_path}",
                "-uroot",
                "-e",
                f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; "
                f"GRANT ALL ON *.* TO '{USER}'@'127.0.0.1' WITH GRANT OPTION;",
            ],
            "creating the MariaDB user",
        )
        _wait_for(self.url("mysql"), "MariaDB", log)
        return self

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?")[0]
        with self.admin().connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")

    def _stop(self) -> None:
        stop_process(self.process, grace=60)
        self.process = None


def start_server(kind: str) -> Server:
    """Start a ``postgresql`` or ``mariadb`` server; :class:`ServerUnavailable` if it cannot be done here."""
    return started(PostgresServer() if kind == "postgresql" else MariaDBServer())


AnyServer = TypeVar("AnyServer", bound=Server)


def started(server: AnyServer) -> AnyServer:
    """``server``, started; if starting fails, whatever it had started is stopped before the error goes on."""
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
